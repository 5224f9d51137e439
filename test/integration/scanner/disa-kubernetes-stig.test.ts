// DISA Kubernetes STIG (v2r6, v2r5) on managedk8s against a real control plane: both releases list their 92
// rules with the skipped ones Skipped for their reasons; each API-object rule passes, fails and is accepted on
// real objects; options are validated with field paths; offline scans skip the live rule; a user who may not
// list pods gets Errored checks (target PodList) while the scan itself succeeds.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ValidationError } from '../../../src/api/validation.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { OFFLINE_REASON } from '../../../src/scanner/engine/scan.ts';
import { Kinds } from '../../../src/scanner/objects/kinds.ts';
import type { Report } from '../../../src/scanner/report/report.ts';
import { disaKubernetesStig } from '../../../src/scanner/rulesets/disa-kubernetes-stig/index.ts';
import { waitFor } from '../../../src/util/time.ts';
import { findingsFor, ruleChecks, scanTestbed, statusesFor, type RulesetChoice } from '../../support/scanner.ts';
import { ControlPlane } from '../../testbed/controlplane.ts';

const ID = 'disa-kubernetes-stig';
const NODE_A = 'stig-node-a';
const NODE_B = 'stig-node-b';

let cp: ControlPlane;
let client: KubeClient;
let dir: string;

before(async () => {
  cp = await ControlPlane.start({ name: 'stig' });
  client = cp.client();
  dir = mkdtempSync(join(tmpdir(), 'argus-stig-'));
  for (const name of [NODE_A, NODE_B]) await client.create(Kinds.nodes, { metadata: { name, labels: { pool: 'a' } } });
});

after(async () => {
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const stig = (ruleOptions?: RulesetChoice['ruleOptions'], version?: string): Promise<Report> =>
  scanTestbed(cp, [{ id: ID, ...(version ? { version } : {}), ...(ruleOptions ? { ruleOptions } : {}) }]);

async function namespace(name: string, labels: Record<string, string> = {}): Promise<string> {
  await client.create(Kinds.namespaces, { metadata: { name, labels } });
  return name;
}

function podManifest(
  name: string,
  namespace: string,
  spec: Partial<NonNullable<V1Pod['spec']>> = {},
  labels: Record<string, string> = {},
): V1Pod {
  return {
    metadata: { name, namespace, labels },
    spec: { nodeName: NODE_A, containers: [{ name: 'main', image: 'registry.example.com/app:1' }], ...spec },
  };
}

const createPod = (...args: Parameters<typeof podManifest>): Promise<V1Pod> =>
  client.create(Kinds.pods, podManifest(...args));

describe('registration', () => {
  test('v2r6 and v2r5 both resolve and report 92 rules; skipped rules say why', async () => {
    const report = await scanTestbed(cp, [
      { id: ID, version: 'v2r6' },
      { id: ID, version: 'v2r5' },
    ]);
    const rulesets = report.providers[0]!.rulesets;
    assert.deepEqual(
      rulesets.map((r) => [r.id, r.version, r.rules.length]),
      [
        [ID, 'v2r6', 92],
        [ID, 'v2r5', 92],
      ],
    );
    for (const [i, ruleset] of rulesets.entries()) {
      const definitions = disaKubernetesStig.versions[i]!.rules;
      for (const [j, rule] of ruleset.rules.entries()) {
        const definition = definitions[j]!;
        assert.equal(rule.id, definition.id);
        assert.equal(rule.name, definition.name);
        assert.equal(rule.severity, definition.severity);
        if (definition.skip !== undefined)
          assert.deepEqual(rule.checks, [{ status: 'Skipped', message: definition.skip }], rule.id);
        else {
          assert.ok(rule.checks.length > 0, rule.id);
          assert.ok(!rule.checks.some((c) => c.status === 'Skipped'), rule.id);
        }
      }
    }
    const byId = new Map(rulesets[0]!.rules.map((r) => [r.id, r]));
    assert.match(byId.get('242376')!.checks[0]!.message, /does not give the scanner access to its control plane/);
    // This cluster has no Ready nodes: the kubelet rules warn, the node-file rules find no node to check.
    assert.ok(byId.get('242387')!.checks.every((c) => c.status === 'Warning'));
    assert.ok(byId.get('242393')!.checks.some((c) => c.status === 'Errored'));
  });

  test('bad options are rejected before anything runs, naming the field', async () => {
    await assert.rejects(
      stig([
        { ruleID: '242414', args: { acceptedPods: [{ labelSelector: {}, namespaceLabelSelector: {}, ports: [] }] } },
        { ruleID: '242417', args: { acceptedPods: [{ namespaceLabelSelector: {} }] } },
      ]),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(
          err.errors.map((e) => e.field),
          [
            'providers[0].rulesets[0].ruleOptions[0].args.acceptedPods[0].ports',
            'providers[0].rulesets[0].ruleOptions[1].args.acceptedPods[0]',
          ],
        );
        return true;
      },
    );
  });

  test('a whole rule is accepted with skip.enabled', async () => {
    const report = await stig([{ ruleID: '242415', skip: { enabled: true, justification: 'tracked in SEC-12' } }]);
    assert.deepEqual(ruleChecks(report, '242415'), [{ status: 'Accepted', message: 'tracked in SEC-12' }]);
  });
});

describe('242383 user resources in default, kube-public and kube-node-lease', () => {
  test('the kubernetes Service passes, user workloads fail once (owned objects are covered), acceptances', async () => {
    await client.create(Kinds.deployments, {
      metadata: { name: 'stig-user-app', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'stig-user-app' } },
        template: {
          metadata: { labels: { app: 'stig-user-app' } },
          spec: { containers: [{ name: 'main', image: 'registry.example.com/app:1' }] },
        },
      },
    });
    await client.create(Kinds.services, {
      metadata: { name: 'stig-public', namespace: 'kube-public', labels: { team: 'stig' } },
      spec: { ports: [{ port: 80 }] },
    });
    // The controller manager creates the ReplicaSet and its pods: they are the Deployment's, not reported.
    await waitFor('the ReplicaSet and pods of stig-user-app', async () => {
      const pods = await client.list(Kinds.pods, { namespace: 'default', labelSelector: 'app=stig-user-app' });
      return pods.items.length > 0;
    });
    try {
      let report = await stig();
      assert.deepEqual(findingsFor(report, '242383', { namespace: 'default', name: 'kubernetes' }), [
        {
          status: 'Passed',
          message: 'System resource in a system namespace.',
          target: { kind: 'Service', name: 'kubernetes', namespace: 'default' },
        },
      ]);
      assert.deepEqual(findingsFor(report, '242383', { namespace: 'default', name: 'stig-user-app' }), [
        {
          status: 'Failed',
          message: 'User resource found in a system namespace.',
          target: { kind: 'Deployment', name: 'stig-user-app', namespace: 'default' },
        },
      ]);
      const owned = ruleChecks(report, '242383')
        .flatMap((c) => c.targets ?? [])
        .filter((t) => t.name?.startsWith('stig-user-app-'));
      assert.deepEqual(owned, []);
      assert.deepEqual(statusesFor(report, '242383', { namespace: 'kube-public', name: 'stig-public' }), ['Failed']);

      const accept = (status?: 'Passed') => [
        {
          ruleID: '242383',
          args: {
            acceptedResources: [
              {
                apiVersion: 'v1',
                kind: '*',
                labelSelector: { matchLabels: { team: 'stig' } },
                namespaceLabelSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-public' } },
                justification: 'published by the platform team',
                ...(status ? { status } : {}),
              },
            ],
          },
        },
      ];
      report = await stig(accept());
      assert.deepEqual(findingsFor(report, '242383', { namespace: 'kube-public', name: 'stig-public' }), [
        {
          status: 'Accepted',
          message: 'published by the platform team',
          target: { kind: 'Service', name: 'stig-public', namespace: 'kube-public' },
        },
      ]);
      assert.deepEqual(statusesFor(report, '242383', { namespace: 'default', name: 'stig-user-app' }), ['Failed']);
      report = await stig(accept('Passed'));
      assert.deepEqual(statusesFor(report, '242383', { namespace: 'kube-public', name: 'stig-public' }), ['Passed']);
    } finally {
      await client.delete(Kinds.deployments, 'stig-user-app', 'default', { propagationPolicy: 'Background' });
      await client.delete(Kinds.services, 'stig-public', 'kube-public');
    }
  });
});

describe('242395 Kubernetes dashboard', () => {
  test('passes without a dashboard, fails for a dashboard pod', async () => {
    let report = await stig();
    assert.deepEqual(ruleChecks(report, '242395'), [
      { status: 'Passed', message: 'The Kubernetes dashboard is not deployed.' },
    ]);
    const ns = await namespace('stig-dashboard');
    await createPod('dashboard', ns, {}, { 'k8s-app': 'kubernetes-dashboard' });
    report = await stig();
    assert.deepEqual(ruleChecks(report, '242395'), [
      {
        status: 'Failed',
        message: 'Kubernetes dashboard pod found.',
        targets: [{ kind: 'Pod', name: 'dashboard', namespace: ns }],
      },
    ]);
    await client.delete(Kinds.namespaces, ns);
  });
});

describe('242414 host ports below 1024', () => {
  test('privileged host ports fail per container and port, high ones pass, listed ports are accepted', async () => {
    const ns = await namespace('stig-ports', { team: 'net' });
    const port = (containerPort: number, hostPort: number) => ({ containerPort, hostPort });
    await createPod('web', ns, {
      initContainers: [{ name: 'init', image: 'registry.example.com/app:1', ports: [port(53, 53)] }],
      containers: [{ name: 'main', image: 'registry.example.com/app:1', ports: [port(80, 80), port(8080, 8080)] }],
    });
    await createPod('dns', ns, { containers: [{ name: 'dns', image: 'x', ports: [port(53, 53)] }] }, { app: 'dns' });
    await createPod('high', ns, { containers: [{ name: 'main', image: 'x', ports: [port(8443, 8443)] }] });
    await createPod('none', ns);

    let report = await stig();
    assert.deepEqual(
      findingsFor(report, '242414', { namespace: ns, name: 'web' }).map((f) => [
        f.status,
        f.target.container,
        f.target.details,
      ]),
      [
        ['Failed', 'main', 'hostPort: 80'],
        ['Failed', 'init', 'hostPort: 53'],
      ],
    );
    assert.deepEqual(statusesFor(report, '242414', { namespace: ns, name: 'dns' }), ['Failed']);
    assert.deepEqual(statusesFor(report, '242414', { namespace: ns, name: 'high' }), ['Passed']);
    assert.deepEqual(statusesFor(report, '242414', { namespace: ns, name: 'none' }), ['Passed']);

    report = await stig([
      {
        ruleID: '242414',
        args: {
          acceptedPods: [
            {
              labelSelector: { matchLabels: { app: 'dns' } },
              namespaceLabelSelector: { matchLabels: { team: 'net' } },
              justification: 'node-local DNS cache',
              ports: [53],
            },
          ],
        },
      },
    ]);
    assert.deepEqual(
      findingsFor(report, '242414', { namespace: ns, name: 'dns' }).map((f) => [f.status, f.message]),
      [['Accepted', 'node-local DNS cache']],
    );
    assert.deepEqual(statusesFor(report, '242414', { namespace: ns, name: 'web' }), ['Failed']);
  });
});

describe('242415 secrets in environment variables', () => {
  test('secretKeyRef variables fail unless accepted by name, other pods pass', async () => {
    const ns = await namespace('stig-env');
    const secretEnv = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: 'creds', key } } });
    await createPod(
      'web',
      ns,
      { containers: [{ name: 'main', image: 'x', env: [secretEnv('TOKEN', 'token'), secretEnv('PASSWORD', 'pw')] }] },
      { app: 'web' },
    );
    await createPod('plain', ns, {
      containers: [
        {
          name: 'main',
          image: 'x',
          env: [{ name: 'MODE', value: 'prod' }],
          envFrom: [{ secretRef: { name: 'creds' } }],
        },
      ],
    });
    let report = await stig();
    assert.deepEqual(
      findingsFor(report, '242415', { namespace: ns, name: 'web' }).map((f) => [f.status, f.target.details]),
      [
        ['Failed', 'variable: TOKEN, secret: creds, key: token'],
        ['Failed', 'variable: PASSWORD, secret: creds, key: pw'],
      ],
    );
    assert.deepEqual(statusesFor(report, '242415', { namespace: ns, name: 'plain' }), ['Passed']);
    report = await stig([
      {
        ruleID: '242415',
        args: {
          acceptedPods: [
            {
              labelSelector: { matchLabels: { app: 'web' } },
              namespaceLabelSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
              environmentVariables: ['PASSWORD'],
            },
          ],
        },
      },
    ]);
    assert.deepEqual(
      findingsFor(report, '242415', { namespace: ns, name: 'web' }).map((f) => [f.status, f.message]),
      [
        ['Failed', 'Secret is injected through an environment variable.'],
        ['Accepted', 'Secret in an environment variable is accepted for this pod.'],
      ],
    );
  });
});

describe('242417 user pods in system namespaces', () => {
  test('a user pod in kube-system fails, ops pods are not user pods, acceptances set the status', async () => {
    await createPod('stig-intruder', 'kube-system', {}, { app: 'stig-agent' });
    await createPod('stig-ops', 'kube-system', {}, { 'compliance.gardener.cloud/role': 'diki-privileged-pod' });
    try {
      let report = await stig();
      assert.deepEqual(findingsFor(report, '242417', { namespace: 'kube-system', name: 'stig-intruder' }), [
        {
          status: 'Failed',
          message: 'User pod found in a system namespace.',
          target: { kind: 'Pod', name: 'stig-intruder', namespace: 'kube-system' },
        },
      ]);
      assert.deepEqual(findingsFor(report, '242417', { name: 'stig-ops' }), []);
      const accept = (status: 'Passed' | 'Accepted') => [
        {
          ruleID: '242417',
          args: {
            acceptedPods: [
              {
                labelSelector: { matchLabels: { app: 'stig-agent' } },
                namespaceLabelSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                status,
              },
            ],
          },
        },
      ];
      report = await stig(accept('Accepted'));
      assert.deepEqual(
        findingsFor(report, '242417', { name: 'stig-intruder' }).map((f) => [f.status, f.message]),
        [['Accepted', 'User pod in a system namespace is accepted.']],
      );
      report = await stig(accept('Passed'));
      assert.deepEqual(
        findingsFor(report, '242417', { name: 'stig-intruder' }).map((f) => [f.status, f.message]),
        [['Passed', 'System pod in a system namespace.']],
      );
    } finally {
      for (const name of ['stig-intruder', 'stig-ops'])
        await client.delete(Kinds.pods, name, 'kube-system', { gracePeriodSeconds: 0 });
    }
  });
});

describe('242442 old component versions', () => {
  test('kube-proxy in two versions on one node fails, expected images warn, selectors choose the pods', async () => {
    const ns = await namespace('stig-proxy');
    const digest = (c: string) => `registry.k8s.io/kube-proxy@sha256:${c.repeat(64)}`;
    const proxies: [string, string, string, Record<string, string>][] = [
      ['kp-a1', NODE_A, digest('a'), {}],
      ['kp-a2', NODE_A, digest('b'), {}],
      ['kp-b1', NODE_B, digest('c'), { stig: 'single' }],
    ];
    for (const [name, node, imageID, labels] of proxies) {
      await createPod(
        name,
        ns,
        { nodeName: node, containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.33.0' }] },
        { role: 'proxy', ...labels },
      );
      await client.patch(
        Kinds.pods,
        name,
        {
          status: {
            containerStatuses: [
              {
                name: 'kube-proxy',
                image: 'registry.k8s.io/kube-proxy:v1.33.0',
                imageID,
                ready: true,
                restartCount: 0,
                state: { running: { startedAt: new Date().toISOString() } },
              },
            ],
          },
        },
        'merge',
        { namespace: ns, subresource: 'status' },
      );
    }
    try {
      let report = await stig();
      assert.deepEqual(ruleChecks(report, '242442'), [
        {
          status: 'Failed',
          message: 'The image runs in more than one version on the node.',
          targets: [{ kind: 'Node', name: NODE_A, image: 'registry.k8s.io/kube-proxy' }],
        },
      ]);
      report = await stig([
        { ruleID: '242442', args: { expectedVersionedImages: [{ name: 'registry.k8s.io/kube-proxy' }] } },
      ]);
      assert.deepEqual(statusesFor(report, '242442', { name: NODE_A }), ['Warning']);
      report = await stig([
        { ruleID: '242442', args: { kubeProxy: { labelSelector: { matchLabels: { stig: 'single' } } } } },
      ]);
      assert.deepEqual(ruleChecks(report, '242442'), [
        { status: 'Passed', message: 'Every component image runs in a single version per node.' },
      ]);
      report = await stig([{ ruleID: '242442', args: { kubeProxy: { matchLabels: { app: 'no-such-proxy' } } } }]);
      assert.deepEqual(ruleChecks(report, '242442'), [{ status: 'Errored', message: 'No kube-proxy pods found.' }]);
    } finally {
      await client.delete(Kinds.namespaces, ns);
    }
  });
});

describe('242390 anonymous authentication', () => {
  test('the testbed kube-apiserver answers anonymous requests with 403: anonymous auth is on', async () => {
    const report = await stig();
    assert.deepEqual(ruleChecks(report, '242390'), [
      {
        status: 'Failed',
        message: 'The kube-apiserver authenticates anonymous requests.',
        targets: [{ details: 'HTTP status of an anonymous request: 403' }],
      },
    ]);
  });

  test('offline scans skip it; the API-object rules still run on the manifests', async () => {
    const snapshot = join(dir, 'snapshot');
    rmSync(snapshot, { recursive: true, force: true });
    mkdirSync(snapshot);
    writeFileSync(
      join(snapshot, 'pods.yaml'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'dash', namespace: 'tools', labels: { 'k8s-app': 'kubernetes-dashboard' } },
        spec: { containers: [{ name: 'main', image: 'x' }] },
      }),
    );
    const report = await scanTestbed(undefined, [{ id: ID }], { snapshot });
    assert.deepEqual(ruleChecks(report, '242390'), [{ status: 'Skipped', message: OFFLINE_REASON }]);
    assert.deepEqual(statusesFor(report, '242395', { name: 'dash', namespace: 'tools' }), ['Failed']);
  });
});

describe('permissions', () => {
  test('a user who may not list pods gets Errored checks with target PodList; the scan completes', async () => {
    await client.create(Kinds.clusterRoles, {
      metadata: { name: 'stig-limited' },
      rules: [{ apiGroups: [''], resources: ['namespaces', 'nodes'], verbs: ['get', 'list'] }],
    } as never);
    await client.create(Kinds.clusterRoleBindings, {
      metadata: { name: 'stig-limited' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'stig-limited' },
      subjects: [{ kind: 'User', name: 'limited', apiGroup: 'rbac.authorization.k8s.io' }],
    } as never);
    const kubeconfig = cp.writeKubeconfig(join(dir, 'limited.kubeconfig'), await cp.identity('limited', []));
    const report = await scanTestbed(cp, [{ id: ID }], { kubeconfig });
    for (const id of ['242383', '242395', '242414', '242415', '242417', '242442']) {
      const checks = ruleChecks(report, id);
      assert.equal(checks.length, 1, id);
      assert.equal(checks[0]!.status, 'Errored', id);
      assert.deepEqual(checks[0]!.targets, [{ kind: 'PodList' }], id);
      assert.match(checks[0]!.message, /forbidden|403/i, id);
    }
    assert.equal(ruleChecks(report, '242390')[0]!.status, 'Failed');
    assert.equal(ruleChecks(report, '242376')[0]!.status, 'Skipped');
  });
});
