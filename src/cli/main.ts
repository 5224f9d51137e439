#!/usr/bin/env node
// `argus`: one CLI whose subcommands are the roles of Argus (docs/architecture.md).
import module from 'node:module';
import { Command, CommanderError } from 'commander';
import { version } from './version.ts';
import { errorMessage } from '../util/log.ts';

// Compiled (type-stripped) modules are cached across runs where the cache directory is writable
// ($NODE_COMPILE_CACHE, else the OS temp dir): every scan Job starts two argus processes.
module.enableCompileCache?.();

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

/**
 * The roles' commands, loaded lazily: `argus run scan` loads the scanner but not the reports server or the
 * operator. Help and unknown commands load them all.
 */
type Register = (program: Command) => void;
const roles: [name: string, load: () => Promise<Register>][] = [
  ['scan', async () => (await import('./scan.ts')).registerScan],
  ['report', async () => (await import('./report.ts')).registerReport],
  ['reports-server', async () => (await import('./reports-server.ts')).registerReportsServer],
  ['operator', async () => (await import('./operator.ts')).registerOperator],
  ['run', async () => (await import('./run.ts')).registerRun],
  ['debug', async () => (await import('./debug.ts')).registerDebug],
];
const requested = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const needed = roles.some(([name]) => name === requested) ? roles.filter(([name]) => name === requested) : roles;
for (const register of await Promise.all(needed.map(([, load]) => load()))) register(program);

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
