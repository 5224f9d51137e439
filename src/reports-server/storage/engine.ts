// The reports store, written once over a Driver (sqlite.ts, postgres.ts): kube-apiserver's object semantics
// (uid, generation, resourceVersion, optimistic concurrency, finalizers, dryRun), lists with selectors in SQL
// and consistent pagination, and watches fed by the change log. See types.ts for the contract and
// docs/adr/0011-reports-storage.md for the decisions.
import { randomUUID } from 'node:crypto';
import type { KubeObject, ObjectMeta } from '../../api/meta.ts';
import { logger, errorMessage } from '../../util/log.ts';
import { encodeStored, parseStored, parseStoredMany, type Stored } from './codec.ts';
import { encodeHead, writeHead } from './heads.ts';
import type { Driver, Row, Tx } from './driver.ts';
import {
  StorageError,
  alreadyExists,
  badRequest,
  conflict,
  expiredContinue,
  invalid,
  notFound,
  tooLargeResourceVersion,
  tooOldResourceVersion,
} from './errors.ts';
import { fieldValue, matches, resolveSelectors, type Selectors } from './selectors.ts';
import { chunkBytes, insertPacked, internStrings, internedTexts, packResults } from './results.ts';
import { buildListQuery, migrations, selectorColumns, type Dialect } from './sql.ts';
import type {
  DeleteOptions,
  DeleteResult,
  ListOptions,
  ListResult,
  ReportStorage,
  ResourceType,
  ResultQuery,
  ResultQueryRow,
  ResultSummaryRow,
  SelectorOptions,
  StoredListResult,
  StorageOptions,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './types.ts';

const log = logger('reports-storage');

const defaults = {
  clusterName: 'default',
  changeLogRetentionMs: 5 * 60_000,
  changeLogMaxEvents: 100_000,
  compactIntervalMs: 60_000,
  pollIntervalMs: 1000,
  bookmarkIntervalMs: 60_000,
};

/** Events the feed reads per query. */
const feedBatch = 500;
/** A watcher whose consumer lags this many events behind is closed (the client re-watches from its last RV). */
const maxQueuedEvents = 20_000;
/** Page size for initial events and deleteCollection. */
const pageSize = 500;
/** How long the feed waits for a missing resourceVersion to become visible before it moves past it. */
const gapWaitMs = 10_000;

// --- Migrations ------------------------------------------------------------------------------------------------

/** Applies the migrations not yet applied, in order, in one serialized transaction. Idempotent. */
export async function migrate(driver: Driver): Promise<number[]> {
  return driver.write(async (tx) => {
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const done = new Set((await tx.query('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      for (const statement of m.statements(driver.dialect)) await tx.query(statement);
      await m.transform?.(tx, driver.dialect);
      for (const statement of m.after?.(driver.dialect) ?? []) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}

// --- Helpers -----------------------------------------------------------------------------------------------------

/** JSON with sorted keys, for comparing objects. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** Everything but metadata (what bumps generation for types without a status subresource). */
const specPart = (o: KubeObject): string => canonical({ ...o, metadata: undefined });

const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const generatedSuffixChars = 'bcdfghjklmnpqrstvwxz2456789';
function generateName(base: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += generatedSuffixChars[Math.floor(Math.random() * generatedSuffixChars.length)];
  return base.slice(0, 58) + suffix;
}

function parseResourceVersion(value: string, what: string): number {
  if (!/^\d+$/.test(value))
    throw badRequest(`Invalid value: ${JSON.stringify(value)}: ${what} must be a non-negative integer`);
  return Number(value);
}

interface ContinueToken {
  rv: number;
  namespace: string;
  name: string;
}

const encodeContinue = (t: ContinueToken): string =>
  Buffer.from(JSON.stringify({ v: 1, rv: t.rv, ns: t.namespace, name: t.name })).toString('base64url');

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (t.v === 1 && Number.isSafeInteger(t.rv) && typeof t.ns === 'string' && typeof t.name === 'string') {
      return { rv: t.rv as number, namespace: t.ns, name: t.name };
    }
  } catch {
    // fall through
  }
  throw badRequest(`continue key is not valid: ${JSON.stringify(token)}`);
}

const keyBefore = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): boolean =>
  a.namespace < b.namespace || (a.namespace === b.namespace && a.name < b.name);

interface ChangeRow {
  rv: number;
  typeId: number;
  event: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Stored;
  prev: Stored | null;
}

const toChange = (r: Row): ChangeRow => ({
  rv: Number(r.rv),
  typeId: Number(r.type_id),
  event: r.event as ChangeRow['event'],
  object: r.data as Stored,
  prev: (r.prev_data as Stored | null) ?? null,
});

// --- The store -------------------------------------------------------------------------------------------------

export class Engine implements ReportStorage {
  readonly backend: Dialect;
  readonly types: readonly ResourceType[];
  private readonly driver: Driver;
  private readonly options: typeof defaults;
  private readonly typeIds = new Map<ResourceType, number>();
  private readonly feed: Feed;
  /** Committed ids of interned strings (results.ts). */
  private readonly strings = new Map<string, number>();
  private compactTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(driver: Driver, types: readonly ResourceType[], options: StorageOptions) {
    this.driver = driver;
    this.backend = driver.dialect;
    this.types = types;
    this.options = { ...defaults, ...stripUndefined(options) };
    this.feed = new Feed(driver, this.options);
  }

  /** Migrates the database, registers the types and starts the change feed and compaction. */
  static async open(driver: Driver, types: readonly ResourceType[], options: StorageOptions = {}): Promise<Engine> {
    const engine = new Engine(driver, types, options);
    try {
      await migrate(driver);
      await driver.write(async (tx) => {
        for (const t of types) {
          await tx.query(
            'INSERT INTO resource_types (api_group, resource, kind) VALUES (?, ?, ?) ON CONFLICT (api_group, resource) DO NOTHING',
            [t.group, t.resource, t.kind],
          );
        }
        await tx.query(
          "INSERT INTO meta (key, value) VALUES ('cluster', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          [engine.options.clusterName],
        );
      });
      const rows = await driver.read((tx) => tx.query('SELECT id, api_group, resource FROM resource_types'));
      for (const t of types) {
        const row = rows.find((r) => r.api_group === t.group && r.resource === t.resource);
        if (!row) throw new StorageError('InternalError', `resource type ${t.resource}.${t.group} not registered`);
        engine.typeIds.set(t, Number(row.id));
      }
      await engine.feed.start();
      driver.onWake(() => engine.feed.wake());
      if (engine.options.compactIntervalMs > 0) {
        engine.compactTimer = setInterval(() => {
          engine
            .compact()
            .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'change-log compaction failed'));
        }, engine.options.compactIntervalMs);
        engine.compactTimer.unref();
      }
      return engine;
    } catch (err) {
      await engine.close().catch(() => undefined);
      throw err;
    }
  }

  private typeId(type: ResourceType): number {
    const id = this.typeIds.get(type);
    if (id === undefined)
      throw new StorageError(
        'InternalError',
        `resource type ${type.resource}.${type.group} is not served by this store`,
      );
    return id;
  }

  private namespaceOf(type: ResourceType, namespace: string | undefined): string {
    return type.namespaced ? (namespace ?? '') : '';
  }

  // --- Reads ---------------------------------------------------------------------------------------------------

  async currentResourceVersion(): Promise<string> {
    return String(await this.driver.read((tx) => currentRv(tx)));
  }

  async get(type: ResourceType, namespace: string, name: string): Promise<KubeObject> {
    const typeId = this.typeId(type);
    const rows = await this.driver.read((tx) =>
      tx.query('SELECT data FROM objects WHERE type_id = ? AND namespace = ? AND name = ?', [
        typeId,
        this.namespaceOf(type, namespace),
        name,
      ]),
    );
    if (!rows[0]) throw notFound(type.group, type.resource, name);
    return parseStored<KubeObject>(rows[0].data as Stored);
  }

  async list(type: ResourceType, options: ListOptions = {}): Promise<ListResult> {
    const { items, ...rest } = await this.listStored(type, options);
    return { ...rest, items: parseStoredMany<KubeObject>(items) };
  }

  async listStored(type: ResourceType, options: ListOptions = {}): Promise<StoredListResult> {
    const typeId = this.typeId(type);
    const selectors = resolveSelectors(type, options.labelSelector, options.fieldSelector);
    const namespace = type.namespaced ? options.namespace || undefined : undefined;
    const limit = options.limit && options.limit > 0 ? Math.floor(options.limit) : undefined;
    const heads = options.view === 'head';
    let snapshot: number | undefined; // undefined: the latest
    let minRv = 0;
    let after: { namespace: string; name: string } | undefined;
    let fromContinue = false;
    if (options.continue) {
      if (options.resourceVersion && options.resourceVersion !== '0') {
        throw badRequest('specifying resource version is not allowed when using continue');
      }
      const token = decodeContinue(options.continue);
      snapshot = token.rv;
      after = { namespace: token.namespace, name: token.name };
      fromContinue = true;
    } else if (options.resourceVersionMatch === 'Exact') {
      if (!options.resourceVersion || options.resourceVersion === '0') {
        throw badRequest('resourceVersionMatch "Exact" is forbidden for resourceVersion "0" or unset');
      }
      snapshot = parseResourceVersion(options.resourceVersion, 'resourceVersion');
    } else if (options.resourceVersion) {
      minRv = parseResourceVersion(options.resourceVersion, 'resourceVersion');
    }
    return this.driver.read(async (tx) => {
      const current = await currentRv(tx);
      let rows: ListedRow[];
      let rv: number;
      if (snapshot === undefined || snapshot === current) {
        if (minRv > current) throw tooLargeResourceVersion(minRv, current);
        rv = current;
        rows = await this.queryCurrent(tx, typeId, namespace, after, undefined, selectors, limit, heads);
      } else {
        if (snapshot > current) throw tooLargeResourceVersion(snapshot, current);
        const compacted = await compactedRv(tx);
        if (snapshot < compacted) throw fromContinue ? expiredContinue() : tooOldResourceVersion(snapshot, compacted);
        rv = snapshot;
        rows = await this.querySnapshot(tx, type, typeId, namespace, after, snapshot, selectors, limit, heads);
      }
      const page = limit !== undefined && rows.length > limit ? rows.slice(0, limit) : rows;
      const result: StoredListResult = { items: page.map((r) => r.stored), resourceVersion: String(rv) };
      if (page.length < rows.length) {
        const last = page[page.length - 1]!;
        result.continue = encodeContinue({ rv, namespace: last.namespace, name: last.name });
      }
      return result;
    });
  }

  /** Current rows that match, in key order; one more than `limit` to tell whether there are more. */
  private async queryCurrent(
    tx: Tx,
    typeId: number,
    namespace: string | undefined,
    after: { namespace: string; name: string } | undefined,
    maxRv: number | undefined,
    selectors: Selectors,
    limit: number | undefined,
    heads: boolean,
  ): Promise<ListedRow[]> {
    const q = buildListQuery(this.driver.dialect, {
      heads,
      typeId,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(after ? { after } : {}),
      ...(maxRv !== undefined ? { maxRv } : {}),
      labels: selectors.labels,
      fields: selectors.fields,
      ...(limit !== undefined ? { limit: limit + 1 } : {}),
    });
    const rows = await tx.query(q.sql, q.params);
    return rows.map((r) => ({ namespace: r.namespace as string, name: r.name as string, stored: r.data as Stored }));
  }

  /**
   * The state as of `snapshot` (< current): current rows unchanged since then (rv <= snapshot), plus, for
   * every key changed after it, the object before its first later change (from the change log), matched in
   * memory. Both sides are in key order; the merge keeps limit + 1.
   */
  private async querySnapshot(
    tx: Tx,
    type: ResourceType,
    typeId: number,
    namespace: string | undefined,
    after: { namespace: string; name: string } | undefined,
    snapshot: number,
    selectors: Selectors,
    limit: number | undefined,
    heads: boolean,
  ): Promise<ListedRow[]> {
    // Objects from the change log are whole: a head view may carry bulk fields.
    const unchanged = await this.queryCurrent(tx, typeId, namespace, after, snapshot, selectors, limit, heads);
    const params: unknown[] = [typeId, snapshot];
    let sql = 'SELECT rv, namespace, name, prev_data FROM changes WHERE type_id = ? AND rv > ?';
    if (namespace !== undefined) {
      sql += ' AND namespace = ?';
      params.push(namespace);
    }
    if (after) {
      sql += ' AND (namespace, name) > (?, ?)';
      params.push(after.namespace, after.name);
    }
    sql += ' ORDER BY namespace, name, rv';
    const changed: ListedRow[] = [];
    let lastKey = '';
    for (const r of await tx.query(sql, params)) {
      const key = `${r.namespace as string}\0${r.name as string}`;
      if (key === lastKey) continue; // only the first change after the snapshot tells the state at it
      lastKey = key;
      if (r.prev_data === null || r.prev_data === undefined) continue; // created after the snapshot
      const stored = r.prev_data as Stored;
      if (!matches(type, selectors, parseStored<KubeObject>(stored))) continue;
      changed.push({ namespace: r.namespace as string, name: r.name as string, stored });
    }
    const merged: ListedRow[] = [];
    let i = 0;
    let j = 0;
    const max = limit === undefined ? Infinity : limit + 1;
    while (merged.length < max && (i < unchanged.length || j < changed.length)) {
      if (j >= changed.length || (i < unchanged.length && keyBefore(unchanged[i]!, changed[j]!)))
        merged.push(unchanged[i++]!);
      else merged.push(changed[j++]!);
    }
    return merged;
  }

  // --- Writes --------------------------------------------------------------------------------------------------

  async create(type: ResourceType, input: KubeObject, options: WriteOptions = {}): Promise<KubeObject> {
    const typeId = this.typeId(type);
    const base = this.prepareCreate(type, input);
    const generate = !base.metadata.name && !!base.metadata.generateName;
    for (let attempt = 0; ; attempt++) {
      const object = structuredClone(base);
      if (generate) object.metadata.name = generateName(base.metadata.generateName!);
      this.validate(type, object);
      const namespace = this.namespaceOf(type, object.metadata.namespace);
      const name = object.metadata.name!;
      try {
        if (options.dryRun) {
          const exists = await this.driver.read((tx) => findObject(tx, typeId, namespace, name));
          if (exists) throw alreadyExists(type.group, type.resource, name);
          return object;
        }
        return await this.write(async (tx, fresh) => {
          if (await findObject(tx, typeId, namespace, name)) throw alreadyExists(type.group, type.resource, name);
          const rv = await nextRv(tx);
          object.metadata.resourceVersion = String(rv);
          const stored = encodeStored(JSON.stringify(object));
          const columns = this.rowColumns(type, object);
          const inserted = await tx.query(
            `INSERT INTO objects (type_id, namespace, name, uid, rv, data${columns.columns}) ` +
              `VALUES (?, ?, ?, ?, ?, ?${columns.placeholders}) RETURNING id`,
            [typeId, namespace, name, object.metadata.uid, rv, stored, ...columns.values],
          );
          const id = Number(inserted[0]!.id);
          await this.writeSqliteHead(tx, type, id, object, false);
          await this.writeIndexes(tx, fresh, type, typeId, id, object, undefined);
          await this.logChange(tx, rv, typeId, namespace, name, 'ADDED', null, null);
          return object;
        });
      } catch (err) {
        if (generate && err instanceof StorageError && err.reason === 'AlreadyExists' && attempt < 7) continue;
        throw err;
      } finally {
        if (!options.dryRun) this.feed.wake();
      }
    }
  }

  async update(type: ResourceType, input: KubeObject, options: WriteOptions = {}): Promise<KubeObject> {
    const typeId = this.typeId(type);
    const namespace = this.namespaceOf(type, input.metadata?.namespace);
    const name = input.metadata?.name;
    if (!name)
      throw invalid(type.kind, type.group, '', [
        { field: 'metadata.name', message: 'Required value: name is required' },
      ]);
    const run = async (tx: Tx, write: boolean, fresh = new Map<string, number>()): Promise<KubeObject> => {
      const row = await findObject(tx, typeId, namespace, name);
      if (!row) throw notFound(type.group, type.resource, name);
      const current = parseStored<KubeObject>(row.data);
      const next = this.prepareUpdate(type, input, current);
      if (
        canonical({ ...next, metadata: { ...next.metadata, resourceVersion: undefined } }) ===
        canonical({ ...current, metadata: { ...current.metadata, resourceVersion: undefined } })
      ) {
        return current; // no-op update: nothing written, resourceVersion unchanged
      }
      const deleting = !!current.metadata.deletionTimestamp && !next.metadata.finalizers?.length;
      if (!write) return next;
      const rv = await nextRv(tx);
      next.metadata.resourceVersion = String(rv);
      const stored = encodeStored(JSON.stringify(next));
      await keepLoggedObject(tx, row);
      if (deleting) {
        await tx.query('DELETE FROM objects WHERE id = ?', [row.id]);
        await this.logChange(tx, rv, typeId, namespace, name, 'DELETED', stored, row.data);
      } else {
        await this.rewriteObject(tx, type, row.id, rv, stored, next);
        await this.writeIndexes(tx, fresh, type, typeId, row.id, next, current);
        await this.logChange(tx, rv, typeId, namespace, name, 'MODIFIED', null, row.data);
      }
      return next;
    };
    if (options.dryRun) return this.driver.read((tx) => run(tx, false));
    try {
      return await this.write((tx, fresh) => run(tx, true, fresh));
    } finally {
      this.feed.wake();
    }
  }

  async delete(
    type: ResourceType,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<DeleteResult> {
    const typeId = this.typeId(type);
    const ns = this.namespaceOf(type, namespace);
    const run = async (tx: Tx, write: boolean): Promise<DeleteResult> => {
      const row = await findObject(tx, typeId, ns, name);
      if (!row) throw notFound(type.group, type.resource, name);
      const current = parseStored<KubeObject>(row.data);
      const pre = options.preconditions;
      if (pre?.uid && pre.uid !== current.metadata.uid) {
        throw conflict(
          type.group,
          type.resource,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw conflict(
          type.group,
          type.resource,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
        );
      }
      // Garbage-collector finalizers as kube-apiserver sets them for the propagation policy.
      let finalizers = [...(current.metadata.finalizers ?? [])];
      const policy = options.propagationPolicy;
      if (policy === 'Orphan' || policy === 'Background')
        finalizers = finalizers.filter((f) => f !== 'foregroundDeletion');
      if (policy === 'Foreground' || policy === 'Background') finalizers = finalizers.filter((f) => f !== 'orphan');
      if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
      if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
      if (finalizers.length > 0) {
        const next = structuredClone(current);
        next.metadata.finalizers = finalizers;
        if (!next.metadata.deletionTimestamp) {
          next.metadata.deletionTimestamp = now();
          next.metadata.deletionGracePeriodSeconds = 0;
        }
        if (canonical(next) === canonical(current)) return { object: current, deleted: false };
        if (!write) return { object: next, deleted: false };
        const rv = await nextRv(tx);
        next.metadata.resourceVersion = String(rv);
        const stored = encodeStored(JSON.stringify(next));
        await keepLoggedObject(tx, row);
        await this.rewriteObject(tx, type, row.id, rv, stored, next);
        await this.logChange(tx, rv, typeId, ns, name, 'MODIFIED', null, row.data);
        return { object: next, deleted: false };
      }
      if (!write) return { object: current, deleted: true };
      const rv = await nextRv(tx);
      const gone = structuredClone(current);
      gone.metadata.resourceVersion = String(rv);
      await keepLoggedObject(tx, row);
      await tx.query('DELETE FROM objects WHERE id = ?', [row.id]);
      await this.logChange(tx, rv, typeId, ns, name, 'DELETED', encodeStored(JSON.stringify(gone)), row.data);
      return { object: gone, deleted: true };
    };
    if (options.dryRun) return this.driver.read((tx) => run(tx, false));
    try {
      return await this.driver.write((tx) => run(tx, true));
    } finally {
      this.feed.wake();
    }
  }

  async deleteCollection(type: ResourceType, options: SelectorOptions & DeleteOptions = {}): Promise<DeleteResult[]> {
    const results: DeleteResult[] = [];
    let cont: string | undefined;
    do {
      const page = await this.list(type, {
        ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
        ...(options.labelSelector !== undefined ? { labelSelector: options.labelSelector } : {}),
        ...(options.fieldSelector !== undefined ? { fieldSelector: options.fieldSelector } : {}),
        limit: pageSize,
        ...(cont ? { continue: cont } : {}),
      });
      for (const item of page.items) {
        try {
          results.push(await this.delete(type, item.metadata.namespace ?? '', item.metadata.name!, options));
        } catch (err) {
          if (err instanceof StorageError && err.reason === 'NotFound') continue;
          throw err;
        }
      }
      cont = page.continue;
    } while (cont);
    return results;
  }

  private prepareCreate(type: ResourceType, input: KubeObject): KubeObject & { metadata: ObjectMeta } {
    if (typeof input !== 'object' || input === null || typeof input.metadata !== 'object' || input.metadata === null) {
      throw invalid(type.kind, type.group, '', [{ field: 'metadata', message: 'Required value' }]);
    }
    // apiVersion and kind first, as kube-apiserver writes them.
    const object: KubeObject = {
      apiVersion: `${type.group}/${type.version}`,
      kind: type.kind,
      ...structuredClone(input),
    };
    object.apiVersion = `${type.group}/${type.version}`;
    object.kind = type.kind;
    const meta = object.metadata;
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    if (!type.namespaced) delete meta.namespace;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    meta.generation = 1;
    return object;
  }

  private prepareUpdate(type: ResourceType, input: KubeObject, current: KubeObject): KubeObject {
    const object: KubeObject = {
      apiVersion: `${type.group}/${type.version}`,
      kind: type.kind,
      ...structuredClone(input),
    };
    object.apiVersion = `${type.group}/${type.version}`;
    object.kind = type.kind;
    const meta = object.metadata;
    const name = current.metadata.name!;
    if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        type.group,
        type.resource,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    if (meta.uid && meta.uid !== current.metadata.uid) {
      throw conflict(
        type.group,
        type.resource,
        name,
        `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (!type.namespaced) delete meta.namespace;
    delete meta.selfLink;
    meta.uid = current.metadata.uid!;
    meta.creationTimestamp = current.metadata.creationTimestamp!;
    if (current.metadata.deletionTimestamp) {
      meta.deletionTimestamp = current.metadata.deletionTimestamp;
      meta.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds ?? 0;
      const added = (meta.finalizers ?? []).filter((f) => !(current.metadata.finalizers ?? []).includes(f));
      if (added.length) {
        throw invalid(type.kind, type.group, name, [
          {
            field: 'metadata.finalizers',
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          },
        ]);
      }
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    const generation = current.metadata.generation ?? 1;
    meta.generation = specPart(object) === specPart(current) ? generation : generation + 1;
    meta.resourceVersion = current.metadata.resourceVersion!;
    this.validate(type, object);
    return object;
  }

  private validate(type: ResourceType, object: KubeObject): void {
    const errors = type.validate(object);
    if (errors.length)
      throw invalid(type.kind, type.group, object.metadata.name ?? object.metadata.generateName ?? '', errors);
  }

  /** PostgreSQL's selector columns of an objects row (labels and fields as jsonb, sql.ts); none in SQLite. */
  /**
   * The objects row's columns besides key, rv and data: in PostgreSQL the labels and fields (ADR 0018) and the
   * head (ADR 0021), written by the same statement as the object. SQLite keeps them in side tables.
   */
  private rowColumns(
    type: ResourceType,
    object: KubeObject,
  ): { columns: string; placeholders: string; assignments: string; values: unknown[] } {
    if (this.driver.dialect === 'sqlite') return { columns: '', placeholders: '', assignments: '', values: [] };
    return {
      columns: ', labels, fields, head',
      placeholders: ', ?, ?, ?',
      assignments: ', labels = ?, fields = ?, head = ?',
      values: [
        ...selectorColumns(object.metadata.labels ?? {}, selectableFieldsOf(type, object)),
        encodeHead(object, type.bulkFields),
      ],
    };
  }

  /** Writes a new version of the objects row `id`, with its PostgreSQL columns and its SQLite head. */
  private async rewriteObject(
    tx: Tx,
    type: ResourceType,
    id: number,
    rv: number,
    stored: Buffer,
    object: KubeObject,
  ): Promise<void> {
    const columns = this.rowColumns(type, object);
    await tx.query(`UPDATE objects SET rv = ?, data = ?${columns.assignments} WHERE id = ?`, [
      rv,
      stored,
      ...columns.values,
      id,
    ]);
    await this.writeSqliteHead(tx, type, id, object, true);
  }

  /** SQLite: the object's row in `heads` (PostgreSQL writes it with the object, rowColumns). */
  private async writeSqliteHead(tx: Tx, type: ResourceType, id: number, object: KubeObject, existing: boolean) {
    if (this.driver.dialect === 'sqlite') await writeHead(tx, id, encodeHead(object, type.bulkFields), existing);
  }

  /**
   * Rewrites the SQLite label and field rows and the result rows of an object that changed (only the parts
   * that changed).
   */
  private async writeIndexes(
    tx: Tx,
    fresh: Map<string, number>,
    type: ResourceType,
    typeId: number,
    id: number,
    object: KubeObject,
    previous: KubeObject | undefined,
  ): Promise<void> {
    if (this.driver.dialect === 'sqlite') {
      const namespace = this.namespaceOf(type, object.metadata.namespace);
      await writeSelectorRows(tx, type, { typeId, id, namespace, name: object.metadata.name! }, object, previous);
    }
    if (type.resultRows && (!previous || specPart(object) !== specPart(previous))) {
      if (previous) await tx.query('DELETE FROM results WHERE object_id = ?', [id]);
      const rows = type.resultRows(object);
      if (rows.length) {
        const ids = await internStrings(tx, internedTexts(rows), this.strings, fresh);
        const dialect = this.driver.dialect;
        await insertPacked(tx, dialect, 'results', id, packResults(rows, ids, chunkBytes(dialect)));
      }
    }
  }

  /** A write transaction whose newly interned strings join the cache once it has committed. */
  private async write<T>(fn: (tx: Tx, fresh: Map<string, number>) => Promise<T>): Promise<T> {
    const fresh = new Map<string, number>();
    const result = await this.driver.write((tx) => fn(tx, fresh));
    if (this.strings.size > 100_000) this.strings.clear();
    for (const [k, v] of fresh) this.strings.set(k, v);
    return result;
  }

  private async logChange(
    tx: Tx,
    rv: number,
    typeId: number,
    namespace: string,
    name: string,
    event: ChangeRow['event'],
    /** The object after the write; null when it is the objects row written with this rv (see changeColumns). */
    object: Stored | null,
    prev: Stored | null,
  ): Promise<void> {
    await tx.query(
      'INSERT INTO changes (rv, type_id, namespace, name, event, data, prev_data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [rv, typeId, namespace, name, event, object, prev, Date.now()],
    );
  }

  // --- Watch ---------------------------------------------------------------------------------------------------

  async watch(type: ResourceType, options: WatchOptions = {}): Promise<Watch> {
    const typeId = this.typeId(type);
    const selectors = resolveSelectors(type, options.labelSelector, options.fieldSelector);
    const namespace = type.namespaced ? options.namespace || undefined : undefined;
    const requested = options.resourceVersion ? parseResourceVersion(options.resourceVersion, 'resourceVersion') : 0;
    const stream = new WatchStream(type, typeId, namespace, selectors, !!options.allowBookmarks, this.feed);
    if (options.initialEvents) {
      // Registered before the list is read, so every change after the list's snapshot reaches the stream.
      this.feed.add(stream);
      try {
        const first = await this.list(type, {
          ...(namespace ? { namespace } : {}),
          labelSelector: selectors.labels,
          fieldSelector: selectors.fields,
          limit: pageSize,
          ...(requested ? { resourceVersion: String(requested) } : {}),
        });
        stream.startInitial(first, (cont) =>
          this.list(type, {
            ...(namespace ? { namespace } : {}),
            labelSelector: selectors.labels,
            fieldSelector: selectors.fields,
            limit: pageSize,
            continue: cont,
          }),
        );
      } catch (err) {
        stream.close();
        throw err;
      }
      return stream;
    }
    // From `requested` (or now): the changes after it that the feed has already passed come from the log.
    const from = requested || (await this.driver.read((tx) => currentRv(tx)));
    this.feed.add(stream);
    const passed = this.feed.position;
    stream.begin(from);
    try {
      const rows = await this.driver.read(async (tx) => {
        const compacted = await compactedRv(tx);
        if (from < compacted) throw tooOldResourceVersion(from, compacted);
        if (from >= passed) return [];
        return tx.query(
          `SELECT ${changeColumns} FROM changes c WHERE c.type_id = ? AND c.rv > ? AND c.rv <= ? ORDER BY c.rv`,
          [typeId, from, passed],
        );
      });
      stream.catchUp(rows.map(toChange), passed);
    } catch (err) {
      stream.close();
      throw err;
    }
    return stream;
  }

  // --- Analytics -----------------------------------------------------------------------------------------------

  private resultFilter(query: Omit<ResultQuery, 'limit'>): { where: string; params: unknown[] } {
    const where: string[] = [];
    const params: unknown[] = [];
    const inList = (column: string, values: string[] | undefined): void => {
      if (!values) return;
      if (values.length === 0) {
        where.push('1 = 0');
        return;
      }
      where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    };
    const cluster = query.clusterScoped ?? true;
    if (query.namespaces) {
      const ns = query.namespaces.length ? `namespace IN (${query.namespaces.map(() => '?').join(', ')})` : '1 = 0';
      params.push(...query.namespaces);
      where.push(cluster ? `(${ns} OR namespace = '')` : ns);
    } else if (!cluster) where.push("namespace <> ''");
    inList('result', query.result);
    inList('severity', query.severity);
    inList('policy', query.policy);
    return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
  }

  async queryResults(query: ResultQuery): Promise<ResultQueryRow[]> {
    const { where, params } = this.resultFilter(query);
    const rows = await this.driver.read((tx) =>
      tx.query(`SELECT * FROM report_results ${where} ORDER BY namespace, report, result_index, resource LIMIT ?`, [
        ...params,
        query.limit ?? 1000,
      ]),
    );
    return rows.map((r) => ({
      apiGroup: r.api_group as string,
      reportKind: r.report_kind as string,
      namespace: r.namespace as string,
      report: r.report as string,
      index: Number(r.result_index),
      resourceIndex: 0,
      policy: r.policy as string,
      rule: (r.rule as string | null) ?? null,
      category: (r.category as string | null) ?? null,
      severity: (r.severity as string | null) ?? null,
      result: (r.result as string | null) ?? null,
      source: (r.source as string | null) ?? null,
      scored: r.scored === null || r.scored === undefined ? null : Boolean(r.scored),
      message: (r.message as string | null) ?? null,
      timestamp: (r.found_at as string | null) ?? null,
      resourceApiVersion: (r.resource_api_version as string | null) ?? null,
      resourceKind: (r.resource_kind as string | null) ?? null,
      resourceNamespace: (r.resource_namespace as string | null) ?? null,
      resourceName: (r.resource_name as string | null) ?? null,
      resourceUid: (r.resource_uid as string | null) ?? null,
      resource: (r.resource as string | null) ?? null,
    }));
  }

  async summarizeResults(query: Omit<ResultQuery, 'limit'>): Promise<ResultSummaryRow[]> {
    const { where, params } = this.resultFilter(query);
    const rows = await this.driver.read((tx) =>
      tx.query(
        `SELECT namespace, policy, severity, result, COUNT(*) AS n FROM report_results ${where}
         GROUP BY namespace, policy, severity, result ORDER BY namespace, policy, severity, result`,
        params,
      ),
    );
    return rows.map((r) => ({
      namespace: r.namespace as string,
      policy: r.policy as string,
      severity: (r.severity as string | null) ?? null,
      result: (r.result as string | null) ?? null,
      count: Number(r.n),
    }));
  }

  // --- Maintenance ---------------------------------------------------------------------------------------------

  async compact(): Promise<string> {
    const { changeLogRetentionMs, changeLogMaxEvents } = this.options;
    const compacted = await this.driver.maintain(async (tx) => {
      const current = await currentRv(tx);
      const done = await compactedRv(tx);
      const old = await tx.query('SELECT MAX(rv) AS rv FROM changes WHERE created_at < ?', [
        Date.now() - changeLogRetentionMs,
      ]);
      const target = Math.max(done, Number(old[0]?.rv ?? 0), current - changeLogMaxEvents);
      if (target > done) {
        await tx.query('UPDATE compaction SET compacted_rv = ? WHERE id = 1 AND compacted_rv < ?', [target, target]);
        await tx.query('DELETE FROM changes WHERE rv <= ?', [target]);
      }
      return target;
    });
    return String(compacted);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.compactTimer) clearInterval(this.compactTimer);
    this.feed.stop();
    await this.driver.close();
  }
}

interface ListedRow {
  namespace: string;
  name: string;
  stored: Stored;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function currentRv(tx: Tx): Promise<number> {
  const rows = await tx.query('SELECT rv FROM state WHERE id = 1');
  return Number(rows[0]?.rv ?? 0);
}

async function compactedRv(tx: Tx): Promise<number> {
  const rows = await tx.query('SELECT compacted_rv FROM compaction WHERE id = 1');
  return Number(rows[0]?.compacted_rv ?? 0);
}

/** The next resourceVersion; the counter row also orders writes (see the drivers' write locks). */
async function nextRv(tx: Tx): Promise<number> {
  const rows = await tx.query('UPDATE state SET rv = rv + 1 WHERE id = 1 RETURNING rv');
  return Number(rows[0]!.rv);
}

async function findObject(tx: Tx, typeId: number, namespace: string, name: string): Promise<StoredRow | undefined> {
  const rows = await tx.query('SELECT id, rv, data FROM objects WHERE type_id = ? AND namespace = ? AND name = ?', [
    typeId,
    namespace,
    name,
  ]);
  const row = rows[0];
  return row ? { id: Number(row.id), rv: Number(row.rv), data: row.data as Stored } : undefined;
}

interface StoredRow {
  id: number;
  rv: number;
  data: Stored;
}

/**
 * The change log does not copy what the objects table holds: a change row whose object is still the current
 * one (same rv) has `data` NULL and reads it from there. Before the objects row changes, its bytes move into
 * that change row (if it is still in the log).
 */
async function keepLoggedObject(tx: Tx, row: StoredRow): Promise<void> {
  await tx.query('UPDATE changes SET data = ? WHERE rv = ? AND data IS NULL', [row.data, row.rv]);
}

/** The change-log columns the feed and watches read, the object taken from the objects row when not copied. */
const changeColumns =
  'c.rv, c.type_id, c.event, c.prev_data, COALESCE(c.data, (SELECT o.data FROM objects o WHERE o.type_id = c.type_id ' +
  'AND o.namespace = c.namespace AND o.name = c.name AND o.rv = c.rv)) AS data';

/** The non-empty selectable fields of `object`, as field selectors compare them. */
function selectableFieldsOf(type: ResourceType, object: KubeObject): [string, string][] {
  return Object.keys(type.selectableFields)
    .map((f): [string, string] => [f, fieldValue(type, object, f)])
    .filter(([, v]) => v !== '');
}

/** SQLite's `labels` and `fields` rows of an object, rewritten when they changed. */
async function writeSelectorRows(
  tx: Tx,
  type: ResourceType,
  { typeId, id, namespace, name }: { typeId: number; id: number; namespace: string; name: string },
  object: KubeObject,
  previous: KubeObject | undefined,
): Promise<void> {
  const labels = object.metadata.labels ?? {};
  if (!previous || canonical(labels) !== canonical(previous.metadata.labels ?? {})) {
    if (previous) await tx.query('DELETE FROM labels WHERE object_id = ?', [id]);
    await insertRows(
      tx,
      'labels',
      ['object_id', 'type_id', 'namespace', 'name', 'key', 'value'],
      Object.entries(labels).map(([k, v]) => [id, typeId, namespace, name, k, v]),
    );
  }
  const fields = selectableFieldsOf(type, object);
  if (!previous || canonical(fields) !== canonical(selectableFieldsOf(type, previous))) {
    if (previous) await tx.query('DELETE FROM fields WHERE object_id = ?', [id]);
    await insertRows(
      tx,
      'fields',
      ['object_id', 'type_id', 'namespace', 'name', 'field', 'value'],
      fields.map(([f, v]) => [id, typeId, namespace, name, f, v]),
    );
  }
}

/** Multi-row INSERTs of at most 100 rows each. */
async function insertRows(tx: Tx, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += 100) {
    const chunk = rows.slice(i, i + 100);
    const values = chunk.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ');
    await tx.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`, chunk.flat());
  }
}

// --- The change feed and watch streams ---------------------------------------------------------------------------

/**
 * One per store: reads the change log in resourceVersion order (after local writes, on NOTIFY from other
 * replicas, and every pollIntervalMs) and hands each change to the watch streams of its type. Because writes
 * commit in resourceVersion order and every resourceVersion has exactly one change row, the log read after
 * `position` never skips a change; a missing number is waited for (gapWaitMs) rather than passed.
 */
class Feed {
  position = 0;
  private readonly driver: Driver;
  private readonly options: typeof defaults;
  private readonly streams = new Set<WatchStream>();
  private running = false;
  private again = false;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private gapSince: number | undefined;

  constructor(driver: Driver, options: typeof defaults) {
    this.driver = driver;
    this.options = options;
  }

  async start(): Promise<void> {
    this.position = await this.driver.read((tx) => currentRv(tx));
    this.pollTimer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.pollTimer.unref();
    this.bookmarkTimer = setInterval(() => {
      for (const s of this.streams) s.bookmark(this.position);
    }, this.options.bookmarkIntervalMs);
    this.bookmarkTimer.unref();
  }

  add(stream: WatchStream): void {
    this.streams.add(stream);
  }

  remove(stream: WatchStream): void {
    this.streams.delete(stream);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearInterval(this.bookmarkTimer);
    for (const s of this.streams) s.close();
    this.streams.clear();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.poll();
        } while (this.again && !this.stopped);
      } finally {
        this.running = false;
      }
    })();
  }

  private async poll(): Promise<void> {
    if (this.streams.size === 0) {
      // Nobody listens: only keep the position current (cheap), so new watches start from the right place.
      try {
        const current = await this.driver.read((tx) => currentRv(tx));
        // A watch that registered meanwhile needs the changes after the old position: read them next round.
        if (this.streams.size === 0) this.position = Math.max(this.position, current);
        else this.again = true;
      } catch {
        // the next poll retries
      }
      return;
    }
    let batch: { compacted: number; current: number; rows: ChangeRow[] };
    try {
      const from = this.position;
      batch = await this.driver.read(async (tx) => ({
        compacted: await compactedRv(tx),
        current: await currentRv(tx),
        rows: (
          await tx.query(`SELECT ${changeColumns} FROM changes c WHERE c.rv > ? ORDER BY c.rv LIMIT ?`, [
            from,
            feedBatch,
          ])
        ).map(toChange),
      }));
    } catch (err) {
      log.debug({ err: errorMessage(err) }, 'change feed poll failed');
      return;
    }
    if (this.position < batch.compacted) {
      log.warn(
        { position: this.position, compacted: batch.compacted },
        'change feed fell behind compaction; ending its watches',
      );
      for (const s of this.streams) s.fail(tooOldResourceVersion(this.position, batch.compacted));
      this.position = batch.current;
      return;
    }
    for (const row of batch.rows) {
      if (row.rv !== this.position + 1) {
        this.gapSince ??= Date.now();
        if (Date.now() - this.gapSince < gapWaitMs) {
          setTimeout(() => this.wake(), 20).unref();
          return;
        }
        log.error(
          { position: this.position, next: row.rv },
          'change feed: resourceVersions missing from the change log; moving on',
        );
      }
      this.gapSince = undefined;
      this.position = row.rv;
      let parsed: { object: KubeObject; prev: KubeObject | undefined } | undefined;
      for (const s of this.streams) {
        if (s.typeId !== row.typeId) continue;
        parsed ??= {
          object: parseStored<KubeObject>(row.object),
          prev: row.prev ? parseStored<KubeObject>(row.prev) : undefined,
        };
        s.deliver(row.rv, row.event, parsed.object, parsed.prev);
      }
    }
    if (batch.rows.length === 0 || batch.rows.length < feedBatch)
      this.position = Math.max(this.position, batch.current);
    for (const s of this.streams) s.passed(this.position);
    if (batch.rows.length === feedBatch) this.again = true;
  }
}

type QueueItem = WatchEvent;

class WatchStream implements Watch {
  readonly typeId: number;
  private readonly type: ResourceType;
  private readonly namespace: string | undefined;
  private readonly selectors: Selectors;
  private readonly bookmarks: boolean;
  private readonly feed: Feed;
  /** Last resourceVersion delivered or skipped; changes at or below it are ignored. */
  private pos = 0;
  /** Until begin()/startInitial() the position is unknown: changes wait here. */
  private pending:
    { rv: number; event: ChangeRow['event']; object: KubeObject; prev: KubeObject | undefined }[] | undefined = [];
  private catchingUp = true;
  private queue: QueueItem[] = [];
  private head = 0;
  private notify: (() => void) | undefined;
  private done = false;
  private initial: { page: ListResult; more: (cont: string) => Promise<ListResult> } | undefined;

  constructor(
    type: ResourceType,
    typeId: number,
    namespace: string | undefined,
    selectors: Selectors,
    bookmarks: boolean,
    feed: Feed,
  ) {
    this.type = type;
    this.typeId = typeId;
    this.namespace = namespace;
    this.selectors = selectors;
    this.bookmarks = bookmarks;
    this.feed = feed;
  }

  get resourceVersion(): string {
    return String(this.pos);
  }

  /** Watch from `rv`: changes above it; catchUp() then supplies those the feed had already passed. */
  begin(rv: number): void {
    this.pos = rv;
  }

  catchUp(rows: ChangeRow[], passed: number): void {
    for (const r of rows) {
      this.deliverNow(
        r.rv,
        r.event,
        parseStored<KubeObject>(r.object),
        r.prev ? parseStored<KubeObject>(r.prev) : undefined,
      );
    }
    this.pos = Math.max(this.pos, passed);
    this.flushPending();
  }

  /** Initial events: the pages of a list (read lazily as the consumer iterates), then the end bookmark. */
  startInitial(first: ListResult, more: (cont: string) => Promise<ListResult>): void {
    this.pos = Number(first.resourceVersion);
    this.initial = { page: first, more };
    this.flushPending();
  }

  private flushPending(): void {
    const pending = this.pending ?? [];
    this.pending = undefined;
    this.catchingUp = false;
    for (const p of pending) this.deliverNow(p.rv, p.event, p.object, p.prev);
  }

  deliver(rv: number, event: ChangeRow['event'], object: KubeObject, prev: KubeObject | undefined): void {
    if (this.done) return;
    if (this.pending) {
      this.pending.push({ rv, event, object, prev });
      return;
    }
    this.deliverNow(rv, event, object, prev);
  }

  /** The feed has read everything up to `rv`: nothing of this type is missing below it. */
  passed(rv: number): void {
    if (!this.catchingUp && !this.pending && rv > this.pos) this.pos = rv;
  }

  private deliverNow(rv: number, event: ChangeRow['event'], object: KubeObject, prev: KubeObject | undefined): void {
    if (rv <= this.pos || this.done) return;
    this.pos = rv;
    const inScope = (o: KubeObject | undefined): boolean =>
      !!o &&
      (this.namespace === undefined || o.metadata.namespace === this.namespace) &&
      matches(this.type, this.selectors, o);
    const now = inScope(object);
    const before = event === 'ADDED' ? false : inScope(prev);
    let type: 'ADDED' | 'MODIFIED' | 'DELETED' | undefined;
    if (event === 'ADDED') type = now ? 'ADDED' : undefined;
    else if (event === 'DELETED') type = now || before ? 'DELETED' : undefined;
    else type = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
    if (type) this.push({ type, object });
  }

  bookmark(position: number): void {
    if (!this.bookmarks || this.done || this.pending || this.initial) return;
    this.pos = Math.max(this.pos, position);
    this.push({ type: 'BOOKMARK', object: this.bookmarkObject(this.pos) });
  }

  private bookmarkObject(rv: number, annotations?: Record<string, string>): KubeObject {
    return {
      apiVersion: `${this.type.group}/${this.type.version}`,
      kind: this.type.kind,
      metadata: { resourceVersion: String(rv), ...(annotations ? { annotations } : {}) },
    };
  }

  fail(error: StorageError): void {
    if (this.done) return;
    this.push({ type: 'ERROR', error: error.toJSON() });
    this.end();
  }

  private push(item: QueueItem): void {
    if (this.done) return;
    if (this.queue.length - this.head >= maxQueuedEvents) {
      log.warn({ resource: this.type.resource }, 'watch consumer too slow; closing the watch');
      this.end();
      return;
    }
    this.queue.push(item);
    this.notify?.();
  }

  private end(): void {
    this.done = true;
    this.feed.remove(this);
    this.notify?.();
  }

  close(): void {
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    try {
      if (this.initial) {
        let page: ListResult | undefined = this.initial.page;
        while (page && !this.done) {
          for (const object of page.items) yield { type: 'ADDED', object };
          if (!page.continue) break;
          try {
            page = await this.initial.more(page.continue);
          } catch (err) {
            yield {
              type: 'ERROR',
              error:
                err instanceof StorageError
                  ? err.toJSON()
                  : { reason: 'InternalError', code: 500, message: errorMessage(err) },
            };
            this.end();
            return;
          }
        }
        const rv = Number(this.initial.page.resourceVersion);
        this.initial = undefined;
        if (this.done) return;
        if (this.bookmarks)
          yield { type: 'BOOKMARK', object: this.bookmarkObject(rv, { 'k8s.io/initial-events-end': 'true' }) };
      }
      for (;;) {
        while (this.head < this.queue.length) {
          const item = this.queue[this.head]!;
          this.queue[this.head++] = undefined as unknown as QueueItem;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue = this.queue.slice(this.head);
            this.head = 0;
          }
          yield item;
        }
        if (this.done) return;
        await new Promise<void>((resolve) => (this.notify = resolve));
        this.notify = undefined;
      }
    } finally {
      this.end();
    }
  }
}
