// The testbed node agent against a real control plane, with two agents (nodes) competing for pods: Jobs of
// the Argus image run to completion with in-cluster credentials and mounted volumes, failures and deletions
// end as with a kubelet, other images stay Pending, and nothing is left on the host after stop().
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { V1Job, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import type { KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { waitFor } from '../../src/util/time.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { agentsRunningOnHost, isArgusImage, NodeAgent } from '../testbed/node-agent/index.ts';

const IMAGE = 'registry.example/argus/argus:0.1.0';
// Mount points the tests use that the agent has to create on a host without them.
const MOUNT_POINTS = [
  '/var/run/secrets',
  '/etc/argus-cfg',
  '/etc/argus-sec',
  '/etc/argus-greeting',
  '/dev/termination-log',
];

let cp: ControlPlane;
let client: KubeClient;
let agents: NodeAgent[] = [];
let nsCounter = 0;
const preexisting = new Set(MOUNT_POINTS.filter((p) => existsSync(p)));

before(async () => {
  cp = await ControlPlane.start({ name: 'node-agent' });
  client = cp.client();
  agents = [await NodeAgent.start(cp, { name: 'node-a' }), await NodeAgent.start(cp, { name: 'node-b' })];
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await cp?.stop();
});

/** A fresh namespace whose default ServiceAccount exists (pod admission needs it). */
async function namespace(): Promise<string> {
  const name = `node-agent-${++nsCounter}`;
  await client.create(Resources.namespaces, { metadata: { name } });
  await waitFor(`service account ${name}/default`, () =>
    client.getOrUndefined(Resources.serviceAccounts, 'default', name),
  );
  return name;
}

async function createJob(ns: string, name: string, spec: Partial<V1PodSpec>, backoffLimit = 0): Promise<void> {
  await client.create<V1Job>(Resources.jobs, {
    metadata: { name, namespace: ns },
    spec: {
      backoffLimit,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: IMAGE }], ...spec } },
    },
  });
}

async function jobCondition(ns: string, name: string, type: 'Complete' | 'Failed'): Promise<void> {
  await waitFor(`job ${ns}/${name} ${type}`, async () => {
    const job = await client.get<V1Job>(Resources.jobs, name, ns);
    return job.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  });
}

async function jobPod(ns: string, job: string): Promise<V1Pod> {
  const pods = await client.list<V1Pod>(Resources.pods, { namespace: ns, labelSelector: `job-name=${job}` });
  assert.equal(pods.items.length, 1, `pods of job ${job}`);
  return pods.items[0]!;
}

/** The log of the pod's container, from the agent whose node runs it. */
function logs(pod: V1Pod): string {
  const agent = agents.find((a) => a.name === pod.spec?.nodeName);
  assert.ok(agent, `pod ${pod.metadata?.name} is bound to one of the agents (node ${pod.spec?.nodeName})`);
  return agent.logs(pod.metadata!.namespace!, pod.metadata!.name!);
}

function childProcesses(): string[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid ? [stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))] : [];
      } catch {
        return [];
      }
    });
}

void test('recognises the Argus image by its repository base name', () => {
  for (const image of [
    'argus',
    'argus:0.1.0',
    'registry.example/x/argus:dev',
    'localhost:5000/argus',
    'argus@sha256:ab',
  ]) {
    assert.ok(isArgusImage(image), image);
  }
  for (const image of ['nginx', 'argus-operator', 'registry.example/argus/nginx:1', 'localhost:5000', '']) {
    assert.ok(!isArgusImage(image), image);
  }
});

void test('an emptyDir at /tmp (read-only root file system pattern) hides none of the other volumes', async () => {
  const ns = await namespace();
  await client.create(Resources.configMaps, { metadata: { name: 'greeting', namespace: ns }, data: { hello: 'hi' } });
  await createJob(ns, 'tmp-mount', {
    volumes: [
      { name: 'tmp', emptyDir: {} },
      { name: 'greeting', configMap: { name: 'greeting' } },
    ],
    containers: [
      {
        name: 'main',
        image: IMAGE,
        args: ['debug', 'cat', '/etc/argus-cfg/hello'],
        volumeMounts: [
          { name: 'tmp', mountPath: '/tmp' },
          { name: 'greeting', mountPath: '/etc/argus-cfg' },
        ],
      },
    ],
  });
  await jobCondition(ns, 'tmp-mount', 'Complete');
  assert.match(logs(await jobPod(ns, 'tmp-mount')), /hi/);
});

void test('a Job runs with the in-cluster credentials of its service account', async () => {
  const ns = await namespace();
  await createJob(ns, 'whoami', { containers: [{ name: 'main', image: IMAGE, args: ['debug', 'whoami'] }] });
  await jobCondition(ns, 'whoami', 'Complete');
  const pod = await jobPod(ns, 'whoami');
  assert.match(logs(pod), new RegExp(`"username":"system:serviceaccount:${ns}:default"`));
  const status = pod.status?.containerStatuses?.[0];
  assert.equal(pod.status?.phase, 'Succeeded');
  assert.equal(status?.state?.terminated?.exitCode, 0);
  assert.equal(status?.state?.terminated?.reason, 'Completed');
  assert.match(status?.containerID ?? '', /^argus:\/\/[0-9a-f]+$/);
});

void test('a Job sees its ConfigMap and Secret volumes at their mount paths', async () => {
  const ns = await namespace();
  await client.create(Resources.configMaps, {
    metadata: { name: 'cfg', namespace: ns },
    data: { greeting: 'hello from a configmap\n' },
  } as never);
  await client.create(Resources.secrets, {
    metadata: { name: 'sec', namespace: ns },
    data: { 'token-ish': Buffer.from('s3cr3t from a secret\n').toString('base64') },
  } as never);
  await createJob(ns, 'cat', {
    containers: [
      {
        name: 'main',
        image: IMAGE,
        args: ['debug', 'cat', '/etc/argus-cfg/greeting', '/etc/argus-sec/token-ish', '/etc/argus-greeting'],
        volumeMounts: [
          { name: 'cfg', mountPath: '/etc/argus-cfg' },
          { name: 'sec', mountPath: '/etc/argus-sec', readOnly: true },
          { name: 'cfg', mountPath: '/etc/argus-greeting', subPath: 'greeting' },
        ],
      },
    ],
    volumes: [
      { name: 'cfg', configMap: { name: 'cfg' } },
      { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
    ],
  });
  await jobCondition(ns, 'cat', 'Complete');
  const log = logs(await jobPod(ns, 'cat'));
  assert.equal(log, 'hello from a configmap\ns3cr3t from a secret\nhello from a configmap\n');
});

void test('a Job whose container fails reaches Failed with the exit code in the pod status', async () => {
  const ns = await namespace();
  await createJob(ns, 'bogus', {
    containers: [
      { name: 'main', image: IMAGE, args: ['bogus-subcommand'], terminationMessagePolicy: 'FallbackToLogsOnError' },
    ],
  });
  await jobCondition(ns, 'bogus', 'Failed');
  const pod = await jobPod(ns, 'bogus');
  assert.equal(pod.status?.phase, 'Failed');
  const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(terminated?.exitCode, 1);
  assert.equal(terminated?.reason, 'Error');
  assert.match(terminated?.message ?? '', /unknown command 'bogus-subcommand'/);
});

void test('a pod of another image stays Pending and unbound while an Argus pod runs', async () => {
  const ns = await namespace();
  await client.create<V1Pod>(Resources.pods, {
    metadata: { name: 'nginx', namespace: ns },
    spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
  });
  await client.create<V1Pod>(Resources.pods, {
    metadata: { name: 'argus', namespace: ns },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: IMAGE, args: ['version'] }] },
  });
  const pod = await waitFor('pod argus to succeed', async () => {
    const p = await client.get<V1Pod>(Resources.pods, 'argus', ns);
    return p.status?.phase === 'Succeeded' && p;
  });
  assert.equal(logs(pod), '0.1.0\n');
  const nginx = await client.get<V1Pod>(Resources.pods, 'nginx', ns);
  assert.equal(nginx.spec?.nodeName, undefined);
  assert.equal(nginx.status?.phase, 'Pending');
});

void test('deleting a running pod stops its process and the pod disappears', async () => {
  const ns = await namespace();
  await client.create<V1Pod>(Resources.pods, {
    metadata: { name: 'sleeper', namespace: ns },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: IMAGE, args: ['debug', 'sleep', '600'] }] },
  });
  await waitFor('pod sleeper to run', async () => {
    const p = await client.get<V1Pod>(Resources.pods, 'sleeper', ns);
    return p.status?.phase === 'Running' && logs(p).includes('sleeping');
  });
  const pids = agents.flatMap((a) => a.processes()).filter((p) => p.pod === 'sleeper' && p.namespace === ns);
  assert.equal(pids.length, 1);
  // The default grace period is 30 s: the pod goes well before, because the process exits on SIGTERM.
  await client.delete(Resources.pods, 'sleeper', ns);
  await waitFor('pod sleeper to disappear', async () => !(await client.getOrUndefined(Resources.pods, 'sleeper', ns)), {
    timeoutMs: 10_000,
  });
  assert.ok(!existsSync(`/proc/${pids[0]!.pid}`), 'the container process is gone');
});

void test('after stop() no processes, mount points or temp dirs remain', async () => {
  const ns = await namespace();
  await client.create<V1Pod>(Resources.pods, {
    metadata: { name: 'sleeper', namespace: ns },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: IMAGE, args: ['debug', 'sleep', '600'] }] },
  });
  await waitFor('pod sleeper to run', () => agents.some((a) => a.processes().some((p) => p.namespace === ns)));
  const pids = agents.flatMap((a) => a.processes()).map((p) => p.pid);
  const dirs = agents.map((a) => a.dir);
  await Promise.all(agents.map((a) => a.stop()));

  for (const pid of pids) assert.ok(!existsSync(`/proc/${pid}`), `process ${pid} is gone`);
  // What remains is the control plane.
  assert.deepEqual(
    childProcesses().filter((name) => !/^(etcd|kube-apiserver|kube-controller)/.test(name)),
    [],
  );
  for (const dir of dirs) assert.ok(!existsSync(dir), `${dir} is removed`);
  if (agentsRunningOnHost() === 0) {
    for (const path of MOUNT_POINTS) if (!preexisting.has(path)) assert.ok(!existsSync(path), `${path} is removed`);
  }
  const nodes = await client.list(Resources.nodes);
  assert.deepEqual(
    nodes.items.map((n) => n.metadata?.name),
    [],
  );
});
