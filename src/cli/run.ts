// `argus run`: the two containers of a ComplianceScan Job (docs/adr/0016-compliance-operator.md). `run scan`
// (init container diki-scan) writes the report; `run export` (container report-exporter) hands it to the
// scan's outputs and writes the scan's status. On failure each writes one line on stderr and the same message
// to the termination log, which the operator copies into the scan's condition.
import type { Command } from 'commander';
import { ValidationError } from '../api/validation.ts';
import { KubeClient } from '../kube/client.ts';
import { exportScan, ScanGoneError } from '../runner/export.ts';
import { DEFAULT_TERMINATION_LOG, writeTerminationMessage } from '../runner/job.ts';
import { ConfigReadError, runScanJob } from '../runner/scan.ts';
import { readReport, type Report } from '../scanner/report/report.ts';
import { ClusterUnreachableError, KubeconfigError } from '../scanner/scanner.ts';
import { errorMessage, logger } from '../util/log.ts';

/** Exit codes of `argus run`. */
export const RunExitCode = {
  ok: 0,
  /** Anything else: the scan failed, the report could not be read, the status could not be written. */
  failed: 1,
  /** Invalid configuration or kubeconfig. */
  usage: 2,
  /** The target cluster could not be reached (scan). */
  unreachable: 3,
  /** The ComplianceScan is gone or has another UID (export): nothing was written to it. */
  scanGone: 4,
} as const;

interface ScanFlags {
  config: string;
  output: string;
  kubeconfig?: string;
  terminationLog: string;
}

interface ExportFlags {
  report: string;
  scan: string;
  scanUid: string;
  kubeconfig?: string;
  terminationLog: string;
}

export function registerRun(program: Command): void {
  const run = program.command('run').description('scanner and report exporter inside a ComplianceScan Job');
  run
    .command('scan')
    .description('scan the target with a diki-format configuration and write the report (container diki-scan)')
    .requiredOption('--config <file>', 'scanner configuration in diki format')
    .requiredOption('--output <file>', 'where the diki JSON report goes (written atomically)')
    .option(
      '--kubeconfig <path>',
      "target kubeconfig (default: the config's kubeconfigPath provider arg, $KUBECONFIG, in-cluster)",
    )
    .option('--termination-log <path>', 'termination message file, written on failure', DEFAULT_TERMINATION_LOG)
    .addHelpText(
      'after',
      '\nExit codes: 0 report written (whatever its findings), 1 scan failed, 2 invalid configuration or ' +
        'kubeconfig, 3 cluster unreachable.',
    )
    .action(async (flags: ScanFlags) => {
      process.exitCode = await runScan(flags);
    });
  run
    .command('export')
    .description("export a report to a ComplianceScan's outputs and write its status (container report-exporter)")
    .requiredOption('--report <file>', 'the diki JSON report of `argus run scan`')
    .requiredOption('--scan <name>', 'name of the ComplianceScan')
    .requiredOption('--scan-uid <uid>', 'UID of the ComplianceScan; another UID means the scan was replaced')
    .option('--kubeconfig <path>', 'target kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--termination-log <path>', 'termination message file, written on failure', DEFAULT_TERMINATION_LOG)
    .addHelpText(
      'after',
      '\nExit codes: 0 status written (failed outputs are in status.outputs), 1 report unreadable or status not ' +
        'written, 2 invalid kubeconfig, 4 the scan is gone or was replaced.',
    )
    .action(async (flags: ExportFlags) => {
      process.exitCode = await runExport(flags);
    });
}

/** Aborts on SIGTERM (the Job's deadline, a deleted pod) and SIGINT; returns the cleanup. */
function abortOnSignals(): { signal: AbortSignal; release: () => void } {
  const abort = new AbortController();
  const handlers = (['SIGTERM', 'SIGINT'] as const).map((name) => {
    const handler = (): void => abort.abort(new Error(`interrupted by ${name}`));
    process.once(name, handler);
    return [name, handler] as const;
  });
  return { signal: abort.signal, release: () => handlers.forEach(([name, h]) => process.off(name, h)) };
}

async function fail(command: string, terminationLog: string, err: unknown, code: number): Promise<number> {
  const message = errorMessage(err).replace(/\s*[\r\n]+\s*/g, ' ');
  process.stderr.write(`argus run ${command}: ${message}\n`);
  await writeTerminationMessage(terminationLog, message);
  return code;
}

async function runScan(flags: ScanFlags): Promise<number> {
  const log = logger('runner', { container: 'diki-scan' });
  const { signal, release } = abortOnSignals();
  try {
    await runScanJob({ configPath: flags.config, outputPath: flags.output, kubeconfig: flags.kubeconfig, log, signal });
    return RunExitCode.ok;
  } catch (err) {
    const code =
      err instanceof ValidationError || err instanceof KubeconfigError || err instanceof ConfigReadError
        ? RunExitCode.usage
        : err instanceof ClusterUnreachableError
          ? RunExitCode.unreachable
          : RunExitCode.failed;
    return await fail('scan', flags.terminationLog, signal.aborted ? (signal.reason ?? err) : err, code);
  } finally {
    release();
  }
}

async function runExport(flags: ExportFlags): Promise<number> {
  const log = logger('runner', { container: 'report-exporter', scan: flags.scan, scanUid: flags.scanUid });
  let report: Report;
  try {
    report = await readReport(flags.report);
  } catch (err) {
    return fail(
      'export',
      flags.terminationLog,
      new Error(`cannot read report ${flags.report}: ${errorMessage(err)}`),
      RunExitCode.failed,
    );
  }
  let client: KubeClient;
  try {
    client = KubeClient.fromOptions({ kubeconfig: flags.kubeconfig, userAgent: 'argus-runner' });
  } catch (err) {
    return fail('export', flags.terminationLog, err, RunExitCode.usage);
  }
  const { signal, release } = abortOnSignals();
  try {
    const result = await exportScan({ report, scanName: flags.scan, scanUid: flags.scanUid, client, log, signal });
    const failed = result.outputs.filter((o) => o.phase === 'Failed').map((o) => o.outputName);
    log.info({ outputs: result.outputs.length, failed }, 'export done');
    return RunExitCode.ok;
  } catch (err) {
    const code = err instanceof ScanGoneError ? RunExitCode.scanGone : RunExitCode.failed;
    const reason =
      err instanceof ScanGoneError ? err : new Error(`export of ComplianceScan ${flags.scan}: ${errorMessage(err)}`);
    return await fail('export', flags.terminationLog, reason, code);
  } finally {
    release();
    await client.close();
  }
}
