// A work queue of object keys with the semantics of client-go's: a key is queued at most once however
// often it is added (events collapse), is never handed to two workers at once (an add while it is
// being processed queues it again for after), and failed keys come back with per-key exponential backoff.
import { counter, exponentialBuckets, gauge, histogram } from '../util/metrics.ts';

export interface WorkQueueOptions {
  /** Names the queue in metrics (the controller name). */
  name: string;
  /** First retry delay after a failure; doubles per consecutive failure of the same key. Default 5 ms. */
  baseDelayMs?: number;
  /** Upper bound of the retry delay. Default 5 minutes. */
  maxDelayMs?: number;
}

const depth = gauge('workqueue_depth', 'Current depth of the work queue.', ['name']);
const adds = counter('workqueue_adds_total', 'Keys added to the work queue.', ['name']);
const retries = counter('workqueue_retries_total', 'Keys re-added after a failure (rate limited).', ['name']);
const latency = histogram(
  'workqueue_queue_duration_seconds',
  'Time a key waits in the queue before a worker takes it.',
  ['name'],
  exponentialBuckets(0.0001, 4, 12),
);
const workDuration = histogram(
  'workqueue_work_duration_seconds',
  'Time a worker spends on a key.',
  ['name'],
  exponentialBuckets(0.0001, 4, 12),
);

export class WorkQueue {
  readonly name: string;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly waiting: ((key: string | undefined) => void)[] = [];
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    adds.inc({ name: this.name });
    this.dirty.add(key);
    this.addedAt.set(key, performance.now());
    if (this.processing.has(key)) return; // queued again by done()
    const waiter = this.waiting.shift();
    if (waiter) this.hand(key, waiter);
    else {
      this.queue.push(key);
      depth.set({ name: this.name }, this.queue.length);
    }
  }

  /** Adds the key after `delayMs`; an earlier pending delayed add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const due = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { due, timer });
  }

  /** Re-adds a key that failed, after its backoff: base * 2^(failures-1), capped. */
  addRateLimited(key: string): void {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    retries.inc({ name: this.name });
    this.addAfter(key, this.backoff(failures));
  }

  /** The delay addRateLimited would use next for `key`. */
  nextBackoff(key: string): number {
    return this.backoff((this.failures.get(key) ?? 0) + 1);
  }

  /** Clears the failure history of a key after it was processed successfully. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key; undefined once the queue shuts down. Call done(key) when finished. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      depth.set({ name: this.name }, this.queue.length);
      return Promise.resolve(this.take(key));
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    const started = this.startedAt.get(key);
    if (started !== undefined) workDuration.observe({ name: this.name }, (performance.now() - started) / 1000);
    this.startedAt.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      const waiter = this.waiting.shift();
      if (waiter) this.hand(key, waiter);
      else {
        this.queue.push(key);
        depth.set({ name: this.name }, this.queue.length);
      }
    }
  }

  get length(): number {
    return this.queue.length;
  }

  /** Keys queued or being processed (not delayed ones). */
  get busy(): number {
    return this.queue.length + this.processing.size;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
  }

  private hand(key: string, waiter: (key: string) => void): void {
    waiter(this.take(key));
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    const added = this.addedAt.get(key);
    if (added !== undefined) latency.observe({ name: this.name }, (performance.now() - added) / 1000);
    this.addedAt.delete(key);
    this.startedAt.set(key, performance.now());
    return key;
  }

  private backoff(failures: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures - 1, 40));
  }
}
