// Opens the reports store named by the options: SQLite (the embedded default) or PostgreSQL.
import { openPostgresStorage } from './postgres.ts';
import { openSqliteStorage } from './sqlite.ts';
import type { PostgresStorageOptions, ReportStorage, SqliteStorageOptions } from './types.ts';

export type * from './types.ts';
export { StorageError } from './errors.ts';
export { reportResources, policyReports, clusterPolicyReports, reports, clusterReports } from './reports.ts';
export { parseFieldSelector, parseLabelSelector } from './selectors.ts';

export function openStorage(options: SqliteStorageOptions | PostgresStorageOptions): Promise<ReportStorage> {
  return options.backend === 'postgres' ? openPostgresStorage(options) : openSqliteStorage(options);
}
