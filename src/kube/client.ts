// A small generic REST client for the Kubernetes API: any resource by its ResourceType, JSON in and out,
// every patch type (merge, JSON, strategic, server-side apply), and watch as an async iterator.
// Credentials and TLS come from @kubernetes/client-node's KubeConfig; requests go through one undici
// connection pool per client (docs/adr/0003-kubernetes-client.md explains why not client-node's API classes).
import type { RequestOptions } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
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
    const { body } = await this.send('GET', path, { query: { ...query, watch: true }, signal });
    // The signal given to the request destroys the body when it aborts, which ends a pending read of the
    // long-lived stream and closes its connection.
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        if (signal?.aborted) return;
        buffered += decoder.decode(chunk, { stream: true });
        let start = 0;
        let newline: number;
        while ((newline = buffered.indexOf('\n', start)) >= 0) {
          const line = buffered.slice(start, newline);
          start = newline + 1;
          if (!line.trim()) continue;
          const event = JSON.parse(line) as { type: string; object: unknown };
          if (event.type === 'ERROR') {
            const status = event.object as Status;
            throw new ApiError(status.code ?? 500, status, `watch ${path}`);
          }
          yield event as WatchEvent<T>;
        }
        buffered = buffered.slice(start);
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    } finally {
      // Releases the connection when the consumer stops early.
      discard(body);
    }
  }

  /** Sends a request and decodes the JSON answer; non-2xx answers throw an ApiError. */
  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.send(method, path, init);
    const text = await readText(response, `${method} ${path}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async send(method: string, path: string, init: RequestInit): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const auth = await this.authorization();
    const isWatch = url.searchParams.get('watch') === 'true';
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.userAgent,
      ...auth,
    };
    // As client-go: large answers come gzip-compressed (kube-apiserver compresses from 128 KiB). Watches stay
    // uncompressed, as kube-apiserver sends them.
    if (!isWatch) headers['accept-encoding'] = 'gzip';
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = init.contentType ?? 'application/json';
      body = JSON.stringify(init.body);
    }
    const timeout = isWatch ? undefined : AbortSignal.timeout(init.timeoutMs ?? this.timeoutMs);
    const signal = init.signal && timeout ? AbortSignal.any([init.signal, timeout]) : (init.signal ?? timeout);
    const started = performance.now();
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { method, headers, body, signal, dispatcher: this.pool() });
    } catch (err) {
      requestsTotal.inc({ method, code: '<error>' });
      throw transportError(`${method} ${url.pathname}`, err);
    }
    requestDuration.observe({ method }, (performance.now() - started) / 1000);
    const code = response.statusCode;
    requestsTotal.inc({ method, code: String(code) });
    if (code >= 200 && code < 300) return response;
    const text = await readText(response, `${method} ${url.pathname}`).catch(() => '');
    let status: Status;
    try {
      status = JSON.parse(text) as Status;
      if (status.kind !== 'Status') status = { message: text };
    } catch {
      status = { message: text.slice(0, 500) };
    }
    throw new ApiError(code, status, `${method} ${url.pathname}`);
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

/** A transport failure (no answer, a broken body) as the plain Error with the cause that callers retry on. */
function transportError(context: string, err: unknown): Error {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return new Error(`${context}: ${err instanceof Error ? err.message : String(err)}${cause}`, { cause: err });
}

/** Closes a body that will not be read (its connection with it), without an unhandled 'error' event. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Output chunk of the gzip decoder: zlib's default of 16 KiB made inflating a large list twice as slow. */
const INFLATE_CHUNK_BYTES = 256 * 1024;

/**
 * The text of an answer's body, inflated as it arrives when it is gzip-encoded. Read as Node streams into one
 * buffer: fetch's web streams, inflating in 16 KiB pieces, took about 1.5 s for a 92 MiB list that arrived
 * in 0.2 s (docs/adr/0020-client-answers-read-as-node-streams.md).
 */
async function readText(response: Dispatcher.ResponseData, context: string): Promise<string> {
  const encoding = String(response.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity') {
    discard(response.body);
    throw new Error(`${context}: the answer has the unsupported content encoding "${encoding}"`);
  }
  const chunks: Buffer[] = [];
  const collect = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) chunks.push(chunk);
  };
  try {
    if (encoding === 'gzip') await pipeline(response.body, createGunzip({ chunkSize: INFLATE_CHUNK_BYTES }), collect);
    else await pipeline(response.body, collect);
  } catch (err) {
    throw transportError(`${context}: reading the answer`, err);
  }
  return Buffer.concat(chunks).toString('utf8');
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
