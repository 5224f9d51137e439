// An informer: a local cache of one kind of object kept current by list + watch, with event handlers.
// Beyond @kubernetes/client-node's ListWatch it asks for bookmarks, relists on 410 Gone, on any error
// and on a watch that went silent (stall), and redelivers every cached object periodically (resync)
// so that level-triggered controllers heal from missed or mishandled events.
import { errorMessage, logger as componentLogger, type Logger } from '../util/log.ts';
import { counter, gauge } from '../util/metrics.ts';
import { jitter, sleep } from '../util/time.ts';
import { ApiError, type KubeClient } from './client.ts';
import { objectKey, type KubeObject, type ResourceType } from './resources.ts';

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Redeliver every cached object as an update this often; 0 disables. Default 10 minutes. */
  resyncPeriodMs?: number;
  /** A watch with no event and no bookmark for this long is treated as stalled. Default 150 s. */
  stallTimeoutMs?: number;
  /** Server-side watch timeout; the next watch continues from the last resourceVersion. Default 5-10 min. */
  watchTimeoutSeconds?: number;
  /** Page size of lists. Default 500. */
  pageSize?: number;
  logger?: Logger;
}

export interface EventHandler<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

const relists = counter('argus_informer_relists_total', 'Full relists of informers, by resource and reason.', [
  'resource',
  'reason',
]);
const events = counter('argus_informer_watch_events_total', 'Watch events applied to informer caches.', [
  'resource',
  'type',
]);
const cached = gauge('argus_informer_cached_objects', 'Objects in informer caches.', ['resource']);

type RelistReason = 'initial' | 'gone' | 'error' | 'stalled';

class WatchStalled extends Error {}

export class Informer<T extends KubeObject> {
  readonly resourceType: ResourceType;
  private readonly client: KubeClient;
  private readonly options: InformerOptions;
  private readonly store = new Map<string, T>();
  private readonly handlers: EventHandler<T>[] = [];
  private readonly log: Logger;
  private readonly metricLabel: string;
  private resourceVersion = '';
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private abort = new AbortController();
  private running: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(client: KubeClient, resourceType: ResourceType, options: InformerOptions = {}) {
    this.client = client;
    this.resourceType = resourceType;
    this.options = options;
    this.metricLabel = resourceType.group ? `${resourceType.resource}.${resourceType.group}` : resourceType.resource;
    this.log = (options.logger ?? componentLogger('informer')).child({ resource: this.metricLabel });
  }

  /** Handlers added after start receive an add for every object already cached. */
  addHandler(handler: EventHandler<T>): void {
    this.handlers.push(handler);
    if (this.synced) for (const obj of this.store.values()) handler.add?.(obj);
  }

  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.running = this.run(this.abort.signal);
    const period = this.options.resyncPeriodMs ?? 10 * 60_000;
    if (period > 0) {
      this.resyncTimer = setInterval(() => this.resync(), period);
      this.resyncTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.resyncTimer);
    await this.running;
    this.running = undefined;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has been applied to the cache. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(filter?: (obj: T) => boolean): T[] {
    const all = [...this.store.values()];
    return filter ? all.filter(filter) : all;
  }

  get size(): number {
    return this.store.size;
  }

  /** The resourceVersion the cache reflects (of the last list, event or bookmark). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let reason: RelistReason = 'initial';
    let failures = 0;
    while (!signal.aborted) {
      try {
        relists.inc({ resource: this.metricLabel, reason });
        await this.relist(signal);
        failures = 0;
        // Keep watching from the last resourceVersion until something goes wrong; a normal end of the
        // stream (server-side timeout) just opens the next watch.
        for (;;) {
          await this.watch(signal);
          if (signal.aborted) return;
        }
      } catch (err) {
        if (signal.aborted) return;
        reason =
          err instanceof WatchStalled ? 'stalled' : err instanceof ApiError && err.code === 410 ? 'gone' : 'error';
        failures++;
        const delay = reason === 'gone' || reason === 'stalled' ? 0 : Math.min(30_000, 200 * 2 ** (failures - 1));
        this.log.warn({ err: errorMessage(err), reason, retryInMs: Math.round(delay) }, 'informer relisting');
        await sleep(jitter(delay), signal);
      }
    }
  }

  /** Lists everything page by page and replaces the cache, emitting the differences as events. */
  private async relist(signal: AbortSignal): Promise<void> {
    const { namespace, labelSelector, fieldSelector } = this.options;
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.client.list<T>(this.resourceType, {
        namespace,
        labelSelector,
        fieldSelector,
        limit: this.options.pageSize ?? 500,
        continue: continueToken,
      });
      for (const item of page.items) fresh.set(objectKey(item), this.withTypeMeta(item));
      continueToken = page.metadata.continue;
      resourceVersion = page.metadata.resourceVersion ?? resourceVersion;
      if (signal.aborted) return;
    } while (continueToken);

    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.emit('delete', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) this.emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, old);
    }
    this.resourceVersion = resourceVersion;
    cached.set({ resource: this.metricLabel }, this.store.size);
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const stallTimeoutMs = this.options.stallTimeoutMs ?? 150_000;
    // Either a stop of the informer or silence on the stream ends this watch.
    const stallAbort = new AbortController();
    const watchSignal = AbortSignal.any([signal, stallAbort.signal]);
    let stalled = false;
    let timer: NodeJS.Timeout | undefined;
    const armStallTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        stallAbort.abort();
      }, stallTimeoutMs);
    };
    armStallTimer();
    try {
      const stream = this.client.watch<T>(this.resourceType, {
        namespace: this.options.namespace,
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.options.watchTimeoutSeconds ?? Math.round(300 + Math.random() * 300),
        signal: watchSignal,
      });
      for await (const event of stream) {
        armStallTimer();
        this.apply(event.type, event.object);
      }
    } catch (err) {
      // Aborting a stalled watch may surface as an abort error of the request itself.
      if (!stalled) throw err;
    } finally {
      clearTimeout(timer);
    }
    if (stalled) {
      this.client.resetConnections();
      throw new WatchStalled(`no watch event or bookmark for ${stallTimeoutMs} ms`);
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK', raw: T): void {
    const rv = raw.metadata?.resourceVersion;
    events.inc({ resource: this.metricLabel, type });
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.withTypeMeta(raw);
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (type === 'DELETED') {
      this.store.delete(key);
      this.emit('delete', obj);
    } else {
      this.store.set(key, obj);
      if (old) this.emit('update', obj, old);
      else this.emit('add', obj);
    }
    if (rv) this.resourceVersion = rv;
    cached.set({ resource: this.metricLabel }, this.store.size);
  }

  private resync(): void {
    if (!this.synced) return;
    for (const obj of this.store.values()) this.emit('update', obj, obj);
  }

  private emit(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const handler of this.handlers) {
      try {
        if (kind === 'add') handler.add?.(obj);
        else if (kind === 'update') handler.update?.(old ?? obj, obj);
        else handler.delete?.(obj);
      } catch (err) {
        this.log.error({ err: errorMessage(err) }, 'informer event handler failed');
      }
    }
  }

  /** List items come without apiVersion/kind; set them so cached objects are self-describing. */
  private withTypeMeta(obj: T): T {
    if (obj.kind && obj.apiVersion) return obj;
    const { group, version, kind } = this.resourceType;
    return { ...obj, apiVersion: group ? `${group}/${version}` : version, kind };
  }
}
