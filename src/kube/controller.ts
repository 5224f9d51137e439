// A controller: informers feed object keys into a work queue; workers call one level-triggered,
// idempotent reconcile per key. The reconcile reads current state (from informer caches) and writes
// to the API; it never sees events, so a missed or repeated event cannot make it wrong.
import { errorMessage, logger as componentLogger, type Logger } from '../util/log.ts';
import { counter, exponentialBuckets, gauge, histogram } from '../util/metrics.ts';
import type { Informer } from './informer.ts';
import { objectKey, type KubeObject } from './resources.ts';
import { WorkQueue, type WorkQueueOptions } from './workqueue.ts';

export interface ReconcileResult {
  /** Reconcile this key again after the given time even if nothing changes (polling, schedules). */
  requeueAfterMs?: number;
}

export interface ReconcileContext {
  /** Aborted when the controller stops; pass it to long calls. */
  signal: AbortSignal;
  log: Logger;
}

export type Reconcile = (key: string, context: ReconcileContext) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  /** Keys reconciled at the same time (never the same key twice at once). Default 1. */
  concurrency?: number;
  queue?: Omit<WorkQueueOptions, 'name'>;
  logger?: Logger;
}

const reconcileTotal = counter('controller_runtime_reconcile_total', 'Reconciles by controller and result.', [
  'controller',
  'result',
]);
const reconcileErrors = counter('controller_runtime_reconcile_errors_total', 'Reconciles that failed.', ['controller']);
const reconcileTime = histogram(
  'controller_runtime_reconcile_time_seconds',
  'Duration of reconciles.',
  ['controller'],
  exponentialBuckets(0.001, 2, 16),
);
const activeWorkers = gauge('controller_runtime_active_workers', 'Workers reconciling right now.', ['controller']);
const maxWorkers = gauge('controller_runtime_max_concurrent_reconciles', 'Configured worker count.', ['controller']);

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcileFn: Reconcile;
  private readonly concurrency: number;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly log: Logger;
  private abort = new AbortController();
  private workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.reconcileFn = options.reconcile;
    this.concurrency = options.concurrency ?? 1;
    this.queue = new WorkQueue({ name: options.name, ...options.queue });
    this.log = options.logger ?? componentLogger('controller', { controller: options.name });
  }

  /** Enqueues the keys `map` returns for every event of `informer` (default: the object's own key). */
  watch<T extends KubeObject>(informer: Informer<T>, map: (obj: T) => string[] = (obj) => [objectKey(obj)]): this {
    const enqueue = (obj: T): void => {
      for (const key of map(obj)) this.queue.add(key);
    };
    informer.addHandler({
      add: enqueue,
      update: (oldObj, newObj) => {
        enqueue(newObj);
        // An object that moved (e.g. a changed owner or label) may concern other keys as well.
        if (oldObj !== newObj) enqueue(oldObj);
      },
      delete: enqueue,
    });
    this.informers.push(informer);
    return this;
  }

  /** Enqueues the controlling owner of `informer`'s objects when the owner is of `ownerKind`. */
  owns<T extends KubeObject>(informer: Informer<T>, ownerKind: string, ownerApiVersion?: string): this {
    return this.watch(informer, (obj) => {
      const owner = obj.metadata?.ownerReferences?.find(
        (ref) => ref.controller && ref.kind === ownerKind && (!ownerApiVersion || ref.apiVersion === ownerApiVersion),
      );
      if (!owner) return [];
      const namespace = obj.metadata?.namespace;
      return [namespace ? `${namespace}/${owner.name}` : owner.name];
    });
  }

  /** Waits for the informers' first lists, then runs the workers until stop(). */
  async start(): Promise<void> {
    this.abort = new AbortController();
    const signal = this.abort.signal;
    await Promise.all(this.informers.map((informer) => informer.waitForSync(signal)));
    if (signal.aborted) return;
    maxWorkers.set({ controller: this.name }, this.concurrency);
    this.log.info({ concurrency: this.concurrency }, 'controller started');
    this.workers = Array.from({ length: this.concurrency }, () => this.worker(signal));
  }

  /** Stops taking keys and waits for the reconciles in flight to finish. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.queue.shutDown();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      activeWorkers.inc({ controller: this.name });
      const started = performance.now();
      const log = this.log.child({ key });
      try {
        const result = await this.reconcileFn(key, { signal, log });
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs);
          reconcileTotal.inc({ controller: this.name, result: 'requeue_after' });
        } else {
          reconcileTotal.inc({ controller: this.name, result: 'success' });
        }
      } catch (err) {
        reconcileTotal.inc({ controller: this.name, result: 'error' });
        reconcileErrors.inc({ controller: this.name });
        if (!signal.aborted) {
          log.warn({ err: errorMessage(err), retryInMs: this.queue.nextBackoff(key) }, 'reconcile failed');
          this.queue.addRateLimited(key);
        }
      } finally {
        reconcileTime.observe({ controller: this.name }, (performance.now() - started) / 1000);
        activeWorkers.dec({ controller: this.name });
        this.queue.done(key);
      }
    }
  }
}
