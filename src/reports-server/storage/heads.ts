// An object's head: its JSON without the type's bulk fields (a report's `results`), stored beside the whole
// object (migration 5: SQLite's table `heads`, PostgreSQL's column `objects.head`) and read instead of it
// where only metadata and the printer columns' fields are needed: Tables and metadata lists. A Table page
// of 500 reports then inflates and parses a few hundred bytes per report instead of all of its results.
// ADR 0021.
import { encodeStored, parseStored, type Stored } from './codec.ts';
import type { Tx } from './driver.ts';
import type { Dialect } from './sql.ts';

/** The stored head of an object, or null when it has none of the bulk fields (its head is the object). */
export function encodeHead(object: Record<string, unknown>, bulkFields: readonly string[] = []): Buffer | null {
  if (!bulkFields.some((field) => Object.hasOwn(object, field))) return null;
  const head = { ...object };
  for (const field of bulkFields) delete head[field];
  return encodeStored(JSON.stringify(head));
}

/** SQLite: writes the head of the objects row `objectId`, or removes it when the object has none. */
export async function writeHead(tx: Tx, objectId: number, head: Buffer | null, existing: boolean): Promise<void> {
  if (head === null) {
    if (existing) await tx.query('DELETE FROM heads WHERE object_id = ?', [objectId]);
    return;
  }
  await tx.query(
    'INSERT INTO heads (object_id, data) VALUES (?, ?) ON CONFLICT (object_id) DO UPDATE SET data = excluded.data',
    [objectId, head],
  );
}

/** Migration 5: a head for every stored object with results (until then the one bulk field of every type). */
export async function fillHeads(tx: Tx, dialect: Dialect): Promise<void> {
  const batch = 500;
  for (let after = -1; ;) {
    const rows = await tx.query('SELECT id, data FROM objects WHERE id > ? ORDER BY id LIMIT ?', [after, batch]);
    for (const r of rows) {
      const head = encodeHead(parseStored<Record<string, unknown>>(r.data as Stored), ['results']);
      if (!head) continue;
      if (dialect === 'postgres') await tx.query('UPDATE objects SET head = ? WHERE id = ?', [head, r.id]);
      else await writeHead(tx, Number(r.id), head, false);
    }
    if (rows.length < batch) break;
    after = Number(rows[rows.length - 1]!.id);
  }
}
