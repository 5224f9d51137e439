// The SQL of the reports store, for both dialects: the versioned schema migrations and the list query, which
// executes label and field selectors on indexes. Placeholders are `?` in both; the PostgreSQL driver numbers
// them (`??` is PostgreSQL's jsonb `?` operator). Everything here is pure (unit-tested without a database).
import type { Tx } from './driver.ts';
import { fillHeads } from './heads.ts';
import { transformToV2 } from './results.ts';
import type { FieldRequirement, LabelRequirement } from './types.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  version: number;
  name: string;
  statements: (dialect: Dialect) => string[];
  /** Rewrites existing rows (in JavaScript: compression, packing) after `statements`, before `after`. */
  transform?: (tx: Tx, dialect: Dialect) => Promise<void>;
  /** Statements that run after `transform` (dropping what it replaced). */
  after?: (dialect: Dialect) => string[];
}

/**
 * Tables (after migration 6):
 *   schema_migrations(version, name, applied_at)      which migrations ran
 *   meta(key, value)                                  `cluster`: the cluster name for the views
 *   state(id = 1, rv)                                 the one resourceVersion counter
 *   compaction(id = 1, compacted_rv)                  change-log rows up to here are gone
 *   resource_types(id, api_group, resource, kind)     one row per served type
 *   objects(id, type_id, namespace, name, uid, rv, data)          the current objects (codec.ts: compressed JSON);
 *     PostgreSQL adds labels, fields: jsonb of the labels and the non-empty selectable fields, GIN-indexed,
 *     and head (heads.ts)
 *   labels(object_id, type_id, namespace, name, key, value)       SQLite: one row per label, for selectors
 *   fields(object_id, type_id, namespace, name, field, value)     SQLite: one row per non-empty selectable field
 *   strings(id, value)                                            policy, rule, ... texts of results, interned
 *   results(object_id, chunk, data)                               a report's results, packed (results.ts;
 *                                                                 jsonb in PostgreSQL, JSONB blobs in SQLite)
 *   heads(object_id, data)                            SQLite: an object without its bulk fields (heads.ts), when it
 *                                                     has any; PostgreSQL keeps it in objects.head
 *   changes(rv, type_id, namespace, name, event, created_at, data, prev_data)   the change log (compressed;
 *                                                      data NULL: the objects row with this rv, engine.ts)
 * Views: report_results (docs/reports-sql.md).
 */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'objects, labels, fields, results, change log, report_results view',
    statements: (d) => {
      const text = d === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
      const big = d === 'postgres' ? 'BIGINT' : 'INTEGER';
      const id = d === 'postgres' ? 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'INTEGER PRIMARY KEY';
      const bool = d === 'postgres' ? 'BOOLEAN' : 'INTEGER';
      return [
        `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
        `CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1), rv ${big} NOT NULL)`,
        `INSERT INTO state (id, rv) VALUES (1, 0)`,
        `CREATE TABLE compaction (id INTEGER PRIMARY KEY CHECK (id = 1), compacted_rv ${big} NOT NULL)`,
        `INSERT INTO compaction (id, compacted_rv) VALUES (1, 0)`,
        `CREATE TABLE resource_types (id ${d === 'postgres' ? 'INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'INTEGER PRIMARY KEY'},
           api_group ${text} NOT NULL, resource ${text} NOT NULL, kind ${text} NOT NULL, UNIQUE (api_group, resource))`,
        `CREATE TABLE objects (id ${id}, type_id INTEGER NOT NULL REFERENCES resource_types (id),
           namespace ${text} NOT NULL, name ${text} NOT NULL, uid ${text} NOT NULL, rv ${big} NOT NULL,
           object TEXT NOT NULL, UNIQUE (type_id, namespace, name))`,
        `CREATE INDEX objects_by_name ON objects (type_id, name)`,
        `CREATE TABLE labels (object_id ${big} NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
           type_id INTEGER NOT NULL, namespace ${text} NOT NULL, name ${text} NOT NULL,
           key ${text} NOT NULL, value ${text} NOT NULL, PRIMARY KEY (object_id, key))`,
        `CREATE INDEX labels_by_value ON labels (type_id, key, value, namespace, name)`,
        `CREATE TABLE fields (object_id ${big} NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
           type_id INTEGER NOT NULL, namespace ${text} NOT NULL, name ${text} NOT NULL,
           field ${text} NOT NULL, value ${text} NOT NULL, PRIMARY KEY (object_id, field))`,
        `CREATE INDEX fields_by_value ON fields (type_id, field, value, namespace, name)`,
        `CREATE TABLE results (object_id ${big} NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
           idx INTEGER NOT NULL, resource_idx INTEGER NOT NULL, policy ${text} NOT NULL, rule ${text},
           category ${text}, severity ${text}, result ${text}, source ${text}, scored ${bool}, message TEXT,
           found_at TEXT, resource_api_version ${text}, resource_kind ${text}, resource_namespace ${text},
           resource_name ${text}, resource_uid ${text}, resource ${text},
           PRIMARY KEY (object_id, idx, resource_idx))`,
        `CREATE INDEX results_by_outcome ON results (result, severity)`,
        `CREATE INDEX results_by_policy ON results (policy, rule)`,
        `CREATE TABLE changes (rv ${big} PRIMARY KEY, type_id INTEGER NOT NULL, namespace ${text} NOT NULL,
           name ${text} NOT NULL, event TEXT NOT NULL, object TEXT NOT NULL, prev_object TEXT,
           created_at ${big} NOT NULL)`,
        `CREATE INDEX changes_by_type ON changes (type_id, rv)`,
        `CREATE INDEX changes_by_time ON changes (created_at)`,
        `CREATE VIEW report_results AS
           SELECT m.value AS cluster, t.api_group, t.kind AS report_kind, o.namespace, o.name AS report,
             r.idx AS result_index, r.policy, r.rule, r.category, r.severity, r.result, r.resource,
             r.resource_api_version, r.resource_kind, r.resource_namespace, r.resource_name, r.resource_uid,
             r.source, r.scored, r.message, r.found_at
           FROM results r
           JOIN objects o ON o.id = r.object_id
           JOIN resource_types t ON t.id = o.type_id
           LEFT JOIN meta m ON m.key = 'cluster'`,
      ];
    },
  },
  {
    version: 2,
    name: 'compressed objects and change log, packed results with interned strings',
    statements: (d) => {
      const blob = d === 'postgres' ? 'BYTEA' : 'BLOB';
      const text = d === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
      const id = d === 'postgres' ? 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'INTEGER PRIMARY KEY';
      return [
        'DROP VIEW report_results',
        `ALTER TABLE objects ADD COLUMN data ${blob}`,
        `ALTER TABLE changes ADD COLUMN data ${blob}`,
        `ALTER TABLE changes ADD COLUMN prev_data ${blob}`,
        `CREATE TABLE strings (id ${id}, value ${text} NOT NULL UNIQUE)`,
        `CREATE TABLE packed_results (object_id ${d === 'postgres' ? 'BIGINT' : 'INTEGER'} NOT NULL
           REFERENCES objects (id) ON DELETE CASCADE, chunk INTEGER NOT NULL,
           data ${d === 'postgres' ? 'JSON' : 'TEXT'} NOT NULL, PRIMARY KEY (object_id, chunk))${d === 'sqlite' ? ' WITHOUT ROWID' : ''}`,
      ];
    },
    transform: (tx, d) => transformToV2(tx, d),
    after: (d) => [
      'ALTER TABLE objects DROP COLUMN object',
      'ALTER TABLE changes DROP COLUMN object',
      'ALTER TABLE changes DROP COLUMN prev_object',
      ...(d === 'postgres' ? ['ALTER TABLE objects ALTER COLUMN data SET NOT NULL'] : []),
      'DROP TABLE results',
      'ALTER TABLE packed_results RENAME TO results',
      ...(d === 'sqlite' ? withoutRowid() : []),
      reportResultsView(d, 'json'),
    ],
  },
  {
    // ADR 0018: PostgreSQL's inverted (GIN) indexes hold what the side tables held in a fifth of the space.
    // SQLite has no inverted index and keeps its tables (WITHOUT ROWID since migration 2).
    version: 3,
    name: 'PostgreSQL: labels and selectable fields as jsonb columns of objects with GIN indexes',
    statements: (d) =>
      d === 'sqlite'
        ? []
        : [
            `ALTER TABLE objects ADD COLUMN labels JSONB NOT NULL DEFAULT '{}'`,
            `ALTER TABLE objects ADD COLUMN fields JSONB NOT NULL DEFAULT '{}'`,
            ...(['labels', 'fields'] as const).map(
              (table) => `UPDATE objects o SET ${table} = t.pairs
                 FROM (SELECT object_id, jsonb_object_agg(${table === 'labels' ? 'key' : 'field'}, value) AS pairs
                       FROM ${table} GROUP BY object_id) t
                 WHERE t.object_id = o.id`,
            ),
            'DROP TABLE labels',
            'DROP TABLE fields',
            // jsonb_ops indexes keys too (label `exists`); fields are only ever matched as key and value
            'CREATE INDEX objects_by_labels ON objects USING gin (labels)',
            'CREATE INDEX objects_by_fields ON objects USING gin (fields jsonb_path_ops)',
          ],
  },
  {
    // Text JSON is parsed again by every `->>` / json_extract, so the view parsed a report's packed text once
    // per column of every result; the binary forms are read in place (4x faster summaries and queries).
    version: 4,
    name: 'packed results as binary JSON (PostgreSQL jsonb, SQLite JSONB)',
    statements: (d) =>
      d === 'postgres'
        ? [
            'DROP VIEW report_results',
            'ALTER TABLE results ALTER COLUMN data TYPE JSONB USING data::jsonb',
            reportResultsView(d),
          ]
        : ['UPDATE results SET data = jsonb(data)'],
  },
  {
    // ADR 0021: Tables and metadata lists read a report's head, not its results. SQLite keeps heads in a
    // table of their own: it walks a row's overflow pages to reach a column stored after a large one.
    // PostgreSQL moves large values out of the row (TOAST), so a column written with the object does.
    version: 5,
    name: 'heads: objects without their bulk fields, for Tables and metadata lists',
    statements: (d) =>
      d === 'postgres'
        ? ['ALTER TABLE objects ADD COLUMN head BYTEA']
        : [
            `CREATE TABLE heads (object_id INTEGER PRIMARY KEY REFERENCES objects (id) ON DELETE CASCADE,
               data BLOB NOT NULL)`,
          ],
    transform: (tx, d) => fillHeads(tx, d),
  },
  {
    version: 6,
    name: 'SQLite: report_results over jsonb_each',
    statements: (d) => (d === 'sqlite' ? ['DROP VIEW report_results', reportResultsView(d)] : []),
  },
];

/** The selector columns of an objects row in PostgreSQL (migration 3): labels and non-empty fields as JSON. */
export function selectorColumns(labels: Record<string, string>, fields: [string, string][]): [string, string] {
  return [JSON.stringify(labels), JSON.stringify(Object.fromEntries(fields))];
}

/** SQLite: the label and field tables keyed by their primary key alone (no rowid and no second index for it). */
function withoutRowid(): string[] {
  return (['labels', 'fields'] as const).flatMap((table) => {
    const column = table === 'labels' ? 'key' : 'field';
    return [
      `CREATE TABLE ${table}_v2 (object_id INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
         type_id INTEGER NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, ${column} TEXT NOT NULL,
         value TEXT NOT NULL, PRIMARY KEY (object_id, ${column})) WITHOUT ROWID`,
      `INSERT INTO ${table}_v2 (object_id, type_id, namespace, name, ${column}, value)
         SELECT object_id, type_id, namespace, name, ${column}, value FROM ${table}`,
      `DROP TABLE ${table}`,
      `ALTER TABLE ${table}_v2 RENAME TO ${table}`,
      `CREATE INDEX ${table}_by_value ON ${table} (type_id, ${column}, value, namespace, name)`,
    ];
  });
}

/**
 * The `report_results` view over the packed results (results.ts): one row per entry of `data.r`, its string
 * ids resolved through `strings`, its resource from `data.res`, its time from milliseconds. `format` is the
 * PostgreSQL column's type (json until migration 4); SQLite's functions take text and JSONB alike. SQLite
 * walks the entries with `jsonb_each` (migration 6), whose values stay binary: `json_each` turned each entry
 * into text that every column's `json_extract` parsed again (summaries 2.8x, queries 1.8x slower).
 */
function reportResultsView(d: Dialect, format: 'json' | 'jsonb' = 'jsonb'): string {
  const inner =
    d === 'postgres'
      ? {
          from: `CROSS JOIN LATERAL ${format}_array_elements(r.data -> 'r') e`,
          at: (i: number) => `(e ->> ${i})`,
          int: (i: number) => `(e ->> ${i})::bigint`,
          scored: '(e ->> 7)::boolean',
          messageId: `CASE ${format}_typeof(e -> 8) WHEN 'number' THEN (e ->> 8)::bigint END`,
          messageText: `CASE ${format}_typeof(e -> 8) WHEN 'string' THEN e ->> 8 END`,
          placeholder: 'chr(1)',
          foundAt: `to_char(timestamp 'epoch' + (e ->> 9)::bigint * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
          res: (i: number) => `(r0.data -> 'res' -> (e ->> 10)::int ->> ${i})`,
        }
      : {
          from: "JOIN jsonb_each(r.data, '$.r') e",
          at: (i: number) => `json_extract(e.value, '$[${i}]')`,
          int: (i: number) => `json_extract(e.value, '$[${i}]')`,
          scored: "json_extract(e.value, '$[7]')",
          messageId: "CASE json_type(e.value, '$[8]') WHEN 'integer' THEN json_extract(e.value, '$[8]') END",
          messageText: "CASE json_type(e.value, '$[8]') WHEN 'text' THEN json_extract(e.value, '$[8]') END",
          placeholder: 'char(1)',
          foundAt: "strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(e.value, '$[9]') / 1000.0, 'unixepoch')",
          res: (i: number) => `json_extract(r0.data, '$.res[' || json_extract(e.value, '$[10]') || '][${i}]')`,
        };
  const strings = ['policy', 'rule', 'category', 'severity', 'result', 'source'];
  return `CREATE VIEW report_results AS
    SELECT cluster, api_group, report_kind, namespace, report, result_index, policy, rule, category, severity,
      result,
      CASE WHEN resource_name IS NULL THEN NULL
        ELSE COALESCE(resource_kind || '/', '') || COALESCE(resource_namespace || '/', '') || resource_name END
        AS resource,
      resource_api_version, resource_kind, resource_namespace, resource_name, resource_uid, source, scored,
      COALESCE(message_text, replace(s_message.value, ${inner.placeholder}, resource_name)) AS message, found_at
    FROM (
      SELECT m.value AS cluster, t.api_group, t.kind AS report_kind, o.namespace, o.name AS report,
        ${d === 'postgres' ? '(e ->> 0)::integer' : inner.at(0)} AS result_index,
        ${strings.map((s) => `s_${s}.value AS ${s}`).join(', ')},
        ${inner.scored} AS scored, ${inner.messageId} AS message_id, ${inner.messageText} AS message_text,
        ${inner.foundAt} AS found_at,
        ${inner.res(0)} AS resource_api_version, ${inner.res(1)} AS resource_kind,
        ${inner.res(2)} AS resource_namespace, ${inner.res(3)} AS resource_name, ${inner.res(4)} AS resource_uid
      FROM results r
      JOIN objects o ON o.id = r.object_id
      JOIN resource_types t ON t.id = o.type_id
      ${inner.from}
      JOIN results r0 ON r0.object_id = r.object_id AND r0.chunk = 0
      ${strings.map((s, i) => `LEFT JOIN strings s_${s} ON s_${s}.id = ${inner.int(i + 1)}`).join('\n      ')}
      LEFT JOIN meta m ON m.key = 'cluster'
    ) x
    LEFT JOIN strings s_message ON s_message.id = x.message_id`;
}

// --- List queries --------------------------------------------------------------------------------------------

export interface ListQuery {
  typeId: number;
  /** Only this namespace. */
  namespace?: string;
  /** Only keys after this one, in (namespace, name) order. */
  after?: { namespace: string; name: string };
  /** Only objects whose current rv is at most this (snapshot reads; see engine.ts). */
  maxRv?: number;
  labels: readonly LabelRequirement[];
  fields: readonly FieldRequirement[];
  limit?: number;
  /** `data` is the object's head where it has one (migration 5). */
  heads?: boolean;
}

export interface Sql {
  sql: string;
  params: unknown[];
}

/** Field requirements on metadata.* become column conditions; these are the other, indexed ones. */
const isMetadataField = (field: string): boolean => field === 'metadata.name' || field === 'metadata.namespace';

type Driver =
  | { table: 'objects' }
  | { table: 'labels'; requirement: LabelRequirement }
  | { table: 'fields'; requirement: FieldRequirement };

/**
 * SQLite (which has no statistics here to choose with): which index drives the query: a positive requirement
 * on a label or field (so the cost follows the matches, not the total), or the objects table itself (no
 * positive requirement, or an exact name).
 */
export function chooseDriver(q: Pick<ListQuery, 'labels' | 'fields'>): Driver {
  if (q.fields.some((f) => f.field === 'metadata.name' && f.operator === '=')) return { table: 'objects' };
  const field = q.fields.find((f) => !isMetadataField(f.field) && f.operator === '=' && f.value !== '');
  if (field) return { table: 'fields', requirement: field };
  for (const op of ['=', 'in', 'exists', '>', '<'] as const) {
    const label = q.labels.find((l) => l.operator === op);
    if (label) return { table: 'labels', requirement: label };
  }
  return { table: 'objects' };
}

/** `integer value > n` (or `<`) on a label value that may not be an integer, in each dialect. */
function numericCompare(d: Dialect, column: string, op: '>' | '<'): string {
  if (d === 'postgres') {
    return `(CASE WHEN ${column} ~ '^-{0,1}[0-9]{1,18}$' THEN CAST(${column} AS BIGINT) ${op} ? ELSE FALSE END)`;
  }
  return (
    `((${column} GLOB '[0-9]*' AND ${column} NOT GLOB '*[^0-9]*') OR ` +
    `(${column} GLOB '-[0-9]*' AND substr(${column}, 2) NOT GLOB '*[^0-9]*')) AND CAST(${column} AS INTEGER) ${op} ?`
  );
}

/** The condition of one label requirement on the side table alias `l` (SQLite; without the object join). */
function labelRowCondition(r: LabelRequirement, alias: string): Sql {
  switch (r.operator) {
    case '=':
    case '!=':
      return { sql: `${alias}.key = ? AND ${alias}.value = ?`, params: [r.key, r.values[0]] };
    case 'in':
    case 'notin':
      return {
        sql: `${alias}.key = ? AND ${alias}.value IN (${r.values.map(() => '?').join(', ')})`,
        params: [r.key, ...r.values],
      };
    case 'exists':
    case '!exists':
      return { sql: `${alias}.key = ?`, params: [r.key] };
    case '>':
    case '<':
      return {
        sql: `${alias}.key = ? AND ${numericCompare('sqlite', `${alias}.value`, r.operator)}`,
        params: [r.key, Number(r.values[0])],
      };
  }
}

const negative = (r: LabelRequirement): boolean =>
  r.operator === '!=' || r.operator === 'notin' || r.operator === '!exists';

/** `column @> {key: value}`: containment, which the GIN indexes answer. */
const contains = (column: string, key: string, value: string): Sql => ({
  sql: `${column} @> ?::jsonb`,
  params: [JSON.stringify({ [key]: value })],
});

const not = (c: Sql): Sql => ({ sql: `NOT (${c.sql})`, params: c.params });

/** The condition of one label requirement on `o.labels` (PostgreSQL), negatives included. */
function labelJsonCondition(r: LabelRequirement): Sql {
  switch (r.operator) {
    case '=':
      return contains('o.labels', r.key, r.values[0]!);
    case '!=':
      return not(contains('o.labels', r.key, r.values[0]!));
    case 'in':
    case 'notin': {
      const each = r.values.map((v) => contains('o.labels', r.key, v));
      const any = each.map((c) => c.sql).join(' OR ');
      return { sql: r.operator === 'in' ? `(${any})` : `NOT (${any})`, params: each.flatMap((c) => c.params) };
    }
    case 'exists':
      return { sql: 'o.labels ?? ?', params: [r.key] };
    case '!exists':
      return { sql: 'NOT (o.labels ?? ?)', params: [r.key] };
    case '>':
    case '<':
      return {
        sql: `o.labels ?? ? AND ${numericCompare('postgres', '(o.labels ->> ?)', r.operator)}`,
        params: [r.key, r.key, r.key, Number(r.values[0])],
      };
  }
}

/**
 * SELECT namespace, name, rv, data (or head) of the objects that match, in (namespace, name) order.
 *
 * SQLite: the driving table (chooseDriver) is scanned on its (type, key, value, namespace, name) index, every
 * other requirement is an indexed EXISTS / NOT EXISTS probe per candidate row; SQLite plans joins in FROM
 * order with CROSS JOIN. PostgreSQL: conditions on the objects row's jsonb columns, which its planner answers
 * from their GIN indexes (then sorts the matches) or, for requirements that match much, by walking the key
 * index in order and filtering.
 */
export function buildListQuery(d: Dialect, q: ListQuery): Sql {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (c: Sql): void => {
    where.push(c.sql);
    params.push(...c.params);
  };
  const driver: Driver = d === 'sqlite' ? chooseDriver(q) : { table: 'objects' };
  let from = 'objects o';
  let keyAlias = 'o';
  if (driver.table !== 'objects') {
    from = `${driver.table} d CROSS JOIN objects o ON o.id = d.object_id`;
    keyAlias = 'd';
  }
  add({ sql: `${keyAlias}.type_id = ?`, params: [q.typeId] });
  if (driver.table === 'labels') add(labelRowCondition(driver.requirement, 'd'));
  if (driver.table === 'fields') {
    add({ sql: 'd.field = ? AND d.value = ?', params: [driver.requirement.field, driver.requirement.value] });
  }
  if (q.namespace !== undefined) add({ sql: `${keyAlias}.namespace = ?`, params: [q.namespace] });
  if (q.after) {
    add({ sql: `(${keyAlias}.namespace, ${keyAlias}.name) > (?, ?)`, params: [q.after.namespace, q.after.name] });
  }
  if (q.maxRv !== undefined) add({ sql: 'o.rv <= ?', params: [q.maxRv] });
  for (const r of q.labels) {
    if (driver.table === 'labels' && r === driver.requirement) continue;
    if (d === 'postgres') {
      add(labelJsonCondition(r));
      continue;
    }
    const c = labelRowCondition(r, 'l');
    add({
      sql: `${negative(r) ? 'NOT EXISTS' : 'EXISTS'} (SELECT 1 FROM labels l WHERE l.object_id = o.id AND ${c.sql})`,
      params: c.params,
    });
  }
  for (const f of q.fields) {
    if (driver.table === 'fields' && f === driver.requirement) continue;
    if (isMetadataField(f.field)) {
      const column = f.field === 'metadata.name' ? 'o.name' : 'o.namespace';
      add({ sql: `${column} ${f.operator === '=' ? '=' : '<>'} ?`, params: [f.value] });
      continue;
    }
    // Only non-empty values are stored: `f=` means the field is absent, `f!=` that it is present.
    const present = f.value === '' ? f.operator === '!=' : f.operator === '=';
    if (d === 'postgres') {
      const c = f.value === '' ? { sql: 'o.fields ?? ?', params: [f.field] } : contains('o.fields', f.field, f.value);
      add(present ? c : not(c));
    } else {
      const cond = f.value === '' ? 'f.field = ?' : 'f.field = ? AND f.value = ?';
      add({
        sql: `${present ? 'EXISTS' : 'NOT EXISTS'} (SELECT 1 FROM fields f WHERE f.object_id = o.id AND ${cond})`,
        params: [f.field, ...(f.value === '' ? [] : [f.value])],
      });
    }
  }
  let data = 'o.data';
  if (q.heads && d === 'postgres') data = 'COALESCE(o.head, o.data) AS data';
  if (q.heads && d === 'sqlite') {
    data = 'COALESCE(h.data, o.data) AS data';
    from += ' LEFT JOIN heads h ON h.object_id = o.id';
  }
  let sql =
    `SELECT o.namespace, o.name, o.rv, ${data} FROM ${from} WHERE ${where.join(' AND ')} ` +
    `ORDER BY ${keyAlias}.namespace, ${keyAlias}.name`;
  if (q.limit !== undefined) {
    sql += ' LIMIT ?';
    params.push(q.limit);
  }
  return { sql, params };
}

/** `?` placeholders numbered `$1`, `$2`, ... for PostgreSQL, and `??` the jsonb operator `?` (no `?` in literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?\??/g, (m) => (m === '??' ? '?' : `$${++n}`));
}
