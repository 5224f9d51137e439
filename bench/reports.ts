// Benchmark of the reports API (issue 4): the same PolicyReports through (a) the wgpolicyk8s.io CRDs in etcd,
// (b) the aggregated reports API on SQLite and (c) on PostgreSQL, each variant on its own fresh control plane
// (a CRD and an APIService cannot serve the same group at once), always through kube-apiserver as admin.
// Measures create throughput, list latency of LIST_SIZE reports in one namespace, a label-selector query for
// MATCHES reports at two totals, watch fan-out, kube-apiserver RSS growth and bytes on disk.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import type { KubeClient } from '../src/kube/client.ts';
import { Resources, type KubeObject, type ResourceType } from '../src/kube/resources.ts';
import { reportCrds } from '../src/api/reports/index.ts';
import { waitFor } from '../src/util/time.ts';
import { reportGroups } from '../test/support/reports-server.ts';
import { registerAPIService, type RegisteredAPIService } from '../test/testbed/aggregation.ts';
import { etcdVersion, kubernetesVersion } from '../test/testbed/binaries.ts';
import { ControlPlane } from '../test/testbed/controlplane.ts';
import { PostgresServer } from '../test/testbed/postgres.ts';
import { freePort, ManagedProcess } from '../test/testbed/process.ts';
import {
  median,
  mib,
  ms,
  pool,
  rate,
  since,
  within,
  type BenchContext,
  type Benchmark,
  type Report,
  type Row,
  type Section,
} from './lib/benchmark.ts';

/** Reports in the selector namespace at the second selector measurement (the issue asks for 100,000). */
const TOTAL = Number(process.env.ARGUS_BENCH_REPORTS_TOTAL ?? 20_000);
/** Reports listed in one namespace; also the total of the first selector measurement. */
const LIST_SIZE = Number(process.env.ARGUS_BENCH_REPORTS_LIST ?? 10_000);
const MATCHES = 100;
const RESULTS_PER_REPORT = 20;
const IN_FLIGHT = 16;
const LIST_REPEATS = 20;
const SELECTOR_REPEATS = 20;
const WATCHERS = 50;
const BURST = 200;
const ANALYTICS_LIMIT = 1000;
const ANALYTICS_REPEATS = 5;
const KUBECTL_REPEATS = 5;
/** kubectl get's page size (--chunk-size). */
const TABLE_PAGE = 500;
const NAMESPACE = 'bench';
const WATCH_NAMESPACE = 'bench-watch';
const MATCH_LABEL = 'argus-bench/match';
const SELECTOR = `${MATCH_LABEL}=yes`;

const polr: ResourceType = {
  group: 'wgpolicyk8s.io',
  version: 'v1alpha2',
  resource: 'policyreports',
  kind: 'PolicyReport',
  namespaced: true,
};

type Variant = 'crd' | 'sqlite' | 'postgres';
const variantLabel: Record<Variant, string> = {
  crd: 'CRD (etcd)',
  sqlite: 'API (SQLite)',
  postgres: 'API (PostgreSQL)',
};

const benchmark: Benchmark = {
  name: 'reports',
  description:
    `PolicyReports through CRDs vs the aggregated reports API (SQLite, PostgreSQL): create, list of ` +
    `${LIST_SIZE.toLocaleString('en-US')}, selector among ${TOTAL.toLocaleString('en-US')}, watch fan-out, memory, disk`,
  run,
};
export default benchmark;

/** One PolicyReport of RESULTS_PER_REPORT results (about 5 KB of JSON), as a scanner would write it. */
function policyReport(name: string, namespace: string, match: boolean): KubeObject {
  const results = Array.from({ length: RESULTS_PER_REPORT }, (_, i) => ({
    policy: `argus-pss-${['baseline', 'restricted'][i % 2]}`,
    rule: `rule-${String(i).padStart(2, '0')}-${['host-namespaces', 'privileged', 'capabilities', 'run-as-non-root'][i % 4]}`,
    result: i % 5 === 0 ? 'fail' : 'pass',
    severity: ['low', 'medium', 'high', 'critical'][i % 4],
    category: 'Pod Security Standards',
    source: 'argus',
    scored: true,
    timestamp: { seconds: 1_795_000_000 + i, nanos: 0 },
    message: `Container "app" of Pod ${name}: check ${i} of the Pod Security Standards evaluated against spec.containers[0].securityContext.`,
    properties: { container: 'app', field: `spec.containers[0].securityContext.field${i}` },
  }));
  return {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReport',
    metadata: {
      name,
      namespace,
      labels: { [MATCH_LABEL]: match ? 'yes' : 'no', 'app.kubernetes.io/managed-by': 'argus' },
    },
    scope: { apiVersion: 'v1', kind: 'Pod', name, namespace },
    summary: {
      pass: RESULTS_PER_REPORT - RESULTS_PER_REPORT / 5,
      fail: RESULTS_PER_REPORT / 5,
      warn: 0,
      error: 0,
      skip: 0,
    },
    results,
  } as KubeObject;
}

const reportName = (i: number): string => `pod-${String(i).padStart(6, '0')}`;

interface Latencies {
  p50: number;
  p99: number;
  runs: number[];
}

/** p99 by nearest rank: with 20 runs, it is the slowest run. */
function latencies(runs: number[]): Latencies {
  const sorted = [...runs].sort((a, b) => a - b);
  return { p50: median(runs), p99: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!, runs };
}

interface VariantResult {
  variant: Variant;
  createPerSecond: number;
  createSeconds: number;
  list: Latencies;
  listBytes: number;
  /** The same list until its last (still compressed) byte arrived, nothing decoded: the servers' part. */
  listAnswer: Latencies;
  listAnswerBytes: number;
  /** `kubectl get` of the LIST_SIZE reports, as a person runs it: Table pages of TABLE_PAGE, printed. */
  kubectlGet: Latencies;
  /** The same Table pages read and decoded by the client, without kubectl: the servers' part. */
  tablePages: Latencies;
  selectorSmall: Latencies;
  selectorLarge: Latencies;
  /** The analytics API over every result (SQL variants): failed high/critical results, and the summary. */
  analytics?: { query: Latencies; summary: Latencies; summaryRows: number };
  watchSeconds: number;
  burstWriteSeconds: number;
  rssBefore: number;
  rssAfter: number;
  /** Growth of the variant's report store while the reports were written: etcd's data dir (CRD), the SQLite
   * files or the PostgreSQL database. */
  disk: number;
  /** The store's size after the reports. */
  diskTotal: number;
  diskDetail: string;
  /** The largest tables of the SQL store with their indexes (SQLite dbstat, PostgreSQL relation sizes). */
  tables: Record<string, number>;
  etcdBefore: number;
  etcdAfter: number;
}

async function run(ctx: BenchContext): Promise<Report> {
  const results: VariantResult[] = [];
  const notes: string[] = [];
  for (const variant of ['crd', 'sqlite', 'postgres'] as const) {
    const started = performance.now();
    results.push(await within(`the ${variant} variant`, 900 + TOTAL / 20, runVariant(ctx, variant)));
    ctx.log(`${variant}: done in ${(since(started) / 60).toFixed(1)} min`);
  }
  const crd = results[0]!;
  const ratio = (value: number, base: number): string => `${(value / base).toFixed(2)}x`;
  const sections: Section[] = results.map((r) => {
    const vs = (value: number, base: number): string => (r === crd ? '' : `  (${ratio(value, base)} of CRD)`);
    const rows: Row[] = [
      {
        label: `create (${IN_FLIGHT} in flight)`,
        text: `${rate(r.createPerSecond)} reports/s  (${LIST_SIZE.toLocaleString('en-US')} in ${r.createSeconds.toFixed(1)} s)${vs(r.createPerSecond, crd.createPerSecond)}`,
        values: { perSecond: r.createPerSecond, seconds: r.createSeconds },
      },
      {
        label: `list ${LIST_SIZE.toLocaleString('en-US')} (n=${LIST_REPEATS})`,
        text: `p50 ${ms(r.list.p50)}  p99 ${ms(r.list.p99)}  (${mib(r.listBytes)} JSON)${vs(r.list.p50, crd.list.p50)}`,
        values: { ...r.list, bytes: r.listBytes },
      },
      {
        label: `  answer only (n=${LIST_REPEATS})`,
        text: `p50 ${ms(r.listAnswer.p50)}  p99 ${ms(r.listAnswer.p99)}  (${mib(r.listAnswerBytes)} gzip, not decoded)${vs(r.listAnswer.p50, crd.listAnswer.p50)}`,
        values: { ...r.listAnswer, bytes: r.listAnswerBytes },
      },
      {
        label: `kubectl get ${LIST_SIZE.toLocaleString('en-US')} (n=${KUBECTL_REPEATS})`,
        text: `p50 ${ms(r.kubectlGet.p50)}  p99 ${ms(r.kubectlGet.p99)}  (Table pages of ${TABLE_PAGE}, printed)${vs(r.kubectlGet.p50, crd.kubectlGet.p50)}`,
        values: { ...r.kubectlGet },
      },
      {
        label: `  Table pages only (n=${LIST_REPEATS})`,
        text: `p50 ${ms(r.tablePages.p50)}  p99 ${ms(r.tablePages.p99)}  (decoded, no kubectl)${vs(r.tablePages.p50, crd.tablePages.p50)}`,
        values: { ...r.tablePages },
      },
      {
        label: `selector ${MATCHES}/${LIST_SIZE.toLocaleString('en-US')}`,
        text: `p50 ${ms(r.selectorSmall.p50)}  p99 ${ms(r.selectorSmall.p99)}${vs(r.selectorSmall.p50, crd.selectorSmall.p50)}`,
        values: { ...r.selectorSmall, total: LIST_SIZE, matches: MATCHES },
      },
      {
        label: `selector ${MATCHES}/${TOTAL.toLocaleString('en-US')}`,
        text: `p50 ${ms(r.selectorLarge.p50)}  p99 ${ms(r.selectorLarge.p99)}${vs(r.selectorLarge.p50, crd.selectorLarge.p50)}  (growth x${(r.selectorLarge.p50 / r.selectorSmall.p50).toFixed(2)} for x${(TOTAL / LIST_SIZE).toFixed(1)} total)`,
        values: { ...r.selectorLarge, total: TOTAL, matches: MATCHES },
      },
      ...(r.analytics
        ? [
            {
              label: 'analytics: failed high/critical',
              text: `p50 ${ms(r.analytics.query.p50)}  p99 ${ms(r.analytics.query.p99)}  (first ${ANALYTICS_LIMIT} of ${(TOTAL * 2).toLocaleString('en-US')} among ${(TOTAL * RESULTS_PER_REPORT).toLocaleString('en-US')} results)`,
              values: { ...r.analytics.query },
            },
            {
              label: 'analytics: summary',
              text: `p50 ${ms(r.analytics.summary.p50)}  p99 ${ms(r.analytics.summary.p99)}  (${r.analytics.summaryRows} counts over every result)`,
              values: { ...r.analytics.summary, rows: r.analytics.summaryRows },
            },
          ]
        : []),
      {
        label: `watch fan-out (${WATCHERS} x ${BURST})`,
        text: `all ${WATCHERS} saw all ${BURST} after ${ms(r.watchSeconds)}${vs(r.watchSeconds, crd.watchSeconds)}  (writes took ${ms(r.burstWriteSeconds)}; last event ${ms(r.watchSeconds - r.burstWriteSeconds)} after the last write)`,
        values: { seconds: r.watchSeconds, writeSeconds: r.burstWriteSeconds },
      },
      {
        label: 'kube-apiserver RSS',
        text: `${mib(r.rssBefore)} -> ${mib(r.rssAfter)}  (+${mib(r.rssAfter - r.rssBefore)})${vs(r.rssAfter - r.rssBefore, crd.rssAfter - crd.rssBefore)}`,
        values: { beforeBytes: r.rssBefore, afterBytes: r.rssAfter, growthBytes: r.rssAfter - r.rssBefore },
      },
      {
        label: 'bytes on disk (growth)',
        text: `${mib(r.disk)}${vs(r.disk, crd.disk)}  (${r.diskDetail})`,
        values: {
          growthBytes: r.disk,
          totalBytes: r.diskTotal,
          etcdBeforeBytes: r.etcdBefore,
          etcdAfterBytes: r.etcdAfter,
        },
      },
      ...(Object.keys(r.tables).length
        ? [
            {
              label: 'store by table (with indexes)',
              text: Object.entries(r.tables)
                .map(([t, b]) => `${t} ${mib(b)}`)
                .join(', '),
              values: r.tables,
            },
          ]
        : []),
    ];
    return { title: variantLabel[r.variant], rows };
  });
  notes.push(
    `${TOTAL.toLocaleString('en-US')} reports of ${RESULTS_PER_REPORT} results each per variant (the issue's goal is ` +
      `about 100,000; ARGUS_BENCH_REPORTS_TOTAL sets it); p99 of ${LIST_REPEATS} runs is the slowest run`,
    `kubernetes ${kubernetesVersion()}, etcd ${etcdVersion()} (data dir on tmpfs); one fresh control plane per variant; ` +
      'the control plane, the reports server (its own process, `argus reports-server`), PostgreSQL and this ' +
      'client share the machine',
    'every variant lists with the same client (KubeClient, Accept-Encoding: gzip as client-go): kube-apiserver ' +
      'gzips the CRD list, the reports server sends its stored DEFLATE bytes as gzip, passed through by the ' +
      'aggregator; "answer only" reads the same request to its last byte without inflating or parsing it',
  );
  return { sections, notes };
}

interface ReportsServerProcess {
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * `argus reports-server` in its own process, as it is deployed (kube-apiserver has its own too), with a
 * generated certificate for the Service names, registered for `groups` with the aggregation layer.
 */
async function startReportsServerProcess(
  cp: ControlPlane,
  storageUrl: string,
  dir: string,
  groups: readonly string[],
): Promise<ReportsServerProcess> {
  const port = await freePort();
  const certDir = join(dir, 'certs');
  const served = reportGroups.filter((g) => groups.includes(g.group));
  const child = new ManagedProcess(
    'argus reports-server',
    process.execPath,
    [
      fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)),
      'reports-server',
      ...['--storage', storageUrl, '--bind-address', '127.0.0.1', '--secure-port', String(port)],
      ...['--cert-dir', certDir, '--kubeconfig', cp.kubeconfigPath],
      ...served.flatMap((g) => ['--tls-san', `${g.serviceName}.default.svc`]),
    ],
    join(dir, 'reports-server.log'),
  );
  const registrations: RegisteredAPIService[] = [];
  const stop = async (): Promise<void> => {
    for (const r of registrations) await r.remove().catch(() => undefined);
    await child.stop();
  };
  try {
    await waitFor('argus reports-server to listen', () => child.tail(200).includes(`listening on 127.0.0.1:${port}`), {
      timeoutMs: 60_000,
      intervalMs: 100,
      giveUp: () => (child.running ? undefined : child.failure('did not start').message),
    });
    const caBundle = readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
    for (const { group, version, serviceName } of served) {
      registrations.push(
        await registerAPIService(cp, { group, version, serviceName, port, caBundle, timeoutMs: 60_000 }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { process: child, stop };
}

/**
 * GET of `path` as the client sends it (its credentials, Accept-Encoding: gzip), read to the last byte of the
 * body without decoding it: the time the servers take to answer. Returns the bytes received.
 */
async function answerBytes(client: KubeClient, dispatcher: Agent, path: string): Promise<number> {
  const { headers } = await client.connectionOptions();
  const answer = await request(client.server + path, {
    dispatcher,
    headers: { ...headers, accept: 'application/json', 'accept-encoding': 'gzip' },
  });
  if (answer.statusCode !== 200) throw new Error(`GET ${path}: ${answer.statusCode} ${await answer.body.text()}`);
  let bytes = 0;
  for await (const chunk of answer.body as AsyncIterable<Buffer>) bytes += chunk.length;
  return bytes;
}

/**
 * The Table pages of `path` as kubectl get asks for them (TABLE_PAGE rows each, gzip), each inflated and
 * parsed. Returns the number of rows.
 */
async function tableRows(client: KubeClient, dispatcher: Agent, path: string): Promise<number> {
  const { headers } = await client.connectionOptions();
  let rows = 0;
  let next: string | undefined;
  do {
    const url = new URL(client.server + path);
    url.searchParams.set('limit', String(TABLE_PAGE));
    if (next) url.searchParams.set('continue', next);
    const answer = await request(url, {
      dispatcher,
      headers: {
        ...headers,
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
        'accept-encoding': 'gzip',
      },
    });
    const raw = Buffer.from(await answer.body.arrayBuffer());
    if (answer.statusCode !== 200) throw new Error(`GET ${url.pathname}: ${answer.statusCode} ${raw.toString()}`);
    const text = answer.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
    const table = JSON.parse(text) as { kind: string; rows: unknown[]; metadata: { continue?: string } };
    if (table.kind !== 'Table') throw new Error(`GET ${url.pathname}: a ${table.kind}, not a Table`);
    rows += table.rows.length;
    next = table.metadata.continue;
  } while (next);
  return rows;
}

/** The testbed keeps its process handles and etcd directory private; the benchmark reads them anyway. */
interface ControlPlaneInternals {
  apiServer?: ManagedProcess;
  etcdDataDir: string;
}
const internals = (cp: ControlPlane): ControlPlaneInternals => cp as unknown as ControlPlaneInternals;

function vmRss(pid: number | undefined): number {
  if (!pid) throw new Error('kube-apiserver has no pid');
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  if (!line) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

function dirSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

const fileSize = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

async function runVariant(ctx: BenchContext, variant: Variant): Promise<VariantResult> {
  const log = (line: string): void => ctx.log(`${variant}: ${line}`);
  const dir = mkdtempSync(join(tmpdir(), `argus-bench-reports-${variant}-`));
  let cp: ControlPlane | undefined;
  let pg: PostgresServer | undefined;
  let reportsServer: ReportsServerProcess | undefined;
  const abort = new AbortController();
  try {
    cp = await ControlPlane.start({ name: `bench-reports-${variant}`, controllerManager: false });
    const client = cp.client('argus-bench/reports');
    let database = '';
    if (variant === 'crd') {
      for (const crd of reportCrds()) {
        if ((crd.spec as { group?: string } | undefined)?.group === 'wgpolicyk8s.io') {
          await client.create(Resources.customResourceDefinitions, crd);
        }
      }
    } else {
      let storageUrl = `sqlite:${join(dir, 'reports.db')}`;
      if (variant === 'postgres') {
        pg = await PostgresServer.start();
        const o = await pg.createDatabase('bench_reports');
        database = o.database;
        storageUrl = `postgres://${o.user}:${o.password}@${o.host}:${o.port}/${o.database}`;
      }
      reportsServer = await startReportsServerProcess(cp, storageUrl, dir, ['wgpolicyk8s.io', 'reports.argus.io']);
    }
    for (const name of [NAMESPACE, WATCH_NAMESPACE]) await client.create(Resources.namespaces, { metadata: { name } });
    await waitFor(
      'policyreports to be served',
      async () => {
        try {
          await client.list(polr, { namespace: NAMESPACE, limit: 1 });
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const apiServerPid = internals(cp).apiServer?.pid;
    const etcdDir = internals(cp).etcdDataDir;
    const rssBefore = vmRss(apiServerPid);
    const etcdBefore = dirSize(etcdDir);
    const sqliteFiles = (): number[] => [fileSize(join(dir, 'reports.db')), fileSize(join(dir, 'reports.db-wal'))];
    const pgSize = async (): Promise<number> => {
      const sql = pg!.client(database);
      await sql.connect();
      try {
        const r = await sql.query<{ size: string }>('select pg_database_size(current_database()) as size');
        return Number(r.rows[0]!.size);
      } finally {
        await sql.end();
      }
    };
    const storeBefore =
      variant === 'crd' ? etcdBefore : variant === 'sqlite' ? sqliteFiles().reduce((a, b) => a + b) : await pgSize();

    // 1. Create LIST_SIZE reports in one namespace; every (LIST_SIZE / MATCHES)th matches the selector.
    const every = LIST_SIZE / MATCHES;
    const first = Array.from({ length: LIST_SIZE }, (_, i) => i);
    let started = performance.now();
    await within(
      'creating the reports',
      600,
      pool(first, IN_FLIGHT, (i) => client.create(polr, policyReport(reportName(i), NAMESPACE, i % every === 0))),
    );
    const createSeconds = since(started);
    log(`created ${LIST_SIZE} in ${createSeconds.toFixed(1)} s`);

    // 2. List them all, LIST_REPEATS times.
    const listRuns: number[] = [];
    let listBytes = 0;
    for (let i = 0; i < LIST_REPEATS; i++) {
      started = performance.now();
      const list = await within('listing the reports', 120, client.list(polr, { namespace: NAMESPACE }));
      listRuns.push(since(started));
      if (list.items.length !== LIST_SIZE) throw new Error(`listed ${list.items.length}, expected ${LIST_SIZE}`);
      if (i === 0) listBytes = Buffer.byteLength(JSON.stringify(list));
    }
    log(`list p50 ${ms(median(listRuns))}`);
    const answerRuns: number[] = [];
    let listAnswerBytes = 0;
    // One connection for every run, as the client keeps its own.
    const answerPool = new Agent({ connect: (await client.connectionOptions()).tls });
    for (let i = 0; i < LIST_REPEATS; i++) {
      started = performance.now();
      listAnswerBytes = await within(
        'reading the list answer',
        120,
        answerBytes(client, answerPool, client.path(polr, { namespace: NAMESPACE })),
      );
      answerRuns.push(since(started));
    }
    log(`list answer p50 ${ms(median(answerRuns))}`);

    // 2b. What a person sees: kubectl get (Table pages), and the same pages without kubectl.
    const kubectlRuns: number[] = [];
    for (let i = 0; i < KUBECTL_REPEATS; i++) {
      started = performance.now();
      const got = await within('kubectl get', 120, cp.kubectl(['get', 'polr', '-n', NAMESPACE, '--no-headers']));
      kubectlRuns.push(since(started));
      const lines = got.stdout.split('\n').filter((l) => l).length;
      if (got.code !== 0 || lines !== LIST_SIZE) throw new Error(`kubectl get printed ${lines} rows: ${got.stderr}`);
    }
    log(`kubectl get p50 ${ms(median(kubectlRuns))}`);
    const tableRuns: number[] = [];
    for (let i = 0; i < LIST_REPEATS; i++) {
      started = performance.now();
      const rows = await within(
        'the Table pages',
        120,
        tableRows(client, answerPool, client.path(polr, { namespace: NAMESPACE })),
      );
      tableRuns.push(since(started));
      if (rows !== LIST_SIZE) throw new Error(`the Table pages had ${rows} rows, expected ${LIST_SIZE}`);
    }
    await answerPool.close();
    log(`Table pages p50 ${ms(median(tableRuns))}`);

    // 3. The selector at LIST_SIZE, then at TOTAL reports in the namespace (the rest do not match).
    const selector = async (): Promise<Latencies> => {
      const runs: number[] = [];
      for (let i = 0; i < SELECTOR_REPEATS; i++) {
        started = performance.now();
        const list = await within(
          'the selector query',
          60,
          client.list(polr, { namespace: NAMESPACE, labelSelector: SELECTOR }),
        );
        runs.push(since(started));
        if (list.items.length !== MATCHES)
          throw new Error(`selector matched ${list.items.length}, expected ${MATCHES}`);
      }
      return latencies(runs);
    };
    const selectorSmall = await selector();
    const rest = Array.from({ length: Math.max(0, TOTAL - LIST_SIZE) }, (_, i) => LIST_SIZE + i);
    await within(
      'creating the rest of the reports',
      // at least 25 creates/s
      Math.max(900, (TOTAL - LIST_SIZE) / 25),
      pool(rest, IN_FLIGHT, (i) => client.create(polr, policyReport(reportName(i), NAMESPACE, false))),
    );
    const selectorLarge = await selector();
    log(`selector p50 ${ms(selectorSmall.p50)} at ${LIST_SIZE}, ${ms(selectorLarge.p50)} at ${TOTAL}`);

    // 3b. The analytics API (what `kubectl argus reports query|summary` asks) over every result.
    let analytics: VariantResult['analytics'];
    if (variant !== 'crd') {
      const timed = async <T>(what: string, path: string, check: (body: T) => void) => {
        const runs: number[] = [];
        let body: T | undefined;
        for (let i = 0; i < ANALYTICS_REPEATS; i++) {
          started = performance.now();
          body = await within(what, 300, client.request<T>('GET', `/apis/reports.argus.io/v1alpha1/${path}`));
          runs.push(since(started));
          check(body);
        }
        return { latencies: latencies(runs), body: body! };
      };
      const query = await timed<{ items: unknown[] }>(
        'the analytics query',
        `results?result=fail&severity=high,critical&limit=${ANALYTICS_LIMIT}`,
        (b) => {
          if (b.items.length !== ANALYTICS_LIMIT) throw new Error(`query returned ${b.items.length} results`);
        },
      );
      const summary = await timed<{ items: { count: number }[] }>('the analytics summary', 'summaries', (b) => {
        const counted = b.items.reduce((n, r) => n + r.count, 0);
        if (counted !== TOTAL * RESULTS_PER_REPORT) throw new Error(`summary counted ${counted} results`);
      });
      analytics = { query: query.latencies, summary: summary.latencies, summaryRows: summary.body.items.length };
      log(`analytics p50: query ${ms(query.latencies.p50)}, summary ${ms(summary.latencies.p50)}`);
    }

    // 4. Watch fan-out: WATCHERS watches of an empty namespace; a sentinel proves each is open; then a
    // burst of BURST creates, timed until every watcher has seen every one.
    const seen = Array.from({ length: WATCHERS }, () => 0);
    const sentinels = Array.from({ length: WATCHERS }, () => false);
    let resolveAll: () => void = () => undefined;
    const allSeen = new Promise<void>((resolve) => (resolveAll = resolve));
    let complete = 0;
    const from = (await client.list(polr, { namespace: WATCH_NAMESPACE })).metadata.resourceVersion;
    const watchers = Array.from({ length: WATCHERS }, async (_, w) => {
      for await (const event of client.watch<KubeObject>(polr, {
        namespace: WATCH_NAMESPACE,
        resourceVersion: from,
        signal: abort.signal,
      })) {
        if (event.type !== 'ADDED') continue;
        if (event.object.metadata?.name === 'sentinel') sentinels[w] = true;
        else if (++seen[w]! === BURST && ++complete === WATCHERS) resolveAll();
      }
    });
    for (const w of watchers) w.catch(() => undefined);
    await client.create(polr, policyReport('sentinel', WATCH_NAMESPACE, false));
    await waitFor('every watcher to see the sentinel', () => Promise.resolve(sentinels.every(Boolean)), {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const burst = Array.from({ length: BURST }, (_, i) => i);
    started = performance.now();
    await within(
      'the burst',
      120,
      pool(burst, IN_FLIGHT, (i) => client.create(polr, policyReport(`burst-${i}`, WATCH_NAMESPACE, false))),
    );
    const burstWriteSeconds = since(started);
    await within(`all ${WATCHERS} watchers to see the burst`, 120, allSeen);
    const watchSeconds = since(started);
    abort.abort();
    log(`watch fan-out ${ms(watchSeconds)}`);

    // 5. Memory and disk.
    const rssAfter = vmRss(apiServerPid);
    const etcdAfter = dirSize(etcdDir);
    const etcdDb = fileSize(join(etcdDir, 'data', 'member', 'snap', 'db'));
    let diskTotal: number;
    let diskDetail: string;
    if (variant === 'crd') {
      diskTotal = etcdAfter;
      diskDetail = `etcd data dir ${mib(etcdBefore)} -> ${mib(etcdAfter)}: bbolt db ${mib(etcdDb)}, the rest WAL`;
    } else if (variant === 'sqlite') {
      const [main, wal] = sqliteFiles() as [number, number];
      diskTotal = main + wal;
      diskDetail = `reports.db ${mib(main)} + WAL ${mib(wal)}; etcd data dir ${mib(etcdBefore)} -> ${mib(etcdAfter)}`;
    } else {
      diskTotal = await pgSize();
      diskDetail = `pg_database_size ${mib(storeBefore)} -> ${mib(diskTotal)}, PostgreSQL's WAL not counted; etcd data dir ${mib(etcdBefore)} -> ${mib(etcdAfter)}`;
    }
    const disk = diskTotal - storeBefore;
    const tables: Record<string, number> = {};
    if (variant === 'sqlite') {
      const db = new DatabaseSync(join(dir, 'reports.db'), { readOnly: true });
      try {
        const owners = new Map<string, string>();
        for (const r of db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')").all())
          owners.set(String(r.name), String(r.tbl_name));
        for (const r of db.prepare('SELECT name, SUM(pgsize) AS size FROM dbstat GROUP BY name').all()) {
          const table = owners.get(String(r.name)) ?? String(r.name);
          tables[table] = (tables[table] ?? 0) + Number(r.size);
        }
      } finally {
        db.close();
      }
    } else if (variant === 'postgres') {
      const sql = pg!.client(database);
      await sql.connect();
      try {
        const r = await sql.query<{ name: string; size: string }>(
          `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS size FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'`,
        );
        for (const row of r.rows) tables[row.name] = Number(row.size);
      } finally {
        await sql.end();
      }
    }
    for (const [t, b] of Object.entries(tables)) if (b < 1024 * 1024) delete tables[t];
    const sorted = Object.fromEntries(Object.entries(tables).sort(([, a], [, b]) => b - a));
    return {
      variant,
      createPerSecond: LIST_SIZE / createSeconds,
      createSeconds,
      list: latencies(listRuns),
      listBytes,
      listAnswer: latencies(answerRuns),
      listAnswerBytes,
      kubectlGet: latencies(kubectlRuns),
      tablePages: latencies(tableRuns),
      selectorSmall,
      selectorLarge,
      ...(analytics ? { analytics } : {}),
      watchSeconds,
      burstWriteSeconds,
      rssBefore,
      rssAfter,
      disk,
      diskDetail,
      tables: sorted,
      diskTotal,
      etcdBefore,
      etcdAfter,
    };
  } finally {
    abort.abort();
    await reportsServer?.stop().catch(() => undefined);
    await cp?.stop();
    await pg?.destroy().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
