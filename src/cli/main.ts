#!/usr/bin/env node
// `argus`: one CLI whose subcommands are the roles of Argus (docs/architecture.md).
import { Command, CommanderError } from 'commander';
import { registerDebug } from './debug.ts';
import { registerOperator } from './operator.ts';
import { registerReport } from './report.ts';
import { registerReportsServer } from './reports-server.ts';
import { registerRun } from './run.ts';
import { registerScan } from './scan.ts';
import { version } from './version.ts';
import { errorMessage } from '../util/log.ts';

const program = new Command('argus')
  .description('Continuous compliance for Kubernetes and Gardener fleets')
  .version(version, '--version', 'print the version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

/** Roles that later releases fill in; each names what it will do. */
const plannedRoles: [name: string, description: string][] = [
  ['extension', 'Gardener extensions: diki and acl'],
  ['attest', 'attestation controllers and compliance metrics'],
];

for (const [name, description] of plannedRoles) {
  program
    .command(name)
    .description(`${description} (not available yet)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      process.stderr.write(`argus ${name}: this role is not available in argus ${version} yet\n`);
      process.exitCode = 2;
    });
}

program
  .command('version')
  .description('print the version')
  .action(() => {
    process.stdout.write(`${version}\n`);
  });

registerScan(program);
registerReport(program);
registerReportsServer(program);
registerOperator(program);
registerRun(program);
registerDebug(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`argus: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  }
}
