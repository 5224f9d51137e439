// The DISA Kubernetes STIG ruleset without a cluster: registration of both releases (92 rules each, diki's
// ids, names and severities), option validation that names the bad field, the logic of the API-object rules
// on hand-made objects, image-reference normalisation, and the anonymous-auth probe against a local server.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { ValidationError } from '../../../src/api/validation.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import type { KubeObject } from '../../../src/kube/resources.ts';
import { catalog } from '../../../src/scanner/catalog.ts';
import { resolveConfig } from '../../../src/scanner/engine/config.ts';
import type { CheckResult } from '../../../src/scanner/engine/result.ts';
import type { LiveCluster, Rule } from '../../../src/scanner/engine/rule.ts';
import { kindKey, kindOf } from '../../../src/scanner/objects/kinds.ts';
import { SnapshotObjectSource } from '../../../src/scanner/objects/source.ts';
import { disaKubernetesStig } from '../../../src/scanner/rulesets/disa-kubernetes-stig/index.ts';
import { rule242383 } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/242383.ts';
import { rule242390 } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/242390.ts';
import { rule242395 } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/242395.ts';
import { rule242414 } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/242414.ts';
import { rule242415 } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/242415.ts';
import { rule242417 } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/242417.ts';
import { rule242442 } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/242442.ts';
import { imageRepository } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/image-reference.ts';
import { kubeletConfigRules } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/kubelet-config.ts';
import { nodeFileRules } from '../../../src/scanner/rulesets/disa-kubernetes-stig/rules/node-files.ts';
import { createCA, issueCertificate } from '../../../src/util/pki.ts';

const RULESET = 'disa-kubernetes-stig';

/** A snapshot of the given objects, each filed under its kind. */
function source(objects: KubeObject[]): SnapshotObjectSource {
  const byKind = new Map<string, KubeObject[]>();
  for (const obj of objects) {
    const rt = kindOf(obj.apiVersion ?? '', obj.kind ?? '');
    assert.ok(rt, `${obj.apiVersion}/${obj.kind} is not a scanner kind`);
    const list = byKind.get(kindKey(rt)) ?? [];
    list.push(obj);
    byKind.set(kindKey(rt), list);
  }
  return new SnapshotObjectSource(byKind);
}

async function run(rule: Rule, objects: KubeObject[], options?: unknown, live?: LiveCluster): Promise<CheckResult[]> {
  return rule.run({
    objects: source(objects),
    live,
    options,
    rulesetArgs: {},
    signal: new AbortController().signal,
  });
}

/** `status message [name]` per check, for compact assertions. */
const summary = (checks: CheckResult[]): string[] =>
  checks.map((c) => `${c.status} ${c.message}${c.target?.name !== undefined ? ` [${c.target.name}]` : ''}`);

const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
});

interface PodInput {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  owner?: { kind: string; name: string; uid: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const pod = ({
  name,
  namespace = 'shop',
  labels,
  owner,
  spec,
  status,
}: PodInput): KubeObject & { spec?: unknown; status?: unknown } => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace,
    uid: `uid-${namespace}-${name}`,
    ...(labels ? { labels } : {}),
    ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', controller: true, ...owner }] } : {}),
  },
  spec: { containers: [{ name: 'main', image: 'app:1' }], ...spec },
  ...(status ? { status } : {}),
});

function configErrors(ruleOptions: unknown[], args?: unknown, version = 'v2r6'): string[] {
  try {
    resolveConfig(
      {
        providers: [{ id: 'managedk8s', rulesets: [{ id: RULESET, version, ruleOptions, ...(args ? { args } : {}) }] }],
      },
      catalog,
    );
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.errors.map((e) => `${e.field}: ${e.message}`);
  }
  return [];
}

describe('registration', () => {
  test('v2r6 (default) and v2r5 each register the same 92 rules, in id order', () => {
    const [v2r6, v2r5] = disaKubernetesStig.versions;
    assert.equal(v2r6!.version, 'v2r6');
    assert.equal(v2r5!.version, 'v2r5');
    for (const version of [v2r6!, v2r5!]) {
      assert.equal(version.rules.length, 92);
      assert.equal(new Set(version.rules.map((r) => r.id)).size, 92);
      const ids = version.rules.map((r) => Number(r.id));
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
      );
      for (const rule of version.rules) assert.ok(rule.name.endsWith('.') && rule.severity, rule.id);
    }
    assert.deepEqual(
      v2r5!.rules.map((r) => [r.id, r.name, r.severity, r.skip]),
      v2r6!.rules.map((r) => [r.id, r.name, r.severity, r.skip]),
    );
    for (const removed of ['242386', '242388', '242401', '242416', '242435', '242439', '242458'])
      assert.ok(!v2r6!.rules.some((r) => r.id === removed), removed);
  });

  test('diki names and severities', () => {
    const byId = new Map(disaKubernetesStig.versions[0]!.rules.map((r) => [r.id, r]));
    const expect: [string, string, string][] = [
      ['242383', 'Kubernetes must separate user functionality.', 'Medium'],
      ['242390', 'The Kubernetes API server must have anonymous authentication disabled.', 'High'],
      ['242395', 'Kubernetes dashboard must not be enabled.', 'Medium'],
      ['242414', 'The Kubernetes cluster must use non-privileged host ports for user pods.', 'Medium'],
      ['242415', 'Secrets in Kubernetes must not be stored as environment variables.', 'High'],
      ['242417', 'Kubernetes must separate user functionality.', 'Medium'],
      ['242442', 'Kubernetes must remove old components after updated versions have been installed.', 'Medium'],
      [
        '242381',
        'The Kubernetes Controller Manager must create unique service accounts for each work payload.',
        'High',
      ],
      ['242437', 'Kubernetes must have a pod security policy set.', 'High'],
      ['274884', 'Kubernetes must limit Secret access on a need-to-know basis.', 'Medium'],
    ];
    for (const [id, name, severity] of expect) {
      assert.equal(byId.get(id)?.name, name, id);
      assert.equal(byId.get(id)?.severity, severity, id);
    }
  });

  test('32 rules run (7 on API objects, 10 on kubelet configz, 15 on nodes through ops pods), 60 are skipped', () => {
    const rules = disaKubernetesStig.versions[0]!.rules;
    const running = rules.filter((r) => r.skip === undefined).map((r) => r.id);
    assert.equal(kubeletConfigRules.length, 10);
    assert.equal(nodeFileRules.length, 15);
    const nodeLevel = [...kubeletConfigRules, ...nodeFileRules];
    assert.deepEqual(
      running,
      ['242383', '242390', '242395', '242414', '242415', '242417', '242442', ...nodeLevel.map((r) => r.id)].sort(),
    );
    assert.ok(nodeLevel.every((r) => r.live && r.skip === undefined));
    for (const r of rules.filter((r) => r.skip !== undefined)) assert.ok(r.skip!.length > 20, r.id);
    assert.equal(rules.filter((r) => r.skip !== undefined).length, 60);
    assert.match(rules.find((r) => r.id === '242444')!.skip!, /Duplicate of 242405/);
    assert.match(rules.find((r) => r.id === '242398')!.skip!, /removed in Kubernetes v1\.19/);
  });
});

describe('options', () => {
  test('valid diki options resolve for both versions, with the ruleset arg maxRetries', () => {
    const options = [
      {
        ruleID: '242383',
        args: {
          acceptedResources: [
            {
              apiVersion: 'apps/v1',
              kind: '*',
              labelSelector: { matchLabels: { app: 'x' } },
              namespaceLabelSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } },
              status: 'Passed',
            },
          ],
        },
      },
      {
        ruleID: '242414',
        args: { acceptedPods: [{ matchLabels: { a: 'b' }, namespaceMatchLabels: { c: 'd' }, ports: [53] }] },
      },
      {
        ruleID: '242415',
        args: {
          acceptedPods: [
            {
              labelSelector: { matchExpressions: [{ key: 'a', operator: 'Exists' }] },
              namespaceLabelSelector: {},
              environmentVariables: ['FOO_BAR'],
            },
          ],
        },
      },
      {
        ruleID: '242417',
        args: { acceptedPods: [{ labelSelector: {}, namespaceLabelSelector: {}, justification: 'x' }] },
      },
      {
        ruleID: '242442',
        args: { kubeProxy: { matchLabels: { app: 'proxy' } }, expectedVersionedImages: [{ name: 'x' }] },
      },
      { ruleID: '242393', args: { nodeGroupByLabels: ['pool'] } },
      { ruleID: '242451', args: { kubeProxy: { disabled: true }, expectedFileOwner: { users: ['0'], groups: ['0'] } } },
      { ruleID: '242376', skip: { enabled: true, justification: 'known' } },
    ];
    assert.deepEqual(configErrors(options, { maxRetries: 2 }), []);
    assert.deepEqual(configErrors(options, undefined, 'v2r5'), []);
  });

  test('every bad option is named by its path', () => {
    const at = (i: number) => `providers[0].rulesets[0].ruleOptions[${i}].args`;
    assert.deepEqual(
      configErrors([
        { ruleID: '242414', args: { acceptedPods: [{ labelSelector: {}, namespaceLabelSelector: {}, ports: [] }] } },
        {
          ruleID: '242383',
          args: {
            acceptedResources: [
              { apiVersion: 'v2', kind: 'Pod', labelSelector: {}, namespaceLabelSelector: {} },
              { apiVersion: 'apps/v1', kind: 'Pod', labelSelector: {}, namespaceLabelSelector: {} },
            ],
          },
        },
        {
          ruleID: '242415',
          args: { acceptedPods: [{ matchLabels: {}, namespaceMatchLabels: {}, environmentVariables: ['1=x'] }] },
        },
        { ruleID: '242417', args: { acceptedPods: [{ labelSelector: {} }] } },
        { ruleID: '242442', args: { kubeProxy: { labelSelector: {}, matchLabels: {} }, expectedVersionedImages: [] } },
        { ruleID: '242395', args: { anything: true } },
      ]),
      [
        `${at(0)}.acceptedPods[0].ports: must not be empty`,
        `${at(1)}.acceptedResources[0].apiVersion: "v2" is not checked by this rule; one of: v1, apps/v1, autoscaling/v1, batch/v1`,
        `${at(1)}.acceptedResources[1].kind: "Pod" is not a kind of apps/v1 this rule checks; one of: Deployment, DaemonSet, ReplicaSet, StatefulSet, *`,
        `${at(2)}.acceptedPods[0].environmentVariables[0]: "1=x" is not an environment variable name (letters, digits, "_", "-", "."; not starting with a digit)`,
        `${at(3)}.acceptedPods[0]: both labelSelector and namespaceLabelSelector must be set`,
        `${at(4)}.kubeProxy.matchLabels: cannot be set together with labelSelector`,
        `${at(4)}.expectedVersionedImages: must not be empty`,
        `${at(5)}: rule 242395 takes no args`,
      ],
    );
    assert.deepEqual(
      configErrors([{ ruleID: '242414', args: { acceptedPods: [{ ports: [-1], status: 'Passed' }] } }]),
      [`${at(0)}.acceptedPods[0].status: unknown field`, `${at(0)}.acceptedPods[0].ports[0]: must be >= 0`],
    );
    assert.deepEqual(configErrors([], { maxRetries: -1 }), ['providers[0].rulesets[0].args.maxRetries: must be >= 0']);
    assert.deepEqual(configErrors([{ ruleID: '242393', args: { nodeGroupByLabel: ['x'] } }]), [
      `${at(0)}.nodeGroupByLabel: unknown field`,
    ]);
  });
});

describe('242383 user resources in default, kube-public, kube-node-lease', () => {
  const objects: KubeObject[] = [
    ns('default'),
    ns('kube-public'),
    ns('kube-node-lease'),
    ns('shop'),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        uid: 's1',
        labels: { component: 'apiserver', provider: 'kubernetes' },
      },
    },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', uid: 'd1' } },
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'web-1',
        namespace: 'default',
        uid: 'r1',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1' }],
      },
    },
    pod({ name: 'web-1-a', namespace: 'default', owner: { kind: 'ReplicaSet', name: 'web-1', uid: 'r1' } }),
    pod({ name: 'mirror', namespace: 'default', owner: { kind: 'Node', name: 'n1', uid: 'node-uid' } }),
    pod({
      name: 'diki-ops',
      namespace: 'default',
      labels: { 'compliance.gardener.cloud/role': 'diki-privileged-pod' },
    }),
    {
      apiVersion: 'autoscaling/v1',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'hpa', namespace: 'kube-public', labels: { team: 'a' } },
    },
    { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cron', namespace: 'kube-node-lease' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'elsewhere', namespace: 'shop', uid: 'd2' } },
  ];

  test('owned objects are covered by their owner; the API server Service passes; ops pods are ignored', async () => {
    assert.deepEqual(summary(await run(rule242383, objects)), [
      'Failed User resource found in a system namespace. [mirror]',
      'Passed System resource in a system namespace. [kubernetes]',
      'Failed User resource found in a system namespace. [web]',
      'Failed User resource found in a system namespace. [hpa]',
      'Failed User resource found in a system namespace. [cron]',
    ]);
  });

  test('acceptance by apiVersion, kind (or *) and selectors, with the status asked for', async () => {
    const checks = await run(rule242383, objects, {
      acceptedResources: [
        {
          apiVersion: 'autoscaling/v1',
          kind: '*',
          labelSelector: { matchLabels: { team: 'a' } },
          namespaceLabelSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-public' } },
          justification: 'scaler of the platform',
          status: 'Passed',
        },
        { apiVersion: 'apps/v1', kind: 'Deployment', matchLabels: {}, namespaceMatchLabels: {} },
        {
          apiVersion: 'v1',
          kind: 'Service',
          labelSelector: {},
          namespaceLabelSelector: {},
          justification: 'never used',
        },
      ],
    });
    assert.deepEqual(summary(checks), [
      'Failed User resource found in a system namespace. [mirror]',
      'Passed System resource in a system namespace. [kubernetes]',
      'Accepted User resource in a system namespace is accepted. [web]',
      'Passed scaler of the platform [hpa]',
      'Failed User resource found in a system namespace. [cron]',
    ]);
    assert.deepEqual(checks[2]!.target, { kind: 'Deployment', name: 'web', namespace: 'default' });
  });
});

describe('242395 Kubernetes dashboard', () => {
  test('passes without dashboard pods and fails for each one', async () => {
    assert.deepEqual(summary(await run(rule242395, [pod({ name: 'web' })])), [
      'Passed The Kubernetes dashboard is not deployed.',
    ]);
    const dashboard = pod({
      name: 'dash',
      namespace: 'kubernetes-dashboard',
      labels: { 'k8s-app': 'kubernetes-dashboard' },
    });
    const checks = await run(rule242395, [pod({ name: 'web' }), dashboard]);
    assert.deepEqual(checks, [
      {
        status: 'Failed',
        message: 'Kubernetes dashboard pod found.',
        target: { kind: 'Pod', name: 'dash', namespace: 'kubernetes-dashboard' },
      },
    ]);
  });
});

describe('242414 host ports below 1024', () => {
  const owner = { kind: 'ReplicaSet', name: 'web-1', uid: 'rs' };
  const objects = [
    ns('shop', { team: 'shop' }),
    pod({
      name: 'web-a',
      owner,
      labels: { app: 'web' },
      spec: {
        initContainers: [{ name: 'init', image: 'x', ports: [{ containerPort: 53, hostPort: 53 }] }],
        containers: [
          {
            name: 'main',
            image: 'x',
            ports: [
              { containerPort: 80, hostPort: 80 },
              { containerPort: 8080, hostPort: 8080 },
            ],
          },
        ],
      },
    }),
    pod({
      name: 'web-b',
      owner,
      spec: { containers: [{ name: 'main', image: 'x', ports: [{ containerPort: 80, hostPort: 80 }] }] },
    }),
    pod({ name: 'api', spec: { containers: [{ name: 'main', image: 'x', ports: [{ containerPort: 80 }] }] } }),
  ];

  test('one pod per owner; each privileged host port fails, accepted ports are accepted', async () => {
    const checks = await run(rule242414, objects, {
      acceptedPods: [
        { matchLabels: { app: 'web' }, namespaceMatchLabels: { team: 'shop' }, ports: [53], justification: 'DNS' },
      ],
    });
    assert.deepEqual(summary(checks), [
      'Failed Container uses a host port below 1024. [web-a]',
      'Accepted DNS [web-a]',
      'Passed Pod uses no host port below 1024. [api]',
    ]);
    assert.deepEqual(checks[0]!.target, {
      kind: 'Pod',
      name: 'web-a',
      namespace: 'shop',
      ownerKind: 'ReplicaSet',
      ownerName: 'web-1',
      container: 'main',
      details: 'hostPort: 80',
    });
    assert.deepEqual(summary(await run(rule242414, [])), ['Passed There are no Pods in the cluster.']);
  });
});

describe('242415 secrets in environment variables', () => {
  const objects = [
    ns('shop'),
    pod({
      name: 'web',
      labels: { app: 'web' },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'x',
            env: [
              { name: 'PLAIN', value: 'x' },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
              { name: 'CONFIG', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a' } } },
            ],
          },
        ],
        initContainers: [
          {
            name: 'init',
            image: 'x',
            env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'pw' } } }],
          },
        ],
      },
    }),
    pod({
      name: 'clean',
      spec: { containers: [{ name: 'main', image: 'x', envFrom: [{ secretRef: { name: 'creds' } }] }] },
    }),
  ];

  test('each secretKeyRef variable fails unless accepted by name for the selected pods', async () => {
    const checks = await run(rule242415, objects, {
      acceptedPods: [
        {
          labelSelector: { matchLabels: { app: 'web' } },
          namespaceLabelSelector: {},
          environmentVariables: ['PASSWORD'],
        },
      ],
    });
    assert.deepEqual(summary(checks), [
      'Failed Secret is injected through an environment variable. [web]',
      'Accepted Secret in an environment variable is accepted for this pod. [web]',
      'Passed Pod injects no secret through environment variables. [clean]',
    ]);
    assert.equal(checks[0]!.target?.details, 'variable: TOKEN, secret: creds, key: token');
    assert.equal(checks[1]!.target?.container, 'init');
  });
});

describe('242417 user pods in kube-system, kube-public, kube-node-lease', () => {
  test('system namespaces only, ops pods ignored, one pod per owner, acceptances with their status', async () => {
    const owner = { kind: 'DaemonSet', name: 'proxy', uid: 'ds' };
    const objects = [
      ns('kube-system'),
      ns('shop'),
      pod({ name: 'proxy-a', namespace: 'kube-system', owner, labels: { role: 'proxy' } }),
      pod({ name: 'proxy-b', namespace: 'kube-system', owner, labels: { role: 'proxy' } }),
      pod({ name: 'intruder', namespace: 'kube-system', labels: { app: 'x' } }),
      pod({ name: 'hidden', namespace: 'kube-system', labels: { app: 'y' } }),
      pod({
        name: 'ops',
        namespace: 'kube-system',
        labels: { 'compliance.gardener.cloud/role': 'diki-privileged-pod' },
      }),
      pod({ name: 'web', namespace: 'shop' }),
    ];
    const checks = await run(rule242417, objects, {
      acceptedPods: [
        { labelSelector: { matchLabels: { role: 'proxy' } }, namespaceLabelSelector: {}, status: 'Passed' },
        {
          matchLabels: { app: 'y' },
          namespaceMatchLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
          justification: 'vendor agent',
        },
      ],
    });
    assert.deepEqual(summary(checks), [
      'Passed System pod in a system namespace. [proxy-a]',
      'Failed User pod found in a system namespace. [intruder]',
      'Accepted vendor agent [hidden]',
    ]);
    assert.deepEqual(summary(await run(rule242417, [pod({ name: 'web' })])), [
      'Passed There are no pods in the system namespaces.',
    ]);
  });
});

describe('242442 old component versions', () => {
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const proxy = (name: string, node: string, imageID: string | undefined, labels = { role: 'proxy' }): KubeObject =>
    pod({
      name,
      namespace: 'kube-system',
      labels,
      spec: { nodeName: node, containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.33.0' }] },
      status:
        imageID === undefined
          ? {}
          : { containerStatuses: [{ name: 'kube-proxy', image: 'x', imageID, ready: true, restartCount: 0 }] },
    });

  test('two versions of one image on a node fail once per image; across nodes they do not', async () => {
    const objects = [
      proxy('p1', 'n1', `registry.k8s.io/kube-proxy@${digest('a')}`),
      proxy('p2', 'n1', `registry.k8s.io/kube-proxy@${digest('b')}`),
      proxy('p3', 'n1', `registry.k8s.io/kube-proxy@${digest('c')}`),
      proxy('p4', 'n2', `registry.k8s.io/kube-proxy@${digest('a')}`),
      proxy('p5', 'n3', `registry.k8s.io/kube-proxy@${digest('b')}`),
    ];
    assert.deepEqual(await run(rule242442, objects), [
      {
        status: 'Failed',
        message: 'The image runs in more than one version on the node.',
        target: { kind: 'Node', name: 'n1', image: 'registry.k8s.io/kube-proxy' },
      },
    ]);
    const warned = await run(rule242442, objects, {
      expectedVersionedImages: [{ name: 'registry.k8s.io/kube-proxy' }],
    });
    assert.deepEqual(summary(warned), ['Warning The image runs in more than one version on the node. [n1]']);
    assert.deepEqual(summary(await run(rule242442, objects.slice(3))), [
      'Passed Every component image runs in a single version per node.',
    ]);
  });

  test('selectors, missing statuses and image IDs, no kube-proxy at all', async () => {
    const objects = [
      proxy('p1', 'n1', undefined, { role: 'proxy' }),
      proxy('p2', 'n1', '', { role: 'proxy' }),
      proxy('q1', 'n1', `docker.io/library/proxy@${digest('a')}`, { app: 'kp' } as never),
      proxy('q2', 'n1', `proxy@${digest('b')}`, { app: 'kp' } as never),
    ];
    assert.deepEqual(summary(await run(rule242442, objects)), [
      'Errored The pod has no status for this container. [p1]',
      'Warning The container status has no image ID. [p2]',
    ]);
    assert.deepEqual(
      summary(await run(rule242442, objects, { kubeProxy: { labelSelector: { matchLabels: { app: 'kp' } } } })),
      ['Failed The image runs in more than one version on the node. [n1]'],
    );
    assert.deepEqual(summary(await run(rule242442, objects, { kubeProxy: { matchLabels: { app: 'none' } } })), [
      'Errored No kube-proxy pods found.',
    ]);
  });

  test('image references normalise like the Docker reference grammar', () => {
    const d = digest('e');
    assert.equal(imageRepository(`nginx@${d}`), 'docker.io/library/nginx');
    assert.equal(imageRepository('nginx:1.27'), 'docker.io/library/nginx');
    assert.equal(imageRepository(`index.docker.io/library/nginx@${d}`), 'docker.io/library/nginx');
    assert.equal(imageRepository('bitnami/redis:7'), 'docker.io/bitnami/redis');
    assert.equal(imageRepository(`localhost:5000/team/app:1@${d}`), 'localhost:5000/team/app');
    assert.equal(imageRepository(`Registry.Example.com/app@${d}`), 'Registry.Example.com/app');
    assert.equal(imageRepository(`registry.k8s.io/kube-proxy@${d}`), 'registry.k8s.io/kube-proxy');
    assert.throws(() => imageRepository('e'.repeat(64)), /64-character image ID/);
    assert.throws(() => imageRepository('Team/App:1'), /must be lowercase/);
    assert.throws(() => imageRepository('app@sha256:xyz'), /malformed digest/);
    assert.throws(() => imageRepository('app:bad:tag'), /malformed/);
  });
});

describe('242390 anonymous requests', () => {
  let server: Server;
  let statusCode = 401;
  let kubeconfigYaml: (port: number, caPem: string) => string;
  let caPem: string;
  let otherCaPem: string;
  let port: number;

  before(async () => {
    const ca = await createCA('test-ca');
    const other = await createCA('other-ca');
    caPem = ca.certPem;
    otherCaPem = other.certPem;
    const serving = await issueCertificate(ca, { commonName: 'apiserver', hosts: ['127.0.0.1'], usage: 'server' });
    server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      assert.equal(req.headers.authorization, undefined);
      res.writeHead(statusCode, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    kubeconfigYaml = (p, ca) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'c',
            cluster: {
              server: `https://127.0.0.1:${p}`,
              'certificate-authority-data': Buffer.from(ca).toString('base64'),
            },
          },
        ],
        users: [{ name: 'u', user: { token: 'secret-token' } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      });
  });
  after(() => server?.close());

  async function probe(p = port, ca = caPem): Promise<CheckResult[]> {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml(p, ca));
    const client = new KubeClient(kc);
    try {
      return await run(rule242390, [], undefined, { client });
    } finally {
      await client.close();
    }
  }

  test('401 passes, other answers fail, 5xx warns; no credentials are sent', async () => {
    statusCode = 401;
    assert.deepEqual(summary(await probe()), ['Passed The kube-apiserver rejects anonymous requests.']);
    statusCode = 403;
    assert.deepEqual(summary(await probe()), ['Failed The kube-apiserver authenticates anonymous requests.']);
    statusCode = 200;
    assert.deepEqual(summary(await probe()), ['Failed The kube-apiserver authenticates anonymous requests.']);
    statusCode = 503;
    assert.deepEqual(summary(await probe()), [
      'Warning Cannot tell whether the kube-apiserver accepts anonymous requests.',
    ]);
  });

  test('the server must be trusted by the kubeconfig CA; an unreachable server is Errored', async () => {
    statusCode = 401;
    const untrusted = await probe(port, otherCaPem);
    assert.equal(untrusted[0]!.status, 'Errored');
    assert.match(untrusted[0]!.message, /Cannot reach the kube-apiserver without credentials/);
    const closed = await probe(1);
    assert.equal(closed[0]!.status, 'Errored');
  });
});
