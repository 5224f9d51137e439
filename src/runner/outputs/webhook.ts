// The webhook output: the report JSON POSTed over HTTPS, signed, with bounded retries.
//   Headers: content-type application/json; X-Argus-Timestamp: <unix seconds>;
//            X-Argus-Signature: sha256=<hex HMAC-SHA256(hmacKey, "<timestamp>.<body>")>;
//            X-Argus-Scan-UID: <scan uid> (the delivery id: the same on every retry and re-export);
//            Authorization: Bearer <token> when the Secret has `token`.
//   A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in constant time, and
//   rejects timestamps older than a few minutes (replays). Each attempt is signed afresh.
//   Secret (credentialsRef) keys: `hmacKey` (signs; without it no signature is sent), `token` (optional); a
//   referenced Secret with neither fails the output.
//   Retries: network errors, 408, 429 and 5xx, with exponential backoff (1 s doubling, capped at 30 s, with
//   jitter; Retry-After honoured up to the cap), at most 6 attempts and 5 minutes in all. Other 4xx fail at once.
import { createHmac } from 'node:crypto';
import { Agent, fetch } from 'undici';
import type { ReportOutputSpec } from '../../api/diki/reportoutput.ts';
import type { Report } from '../../scanner/report/report.ts';
import { jitter, sleep } from '../../util/time.ts';
import { readCA, readSecret, secretKey } from './secrets.ts';
import { OutputError, errorMessage, type OutputContext, type OutputDetails } from './types.ts';

type WebhookOutput = NonNullable<ReportOutputSpec['output']['webhook']>;

export const SIGNATURE_HEADER = 'x-argus-signature';
export const TIMESTAMP_HEADER = 'x-argus-timestamp';
export const SCAN_UID_HEADER = 'x-argus-scan-uid';
export const HMAC_KEY = 'hmacKey';
export const TOKEN_KEY = 'token';

export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** No attempt starts after this much time since the first. */
  totalMs: number;
  /** Timeout of one attempt (until the response has been read). */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 6,
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  totalMs: 5 * 60_000,
  attemptTimeoutMs: 30_000,
};

/** The signature of `body` sent at `timestamp` (unix seconds): `sha256=<hex>`. */
export function signature(key: string | Buffer, timestamp: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.`).update(body).digest('hex')}`;
}

const retryable = (status: number): boolean => status === 408 || status === 429 || status >= 500;

function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export async function exportWebhook(
  report: Report,
  output: WebhookOutput,
  ctx: OutputContext,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<OutputDetails> {
  let url: URL;
  try {
    url = new URL(output.url);
  } catch {
    throw new OutputError('InvalidURL', `webhook URL ${JSON.stringify(output.url)} is not a URL`);
  }
  if (url.protocol !== 'https:') throw new OutputError('InvalidURL', `webhook URL ${output.url} is not https`);
  const ref = output.credentialsRef;
  const secret = ref ? await readSecret(ctx.client, ref) : undefined;
  const hmacKey = secret && ref ? secretKey(secret, ref, HMAC_KEY) : undefined;
  const token = secret && ref ? secretKey(secret, ref, TOKEN_KEY) : undefined;
  if (ref && !hmacKey && !token)
    // A referenced Secret without either key is a misconfiguration (a misspelt key), not a wish to send unsigned.
    throw new OutputError(
      'SecretKeyMissing',
      `Secret ${ref.namespace}/${ref.name} has neither ${HMAC_KEY} nor ${TOKEN_KEY}`,
    );
  const ca = await readCA(ctx.client, output.tls?.caSecretRef);
  const dispatcher = new Agent({ connect: ca ? { ca } : {} });
  const body = JSON.stringify(report);
  const started = Date.now();
  const failures: string[] = [];
  try {
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal?.aborted) throw new OutputError('Aborted', `webhook ${output.url}: aborted`);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'argus-runner',
        [TIMESTAMP_HEADER]: timestamp,
        [SCAN_UID_HEADER]: ctx.scanUid,
      };
      if (hmacKey) headers[SIGNATURE_HEADER] = signature(hmacKey, timestamp, body);
      if (token) headers.authorization = `Bearer ${token}`;
      const timeout = AbortSignal.timeout(retry.attemptTimeoutMs);
      const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
      let delay: number | undefined;
      try {
        const response = await fetch(url, { method: 'POST', headers, body, signal, dispatcher });
        const text = (await response.text()).slice(0, 200).trim();
        if (response.ok) return { webhookRef: { url: output.url } };
        const failure = `${response.status}${text ? ` ${text}` : ''}`;
        if (!retryable(response.status))
          throw new OutputError(
            'WebhookRejected',
            `webhook ${output.url} rejected the report: ${failure} (not retried)`,
          );
        failures.push(failure);
        delay = retryAfterMs(response.headers.get('retry-after'));
      } catch (err) {
        if (err instanceof OutputError) throw err;
        if (ctx.signal?.aborted) throw new OutputError('Aborted', `webhook ${output.url}: aborted`);
        failures.push(errorMessage(err));
      }
      const backoff = Math.min(retry.maxDelayMs, jitter(retry.initialDelayMs * 2 ** (attempt - 1)));
      const wait = Math.min(retry.maxDelayMs, Math.max(backoff, delay ?? 0));
      if (attempt >= retry.attempts || Date.now() - started + wait > retry.totalMs)
        throw new OutputError(
          'WebhookFailed',
          `webhook ${output.url} failed after ${attempt} attempts in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
            `last: ${failures.at(-1)}`,
        );
      await sleep(wait, ctx.signal);
    }
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}
