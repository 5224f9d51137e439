// The storage interface of the reports API server: what the HTTP layer calls, with kube-apiserver's semantics,
// implemented once (engine.ts) over two SQL backends (sqlite.ts: node:sqlite, postgres.ts: pg). ADR 0011
// (docs/adr/0011-reports-storage.md) explains the decisions; docs/reports-sql.md documents the SQL views.
//
// Semantics in short:
// - Objects live per resource type (group + resource, namespaced or cluster-scoped), keyed by namespace/name
//   (namespace '' for cluster-scoped types). The store assigns uid, creationTimestamp, generation (1 on
//   create, +1 when anything outside `metadata` changes) and resourceVersion.
// - resourceVersion: ONE counter across all types and all replicas; every write gets the next integer
//   (no gaps) and commits in that order. Its decimal string is the object's metadata.resourceVersion and
//   the list's / bookmark's resourceVersion.
// - Every write appends one row to a change log (the object after the write and the one before), which
//   feeds watches on every replica and lets paginated lists read a consistent snapshot. The log is compacted
//   (rows older than `changeLogRetentionMs`, or beyond `changeLogMaxEvents`); a watch or list that needs
//   a compacted part fails with reason Expired (HTTP 410).
// - Writes are durable before they resolve (SQLite synchronous=FULL in WAL mode; PostgreSQL commit with
//   synchronous_commit=on). A database that cannot be reached fails with reason ServiceUnavailable (503);
//   the outcome of a write that failed that way is unknown, but no write that resolved is ever lost.
import type { KubeObject } from '../../api/meta.ts';
import type { FieldError } from '../../api/validation.ts';

export type { KubeObject };

/** One kind of object the store keeps: identity plus the per-type strategy (validation, selectable fields). */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural resource name, e.g. `policyreports`. */
  resource: string;
  kind: string;
  namespaced: boolean;
  /** Every problem of an object about to be stored (schema and metadata), with Kubernetes field paths. */
  validate(object: KubeObject): FieldError[];
  /**
   * Fields usable in field selectors besides `metadata.name` and `metadata.namespace` (which every type has),
   * with how to read each from an object (undefined when absent). Indexed in SQL.
   */
  selectableFields: Readonly<Record<string, (object: Record<string, unknown>) => string | undefined>>;
  /** Rows for the `report_results` SQL view (report types only). */
  resultRows?(object: KubeObject): ResultRow[];
  /**
   * Top-level fields that Tables and object metadata never read (a report's `results`): left out of the
   * object's stored head, which `view: 'head'` lists read instead of the whole object (ADR 0021).
   */
  bulkFields?: readonly string[];
}

/** One row of the results table: one result of a report and one resource it names. */
export interface ResultRow {
  /** Index of the result in `results`. */
  index: number;
  /** Index of the resource in the result's `resources` (0 when it names none). */
  resourceIndex: number;
  policy: string;
  rule: string | null;
  category: string | null;
  severity: string | null;
  result: string | null;
  source: string | null;
  scored: boolean | null;
  message: string | null;
  /** RFC 3339 time of the result's timestamp, or null. */
  timestamp: string | null;
  resourceApiVersion: string | null;
  resourceKind: string | null;
  resourceNamespace: string | null;
  resourceName: string | null;
  resourceUid: string | null;
  /** `Kind/namespace/name` or `Kind/name` of the resource (or the report's scope), or null. */
  resource: string | null;
}

// --- Selectors -----------------------------------------------------------------------------------------------

export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!exists' | '>' | '<';

/** One requirement of a label selector (`a=b`, `a in (x,y)`, `!a`, ...); `=` also stands for `==`. */
export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** One value for `=`, `!=`, `>`, `<`; one or more for `in` and `notin`; none for `exists`, `!exists`. */
  values: string[];
}

/** One requirement of a field selector (`metadata.name=x`, `scope.kind!=Pod`). */
export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

// --- Options and results -------------------------------------------------------------------------------------

export interface WriteOptions {
  /** Validate and compute the result without storing it (`?dryRun=All`). */
  dryRun?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  /** Fail with Conflict unless the object has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  /**
   * Garbage-collector finalizers as kube-apiserver adds them: Orphan adds `orphan`, Foreground adds
   * `foregroundDeletion` (the object then waits for the garbage collector); Background (default) adds none.
   */
  propagationPolicy?: 'Orphan' | 'Foreground' | 'Background';
}

export interface SelectorOptions {
  /** Only this namespace (namespaced types); all namespaces when absent. */
  namespace?: string;
  /** Kubernetes label selector syntax (`app=x,tier in (a,b),!legacy`), or parsed requirements. */
  labelSelector?: string | LabelRequirement[];
  /** Kubernetes field selector syntax (`metadata.name=x,scope.kind!=Pod`), or parsed requirements. */
  fieldSelector?: string | FieldRequirement[];
}

export interface ListOptions extends SelectorOptions {
  /** At most this many items; a `continue` token in the result when there are more. */
  limit?: number;
  /** Token from a previous page: the next page of the same snapshot. */
  continue?: string;
  /**
   * `"0"` or absent: the latest state. `"N"` with match NotOlderThan (or no match): the latest state, which
   * must be at least N (else ResourceVersionTooLarge). With match Exact: the state as of N exactly.
   */
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  /**
   * `object` (default): whole objects. `head`: at least the metadata and every field but the type's
   * `bulkFields`, for Tables and metadata lists (an item may still carry bulk fields).
   */
  view?: 'object' | 'head';
}

export interface ListResult {
  items: KubeObject[];
  /** The resourceVersion of the snapshot the items come from. */
  resourceVersion: string;
  /** Present when there are more items: pass it as `continue` for the next page. */
  continue?: string;
}

/**
 * A list page with each object as the store keeps it (codec.ts: compressed JSON text with its length and
 * CRC-32): what the HTTP layer streams without parsing, as JSON or as gzip.
 */
export interface StoredListResult {
  items: Uint8Array[];
  resourceVersion: string;
  continue?: string;
}

export interface DeleteResult {
  /** The deleted object (with the deletion's resourceVersion), or the object now waiting for finalizers. */
  object: KubeObject;
  /** True when the object is gone; false when it has finalizers and only got a deletionTimestamp. */
  deleted: boolean;
}

export interface WatchOptions extends SelectorOptions {
  /**
   * Stream the changes after this resourceVersion ("N"). Absent (or "0"): start now. A resourceVersion
   * older than the compacted change log fails with reason Expired (410).
   */
  resourceVersion?: string;
  /**
   * First an ADDED event for every object that matches (the state at the start; at least `resourceVersion`
   * when given), then a BOOKMARK whose object carries the annotation `k8s.io/initial-events-end: "true"`,
   * then the changes after that state. kube-apiserver's watch without resourceVersion (or with "0") and
   * `sendInitialEvents=true` both map to this.
   */
  initialEvents?: boolean;
  /** Send BOOKMARK events (resourceVersion only) every `bookmarkIntervalMs` of the store. */
  allowBookmarks?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export type WatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject }
  /** `object` holds apiVersion, kind and metadata.resourceVersion (plus the initial-events-end annotation). */
  | { type: 'BOOKMARK'; object: KubeObject }
  /** The watch cannot go on (e.g. it fell behind the compacted change log: reason Expired). It ends after this. */
  | { type: 'ERROR'; error: StorageErrorLike };

/** A running watch: iterate its events; `close()` ends it (iteration then finishes). */
export interface Watch extends AsyncIterable<WatchEvent> {
  close(): void;
  /** The resourceVersion up to which this watch has delivered (or skipped) every change. */
  readonly resourceVersion: string;
}

// --- Analytics -----------------------------------------------------------------------------------------------

export interface ResultQuery {
  /** Only reports in these namespaces (namespaced types), e.g. what the user may read. Absent: all. */
  namespaces?: string[];
  /** Include cluster-scoped reports (default true). */
  clusterScoped?: boolean;
  result?: string[];
  severity?: string[];
  policy?: string[];
  /** At most this many rows (default 1000), ordered by namespace, report, result index. */
  limit?: number;
}

export interface ResultQueryRow extends ResultRow {
  apiGroup: string;
  reportKind: string;
  namespace: string;
  report: string;
}

export interface ResultSummaryRow {
  namespace: string;
  policy: string;
  severity: string | null;
  result: string | null;
  count: number;
}

// --- Errors --------------------------------------------------------------------------------------------------

/** Reasons as in metav1.StatusReason, so the HTTP layer passes them through. */
export type StorageErrorReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Expired'
  | 'Timeout'
  | 'ServiceUnavailable'
  | 'InternalError';

export interface StorageErrorLike {
  reason: StorageErrorReason;
  /** The HTTP status code kube-apiserver uses for the reason (404, 409, 422, 400, 410, 504, 503, 500). */
  code: number;
  message: string;
  /** For Invalid: every bad field. */
  causes?: FieldError[];
  /** For Timeout on a too large resourceVersion: `ResourceVersionTooLarge` (a Status cause type). */
  causeType?: string;
}

// --- The store -----------------------------------------------------------------------------------------------

export interface ReportStorage {
  readonly backend: 'sqlite' | 'postgres';
  /** The types this store was opened with. */
  readonly types: readonly ResourceType[];

  /**
   * Stores a new object (name from metadata.name, or generated from metadata.generateName). Fails with
   * AlreadyExists, Invalid (schema, metadata; or metadata.resourceVersion set). Returns the stored object
   * (with dryRun: the object it would store, without resourceVersion).
   */
  create(type: ResourceType, object: KubeObject, options?: WriteOptions): Promise<KubeObject>;

  /** The object, or NotFound. */
  get(type: ResourceType, namespace: string, name: string): Promise<KubeObject>;

  /**
   * Replaces the object named by `object.metadata` (PUT). With metadata.resourceVersion set, fails with
   * Conflict when it is not the stored one; without, updates unconditionally. A metadata.uid that differs
   * fails with Conflict. uid, creationTimestamp and deletionTimestamp are kept; generation is bumped when
   * anything outside metadata changed. An update that changes nothing returns the stored object as it is.
   * When the object is being deleted (deletionTimestamp) and the update removes the last finalizer, the
   * object is deleted (a DELETED event). No finalizers can be added once deletion has started. NotFound when
   * there is no such object.
   */
  update(type: ResourceType, object: KubeObject, options?: WriteOptions): Promise<KubeObject>;

  /**
   * Deletes the object; with finalizers (or a propagation policy that adds one) it only gets a
   * deletionTimestamp, and is deleted when its last finalizer is removed. Conflict when a precondition fails.
   */
  delete(type: ResourceType, namespace: string, name: string, options?: DeleteOptions): Promise<DeleteResult>;

  /** Deletes every object the selectors match, one write each; returns what delete returned for each. */
  deleteCollection(type: ResourceType, options?: SelectorOptions & DeleteOptions): Promise<DeleteResult[]>;

  /** Objects in (namespace, name) order, filtered in SQL, paginated over one consistent snapshot. */
  list(type: ResourceType, options?: ListOptions): Promise<ListResult>;

  /** As list, with the items as stored (codec.ts), for serving them without parsing. */
  listStored(type: ResourceType, options?: ListOptions): Promise<StoredListResult>;

  /**
   * Changes of one type in resourceVersion order, filtered by namespace and selectors. An object that stops
   * matching the selectors through an update arrives as DELETED, one that starts matching as ADDED. Rejects
   * with Expired when `resourceVersion` is older than the compacted change log.
   */
  watch(type: ResourceType, options?: WatchOptions): Promise<Watch>;

  /** The newest resourceVersion (of the last committed write, "0" before the first). */
  currentResourceVersion(): Promise<string>;

  /** Results of reports across the cluster (the `report_results` view), filtered in SQL. */
  queryResults(query: ResultQuery): Promise<ResultQueryRow[]>;
  /** Counts of results by namespace, policy, severity and result. */
  summarizeResults(query: Omit<ResultQuery, 'limit'>): Promise<ResultSummaryRow[]>;

  /** Compacts the change log now (it also runs every `compactIntervalMs`); returns the compacted resourceVersion. */
  compact(): Promise<string>;

  /** Stops watches, timers and connections. */
  close(): Promise<void>;
}

/** Options common to both backends. */
export interface StorageOptions {
  /** The types to serve (default: the four report types). */
  types?: readonly ResourceType[];
  /** Name of the cluster whose reports these are (the `cluster` column of the SQL views; default `default`). */
  clusterName?: string;
  /** Change-log rows younger than this are kept (default 5 minutes, like kube-apiserver's etcd compaction). */
  changeLogRetentionMs?: number;
  /** At most this many change-log rows are kept (default 100,000). */
  changeLogMaxEvents?: number;
  /** How often the change log is compacted (default 60 s; 0 disables the timer). */
  compactIntervalMs?: number;
  /** How often the change log is polled for writes of other replicas (default 1 s for PostgreSQL). */
  pollIntervalMs?: number;
  /** How often watches that allow bookmarks get one (default 60 s). */
  bookmarkIntervalMs?: number;
}

export interface SqliteStorageOptions extends StorageOptions {
  backend: 'sqlite';
  /** The database file (created when missing), or `:memory:` for a throw-away store. */
  path: string;
}

export interface PostgresStorageOptions extends StorageOptions {
  backend: 'postgres';
  host: string;
  port?: number;
  database: string;
  user: string;
  password?: string;
  /** TLS: false (default) or the node:tls options (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`). */
  ssl?: false | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; servername?: string };
  /** Connections in the pool (default 10), plus one for LISTEN. */
  poolSize?: number;
  /** Give up connecting after this long (default 5 s): then the call fails with ServiceUnavailable. */
  connectTimeoutMs?: number;
  /** PostgreSQL schema for the tables (default `public`); one schema per cluster lets clusters share a database. */
  schema?: string;
}
