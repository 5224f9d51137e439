// The SQLite backend on Node's built-in node:sqlite (no native addon): one file, WAL journal, synchronous=FULL
// so a commit is on disk before a write resolves. node:sqlite is synchronous; an async lock keeps the
// transactions of concurrent callers apart on the one connection. Several processes on one file also work
// (BEGIN IMMEDIATE serializes their writes, the change feed polls), but one process per file is the design.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { Driver, Tx } from './driver.ts';
import { Engine } from './engine.ts';
import { StorageError, unavailable } from './errors.ts';
import { reportResources } from './reports.ts';
import type { SqliteStorageOptions } from './types.ts';

/** SQLite result codes (primary) that mean the database cannot be used right now rather than a bad request. */
const unavailableCodes = new Set([
  5 /* BUSY */, 6 /* LOCKED */, 8 /* READONLY */, 10 /* IOERR */, 13 /* FULL */, 14 /* CANTOPEN */, 26 /* NOTADB */,
]);

function wrap(err: unknown): unknown {
  if (err instanceof StorageError) return err;
  const e = err as { errcode?: number; message?: string };
  if (typeof e.errcode === 'number') {
    if (unavailableCodes.has(e.errcode & 0xff)) return unavailable(e.message ?? 'sqlite error', err);
    return new StorageError('InternalError', `sqlite: ${e.message ?? String(err)}`, { cause: err });
  }
  return err;
}

const toParam = (v: unknown): SQLInputValue =>
  v === undefined || v === null ? null : typeof v === 'boolean' ? (v ? 1 : 0) : (v as SQLInputValue);

export class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private lock: Promise<void> = Promise.resolve();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new DatabaseSync(path);
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec('PRAGMA synchronous = FULL');
      this.db.exec('PRAGMA foreign_keys = ON');
      this.db.exec('PRAGMA busy_timeout = 5000');
    } catch (err) {
      throw wrap(err);
    }
  }

  private readonly tx: Tx = {
    query: async (sql, params = []) => {
      let statement = this.statements.get(sql);
      if (!statement) {
        if (this.statements.size > 500) this.statements.clear();
        statement = this.db.prepare(sql);
        this.statements.set(sql, statement);
      }
      return statement.all(...params.map(toParam));
    },
  };

  private async exclusive<T>(begin: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const previous = this.lock;
    let release!: () => void;
    this.lock = new Promise((resolve) => (release = resolve));
    await previous;
    try {
      this.db.exec(begin);
      try {
        const result = await fn(this.tx);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } catch (err) {
      throw wrap(err);
    } finally {
      release();
    }
  }

  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.exclusive('BEGIN', fn);
  }

  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.exclusive('BEGIN IMMEDIATE', fn);
  }

  maintain<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.exclusive('BEGIN IMMEDIATE', fn);
  }

  onWake(): void {
    // One process per file: its own writes wake the feed; the poll covers anything else.
  }

  async close(): Promise<void> {
    await this.lock;
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }
}

/** Opens (creating and migrating when needed) the SQLite store at `options.path`. */
export function openSqliteStorage(options: Omit<SqliteStorageOptions, 'backend'>): Promise<Engine> {
  return Engine.open(new SqliteDriver(options.path), options.types ?? reportResources, options);
}
