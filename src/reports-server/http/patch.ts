// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902, fast-json-patch) and server-side apply
// (`application/apply-patch+yaml`, what `kubectl apply --server-side` sends). Strategic merge patch is
// refused with 415 before it gets here, as kube-apiserver does for custom resources.
//
// Server-side apply is kept to what kubectl and controllers need of it for report types, whose lists are
// all atomic (as in their CRDs): each applier (fieldManager) owns the leaf fields of its last applied
// configuration, recorded in metadata.managedFields (operation Apply, FieldsV1). Applying merges the new
// configuration into the object (objects field by field, lists and scalars replaced), removes the fields
// the manager applied before and no longer applies (unless another applier owns them too), and fails with
// 409 Conflict when it would change a value another manager owns, unless `force=true` (which takes the
// field over). Other writes (create, update, merge/JSON patch) are recorded as operation Update
// (trackUpdate): their manager owns the fields it set or changed, which no other manager owns any more, as
// kube-apiserver does; so applying over a field `kubectl label` set conflicts with `kubectl-label`.
import jsonpatch from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../storage/types.ts';
import { badRequest, HttpError } from './status.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a JSON request body; malformed JSON is 400 BadRequest as in kube-apiserver. */
export function parseJsonBody(text: string, what = 'request body'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`error decoding ${what}: ${(err as Error).message}`);
  }
}

/** RFC 7386: objects merged key by key, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** RFC 6902 operations applied to a copy of `target`; a failing operation is 422, a malformed patch 400. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('the JSON patch must be an array of operations');
  try {
    return jsonpatch.applyPatch(structuredClone(target), operations as jsonpatch.Operation[], true, false, true)
      .newDocument;
  } catch (err) {
    const e = err as { name?: string; message?: string; index?: number };
    const first = (e.message ?? String(err)).split('\n')[0] ?? '';
    const at = e.index !== undefined ? ` (operation ${e.index})` : '';
    if (
      e.name === 'TEST_OPERATION_FAILED' ||
      e.name === 'OPERATION_PATH_UNRESOLVABLE' ||
      e.name === 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX'
    ) {
      throw new HttpError(
        422,
        'Invalid',
        `the server rejected our request due to an error in our request: ${first}${at}`,
      );
    }
    throw badRequest(`invalid JSON patch: ${first}${at}`);
  }
}

/** Parses an apply configuration (YAML or JSON). */
export function parseApplyBody(text: string): KubeObject {
  let value: unknown;
  try {
    value = parseYaml(text, { maxAliasCount: 100 }) as unknown;
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw badRequest('the apply configuration must be an object');
  if (!isObject(value.metadata)) value.metadata = {};
  return value as KubeObject;
}

// --- Field sets ----------------------------------------------------------------------------------------------

type Path = string[];
const key = (p: Path): string => JSON.stringify(p);

/** Metadata fields that appliers own; the rest of metadata belongs to the server. */
const ownedMetadata = new Set(['labels', 'annotations', 'finalizers', 'ownerReferences']);

/** The leaf fields of an applied configuration (objects recursed, lists atomic). */
export function fieldSet(object: Record<string, unknown>): Path[] {
  const out: Path[] = [];
  const walk = (value: unknown, path: Path): void => {
    if (value === undefined) return; // not in the JSON
    if (isObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    } else out.push(path);
  };
  for (const [k, v] of Object.entries(object)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata') {
      if (!isObject(v)) continue;
      for (const [mk, mv] of Object.entries(v)) if (ownedMetadata.has(mk)) walk(mv, ['metadata', mk]);
      continue;
    }
    walk(v, [k]);
  }
  return out;
}

/** FieldsV1 (`{"f:a":{"f:b":{}}}`) of a set of paths. */
export function toFieldsV1(paths: Path[]): Record<string, Json> {
  const root: Record<string, Json> = {};
  for (const path of paths) {
    let node = root;
    for (const segment of path) node = (node[`f:${segment}`] ??= {}) as Record<string, Json>;
  }
  return root;
}

/** The leaf paths of FieldsV1. */
export function fromFieldsV1(fields: unknown): Path[] {
  const out: Path[] = [];
  const walk = (node: unknown, path: Path): void => {
    const children = isObject(node) ? Object.keys(node).filter((k) => k.startsWith('f:')) : [];
    if (children.length === 0) {
      if (path.length) out.push(path);
      return;
    }
    for (const child of children) walk((node as Record<string, unknown>)[child], [...path, child.slice(2)]);
  };
  walk(fields, []);
  return out;
}

const overlaps = (a: Path, b: Path): boolean => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

function get(object: unknown, path: Path): unknown {
  let v = object;
  for (const s of path) {
    if (!isObject(v)) return undefined;
    v = v[s];
  }
  return v;
}

function remove(object: Record<string, unknown>, path: Path): void {
  const parents: Record<string, unknown>[] = [];
  let v: unknown = object;
  for (const s of path.slice(0, -1)) {
    if (!isObject(v)) return;
    parents.push(v);
    v = v[s];
  }
  if (!isObject(v)) return;
  delete v[path[path.length - 1]!];
  // Drop maps the removal left empty (not metadata itself).
  for (let i = path.length - 2; i >= 1; i--) {
    const parent = parents[i]!;
    const child = parent[path[i]!];
    if (isObject(child) && Object.keys(child).length === 0) delete parent[path[i]!];
    else break;
  }
}

/** Objects merged field by field; lists and scalars of `applied` replace. */
function deepMerge(base: unknown, applied: unknown): unknown {
  if (!isObject(applied) || !isObject(base)) return structuredClone(applied);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(applied)) out[k] = k in out ? deepMerge(out[k], v) : structuredClone(v);
  return out;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
  subresource?: string;
}

export interface ApplyOptions {
  manager: string;
  force: boolean;
  apiVersion: string;
  now?: string;
}

/**
 * The object after applying `applied` as `manager` to `current` (undefined: the object is created), with
 * managedFields updated; 409 Conflict (causes FieldManagerConflict) when another applier owns a field
 * whose value would change and `force` is false.
 */
export function serverSideApply(
  current: KubeObject | undefined,
  applied: KubeObject,
  options: ApplyOptions,
): KubeObject {
  const entries = ((current?.metadata.managedFields ?? []) as ManagedFieldsEntry[]).map((e) => ({ ...e }));
  const mine = (e: ManagedFieldsEntry): boolean => e.manager === options.manager && e.operation === 'Apply';
  const previous = entries.find(mine);
  const owned = fieldSet(applied);
  const conflicts: { manager: string; path: Path }[] = [];
  // As kube-apiserver names a manager in conflicts: an Update one with its apiVersion and time.
  const describe = (e: ManagedFieldsEntry): string => {
    const name = JSON.stringify(e.manager ?? '');
    if (e.operation !== 'Update') return name;
    return `${name} using ${e.apiVersion ?? ''}${e.time ? ` at ${e.time}` : ''}`;
  };
  for (const entry of entries) {
    if (mine(entry)) continue;
    const theirs = fromFieldsV1(entry.fieldsV1);
    const kept = theirs.filter((path) => {
      const clash = owned.some(
        (p) => overlaps(p, path) && JSON.stringify(get(current, path)) !== JSON.stringify(get(applied, path)),
      );
      if (clash && !options.force) conflicts.push({ manager: describe(entry), path });
      return !clash;
    });
    if (options.force) entry.fieldsV1 = toFieldsV1(kept);
  }
  if (conflicts.length) {
    const field = (p: Path): string => `.${p.join('.')}`;
    const lines = conflicts.map((c) => `conflict with ${c.manager}: ${field(c.path)}`);
    throw new HttpError(
      409,
      'Conflict',
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${lines.join('\n')}`,
      {
        causes: conflicts.map((c) => ({
          type: 'FieldManagerConflict',
          message: `conflict with ${c.manager}`,
          field: field(c.path),
        })),
      },
    );
  }
  let next = structuredClone(current ?? { metadata: {} }) as Record<string, unknown>;
  // Fields this manager applied before and applies no more go, unless another applier owns them.
  if (previous) {
    const others = entries.filter((e) => !mine(e)).flatMap((e) => fromFieldsV1(e.fieldsV1));
    const now = new Set(owned.map(key));
    for (const path of fromFieldsV1(previous.fieldsV1)) {
      if (now.has(key(path)) || others.some((o) => overlaps(o, path))) continue;
      remove(next, path);
    }
  }
  const { managedFields: _ignored, ...appliedMeta } = applied.metadata;
  next = deepMerge(next, { ...applied, metadata: appliedMeta }) as Record<string, unknown>;
  const entry: ManagedFieldsEntry = {
    manager: options.manager,
    operation: 'Apply',
    apiVersion: options.apiVersion,
    time: options.now ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(owned),
  };
  const kept = entries.filter((e) => !mine(e) && fromFieldsV1(e.fieldsV1).length > 0);
  const result = next as KubeObject;
  result.metadata.managedFields = [...kept, entry] as Record<string, unknown>[];
  return result;
}

export interface UpdateOptions {
  manager: string;
  apiVersion: string;
  now?: string;
}

/**
 * Records a write other than apply in `next.metadata.managedFields` (operation Update): the manager owns the
 * fields it set or changed from `current` (undefined: a create, so every field), other managers lose them,
 * fields the write removed go from every manager, and entries left empty are dropped. A write that changes
 * no field leaves managedFields as they were. `base` is the managedFields to start from (the current ones, or
 * those the request sent).
 */
export function trackUpdate(
  current: KubeObject | undefined,
  next: KubeObject,
  base: readonly Record<string, unknown>[],
  options: UpdateOptions,
): void {
  const before = current ? fieldSet(current) : [];
  const after = fieldSet(next);
  const changed = after.filter((p) => !current || JSON.stringify(get(current, p)) !== JSON.stringify(get(next, p)));
  const present = new Set(after.map(key));
  const removed = before.filter((p) => !present.has(key(p)));
  if (changed.length === 0 && removed.length === 0) {
    next.metadata.managedFields = base.map((e) => ({ ...e }));
    return;
  }
  const mine = (e: ManagedFieldsEntry): boolean => e.manager === options.manager && e.operation === 'Update';
  const touched = [...changed, ...removed];
  const out: ManagedFieldsEntry[] = [];
  let own: Path[] = [];
  for (const entry of base as readonly ManagedFieldsEntry[]) {
    const paths = fromFieldsV1(entry.fieldsV1);
    if (mine(entry)) {
      own = paths.filter((p) => !removed.some((r) => overlaps(r, p)));
      continue;
    }
    const kept = paths.filter((p) => !touched.some((t) => overlaps(t, p)));
    if (kept.length) out.push({ ...entry, fieldsV1: toFieldsV1(kept) });
  }
  const owned = new Map([...own, ...changed].map((p) => [key(p), p]));
  out.push({
    manager: options.manager,
    operation: 'Update',
    apiVersion: options.apiVersion,
    time: options.now ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1([...owned.values()]),
  });
  next.metadata.managedFields = out as Record<string, unknown>[];
}

/** The field manager of a write: `fieldManager`, else the User-Agent up to its first `/`, as kube-apiserver. */
export function fieldManagerOf(query: URLSearchParams, userAgent: string | undefined): string {
  const named = query.get('fieldManager');
  if (named) return named;
  const prefix = (userAgent ?? '').split('/')[0]!.trim();
  return prefix.slice(0, 128) || 'unknown';
}
