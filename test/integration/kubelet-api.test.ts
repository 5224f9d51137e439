// The node agent's kubelet API through a real kube-apiserver, as the scanner's node rules use it: configz,
// exec (WebSocket passed through to the agent) in a privileged ops pod that sees the node root at /host and
// the node's own processes, exit codes, API errors, RBAC, and a clean network after stop().
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError, KubeClient } from '../../src/kube/client.ts';
import { exec, type ExecResult } from '../../src/kube/exec.ts';
import { nodeConfigz } from '../../src/kube/kubelet.ts';
import { Resources } from '../../src/kube/resources.ts';
import { waitFor } from '../../src/util/time.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { alive } from '../testbed/process.ts';
import { DEFAULT_KUBELET_COMMAND, linkExists, NodeAgent } from '../testbed/node-agent/index.ts';

const NS = 'ops';
const POD = 'ops-pod';
let cp: ControlPlane;
let client: KubeClient;
let agent: NodeAgent;

before(async () => {
  cp = await ControlPlane.start({ name: 'kubelet-api' });
  client = cp.client();
  agent = await NodeAgent.start(cp, {
    name: 'kubelet-node',
    kubelet: { config: { streamingConnectionIdleTimeout: '4h0m0s' } },
  });
  agent.writeNodeFile('/var/lib/kubelet/pki/kubelet.key', 'key\n', { mode: 0o600 });
  agent.writeNodeFile('/var/lib/kubelet/ca.crt', 'ca\n', { mode: 0o644, uid: 0, gid: 0 });
  agent.writeNodeFile('/var/lib/kube-proxy/kubeconfig', 'apiVersion: v1\n', { mode: 0o666, uid: 1000, gid: 1001 });
  await client.create(Resources.namespaces, { metadata: { name: NS } });
  await waitFor('service account ops/default', () => client.getOrUndefined(Resources.serviceAccounts, 'default', NS));
  // The scanner's ops pod: privileged, host PID and network, the node's / at /host.
  await client.create<V1Pod>(Resources.pods, {
    metadata: { name: POD, namespace: NS, labels: { 'compliance.gardener.cloud/role': 'diki-privileged-pod' } },
    spec: {
      hostPID: true,
      hostNetwork: true,
      restartPolicy: 'Never',
      activeDeadlineSeconds: 300,
      containers: [
        {
          name: 'container',
          image: 'argus',
          args: ['debug', 'sleep', '300'],
          securityContext: { privileged: true },
          volumeMounts: [{ name: 'host-root-volume', mountPath: '/host' }],
        },
      ],
      volumes: [{ name: 'host-root-volume', hostPath: { path: '/' } }],
    },
  });
  await waitFor(`pod ${NS}/${POD} running`, async () => {
    const pod = await client.get<V1Pod>(Resources.pods, POD, NS);
    return pod.status?.phase === 'Running';
  });
});

after(async () => {
  await agent?.stop();
  await cp?.stop();
});

const run = (command: string[], options: { stdin?: string; as?: KubeClient } = {}): Promise<ExecResult> =>
  exec(options.as ?? client, { namespace: NS, pod: POD, container: 'container', command, stdin: options.stdin });

void test('the Node advertises its kubelet on a non-loopback InternalIP', async () => {
  const node = await client.get<{ status?: Record<string, unknown> } & { metadata?: object }>(
    Resources.nodes,
    agent.name,
  );
  const status = node.status as {
    addresses: { type: string; address: string }[];
    daemonEndpoints: { kubeletEndpoint: { Port: number } };
    declaredFeatures?: string[];
  };
  const internal = status.addresses.find((a) => a.type === 'InternalIP')?.address;
  assert.equal(internal, agent.internalIP);
  assert.match(internal ?? '', /^10\.213\.\d+\.\d+$/);
  assert.equal(status.daemonEndpoints.kubeletEndpoint.Port, 10250);
  assert.deepEqual(status.declaredFeatures, ['ExtendWebSocketsToKubelet']);
});

void test('configz through the API server shows the configuration and its overrides', async () => {
  const config = await nodeConfigz(client, agent.name);
  assert.equal(config.kind, 'KubeletConfiguration');
  assert.equal(config.apiVersion, 'kubelet.config.k8s.io/v1beta1');
  assert.equal(config.readOnlyPort, 0);
  assert.equal(config.authentication?.anonymous?.enabled, false);
  assert.equal(config.authorization?.mode, 'Webhook');
  assert.equal(config.protectKernelDefaults, true);
  assert.equal(config.staticPodPath, undefined);
  assert.equal(config.streamingConnectionIdleTimeout, '4h0m0s'); // the start option

  agent.setKubeletConfig({
    readOnlyPort: 10255,
    staticPodPath: '/etc/kubernetes/manifests',
    featureGates: { AllAlpha: true },
    authentication: { anonymous: { enabled: true } },
  });
  try {
    const changed = await nodeConfigz(client, agent.name);
    assert.equal(changed.readOnlyPort, 10255);
    assert.equal(changed.staticPodPath, '/etc/kubernetes/manifests');
    assert.deepEqual(changed.featureGates, { AllAlpha: true });
    assert.equal(changed.authentication?.anonymous?.enabled, true);
    assert.equal(changed.authentication?.webhook?.enabled, true, 'merge keeps sibling fields');
    // The file the kubelet's --config names follows the configuration.
    const file = await run(['cat', '/host/var/lib/kubelet/config.yaml']);
    assert.match(file.stdout, /^readOnlyPort: 10255$/m);
    assert.match(file.stdout, /^staticPodPath: \/etc\/kubernetes\/manifests$/m);
  } finally {
    agent.setKubeletConfig({
      readOnlyPort: 0,
      staticPodPath: null,
      featureGates: null,
      authentication: { anonymous: { enabled: false } },
    });
  }
  const restored = await nodeConfigz(client, agent.name);
  assert.equal(restored.readOnlyPort, 0);
  assert.equal('staticPodPath' in restored, false);
  assert.equal('featureGates' in restored, false);
});

void test('configz of an unknown node is a 404', async () => {
  await assert.rejects(nodeConfigz(client, 'no-such-node'), (err) => err instanceof ApiError && err.code === 404);
});

void test('exec in the ops pod sees the node root at /host with modes and owners', async () => {
  const stat = await run([
    'stat',
    '-c',
    '%a %u %g %F %n',
    '/host/var/lib/kubelet/pki/kubelet.key',
    '/host/var/lib/kubelet/ca.crt',
    '/host/var/lib/kube-proxy/kubeconfig',
    '/host/var/lib/kubelet/config.yaml',
  ]);
  assert.equal(stat.exitCode, 0, stat.stderr);
  assert.deepEqual(stat.stdout.trim().split('\n'), [
    '600 0 0 regular file /host/var/lib/kubelet/pki/kubelet.key',
    '644 0 0 regular file /host/var/lib/kubelet/ca.crt',
    '666 1000 1001 regular file /host/var/lib/kube-proxy/kubeconfig',
    '644 0 0 regular file /host/var/lib/kubelet/config.yaml',
  ]);
  assert.deepEqual(await run(['cat', '/host/var/lib/kubelet/ca.crt']), { stdout: 'ca\n', stderr: '', exitCode: 0 });
  // A change on the node shows at once: /host is the node root itself.
  agent.writeNodeFile('/etc/systemd/system/multi-user.target.wants/ssh.service', '[Unit]\n');
  const ls = await run(['ls', '/host/etc/systemd/system/multi-user.target.wants']);
  assert.equal(ls.stdout, 'ssh.service\n');
});

void test('exec sees the node processes: systemd as PID 1, the kubelet with its command line', async () => {
  const kubelet = agent.kubeletProcess;
  assert.ok(kubelet);
  const cmdline = await run(['cat', `/proc/${kubelet.pid}/cmdline`]);
  assert.deepEqual(cmdline.stdout.split('\0').slice(0, -1), [...DEFAULT_KUBELET_COMMAND]);
  assert.equal((await run(['pgrep', '-xo', 'kubelet'])).stdout.trim(), String(kubelet.pid));
  assert.equal((await run(['cat', '/proc/1/comm'])).stdout, 'systemd\n');
  const sshd = await run(['pgrep', '-x', 'sshd']);
  assert.equal(sshd.exitCode, 1, 'no sshd yet');

  const started = await agent.startHostProcess(['/usr/sbin/sshd', '-D']);
  const flagged = await agent.setKubeletCommandLine([...DEFAULT_KUBELET_COMMAND, '--hostname-override=other']);
  try {
    assert.notEqual(flagged.pid, kubelet.pid);
    assert.equal((await run(['pgrep', '-x', 'sshd'])).stdout.trim(), String(started.pid));
    const ps = await run(['ps', '--no-headers', '-p', String(flagged.pid), '-o', 'command']);
    assert.match(
      ps.stdout,
      /^\/usr\/bin\/kubelet --config=\/var\/lib\/kubelet\/config\.yaml .* --hostname-override=other$/m,
    );
  } finally {
    await started.stop();
    await agent.setKubeletCommandLine(DEFAULT_KUBELET_COMMAND);
  }
  assert.equal((await run(['pgrep', '-x', 'sshd'])).exitCode, 1);
});

void test('exec reports output, stdin and non-zero exit codes', async () => {
  assert.deepEqual(await run(['sh', '-c', 'echo out; echo err >&2; exit 3']), {
    stdout: 'out\n',
    stderr: 'err\n',
    exitCode: 3,
  });
  assert.deepEqual(await run(['cat'], { stdin: 'from stdin' }), { stdout: 'from stdin', stderr: '', exitCode: 0 });
  const missing = await run(['/no/such/command']);
  assert.equal(missing.exitCode, 127);
});

void test('exec speaks v4.channel.k8s.io too, and a timed-out command is killed', async () => {
  const v4 = await exec(client, {
    namespace: NS,
    pod: POD,
    command: ['sh', '-c', 'echo v4; exit 7'],
    protocols: ['v4.channel.k8s.io'],
  });
  assert.deepEqual(v4, { stdout: 'v4\n', stderr: '', exitCode: 7 });
  await assert.rejects(
    exec(client, { namespace: NS, pod: POD, command: ['sleep', '77'], timeoutMs: 500 }),
    /timed out after 500 ms/,
  );
  // Closing the stream reaches the kubelet through the API server, which kills the command.
  await waitFor(
    'the timed-out command to be killed',
    async () => (await run(['pgrep', '-f', 'sleep 77'])).exitCode === 1,
  );
});

void test('exec in a plain pod runs in its mount namespace with its environment and working dir', async () => {
  await client.create<V1Pod>(Resources.pods, {
    metadata: { name: 'plain', namespace: NS },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'main',
          image: 'argus',
          args: ['debug', 'sleep', '300'],
          env: [{ name: 'GREETING', value: 'hello' }],
          workingDir: '/data',
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  });
  try {
    await waitFor('pod plain running', async () => {
      const pod = await client.get<V1Pod>(Resources.pods, 'plain', NS);
      return pod.status?.phase === 'Running';
    });
    const result = await exec(client, {
      namespace: NS,
      pod: 'plain',
      command: ['sh', '-c', 'echo "$GREETING" > file && cat /data/file && pwd'],
    });
    assert.deepEqual(result, { stdout: 'hello\n/data\n', stderr: '', exitCode: 0 });
  } finally {
    await client.delete(Resources.pods, 'plain', NS, { gracePeriodSeconds: 0 });
  }
});

void test('exec into a missing pod is a 404 ApiError', async () => {
  await assert.rejects(
    exec(client, { namespace: NS, pod: 'no-such-pod', command: ['true'] }),
    (err) => err instanceof ApiError && err.code === 404 && err.reason === 'NotFound',
  );
});

void test('exec needs pods/exec: 403 without it, allowed with it', async () => {
  const rbac = (kind: 'Role' | 'RoleBinding'): string =>
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/${kind.toLowerCase()}s`;
  for (const [name, rules] of [
    ['pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]],
    [
      'pod-exec',
      [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods/exec'], verbs: ['get', 'create'] },
      ],
    ],
  ] as const) {
    await client.request('POST', rbac('Role'), {
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules },
    });
    await client.request('POST', rbac('RoleBinding'), {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `${name}-user` }],
      },
    });
  }
  const reader = new KubeClient(cp.kubeConfig(await cp.identity('pod-reader-user')));
  const executor = new KubeClient(cp.kubeConfig(await cp.identity('pod-exec-user')));
  try {
    await assert.rejects(run(['true'], { as: reader }), (err) => err instanceof ApiError && err.code === 403);
    // RBAC caches nothing, but the bindings may take a moment to reach the authorizer's informers.
    const allowed = await waitFor('pods/exec allowed', () =>
      run(['id', '-u'], { as: executor }).catch(() => undefined),
    );
    assert.deepEqual(allowed, { stdout: '0\n', stderr: '', exitCode: 0 });
  } finally {
    await Promise.all([reader.close(), executor.close()]);
  }
});

void test('container logs come from the kubelet through the API server', async () => {
  // The container writes its line a moment after it starts.
  const logs = await waitFor('the ops pod log line', async () => {
    const result = await cp.kubectl(['logs', '-n', NS, POD]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout ? result.stdout : undefined;
  });
  assert.equal(logs, 'sleeping 300 s\n');
});

void test('a second agent is a node of its own and stop() leaves no namespace, link or process', async () => {
  const second = await NodeAgent.start(cp, { name: 'kubelet-node-2', kubelet: { config: { readOnlyPort: 10255 } } });
  const link = second.kubeletLink;
  const kubelet = second.kubeletProcess;
  try {
    assert.ok(link && kubelet);
    assert.notEqual(second.internalIP, agent.internalIP);
    assert.equal(kubelet.pid, 2, 'each node numbers its processes from 1 (its systemd)');
    assert.equal((await nodeConfigz(client, second.name)).readOnlyPort, 10255);
    assert.equal((await nodeConfigz(client, agent.name)).readOnlyPort, 0);
    assert.ok(linkExists(link));
  } finally {
    await second.stop();
  }
  await waitFor('the kubelet process to be gone', () => !alive(kubelet.hostPid), { timeoutMs: 10_000 });
  // The namespace goes with its last socket; the kernel removes both ends of the veth pair with it.
  await waitFor(`link ${link} to disappear`, () => !linkExists(link), { timeoutMs: 10_000, intervalMs: 50 });
});
