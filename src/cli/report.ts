// `argus report`: render, diff and merge scan reports in diki's JSON format.
import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { ValidationError } from '../api/validation.ts';
import { statuses, type Status } from '../scanner/engine/result.ts';
import { diffReports, renderDiffHtml } from '../scanner/report/diff.ts';
import { outputFormats, type OutputFormatName } from '../scanner/report/formats.ts';
import { mergeReports, renderMergedHtml } from '../scanner/report/merge.ts';
import { readReport, withMinStatus, type Report } from '../scanner/report/report.ts';
import { errorMessage } from '../util/log.ts';

/** Exit codes: 0 done, 1 the output could not be written, 2 bad flags or input reports. */
export const ReportExitCode = { ok: 0, output: 1, usage: 2 } as const;

class InputError extends Error {}

export function registerReport(program: Command): void {
  const report = program
    .command('report')
    .description('render, diff and merge scan reports')
    .addHelpText(
      'after',
      `
Examples:
  argus report generate --input report.json --format html --output report.html
  argus report generate --input report.json --format sarif --min-status Warning --output argus.sarif
  argus report diff --old monday.json --new tuesday.json --format html --output changes.html
  argus report merge --distinct-by cluster --format html --output fleet.html prod.json dev.json`,
    );

  report
    .command('generate')
    .description('render a JSON scan report in another format')
    .requiredOption('--input <path>', 'scan report in diki JSON format')
    .addOption(new Option('--format <format>', 'output format').choices(Object.keys(outputFormats)).default('html'))
    .option('--output <path>', 'file to write (default: stdout)')
    .addOption(new Option('--min-status <status>', 'leave checks below this status out').choices(statuses))
    .action(async (flags: { input: string; format: OutputFormatName; output?: string; minStatus?: Status }) => {
      process.exitCode = await run(
        'generate',
        async () => {
          let input = await load(flags.input, '--input');
          if (flags.minStatus) input = withMinStatus(input, flags.minStatus);
          return outputFormats[flags.format].render(input);
        },
        flags.output,
      );
    });

  report
    .command('diff')
    .description('findings added and removed between two scan reports')
    .requiredOption('--old <path>', 'the earlier scan report')
    .requiredOption('--new <path>', 'the later scan report')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'html']).default('json'))
    .option('--output <path>', 'file to write (default: stdout)')
    .action(async (flags: { old: string; new: string; format: 'json' | 'html'; output?: string }) => {
      process.exitCode = await run(
        'diff',
        async () => {
          const [oldReport, newReport] = await Promise.all([load(flags.old, '--old'), load(flags.new, '--new')]);
          const diff = diffReports(oldReport, newReport);
          return flags.format === 'html' ? renderDiffHtml(diff) : `${JSON.stringify(diff, null, 2)}\n`;
        },
        flags.output,
      );
    });

  report
    .command('merge')
    .description('merge the reports of several clusters into one, distinct by a metadata key')
    .argument('<files...>', 'scan reports in diki JSON format')
    .requiredOption('--distinct-by <key>', 'metadata key that tells the reports apart (e.g. cluster)')
    .requiredOption('--output <path>', 'file to write (- for stdout)')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'html']).default('json'))
    .action(async (files: string[], flags: { distinctBy: string; output: string; format: 'json' | 'html' }) => {
      process.exitCode = await run(
        'merge',
        async () => {
          const reports = await Promise.all(files.map((f) => load(f, 'report')));
          const merged = mergeReports(reports, flags.distinctBy, files);
          return flags.format === 'html' ? renderMergedHtml(merged) : `${JSON.stringify(merged, null, 2)}\n`;
        },
        flags.output,
      );
    });
}

async function load(path: string, flag: string): Promise<Report> {
  try {
    return await readReport(path);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new InputError(`cannot read ${flag} ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

async function run(command: string, render: () => Promise<string>, output: string | undefined): Promise<number> {
  let text: string;
  try {
    text = await render();
  } catch (err) {
    process.stderr.write(`argus report ${command}: ${errorMessage(err)}\n`);
    if (err instanceof ValidationError || err instanceof InputError) return ReportExitCode.usage;
    throw err;
  }
  try {
    if (!output || output === '-') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    else await writeFile(output, text);
  } catch (err) {
    process.stderr.write(`argus report ${command}: cannot write ${output}: ${errorMessage(err)}\n`);
    return ReportExitCode.output;
  }
  return ReportExitCode.ok;
}
