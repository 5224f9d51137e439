// What the engine needs from a SQL backend: snapshot reads, serialized durable writes, and a wake-up when
// another replica wrote. sqlite.ts and postgres.ts implement it; everything else is shared (engine.ts).
import type { Dialect } from './sql.ts';

export type Row = Record<string, unknown>;

export interface Tx {
  /** Runs one statement with `?` placeholders and returns its rows (none for statements without RETURNING). */
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface Driver {
  readonly dialect: Dialect;
  /** A read-only transaction that sees one consistent snapshot. */
  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * A write transaction, serialized with every other write through any store on the same database (so
   * commit order equals resourceVersion order), durable when the promise resolves.
   */
  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** A transaction that need not be serialized with writes (change-log compaction). */
  maintain<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Registers the function called when another store may have written (PostgreSQL LISTEN/NOTIFY). */
  onWake(listener: () => void): void;
  close(): Promise<void>;
}
