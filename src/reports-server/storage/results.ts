// The rows behind the `report_results` view (docs/reports-sql.md), kept compact: a report's results are packed
// into `results` rows (object_id, chunk, data) whose `data` is JSON `{"r": [[index, policy, rule, category,
// severity, result, source, scored, message, foundAtMs, resource], ...]}`, chunk 0 also holding `"res":
// [[apiVersion, kind, namespace, name, uid], ...]` — the six low-cardinality texts as ids into `strings`
// (interned once per database), each distinct resource once per report, scored as 1/0, times as epoch
// milliseconds, trailing nulls left out. A message that names the result's resource is stored as a template
// (every occurrence of the resource's name replaced by U+0001) interned in `strings` too, since scanners repeat
// such messages for every resource they check; other messages are kept inline. The view (sql.ts) unpacks it
// all in SQL. SQLite gets chunks of about
// 500 bytes (rows near a page's size would leave most of each 4 KiB page empty); PostgreSQL one row per report,
// which it compresses (TOAST) when it is large. Both keep the JSON in their binary form (jsonb, SQLite's JSONB),
// which the view reads without parsing it again for every column.
import { encodeStored } from './codec.ts';
import type { Row, Tx } from './driver.ts';
import type { Dialect } from './sql.ts';
import type { ResultRow } from './types.ts';

/** The interned columns, in their order in an entry (positions 1 to 6). */
const interned = ['policy', 'rule', 'category', 'severity', 'result', 'source'] as const;

/** Stands for the resource's name in message templates. */
export const NAME_PLACEHOLDER = '\u0001';

/** The message with the resource's name replaced by the placeholder, or null when it does not name it. */
export function messageTemplate(message: string | null, name: string | null): string | null {
  if (message === null || name === null || name.length < 3) return null;
  if (!message.includes(name) || message.includes(NAME_PLACEHOLDER)) return null;
  return message.split(name).join(NAME_PLACEHOLDER);
}

/** Every text of `rows` that is kept in `strings`. */
export function internedTexts(rows: readonly ResultRow[]): Set<string> {
  const texts = new Set<string>();
  for (const r of rows) {
    for (const column of interned) if (r[column] !== null) texts.add(r[column]);
    const template = messageTemplate(r.message, r.resourceName);
    if (template !== null) texts.add(template);
  }
  return texts;
}

/** Bytes of JSON after which a new chunk starts (SQLite). */
export const sqliteChunkBytes = 500;

/** The packed chunks of a report's result rows (at least one), the texts resolved through `ids`. */
export function packResults(
  rows: readonly ResultRow[],
  ids: ReadonlyMap<string, number>,
  chunkBytes = Infinity,
): string[] {
  const resources: (string | null)[][] = [];
  const resourceIndex = new Map<string, number>();
  const id = (text: string | null): number | null => {
    if (text === null) return null;
    const n = ids.get(text);
    if (n === undefined) throw new Error(`string ${JSON.stringify(text)} not interned`);
    return n;
  };
  const entries = rows.map((r) => {
    const ref = [r.resourceApiVersion, r.resourceKind, r.resourceNamespace, r.resourceName, r.resourceUid];
    let res: number | null = null;
    if (ref.some((p) => p !== null)) {
      const key = JSON.stringify(ref);
      res = resourceIndex.get(key) ?? null;
      if (res === null) {
        res = resources.length;
        resources.push(trim(ref));
        resourceIndex.set(key, res);
      }
    }
    const at = r.timestamp === null ? null : Date.parse(r.timestamp);
    const template = messageTemplate(r.message, r.resourceName);
    return JSON.stringify(
      trim([
        r.index,
        ...interned.map((c) => id(r[c])),
        r.scored === null ? null : r.scored ? 1 : 0,
        template === null ? r.message : id(template),
        at === null || Number.isNaN(at) ? null : at,
        res,
      ]),
    );
  });
  const chunks: string[] = [];
  let current: string[] = [];
  let size = resources.length ? JSON.stringify(resources).length : 0;
  for (const entry of entries) {
    if (current.length && size + entry.length > chunkBytes) {
      chunks.push(chunkJson(current, chunks.length === 0 ? resources : []));
      current = [];
      size = 0;
    }
    current.push(entry);
    size += entry.length + 1;
  }
  chunks.push(chunkJson(current, chunks.length === 0 ? resources : []));
  return chunks;
}

const chunkJson = (entries: string[], resources: (string | null)[][]): string =>
  `{"r":[${entries.join(',')}]${resources.length ? `,"res":${JSON.stringify(resources)}` : ''}}`;

function trim<T>(values: (T | null)[]): (T | null)[] {
  let n = values.length;
  while (n > 0 && values[n - 1] === null) n--;
  return values.slice(0, n);
}

/**
 * Ids of `texts` in `strings`, inserting the missing ones. `cache` holds committed ids (strings are never
 * deleted, so an id once committed stays right); ids read here go to `fresh`, which the caller merges into the
 * cache once the transaction has committed.
 */
export async function internStrings(
  tx: Tx,
  texts: Iterable<string>,
  cache: ReadonlyMap<string, number>,
  fresh: Map<string, number>,
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  const missing: string[] = [];
  for (const t of texts) {
    const n = cache.get(t) ?? fresh.get(t);
    if (n === undefined) missing.push(t);
    else ids.set(t, n);
  }
  for (let i = 0; i < missing.length; i += 100) {
    const chunk = missing.slice(i, i + 100);
    const marks = chunk.map(() => '?').join(', ');
    await tx.query(
      `INSERT INTO strings (value) VALUES ${chunk.map(() => '(?)').join(', ')} ON CONFLICT (value) DO NOTHING`,
      chunk,
    );
    for (const row of await tx.query(`SELECT id, value FROM strings WHERE value IN (${marks})`, chunk)) {
      ids.set(row.value as string, Number(row.id));
      fresh.set(row.value as string, Number(row.id));
    }
  }
  return ids;
}

// --- Migration 2 -------------------------------------------------------------------------------------------------

const batch = 500;
const textOrNull = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;

/** Compresses objects and the change log, and packs the old one-row-per-result table (migration 2). */
export async function transformToV2(tx: Tx, dialect: Dialect): Promise<void> {
  for (let after = -1; ;) {
    const rows = await tx.query('SELECT id, object FROM objects WHERE id > ? ORDER BY id LIMIT ?', [after, batch]);
    for (const r of rows) {
      await tx.query('UPDATE objects SET data = ? WHERE id = ?', [encodeStored(r.object as string), r.id]);
    }
    if (rows.length < batch) break;
    after = Number(rows[rows.length - 1]!.id);
  }
  for (let after = -1; ;) {
    const rows = await tx.query('SELECT rv, object, prev_object FROM changes WHERE rv > ? ORDER BY rv LIMIT ?', [
      after,
      batch,
    ]);
    for (const r of rows) {
      await tx.query('UPDATE changes SET data = ?, prev_data = ? WHERE rv = ?', [
        encodeStored(r.object as string),
        r.prev_object === null || r.prev_object === undefined ? null : encodeStored(r.prev_object as string),
        r.rv,
      ]);
    }
    if (rows.length < batch) break;
    after = Number(rows[rows.length - 1]!.rv);
  }
  const cache = new Map<string, number>();
  for (let after = -1; ;) {
    const ids = (
      await tx.query('SELECT DISTINCT object_id FROM results WHERE object_id > ? ORDER BY object_id LIMIT ?', [
        after,
        batch,
      ])
    ).map((r) => Number(r.object_id));
    if (ids.length === 0) break;
    const rows = await tx.query(
      `SELECT * FROM results WHERE object_id >= ? AND object_id <= ? ORDER BY object_id, idx, resource_idx`,
      [ids[0], ids[ids.length - 1]],
    );
    const byObject = new Map<number, ResultRow[]>();
    for (const r of rows) {
      const list = byObject.get(Number(r.object_id)) ?? [];
      list.push(resultRowOf(r));
      byObject.set(Number(r.object_id), list);
    }
    for (const [objectId, list] of byObject) {
      const fresh = new Map<string, number>();
      const idsOf = await internStrings(tx, internedTexts(list), cache, fresh);
      for (const [k, v] of fresh) cache.set(k, v);
      await insertPacked(tx, dialect, 'packed_results', objectId, packResults(list, idsOf, chunkBytes(dialect)));
    }
    after = ids[ids.length - 1]!;
  }
}

export const chunkBytes = (dialect: Dialect): number => (dialect === 'sqlite' ? sqliteChunkBytes : Infinity);

/** Inserts the packed chunks of one report (SQLite: as JSONB blobs; PostgreSQL converts to its column's type). */
export async function insertPacked(
  tx: Tx,
  dialect: Dialect,
  table: string,
  objectId: number,
  chunks: string[],
): Promise<void> {
  const values = chunks.map(() => (dialect === 'sqlite' ? '(?, ?, jsonb(?))' : '(?, ?, ?)')).join(', ');
  await tx.query(
    `INSERT INTO ${table} (object_id, chunk, data) VALUES ${values}`,
    chunks.flatMap((c, i) => [objectId, i, c]),
  );
}

function resultRowOf(r: Row): ResultRow {
  return {
    index: Number(r.idx),
    resourceIndex: Number(r.resource_idx),
    policy: String(r.policy),
    rule: textOrNull(r.rule),
    category: textOrNull(r.category),
    severity: textOrNull(r.severity),
    result: textOrNull(r.result),
    source: textOrNull(r.source),
    scored: r.scored === null || r.scored === undefined ? null : Boolean(r.scored),
    message: textOrNull(r.message),
    timestamp: textOrNull(r.found_at),
    resourceApiVersion: textOrNull(r.resource_api_version),
    resourceKind: textOrNull(r.resource_kind),
    resourceNamespace: textOrNull(r.resource_namespace),
    resourceName: textOrNull(r.resource_name),
    resourceUid: textOrNull(r.resource_uid),
    resource: textOrNull(r.resource),
  };
}
