// What every report exporter shares: the context the runner gives it, the details it returns (the
// `status.outputs[].details` of a ComplianceScan) and the error it throws (reason + message for the status).
import type { Static } from 'typebox';
import type { OutputDetailsSchema } from '../../api/diki/compliancescan.ts';
import type { KubeClient } from '../../kube/client.ts';

export type OutputDetails = Static<typeof OutputDetailsSchema>;

export interface OutputContext {
  /** Client of the cluster holding the output's Secrets and ConfigMaps (and the reports API). */
  client: KubeClient;
  scanName: string;
  scanUid: string;
  signal?: AbortSignal | undefined;
}

/** An output failed; `reason` (CamelCase) and `message` go to the scan's `status.outputs[]`. */
export class OutputError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutputError';
    this.reason = reason;
  }
}

export const errorMessage = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error && !err.message.includes(err.cause.message) ? `: ${err.cause.message}` : '';
  return err.message + cause;
};

/** Labels every exported object carries: who wrote it and for which scan. */
export const SCAN_NAME_LABEL = 'compliancescan.diki.gardener.cloud/name';
export const SCAN_UID_LABEL = 'compliancescan.diki.gardener.cloud/uid';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const FIELD_MANAGER = 'argus-runner';

const labelValueRe = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** The scan labels; the name label only when the name is a valid label value (at most 63 characters). */
export function scanLabels(ctx: Pick<OutputContext, 'scanName' | 'scanUid'>): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: 'argus',
    ...(ctx.scanName.length <= 63 && labelValueRe.test(ctx.scanName) ? { [SCAN_NAME_LABEL]: ctx.scanName } : {}),
    [SCAN_UID_LABEL]: ctx.scanUid,
  };
}
