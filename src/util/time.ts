// Small timing helpers shared by controllers and tests.

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

/** Adds up to `factor` of `ms` at random, so that many clients do not retry in lockstep. */
export const jitter = (ms: number, factor = 0.2): number => ms * (1 + Math.random() * factor);

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  {
    timeoutMs = 30_000,
    intervalMs = 100,
    giveUp,
  }: {
    timeoutMs?: number;
    intervalMs?: number;
    /** Returns a reason to stop waiting at once (e.g. the awaited process exited). */
    giveUp?: () => string | undefined;
  } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = giveUp?.();
    if (reason) throw new Error(`gave up waiting for ${what}: ${reason}`);
    try {
      const result = await check();
      if (result !== undefined && result !== false) return result;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await sleep(intervalMs);
  }
}

/** Kubernetes MicroTime (metav1.MicroTime): RFC 3339 with exactly six fractional digits. */
export const microTime = (date = new Date()): string => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
