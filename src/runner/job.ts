// What both containers of a ComplianceScan Job share (docs/adr/0016-compliance-operator.md): the termination
// message the operator reads when a container fails, atomic file writes, retries of transient API errors.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ApiError } from '../kube/client.ts';
import { jitter, sleep } from '../util/time.ts';

/** Where Kubernetes reads a container's termination message (terminationMessagePath's default). */
export const DEFAULT_TERMINATION_LOG = '/dev/termination-log';
/** Kubernetes keeps at most this many bytes of a termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/** `message` on one line, cut to at most `limit` bytes of UTF-8 without splitting a character. */
export function terminationMessage(message: string, limit = TERMINATION_MESSAGE_LIMIT): string {
  const line = message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= limit) return line;
  let end = limit;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that does not fit.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * Writes the termination message; returns whether it could. A missing or read-only file (outside a pod) is
 * not an error: the message is on stderr as well.
 */
export async function writeTerminationMessage(path: string, message: string): Promise<boolean> {
  try {
    await writeFile(path, terminationMessage(message));
    return true;
  } catch {
    return false;
  }
}

/** Writes `path` through a temporary file in the same directory and a rename: readers see all or nothing. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data, { mode });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * An error worth retrying: no answer from the API server (the client's plain Error with the transport error as
 * cause), throttling, a conflict or a server-side failure. Errors of our own (wrong UID, bad input) are final.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) return err.code === 409 || err.code === 429 || err.code >= 500;
  return err instanceof Error && err.name === 'Error' && err.cause !== undefined;
}

export interface RetryOptions {
  attempts?: number;
  /** Delay before the second attempt; doubles after each, with 20 % jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal | undefined;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn` until it succeeds, fails with a non-transient error or runs out of attempts (default 5). */
export async function retryTransient<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 5, initialDelayMs = 500, maxDelayMs = 8_000, signal, onRetry } = options;
  let delay = initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isTransient(err) || signal?.aborted) throw err;
      const wait = Math.min(jitter(delay), maxDelayMs);
      onRetry?.(err, attempt, wait);
      await sleep(wait, signal);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}

/** Runs `fn` over `items` with at most `limit` at once; results in input order. `fn` must not throw. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
