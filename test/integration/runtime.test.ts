// The shared controller runtime against a real control plane: informer convergence after an API-server
// restart and a stalled watch, no lost updates under concurrent writers, leader fail-over, controllers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeClient } from '../../src/kube/client.ts';
import { Controller } from '../../src/kube/controller.ts';
import { Informer } from '../../src/kube/informer.ts';
import { Manager } from '../../src/kube/manager.ts';
import { EventRecorder } from '../../src/kube/events.ts';
import { ensureFinalizer, removeFinalizer, updateStatus, updateWithRetry } from '../../src/kube/objects.ts';
import { Resources, type KubeObject } from '../../src/kube/resources.ts';
import { registry } from '../../src/util/metrics.ts';
import { waitFor } from '../../src/util/time.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { NodeAgent } from '../testbed/node-agent/index.ts';
import { TcpProxy } from '../testbed/tcp-proxy.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

let cp: ControlPlane;
let client: KubeClient;
let nsCounter = 0;

before(async () => {
  cp = await ControlPlane.start({ name: 'runtime' });
  client = cp.client();
});
after(async () => {
  await cp?.stop();
});

async function namespace(prefix: string): Promise<string> {
  const name = `${prefix}-${++nsCounter}`;
  await client.create(Resources.namespaces, { metadata: { name } });
  return name;
}

async function createConfigMaps(ns: string, names: string[]): Promise<void> {
  await Promise.all(
    names.map((name) =>
      client.create<ConfigMap>(Resources.configMaps, {
        metadata: { name, namespace: ns, labels: { test: 'yes' } },
        data: { v: '0' },
      }),
    ),
  );
}

/** The informer's cache equals a fresh list: same names with the same resourceVersions. */
async function converged(informer: Informer<ConfigMap>, ns: string): Promise<boolean> {
  const listed = await client.list<ConfigMap>(Resources.configMaps, { namespace: ns, labelSelector: 'test' });
  const want = new Map(listed.items.map((i) => [i.metadata!.name!, i.metadata!.resourceVersion]));
  const have = new Map(informer.list().map((i) => [i.metadata!.name!, i.metadata!.resourceVersion]));
  return want.size === have.size && [...want].every(([name, rv]) => have.get(name) === rv);
}

async function relistCount(reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('argus_informer_relists_total')?.get();
  return metric?.values.filter((v) => v.labels.reason === reason).reduce((sum, v) => sum + v.value, 0) ?? 0;
}

describe('informer', () => {
  test('converges after the API server restarts', async () => {
    const ns = await namespace('restart');
    await createConfigMaps(ns, ['a', 'b', 'c']);
    const informer = new Informer<ConfigMap>(cp.client(), Resources.configMaps, {
      namespace: ns,
      labelSelector: 'test',
    });
    const deleted: string[] = [];
    informer.addHandler({ delete: (obj) => deleted.push(obj.metadata!.name!) });
    informer.start();
    try {
      await informer.waitForSync();
      assert.equal(informer.size, 3);

      await cp.restartApiServer();
      await client.delete(Resources.configMaps, 'a', ns);
      await createConfigMaps(ns, ['d', 'e']);
      await updateWithRetry<ConfigMap>(client, Resources.configMaps, 'b', ns, (cm) => {
        cm.data = { v: 'changed' };
      });

      await waitFor('informer to converge after the restart', () => converged(informer, ns), { timeoutMs: 45_000 });
      assert.equal(informer.get(`${ns}/b`)?.data?.v, 'changed');
      assert.deepEqual(deleted, ['a'], 'the deletion was delivered once');
    } finally {
      await informer.stop();
    }
  });

  test('relists after a stalled watch and converges', async () => {
    const ns = await namespace('stall');
    await createConfigMaps(ns, ['x']);
    const proxy = await TcpProxy.start(cp.apiServerPort);
    const kc = cp.kubeConfig();
    kc.clusters = kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${proxy.port}` }));
    const proxied = new KubeClient(kc);
    const informer = new Informer<ConfigMap>(proxied, Resources.configMaps, {
      namespace: ns,
      labelSelector: 'test',
      stallTimeoutMs: 3000,
    });
    informer.start();
    try {
      await informer.waitForSync();
      // An event seen through the informer proves its watch is open before the stall.
      await createConfigMaps(ns, ['w']);
      await waitFor('the watch to deliver', () => informer.get(`${ns}/w`));
      const stalledBefore = await relistCount('stalled');
      assert.ok(proxy.stall() >= 1, 'the watch connection is open and now silent');
      await createConfigMaps(ns, ['y', 'z']);
      await waitFor('informer to see writes made during the stall', () => converged(informer, ns), {
        timeoutMs: 30_000,
      });
      assert.ok((await relistCount('stalled')) > stalledBefore, 'recovered by a stall relist');
    } finally {
      await informer.stop();
      await proxied.close();
      await proxy.close();
    }
  });

  test('redelivers cached objects on resync', async () => {
    const ns = await namespace('resync');
    await createConfigMaps(ns, ['r']);
    const informer = new Informer<ConfigMap>(client, Resources.configMaps, { namespace: ns, resyncPeriodMs: 200 });
    let resyncs = 0;
    informer.addHandler({ update: (oldObj, newObj) => void (oldObj === newObj && resyncs++) });
    informer.start();
    try {
      await waitFor('two resyncs', () => resyncs >= 2, { timeoutMs: 10_000 });
    } finally {
      await informer.stop();
    }
  });
});

test('concurrent writers lose no update', async () => {
  const ns = await namespace('writers');
  await createConfigMaps(ns, ['counter']);
  const writers = 6;
  const increments = 15;
  const clients = Array.from({ length: writers }, () => cp.client());
  await Promise.all(
    clients.map(async (writer) => {
      for (let i = 0; i < increments; i++) {
        await updateWithRetry<ConfigMap>(
          writer,
          Resources.configMaps,
          'counter',
          ns,
          (cm) => {
            cm.data = { v: String(Number(cm.data?.v ?? 0) + 1) };
          },
          { attempts: 100 },
        );
      }
    }),
  );
  const final = await client.get<ConfigMap>(Resources.configMaps, 'counter', ns);
  assert.equal(final.data?.v, String(writers * increments));
});

test('a controller reconciles each key to the desired state, level-triggered', async () => {
  const ns = await namespace('controller');
  const manager = new Manager({ client: cp.client() });
  const informer = manager.informer<ConfigMap>(Resources.configMaps, { namespace: ns, labelSelector: 'mirror=yes' });
  const reconciled: string[] = [];
  // Desired state: every labelled ConfigMap "x" has a copy "x-copy" with the same data.
  const controller = new Controller({
    name: 'mirror',
    concurrency: 2,
    reconcile: async (key) => {
      reconciled.push(key);
      const source = informer.get(key);
      if (!source) return;
      const name = `${source.metadata!.name}-copy`;
      await client.apply<ConfigMap>(
        Resources.configMaps,
        { metadata: { name, namespace: ns }, data: source.data ?? {} },
        { fieldManager: 'mirror-test', force: true },
      );
    },
  }).watch(informer);
  manager.add(controller);
  const stop = new AbortController();
  const running = manager.start(stop.signal);
  try {
    for (const name of ['one', 'two', 'three']) {
      await client.create<ConfigMap>(Resources.configMaps, {
        metadata: { name, namespace: ns, labels: { mirror: 'yes' } },
        data: { value: name },
      });
    }
    await updateWithRetry<ConfigMap>(client, Resources.configMaps, 'two', ns, (cm) => {
      cm.data = { value: 'two-updated' };
    });
    await waitFor('copies reflect the sources', async () => {
      const copies = await client.list<ConfigMap>(Resources.configMaps, { namespace: ns });
      const byName = new Map(copies.items.map((c) => [c.metadata!.name, c.data?.value]));
      return (
        byName.get('one-copy') === 'one' &&
        byName.get('two-copy') === 'two-updated' &&
        byName.get('three-copy') === 'three'
      );
    });
    assert.ok(!reconciled.some((k) => k.endsWith('-copy')), 'unlabelled copies are not watched');
  } finally {
    stop.abort();
    await running;
  }
});

describe('leader election', () => {
  const leaseMs = 4000;
  const retryMs = 500;

  function candidate(
    ns: string,
    identity: string,
  ): { lines: string[]; kill: (signal: NodeJS.Signals) => void; exited: Promise<number | null> } {
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, '../fixtures/leader-candidate.ts'), cp.kubeconfigPath, ns, 'election', identity],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, LEASE_DURATION_MS: String(leaseMs), RETRY_PERIOD_MS: String(retryMs) },
      },
    );
    const lines: string[] = [];
    child.stdout.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    after(() => void child.kill('SIGKILL'));
    return { lines, kill: (signal) => child.kill(signal), exited };
  }

  const leading = (lines: string[]): number | undefined => {
    const line = lines.find((l) => l.startsWith('LEADING'));
    return line ? Number(line.split(' ')[2]) : undefined;
  };

  async function elect(
    ns: string,
  ): Promise<{ leader: ReturnType<typeof candidate>; standby: ReturnType<typeof candidate> }> {
    const a = candidate(ns, 'a');
    const b = candidate(ns, 'b');
    await waitFor('a leader', () => leading(a.lines) ?? leading(b.lines), { timeoutMs: 20_000 });
    return leading(a.lines) !== undefined ? { leader: a, standby: b } : { leader: b, standby: a };
  }

  test('a standby takes over within the lease duration when the leader is killed', async () => {
    const ns = await namespace('election-kill');
    const { leader, standby } = await elect(ns);
    assert.equal(leading(standby.lines), undefined, 'only one leader');
    const killedAt = Date.now();
    leader.kill('SIGKILL');
    const takeover = await waitFor('the standby to lead', () => leading(standby.lines), { timeoutMs: 20_000 });
    const failover = takeover - killedAt;
    // A standby sees the last renewal up to one retry period late and takes over one lease duration after
    // seeing it; 500 ms allow for API latency on a loaded machine.
    assert.ok(failover <= leaseMs + retryMs + 500, `fail-over took ${failover} ms`);
  });

  test('a leader that shuts down hands over promptly', async () => {
    const ns = await namespace('election-release');
    const { leader, standby } = await elect(ns);
    const stoppedAt = Date.now();
    leader.kill('SIGTERM');
    assert.equal(await leader.exited, 0);
    const takeover = await waitFor('the standby to lead', () => leading(standby.lines), { timeoutMs: 20_000 });
    const handover = takeover - stoppedAt;
    assert.ok(handover < leaseMs / 2, `hand-over took ${handover} ms`);
    const lease = await client.get<{ spec: { holderIdentity: string; leaseTransitions: number } } & KubeObject>(
      Resources.leases,
      'election',
      ns,
    );
    assert.equal(
      lease.spec.holderIdentity,
      leading(standby.lines) !== undefined ? standby.lines[0]!.split(' ')[1] : '',
    );
  });
});

interface Job extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

test('a Job of the Argus image runs on the node agent and a controller observes its completion', async () => {
  const ns = await namespace('job');
  const agent = await NodeAgent.start(cp, { name: 'runtime-node' });
  const manager = new Manager({ client: cp.client(), probes: { host: '127.0.0.1', port: 0 } });
  const jobs = manager.informer<Job>(Resources.jobs, { namespace: ns });
  const completed = new Set<string>();
  manager.add(
    new Controller({
      name: 'job-watcher',
      reconcile: async (key) => {
        const job = jobs.get(key);
        if (job?.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) completed.add(key);
      },
    }).watch(jobs),
  );
  const stop = new AbortController();
  const running = manager.start(stop.signal);
  try {
    await client.create<KubeObject>(Resources.jobs, {
      metadata: { name: 'hello', namespace: ns },
      spec: {
        backoffLimit: 0,
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'argus', image: 'argus:dev', args: ['version'] }] },
        },
      },
    } as KubeObject);
    await waitFor('the controller to see the Job complete', () => completed.has(`${ns}/hello`), { timeoutMs: 60_000 });

    const base = `http://127.0.0.1:${manager.probePort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /controller_runtime_reconcile_total\{controller="job-watcher",result="success"\} [1-9]/);
    assert.match(metrics, /workqueue_adds_total\{name="job-watcher"\} [1-9]/);
    assert.match(metrics, /rest_client_requests_total\{method="GET",code="200"\}/);
  } finally {
    stop.abort();
    await running;
    await agent.stop();
  }
});

test('a finalizer holds a deleted object until it is removed', async () => {
  const ns = await namespace('finalizer');
  await createConfigMaps(ns, ['held']);
  const cm = await client.get<ConfigMap>(Resources.configMaps, 'held', ns);
  const withFinalizer = await ensureFinalizer(client, Resources.configMaps, cm, 'argus.io/test');
  assert.deepEqual(withFinalizer.metadata?.finalizers, ['argus.io/test']);
  assert.equal(await ensureFinalizer(client, Resources.configMaps, withFinalizer, 'argus.io/test'), withFinalizer);
  await client.delete(Resources.configMaps, 'held', ns);
  const terminating = await client.get<ConfigMap>(Resources.configMaps, 'held', ns);
  assert.ok(terminating.metadata?.deletionTimestamp, 'marked for deletion, not gone');
  await removeFinalizer(client, Resources.configMaps, terminating, 'argus.io/test');
  assert.equal(await client.getOrUndefined(Resources.configMaps, 'held', ns), undefined);
});

test('status updates from concurrent writers all land', async () => {
  const name = 'status-writers';
  await client.create<KubeObject>(Resources.nodes, { metadata: { name } });
  try {
    await Promise.all(
      ['A', 'B', 'C', 'D'].map((type) =>
        updateStatus<KubeObject & { status?: { conditions?: object[] } }>(
          cp.client(),
          Resources.nodes,
          name,
          undefined,
          (node) => {
            node.status = {
              ...node.status,
              conditions: [...(node.status?.conditions ?? []), { type: `Test${type}`, status: 'True' }],
            };
          },
        ),
      ),
    );
    const node = await client.get<KubeObject & { status: { conditions: { type: string }[] } }>(Resources.nodes, name);
    const types = node.status.conditions.map((c) => c.type).filter((t) => t.startsWith('Test'));
    assert.deepEqual(types.sort(), ['TestA', 'TestB', 'TestC', 'TestD']);
  } finally {
    await client.deleteIfExists(Resources.nodes, name);
  }
});

test('repeated events are aggregated into one series', async () => {
  const ns = await namespace('events');
  await createConfigMaps(ns, ['subject']);
  const subject = await client.get<ConfigMap>(Resources.configMaps, 'subject', ns);
  const recorder = new EventRecorder(client, 'argus.io/test');
  await recorder.record({ ...subject, apiVersion: 'v1', kind: 'ConfigMap' }, 'Warning', 'Checked', 'same note');
  await recorder.record({ ...subject, apiVersion: 'v1', kind: 'ConfigMap' }, 'Warning', 'Checked', 'same note');
  await recorder.record({ ...subject, apiVersion: 'v1', kind: 'ConfigMap' }, 'Normal', 'Other', 'another note');
  const events = await client.list<
    KubeObject & { reason: string; series?: { count: number }; regarding: { uid: string } }
  >(Resources.events, { namespace: ns });
  const checked = events.items.filter((e) => e.reason === 'Checked');
  assert.equal(checked.length, 1);
  assert.equal(checked[0]!.series?.count, 2);
  assert.equal(checked[0]!.regarding.uid, subject.metadata?.uid);
  assert.equal(events.items.length, 2);
  const described = await cp.kubectl(['describe', 'configmap', 'subject', '-n', ns]);
  assert.match(described.stdout, /Warning\s+Checked.*same note/);
});
