// `argus report`: render, diff and merge scan reports in diki's JSON format.
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { ValidationError } from '../api/validation.ts';
import { statuses, type Status } from '../scanner/engine/result.ts';
import { outputFormats } from '../scanner/report/formats.ts';
import { readReport, withMinStatus } from '../scanner/report/report.ts';
import { errorMessage } from '../util/log.ts';

export function registerReport(program: Command): void {
  const report = program.command('report').description('render, diff and merge scan reports');
  report
    .command('generate')
    .description('render a JSON scan report in another format')
    .requiredOption('--input <path>', 'scan report in diki JSON format')
    .addOption(new Option('--format <format>', 'output format').choices(Object.keys(outputFormats)).default('json'))
    .option('--output <path>', 'where to write (default: stdout)')
    .addOption(new Option('--min-status <status>', 'leave checks below this status out').choices(statuses))
    .action(
      async (flags: { input: string; format: keyof typeof outputFormats; output?: string; minStatus?: Status }) => {
        process.exitCode = await run('generate', async () => {
          let input = await readReport(flags.input);
          if (flags.minStatus) input = withMinStatus(input, flags.minStatus);
          await emit(outputFormats[flags.format].render(input), flags.output);
        });
      },
    );
}

async function run(command: string, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (err) {
    process.stderr.write(`argus report ${command}: ${errorMessage(err)}\n`);
    return err instanceof ValidationError ? 2 : 1;
  }
}

async function emit(text: string, path: string | undefined): Promise<void> {
  if (!path || path === '-') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  else await writeFile(path, text, { mode: 0o644 });
}
