// The node-level DISA Kubernetes STIG rules against a real control plane with testbed nodes that serve a
// kubelet API: the kubelet configuration through configz and node files, processes and units through the
// scanner's ops pods. Nodes: `node-good` (hardened), `node-bad` (every finding), `node-full` (no kubelet API,
// no free pod slot: configz fails for it alone, ops pods skip it) and `node-down` (a Node object that is
// not Ready). kube-proxy pods (pending, not run) on the nodes name their files through hostPath volumes.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../../../src/kube/client.ts';
import type { RuleOption } from '../../../src/scanner/engine/config.ts';
import type { Status } from '../../../src/scanner/engine/result.ts';
import { OPS_POD_INSTANCE_LABEL, OpsPods, opsPodSettings } from '../../../src/scanner/nodes/ops-pods.ts';
import { listeningTcpPorts } from '../../../src/scanner/nodes/parse.ts';
import {
  GROUP_WITHOUT_USABLE_NODE,
  NODE_NOT_READY,
  NODE_WITHOUT_GROUP_LABEL,
  NODE_WITHOUT_POD_SLOT,
  POD_ON_UNUSABLE_NODE,
} from '../../../src/scanner/nodes/selection.ts';
import { Kinds } from '../../../src/scanner/objects/kinds.ts';
import type { Report } from '../../../src/scanner/report/report.ts';
import { disaKubernetesStig } from '../../../src/scanner/rulesets/disa-kubernetes-stig/index.ts';
import { OPS_POD_ROLE, OPS_POD_ROLE_LABEL } from '../../../src/scanner/rulesets/shared/pods.ts';
import { scan as runScan } from '../../../src/scanner/scanner.ts';
import { findingsFor, ruleChecks, scanConfig, scanTestbed } from '../../support/scanner.ts';
import { waitFor } from '../../../src/util/time.ts';
import { ControlPlane } from '../../testbed/controlplane.ts';
import { DEFAULT_KUBELET_COMMAND, NodeAgent } from '../../testbed/node-agent/index.ts';

const ID = 'disa-kubernetes-stig';
const GOOD = 'node-good';
const BAD = 'node-bad';
const FULL = 'node-full';
const DOWN = 'node-down';
const PROXIES = 'proxies';

const KUBELET_CONFIG_RULES = [
  '242387',
  '242391',
  '242392',
  '242397',
  '242400',
  '242420',
  '242424',
  '242425',
  '242434',
  '245541',
];
const NODE_FILE_RULES = [
  '242393',
  '242394',
  '242396',
  '242404',
  '242406',
  '242407',
  '242447',
  '242448',
  '242449',
  '242450',
  '242451',
  '242452',
  '242453',
  '242466',
  '242467',
];
/** Rules that check nodes chosen for ops pods (the others check kube-proxy pods or every node). */
const PER_NODE_FILE_RULES = NODE_FILE_RULES.filter((id) => id !== '242447' && id !== '242448');

let cp: ControlPlane;
let client: KubeClient;
const agents: NodeAgent[] = [];
let good: NodeAgent;
let bad: NodeAgent;
/** Whether the machine itself listens on port 22: testbed nodes share its network, so 242393/242394 fail. */
let machineSsh = false;

const kubectlScript = (version: string): string =>
  `#!/bin/sh\necho '{"clientVersion":{"gitVersion":"${version}","platform":"linux/amd64"}}'\n`;

/** A kube-proxy pod bound to `node` (its image is not run by the node agent: it stays Pending). */
function kubeProxyPod(name: string, node: string, args: string[]): V1Pod {
  return {
    metadata: { name, namespace: PROXIES, labels: { role: 'proxy' } },
    spec: {
      nodeName: node,
      // The pod never runs here, so the kubelet has no directory for a service-account token volume.
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'kube-proxy',
          image: 'registry.k8s.io/kube-proxy:v1.36.0',
          command: ['/usr/local/bin/kube-proxy', ...args],
          volumeMounts: [
            { name: 'kube-proxy', mountPath: '/var/lib/kube-proxy' },
            { name: 'modules', mountPath: '/lib/modules', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'kube-proxy', hostPath: { path: '/var/lib/kube-proxy' } },
        { name: 'modules', hostPath: { path: '/lib/modules' } },
      ],
    },
  };
}

before(async () => {
  machineSsh = ['/proc/net/tcp', '/proc/net/tcp6'].some((f) => {
    try {
      return listeningTcpPorts(readFileSync(f, 'utf8')).has(22);
    } catch {
      return false;
    }
  });
  cp = await ControlPlane.start({ name: 'stig-nodes' });
  client = cp.client();
  [good, bad] = await Promise.all([
    NodeAgent.start(cp, { name: GOOD, labels: { pool: 'good', zone: 'z1' }, kubelet: {} }),
    NodeAgent.start(cp, {
      name: BAD,
      labels: { pool: 'bad' },
      kubelet: {
        config: {
          readOnlyPort: 10255,
          authentication: { anonymous: { enabled: true } },
          authorization: { mode: 'AlwaysAllow' },
          staticPodPath: '/etc/kubernetes/manifests',
          featureGates: { AllAlpha: true },
          tlsPrivateKeyFile: null,
          tlsCertFile: '',
          protectKernelDefaults: false,
          streamingConnectionIdleTimeout: '5h0m0s',
        },
        commandLine: [...DEFAULT_KUBELET_COMMAND, '--hostname-override=elsewhere'],
      },
    }),
  ]);
  agents.push(good, bad);
  agents.push(await NodeAgent.start(cp, { name: FULL, labels: { pool: 'full' }, capacity: { pods: '0' } }));
  await client.create(Kinds.nodes, {
    metadata: { name: DOWN, labels: { pool: 'down' } },
    status: {
      allocatable: { pods: '110' },
      capacity: { pods: '110' },
      conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'down for the test' }],
    },
  } as never);

  // The hardened node.
  good.writeNodeFile('/var/lib/kubelet/kubeconfig', 'apiVersion: v1\n', { mode: 0o600 });
  good.writeNodeFile('/var/lib/kubelet/ca.crt', 'ca\n', { mode: 0o644 });
  good.writeNodeFile('/var/lib/kubelet/pki/kubelet.crt', 'crt\n', { mode: 0o644 });
  good.writeNodeFile('/var/lib/kubelet/pki/kubelet.key', 'key\n', { mode: 0o600 });
  good.writeNodeFile('/etc/systemd/system/kubelet.service', '[Service]\n', { mode: 0o644 });
  good.writeNodeFile('/usr/lib/systemd/system/ssh.service', '[Service]\n', { mode: 0o644 });
  good.writeNodeFile('/usr/local/bin/kubectl', kubectlScript('v1.31.2'), { mode: 0o755 });
  good.writeNodeFile('/var/lib/kube-proxy/kubeconfig', 'apiVersion: v1\n', { mode: 0o600 });
  good.writeNodeFile('/var/lib/kube-proxy/pki/ca.crt', 'ca\n', { mode: 0o644 });
  good.writeNodeFile('/var/lib/kube-proxy/pki/client.key', 'key\n', { mode: 0o600 });

  // The node with every finding.
  const loose = { mode: 0o666, uid: 1000, gid: 1000 };
  bad.writeNodeFile('/var/lib/kubelet/kubeconfig', 'apiVersion: v1\n', loose);
  bad.writeNodeFile('/var/lib/kubelet/ca.crt', 'ca\n', loose);
  bad.writeNodeFile('/var/lib/kubelet/pki/kubelet.crt', 'crt\n', loose);
  bad.writeNodeFile('/var/lib/kubelet/pki/kubelet.key', 'key\n', { mode: 0o644, uid: 1000, gid: 1000 });
  const config = join(bad.nodeRoot, 'var/lib/kubelet/config.yaml');
  chmodSync(config, 0o666);
  chownSync(config, 1000, 1000);
  bad.writeNodeFile('/lib/systemd/system/ssh.service', '[Service]\n');
  bad.writeNodeFile('/etc/systemd/system/multi-user.target.wants/ssh.service', '[Service]\n');
  bad.writeNodeFile('/usr/bin/kubectl', kubectlScript('v1.11.0'), { mode: 0o755 });
  bad.writeNodeFile(
    '/var/lib/kube-proxy/config.yaml',
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n' +
      'clientConnection:\n  kubeconfig: /var/lib/kube-proxy/kubeconfig\nfeatureGates:\n  AllAlpha: true\n',
  );
  bad.writeNodeFile('/var/lib/kube-proxy/kubeconfig', 'apiVersion: v1\n', loose);
  bad.writeNodeFile('/var/lib/kube-proxy/pki/ca.crt', 'ca\n', loose);
  bad.writeNodeFile('/var/lib/kube-proxy/pki/client.key', 'key\n', { mode: 0o644, uid: 1000, gid: 1000 });
  await bad.startHostProcess(['/usr/sbin/sshd', '-D']);

  await client.create(Kinds.namespaces, { metadata: { name: PROXIES } });
  await client.create(
    Kinds.pods,
    kubeProxyPod('kube-proxy-good', GOOD, [
      '--kubeconfig=/var/lib/kube-proxy/kubeconfig',
      '--feature-gates=AllAlpha=false,InPlacePodVerticalScaling=true',
    ]),
  );
  await client.create(Kinds.pods, kubeProxyPod('kube-proxy-bad', BAD, ['--config', '/var/lib/kube-proxy/config.yaml']));
  await client.create(
    Kinds.pods,
    kubeProxyPod('kube-proxy-full', FULL, ['--kubeconfig=/var/lib/kube-proxy/kubeconfig']),
  );
});

after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await cp?.stop();
});

/** Options that skip every rule but `ids` (skipped rules are Accepted at once), plus `extra` options. */
function only(ids: string[], extra: RuleOption[] = []): RuleOption[] {
  const withOptions = new Set(extra.map((o) => o.ruleID));
  const others = disaKubernetesStig.versions[0]!.rules.filter((r) => !ids.includes(r.id) && !withOptions.has(r.id)).map(
    (r) => ({ ruleID: r.id, skip: { enabled: true, justification: 'not under test here' } }),
  );
  return [...others, ...extra];
}

const scan = (ruleOptions: RuleOption[], args?: unknown, version = 'v2r6'): Promise<Report> =>
  scanTestbed(cp, [{ id: ID, version, ruleOptions, ...(args !== undefined ? { args } : {}) }]);

const nodeStatuses = (report: Report, rule: string, node: string): Status[] =>
  [...new Set(findingsFor(report, rule, { kind: 'Node', name: node }).map((f) => f.status))].sort();
const podStatuses = (report: Report, rule: string, pod: string): Status[] =>
  [...new Set(findingsFor(report, rule, { kind: 'Pod', name: pod, namespace: PROXIES }).map((f) => f.status))].sort();

async function opsPodsLeft(): Promise<string[]> {
  const pods = await client.list<V1Pod>(Kinds.pods, { labelSelector: `${OPS_POD_ROLE_LABEL}=${OPS_POD_ROLE}` });
  return pods.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
}

describe('all node-level rules with default options', () => {
  let report: Report;
  before(async () => {
    report = await scan(only([...KUBELET_CONFIG_RULES, ...NODE_FILE_RULES]));
  });

  test('kubelet configz: the hardened node passes, the other fails every rule', () => {
    for (const rule of KUBELET_CONFIG_RULES) {
      assert.deepEqual(nodeStatuses(report, rule, GOOD), ['Passed'], `${rule} ${GOOD}`);
      const expected: Status[] = rule === '242420' ? ['Passed'] : ['Failed'];
      assert.deepEqual(nodeStatuses(report, rule, BAD), expected, `${rule} ${BAD}`);
    }
    assert.deepEqual(findingsFor(report, '242387', { name: BAD })[0]?.target.details, 'readOnlyPort: 10255');
    assert.deepEqual(
      findingsFor(report, '245541', { name: BAD })[0]?.target.details,
      'streamingConnectionIdleTimeout: 5h0m0s',
    );
    assert.deepEqual(
      findingsFor(report, '242392', { name: BAD })[0]?.target.details,
      'authorization.mode: AlwaysAllow',
    );
  });

  test('a node whose configz fails is Errored alone; a node that is not Ready is a Warning', () => {
    for (const rule of KUBELET_CONFIG_RULES) {
      assert.deepEqual(nodeStatuses(report, rule, FULL), ['Errored'], `${rule} ${FULL}`);
      assert.deepEqual(findingsFor(report, rule, { name: DOWN }), [
        { status: 'Warning', message: NODE_NOT_READY, target: { kind: 'Node', name: DOWN } },
      ]);
    }
    assert.match(findingsFor(report, '242387', { name: FULL })[0]!.message, /configz/);
  });

  test('242400 also checks kube-proxy: flags and config file; a pod on a full node is a Warning', () => {
    assert.deepEqual(podStatuses(report, '242400', 'kube-proxy-good'), ['Passed']);
    assert.deepEqual(podStatuses(report, '242400', 'kube-proxy-bad'), ['Failed']);
    assert.deepEqual(findingsFor(report, '242400', { name: 'kube-proxy-full' }), [
      {
        status: 'Warning',
        message: POD_ON_UNUSABLE_NODE,
        target: { kind: 'Pod', name: 'kube-proxy-full', namespace: PROXIES, node: FULL },
      },
    ]);
  });

  test('node files and processes: the hardened node passes, the other fails every rule', () => {
    for (const rule of PER_NODE_FILE_RULES) {
      const sshPort = machineSsh && (rule === '242393' || rule === '242394');
      assert.deepEqual(nodeStatuses(report, rule, GOOD), [sshPort ? 'Failed' : 'Passed'], `${rule} ${GOOD}`);
      // Some files of the node pass (242451: the directories are root's), none of its rules does.
      assert.ok(nodeStatuses(report, rule, BAD).includes('Failed'), `${rule} ${BAD}`);
    }
  });

  test('targets name the node and the file, its mode and owner', () => {
    const perms = findingsFor(report, '242452', { name: BAD }).map((f) => [f.status, f.target.details]);
    assert.deepEqual(perms.sort(), [
      ['Failed', 'fileName: /var/lib/kubelet/config.yaml, permissions: 666, expectedPermissionsMax: 644'],
      ['Failed', 'fileName: /var/lib/kubelet/kubeconfig, permissions: 666, expectedPermissionsMax: 644'],
    ]);
    const owners = findingsFor(report, '242450', { name: BAD })
      .map((f) => f.target.details)
      .sort();
    assert.deepEqual(owners, [
      'fileName: /var/lib/kubelet/ca.crt, ownerGroup: 1000, expectedOwnerGroups: [0]',
      'fileName: /var/lib/kubelet/ca.crt, ownerUser: 1000, expectedOwnerUsers: [0]',
    ]);
    // 242406/242407: the systemd unit where there is one, and the --config file.
    const good406 = findingsFor(report, '242407', { name: GOOD })
      .map((f) => f.target.details)
      .sort();
    assert.deepEqual(good406, [
      'fileName: /etc/systemd/system/kubelet.service, permissions: 644',
      'fileName: /var/lib/kubelet/config.yaml, permissions: 644',
    ]);
    assert.match(findingsFor(report, '242404', { name: BAD })[0]!.target.details ?? '', /elsewhere/);
    assert.equal(findingsFor(report, '242396', { name: BAD })[0]!.target.details, 'kubectl client version 1.11.0');
    assert.match(findingsFor(report, '242394', { name: BAD })[0]!.message, /enabled|port 22/);
    // Without a tlsPrivateKeyFile the kubelet's certificate directory is checked: keys above 640 fail.
    assert.deepEqual(
      findingsFor(report, '242467', { name: BAD }).map((f) => f.target.details),
      ['fileName: /var/lib/kubelet/pki/kubelet.key, permissions: 644, expectedPermissionsMax: 640'],
    );
  });

  test('kube-proxy files: one pod per node that can take an ops pod, paths mapped through its volumes', () => {
    for (const rule of ['242447', '242448', '242451', '242466', '242467']) {
      assert.deepEqual(podStatuses(report, rule, 'kube-proxy-good'), ['Passed'], `${rule} good`);
      assert.ok(podStatuses(report, rule, 'kube-proxy-bad').includes('Failed'), `${rule} bad`);
      assert.equal(findingsFor(report, rule, { name: 'kube-proxy-full' })[0]?.status, 'Warning', `${rule} full`);
    }
    const details = findingsFor(report, '242447', { name: 'kube-proxy-bad' }).map((f) => [f.status, f.target.details]);
    assert.deepEqual(details.sort(), [
      ['Failed', 'fileName: /var/lib/kube-proxy/kubeconfig, permissions: 666, expectedPermissionsMax: 644'],
      ['Passed', 'fileName: /var/lib/kube-proxy/config.yaml, permissions: 644'],
    ]);
    // PKI of kube-proxy: the files in its volumes (not /lib/modules), by container.
    const pki = findingsFor(report, '242466', { name: 'kube-proxy-bad' });
    assert.deepEqual(
      pki.map((f) => [f.status, f.target.containerName, f.target.details]),
      [
        [
          'Failed',
          'kube-proxy',
          'fileName: /var/lib/kube-proxy/pki/ca.crt, permissions: 666, expectedPermissionsMax: 644',
        ],
      ],
    );
  });

  test('nodes that cannot take an ops pod are Warnings: no free pod slot, not Ready', () => {
    for (const rule of PER_NODE_FILE_RULES) {
      assert.deepEqual(findingsFor(report, rule, { name: FULL }), [
        { status: 'Warning', message: NODE_WITHOUT_POD_SLOT, target: { kind: 'Node', name: FULL } },
      ]);
      assert.deepEqual(findingsFor(report, rule, { name: DOWN }), [
        { status: 'Warning', message: NODE_NOT_READY, target: { kind: 'Node', name: DOWN } },
      ]);
    }
  });

  test('the ops pods are gone after the scan', async () => {
    assert.deepEqual(await opsPodsLeft(), []);
  });
});

describe('options', () => {
  test('node groups, expected owners, kube-proxy disabled or selected otherwise, maxRetries', async () => {
    const owner = { expectedFileOwner: { users: ['0', '1000'], groups: ['0', '1000'] } };
    const report = await scan(
      only(
        ['242393', '242404', '242406', '242450', '242453', '242448', '242451', '242400', '242466'],
        [
          { ruleID: '242393', args: { nodeGroupByLabels: ['pool'] } },
          { ruleID: '242404', args: { nodeGroupByLabels: ['zone'] } },
          { ruleID: '242406', args: owner },
          { ruleID: '242450', args: owner },
          { ruleID: '242453', args: owner },
          { ruleID: '242448', args: owner },
          { ruleID: '242451', args: { ...owner, kubeProxy: { matchLabels: { app: 'no-such-proxy' } } } },
          { ruleID: '242400', args: { kubeProxy: { disabled: true } } },
          { ruleID: '242466', args: { kubeProxy: { disabled: true }, nodeGroupByLabels: ['pool'] } },
          { ruleID: '242467', skip: { enabled: true, justification: 'keys are checked elsewhere' } },
        ],
      ),
      { maxRetries: 0 },
    );
    // One node per pool: pools without a usable node are Warnings with their labels.
    const groups = ruleChecks(report, '242393').filter((c) => c.message === GROUP_WITHOUT_USABLE_NODE);
    assert.deepEqual(
      groups
        .flatMap((c) => c.targets ?? [])
        .map((t) => t.labels)
        .sort(),
      ['pool=down', 'pool=full'],
    );
    // Grouped by a label only one node has: the others lack it.
    assert.deepEqual(nodeStatuses(report, '242404', GOOD), ['Passed']);
    const lacking = ruleChecks(report, '242404').filter((c) => c.message === NODE_WITHOUT_GROUP_LABEL);
    assert.deepEqual(
      lacking
        .flatMap((c) => c.targets ?? [])
        .map((t) => t.name)
        .sort(),
      [BAD, DOWN, FULL],
    );
    // Expected owners that include 1000 accept the other node's files.
    for (const rule of ['242406', '242450', '242453'])
      assert.deepEqual(nodeStatuses(report, rule, BAD), ['Passed'], rule);
    assert.deepEqual(podStatuses(report, '242448', 'kube-proxy-bad'), ['Passed']);
    assert.deepEqual(nodeStatuses(report, '242451', BAD), ['Passed']);
    assert.deepEqual(
      ruleChecks(report, '242451')
        .filter((c) => c.status === 'Errored')
        .map((c) => c.message),
      ['No kube-proxy pods found.'],
    );
    // kube-proxy disabled: its half is Accepted, the node half still runs.
    for (const rule of ['242400', '242466']) {
      assert.ok(
        ruleChecks(report, rule).some((c) => c.status === 'Accepted' && /kube-proxy is not checked/.test(c.message)),
      );
      assert.deepEqual(nodeStatuses(report, rule, BAD), ['Failed'], rule);
      assert.deepEqual(findingsFor(report, rule, { namespace: PROXIES }), [], rule);
    }
    assert.deepEqual(ruleChecks(report, '242467'), [{ status: 'Accepted', message: 'keys are checked elsewhere' }]);
    assert.deepEqual(await opsPodsLeft(), []);
  });
});

describe('kubelet configuration variants', () => {
  test('no client CA, serving certificates rotated by the kubelet, timeouts too short and allowed', async () => {
    bad.setKubeletConfig({
      authentication: { x509: { clientCAFile: null } },
      serverTLSBootstrap: true,
      streamingConnectionIdleTimeout: '30s',
    });
    good.setKubeletConfig({ streamingConnectionIdleTimeout: '1h30m0s', featureGates: { AllAlpha: false } });
    try {
      const report = await scan(
        only(
          ['242420', '242424', '242425', '245541', '242400'],
          [{ ruleID: '242400', args: { kubeProxy: { disabled: true } } }],
        ),
      );
      assert.deepEqual(nodeStatuses(report, '242420', BAD), ['Failed']);
      assert.deepEqual(nodeStatuses(report, '242424', BAD), ['Passed']);
      assert.match(findingsFor(report, '242425', { name: BAD })[0]!.message, /rotates its serving certificate/);
      assert.deepEqual(
        findingsFor(report, '245541', { name: BAD })[0]!.target.details,
        'streamingConnectionIdleTimeout: 30s',
      );
      assert.deepEqual(nodeStatuses(report, '245541', BAD), ['Failed']);
      const allowed = findingsFor(report, '245541', { name: GOOD })[0]!;
      assert.equal(allowed.status, 'Passed');
      assert.match(allowed.message, /5m is recommended/);
      assert.equal(allowed.target.details, 'streamingConnectionIdleTimeout: 1h30m0s');
      assert.deepEqual(nodeStatuses(report, '242400', GOOD), ['Passed']);
      // No ops pod was needed.
      assert.deepEqual(await opsPodsLeft(), []);
    } finally {
      bad.setKubeletConfig({
        authentication: { x509: { clientCAFile: '/var/lib/kubelet/ca.crt' } },
        serverTLSBootstrap: false,
        streamingConnectionIdleTimeout: '5h0m0s',
      });
      good.setKubeletConfig({ streamingConnectionIdleTimeout: '5m0s', featureGates: null });
    }
  });
});

describe('ops pods', () => {
  test('labelled, placed on their node, privileged with the node root, and removed when the scan is aborted', async () => {
    const controller = new AbortController();
    const seen = new Map<string, V1Pod>();
    const config = scanConfig([{ id: ID, ruleOptions: only(['242393', '242404']) }]);
    config.providers[0]!.args = { additionalOpsPodLabels: { team: 'compliance' } };
    let settled = false;
    const scanning = runScan({ config, kubeconfig: cp.kubeconfigPath, signal: controller.signal }).finally(
      () => (settled = true),
    );
    // Abort as soon as an ops pod exists: the scan is then still busy with its nodes.
    while (!settled && !controller.signal.aborted) {
      const pods = await client.list<V1Pod>(Kinds.pods, { labelSelector: `${OPS_POD_ROLE_LABEL}=${OPS_POD_ROLE}` });
      for (const pod of pods.items) seen.set(pod.metadata?.name ?? '', pod);
      if (pods.items.filter((p) => p.status?.phase === 'Running').length >= 2)
        controller.abort(new Error('test abort'));
      else await new Promise((r) => setTimeout(r, 25));
    }
    await assert.rejects(scanning, /test abort/);
    assert.ok(seen.size >= 1 && seen.size <= 2, 'at most one ops pod per node');
    for (const pod of seen.values()) {
      assert.equal(pod.metadata?.namespace, 'kube-system');
      assert.equal(pod.metadata?.labels?.team, 'compliance');
      assert.ok(pod.metadata?.labels?.[OPS_POD_INSTANCE_LABEL]);
      assert.ok([GOOD, BAD].includes(pod.spec?.nodeName ?? ''));
      assert.equal(pod.spec?.hostPID, true);
      assert.equal(pod.spec?.hostNetwork, true);
      assert.equal(pod.spec?.activeDeadlineSeconds, 300);
      assert.equal(pod.spec?.containers[0]?.securityContext?.privileged, true);
      assert.equal(pod.spec?.volumes?.[0]?.hostPath?.path, '/');
    }
    assert.deepEqual(await opsPodsLeft(), []);
  });

  test('an exec into a vanished ops pod runs in a new one; without retries the failure stands', async () => {
    const pods = new OpsPods(client, opsPodSettings());
    const policy = { signal: new AbortController().signal, maxRetries: 1 };
    const gone = async (name: string): Promise<void> => {
      await client.delete(Kinds.pods, name, 'kube-system', { gracePeriodSeconds: 0 });
      await waitFor(`pod ${name} gone`, async () => !(await client.getOrUndefined(Kinds.pods, name, 'kube-system')));
    };
    try {
      const first = await pods.pod(GOOD, policy);
      await gone(first);
      const result = await pods.exec(GOOD, ['cat', '/proc/1/comm'], policy);
      assert.deepEqual(result, { stdout: 'systemd\n', stderr: '', exitCode: 0 }, 'the node, seen from a new pod');
      const second = await pods.pod(GOOD, policy);
      assert.notEqual(second, first);
      await gone(second);
      await assert.rejects(pods.exec(GOOD, ['true'], { ...policy, maxRetries: 0 }), /404/);
    } finally {
      await pods.dispose();
    }
    assert.deepEqual(await opsPodsLeft(), []);
  });

  test('a pod that does not start in time is an error for its node, and is deleted', async () => {
    // The node agent runs only the argus image: this one stays Pending.
    const pods = new OpsPods(
      client,
      { ...opsPodSettings(), image: 'registry.example.com/other:1' },
      { startTimeoutMs: 1500 },
    );
    try {
      await assert.rejects(
        pods.exec(GOOD, ['true'], { signal: new AbortController().signal, maxRetries: 0 }),
        /did not reach Running within 1.5 s \(last: Pending\)/,
      );
    } finally {
      await pods.dispose();
    }
    await waitFor('the pending ops pod to be gone', async () => (await opsPodsLeft()).length === 0);
  });
});
