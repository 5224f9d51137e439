// Node-level scanning without a cluster: which nodes and kube-proxy pods are chosen, how flags, durations,
// modes, sockets and versions are read, the sh scripts the ops pods run (against a node root in a temp dir),
// path mapping through pod volumes, exec failure handling, ops pod manifests, bounded concurrency, scan state,
// and the validation of the rules' options.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { ValidationError } from '../../../src/api/validation.ts';
import { ApiError } from '../../../src/kube/client.ts';
import { catalog } from '../../../src/scanner/catalog.ts';
import { resolveConfig } from '../../../src/scanner/engine/config.ts';
import { ScanState } from '../../../src/scanner/engine/scan-state.ts';
import { Limiter, mapLimit } from '../../../src/scanner/nodes/limit.ts';
import {
  hostScripts,
  NO_KUBECTL,
  parseFilesScript,
  parseStatScript,
} from '../../../src/scanner/nodes/node-inspector.ts';
import {
  DEFAULT_OPS_POD_IMAGE,
  execFailure,
  opsPodManifest,
  opsPodName,
  opsPodSettings,
  PodStartError,
  tidyExecError,
} from '../../../src/scanner/nodes/ops-pods.ts';
import {
  exceedsPermissions,
  flagValues,
  formatGoDuration,
  innerValues,
  listeningTcpPorts,
  parseGoDuration,
  parseVersion,
  versionBelow,
} from '../../../src/scanner/nodes/parse.ts';
import {
  freePodSlots,
  GROUP_WITHOUT_USABLE_NODE,
  NO_NODE_SELECTED,
  NODE_NOT_READY,
  NODE_WITHOUT_GROUP_LABEL,
  NODE_WITHOUT_POD_SLOT,
  opsPodCapacity,
  OWNER_ON_UNUSABLE_NODES,
  placePodsPerOwner,
  POD_NOT_SCHEDULED,
  POD_ON_UNUSABLE_NODE,
  quantityCount,
  selectNodes,
} from '../../../src/scanner/nodes/selection.ts';
import { OPS_POD_ROLE, OPS_POD_ROLE_LABEL } from '../../../src/scanner/rulesets/shared/pods.ts';
import {
  containerPathOnNode,
  mountSource,
} from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/node-checks.ts';
import { sshServiceState } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/node-processes.ts';

const node = (name: string, labels: Record<string, string> = {}, pods = '110', ready = true): V1Node => ({
  metadata: { name, labels },
  status: {
    allocatable: { pods },
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  },
});

const pod = (name: string, nodeName?: string, owner?: string): V1Pod => ({
  metadata: {
    name,
    namespace: 'kube-system',
    ...(owner
      ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: owner, uid: `uid-${owner}` }] }
      : {}),
  },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [] },
});

const podsOn = (nodeName: string, n: number): V1Pod[] =>
  Array.from({ length: n }, (_, i) => pod(`${nodeName}-p${i}`, nodeName));

describe('node selection', () => {
  test('quantities of pods: plain, SI and binary suffixes, exponents; absent or malformed is 0', () => {
    assert.equal(quantityCount('110'), 110);
    assert.equal(quantityCount('1k'), 1000);
    assert.equal(quantityCount('2Ki'), 2048);
    assert.equal(quantityCount('1e2'), 100);
    assert.equal(quantityCount(undefined), 0);
    assert.equal(quantityCount('many'), 0);
  });

  test('free slots: allocatable pods minus pods bound to the node, in any phase', () => {
    const free = freePodSlots(
      [node('a', {}, '3'), node('b', {}, '1')],
      [...podsOn('a', 2), ...podsOn('b', 2), pod('x')],
    );
    assert.deepEqual(
      [...free],
      [
        ['a', 1],
        ['b', -1],
      ],
    );
    // A node that is not Ready takes no ops pod.
    const capacity = opsPodCapacity([node('a'), node('c', {}, '110', false)], []);
    assert.deepEqual(
      [...capacity],
      [
        ['a', 110],
        ['c', 0],
      ],
    );
  });

  test('without groups every usable node is chosen; the others are Warnings', () => {
    const nodes = [node('c'), node('a'), node('full', {}, '1'), node('down', {}, '110', false)];
    const { nodes: chosen, checks } = selectNodes(nodes, podsOn('full', 1));
    assert.deepEqual(
      chosen.map((n) => n.metadata?.name),
      ['a', 'c'],
    );
    assert.deepEqual(checks, [
      { status: 'Warning', message: NODE_WITHOUT_POD_SLOT, target: { kind: 'Node', name: 'full' } },
      { status: 'Warning', message: NODE_NOT_READY, target: { kind: 'Node', name: 'down' } },
    ]);
  });

  test('with groups, the first usable node of each label combination; missing labels and full groups warn', () => {
    const nodes = [
      node('a1', { pool: 'a', zone: '1' }, '1'),
      node('a2', { pool: 'a', zone: '1' }),
      node('a3', { pool: 'a', zone: '1' }),
      node('a4', { pool: 'a', zone: '2' }, '110', false),
      node('b1', { pool: 'b' }),
    ];
    const { nodes: chosen, checks } = selectNodes(nodes, podsOn('a1', 1), ['pool', 'zone']);
    assert.deepEqual(
      chosen.map((n) => n.metadata?.name),
      ['a2'],
    );
    assert.deepEqual(checks, [
      { status: 'Warning', message: NODE_WITHOUT_GROUP_LABEL, target: { kind: 'Node', name: 'b1', label: 'zone' } },
      { status: 'Warning', message: GROUP_WITHOUT_USABLE_NODE, target: { labels: 'pool=a,zone=2' } },
    ]);
  });

  test('no usable node at all is an Errored check', () => {
    assert.deepEqual(selectNodes([], []).checks, [{ status: 'Errored', message: NO_NODE_SELECTED }]);
    const { checks } = selectNodes([node('full', {}, '0')], []);
    assert.deepEqual(
      checks.map((c) => c.status),
      ['Warning', 'Errored'],
    );
  });

  test('kube-proxy pods: one per owner, on chosen nodes first, else on the node with most free slots', () => {
    const capacity = new Map([
      ['n1', 5],
      ['n2', 50],
      ['n3', 0],
    ]);
    const target = (p: V1Pod) => ({ kind: 'Pod', name: p.metadata?.name ?? '' });
    const { byNode, checks } = placePodsPerOwner(
      [
        pod('lonely', 'n1'),
        pod('lonely-full', 'n3'),
        pod('pending'),
        pod('ds-a-1', 'n1', 'ds-a'),
        pod('ds-a-2', 'n2', 'ds-a'),
        pod('ds-b-1', 'n2', 'ds-b'),
        pod('ds-b-2', 'n3', 'ds-b'),
        pod('ds-b-3', 'n1', 'ds-b'),
        pod('ds-c-1', 'n3', 'ds-c'),
      ],
      capacity,
      target,
    );
    // ds-c (1 pod) first: only on a full node. ds-a (2 pods): n1 is chosen already (lonely). ds-b: n1 too.
    assert.deepEqual(
      [...byNode].map(([n, ps]) => [n, ps.map((p) => p.metadata?.name)]),
      [['n1', ['ds-a-1', 'ds-b-3', 'lonely']]],
    );
    assert.deepEqual(checks, [
      { status: 'Warning', message: POD_ON_UNUSABLE_NODE, target: { kind: 'Pod', name: 'lonely-full', node: 'n3' } },
      { status: 'Warning', message: POD_NOT_SCHEDULED, target: { kind: 'Pod', name: 'pending' } },
      {
        status: 'Warning',
        message: OWNER_ON_UNUSABLE_NODES,
        target: { kind: 'DaemonSet', name: 'ds-c', namespace: 'kube-system' },
      },
    ]);
    const spread = placePodsPerOwner([pod('x1', 'n1', 'x'), pod('x2', 'n2', 'x')], capacity, target);
    assert.deepEqual([...spread.byNode.keys()], ['n2'], 'the node with the most free slots');
  });
});

describe('parsing', () => {
  test('flags in every form Kubernetes components accept', () => {
    const argv = [
      '/usr/bin/kubelet',
      '--config=/a.yaml',
      '--kubeconfig',
      '/k',
      '-v=2',
      '--hostname-override',
      '--x',
      '--config= /b ',
    ];
    assert.deepEqual(flagValues(argv, 'config'), ['/a.yaml', '/b']);
    assert.deepEqual(flagValues(argv, 'kubeconfig'), ['/k']);
    assert.deepEqual(flagValues(argv, 'v'), ['2']);
    assert.deepEqual(flagValues(argv, 'hostname-override'), ['']);
    assert.deepEqual(flagValues(argv, 'host'), []);
    assert.deepEqual(innerValues(['AllAlpha=true,Foo=false', 'AllAlpha=false'], 'AllAlpha'), ['true', 'false']);
  });

  test('Go durations', () => {
    assert.equal(parseGoDuration('5m0s'), 300e9);
    assert.equal(parseGoDuration('4h'), 4 * 3600e9);
    assert.equal(parseGoDuration('1.5h'), 5400e9);
    assert.equal(parseGoDuration('300ms'), 0.3e9);
    assert.equal(parseGoDuration('0'), 0);
    assert.throws(() => parseGoDuration('5 minutes'), /invalid duration/);
    assert.throws(() => parseGoDuration('5d'), /unknown unit/);
    assert.deepEqual([0, 30e9, 300e9, 4 * 3600e9, 5400e9 + 1.5e9, 1.5e6, 2e3].map(formatGoDuration), [
      '0s',
      '30s',
      '5m0s',
      '4h0m0s',
      '1h30m1.5s',
      '1.5ms',
      '2µs',
    ]);
  });

  test('file modes: any bit beyond the maximum is too wide', () => {
    assert.equal(exceedsPermissions('644', '644'), false);
    assert.equal(exceedsPermissions('600', '644'), false);
    assert.equal(exceedsPermissions('4', '644'), false);
    assert.equal(exceedsPermissions('664', '644'), true);
    assert.equal(exceedsPermissions('700', '644'), true);
    assert.equal(exceedsPermissions('640', '600'), true);
    assert.equal(exceedsPermissions('4644', '644'), true);
    assert.throws(() => exceedsPermissions('rw-', '644'), /octal/);
  });

  test('listening TCP ports from /proc/net/tcp and tcp6', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1',
      '   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2',
      '   0: 00000000000000000000000000000000:2710 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 3',
    ].join('\n');
    assert.deepEqual(
      [...listeningTcpPorts(text)].sort((a, b) => a - b),
      [22, 10000],
    );
  });

  test('versions and the kubectl bound', () => {
    const v = parseVersion('v1.11.0');
    assert.ok(v && versionBelow(v, [1, 12, 9]));
    assert.equal(versionBelow(parseVersion('v1.12.9')!, [1, 12, 9]), false);
    assert.equal(versionBelow(parseVersion('1.31.2+k3s1')!, [1, 12, 9]), false);
    assert.equal(versionBelow(parseVersion('v1.10.0-beta.1')!, [1, 12, 9]), false, 'pre-releases never match');
    assert.equal(parseVersion('v1.11.0')?.text, '1.11.0');
    assert.equal(parseVersion('latest'), undefined);
  });
});

describe('node scripts on a node root', () => {
  const root = mkdtempSync(join(tmpdir(), 'argus-node-root-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const scripts = hostScripts(root);
  const file = (path: string, content: string, mode = 0o644): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    chmodSync(join(root, path), mode);
  };
  const link = (path: string, target: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    symlinkSync(target, join(root, path));
  };
  const run = (script: string, ...args: string[]): { out: string; code: number } => {
    try {
      return { out: execFileSync('sh', ['-c', script, 'test', ...args]).toString(), code: 0 };
    } catch (err) {
      const e = err as { status: number; stdout: Buffer };
      return { out: e.stdout.toString(), code: e.status };
    }
  };
  const FORMAT = '%a\t%u\t%g\t%F';

  file('/var/lib/kubelet/pki/kubelet-client-2024.pem', 'pem', 0o600);
  file('/var/lib/kubelet/pki/kubelet.crt', 'crt', 0o644);
  // Absolute links point into the node's tree, not the scanner's.
  link('/var/lib/kubelet/pki/kubelet-client-current.pem', '/var/lib/kubelet/pki/kubelet-client-2024.pem');
  link('/etc/kubernetes/kubelet', '../../var/lib/kubelet');
  link('/etc/kubernetes/absolute', '/var/lib/kubelet');
  file('/var/lib/kubelet/config.yaml', 'kind: KubeletConfiguration\n', 0o600);

  test('stat follows links on the node, relative and absolute, and reports missing files', () => {
    const { out } = run(
      scripts.stat,
      FORMAT,
      '/var/lib/kubelet/pki/kubelet-client-current.pem',
      '/etc/kubernetes/kubelet/config.yaml',
      '/etc/kubernetes/absolute/pki/../config.yaml',
      '/etc/missing',
    );
    const stats = parseStatScript(out);
    assert.equal(stats.get('/var/lib/kubelet/pki/kubelet-client-current.pem')?.permissions, '600');
    assert.equal(stats.get('/etc/kubernetes/kubelet/config.yaml')?.type, 'regular file');
    assert.equal(stats.get('/etc/kubernetes/absolute/pki/../config.yaml')?.permissions, '600');
    assert.ok(stats.has('/etc/missing'));
    assert.equal(stats.get('/etc/missing'), undefined);
    const uid = String(process.getuid?.() ?? 0);
    assert.equal(stats.get('/etc/kubernetes/kubelet/config.yaml')?.uid, uid);
  });

  test('files under a directory: regular files only (links to files are skipped, as find -type f)', () => {
    const files = parseFilesScript(run(scripts.files, `${FORMAT}\t%n`, '/etc/kubernetes/absolute/pki').out, root);
    assert.deepEqual(
      files?.map((f) => [f.path, f.permissions]),
      [
        ['/var/lib/kubelet/pki/kubelet-client-2024.pem', '600'],
        ['/var/lib/kubelet/pki/kubelet.crt', '644'],
      ],
    );
    assert.deepEqual(
      parseFilesScript(run(scripts.files, `${FORMAT}\t%n`, '/var/lib/kubelet/config.yaml').out, root)?.map(
        (f) => f.path,
      ),
      ['/var/lib/kubelet/config.yaml'],
    );
    assert.equal(parseFilesScript(run(scripts.files, `${FORMAT}\t%n`, '/nope').out, root), undefined);
  });

  test('read gives the content, or exit 3 for a missing file', () => {
    assert.deepEqual(run(scripts.read, '/etc/kubernetes/kubelet/config.yaml'), {
      out: 'kind: KubeletConfiguration\n',
      code: 0,
    });
    assert.equal(run(scripts.read, '/nope').code, 3);
  });

  test('ssh units and their state: absent, installed, enabled, masked', () => {
    const units = (): { path: string; target: string }[] =>
      run(scripts.sshUnits)
        .out.split('\n')
        .filter(Boolean)
        .map((l) => {
          const [path = '', target = ''] = l.split('\t');
          return { path, target };
        });
    assert.deepEqual(sshServiceState(units()), { state: 'absent' });
    file('/usr/lib/systemd/system/ssh.service', '[Service]\n');
    assert.deepEqual(sshServiceState(units()), { state: 'disabled' });
    link('/etc/systemd/system/multi-user.target.wants/ssh.service', '/usr/lib/systemd/system/ssh.service');
    assert.deepEqual(sshServiceState(units()), {
      state: 'enabled',
      unit: '/etc/systemd/system/multi-user.target.wants/ssh.service',
    });
    link('/etc/systemd/system/ssh.service', '/dev/null');
    assert.deepEqual(sshServiceState(units()), { state: 'masked' });
  });

  test('kubectl: found on the usual PATH and run, or a distinct exit code', () => {
    assert.equal(run(scripts.kubectl).code, NO_KUBECTL);
    file('/opt/bin/kubectl', '#!/bin/sh\necho "{\\"clientVersion\\":{\\"gitVersion\\":\\"$1-$2\\"}}"\n', 0o755);
    assert.deepEqual(run(scripts.kubectl), {
      out: '/opt/bin/kubectl\n{"clientVersion":{"gitVersion":"version---client"}}\n',
      code: 0,
    });
  });

  test('a node root must be a plain absolute path', () => {
    assert.throws(() => hostScripts("/tmp/x'; rm -rf /"), /unusable node root/);
  });
});

describe('kube-proxy paths on the node', () => {
  const proxy: V1Pod = {
    metadata: { name: 'kube-proxy-x', namespace: 'kube-system', uid: 'u-1' },
    spec: {
      containers: [
        {
          name: 'kube-proxy',
          volumeMounts: [
            { name: 'lib', mountPath: '/var/lib/kube-proxy' },
            { name: 'config', mountPath: '/var/lib/kube-proxy/config' },
            { name: 'token', mountPath: '/var/run/secrets/tokens', subPath: 'sub' },
            { name: 'data', mountPath: '/data' },
          ],
        },
      ],
      volumes: [
        { name: 'lib', hostPath: { path: '/var/lib/kube-proxy/' } },
        { name: 'config', configMap: { name: 'kube-proxy' } },
        { name: 'token', secret: { secretName: 't' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'x' } },
      ],
    },
  };
  const container = proxy.spec!.containers[0]!;

  test('through the longest mount: hostPaths, kubelet pod volumes, subPaths', () => {
    assert.equal(
      containerPathOnNode(proxy, container, '/var/lib/kube-proxy/kubeconfig', '/var/lib/kubelet'),
      '/var/lib/kube-proxy/kubeconfig',
    );
    assert.equal(
      containerPathOnNode(proxy, container, '/var/lib/kube-proxy/config/config.yaml', '/var/lib/kubelet'),
      '/var/lib/kubelet/pods/u-1/volumes/kubernetes.io~configmap/config/config.yaml',
    );
    assert.equal(
      containerPathOnNode(proxy, container, '/var/run/secrets/tokens/token', '/k'),
      '/k/pods/u-1/volumes/kubernetes.io~secret/token/sub/token',
    );
    assert.equal(mountSource(proxy, container.volumeMounts![0]!, '/k'), '/var/lib/kube-proxy/');
  });

  test('paths outside every mount, or in volumes without a node path, cannot be mapped', () => {
    assert.throws(
      () => containerPathOnNode(proxy, container, '/etc/kubeconfig', '/k'),
      /No volume of container kube-proxy/,
    );
    assert.throws(() => containerPathOnNode(proxy, container, '/data/kubeconfig', '/k'), /has no path on the node/);
    assert.equal(mountSource(proxy, container.volumeMounts![3]!, '/k'), undefined);
  });
});

describe('ops pods', () => {
  test('settings from the provider args, with diki defaults', () => {
    assert.deepEqual(opsPodSettings(), { image: DEFAULT_OPS_POD_IMAGE, namespace: 'kube-system', labels: {} });
    assert.deepEqual(
      opsPodSettings({ opsPodImage: 'reg/argus:1', opsPodNamespace: 'scans', additionalOpsPodLabels: { a: 'b' } }),
      { image: 'reg/argus:1', namespace: 'scans', labels: { a: 'b' } },
    );
  });

  test('manifest: bound to the node, privileged, host PID and network, node root at /host, short-lived', () => {
    const name = opsPodName('Worker.Pool-A_1');
    assert.match(name, /^argus-ops-worker-pool-a-1-[0-9a-f]{6}$/);
    assert.ok(opsPodName('x'.repeat(300)).length <= 63);
    const pod = opsPodManifest(
      name,
      'node-1',
      { image: 'argus', namespace: 'kube-system', labels: { [OPS_POD_ROLE_LABEL]: 'x', team: 't' } },
      'i1',
    );
    assert.equal(pod.metadata?.labels?.[OPS_POD_ROLE_LABEL], OPS_POD_ROLE, 'the role label cannot be overridden');
    assert.equal(pod.metadata?.labels?.team, 't');
    assert.equal(pod.spec?.nodeName, 'node-1');
    assert.equal(pod.spec?.hostPID, true);
    assert.equal(pod.spec?.hostNetwork, true);
    assert.equal(pod.spec?.activeDeadlineSeconds, 300);
    assert.deepEqual(pod.spec?.tolerations, [{ operator: 'Exists' }]);
    assert.equal(pod.spec?.containers[0]?.securityContext?.privileged, true);
    assert.deepEqual(pod.spec?.containers[0]?.volumeMounts, [{ name: 'host-root-volume', mountPath: '/host' }]);
    assert.deepEqual(pod.spec?.volumes, [{ name: 'host-root-volume', hostPath: { path: '/' } }]);
  });

  test('exec failures: a vanished or ended pod is replaced, transient errors retried, refusals final', () => {
    const api = (code: number, message = '') => new ApiError(code, { message }, 'exec');
    assert.equal(execFailure(api(404)), 'replace-pod');
    assert.equal(
      execFailure(api(400, 'cannot exec into a container in a completed pod; current phase is Failed')),
      'replace-pod',
    );
    assert.equal(execFailure(api(500)), 'retry');
    assert.equal(execFailure(api(429)), 'retry');
    assert.equal(execFailure(new Error('exec in a/b: timed out after 30000 ms')), 'retry');
    assert.equal(execFailure(api(403)), 'fatal');
    assert.equal(execFailure(new PodStartError('ImagePullBackOff')), 'fatal');
    const tidy = tidyExecError(
      api(500, 'error sending request: Post "https://10.0.0.1:10250/exec/ns/p/c?command=sh&command=-c": refused'),
    );
    assert.equal(tidy.message, 'exec: 500 : error sending request: Post "https://10.0.0.1:10250/exec/ns/p/c": refused');
  });
});

describe('concurrency and scan state', () => {
  test('a limiter runs at most its limit at once, in order', async () => {
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const results = await mapLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      order.push(n);
      active--;
      return n * 10;
    });
    assert.deepEqual(results, [10, 20, 30, 40, 50, 60]);
    assert.equal(peak, 2);
    const limiter = new Limiter(1);
    await assert.rejects(
      limiter.run(() => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await limiter.run(async () => 'next'), 'next', 'a failed task gives its slot back');
    assert.throws(() => new Limiter(0), /positive integer/);
  });

  test('scan state: created once per key, disposed newest first despite failures, closed afterwards', async () => {
    const state = new ScanState();
    const disposed: string[] = [];
    let created = 0;
    const a = state.get(
      'a',
      () => ({ n: ++created }),
      async () => void disposed.push('a'),
    );
    assert.equal(
      state.get('a', () => ({ n: ++created })),
      a,
    );
    state.get(
      'b',
      () => 'b',
      async () => {
        disposed.push('b');
        throw new Error('cannot');
      },
    );
    state.get(
      'c',
      () => 'c',
      async () => void disposed.push('c'),
    );
    await state.dispose();
    await state.dispose();
    assert.deepEqual(disposed, ['c', 'b', 'a']);
    assert.equal(created, 1);
    assert.throws(() => state.get('d', () => 1), /the scan has ended/);
  });
});

describe('options of the node-level rules', () => {
  const errors = (ruleOptions: unknown[], args?: unknown): string[] => {
    try {
      resolveConfig(
        {
          providers: [
            { id: 'managedk8s', rulesets: [{ id: 'disa-kubernetes-stig', ruleOptions, ...(args ? { args } : {}) }] },
          ],
        },
        catalog,
      );
      return [];
    } catch (err) {
      assert.ok(err instanceof ValidationError);
      return err.errors.map((e) => `${e.field}: ${e.message}`);
    }
  };
  const at = (i: number) => `providers[0].rulesets[0].ruleOptions[${i}].args`;

  test("diki's shapes are accepted", () => {
    assert.deepEqual(
      errors([
        {
          ruleID: '242393',
          args: { nodeGroupByLabels: ['worker.gardener.cloud/pool', 'topology.kubernetes.io/zone'] },
        },
        { ruleID: '242400', args: { kubeProxy: { labelSelector: { matchLabels: { app: 'kube-proxy' } } } } },
        { ruleID: '242447', args: { matchLabels: { app: 'kube-proxy' } } },
        { ruleID: '242448', args: { labelSelector: {}, expectedFileOwner: { users: ['0', '65534'], groups: ['0'] } } },
        {
          ruleID: '242451',
          args: { kubeProxy: { disabled: true }, nodeGroupByLabels: ['pool'], expectedFileOwner: {} },
        },
        { ruleID: '242466', args: { kubeProxy: { matchLabels: { k: 'v' } } } },
      ]),
      [],
    );
  });

  test('bad label names, owner IDs and mixed selectors are named by their path', () => {
    assert.deepEqual(
      errors([
        { ruleID: '242394', args: { nodeGroupByLabels: ['pool', 'bad label', 'Example.com/x'] } },
        { ruleID: '242406', args: { expectedFileOwner: { users: ['root'], groups: ['-1', '99999999999'] } } },
        { ruleID: '242467', args: { kubeProxy: { labelSelector: {}, matchLabels: {} } } },
        { ruleID: '242447', args: { labelSelector: {}, matchLabels: {} } },
        { ruleID: '242404', args: { nodeGroupByLabels: 'pool' } },
      ]),
      [
        `${at(0)}.nodeGroupByLabels[1]: "bad label" is not a label name: the name must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`,
        `${at(0)}.nodeGroupByLabels[2]: "Example.com/x" is not a label name: the prefix must be a DNS subdomain (lower-case letters, digits, "-" and ".")`,
        `${at(1)}.expectedFileOwner.users[0]: "root" is not a numeric user ID (0 to 2147483647)`,
        `${at(1)}.expectedFileOwner.groups[0]: "-1" is not a numeric group ID (0 to 2147483647)`,
        `${at(1)}.expectedFileOwner.groups[1]: "99999999999" is not a numeric group ID (0 to 2147483647)`,
        `${at(2)}.kubeProxy.matchLabels: cannot be set together with labelSelector`,
        `${at(3)}.matchLabels: cannot be set together with labelSelector`,
        `${at(4)}.nodeGroupByLabels: must be array`,
      ],
    );
  });

  test('provider args for the ops pods', () => {
    const provider = (args: unknown): string[] => {
      try {
        resolveConfig({ providers: [{ id: 'managedk8s', args, rulesets: [{ id: 'disa-kubernetes-stig' }] }] }, catalog);
        return [];
      } catch (err) {
        return (err as ValidationError).errors.map((e) => e.field);
      }
    };
    assert.deepEqual(
      provider({ opsPodImage: 'r/argus:1', opsPodNamespace: 'scans', additionalOpsPodLabels: { a: 'b' } }),
      [],
    );
    assert.deepEqual(provider({ opsPodNamespace: 'Not_A_Namespace' }), ['providers[0].args.opsPodNamespace']);
  });
});
