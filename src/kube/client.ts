// A small generic REST client for the Kubernetes API: any resource by its ResourceType, JSON in and out,
// every patch type (merge, JSON, strategic, server-side apply), and watch as an async iterator.
// Credentials and TLS come from @kubernetes/client-node's KubeConfig; requests go through one undici
// connection pool per client (docs/adr/0003-kubernetes-client.md explains why not client-node's API classes).
import type { RequestOptions } from 'node:https';
import { Agent, fetch, type Response } from 'undici';
import type { KubeConfig } from '@kubernetes/client-node';
import { counter, exponentialBuckets, histogram } from '../util/metrics.ts';
import { loadKubeConfig, type KubeConfigOptions } from './config.ts';
import { apiVersionOf, type KubeList, type KubeObject, type ResourceType } from './resources.ts';

/** A Kubernetes `Status` as returned with API errors. */
export interface Status {
  kind?: 'Status';
  apiVersion?: string;
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
}

/** An error answered by the API server (or the transport), carrying the HTTP code and the Status. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly status: Status;
  constructor(code: number, status: Status, context: string) {
    super(`${context}: ${code} ${status.reason ?? ''}${status.message ? `: ${status.message}` : ''}`.trim());
    this.name = 'ApiError';
    this.code = code;
    this.reason = status.reason ?? '';
    this.status = status;
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.code === 404;
export const isConflict = (err: unknown): boolean => err instanceof ApiError && err.code === 409;
export const isAlreadyExists = (err: unknown): boolean => err instanceof ApiError && err.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => err instanceof ApiError && err.code === 410;

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface ObjectAddress {
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

export interface ListOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number | undefined;
  continue?: string | undefined;
  resourceVersion?: string | undefined;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan' | undefined;
}

export interface WatchOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  resourceVersion?: string | undefined;
  allowWatchBookmarks?: boolean | undefined;
  /** Server-side end of the watch; the server closes the stream after this many seconds. */
  timeoutSeconds?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export interface PatchOptions extends WriteOptions {
  subresource?: string;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

interface RequestInit {
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal | undefined;
  /** Abort the request when no response headers arrive within this time (not applied to bodies of watches). */
  timeoutMs?: number;
}

const requestsTotal = counter('rest_client_requests_total', 'Kubernetes API requests by method and status code.', [
  'method',
  'code',
]);
const requestDuration = histogram(
  'rest_client_request_duration_seconds',
  'Kubernetes API request latency until response headers, by method.',
  ['method'],
  exponentialBuckets(0.001, 2, 15),
);

export interface KubeClientOptions {
  /** Identifies the client in API-server audit logs and managedFields. */
  userAgent?: string;
  /** Default timeout of non-watch requests. */
  timeoutMs?: number;
}

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly server: string;
  private dispatcher: Agent | undefined;
  private tls: Record<string, unknown> | undefined;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private authHeaders: { value: Record<string, string>; expires: number } | undefined;

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.kubeConfig = kubeConfig;
    this.server = cluster.server.replace(/\/+$/, '');
    this.userAgent = options.userAgent ?? 'argus';
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  static fromOptions(options: KubeConfigOptions & KubeClientOptions = {}): KubeClient {
    return new KubeClient(loadKubeConfig(options), options);
  }

  /**
   * Moves to a fresh connection pool. Called after a watch went silent: connections to the same server
   * are likely dead too, and a request on one would hang until its timeout. Requests in flight on the
   * old pool finish there.
   */
  resetConnections(): void {
    const old = this.dispatcher;
    this.dispatcher = undefined;
    if (!old) return;
    const destroy = setTimeout(() => void old.destroy().catch(() => undefined), 120_000);
    destroy.unref();
    void old.close().then(
      () => clearTimeout(destroy),
      () => undefined,
    );
  }

  async close(): Promise<void> {
    await this.dispatcher?.close().catch(() => undefined);
  }

  /**
   * What a connection of its own to the API server needs (WebSocket upgrades for exec): the kubeconfig's TLS
   * options for `tls.connect` and the request headers (user agent and credentials).
   */
  async connectionOptions(): Promise<{ headers: Record<string, string>; tls: Record<string, unknown> }> {
    const auth = await this.authorization();
    return { headers: { 'user-agent': this.userAgent, ...auth }, tls: { ...this.tls } };
  }

  /** The URL path of a collection or object of `rt`. */
  path(rt: ResourceType, { namespace, name, subresource }: ObjectAddress = {}): string {
    let p = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
    if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${rt.resource}`;
    if (name) p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
    return p;
  }

  async get<T extends KubeObject>(rt: ResourceType, name: string, namespace?: string): Promise<T> {
    return this.request<T>('GET', this.path(rt, { namespace, name }));
  }

  /** Returns the object, or undefined when it does not exist. */
  async getOrUndefined<T extends KubeObject>(
    rt: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(rt, name, namespace);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject>(rt: ResourceType, options: ListOptions = {}): Promise<KubeList<T>> {
    const { namespace, ...query } = options;
    return this.request<KubeList<T>>('GET', this.path(rt, { namespace }), { query: { ...query } });
  }

  /** Lists every object, following `continue` tokens page by page. */
  async listAll<T extends KubeObject>(
    rt: ResourceType,
    options: Omit<ListOptions, 'continue'> = {},
  ): Promise<KubeList<T>> {
    const items: T[] = [];
    let page = await this.list<T>(rt, { limit: 500, ...options });
    items.push(...page.items);
    const resourceVersion = page.metadata.resourceVersion;
    while (page.metadata.continue) {
      page = await this.list<T>(rt, { limit: 500, ...options, continue: page.metadata.continue });
      items.push(...page.items);
    }
    return { ...page, metadata: { resourceVersion }, items };
  }

  async create<T extends KubeObject>(rt: ResourceType, obj: T, options: WriteOptions = {}): Promise<T> {
    const namespace = obj.metadata?.namespace;
    return this.request<T>('POST', this.path(rt, { namespace }), {
      body: withTypeMeta(rt, obj),
      query: writeQuery(options),
    });
  }

  /** PUT: replaces the object; fails with 409 Conflict when `metadata.resourceVersion` is stale. */
  async replace<T extends KubeObject>(
    rt: ResourceType,
    obj: T,
    options: WriteOptions & { subresource?: string } = {},
  ): Promise<T> {
    const { namespace, name } = obj.metadata ?? {};
    return this.request<T>('PUT', this.path(rt, { namespace, name, subresource: options.subresource }), {
      body: withTypeMeta(rt, obj),
      query: writeQuery(options),
    });
  }

  async patch<T extends KubeObject>(
    rt: ResourceType,
    name: string,
    patch: unknown,
    type: PatchType,
    options: PatchOptions & { namespace?: string | undefined } = {},
  ): Promise<T> {
    const { namespace, subresource, force } = options;
    return this.request<T>('PATCH', this.path(rt, { namespace, name, subresource }), {
      body: patch,
      contentType: patchContentTypes[type],
      query: { ...writeQuery(options), force: type === 'apply' && force ? true : undefined },
    });
  }

  /** Server-side apply of `obj` (must carry apiVersion, kind, name) as `fieldManager`. */
  async apply<T extends KubeObject>(
    rt: ResourceType,
    obj: T,
    options: { fieldManager: string; force?: boolean; subresource?: string; dryRun?: boolean },
  ): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`apply of ${rt.kind}: metadata.name is required`);
    return this.patch<T>(rt, name, withTypeMeta(rt, obj), 'apply', {
      ...options,
      namespace: obj.metadata?.namespace,
    });
  }

  async delete(rt: ResourceType, name: string, namespace?: string, options: DeleteOptions = {}): Promise<void> {
    const { dryRun, ...body } = options;
    await this.request<unknown>('DELETE', this.path(rt, { namespace, name }), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', ...body },
      query: { dryRun: dryRun ? 'All' : undefined },
    });
  }

  /** Deletes the object if it exists; returns whether it did. */
  async deleteIfExists(rt: ResourceType, name: string, namespace?: string, options?: DeleteOptions): Promise<boolean> {
    try {
      await this.delete(rt, name, namespace, options);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Opens a watch and yields its events until the server ends the stream or `signal` aborts.
   * An ERROR event (such as 410 Gone for a too old resourceVersion) is thrown as an ApiError.
   */
  async *watch<T extends KubeObject>(rt: ResourceType, options: WatchOptions): AsyncGenerator<WatchEvent<T>> {
    const { namespace, signal, ...query } = options;
    const path = this.path(rt, { namespace });
    const response = await this.send('GET', path, { query: { ...query, watch: true }, signal });
    if (!response.body) return;
    // Read through a reader that is cancelled on abort: cancelling is what reliably ends a pending
    // read of a long-lived stream and closes its connection.
    const reader = response.body.getReader();
    const cancel = (): void => void reader.cancel().catch(() => undefined);
    signal?.addEventListener('abort', cancel, { once: true });
    if (signal?.aborted) cancel();
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for (;;) {
        const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
        if (done || signal?.aborted) return;
        buffered += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!line.trim()) continue;
          const event = JSON.parse(line) as { type: string; object: unknown };
          if (event.type === 'ERROR') {
            const status = event.object as Status;
            throw new ApiError(status.code ?? 500, status, `watch ${path}`);
          }
          yield event as WatchEvent<T>;
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    } finally {
      signal?.removeEventListener('abort', cancel);
      // Releases the connection when the consumer stops early.
      cancel();
    }
  }

  /** Sends a request and decodes the JSON answer; non-2xx answers throw an ApiError. */
  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.send(method, path, init);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async send(method: string, path: string, init: RequestInit): Promise<Response> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const auth = await this.authorization();
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
      ...auth,
    };
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = init.contentType ?? 'application/json';
      body = JSON.stringify(init.body);
    }
    const isWatch = url.searchParams.get('watch') === 'true';
    const timeout = isWatch ? undefined : AbortSignal.timeout(init.timeoutMs ?? this.timeoutMs);
    const signal = init.signal && timeout ? AbortSignal.any([init.signal, timeout]) : (init.signal ?? timeout);
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body, signal, dispatcher: this.pool() });
    } catch (err) {
      requestsTotal.inc({ method, code: '<error>' });
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new Error(`${method} ${url.pathname}: ${err instanceof Error ? err.message : String(err)}${cause}`, {
        cause: err,
      });
    }
    requestDuration.observe({ method }, (performance.now() - started) / 1000);
    requestsTotal.inc({ method, code: String(response.status) });
    if (response.status >= 200 && response.status < 300) return response;
    const text = await response.text().catch(() => '');
    let status: Status;
    try {
      status = JSON.parse(text) as Status;
      if (status.kind !== 'Status') status = { message: text };
    } catch {
      status = { message: text.slice(0, 500) };
    }
    throw new ApiError(response.status, status, `${method} ${url.pathname}`);
  }

  /** One connection pool per client, made from the kubeconfig's TLS material. */
  private pool(): Agent {
    this.dispatcher ??= new Agent({
      connect: this.tls ?? {},
      // HTTP/1.1, a connection per watch: closing a pool with HTTP/2 streams open makes undici emit
      // unhandled stream errors, and one stalled HTTP/2 connection would silence every watch on it.
      allowH2: false,
      keepAliveTimeout: 30_000,
      // Watches are long-lived: the server ends them, and stall detection lives in the informer.
      bodyTimeout: 0,
      headersTimeout: 0,
    });
    return this.dispatcher;
  }

  /** Authorization headers from the kubeconfig (token, token file, exec plugin), cached briefly. */
  private async authorization(): Promise<Record<string, string>> {
    if (this.authHeaders && this.authHeaders.expires > Date.now()) return this.authHeaders.value;
    const opts: RequestOptions = { headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    this.tls ??= pick(opts, ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername']);
    const value: Record<string, string> = {};
    for (const [key, v] of Object.entries(opts.headers ?? {})) {
      if (typeof v === 'string') value[key.toLowerCase()] = v;
    }
    if (opts.auth) value.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    this.authHeaders = { value, expires: Date.now() + 10_000 };
    return value;
  }
}

function pick(opts: RequestOptions, keys: (keyof RequestOptions)[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]]));
}

function withTypeMeta<T extends KubeObject>(rt: ResourceType, obj: T): T {
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(rt), kind: obj.kind ?? rt.kind };
}

function writeQuery(options: WriteOptions): Record<string, string | undefined> {
  return { dryRun: options.dryRun ? 'All' : undefined, fieldManager: options.fieldManager };
}
