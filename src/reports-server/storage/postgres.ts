// The PostgreSQL backend (the `pg` package): a connection pool, optional TLS, tables in a schema of choice.
// Writes of every replica are serialized by a transaction-scoped advisory lock taken first in each write
// transaction, so commit order equals resourceVersion order; each write NOTIFYs, and every replica LISTENs
// (a dedicated connection, reconnected with backoff) to read the change log at once. The change log is the
// source of truth: the engine also polls it, so a lost notification only delays a watch event.
import pg from 'pg';
import { errorMessage, logger } from '../../util/log.ts';
import type { Driver, Row, Tx } from './driver.ts';
import { Engine } from './engine.ts';
import { StorageError, unavailable } from './errors.ts';
import { reportResources } from './reports.ts';
import { numberPlaceholders } from './sql.ts';
import type { PostgresStorageOptions } from './types.ts';

const log = logger('reports-storage-postgres');
const CHANNEL = 'argus_reports_changes';
/** First key of the advisory lock (`ARGS`); the second is a hash of the schema, so schemas do not contend. */
const LOCK_CLASS = 0x41524753;

const unavailableErrno = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const unavailableSqlState = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '25006',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

/** Whether `err` means the database cannot be reached (rather than a bad statement). */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (unavailableErrno.has(code) || unavailableSqlState.has(code) || code.startsWith('08')) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended|connect ECONN|the database system is (starting up|shutting down|in recovery mode)/i.test(
    message,
  );
}

function wrap(err: unknown): unknown {
  if (err instanceof StorageError) return err;
  if (isUnavailable(err)) return unavailable(errorMessage(err), err);
  return new StorageError('InternalError', `postgres: ${errorMessage(err)}`, { cause: err });
}

function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly config: pg.ClientConfig;
  private readonly schema: string;
  private readonly lockKey: number;
  private readonly sql = new Map<string, string>();
  private readonly wakeListeners: (() => void)[] = [];
  private listener: pg.Client | undefined;
  private listenRetry: NodeJS.Timeout | undefined;
  private listenBackoffMs = 500;
  private closed = false;

  constructor(options: Omit<PostgresStorageOptions, 'backend'>) {
    this.schema = options.schema ?? 'public';
    this.lockKey = hash32(this.schema);
    this.config = {
      host: options.host,
      port: options.port ?? 5432,
      database: options.database,
      user: options.user,
      ...(options.password !== undefined ? { password: options.password } : {}),
      ssl: options.ssl ? { ...options.ssl } : false,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      options: `-c search_path=${quoteIdent(this.schema)}`,
      application_name: 'argus-reports-server',
      keepAlive: true,
    };
    this.pool = new pg.Pool({ ...this.config, max: options.poolSize ?? 10, idleTimeoutMillis: 30_000 });
    // Idle connections that the server closes report here; without a listener the process would crash.
    this.pool.on('error', (err) => log.debug({ err: errorMessage(err) }, 'idle database connection closed'));
  }

  /** Creates the schema if needed and starts listening for other replicas' writes. */
  async init(): Promise<void> {
    if (this.schema !== 'public') {
      const client = new pg.Client({ ...this.config, options: undefined });
      try {
        await client.connect();
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
      } catch (err) {
        throw wrap(err);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    await this.listen().catch(() => this.scheduleListen());
  }

  private text(sql: string): string {
    let numbered = this.sql.get(sql);
    if (!numbered) {
      if (this.sql.size > 1000) this.sql.clear();
      numbered = numberPlaceholders(sql);
      this.sql.set(sql, numbered);
    }
    return numbered;
  }

  private async transaction<T>(begin: string[], end: string[], fn: (tx: Tx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw wrap(err);
    }
    const tx: Tx = {
      query: async (sql, params = []) => (await client.query<Row>(this.text(sql), params as unknown[])).rows,
    };
    let broken: Error | undefined;
    // A checked-out client has no error listener of the pool's: a dropped connection would crash the process.
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      for (const statement of begin) await client.query(statement);
      const result = await fn(tx);
      for (const statement of end) await client.query(statement);
      return result;
    } catch (err) {
      if (isUnavailable(err)) broken = err as Error;
      else await client.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
      throw wrap(err);
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  read<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transaction(['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'], ['COMMIT'], fn);
  }

  write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transaction(
      ['BEGIN', 'SET LOCAL synchronous_commit = on', `SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${this.lockKey})`],
      [`SELECT pg_notify('${CHANNEL}', '${this.schema.replaceAll("'", "''")}')`, 'COMMIT'],
      fn,
    );
  }

  maintain<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transaction(['BEGIN'], ['COMMIT'], fn);
  }

  onWake(listener: () => void): void {
    this.wakeListeners.push(listener);
  }

  private wake(): void {
    for (const l of this.wakeListeners) l();
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(this.config);
    const retry = (err?: unknown): void => {
      if (err) log.debug({ err: errorMessage(err) }, 'LISTEN connection lost');
      if (this.listener === client) this.listener = undefined;
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
      this.scheduleListen();
    };
    client.on('error', retry);
    client.on('end', () => retry());
    client.on('notification', (msg) => {
      if (msg.payload === this.schema) this.wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw err;
    }
    this.listener = client;
    this.listenBackoffMs = 500;
    this.wake(); // catch up on whatever was written while not listening
  }

  private scheduleListen(): void {
    if (this.closed || this.listenRetry) return;
    const delay = this.listenBackoffMs;
    this.listenBackoffMs = Math.min(this.listenBackoffMs * 2, 10_000);
    this.listenRetry = setTimeout(() => {
      this.listenRetry = undefined;
      this.listen().catch(() => this.scheduleListen());
    }, delay);
    this.listenRetry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.listenRetry);
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      listener.removeAllListeners();
      listener.on('error', () => undefined);
      await listener.end().catch(() => undefined);
    }
    await this.pool.end().catch(() => undefined);
  }
}

/** Opens (migrating when needed) the PostgreSQL store. */
export async function openPostgresStorage(options: Omit<PostgresStorageOptions, 'backend'>): Promise<Engine> {
  const driver = new PostgresDriver(options);
  try {
    await driver.init();
  } catch (err) {
    await driver.close();
    throw err;
  }
  return Engine.open(driver, options.types ?? reportResources, { pollIntervalMs: 1000, ...stripUndefined(options) });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
