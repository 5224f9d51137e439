// Two reports API server replicas on one PostgreSQL, through HTTP as clients see them: replica A serves the
// aggregated API of kube-apiserver, replica B is reached directly (client certificate). A watch on either replica
// sees every write made through the other, in resourceVersion order, without gaps or duplicates.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { policyReportType } from '../../src/api/reports/index.ts';
import { KubeClient, type WatchEvent } from '../../src/kube/client.ts';
import { Resources, type KubeObject } from '../../src/kube/resources.ts';
import { openStorage } from '../../src/reports-server/storage/index.ts';
import type { ReportStorage } from '../../src/reports-server/storage/types.ts';
import { waitFor } from '../../src/util/time.ts';
import { startAggregatedReportsServer, type AggregatedReportsServer } from '../support/reports-server.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { PostgresServer } from '../testbed/postgres.ts';

let cp: ControlPlane;
let postgres: PostgresServer;
let stores: ReportStorage[] = [];
let replicaA: AggregatedReportsServer;
let replicaB: AggregatedReportsServer;
let viaAggregator: KubeClient;
let direct: KubeClient;
let dir: string;
const NS = 'replicas';

before(async () => {
  [cp, postgres] = await Promise.all([
    ControlPlane.start({ name: 'reports-replicas', controllerManager: false }),
    PostgresServer.start(),
  ]);
  const database = await postgres.createDatabase('replicas');
  stores = [
    await openStorage({ backend: 'postgres', ...database }),
    await openStorage({ backend: 'postgres', ...database }),
  ];
  dir = mkdtempSync(join(tmpdir(), 'argus-replicas-'));
  replicaA = await startAggregatedReportsServer(cp, stores[0]!, mkdtempSync(join(dir, 'a-')), {
    groups: ['wgpolicyk8s.io'],
  });
  replicaB = await startAggregatedReportsServer(cp, stores[1]!, mkdtempSync(join(dir, 'b-')), { groups: [] });
  viaAggregator = cp.client('argus-test/replicas');
  // Replica B directly: the admin's client certificate (verified against the cluster's client CA), B's CA.
  const kc = new KubeConfig();
  kc.loadFromString(cp.kubeconfigYaml(cp.pki.admin));
  const cluster = kc.getCurrentCluster()!;
  kc.clusters = [
    {
      ...cluster,
      server: `https://127.0.0.1:${replicaB.port}`,
      caData: Buffer.from(replicaB.servingCa.certPem).toString('base64'),
    },
  ];
  direct = new KubeClient(kc, { userAgent: 'argus-test/replica-b' });
  await viaAggregator.create(Resources.namespaces, { metadata: { name: NS } });
});

after(async () => {
  await direct?.close();
  await replicaA?.close();
  await replicaB?.close();
  for (const store of stores) await store.close();
  await postgres?.destroy();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const report = (name: string) => ({
  apiVersion: 'wgpolicyk8s.io/v1alpha2',
  kind: 'PolicyReport',
  metadata: { name, namespace: NS },
  summary: { pass: 1, fail: 0, warn: 0, error: 0, skip: 0 },
  results: [],
});

/** Collects watch events of `client` from `resourceVersion` until stopped. */
function collect(client: KubeClient, resourceVersion: string) {
  const events: WatchEvent<KubeObject>[] = [];
  const abort = new AbortController();
  const done = (async () => {
    for await (const event of client.watch<KubeObject>(policyReportType, {
      namespace: NS,
      resourceVersion,
      signal: abort.signal,
    })) {
      events.push(event);
    }
  })().catch(() => undefined);
  return {
    events,
    stop: async () => {
      abort.abort();
      await done;
    },
  };
}

test('writes through either replica reach watches on the other, ordered, without gaps or duplicates', async () => {
  const start = (await direct.list(policyReportType, { namespace: NS })).metadata.resourceVersion!;
  const onB = collect(direct, start);
  const onA = collect(viaAggregator, start);
  // Concurrent writers on both replicas.
  const names = Array.from({ length: 40 }, (_, i) => `r-${i}`);
  await Promise.all(
    names.map((name, i) => (i % 2 === 0 ? viaAggregator : direct).create(policyReportType, report(name) as KubeObject)),
  );
  await direct.patch(policyReportType, 'r-0', { metadata: { labels: { touched: 'yes' } } }, 'merge', { namespace: NS });
  await viaAggregator.delete(policyReportType, 'r-1', NS);
  for (const watch of [onB, onA]) {
    await waitFor('every event on the watch', () => watch.events.length >= names.length + 2, { timeoutMs: 30_000 });
  }
  await Promise.all([onB.stop(), onA.stop()]);
  for (const [replica, watch] of [
    ['B', onB],
    ['A', onA],
  ] as const) {
    const versions = watch.events.map((e) => BigInt(e.object.metadata!.resourceVersion!));
    // One counter for the whole store, and nothing else writes to it here: consecutive, so no gap.
    for (let i = 1; i < versions.length; i++) {
      assert.equal(versions[i], versions[i - 1]! + 1n, `replica ${replica}: ordered without gaps`);
    }
    assert.equal(new Set(versions).size, versions.length, `replica ${replica}: no duplicates`);
    const added = watch.events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata!.name!);
    assert.deepEqual([...added].sort(), [...names].sort(), `replica ${replica}: every create`);
    assert.deepEqual(
      watch.events.filter((e) => e.type !== 'ADDED').map((e) => [e.type, e.object.metadata!.name]),
      [
        ['MODIFIED', 'r-0'],
        ['DELETED', 'r-1'],
      ],
    );
  }
  // Both replicas saw the same stream.
  assert.deepEqual(
    onA.events.map((e) => e.object.metadata!.resourceVersion),
    onB.events.map((e) => e.object.metadata!.resourceVersion),
  );
});
