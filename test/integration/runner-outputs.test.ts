// The runner's report exporters (src/runner/outputs) against real endpoints: a testbed control plane for the
// ConfigMap output, a local HTTPS receiver for the webhook, a real PostgreSQL.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStorage } from '../../src/reports-server/storage/sqlite.ts';
import type { ReportStorage } from '../../src/reports-server/storage/types.ts';
import { startAggregatedReportsServer, type AggregatedReportsServer } from '../support/reports-server.ts';
import { after, before, describe, test } from 'node:test';
import type { KubeClient } from '../../src/kube/client.ts';
import { Resources, type KubeObject } from '../../src/kube/resources.ts';
import {
  clusterPolicyReportType,
  clusterReportType,
  policyReportType,
  reportCrds,
  reportType,
  reportTypes,
  type ReportType,
} from '../../src/api/reports/index.ts';
import { policyReports } from '../../src/scanner/report/policyreport.ts';
import { waitFor } from '../../src/util/time.ts';
import { exportReport, OutputError, type OutputContext } from '../../src/runner/outputs/index.ts';
import type { Report } from '../../src/scanner/report/report.ts';
import { sampleReport } from '../support/sample-report.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { PostgresServer, type DatabaseOptions } from '../testbed/postgres.ts';
import pg from 'pg';
import { serveHttps, webhookServingCert, type HttpsServer } from '../testbed/webhooks.ts';
import type { RetryPolicy } from '../../src/runner/outputs/webhook.ts';

let cp: ControlPlane;
let client: KubeClient;
let namespaces = 0;

before(async () => {
  cp = await ControlPlane.start({ name: 'outputs', controllerManager: false });
  client = cp.client('argus-test/runner-outputs');
});

after(async () => {
  await cp?.stop();
});

async function namespace(): Promise<string> {
  const name = `outputs-${++namespaces}`;
  await client.create(Resources.namespaces, { metadata: { name } });
  return name;
}

const ctx = (scanName = 'scan-1', scanUid = '4a8c2f0e-0000-4000-8000-000000000001'): OutputContext => ({
  client,
  scanName,
  scanUid,
});

interface ConfigMapObject {
  metadata: { labels?: Record<string, string>; resourceVersion?: string };
  binaryData?: Record<string, string>;
}

/** A report that gzips to about `bytes`: random (incompressible) messages. */
function largeReport(bytes: number): Report {
  const report = sampleReport();
  const checks = Array.from({ length: Math.ceil(bytes / 7_600) }, () => ({
    status: 'Failed' as const,
    message: randomBytes(7_500).toString('base64'),
  }));
  report.providers[0]!.rulesets[0]!.rules.push({ id: 'big', name: 'big', checks });
  return report;
}

describe('configMap output', () => {
  test('round trip: the ConfigMap holds the gzipped report, labelled with the scan', async () => {
    const ns = await namespace();
    const report = sampleReport();
    const details = await exportReport(report, { output: { configMap: { namespace: ns } } }, ctx('weekly-1'));
    assert.deepEqual(details, { configMapRef: { name: 'compliance-scan-report-weekly-1', namespace: ns } });
    const cm = await client.get<ConfigMapObject>(Resources.configMaps, 'compliance-scan-report-weekly-1', ns);
    const gz = Buffer.from(cm.binaryData?.['report.json.gz'] ?? '', 'base64');
    assert.deepEqual(JSON.parse(gunzipSync(gz).toString('utf8')), report);
    assert.equal(cm.metadata.labels?.['compliancescan.diki.gardener.cloud/name'], 'weekly-1');
    assert.equal(cm.metadata.labels?.['compliancescan.diki.gardener.cloud/uid'], ctx().scanUid);
  });

  test('exporting again replaces the report (idempotent), with a custom prefix', async () => {
    const ns = await namespace();
    const spec = { output: { configMap: { namespace: ns, namePrefix: 'r-' } } };
    await exportReport(sampleReport(), spec, ctx());
    const second = sampleReport({ time: '2026-01-01T00:00:00.000Z' });
    const details = await exportReport(second, spec, ctx());
    assert.deepEqual(details, { configMapRef: { name: 'r-scan-1', namespace: ns } });
    const again = await exportReport(second, spec, ctx());
    assert.deepEqual(again, details);
    const list = await client.list<ConfigMapObject>(Resources.configMaps, {
      namespace: ns,
      labelSelector: 'app.kubernetes.io/managed-by=argus',
    });
    assert.equal(list.items.length, 1);
    const gz = Buffer.from(list.items[0]!.binaryData?.['report.json.gz'] ?? '', 'base64');
    assert.deepEqual(JSON.parse(gunzipSync(gz).toString('utf8')), second);
  });

  test('a report over 1 MiB gzipped fails clearly and writes nothing', async () => {
    const ns = await namespace();
    const report = largeReport(1_300_000);
    await assert.rejects(
      exportReport(report, { output: { configMap: { namespace: ns } } }, ctx('big')),
      (err: unknown) => {
        assert.ok(err instanceof OutputError);
        assert.equal(err.reason, 'ReportTooLarge');
        assert.match(err.message, /1\.\d\d MiB \(\d+ bytes\), over the ConfigMap limit of 1\.00 MiB \(1048576 bytes\)/);
        return true;
      },
    );
    assert.equal(await client.getOrUndefined(Resources.configMaps, 'compliance-scan-report-big', ns), undefined);
  });

  test('a report just under the limit is written whole', async () => {
    const ns = await namespace();
    const report = largeReport(900_000);
    await exportReport(report, { output: { configMap: { namespace: ns } } }, ctx('almost'));
    const cm = await client.get<ConfigMapObject>(Resources.configMaps, 'compliance-scan-report-almost', ns);
    const gz = Buffer.from(cm.binaryData?.['report.json.gz'] ?? '', 'base64');
    assert.deepEqual(JSON.parse(gunzipSync(gz).toString('utf8')), report);
  });
});

describe('webhook output', () => {
  const hmacKey = randomBytes(32).toString('hex');
  const token = 'bearer-token-1';
  const fast: RetryPolicy = {
    attempts: 4,
    initialDelayMs: 20,
    maxDelayMs: 200,
    totalMs: 10_000,
    attemptTimeoutMs: 5_000,
  };
  let server: HttpsServer;
  let ns: string;
  interface Received {
    headers: IncomingMessage['headers'];
    body: string;
  }
  let received: Received[] = [];
  /** Status codes to answer, in order; 200 once they run out. */
  let answers: number[] = [];
  /** Retry-After of the error answers, when set. */
  let retryAfter: string | undefined;

  before(async () => {
    const { ca, cert } = await webhookServingCert();
    server = await serveHttps(
      async (req: IncomingMessage, res: ServerResponse) => {
        let body = '';
        for await (const chunk of req) body += (chunk as Buffer).toString();
        received.push({ headers: req.headers, body });
        const code = answers.shift() ?? 200;
        res.writeHead(code, {
          'content-type': 'text/plain',
          ...(code !== 200 && retryAfter ? { 'retry-after': retryAfter } : {}),
        });
        res.end(code === 200 ? 'ok' : `answer ${code}`);
      },
      { cert: cert.certPem, key: cert.keyPem },
    );
    ns = await namespace();
    await client.create(Resources.secrets, {
      metadata: { name: 'hook-credentials', namespace: ns },
      stringData: { hmacKey, token },
    } as never);
    await client.create(Resources.secrets, {
      metadata: { name: 'hook-ca', namespace: ns },
      stringData: { 'ca.crt': ca.certPem },
    } as never);
  });

  after(async () => {
    await server?.close();
  });

  const spec = () => ({
    output: {
      webhook: {
        url: `https://127.0.0.1:${server.port}/reports`,
        credentialsRef: { name: 'hook-credentials', namespace: ns },
        tls: { caSecretRef: { name: 'hook-ca', namespace: ns } },
      },
    },
  });

  const reset = (codes: number[] = []): void => {
    received = [];
    answers = codes;
    retryAfter = undefined;
  };

  /** What a receiver does: HMAC over "<timestamp>.<body>", constant-time compare, fresh timestamp. */
  function verify(r: Received): boolean {
    const timestamp = String(r.headers['x-argus-timestamp']);
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
    const expected = Buffer.from(
      `sha256=${createHmac('sha256', hmacKey).update(`${timestamp}.${r.body}`).digest('hex')}`,
    );
    const got = Buffer.from(String(r.headers['x-argus-signature']));
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  test('POSTs the report, signed (the signature verifies) and with the bearer token', async () => {
    reset();
    const report = sampleReport();
    const details = await exportReport(report, spec(), ctx(), { webhookRetry: fast });
    assert.deepEqual(details, { webhookRef: { url: spec().output.webhook.url } });
    assert.equal(received.length, 1);
    const r = received[0]!;
    assert.deepEqual(JSON.parse(r.body), report);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers.authorization, `Bearer ${token}`);
    assert.equal(r.headers['x-argus-scan-uid'], ctx().scanUid);
    assert.ok(verify(r), 'signature verifies');
    assert.ok(!verify({ ...r, body: r.body.replace('prod-eu1', 'prod-eu2') }), 'a changed body does not verify');
    assert.ok(
      !verify({
        ...r,
        headers: { ...r.headers, 'x-argus-timestamp': String(Number(r.headers['x-argus-timestamp']) - 1) },
      }),
      'a changed timestamp does not verify',
    );
  });

  test('retries after 500 and 503, then succeeds; each attempt signed', async () => {
    reset([500, 503, 429]);
    await exportReport(sampleReport(), spec(), ctx(), { webhookRetry: fast });
    assert.equal(received.length, 4);
    for (const r of received) assert.ok(verify(r));
  });

  test('fails permanently after the attempt limit, naming the attempts and the last answer', async () => {
    reset([503, 503, 503, 503, 503, 503]);
    await assert.rejects(exportReport(sampleReport(), spec(), ctx(), { webhookRetry: fast }), (err: unknown) => {
      assert.ok(err instanceof OutputError);
      assert.equal(err.reason, 'WebhookFailed');
      assert.match(err.message, /failed after 4 attempts .*last: 503 answer 503/);
      return true;
    });
    assert.equal(received.length, 4);
  });

  test('stops at the total time limit', async () => {
    reset([500, 500, 500, 500, 500]);
    const slow = { ...fast, attempts: 10, initialDelayMs: 150, totalMs: 400 };
    await assert.rejects(
      exportReport(sampleReport(), spec(), ctx(), { webhookRetry: slow }),
      /WebhookFailed|failed after/,
    );
    assert.ok(received.length >= 2 && received.length < 5, `${received.length} attempts`);
  });

  test('Retry-After is honoured (up to the delay cap)', async () => {
    reset([503]);
    retryAfter = '1';
    const started = Date.now();
    await exportReport(sampleReport(), spec(), ctx(), {
      webhookRetry: { ...fast, initialDelayMs: 10, maxDelayMs: 5_000 },
    });
    assert.equal(received.length, 2);
    assert.ok(Date.now() - started >= 1_000, `retried after ${Date.now() - started} ms`);
  });

  test('an aborted export stops retrying at once', async () => {
    reset([503, 503, 503, 503]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await assert.rejects(
      exportReport(
        sampleReport(),
        spec(),
        { ...ctx(), signal: controller.signal },
        {
          webhookRetry: { ...fast, initialDelayMs: 5_000, maxDelayMs: 5_000 },
        },
      ),
      (err: unknown) => err instanceof OutputError && err.reason === 'Aborted',
    );
    assert.ok(Date.now() - started < 2_000);
    assert.equal(received.length, 1);
  });

  test('a 4xx other than 408/429 is not retried', async () => {
    reset([403]);
    await assert.rejects(exportReport(sampleReport(), spec(), ctx(), { webhookRetry: fast }), (err: unknown) => {
      assert.ok(err instanceof OutputError);
      assert.equal(err.reason, 'WebhookRejected');
      assert.match(err.message, /403 answer 403 \(not retried\)/);
      return true;
    });
    assert.equal(received.length, 1);
  });

  test('without the CA the server is not trusted', async () => {
    reset();
    const s = spec();
    const { tls: _tls, ...noCA } = s.output.webhook;
    await assert.rejects(
      exportReport(sampleReport(), { output: { webhook: noCA } }, ctx(), { webhookRetry: { ...fast, attempts: 1 } }),
      /certificate/,
    );
    assert.equal(received.length, 0);
  });

  test('a Secret with neither hmacKey nor token fails instead of sending unsigned', async () => {
    reset();
    await client.create(Resources.secrets, {
      metadata: { name: 'hook-misspelt', namespace: ns },
      stringData: { 'hmac-key': hmacKey },
    } as never);
    const s = spec();
    s.output.webhook.credentialsRef.name = 'hook-misspelt';
    await assert.rejects(exportReport(sampleReport(), s, ctx(), { webhookRetry: fast }), (err: unknown) => {
      assert.ok(err instanceof OutputError);
      assert.equal(err.reason, 'SecretKeyMissing');
      assert.match(err.message, /has neither hmacKey nor token/);
      return true;
    });
    assert.equal(received.length, 0);
  });

  test('a missing Secret fails clearly', async () => {
    reset();
    const s = spec();
    s.output.webhook.credentialsRef.name = 'nope';
    await assert.rejects(exportReport(sampleReport(), s, ctx(), { webhookRetry: fast }), (err: unknown) => {
      assert.ok(err instanceof OutputError);
      assert.equal(err.reason, 'SecretNotFound');
      assert.match(err.message, new RegExp(`Secret ${ns}/nope not found`));
      return true;
    });
  });
});

describe('postgresql output', () => {
  let server: PostgresServer;
  let db: DatabaseOptions;
  let ns: string;

  before(async () => {
    server = await PostgresServer.start();
    db = await server.createDatabase('outputs');
    ns = await namespace();
    await client.create(Resources.secrets, {
      metadata: { name: 'pg-credentials', namespace: ns },
      stringData: { username: db.user, password: db.password },
    } as never);
    await client.create(Resources.secrets, {
      metadata: { name: 'pg-wrong', namespace: ns },
      stringData: { username: db.user, password: 'wrong' },
    } as never);
  });

  after(async () => {
    await server?.destroy();
  });

  const spec = (table: string, secret = 'pg-credentials') => ({
    output: {
      postgresql: {
        url: `postgres://${db.host}:${db.port}`,
        database: db.database,
        table,
        credentialsRef: { name: secret, namespace: ns },
      },
    },
  });

  async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const c = new pg.Client({ ...db });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  const findings = (report: Report): number =>
    report.providers
      .flatMap((p) => p.rulesets.flatMap((rs) => rs.rules.flatMap((r) => r.checks)))
      .reduce((n, c) => n + Math.max(1, c.targets?.length ?? 0), 0);

  test('creates the schema, writes one report row and one row per result', async () => {
    const report = sampleReport();
    const details = await exportReport(report, spec('compliance_reports'), ctx('pg-scan', 'uid-pg-1'));
    assert.deepEqual(details, {
      postgresRef: {
        url: spec('x').output.postgresql.url,
        database: db.database,
        table: 'compliance_reports',
        recordId: 'uid-pg-1',
      },
    });
    const rows = await query<{ scan_name: string; report: unknown; metadata: unknown; scanner_version: string }>(
      'SELECT * FROM compliance_reports WHERE scan_uid = $1',
      ['uid-pg-1'],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.scan_name, 'pg-scan');
    assert.deepEqual(rows[0]!.report, report);
    assert.deepEqual(rows[0]!.metadata, report.metadata);
    assert.equal(rows[0]!.scanner_version, report.dikiVersion);
    const [count] = await query<{ n: string }>(
      'SELECT count(*) AS n FROM compliance_reports_results WHERE scan_uid = $1',
      ['uid-pg-1'],
    );
    assert.equal(Number(count!.n), findings(report));
    const failed = await query<{ rule_id: string; severity: string; target: Record<string, string> }>(
      `SELECT rule_id, severity, target FROM compliance_reports_results
       WHERE scan_uid = $1 AND ruleset = 'disa-kubernetes-stig' AND status = 'Failed' AND rule_id = '242383'
       ORDER BY target->>'kind'`,
      ['uid-pg-1'],
    );
    assert.deepEqual(
      failed.map((r) => [r.rule_id, r.severity, r.target.kind]),
      [
        ['242383', 'High', 'ConfigMap'],
        ['242383', 'High', 'Deployment'],
        ['242383', 'High', 'Service'],
      ],
    );
  });

  test('exporting a scan again replaces its rows (idempotent per scan uid); other scans stay', async () => {
    const table = 'audit.scan_reports';
    await exportReport(sampleReport(), spec(table), ctx('a', 'uid-a'));
    await exportReport(sampleReport(), spec(table), ctx('b', 'uid-b'));
    const changed = sampleReport({ time: '2026-02-02T00:00:00.000Z' });
    changed.providers[0]!.rulesets.pop();
    await exportReport(changed, spec(table), ctx('a', 'uid-a'));
    await exportReport(changed, spec(table), ctx('a', 'uid-a'));
    const reports = await query<{ scan_uid: string; report_time: Date }>(
      'SELECT scan_uid, report_time FROM audit.scan_reports ORDER BY scan_uid',
    );
    assert.deepEqual(
      reports.map((r) => [r.scan_uid, r.report_time.toISOString()]),
      [
        ['uid-a', '2026-02-02T00:00:00.000Z'],
        ['uid-b', sampleReport().time],
      ],
    );
    const counts = await query<{ scan_uid: string; n: string }>(
      'SELECT scan_uid, count(*) AS n FROM audit.scan_reports_results GROUP BY scan_uid ORDER BY scan_uid',
    );
    assert.deepEqual(
      counts.map((c) => [c.scan_uid, Number(c.n)]),
      [
        ['uid-a', findings(changed)],
        ['uid-b', findings(sampleReport())],
      ],
    );
  });

  test('concurrent exports to a new table do not race on the schema', async () => {
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => exportReport(sampleReport(), spec('racing'), ctx(`r${i}`, `uid-r${i}`))),
    );
    const [count] = await query<{ n: string }>('SELECT count(*) AS n FROM racing');
    assert.equal(Number(count!.n), 4);
  });

  test('tls.enabled against a server without TLS fails clearly', async () => {
    const s = spec('t');
    await assert.rejects(
      exportReport(
        sampleReport(),
        { output: { postgresql: { ...s.output.postgresql, tls: { enabled: true } } } },
        ctx(),
      ),
      (err: unknown) => {
        assert.ok(err instanceof OutputError);
        assert.equal(err.reason, 'DatabaseUnavailable');
        assert.match(err.message, /does not support SSL/);
        return true;
      },
    );
  });

  test('wrong credentials and a bad table name fail clearly', async () => {
    await assert.rejects(exportReport(sampleReport(), spec('t', 'pg-wrong'), ctx()), (err: unknown) => {
      assert.ok(err instanceof OutputError);
      assert.equal(err.reason, 'DatabaseUnavailable');
      assert.match(err.message, /password authentication failed/);
      return true;
    });
    await assert.rejects(exportReport(sampleReport(), spec('bad-name; drop'), ctx()), (err: unknown) => {
      assert.ok(err instanceof OutputError);
      assert.equal(err.reason, 'InvalidTable');
      return true;
    });
    await assert.rejects(exportReport(sampleReport(), spec('t', 'missing'), ctx()), /SecretNotFound|not found/);
  });
});

/**
 * The reportsAPI cases against `setup()`'s cluster: the report types as CRDs of the testbed's kube-apiserver,
 * or served by the reports API server through the aggregation layer (what `./dev up` and the Helm chart run).
 */
function reportsApiSuite(title: string, setup: () => Promise<KubeClient>, teardown: () => Promise<void>): void {
  describe(title, () => {
    let rc: KubeClient;
    const rctx = (scanName: string, scanUid: string): OutputContext => ({ ...ctx(scanName, scanUid), client: rc });

    interface ReportObject extends KubeObject {
      source?: string;
      results: { policy: string; rule: string; result: string }[];
      summary: Record<string, number>;
    }
    before(async () => {
      rc = await setup();
      await waitFor('report types served', async () => {
        for (const t of reportTypes) await rc.list(t, { limit: 1 });
        return true;
      });
      for (const name of ['ingress', 'monitoring', 'payments'])
        await rc.create(Resources.namespaces, { metadata: { name } });
      // `shop` does not exist: its reports are skipped.
    });

    after(teardown);

    const key = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    const byKey = (items: KubeObject[]): string[] => items.map(key).sort();

    async function listed(type: ReportType, source: string): Promise<ReportObject[]> {
      return (await rc.listAll<ReportObject>(type, { labelSelector: `reports.argus.io/source=${source}` })).items;
    }

    test('writes a PolicyReport per namespace with findings and a ClusterPolicyReport per ruleset', async () => {
      const report = sampleReport();
      const details = await exportReport(
        report,
        { output: { reportsAPI: { namePrefix: 'p1-' } } },
        rctx('s1', 'uid-s1'),
      );
      const expected = policyReports(report).filter(
        (o) =>
          o.metadata.namespace === undefined ||
          (!['shop'].includes(o.metadata.namespace) && /^[a-z]/.test(o.metadata.namespace)),
      );
      assert.deepEqual(details, { reportsAPIRef: { apiVersion: 'wgpolicyk8s.io/v1alpha2', reports: expected.length } });
      const namespaced = await listed(policyReportType, 'p1');
      const cluster = await listed(clusterPolicyReportType, 'p1');
      assert.deepEqual(
        byKey([...namespaced, ...cluster]),
        byKey(expected.map((o) => ({ metadata: { ...o.metadata, name: o.metadata.name.replace(/^argus-/, 'p1-') } }))),
      );
      const stig = cluster.find((o) => o.metadata?.name === 'p1-disa-kubernetes-stig')!;
      const want = expected.find(
        (o) => o.kind === 'ClusterPolicyReport' && o.metadata.name === 'argus-disa-kubernetes-stig',
      )!;
      assert.deepEqual(stig.results, want.results);
      assert.deepEqual(stig.summary, want.summary);
      assert.equal(stig.metadata?.labels?.['compliancescan.diki.gardener.cloud/uid'], 'uid-s1');
    });

    test('a later scan replaces the results, removes reports it no longer produces, leaves other sources', async () => {
      const spec = { output: { reportsAPI: { namePrefix: 'p2-' } } };
      await exportReport(sampleReport(), spec, rctx('s2', 'uid-s2'));
      await exportReport(sampleReport(), { output: { reportsAPI: { namePrefix: 'other-' } } }, rctx('o', 'uid-o'));
      const later = sampleReport({ time: '2026-03-01T00:00:00.000Z' });
      later.providers[0]!.rulesets = later.providers[0]!.rulesets.filter((rs) => rs.id === 'security-hardened-k8s');
      const details = await exportReport(later, spec, rctx('s3', 'uid-s3'));
      const expected = policyReports(later).filter((o) => o.metadata.namespace !== 'shop');
      assert.deepEqual(details, { reportsAPIRef: { apiVersion: 'wgpolicyk8s.io/v1alpha2', reports: expected.length } });
      const now = [...(await listed(policyReportType, 'p2')), ...(await listed(clusterPolicyReportType, 'p2'))];
      assert.deepEqual(
        byKey(now),
        byKey(expected.map((o) => ({ metadata: { ...o.metadata, name: o.metadata.name.replace(/^argus-/, 'p2-') } }))),
      );
      for (const o of now) {
        assert.equal(o.metadata?.labels?.['compliancescan.diki.gardener.cloud/uid'], 'uid-s3');
        for (const r of o.results) assert.equal(r.policy, 'security-hardened-k8s/v0.1.0');
      }
      assert.ok((await listed(clusterPolicyReportType, 'other')).length === 3, 'the other source keeps its reports');
      // Exporting the same scan again changes nothing.
      await exportReport(later, spec, rctx('s3', 'uid-s3'));
      const again = [...(await listed(policyReportType, 'p2')), ...(await listed(clusterPolicyReportType, 'p2'))];
      assert.deepEqual(byKey(again), byKey(now));
      for (const o of again) {
        const old = now.find((n) => key(n) === key(o))!;
        assert.deepEqual([o.results, o.summary, o.metadata?.labels], [old.results, old.summary, old.metadata?.labels]);
        // A no-op apply stays a no-op on both servers: no new resourceVersion, no new managedFields time.
        assert.equal(o.metadata?.resourceVersion, old.metadata?.resourceVersion);
      }
    });

    test('openreports.io/v1alpha1: Reports and ClusterReports with source argus', async () => {
      const details = await exportReport(
        sampleReport(),
        { output: { reportsAPI: { apiVersion: 'openreports.io/v1alpha1', namePrefix: 'open-' } } },
        rctx('s4', 'uid-s4'),
      );
      const reports = await listed(reportType, 'open');
      const cluster = await listed(clusterReportType, 'open');
      assert.equal(details.reportsAPIRef?.reports, reports.length + cluster.length);
      assert.equal(cluster.length, 3);
      for (const o of [...reports, ...cluster]) assert.equal(o.source, 'argus');
      assert.equal((await listed(clusterPolicyReportType, 'open')).length, 0);
    });
  });
}

reportsApiSuite(
  'reportsAPI output (report CRDs)',
  async () => {
    for (const crd of reportCrds()) await client.create(Resources.customResourceDefinitions, crd as never);
    return client;
  },
  async () => undefined,
);

{
  let apiCp: ControlPlane | undefined;
  let storage: ReportStorage | undefined;
  let aggregated: AggregatedReportsServer | undefined;
  let dir = '';
  reportsApiSuite(
    'reportsAPI output (reports API server)',
    async () => {
      apiCp = await ControlPlane.start({ name: 'outputs-reports', controllerManager: false });
      dir = mkdtempSync(join(tmpdir(), 'argus-outputs-reports-'));
      storage = await openSqliteStorage({ path: join(dir, 'reports.db'), compactIntervalMs: 0 });
      aggregated = await startAggregatedReportsServer(apiCp, storage, dir);
      return apiCp.client('argus-test/runner-outputs');
    },
    async () => {
      await aggregated?.close();
      await storage?.close();
      await apiCp?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  );
}
