// The compliance operator end to end with two control planes: the target holds the ComplianceScans, the
// runner runs their Jobs on a node agent (the Job's containers are real `argus run` processes). The operator
// acts with its least-privilege RBAC in both clusters (src/operator/rbac.ts), the Jobs with per-scan tokens.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { V1Job } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import {
  complianceScanType,
  reportOutputType,
  scheduledComplianceScanType,
  type ComplianceScan,
  type ReportOutput,
  type ScheduledComplianceScan,
} from '../../src/api/diki/index.ts';
import { clusterPolicyReportType, policyReportType, reportCrds } from '../../src/api/reports/index.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Resources, type KubeObject } from '../../src/kube/resources.ts';
import { SCAN_UID_LABEL, jobName } from '../../src/operator/names.ts';
import { Operator, type OperatorOptions } from '../../src/operator/operator.ts';
import { waitFor } from '../../src/util/time.ts';
import { prepareOperatorClusters } from '../support/operator.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { NodeAgent } from '../testbed/node-agent/index.ts';
import { PostgresServer } from '../testbed/postgres.ts';
import { serveHttps, webhookServingCert, type HttpsServer } from '../testbed/webhooks.ts';
import pg from 'pg';

const RUNNER_NAMESPACE = 'shoot--argus--target';
const cscan = complianceScanType.resourceType;
const ro = reportOutputType.resourceType;
const scscan = scheduledComplianceScanType.resourceType;

let target: ControlPlane;
let runner: ControlPlane;
let agent: NodeAgent;
let targetAdmin: KubeClient;
let runnerAdmin: KubeClient;
let operatorTarget: KubeClient;
let operatorRunner: KubeClient;
let scans = 0;

before(async () => {
  [target, runner] = await Promise.all([
    ControlPlane.start({ name: 'operator-target', controllerManager: false }),
    ControlPlane.start({ name: 'operator-runner' }),
  ]);
  targetAdmin = target.client();
  runnerAdmin = runner.client();
  agent = await NodeAgent.start(runner, { name: 'seed-node' });
  await prepareOperatorClusters(target, runner, RUNNER_NAMESPACE, reportCrds());
  operatorTarget = new KubeClient(target.kubeConfig(await target.identity('argus-operator')), {
    userAgent: 'argus-operator-test',
  });
  operatorRunner = new KubeClient(runner.kubeConfig(await runner.identity('argus-operator')), {
    userAgent: 'argus-operator-test',
  });
});

after(async () => {
  await Promise.all([operatorTarget?.close(), operatorRunner?.close()]);
  await agent?.stop();
  await Promise.all([target?.stop(), runner?.stop()]);
});

/** Runs an operator until the returned stop() (one at a time: they would share the runner namespace). */
function startOperator(options: Partial<OperatorOptions> = {}): { operator: Operator; stop: () => Promise<void> } {
  const operator = new Operator({
    runner: operatorRunner,
    target: operatorTarget,
    runnerNamespace: RUNNER_NAMESPACE,
    image: 'argus',
    jobServiceAccount: 'kube-system/argus-runner',
    timeoutSeconds: 300,
    ...options,
  });
  const abort = new AbortController();
  const running = operator.run(abort.signal);
  return {
    operator,
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}

type Scan = ComplianceScan & KubeObject;

/**
 * Counts the Jobs created in the runner namespace per scan UID (a watch from now on), their creation order, and
 * the most Jobs unfinished at one time.
 */
function watchJobCreations(): {
  of: (scanUid: string) => number;
  order: string[];
  peak: () => number;
  stop: () => void;
} {
  const created = new Map<string, Set<string>>();
  const order: string[] = [];
  const unfinished = new Set<string>();
  let peak = 0;
  const abort = new AbortController();
  void (async () => {
    const list = await runnerAdmin.list(Resources.jobs, { namespace: RUNNER_NAMESPACE });
    for await (const event of runnerAdmin.watch<V1Job & KubeObject>(Resources.jobs, {
      namespace: RUNNER_NAMESPACE,
      resourceVersion: list.metadata.resourceVersion,
      signal: abort.signal,
    })) {
      const scanUid = event.object.metadata?.labels?.[SCAN_UID_LABEL];
      if (!scanUid) continue;
      const done =
        event.type === 'DELETED' ||
        !!event.object.metadata?.deletionTimestamp ||
        !!event.object.status?.conditions?.some(
          (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        );
      if (done) unfinished.delete(scanUid);
      else unfinished.add(scanUid);
      peak = Math.max(peak, unfinished.size);
      if (event.type !== 'ADDED') continue;
      if (!created.has(scanUid)) created.set(scanUid, new Set());
      created.get(scanUid)!.add(event.object.metadata!.uid!);
      order.push(scanUid);
    }
  })().catch(() => undefined);
  return { of: (uid) => created.get(uid)?.size ?? 0, order, peak: () => peak, stop: () => abort.abort() };
}

async function createScan(spec: ComplianceScan['spec']): Promise<Scan> {
  return targetAdmin.create<Scan>(cscan, {
    apiVersion: complianceScanType.apiVersion,
    kind: 'ComplianceScan',
    metadata: { name: `scan-${String(++scans).padStart(3, '0')}` },
    spec,
  });
}

async function createOutput(name: string, output: ReportOutput['spec']['output']): Promise<void> {
  await targetAdmin.create<ReportOutput & KubeObject>(ro, {
    apiVersion: reportOutputType.apiVersion,
    kind: 'ReportOutput',
    metadata: { name },
    spec: { output },
  });
}

async function finished(scan: Scan, timeoutMs = 120_000): Promise<Scan> {
  return waitFor(
    `${scan.metadata?.name} to finish`,
    async () => {
      const current = await targetAdmin.get<Scan>(cscan, scan.metadata!.name!);
      return current.status?.phase === 'Completed' || current.status?.phase === 'Failed' ? current : undefined;
    },
    { timeoutMs },
  );
}

async function jobsOf(scan: Scan): Promise<V1Job[]> {
  const list = await runnerAdmin.list<V1Job & KubeObject>(Resources.jobs, {
    namespace: RUNNER_NAMESPACE,
    labelSelector: `${SCAN_UID_LABEL}=${scan.metadata!.uid}`,
  });
  return list.items;
}

async function eventReasons(scan: Scan): Promise<string[]> {
  const events = await targetAdmin.list<KubeObject & { reason?: string; regarding?: { uid?: string } }>(
    Resources.events,
    { namespace: 'default' },
  );
  return events.items.filter((e) => e.regarding?.uid === scan.metadata?.uid).map((e) => e.reason ?? '');
}

const RULESET = [{ id: 'security-hardened-k8s' }];

describe('ComplianceScan', () => {
  let op: ReturnType<typeof startOperator>;
  before(async () => {
    await createOutput('configmap', { configMap: { namespace: 'kube-system', namePrefix: 'report-' } });
    await createOutput('broken', { configMap: { namespace: 'does-not-exist' } });
    op = startOperator({ probes: { port: 0, host: '127.0.0.1' } });
  });
  after(async () => {
    await op.stop();
  });

  test('runs in a Job on the runner, exports the report and completes with a summary per ruleset', async () => {
    const scan = await createScan({
      rulesets: RULESET,
      outputs: [{ name: 'configmap' }, { name: 'missing', optional: true }],
    });
    const done = await finished(scan);
    assert.equal(done.status?.phase, 'Completed', JSON.stringify(done.status));
    const condition = done.status?.conditions?.find((c) => c.type === 'Completed');
    assert.equal(condition?.status, 'True');
    assert.equal(condition?.reason, 'ComplianceScanCompleted');
    assert.equal(done.status?.rulesets?.[0]?.id, 'security-hardened-k8s');
    assert.equal(done.status?.rulesets?.[0]?.version, 'v0.1.0');
    assert.ok((done.status?.summary?.passed ?? 0) + (done.status?.summary?.failed ?? 0) > 0);
    assert.equal(done.status?.summary?.rulesets, 'security-hardened-k8s@v0.1.0');
    const outputs = Object.fromEntries((done.status?.outputs ?? []).map((o) => [o.outputName, o]));
    assert.equal(outputs.configmap?.phase, 'Completed');
    assert.deepEqual(outputs.configmap?.details?.configMapRef, {
      name: `report-${scan.metadata!.name}`,
      namespace: 'kube-system',
    });
    assert.equal(outputs.missing?.phase, 'Failed');
    assert.equal(outputs.missing?.reason, 'ReportOutputNotFound');
    const report = await targetAdmin.get<KubeObject & { binaryData?: Record<string, string> }>(
      Resources.configMaps,
      `report-${scan.metadata!.name}`,
      'kube-system',
    );
    assert.ok(report.binaryData?.['report.json.gz']);
    // The finished Job goes, with its ConfigMap and credentials Secret (owned by it).
    await waitFor('the Job deleted', async () => ((await jobsOf(scan)).length === 0 ? true : undefined));
    await waitFor('the credentials Secret collected', async () => {
      const secrets = await runnerAdmin.list(Resources.secrets, {
        namespace: RUNNER_NAMESPACE,
        labelSelector: `${SCAN_UID_LABEL}=${scan.metadata!.uid}`,
      });
      return secrets.items.length === 0 ? true : undefined;
    });
    const reasons = await waitFor('events on the scan', async () => {
      const r = await eventReasons(scan);
      return r.includes('ComplianceScanCompleted') ? r : undefined;
    });
    assert.ok(reasons.includes('Started'), reasons.join());
    const started = (
      await targetAdmin.list<KubeObject & { reason?: string; note?: string }>(Resources.events, {
        namespace: 'default',
      })
    ).items.find((e) => e.reason === 'Started' && e.note?.includes(jobName(scan.metadata!.uid!)));
    assert.ok(started, 'the Started event names the Job');
    assert.ok(reasons.includes('OptionalOutputFailed'), reasons.join());
    // Metrics: scans by phase, durations, running Jobs, the optional output's failure.
    const metrics = await (await fetch(`http://127.0.0.1:${op.operator.manager.probePort}/metrics`)).text();
    assert.match(metrics, /^argus_operator_scan_duration_seconds_count\{phase="Completed"\} [1-9]/m);
    assert.match(metrics, /^argus_operator_output_failures_total\{reason="ReportOutputNotFound"\} [1-9]/m);
    assert.match(metrics, /^argus_operator_running_jobs /m);
    assert.match(metrics, /^argus_operator_scans\{phase="Running"\} /m);
    // Deleting the scan keeps what it exported.
    await targetAdmin.delete(cscan, scan.metadata!.name!);
    assert.ok(await targetAdmin.getOrUndefined(Resources.configMaps, `report-${scan.metadata!.name}`, 'kube-system'));
  });

  test('a failing required output fails the scan with the reason in status.outputs', async () => {
    const scan = await createScan({ rulesets: RULESET, outputs: [{ name: 'broken' }] });
    const done = await finished(scan);
    assert.equal(done.status?.phase, 'Failed', JSON.stringify(done.status?.outputs));
    const condition = done.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(condition?.reason, 'OutputFailed');
    assert.match(condition?.message ?? '', /output broken failed/);
    assert.equal(done.status?.outputs?.[0]?.phase, 'Failed');
    assert.ok(done.status?.rulesets?.length, 'the summary is there even though the output failed');
  });

  test('rule options from ConfigMaps: invalid ones fail the scan before any Job, with the field', async () => {
    await targetAdmin.create(Resources.configMaps, {
      metadata: { name: 'scan-options', namespace: 'kube-system' },
      data: {
        'security-hardened-k8s-rules': stringify([{ ruleID: '2000', args: { acceptedNamespaces: 'not-a-list' } }]),
        good: stringify([{ ruleID: '2000', skip: { enabled: true, justification: 'tested elsewhere' } }]),
      },
    });
    const bad = await createScan({
      rulesets: [{ id: 'security-hardened-k8s', options: { rules: { configMapRef: { name: 'scan-options' } } } }],
    });
    const missing = await createScan({
      rulesets: [{ id: 'security-hardened-k8s', options: { rules: { configMapRef: { name: 'nope' } } } }],
    });
    const good = await createScan({
      rulesets: [
        { id: 'security-hardened-k8s', options: { rules: { configMapRef: { name: 'scan-options', key: 'good' } } } },
      ],
    });
    const [badDone, missingDone, goodDone] = await Promise.all([finished(bad), finished(missing), finished(good)]);
    const badCondition = badDone.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(badCondition?.reason, 'InvalidConfiguration');
    assert.match(badCondition?.message ?? '', /ruleOptions\[0\]\.args/);
    assert.equal(missingDone.status?.conditions?.[0]?.reason, 'ConfigMapNotFound');
    assert.match(
      missingDone.status?.conditions?.[0]?.message ?? '',
      /spec\.rulesets\[0\]\.options\.rules\.configMapRef/,
    );
    assert.equal((await jobsOf(bad)).length, 0);
    assert.equal(goodDone.status?.phase, 'Completed', JSON.stringify(goodDone.status?.conditions));
    // diki reports a rule skipped by its options as Accepted, with the justification.
    const accepted = goodDone.status?.rulesets?.[0]?.results?.summary?.accepted ?? 0;
    assert.ok(accepted >= 1, 'rule 2000 was accepted as the options said');
  });
});

describe('ScheduledComplianceScan', () => {
  test('creates a scan at the scheduled minute that runs in a Job; the parent records it', async () => {
    // The operator's clock runs a few seconds before the next minute, so the schedule fires soon in real time.
    const now = Date.now();
    const nextMinute = Math.ceil((now + 10_000) / 60_000) * 60_000;
    const offset = nextMinute - now - 4_000;
    const op = startOperator({ clock: { now: () => new Date(Date.now() + offset) } });
    try {
      const parent = await targetAdmin.create<ScheduledComplianceScan & KubeObject>(scscan, {
        apiVersion: scheduledComplianceScanType.apiVersion,
        kind: 'ScheduledComplianceScan',
        metadata: { name: 'every-minute' },
        spec: { schedule: '* * * * *', scanTemplate: { spec: { rulesets: RULESET } } },
      });
      const childName = `every-minute-${nextMinute / 1000}`;
      const child = await waitFor('the child scan', () => targetAdmin.getOrUndefined<Scan>(cscan, childName), {
        timeoutMs: 60_000,
      });
      assert.equal(child.metadata?.ownerReferences?.[0]?.uid, parent.metadata?.uid);
      assert.deepEqual(child.spec?.rulesets, [{ id: 'security-hardened-k8s', version: 'v0.1.0' }]);
      assert.equal((await finished(child)).status?.phase, 'Completed');
      const status = await waitFor('the parent status', async () => {
        const p = await targetAdmin.get<ScheduledComplianceScan & KubeObject>(scscan, 'every-minute');
        return p.status?.lastCompletionTime && !p.status.active ? p.status : undefined;
      });
      assert.equal(status.lastScheduleTime, new Date(nextMinute).toISOString().replace('.000Z', 'Z'));
    } finally {
      await op.stop();
    }
  });
});

describe('every output type', () => {
  let op: ReturnType<typeof startOperator>;
  let postgres: PostgresServer;
  let receiver: HttpsServer;
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];
  const hmacKey = randomBytes(16).toString('hex');
  let caPem: string;
  let database: { database: string; user: string; password: string };

  before(async () => {
    const { ca, cert } = await webhookServingCert();
    caPem = ca.certPem;
    postgres = await PostgresServer.start({ tls: { certPem: cert.certPem, keyPem: cert.keyPem, caPem } });
    database = await postgres.createDatabase('operator');
    receiver = await serveHttps(
      async (req, res) => {
        let body = '';
        for await (const chunk of req) body += (chunk as Buffer).toString();
        received.push({ headers: req.headers, body });
        // /reject refuses every report (a receiver that does not want it: no retries).
        if (req.url === '/reject') res.writeHead(400).end('not for us');
        else res.writeHead(200).end('ok');
      },
      { cert: cert.certPem, key: cert.keyPem },
    );
    await targetAdmin.create(Resources.namespaces, { metadata: { name: 'compliance' } });
    const secret = (name: string, stringData: Record<string, string>) =>
      targetAdmin.create(Resources.secrets, { metadata: { name, namespace: 'compliance' }, stringData } as KubeObject);
    await secret('pg-credentials', { username: database.user, password: database.password });
    await secret('ca', { 'ca.crt': caPem });
    await secret('hook-credentials', { hmacKey });
    await createOutput('postgres', {
      postgresql: {
        url: `postgres://127.0.0.1:${postgres.port}`,
        database: database.database,
        table: 'compliance.reports',
        credentialsRef: { name: 'pg-credentials', namespace: 'compliance' },
        tls: { enabled: true, caSecretRef: { name: 'ca', namespace: 'compliance' } },
      },
    });
    await createOutput('webhook', {
      webhook: {
        url: `https://127.0.0.1:${receiver.port}/reports`,
        credentialsRef: { name: 'hook-credentials', namespace: 'compliance' },
        tls: { caSecretRef: { name: 'ca', namespace: 'compliance' } },
      },
    });
    await createOutput('reports', { reportsAPI: { namePrefix: 'argus-' } });
    // The same kinds of outputs, each failing its own way.
    await secret('pg-wrong-password', { username: database.user, password: 'wrong' });
    await createOutput('postgres-denied', {
      postgresql: {
        url: `postgres://127.0.0.1:${postgres.port}`,
        database: database.database,
        table: 'reports',
        credentialsRef: { name: 'pg-wrong-password', namespace: 'compliance' },
        tls: { enabled: true, caSecretRef: { name: 'ca', namespace: 'compliance' } },
      },
    });
    await createOutput('webhook-rejects', {
      webhook: {
        url: `https://127.0.0.1:${receiver.port}/reject`,
        credentialsRef: { name: 'hook-credentials', namespace: 'compliance' },
        tls: { caSecretRef: { name: 'ca', namespace: 'compliance' } },
      },
    });

    op = startOperator();
  });
  after(async () => {
    await op?.stop();
    await receiver?.close();
    await postgres?.destroy();
  });

  test('PostgreSQL over TLS, a signed HTTPS webhook and PolicyReports, from one scan', async () => {
    const scan = await createScan({
      rulesets: RULESET,
      outputs: [{ name: 'postgres' }, { name: 'webhook' }, { name: 'reports' }],
    });
    const done = await finished(scan);
    assert.equal(done.status?.phase, 'Completed', JSON.stringify(done.status));
    assert.deepEqual(
      done.status?.outputs?.map((o) => [o.outputName, o.phase]),
      [
        ['postgres', 'Completed'],
        ['webhook', 'Completed'],
        ['reports', 'Completed'],
      ],
    );
    // PostgreSQL: the report row (TLS only: the server refuses plain connections).
    const client = new pg.Client({ host: '127.0.0.1', port: postgres.port, ...database, ssl: { ca: caPem } });
    await client.connect();
    try {
      const rows = await client.query('SELECT scan_name FROM compliance.reports WHERE scan_uid = $1', [
        scan.metadata!.uid,
      ]);
      assert.deepEqual(rows.rows, [{ scan_name: scan.metadata!.name }]);
      const results = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM compliance.reports_results WHERE scan_uid = $1',
        [scan.metadata!.uid],
      );
      assert.ok((results.rows[0]?.n ?? 0) > 0);
    } finally {
      await client.end();
    }
    // The webhook: one delivery of this scan, signed with the Secret's key.
    const deliveries = received.filter((r) => r.headers['x-argus-scan-uid'] === scan.metadata!.uid);
    assert.equal(deliveries.length, 1);
    const { headers, body } = deliveries[0]!;
    const expected = createHmac('sha256', hmacKey)
      .update(`${String(headers['x-argus-timestamp'])}.${body}`)
      .digest('hex');
    assert.equal(headers['x-argus-signature'], `sha256=${expected}`);
    assert.equal((JSON.parse(body) as { providers: unknown[] }).providers.length, 1);
    // The reports API (here the report CRDs of the target): reports of the output's source.
    const selector = { labelSelector: 'reports.argus.io/source=argus' };
    const reports = [
      ...(await targetAdmin.listAll(clusterPolicyReportType, selector)).items,
      ...(await targetAdmin.listAll(policyReportType, selector)).items,
    ];
    assert.ok(reports.length > 0, 'PolicyReports were written');
    assert.equal(done.status?.outputs?.[2]?.details?.reportsAPIRef?.reports, reports.length);
  });

  test('each failed output has its reason in status.outputs; a required one fails the scan', async () => {
    const scan = await createScan({
      rulesets: RULESET,
      outputs: [{ name: 'postgres-denied' }, { name: 'webhook-rejects', optional: true }],
    });
    const done = await finished(scan);
    assert.equal(done.status?.phase, 'Failed', JSON.stringify(done.status?.outputs));
    const condition = done.status?.conditions?.find((c) => c.type === 'Failed');
    assert.equal(condition?.reason, 'OutputFailed');
    assert.match(condition?.message ?? '', /output postgres-denied failed/);
    assert.doesNotMatch(condition?.message ?? '', /webhook-rejects/, 'optional outputs do not fail the scan');
    const outputs = Object.fromEntries((done.status?.outputs ?? []).map((o) => [o.outputName, o]));
    assert.equal(outputs['postgres-denied']?.phase, 'Failed');
    assert.match(outputs['postgres-denied']?.message ?? '', /password authentication failed/);
    assert.equal(outputs['webhook-rejects']?.reason, 'WebhookRejected');
    assert.match(outputs['webhook-rejects']?.message ?? '', /400/);
  });
});

describe('operator restarts and failures', () => {
  test('the operator process killed (SIGKILL) mid-scan and started again finishes the scan with one Job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'argus-operator-test-'));
    const args = [
      'src/cli/main.ts',
      'operator',
      '--kubeconfig',
      runner.writeKubeconfig(join(dir, 'runner'), await runner.identity('argus-operator')),
      '--target-kubeconfig',
      target.writeKubeconfig(join(dir, 'target'), await target.identity('argus-operator')),
      '--runner-namespace',
      RUNNER_NAMESPACE,
      '--image',
      'argus',
      '--health-probe-bind-address',
      '127.0.0.1:0',
    ];
    const start = () => spawn(process.execPath, args, { stdio: 'ignore' });
    const creations = watchJobCreations();
    let proc = start();
    try {
      const scan = await createScan({ rulesets: RULESET });
      await waitFor('the scan Running', async () => {
        const s = await targetAdmin.get<Scan>(cscan, scan.metadata!.name!);
        return s.status?.phase === 'Running' ? true : undefined;
      });
      proc.kill('SIGKILL');
      await new Promise((resolve) => proc.once('exit', resolve));
      proc = start();
      const done = await finished(scan);
      assert.equal(done.status?.phase, 'Completed', JSON.stringify(done.status?.conditions));
      assert.equal(creations.of(scan.metadata!.uid!), 1, 'one Job was ever created for the scan');
      const exit = new Promise<number | null>((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      assert.equal(await exit, 0, 'the operator stops cleanly on SIGTERM');
    } finally {
      proc.kill('SIGKILL');
      creations.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with --max-running-scans 2, five scans run two Jobs at a time, oldest first, and all complete', async () => {
    const creations = watchJobCreations();
    const op = startOperator({ maxRunningScans: 2 });
    try {
      const created: Scan[] = [];
      for (let i = 0; i < 5; i++) created.push(await createScan({ rulesets: RULESET }));
      const done = await Promise.all(created.map((scan) => finished(scan, 180_000)));
      assert.deepEqual(
        done.map((s) => s.status?.phase),
        created.map(() => 'Completed'),
      );
      assert.ok(creations.peak() <= 2, `at most two Jobs at once, saw ${creations.peak()}`);
      // Oldest first: scans let in together may start their Jobs in either order, but no scan starts more than
      // one slot's worth of places away from its place in line.
      const uids = created.map((c) => c.metadata!.uid!);
      assert.deepEqual([...creations.order].sort(), [...uids].sort());
      for (const [i, uid] of uids.entries()) {
        assert.ok(
          Math.abs(creations.order.indexOf(uid) - i) < 2,
          `scan ${i} started in line: ${creations.order.join()}`,
        );
      }
    } finally {
      creations.stop();
      await op.stop();
    }
  });

  test('leader election: the second replica takes over when the leader stops', async () => {
    const fast = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };
    const a = startOperator({ leaderElection: { identity: 'replica-a', ...fast } });
    await waitFor('replica-a leads', () => (a.operator.manager.elector?.isLeader ? true : undefined));
    const b = startOperator({ leaderElection: { identity: 'replica-b', ...fast } });
    try {
      await a.stop();
      await waitFor('replica-b leads', () => (b.operator.manager.elector?.isLeader ? true : undefined));
      const scan = await createScan({ rulesets: RULESET });
      assert.equal((await finished(scan)).status?.phase, 'Completed');
    } finally {
      await b.stop();
    }
  });

  const sockets = new Set<Socket>();
  let hanging: Server;
  let hangingPort: number;
  before(async () => {
    hanging = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingPort = (hanging.address() as { port: number }).port;
  });
  after(() => {
    for (const socket of sockets) socket.destroy();
    hanging.close();
  });

  test('a target the Job cannot reach fails the scan (ScanFailed); a hanging one hits the deadline', async () => {
    let op = startOperator({ targetServer: 'https://127.0.0.1:1' });
    try {
      const unreachable = await finished(await createScan({ rulesets: RULESET }));
      const condition = unreachable.status?.conditions?.find((c) => c.type === 'Failed');
      assert.equal(condition?.reason, 'ScanFailed', JSON.stringify(unreachable.status));
      assert.match(condition?.message ?? '', /127\.0\.0\.1:1/);
      await op.stop();
      op = startOperator({ targetServer: `https://127.0.0.1:${hangingPort}`, timeoutSeconds: 5 });
      const slow = await finished(await createScan({ rulesets: RULESET }));
      const deadline = slow.status?.conditions?.find((c) => c.type === 'Failed');
      assert.equal(deadline?.reason, 'DeadlineExceeded', JSON.stringify(slow.status));
    } finally {
      await op.stop();
    }
  });

  test('deleting a running scan deletes its Job', async () => {
    // The Job's target hangs, so the scan runs until it is deleted.
    const op = startOperator({ targetServer: `https://127.0.0.1:${hangingPort}` });
    try {
      const scan = await createScan({ rulesets: RULESET });
      await waitFor('the scan Job', async () => (await jobsOf(scan))[0]);
      await targetAdmin.delete(cscan, scan.metadata!.name!);
      await waitFor('the Job deleted', async () => ((await jobsOf(scan)).length === 0 ? true : undefined));
    } finally {
      await op.stop();
    }
  });
});

// Last: the webhook configurations stay registered after the operator stops (as in a real cluster).
describe('admission through the operator', () => {
  test('the operator serves the webhooks: bad specs are refused with fields, good ones defaulted', async () => {
    const op = startOperator({
      webhooks: { host: '127.0.0.1', ipAddresses: ['127.0.0.1'], url: (port) => `https://127.0.0.1:${port}` },
    });
    try {
      await waitFor('the webhooks serving', () => (op.operator.webhooks ? true : undefined));
      const refused = await target.kubectl(
        ['create', '-f', '-'],
        stringify({
          apiVersion: complianceScanType.apiVersion,
          kind: 'ComplianceScan',
          metadata: { name: 'refused' },
          spec: { rulesets: [{ id: 'security-hardened-k8s', version: 'v9' }], outputs: [{ name: 'nowhere' }] },
        }),
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /spec\.rulesets\[0\]\.version: Unsupported value: "v9"/);
      assert.match(refused.stderr, /spec\.outputs\[0\]\.name: Not found/);
      const scan = await createScan({ rulesets: [{ id: 'pod-security-standards' }] });
      assert.deepEqual(scan.spec?.rulesets, [{ id: 'pod-security-standards', version: 'v1.36' }]);
      assert.equal((await finished(scan)).status?.phase, 'Completed');
    } finally {
      await op.stop();
      await targetAdmin.deleteIfExists(Resources.mutatingWebhookConfigurations, 'argus-operator');
      await targetAdmin.deleteIfExists(Resources.validatingWebhookConfigurations, 'argus-operator');
    }
  });
});
