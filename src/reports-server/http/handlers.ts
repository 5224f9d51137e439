// The resource handlers: get, list, watch, create, update, patch, delete and deletecollection of the report
// types over the store, with kube-apiserver's behaviour for custom resources (docs/adr/0013-reports-api-server.md):
// the `...List` kind, Table and PartialObjectMetadata output, unknown fields pruned (a warning) or refused
// (`fieldValidation=Strict`), updates that must name a resourceVersion, patches retried on conflicts,
// server-side apply creating missing objects, 202 for deletions that wait for finalizers.
import { isDeepStrictEqual } from 'node:util';
import { gzip } from 'node:zlib';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pruneUnknownFields } from '../../api/crd.ts';
import { GzipAssembler, decodeStoredMany, storedLength } from '../storage/codec.ts';
import { StorageError } from '../storage/errors.ts';
import type { DeleteOptions, KubeObject, ListOptions, ReportStorage, ResourceType } from '../storage/types.ts';
import { bodyFormat, contentTypeOf, negotiate, type Representation } from './negotiation.ts';
import {
  fieldManagerOf,
  jsonPatch,
  mergePatch,
  parseApplyBody,
  parseJsonBody,
  serverSideApply,
  trackUpdate,
  type UpdateOptions,
} from './patch.ts';
import { apiVersionOf, type ServedType } from './resources.ts';
import type { ResourceRoute } from './router.ts';
import { badRequest, HttpError, invalid } from './status.ts';
import { buildTable, parseIncludeObject, partialObjectMetadata } from './table.ts';
import { streamWatch } from './watch.ts';

export interface HandlerOptions {
  /** Largest request body accepted (default 3 MiB, as kube-apiserver); larger ones get 413. */
  maxBodyBytes?: number;
  /**
   * Admission of creates into a namespace (kube-apiserver's NamespaceLifecycle): throws NotFound for a
   * namespace that does not exist, Forbidden for one being terminated. Absent: no check.
   */
  checkNamespace?: (namespace: string) => Promise<void>;
  /** Called when a watch starts and ends (for metrics and shutdown). */
  trackWatch?: (res: ServerResponse) => () => void;
}

export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  route: ResourceRoute;
  served: ServedType;
}

/**
 * Sends `body` as JSON. As kube-apiserver, answers of 128 KiB or more (Tables and metadata lists of a page of
 * reports, analytics, OpenAPI) are gzip-encoded for clients that accept it, at level 1 and off the event loop.
 */
export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = 'application/json',
  headers: OutgoingHttpHeaders = {},
): void {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  const common: OutgoingHttpHeaders = { ...headers, 'content-type': contentType, 'cache-control': 'no-cache, private' };
  const plain = (): void => {
    res.writeHead(code, { ...common, 'content-length': text.length });
    res.end(text);
  };
  if (text.length < GZIP_MIN_BYTES || !acceptsGzip(res.req.headers['accept-encoding'])) return plain();
  gzip(text, { level: 1 }, (err, compressed) => {
    if (res.headersSent || res.destroyed) return; // answered meanwhile, or the client went away
    if (err) return plain();
    res.writeHead(code, {
      ...common,
      'content-encoding': 'gzip',
      vary: 'Accept-Encoding',
      'content-length': compressed.length,
    });
    res.end(compressed);
  });
}

/** Bodies up to this size are read to their end (and discarded) before a 413, so proxies see the answer. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Reads the request body, at most `limit` bytes; a larger one is 413. Its rest is read and discarded first
 * (up to 64 MiB, else the connection is closed), because a proxy still sending the body (kube-apiserver's
 * aggregator) would see a reset connection instead of the answer.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = (): HttpError =>
    new HttpError(413, 'RequestEntityTooLarge', `the request body is too large (limit is ${limit} bytes)`);
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > DRAIN_LIMIT) throw tooLarge();
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw tooLarge();
  return Buffer.concat(chunks).toString('utf8');
}

const parseBool = (value: string | undefined, name: string): boolean | undefined => {
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw badRequest(`${name}: invalid boolean value "${value}"`);
};

const parseIntParam = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`${name}: invalid integer value "${value}"`);
  return Number(value);
};

function parseDryRun(values: string[]): boolean {
  for (const v of values) {
    if (v !== 'All') throw invalidOptions('dryRun', `Unsupported value: "${v}": supported values: "All"`);
  }
  return values.length > 0;
}

function invalidOptions(field: string, message: string): HttpError {
  return new HttpError(422, 'Invalid', `${field}: ${message}`, {
    causes: [{ type: 'FieldValueInvalid', message, field }],
  });
}

type FieldValidation = 'Ignore' | 'Warn' | 'Strict';
function parseFieldValidation(value: string | undefined): FieldValidation {
  if (value === undefined || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw badRequest(`fieldValidation: invalid value "${value}": must be one of Ignore, Warn, Strict`);
}

export class ResourceHandlers {
  private readonly storage: ReportStorage;
  private readonly maxBodyBytes: number;
  private readonly options: HandlerOptions;

  constructor(storage: ReportStorage, options: HandlerOptions = {}) {
    this.storage = storage;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.options = options;
  }

  async handle(r: Request): Promise<void> {
    switch (r.route.verb) {
      case 'get':
        return this.get(r);
      case 'list':
        return this.list(r);
      case 'watch':
        return this.watch(r);
      case 'create':
        return this.create(r);
      case 'update':
        return this.update(r);
      case 'patch':
        return this.patch(r);
      case 'delete':
        return this.delete(r);
      case 'deletecollection':
        return this.deleteCollection(r);
    }
  }

  // --- Reads ---------------------------------------------------------------------------------------------------

  private async get({ req, res, query, route, served }: Request): Promise<void> {
    const representation = negotiate(req.headers.accept, ['object', 'table', 'partial']);
    const includeObject = parseIncludeObject(query.get('includeObject') ?? undefined);
    const object = await this.storage.get(route.type, route.namespace, route.name);
    let body: unknown = object;
    if (representation.kind === 'table') {
      body = buildTable(served, [object], { version: representation.version, includeObject });
    } else if (representation.kind === 'partial') body = partialObjectMetadata(object, representation.version);
    sendJson(res, 200, body, contentTypeOf(representation));
  }

  private listOptions(query: URLSearchParams, route: ResourceRoute): ListOptions {
    const options: ListOptions = {};
    if (route.namespace) options.namespace = route.namespace;
    const labelSelector = query.get('labelSelector');
    const fieldSelector = query.get('fieldSelector');
    if (labelSelector) options.labelSelector = labelSelector;
    if (fieldSelector) options.fieldSelector = fieldSelector;
    const limit = parseIntParam(query.get('limit') ?? undefined, 'limit');
    if (limit !== undefined && limit > 0) options.limit = limit;
    const cont = query.get('continue');
    if (cont) options.continue = cont;
    const rv = query.get('resourceVersion');
    if (rv) options.resourceVersion = rv;
    const match = query.get('resourceVersionMatch');
    if (match) {
      if (match !== 'NotOlderThan' && match !== 'Exact') {
        throw invalidOptions(
          'resourceVersionMatch',
          `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
        );
      }
      if (!rv) {
        throw invalidOptions(
          'resourceVersionMatch',
          'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
        );
      }
      options.resourceVersionMatch = match;
    }
    return options;
  }

  private async list({ req, res, query, route, served }: Request): Promise<void> {
    const representation = negotiate(req.headers.accept, ['object', 'table', 'partial']);
    const includeObject = parseIncludeObject(query.get('includeObject') ?? undefined);
    if (representation.kind === 'object') {
      // The stored JSON texts as they are: never parsed, streamed, gzip-encoded from the stored bytes.
      const stored = await this.storage.listStored(route.type, this.listOptions(query, route));
      const metadata: { resourceVersion: string; continue?: string } = { resourceVersion: stored.resourceVersion };
      if (stored.continue) metadata.continue = stored.continue;
      const head = JSON.stringify({ apiVersion: apiVersionOf(route.type), kind: served.listKind, metadata });
      await streamList(req, res, head.slice(0, -1) + ',"items":[', stored.items, ']}');
      return;
    }
    // Tables and metadata lists need no results: they read the objects' heads (ADR 0021).
    const whole = representation.kind === 'table' && includeObject === 'Object';
    const result = await this.storage.list(route.type, {
      ...this.listOptions(query, route),
      view: whole ? 'object' : 'head',
    });
    const metadata: { resourceVersion: string; continue?: string } = { resourceVersion: result.resourceVersion };
    if (result.continue) metadata.continue = result.continue;
    const body =
      representation.kind === 'table'
        ? buildTable(served, result.items, { version: representation.version, includeObject, ...metadata })
        : {
            kind: 'PartialObjectMetadataList',
            apiVersion: `meta.k8s.io/${representation.version}`,
            metadata,
            items: result.items.map((o) => partialObjectMetadata(o, representation.version)),
          };
    sendJson(res, 200, body, contentTypeOf(representation));
  }

  private async watch({ req, res, query, route, served }: Request): Promise<void> {
    const representation = negotiate(req.headers.accept, ['object', 'table', 'partial']);
    const includeObject = parseIncludeObject(query.get('includeObject') ?? undefined);
    const rv = query.get('resourceVersion') || undefined;
    const bookmarks = parseBool(query.get('allowWatchBookmarks') ?? undefined, 'allowWatchBookmarks') ?? false;
    const sendInitialEvents = parseBool(query.get('sendInitialEvents') ?? undefined, 'sendInitialEvents');
    const match = query.get('resourceVersionMatch') || undefined;
    if (sendInitialEvents !== undefined) {
      if (match !== 'NotOlderThan') {
        throw invalidOptions(
          'resourceVersionMatch',
          'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
        );
      }
      if (sendInitialEvents && !bookmarks) {
        throw invalidOptions(
          'allowWatchBookmarks',
          'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true',
        );
      }
    } else if (match) {
      throw invalidOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden for watch');
    }
    const timeoutSeconds = parseIntParam(query.get('timeoutSeconds') ?? undefined, 'timeoutSeconds');
    const initialEvents = sendInitialEvents ?? (!rv || rv === '0');
    const list = this.listOptions(
      new URLSearchParams({ ...Object.fromEntries(query), resourceVersionMatch: '' }),
      route,
    );
    const watch = await this.storage.watch(route.type, {
      ...(list.namespace ? { namespace: list.namespace } : {}),
      ...(list.labelSelector ? { labelSelector: list.labelSelector } : {}),
      ...(list.fieldSelector ? { fieldSelector: list.fieldSelector } : {}),
      ...(rv && rv !== '0' ? { resourceVersion: rv } : {}),
      initialEvents,
      allowBookmarks: bookmarks,
    });
    const encode = (object: KubeObject, first: boolean): unknown =>
      encodeObject(representation, served, object, first, includeObject);
    const untrack = this.options.trackWatch?.(res);
    await streamWatch(req, res, watch, {
      contentType: contentTypeOf(representation),
      encode,
      encodeBookmark: (object) =>
        representation.kind === 'partial' ? partialObjectMetadata(object, representation.version) : object,
      ...(timeoutSeconds !== undefined && timeoutSeconds > 0 ? { timeoutSeconds } : {}),
      ...(untrack ? { onEnd: untrack } : {}),
    });
  }

  // --- Writes --------------------------------------------------------------------------------------------------

  private writeOptions(query: URLSearchParams) {
    return {
      dryRun: parseDryRun(query.getAll('dryRun')),
      fieldValidation: parseFieldValidation(query.get('fieldValidation') ?? undefined),
    };
  }

  /** Reads a JSON object body (POST, PUT). */
  private async objectBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    bodyFormat(req.headers['content-type'], req.method ?? 'POST');
    const text = await readBody(req, this.maxBodyBytes);
    if (!text.trim()) throw badRequest('the request body is empty');
    const value = parseJsonBody(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw badRequest('the request body must be a JSON object');
    }
    return value as Record<string, unknown>;
  }

  /**
   * Checks apiVersion/kind and the namespace against the URL, prunes unknown fields (returning warnings, or
   * 400 under Strict), and returns the object.
   */
  private prepare(
    served: ServedType,
    route: ResourceRoute,
    body: Record<string, unknown>,
    fieldValidation: FieldValidation,
    warnings: string[],
  ): KubeObject {
    const type = route.type;
    const apiVersion = apiVersionOf(type);
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
      throw badRequest(
        `the API version in the data (${JSON.stringify(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
      );
    }
    if (body.kind !== undefined && body.kind !== type.kind) {
      throw badRequest(
        `the kind in the data (${JSON.stringify(body.kind)}) does not match the expected kind (${type.kind})`,
      );
    }
    if (body.metadata === undefined || body.metadata === null) body.metadata = {};
    if (typeof body.metadata !== 'object' || Array.isArray(body.metadata)) {
      throw invalid(type.kind, type.group, '', [{ field: 'metadata', message: 'Invalid value: must be an object' }]);
    }
    const meta = body.metadata as Record<string, unknown>;
    if (type.namespaced) {
      if (meta.namespace === undefined || meta.namespace === '') meta.namespace = route.namespace;
      else if (meta.namespace !== route.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
    } else delete meta.namespace;
    const unknown = pruneUnknownFields(served.schema, body);
    if (unknown.length) {
      if (fieldValidation === 'Strict') {
        throw badRequest(
          `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`,
          unknown.map((f) => ({ type: 'FieldValueInvalid', message: 'unknown field', field: f })),
        );
      }
      if (fieldValidation === 'Warn') warnings.push(...unknown.map((f) => `unknown field "${f}"`));
    }
    return body as KubeObject;
  }

  private send(res: ServerResponse, code: number, body: unknown, warnings: string[]): void {
    const headers: OutgoingHttpHeaders = {};
    if (warnings.length) headers.warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
    sendJson(res, code, body, 'application/json', headers);
  }

  private async create({ req, res, query, route, served }: Request): Promise<void> {
    negotiate(req.headers.accept, ['object']);
    const options = this.writeOptions(query);
    const warnings: string[] = [];
    const object = this.prepare(served, route, await this.objectBody(req), options.fieldValidation, warnings);
    trackUpdate(undefined, object, object.metadata.managedFields ?? [], updateOptions(req, query, route.type));
    if (route.type.namespaced) await this.options.checkNamespace?.(route.namespace);
    const created = await this.storage.create(route.type, object, { dryRun: options.dryRun });
    this.send(res, 201, created, warnings);
  }

  private async update({ req, res, query, route, served }: Request): Promise<void> {
    negotiate(req.headers.accept, ['object']);
    const options = this.writeOptions(query);
    const warnings: string[] = [];
    const object = this.prepare(served, route, await this.objectBody(req), options.fieldValidation, warnings);
    const name = object.metadata.name;
    if (name !== route.name) {
      throw badRequest(`the name of the object (${name ?? ''}) does not match the name on the URL (${route.name})`);
    }
    // As for custom resources (no unconditional updates): a PUT must say which version it replaces.
    if (!object.metadata.resourceVersion) {
      throw invalid(route.type.kind, route.type.group, route.name, [
        { field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' },
      ]);
    }
    // The stored version is the one replaced: a different one makes the store answer 409 Conflict.
    const current = await this.storage.get(route.type, route.namespace, route.name);
    const base = object.metadata.managedFields ?? current.metadata.managedFields ?? [];
    trackUpdate(current, object, base, updateOptions(req, query, route.type));
    const updated = await this.storage.update(route.type, object, { dryRun: options.dryRun });
    this.send(res, 200, updated, warnings);
  }

  private async patch({ req, res, query, route, served }: Request): Promise<void> {
    negotiate(req.headers.accept, ['object']);
    const format = bodyFormat(req.headers['content-type'], 'PATCH');
    const options = this.writeOptions(query);
    const text = await readBody(req, this.maxBodyBytes);
    if (!text.trim()) throw badRequest('the patch body is empty');
    const type = route.type;
    if (format === 'apply') {
      const manager = query.get('fieldManager') ?? '';
      if (!manager) {
        throw new HttpError(
          422,
          'Invalid',
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
          {
            group: 'meta.k8s.io',
            kind: 'PatchOptions',
            causes: [
              {
                type: 'FieldValueRequired',
                message: 'Required value: is required for apply patch',
                field: 'fieldManager',
              },
            ],
          },
        );
      }
      const force = parseBool(query.get('force') ?? undefined, 'force') ?? false;
      const warnings: string[] = [];
      const applied = this.prepare(served, route, parseApplyBody(text), options.fieldValidation, warnings);
      if (applied.metadata.name !== undefined && applied.metadata.name !== route.name) {
        throw badRequest(
          `the name of the object (${applied.metadata.name}) does not match the name on the URL (${route.name})`,
        );
      }
      applied.metadata.name = route.name;
      for (let attempt = 0; ; attempt++) {
        const current = await this.getOrUndefined(route);
        const next = serverSideApply(current, applied, { manager, force, apiVersion: apiVersionOf(type) });
        try {
          if (!current) {
            if (type.namespaced) await this.options.checkNamespace?.(route.namespace);
            delete next.metadata.resourceVersion;
            const created = await this.storage.create(type, next, { dryRun: options.dryRun });
            return this.send(res, 201, created, warnings);
          }
          next.metadata.resourceVersion = current.metadata.resourceVersion!;
          // Applying what is already there changes nothing, not even the apply time (as kube-apiserver).
          if (sameApartFromApplyTime(current, next, manager)) return this.send(res, 200, current, warnings);
          const updated = await this.storage.update(type, next, { dryRun: options.dryRun });
          return this.send(res, 200, updated, warnings);
        } catch (err) {
          const retry =
            err instanceof StorageError &&
            (err.reason === 'Conflict' || err.reason === 'AlreadyExists' || err.reason === 'NotFound');
          if (retry && attempt < 5) continue;
          throw err;
        }
      }
    }
    const patch = parseJsonBody(text, 'patch');
    if (format === 'merge-patch' && (typeof patch !== 'object' || patch === null || Array.isArray(patch))) {
      throw badRequest('a merge patch must be a JSON object');
    }
    for (let attempt = 0; ; attempt++) {
      const current = await this.storage.get(type, route.namespace, route.name);
      const patched = format === 'merge-patch' ? mergePatch(current, patch) : jsonPatch(current, patch);
      if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) {
        throw new HttpError(422, 'Invalid', 'the patched object is not a JSON object');
      }
      const warnings: string[] = [];
      const object = this.prepare(served, route, patched as Record<string, unknown>, options.fieldValidation, warnings);
      if (object.metadata.name !== route.name) {
        throw invalid(type.kind, type.group, route.name, [
          {
            field: 'metadata.name',
            message: `Invalid value: ${JSON.stringify(object.metadata.name)}: field is immutable`,
          },
        ]);
      }
      // Unless the patch names a resourceVersion itself, it applies to the version read: retry on conflict.
      const own =
        !object.metadata.resourceVersion || object.metadata.resourceVersion === current.metadata.resourceVersion;
      if (!object.metadata.resourceVersion) object.metadata.resourceVersion = current.metadata.resourceVersion!;
      trackUpdate(current, object, object.metadata.managedFields ?? [], updateOptions(req, query, type));
      try {
        const updated = await this.storage.update(type, object, { dryRun: options.dryRun });
        return this.send(res, 200, updated, warnings);
      } catch (err) {
        if (own && err instanceof StorageError && err.reason === 'Conflict' && attempt < 5) continue;
        throw err;
      }
    }
  }

  private async getOrUndefined(route: ResourceRoute): Promise<KubeObject | undefined> {
    try {
      return await this.storage.get(route.type, route.namespace, route.name);
    } catch (err) {
      if (err instanceof StorageError && err.reason === 'NotFound') return undefined;
      throw err;
    }
  }

  /** DeleteOptions from the body (if any) and the query. */
  private async deleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
    const text = await readBody(req, this.maxBodyBytes);
    let body: Record<string, unknown> = {};
    if (text.trim()) {
      bodyFormat(req.headers['content-type'], 'DELETE');
      const value = parseJsonBody(text, 'DeleteOptions');
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw badRequest('DeleteOptions must be a JSON object');
      }
      body = value as Record<string, unknown>;
    }
    const options: DeleteOptions = {};
    const dryRun = [...query.getAll('dryRun'), ...(Array.isArray(body.dryRun) ? (body.dryRun as string[]) : [])];
    if (parseDryRun(dryRun)) options.dryRun = true;
    const policy = (query.get('propagationPolicy') ?? body.propagationPolicy) as string | undefined;
    const orphan =
      parseBool(query.get('orphanDependents') ?? undefined, 'orphanDependents') ??
      (body.orphanDependents as boolean | undefined);
    if (policy !== undefined && policy !== '') {
      if (policy !== 'Orphan' && policy !== 'Foreground' && policy !== 'Background') {
        throw invalidOptions(
          'propagationPolicy',
          `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
        );
      }
      if (orphan !== undefined) {
        throw invalidOptions(
          'propagationPolicy',
          'Invalid value: orphanDependents and propagationPolicy cannot both be set',
        );
      }
      options.propagationPolicy = policy;
    } else if (orphan !== undefined) options.propagationPolicy = orphan ? 'Orphan' : 'Background';
    const pre = body.preconditions as { uid?: unknown; resourceVersion?: unknown } | undefined;
    if (pre && typeof pre === 'object') {
      options.preconditions = {};
      if (typeof pre.uid === 'string' && pre.uid) options.preconditions.uid = pre.uid;
      if (typeof pre.resourceVersion === 'string' && pre.resourceVersion) {
        options.preconditions.resourceVersion = pre.resourceVersion;
      }
    }
    return options;
  }

  private async delete({ req, res, query, route }: Request): Promise<void> {
    negotiate(req.headers.accept, ['object']);
    const options = await this.deleteOptions(req, query);
    const result = await this.storage.delete(route.type, route.namespace, route.name, options);
    sendJson(res, result.deleted ? 200 : 202, result.object);
  }

  private async deleteCollection({ req, res, query, route, served }: Request): Promise<void> {
    negotiate(req.headers.accept, ['object']);
    const options = await this.deleteOptions(req, query);
    const list = this.listOptions(query, route);
    const results = await this.storage.deleteCollection(route.type, {
      ...options,
      ...(list.namespace ? { namespace: list.namespace } : {}),
      ...(list.labelSelector ? { labelSelector: list.labelSelector } : {}),
      ...(list.fieldSelector ? { fieldSelector: list.fieldSelector } : {}),
    });
    sendJson(res, 200, {
      apiVersion: apiVersionOf(route.type),
      kind: served.listKind,
      metadata: {},
      items: results.map((r) => r.object),
    });
  }
}

/** Responses from this size on are gzip-encoded for clients that accept it (kube-apiserver's threshold). */
export const GZIP_MIN_BYTES = 128 * 1024;
/** Bytes collected before each write of a streamed list. */
const CHUNK_BYTES = 256 * 1024;
/** Objects inflated at once for a plain (not gzip-encoded) streamed list. */
const PLAIN_BATCH = 256;

/** Whether an Accept-Encoding header accepts gzip (a `gzip` or `*` coding without q=0). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of value.split(',')) {
    const [coding, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.find((p) => p.startsWith('q='));
    if (!q || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * Streams `head` + the stored objects joined by commas + `tail` as a 200 JSON answer, in chunks that wait for
 * the socket to drain. Large answers to clients that accept gzip are one gzip member assembled from the stored
 * DEFLATE bytes (nothing is compressed but the commas, head and tail); otherwise each object is inflated.
 */
export async function streamList(
  req: IncomingMessage,
  res: ServerResponse,
  head: string,
  items: readonly Uint8Array[],
  tail: string,
): Promise<void> {
  let total = Buffer.byteLength(head) + Buffer.byteLength(tail) + Math.max(0, items.length - 1);
  for (const item of items) total += storedLength(item);
  const gzip = total >= GZIP_MIN_BYTES && acceptsGzip(req.headers['accept-encoding']);
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', 'cache-control': 'no-cache, private' };
  if (gzip) {
    headers['content-encoding'] = 'gzip';
    headers.vary = 'Accept-Encoding';
  } else headers['content-length'] = total;
  res.writeHead(200, headers);
  const assembler = gzip ? new GzipAssembler() : undefined;
  let pending: Buffer[] = [];
  let size = 0;
  const push = (chunks: Buffer[]): void => {
    for (const c of chunks) {
      pending.push(c);
      size += c.length;
    }
  };
  let gone = false;
  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
    pending = [];
    size = 0;
    if (res.destroyed) {
      gone = true; // the client went away: nothing more to send
      return;
    }
    if (!res.write(data)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  };
  const comma = Buffer.from(',');
  push(assembler ? assembler.text(head) : [Buffer.from(head)]);
  // Plain JSON: objects inflated a few hundred at a time (decodeStoredMany), not each on its own.
  let plain: Buffer[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0) push(assembler ? assembler.text(',') : [comma]);
    if (!assembler && i % PLAIN_BATCH === 0) plain = decodeStoredMany(items.slice(i, i + PLAIN_BATCH));
    push(assembler ? assembler.stored(items[i]!) : [plain[i % PLAIN_BATCH]!]);
    if (size >= CHUNK_BYTES) await flush();
    if (gone) return;
  }
  push(assembler ? [...assembler.text(tail), assembler.end()] : [Buffer.from(tail)]);
  await flush();
  res.end();
}

/** Who an Update entry of managedFields names (fieldManager or the User-Agent), checked as kube-apiserver. */
function updateOptions(req: IncomingMessage, query: URLSearchParams, type: ResourceType): UpdateOptions {
  const manager = fieldManagerOf(query, req.headers['user-agent']);
  if (manager.length > 128) {
    throw new HttpError(422, 'Invalid', 'fieldManager: Too long: may not be more than 128 bytes', {
      causes: [
        { type: 'FieldValueTooLong', message: 'Too long: may not be more than 128 bytes', field: 'fieldManager' },
      ],
    });
  }
  return { manager, apiVersion: apiVersionOf(type) };
}

/** An object as a watch event carries it in the negotiated representation. */
function encodeObject(
  representation: Representation,
  served: ServedType,
  object: KubeObject,
  first: boolean,
  includeObject: ReturnType<typeof parseIncludeObject>,
): unknown {
  if (representation.kind === 'table') {
    return buildTable(served, [object], { version: representation.version, includeObject, noHeaders: !first });
  }
  if (representation.kind === 'partial') return partialObjectMetadata(object, representation.version);
  return object;
}

/** Whether `next` equals `current` but for the time of `manager`'s Apply entry in managedFields. */
function sameApartFromApplyTime(current: KubeObject, next: KubeObject, manager: string): boolean {
  const entries = (object: KubeObject): Record<string, unknown>[] => object.metadata?.managedFields ?? [];
  const previous = entries(current).find((e) => e.manager === manager && e.operation === 'Apply');
  if (!previous) return false;
  const withPreviousTime: KubeObject = {
    ...next,
    metadata: {
      ...next.metadata,
      managedFields: entries(next).map((e) =>
        e.manager === manager && e.operation === 'Apply' ? { ...e, time: previous.time } : e,
      ),
    },
  };
  return isDeepStrictEqual(withPreviousTime, current);
}
