// The postgresql output: one row per report and one per result, written in one transaction.
//   <table>          scan_uid (primary key; the recordId), scan_name, report_time, scanner_version,
//                    metadata (the report's cluster metadata, jsonb), report (the whole report, jsonb), exported_at
//   <table>_results  scan_uid (references <table>, on delete cascade), provider, ruleset, ruleset_version,
//                    rule_id, rule_name, severity, status, message, target (jsonb; NULL for a check without
//                    targets): one row per check target
// Both tables (and the schema of a `schema.name` table) are created if missing, under a transaction-scoped
// advisory lock so concurrent runners do not race. Exporting a scan again replaces its rows (idempotent per
// scan uid). Credentials: keys `username` and `password` of the credentialsRef Secret; TLS when tls.enabled,
// verifying the server with tls.caSecretRef's CA (default the system's).
import pg from 'pg';
import type { ReportOutputSpec } from '../../api/diki/reportoutput.ts';
import type { Report } from '../../scanner/report/report.ts';
import { readCA, readSecret, secretKey } from './secrets.ts';
import { OutputError, errorMessage, type OutputContext, type OutputDetails } from './types.ts';

type PostgresOutput = NonNullable<ReportOutputSpec['output']['postgresql']>;

export const USERNAME_KEY = 'username';
export const PASSWORD_KEY = 'password';
export const RESULTS_SUFFIX = '_results';

const identRe = /^[A-Za-z_][A-Za-z0-9_]*$/;
const quote = (ident: string): string => `"${ident.replaceAll('"', '""')}"`;

/** The quoted names of the two tables (and the schema, when given) of `table` (`name` or `schema.name`). */
export function tableNames(table: string): { schema?: string; reports: string; results: string; index: string } {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => identRe.test(p)) || parts.at(-1)!.length + RESULTS_SUFFIX.length > 63)
    throw new OutputError(
      'InvalidTable',
      `table ${JSON.stringify(table)} must be name or schema.name of letters, digits and _ (at most ${63 - RESULTS_SUFFIX.length} characters)`,
    );
  const name = parts.at(-1)!;
  const schema = parts.length === 2 ? parts[0]! : undefined;
  const qualified = (n: string): string => (schema ? `${quote(schema)}.${quote(n)}` : quote(n));
  return {
    ...(schema ? { schema: quote(schema) } : {}),
    reports: qualified(name),
    results: qualified(name + RESULTS_SUFFIX),
    index: quote(`${name}${RESULTS_SUFFIX}_scan_uid`.slice(0, 63)),
  };
}

interface ResultRows {
  provider: string[];
  ruleset: string[];
  version: string[];
  ruleId: string[];
  ruleName: string[];
  severity: (string | null)[];
  status: string[];
  message: string[];
  target: (string | null)[];
}

/** One row per check target (a check without targets is one row with a NULL target). */
export function resultRows(report: Report): ResultRows {
  const rows: ResultRows = {
    provider: [],
    ruleset: [],
    version: [],
    ruleId: [],
    ruleName: [],
    severity: [],
    status: [],
    message: [],
    target: [],
  };
  for (const p of report.providers)
    for (const rs of p.rulesets)
      for (const rule of rs.rules)
        for (const check of rule.checks) {
          const targets = check.targets?.length ? check.targets : [undefined];
          for (const target of targets) {
            rows.provider.push(p.id);
            rows.ruleset.push(rs.id);
            rows.version.push(rs.version);
            rows.ruleId.push(rule.id);
            rows.ruleName.push(rule.name);
            rows.severity.push(rule.severity ?? null);
            rows.status.push(check.status);
            rows.message.push(check.message);
            rows.target.push(target ? JSON.stringify(target) : null);
          }
        }
  return rows;
}

async function connectionConfig(output: PostgresOutput, ctx: OutputContext): Promise<pg.ClientConfig> {
  let url: URL;
  try {
    url = new URL(output.url);
  } catch {
    throw new OutputError('InvalidURL', `PostgreSQL URL ${JSON.stringify(output.url)} is not a URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new OutputError('InvalidURL', `PostgreSQL URL ${output.url} must start with postgres://`);
  const ref = output.credentialsRef;
  const secret = ref ? await readSecret(ctx.client, ref) : undefined;
  const user = secret && ref ? secretKey(secret, ref, USERNAME_KEY, true) : undefined;
  const password = secret && ref ? secretKey(secret, ref, PASSWORD_KEY) : undefined;
  const ca = output.tls?.enabled ? await readCA(ctx.client, output.tls.caSecretRef) : undefined;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 5432,
    database: output.database,
    ...(user ? { user } : {}),
    ...(password ? { password } : {}),
    ssl: output.tls?.enabled ? { rejectUnauthorized: true, ...(ca ? { ca } : {}) } : false,
    connectionTimeoutMillis: 15_000,
    statement_timeout: 120_000,
    application_name: 'argus-runner',
  };
}

export async function exportPostgres(
  report: Report,
  output: PostgresOutput,
  ctx: OutputContext,
): Promise<OutputDetails> {
  const names = tableNames(output.table);
  const config = await connectionConfig(output, ctx);
  const where = `PostgreSQL ${config.host}:${config.port}/${output.database}`;
  const client = new pg.Client(config);
  client.on('error', () => undefined); // reported by the failing query
  const abort = (): void => void client.end().catch(() => undefined);
  ctx.signal?.addEventListener('abort', abort, { once: true });
  try {
    try {
      await client.connect();
    } catch (err) {
      throw new OutputError('DatabaseUnavailable', `connecting to ${where}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`argus-report-output:${output.table}`]);
      if (names.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${names.schema}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${names.reports} (
        scan_uid text PRIMARY KEY,
        scan_name text NOT NULL,
        report_time timestamptz NOT NULL,
        scanner_version text NOT NULL,
        metadata jsonb,
        report jsonb NOT NULL,
        exported_at timestamptz NOT NULL DEFAULT now()
      )`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${names.results} (
        scan_uid text NOT NULL REFERENCES ${names.reports} (scan_uid) ON DELETE CASCADE,
        provider text NOT NULL,
        ruleset text NOT NULL,
        ruleset_version text NOT NULL,
        rule_id text NOT NULL,
        rule_name text NOT NULL,
        severity text,
        status text NOT NULL,
        message text NOT NULL,
        target jsonb
      )`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${names.index} ON ${names.results} (scan_uid)`);
      await client.query(
        `INSERT INTO ${names.reports} (scan_uid, scan_name, report_time, scanner_version, metadata, report)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (scan_uid) DO UPDATE SET scan_name = EXCLUDED.scan_name, report_time = EXCLUDED.report_time,
           scanner_version = EXCLUDED.scanner_version, metadata = EXCLUDED.metadata, report = EXCLUDED.report,
           exported_at = now()`,
        [
          ctx.scanUid,
          ctx.scanName,
          report.time,
          report.dikiVersion,
          report.metadata ? JSON.stringify(report.metadata) : null,
          JSON.stringify(report),
        ],
      );
      await client.query(`DELETE FROM ${names.results} WHERE scan_uid = $1`, [ctx.scanUid]);
      const r = resultRows(report);
      await client.query(
        `INSERT INTO ${names.results}
           (scan_uid, provider, ruleset, ruleset_version, rule_id, rule_name, severity, status, message, target)
         SELECT $1, p, rs, v, id, n, sev, st, m, t::jsonb
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                     $10::text[]) AS u(p, rs, v, id, n, sev, st, m, t)`,
        [
          ctx.scanUid,
          r.provider,
          r.ruleset,
          r.version,
          r.ruleId,
          r.ruleName,
          r.severity,
          r.status,
          r.message,
          r.target,
        ],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (err instanceof OutputError) throw err;
      if (ctx.signal?.aborted) throw new OutputError('Aborted', `${where}: aborted`);
      throw new OutputError('DatabaseWriteFailed', `writing the report to ${where}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  } finally {
    ctx.signal?.removeEventListener('abort', abort);
    await client.end().catch(() => undefined);
  }
  return { postgresRef: { url: output.url, database: output.database, table: output.table, recordId: ctx.scanUid } };
}
