// The report exporter of a ComplianceScan Job (container `report-exporter`, docs/adr/0016-compliance-operator.md):
// checks the scan is still the one the Job ran for, hands the report to each of its ReportOutputs (at most a
// few at once, each on its own: one failing does not stop the others) and writes status.rulesets,
// status.summary and status.outputs with one merge patch, guarded by the resourceVersion of the scan whose
// UID it checked. Phase and conditions are the operator's.
import {
  complianceScanType,
  reportOutputType,
  type ComplianceScan,
  type OutputStatus,
  type ReportOutput,
  type RulesetSummary,
  type ScanSummary,
} from '../api/diki/index.ts';
import { isNotFound, type KubeClient } from '../kube/client.ts';
import type { Report } from '../scanner/report/report.ts';
import type { Logger } from '../util/log.ts';
import { mapBounded, retryTransient, terminationMessage, type RetryOptions } from './job.ts';
import { exportReport, OutputError, type ExportOptions } from './outputs/index.ts';
import { errorMessage } from './outputs/types.ts';
import { reportStatus } from './summary.ts';

const complianceScanResource = complianceScanType.resourceType;
const reportOutputResource = reportOutputType.resourceType;

/** Outputs exported at once. */
export const DEFAULT_OUTPUT_CONCURRENCY = 4;

/** The scan is gone or was replaced by another of the same name: its Job must not write to the new one. */
export class ScanGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScanGoneError';
  }
}

export interface ExportRequest {
  report: Report;
  scanName: string;
  scanUid: string;
  /** Client of the target cluster: the scan, its ReportOutputs and what they reference. */
  client: KubeClient;
  log: Logger;
  concurrency?: number;
  signal?: AbortSignal | undefined;
  /** Retries of the scan's GET and status patch (tests shorten them). */
  retry?: Omit<RetryOptions, 'signal' | 'onRetry'>;
  exportOptions?: ExportOptions;
}

export interface ExportResult {
  outputs: OutputStatus[];
  rulesets: RulesetSummary[];
  summary: ScanSummary;
}

/** Exports the report to the scan's outputs and writes the outcome to the scan's status. */
export async function exportScan(request: ExportRequest): Promise<ExportResult> {
  const { client, scanName, scanUid, log } = request;
  const retry = (what: string): RetryOptions => ({
    ...request.retry,
    signal: request.signal,
    onRetry: (err, attempt, delayMs) => log.warn({ err: errorMessage(err), attempt, delayMs }, `retrying ${what}`),
  });

  /** The scan, checked to be the one the Job ran for. */
  const current = async (): Promise<ComplianceScan> => {
    let scan: ComplianceScan;
    try {
      scan = await client.get<ComplianceScan>(complianceScanResource, scanName);
    } catch (err) {
      if (isNotFound(err)) throw new ScanGoneError(`ComplianceScan ${scanName} no longer exists`);
      throw err;
    }
    checkUid(scan, scanName, scanUid);
    return scan;
  };

  const scan = await retryTransient(current, retry(`GET of ComplianceScan ${scanName}`));

  const refs = scan.spec?.outputs ?? [];
  const outputs = await mapBounded(refs, request.concurrency ?? DEFAULT_OUTPUT_CONCURRENCY, async (ref) => {
    const started = performance.now();
    const status = await exportOne(request, ref.name);
    const fields = { output: ref.name, phase: status.phase, reason: status.reason, durationMs: elapsed(started) };
    if (status.phase === 'Completed') log.info(fields, 'output completed');
    else log.warn({ ...fields, message: status.message, optional: ref.optional ?? false }, 'output failed');
    return status;
  });

  const { rulesets, summary } = reportStatus(request.report);
  // Compare and swap: the UID is checked again on the object whose resourceVersion the patch carries, so a scan
  // replaced while the outputs ran is never written to (a merge patch ignores metadata.uid; a stale
  // resourceVersion is a 409 Conflict, retried from a fresh read).
  await retryTransient(
    async () => {
      const { resourceVersion } = (await current()).metadata ?? {};
      const patch = { metadata: { resourceVersion }, status: { rulesets, summary, outputs } };
      try {
        await client.patch(complianceScanResource, scanName, patch, 'merge', { subresource: 'status' });
      } catch (err) {
        if (isNotFound(err)) throw new ScanGoneError(`ComplianceScan ${scanName} no longer exists`);
        throw err;
      }
    },
    retry(`status patch of ComplianceScan ${scanName}`),
  );
  log.info({ scan: scanName, rulesets: summary.rulesets, outputs: outputs.length }, 'scan status written');
  return { outputs, rulesets, summary };
}

function checkUid(scan: ComplianceScan, name: string, uid: string): void {
  const actual = scan.metadata?.uid;
  if (actual !== uid)
    throw new ScanGoneError(
      `ComplianceScan ${name} has UID ${actual ?? '(none)'}, not ${uid}: the scan this Job ran for was replaced`,
    );
}

/** Longest `status.outputs[].message`, in bytes: the status is not a log. */
const MESSAGE_LIMIT = 1024;

/** One output's status entry; never throws. */
async function exportOne(request: ExportRequest, name: string): Promise<OutputStatus> {
  const { client, report, scanName, scanUid, signal } = request;
  try {
    const output = await retryTransient(() => client.getOrUndefined<ReportOutput>(reportOutputResource, name), {
      ...request.retry,
      signal,
    });
    if (!output)
      return {
        outputName: name,
        phase: 'Failed',
        reason: 'ReportOutputNotFound',
        message: `ReportOutput ${name} not found`,
      };
    const details = await exportReport(
      report,
      output.spec,
      { client, scanName, scanUid, signal },
      request.exportOptions,
    );
    return { outputName: name, phase: 'Completed', details };
  } catch (err) {
    const message = terminationMessage(errorMessage(err), MESSAGE_LIMIT);
    if (err instanceof OutputError) return { outputName: name, phase: 'Failed', reason: err.reason, message };
    return { outputName: name, phase: 'Failed', reason: 'ExportFailed', message };
  }
}

const elapsed = (started: number): number => Math.round(performance.now() - started);
