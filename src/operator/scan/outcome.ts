// How a scan ended, from its finished Job, the Job's pod and the status the exporter wrote (ADR 0016). Pure, so
// every case is unit-tested; the controller reads the inputs and writes the result.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { ComplianceScan, ComplianceScanStatus, ScanCondition } from '../../api/diki/compliancescan.ts';
import { EXPORT_CONTAINER, SCAN_CONTAINER } from '../names.ts';

export interface Outcome {
  phase: 'Completed' | 'Failed';
  reason: string;
  message: string;
  /** Failed optional outputs: warnings (events), not failures. */
  warnings: string[];
  /** Reasons of the failed outputs, optional ones included (for the output-failure metric). */
  failedOutputReasons: string[];
}

/** `Complete` or `Failed` once the Job has finished, else undefined. */
export function jobResult(job: V1Job): 'Complete' | 'Failed' | undefined {
  for (const condition of job.status?.conditions ?? []) {
    if (condition.status !== 'True') continue;
    if (condition.type === 'Complete') return 'Complete';
    if (condition.type === 'Failed') return 'Failed';
  }
  return undefined;
}

/** The outcome of a scan whose Job finished. `scan` is read fresh, after the exporter's status patch. */
export function scanOutcome(scan: ComplianceScan, job: V1Job, pods: V1Pod[], timeoutSeconds: number): Outcome {
  const result = jobResult(job);
  if (result === 'Failed') return { ...jobFailure(job, pods, timeoutSeconds), warnings: [], failedOutputReasons: [] };
  const reported = new Map((scan.status?.outputs ?? []).map((o) => [o.outputName, o]));
  const failures: string[] = [];
  const warnings: string[] = [];
  const failedOutputReasons: string[] = [];
  for (const output of scan.spec?.outputs ?? []) {
    const status = reported.get(output.name);
    if (status?.phase === 'Completed') continue;
    const reason = status?.reason ?? 'OutputNotReported';
    const text = `output ${output.name} failed: ${reason}: ${status?.message ?? 'the exporter reported nothing for it'}`;
    failedOutputReasons.push(reason);
    (output.optional ? warnings : failures).push(text);
  }
  if (failures.length > 0) {
    return { phase: 'Failed', reason: 'OutputFailed', message: failures.join('; '), warnings, failedOutputReasons };
  }
  const summary = scan.status?.summary;
  const counts = summary
    ? `: ${summary.passed ?? 0} passed, ${summary.failed ?? 0} failed, ${summary.errored ?? 0} errored rules`
    : '';
  return {
    phase: 'Completed',
    reason: 'ComplianceScanCompleted',
    message: `ComplianceScan completed${counts}`,
    warnings,
    failedOutputReasons,
  };
}

function jobFailure(
  job: V1Job,
  pods: V1Pod[],
  timeoutSeconds: number,
): { phase: 'Failed'; reason: string; message: string } {
  const condition = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  // The pod tells which container failed and why (its termination message); the newest pod wins.
  const pod = [...pods].sort((a, b) => time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp))[0];
  const scanState = pod?.status?.initContainerStatuses?.find((c) => c.name === SCAN_CONTAINER)?.state?.terminated;
  const exportState = pod?.status?.containerStatuses?.find((c) => c.name === EXPORT_CONTAINER)?.state?.terminated;
  if (condition?.reason === 'DeadlineExceeded') {
    return {
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: `the scan did not finish within ${timeoutSeconds}s${scanState ? '' : ' (still scanning)'}`,
    };
  }
  if (scanState && scanState.exitCode !== 0) {
    return {
      phase: 'Failed',
      reason: 'ScanFailed',
      message: trimmed(scanState.message) ?? `the scanner exited with ${scanState.exitCode}`,
    };
  }
  if (exportState && exportState.exitCode !== 0) {
    return {
      phase: 'Failed',
      reason: 'ExportFailed',
      message: trimmed(exportState.message) ?? `the report exporter exited with ${exportState.exitCode}`,
    };
  }
  return {
    phase: 'Failed',
    reason: condition?.reason ?? 'JobFailed',
    message: condition?.message ?? 'the scan Job failed',
  };
}

const time = (t: Date | string | undefined): number => (t ? new Date(t).getTime() : 0);
const trimmed = (text: string | undefined): string | undefined => text?.trim().slice(0, 1024) || undefined;

/**
 * status.phase and status.conditions for a phase: Completed or Failed get their condition (True); the times
 * stay when the condition already said the same, so repeated writes change nothing.
 */
export function statusForPhase(
  status: ComplianceScanStatus | undefined,
  phase: 'Pending' | 'Running' | 'Completed' | 'Failed',
  now: string,
  reason?: string,
  message?: string,
): Pick<ComplianceScanStatus, 'phase' | 'conditions'> {
  if (phase === 'Pending' || phase === 'Running') return { phase, conditions: status?.conditions ?? [] };
  const previous = status?.conditions?.find((c) => c.type === phase);
  const condition: ScanCondition = {
    type: phase,
    status: 'True',
    lastUpdateTime: previous?.status === 'True' && previous.reason === reason ? (previous.lastUpdateTime ?? now) : now,
    lastTransitionTime: previous?.status === 'True' ? (previous.lastTransitionTime ?? now) : now,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
  const others = (status?.conditions ?? []).filter((c) => c.type !== phase);
  return { phase, conditions: [...others, condition] };
}
