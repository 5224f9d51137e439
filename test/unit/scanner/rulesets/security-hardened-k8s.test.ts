// Ruleset security-hardened-k8s without a cluster: each rule's statuses for hand-made objects (the cases diki
// distinguishes), acceptances and their validation, and rule 2000's second look at young namespaces.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../../../src/api/validation.ts';
import type { KubeClient } from '../../../../src/kube/client.ts';
import type { KubeObject } from '../../../../src/kube/resources.ts';
import { resolveConfig } from '../../../../src/scanner/engine/config.ts';
import type { CheckResult, Status } from '../../../../src/scanner/engine/result.ts';
import type { Rule } from '../../../../src/scanner/engine/rule.ts';
import { runScan } from '../../../../src/scanner/engine/scan.ts';
import { catalog } from '../../../../src/scanner/catalog.ts';
import { kindKey, kindOf } from '../../../../src/scanner/objects/kinds.ts';
import { SnapshotObjectSource } from '../../../../src/scanner/objects/source.ts';
import { youngNamespaceRecheck } from '../../../../src/scanner/rulesets/security-hardened-k8s/rules/2000.ts';
import { matchesVolumeName } from '../../../../src/scanner/rulesets/security-hardened-k8s/rules/common.ts';
import { securityHardenedK8s } from '../../../../src/scanner/rulesets/security-hardened-k8s/index.ts';

function source(objects: KubeObject[]): SnapshotObjectSource {
  const byKind = new Map<string, KubeObject[]>();
  for (const obj of objects) {
    const rt = kindOf(obj.apiVersion ?? '', obj.kind ?? '');
    if (!rt) throw new Error(`unknown kind ${obj.kind}`);
    const key = kindKey(rt);
    byKind.set(key, [...(byKind.get(key) ?? []), obj]);
  }
  return new SnapshotObjectSource(byKind);
}

const config = (ruleId: string, args?: unknown) => ({
  providers: [
    {
      id: 'managedk8s',
      rulesets: [{ id: 'security-hardened-k8s', ruleOptions: args === undefined ? [] : [{ ruleID: ruleId, args }] }],
    },
  ],
});

/** Runs one rule of the ruleset (options validated like a real config) over the objects, offline. */
async function run(ruleId: string, objects: KubeObject[], args?: unknown): Promise<CheckResult[]> {
  const resolved = resolveConfig(config(ruleId, args), catalog);
  const ruleset = resolved.providers[0]!.rulesets[0]!;
  ruleset.version = { ...ruleset.version, rules: ruleset.version.rules.filter((r) => r.id === ruleId) };
  const [provider] = await runScan(resolved, { objects: source(objects), live: undefined });
  return provider!.rulesets[0]!.rules[0]!.checks;
}

/** Status of the checks whose target has every given key/value. */
function statusOf(checks: CheckResult[], wanted: Record<string, string>): Status[] {
  return checks
    .filter((c) => Object.entries(wanted).every(([k, v]) => c.target?.[k] === v))
    .map((c) => c.status)
    .sort();
}

function validationErrors(ruleId: string, args: unknown): string[] {
  try {
    resolveConfig(config(ruleId, args), catalog);
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.errors.map(
      (e) => `${e.field.replace('providers[0].rulesets[0].ruleOptions[0].args', 'args')}: ${e.message}`,
    );
  }
  return [];
}

const ns = (name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels, ...extra },
});

interface PodSpec {
  containers?: unknown[];
  initContainers?: unknown[];
  volumes?: unknown[];
}

const pod = (
  namespace: string,
  name: string,
  spec: PodSpec,
  meta: Record<string, unknown> = {},
  status: Record<string, unknown> = {},
): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, ...meta },
    spec: { containers: [{ name: 'app', image: 'app' }], ...spec },
    status,
  }) as KubeObject;

const safe = { allowPrivilegeEscalation: false };

test('the ruleset registers nine rules with diki ids and severities', () => {
  const rules: Rule[] = securityHardenedK8s.versions[0]!.rules;
  assert.deepEqual(
    rules.map((r) => `${r.id}:${r.severity}`),
    [
      '2000:High',
      '2001:High',
      '2002:Medium',
      '2003:Medium',
      '2004:Medium',
      '2005:High',
      '2006:Medium',
      '2007:Medium',
      '2008:High',
    ],
  );
});

describe('2000 default-deny NetworkPolicies', () => {
  const np = (namespace: string, name: string, spec: Record<string, unknown>): KubeObject =>
    ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace, name }, spec }) as KubeObject;
  const denyAll = (namespace: string) =>
    np(namespace, 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });

  test('a policy for all pods without rules denies both directions', async () => {
    const checks = await run('2000', [ns('a'), denyAll('a')]);
    assert.deepEqual(
      checks.map((c) => [c.status, c.target]),
      [
        ['Passed', { namespace: 'a', kind: 'NetworkPolicy', name: 'deny-all' }],
        ['Passed', { namespace: 'a', kind: 'NetworkPolicy', name: 'deny-all' }],
      ],
    );
  });

  test('no policy, a policy for some pods, or one direction only fails what is not denied', async () => {
    const checks = await run('2000', [
      ns('none'),
      ns('some'),
      np('some', 'web', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress', 'Egress'] }),
      ns('ingress'),
      np('ingress', 'deny-in', { podSelector: {}, policyTypes: ['Ingress'] }),
    ]);
    assert.deepEqual(statusOf(checks, { namespace: 'none' }), ['Failed', 'Failed']);
    assert.deepEqual(statusOf(checks, { namespace: 'some' }), ['Failed', 'Failed']);
    assert.deepEqual(statusOf(checks, { namespace: 'ingress' }), ['Failed', 'Passed']);
  });

  test('a rule without peers and ports opens the direction again, even next to a deny policy', async () => {
    const checks = await run('2000', [
      ns('open'),
      denyAll('open'),
      np('open', 'allow-in', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] }),
      ns('scoped'),
      denyAll('scoped'),
      np('scoped', 'allow-dns', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
      }),
    ]);
    const open = checks.filter((c) => c.target?.namespace === 'open');
    assert.deepEqual(
      open.map((c) => [c.status, c.target?.name]),
      [
        ['Failed', 'allow-in'],
        ['Passed', 'deny-all'],
      ],
    );
    // An egress rule limited to ports does not allow all traffic.
    assert.deepEqual(statusOf(checks, { namespace: 'scoped' }), ['Passed', 'Passed']);
  });

  test('a manifest without policyTypes gets the API defaults (Ingress, plus Egress with egress rules)', async () => {
    const checks = await run('2000', [ns('d'), np('d', 'deny-in', { podSelector: {} })]);
    assert.deepEqual(
      checks.map((c) => c.status),
      ['Passed', 'Failed'],
    );
  });

  test('accepted namespaces: per direction, justification in the message, direction in the target', async () => {
    const objects = [ns('team', { team: 'a' }), ns('other')];
    const checks = await run('2000', objects, {
      acceptedNamespaces: [
        {
          labelSelector: { matchLabels: { team: 'a' } },
          acceptedTraffic: { egress: true },
          justification: 'talks out',
        },
      ],
    });
    assert.deepEqual(
      checks.filter((c) => c.target?.namespace === 'team').map((c) => [c.status, c.message, c.target?.details]),
      [
        ['Failed', 'No NetworkPolicy denies ingress traffic to all pods by default.', undefined],
        ['Accepted', 'talks out', 'traffic: egress'],
      ],
    );
    assert.deepEqual(statusOf(checks, { namespace: 'other' }), ['Failed', 'Failed']);

    const passedChecks = await run('2000', objects, {
      acceptedNamespaces: [
        { matchLabels: { team: 'a' }, acceptedTraffic: { ingress: true, egress: true }, status: 'Passed' },
      ],
    });
    assert.deepEqual(statusOf(passedChecks, { namespace: 'team' }), ['Passed', 'Passed']);
    assert.equal(passedChecks[0]!.target?.details, undefined);
  });

  test('a namespace being deleted fails with pods left and warns without', async () => {
    const deleting = { deletionTimestamp: '2025-01-01T00:00:00Z' };
    const checks = await run('2000', [
      ns('gone', {}, deleting),
      ns('going', {}, deleting),
      pod('going', 'p', { containers: [{ name: 'c', securityContext: safe }] }),
    ]);
    assert.deepEqual(
      checks.filter((c) => c.target?.namespace === 'gone').map((c) => [c.status, c.target?.details]),
      [
        ['Warning', 'namespace is being deleted and has no pods left'],
        ['Warning', 'namespace is being deleted and has no pods left'],
      ],
    );
    assert.deepEqual(statusOf(checks, { namespace: 'going' }), ['Failed', 'Failed']);
  });

  test('live: without recheckYoungNamespaces a young failing namespace fails at once', async () => {
    let lists = 0;
    const client = {
      listAll: () => {
        lists += 1;
        return Promise.resolve({ items: [] });
      },
    } as unknown as KubeClient;
    const rule = securityHardenedK8s.versions[0]!.rules.find((r) => r.id === '2000')!;
    const checks = await rule.run({
      objects: source([ns('young', {}, { creationTimestamp: new Date().toISOString() })]),
      live: { client },
      options: undefined,
      rulesetArgs: {},
      signal: new AbortController().signal,
    });
    assert.equal(lists, 0);
    assert.deepEqual(statusOf(checks, { namespace: 'young' }), ['Failed', 'Failed']);
  });

  test('live: a young failing namespace is looked at again with fresh NetworkPolicies', async () => {
    const saved = { ...youngNamespaceRecheck };
    youngNamespaceRecheck.delaysMs = [1, 1, 1];
    try {
      const now = new Date().toISOString();
      const objects = source([
        ns('young', {}, { creationTimestamp: now }),
        ns('old', {}, { creationTimestamp: '2020-01-01T00:00:00Z' }),
        ns('slow', {}, { creationTimestamp: now }),
      ]);
      let lists = 0;
      const client = {
        listAll: async () => {
          lists += 1;
          // The young namespace gets its policy before the second look; "slow" never does.
          return { items: lists >= 2 ? [denyAll('young'), denyAll('old')] : [] };
        },
      } as unknown as KubeClient;
      const rule = securityHardenedK8s.versions[0]!.rules.find((r) => r.id === '2000')!;
      const checks = await rule.run({
        objects,
        live: { client },
        options: { recheckYoungNamespaces: true },
        rulesetArgs: {},
        signal: new AbortController().signal,
      });
      assert.equal(lists, 3);
      assert.deepEqual(statusOf(checks, { namespace: 'young' }), ['Passed', 'Passed']);
      // Old namespaces are reported from the first look.
      assert.deepEqual(statusOf(checks, { namespace: 'old' }), ['Failed', 'Failed']);
      assert.deepEqual(statusOf(checks, { namespace: 'slow' }), ['Failed', 'Failed']);
      assert.equal(checks.length, 6);
    } finally {
      Object.assign(youngNamespaceRecheck, saved);
    }
  });

  test('offline: young namespaces are reported at once', async () => {
    const checks = await run('2000', [ns('young', {}, { creationTimestamp: new Date().toISOString() })]);
    assert.deepEqual(statusOf(checks, { namespace: 'young' }), ['Failed', 'Failed']);
  });

  test('validation names the bad field', () => {
    assert.deepEqual(validationErrors('2000', { acceptedNamespaces: [{ justification: 'x' }] }), [
      'args.acceptedNamespaces[0].labelSelector: required',
    ]);
    assert.deepEqual(
      validationErrors('2000', { acceptedNamespaces: [{ matchLabels: {}, acceptedTraffic: { in: true } }] }),
      ['args.acceptedNamespaces[0].acceptedTraffic.in: unknown field'],
    );
  });
});

describe('2001 privilege escalation', () => {
  const replicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      namespace: 'n',
      name: 'web-1',
      uid: 'rs-1',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-1' }],
    },
  } as KubeObject;
  const owned = (name: string, containers: unknown[]) =>
    pod(
      'n',
      name,
      { containers },
      { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs-1' }] },
    );

  test('each way to escalate fails its container; a safe pod passes once', async () => {
    const checks = await run('2001', [
      ns('n'),
      pod('n', 'safe', {
        containers: [{ name: 'a', securityContext: safe }],
        initContainers: [{ name: 'i', securityContext: safe }],
      }),
      pod('n', 'unset', { containers: [{ name: 'a' }, { name: 'b', securityContext: {} }] }),
      pod('n', 'privileged', { containers: [{ name: 'a', securityContext: { ...safe, privileged: true } }] }),
      pod('n', 'sysadmin', {
        containers: [{ name: 'a', securityContext: { ...safe, capabilities: { add: ['cap_sys_admin'] } } }],
      }),
      pod('n', 'init', {
        containers: [{ name: 'a', securityContext: safe }],
        initContainers: [{ name: 'i', securityContext: { allowPrivilegeEscalation: true } }],
      }),
    ]);
    assert.deepEqual(statusOf(checks, { name: 'safe' }), ['Passed']);
    assert.deepEqual(
      checks.filter((c) => c.target?.name === 'unset').map((c) => [c.status, c.target?.container]),
      [
        ['Failed', 'a'],
        ['Failed', 'b'],
      ],
    );
    assert.deepEqual(statusOf(checks, { name: 'privileged', container: 'a' }), ['Failed']);
    assert.deepEqual(statusOf(checks, { name: 'sysadmin', container: 'a' }), ['Failed']);
    assert.deepEqual(statusOf(checks, { name: 'init', container: 'i' }), ['Failed']);
    assert.deepEqual(statusOf(checks, { name: 'init', container: 'a' }), []);
  });

  test('one pod per owner, named with its Deployment; ops pods are skipped', async () => {
    const checks = await run('2001', [
      ns('n'),
      replicaSet,
      owned('web-1-a', [{ name: 'a' }]),
      owned('web-1-b', [{ name: 'a' }]),
      pod(
        'n',
        'ops',
        { containers: [{ name: 'a', securityContext: { privileged: true } }] },
        {
          labels: { 'compliance.gardener.cloud/role': 'diki-privileged-pod' },
        },
      ),
    ]);
    assert.deepEqual(
      checks.map((c) => [c.status, c.target?.name, c.target?.ownerKind, c.target?.ownerName]),
      [
        ['Failed', 'web-1-a', 'Deployment', 'web'],
        ['Skipped', 'ops', undefined, undefined],
      ],
    );
  });

  test('accepted pods by pod and namespace labels; no pods passes', async () => {
    const objects = [
      ns('n', { env: 'dev' }),
      pod('n', 'debug', { containers: [{ name: 'a' }] }, { labels: { app: 'debug' } }),
      pod('n', 'other', { containers: [{ name: 'a' }] }),
    ];
    const checks = await run('2001', objects, {
      acceptedPods: [
        {
          labelSelector: { matchLabels: { app: 'debug' } },
          namespaceLabelSelector: { matchLabels: { env: 'dev' } },
          justification: 'debugging',
        },
      ],
    });
    assert.deepEqual(
      checks.map((c) => [c.status, c.message, c.target?.name]),
      [
        ['Accepted', 'debugging', 'debug'],
        ['Failed', 'Container can escalate privileges.', 'other'],
      ],
    );
    const deprecated = await run('2001', objects, {
      acceptedPods: [{ matchLabels: { app: 'debug' }, namespaceMatchLabels: { env: 'dev' }, status: 'Passed' }],
    });
    assert.deepEqual(statusOf(deprecated, { name: 'debug' }), ['Passed']);
    assert.deepEqual(
      (await run('2001', [ns('n')])).map((c) => c.status),
      ['Passed'],
    );
  });

  test('validation names the bad field', () => {
    assert.deepEqual(validationErrors('2001', { acceptedPods: [{ labelSelector: 'app=x' }] }), [
      'args.acceptedPods[0].labelSelector: must be object',
    ]);
    assert.deepEqual(validationErrors('2001', { acceptedPods: [{ labelSelector: {} }] }), [
      'args.acceptedPods[0]: both labelSelector and namespaceLabelSelector must be set',
    ]);
  });
});

describe('2002 StorageClass reclaim policy', () => {
  const sc = (name: string, reclaimPolicy?: string, labels: Record<string, string> = {}): KubeObject =>
    ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name, labels },
      provisioner: 'x',
      ...(reclaimPolicy ? { reclaimPolicy } : {}),
    }) as KubeObject;

  test('Delete passes, Retain fails unless accepted; an unset policy is the default Delete', async () => {
    const objects = [sc('fast', 'Delete'), sc('keep', 'Retain', { keep: 'yes' }), sc('plain', 'Retain'), sc('unset')];
    const checks = await run('2002', objects, {
      acceptedStorageClasses: [{ labelSelector: { matchLabels: { keep: 'yes' } } }],
    });
    assert.deepEqual(
      checks.map((c) => [c.target?.name, c.status]),
      [
        ['fast', 'Passed'],
        ['keep', 'Accepted'],
        ['plain', 'Failed'],
        ['unset', 'Passed'],
      ],
    );
    assert.deepEqual(await run('2002', []), [
      { status: 'Passed', message: 'There are no StorageClasses in the cluster.' },
    ]);
    assert.deepEqual(validationErrors('2002', { acceptedStorageClasses: [{ labelSelector: {}, matchLabels: {} }] }), [
      'args.acceptedStorageClasses[0].matchLabels: cannot be set when labelSelector is defined',
    ]);
  });
});

describe('2003 allowed volume types', () => {
  const volumes = [
    { name: 'cm', configMap: { name: 'x' } },
    { name: 'secret', secret: { secretName: 'x' } },
    { name: 'empty', emptyDir: {} },
    { name: 'proj', projected: { sources: [] } },
    { name: 'down', downwardAPI: {} },
    { name: 'pvc', persistentVolumeClaim: { claimName: 'x' } },
    { name: 'eph', ephemeral: { volumeClaimTemplate: { spec: {} } } },
    { name: 'csi', csi: { driver: 'x' } },
  ];

  test('only the allowed types pass; each other volume fails or is accepted by name pattern', async () => {
    const objects = [
      ns('n', { team: 'a' }),
      pod('n', 'good', { volumes }),
      pod(
        'n',
        'bad',
        {
          volumes: [
            ...volumes,
            { name: 'data-nfs', nfs: { server: 's', path: '/' } },
            { name: 'host', hostPath: { path: '/' } },
          ],
        },
        { labels: { app: 'bad' } },
      ),
    ];
    const plain = await run('2003', objects);
    assert.deepEqual(statusOf(plain, { name: 'good' }), ['Passed']);
    assert.deepEqual(
      plain.filter((c) => c.target?.name === 'bad').map((c) => [c.status, c.target?.volume]),
      [
        ['Failed', 'data-nfs'],
        ['Failed', 'host'],
      ],
    );
    const selectors = {
      labelSelector: { matchLabels: { app: 'bad' } },
      namespaceLabelSelector: { matchLabels: { team: 'a' } },
    };
    const accepted = await run('2003', objects, {
      acceptedPods: [
        { ...selectors, volumeNames: ['other'], justification: 'first entry names another volume' },
        { ...selectors, volumeNames: ['data-*'], justification: 'shared data' },
      ],
    });
    assert.deepEqual(
      accepted.filter((c) => c.target?.name === 'bad').map((c) => [c.status, c.message, c.target?.volume]),
      [
        ['Accepted', 'shared data', 'data-nfs'],
        ['Failed', 'Volume type is not allowed.', 'host'],
      ],
    );
  });

  test('volume name patterns and their validation', () => {
    assert.ok(matchesVolumeName('*', 'anything'));
    assert.ok(matchesVolumeName('data-*', 'data-1'));
    assert.ok(matchesVolumeName('a*b*c', 'a-x-b-y-c'));
    assert.ok(!matchesVolumeName('*-volume', 'volume1'));
    assert.ok(!matchesVolumeName('data', 'data-1'));
    const selectors = { labelSelector: {}, namespaceLabelSelector: {} };
    assert.deepEqual(validationErrors('2003', { acceptedPods: [selectors] }), [
      'args.acceptedPods[0].volumeNames: required field',
    ]);
    assert.deepEqual(
      validationErrors('2003', {
        acceptedPods: [
          { ...selectors, volumeNames: [] },
          { ...selectors, volumeNames: ['ok-*', '', 'Bad?'] },
        ],
      }),
      [
        'args.acceptedPods[0].volumeNames: must not be empty',
        'args.acceptedPods[1].volumeNames[1]: must not be empty',
        'args.acceptedPods[1].volumeNames[2]: "Bad?" is not a volume name (lower-case letters, digits, "-" and "*" wildcards)',
      ],
    );
  });
});

describe('2004 NodePort Services', () => {
  const svc = (name: string, type: string, labels: Record<string, string> = {}): KubeObject =>
    ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'n', name, labels }, spec: { type } }) as KubeObject;

  test('NodePort fails unless accepted; other types pass', async () => {
    const objects = [
      ns('n'),
      svc('ip', 'ClusterIP'),
      svc('lb', 'LoadBalancer'),
      svc('np', 'NodePort'),
      svc('ok', 'NodePort', { expose: 'yes' }),
    ];
    const checks = await run('2004', objects, {
      acceptedServices: [{ labelSelector: { matchLabels: { expose: 'yes' } }, namespaceLabelSelector: {} }],
    });
    assert.deepEqual(
      checks.map((c) => [c.target?.name, c.status]),
      [
        ['ip', 'Passed'],
        ['lb', 'Passed'],
        ['np', 'Failed'],
        ['ok', 'Accepted'],
      ],
    );
    assert.deepEqual(
      (await run('2004', [])).map((c) => c.status),
      ['Passed'],
    );
  });
});

describe('2005 trusted image prefixes', () => {
  const digest = 'sha256:' + 'a'.repeat(64);
  const running = pod(
    'n',
    'p',
    { containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }], initContainers: [{ name: 'i' }] },
    {},
    {
      containerStatuses: [
        { name: 'a', imageID: `registry.example.com/team/app@${digest}` },
        { name: 'b', imageID: `docker.io/library/nginx@${digest}` },
        { name: 'c', imageID: '' },
      ],
      initContainerStatuses: [{ name: 'i', imageID: `registry.example.com/init@${digest}` }],
    },
  );

  test('the running image ID must start with an allowed prefix', async () => {
    const checks = await run('2005', [ns('n'), running], { allowedImages: [{ prefix: 'registry.example.com/' }] });
    assert.deepEqual(
      checks.map((c) => [c.target?.container, c.status]),
      [
        ['a', 'Passed'],
        ['b', 'Failed'],
        ['c', 'Warning'],
        ['d', 'Errored'],
        ['i', 'Passed'],
      ],
    );
    assert.equal(checks[0]!.target?.imageRef, `registry.example.com/team/app@${digest}`);
  });

  test('without allowedImages the rule fails; without pods it passes', async () => {
    assert.deepEqual(await run('2005', [running]), [
      { status: 'Failed', message: 'No trusted image prefixes are configured (rule option allowedImages).' },
    ]);
    assert.deepEqual(
      (await run('2005', [], { allowedImages: [{ prefix: 'x' }] })).map((c) => c.status),
      ['Passed'],
    );
    assert.deepEqual(validationErrors('2005', {}), ['args.allowedImages: required field']);
    assert.deepEqual(validationErrors('2005', { allowedImages: [{ prefix: 'a' }, { prefix: '' }] }).length, 1);
    assert.match(
      validationErrors('2005', { allowedImages: [{ prefix: 'a' }, { prefix: '' }] })[0]!,
      /^args\.allowedImages\[1\]\.prefix: /,
    );
    assert.match(validationErrors('2005', { allowedImages: [] })[0]!, /^args\.allowedImages: /);
  });
});

describe('2006 and 2007 RBAC wildcards', () => {
  const role = (name: string, rules: unknown[], labels: Record<string, string> = {}): KubeObject =>
    ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { namespace: 'n', name, labels },
      rules,
    }) as KubeObject;
  const clusterRole = (name: string, rules: unknown[], labels: Record<string, string> = {}): KubeObject =>
    ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules,
    }) as KubeObject;
  const objects = [
    ns('n'),
    role('exact', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]),
    role('any-resource', [{ apiGroups: [''], resources: ['pods', '*'], verbs: ['get'] }]),
    role('sub-resource', [{ apiGroups: [''], resources: ['pods/*'], verbs: ['get'] }], { ok: 'yes' }),
    clusterRole('any-verb', [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }]),
    clusterRole('admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], { ok: 'yes' }),
  ];

  test('2006: "*" anywhere in a resource fails unless accepted', async () => {
    const checks = await run('2006', objects, {
      acceptedRoles: [{ labelSelector: { matchLabels: { ok: 'yes' } }, namespaceLabelSelector: {} }],
      acceptedClusterRoles: [{ labelSelector: { matchLabels: { ok: 'yes' } }, justification: 'admins' }],
    });
    assert.deepEqual(
      checks.map((c) => [c.target?.kind, c.target?.name, c.status]),
      [
        ['Role', 'exact', 'Passed'],
        ['Role', 'any-resource', 'Failed'],
        ['Role', 'sub-resource', 'Accepted'],
        ['ClusterRole', 'any-verb', 'Passed'],
        ['ClusterRole', 'admin', 'Accepted'],
      ],
    );
  });

  test('2007: "*" in a verb fails unless accepted', async () => {
    const checks = await run('2007', objects);
    assert.deepEqual(
      checks.map((c) => [c.target?.name, c.status]),
      [
        ['exact', 'Passed'],
        ['any-resource', 'Passed'],
        ['sub-resource', 'Passed'],
        ['any-verb', 'Failed'],
        ['admin', 'Failed'],
      ],
    );
    assert.deepEqual(
      (await run('2007', [])).map((c) => c.status),
      ['Passed'],
    );
    assert.deepEqual(validationErrors('2007', { acceptedClusterRoles: [{}] }), [
      'args.acceptedClusterRoles[0].labelSelector: required',
    ]);
  });
});

describe('2008 hostPath volumes', () => {
  test('hostPath volumes fail unless accepted by name; ops pods are skipped', async () => {
    const objects = [
      ns('n', { team: 'a' }),
      pod('n', 'clean', { volumes: [{ name: 'cm', configMap: { name: 'x' } }] }),
      pod(
        'n',
        'agent',
        {
          volumes: [
            { name: 'logs', hostPath: { path: '/var/log' } },
            { name: 'sock', hostPath: { path: '/run' } },
          ],
        },
        { labels: { app: 'agent' } },
      ),
      pod(
        'n',
        'ops',
        { volumes: [{ name: 'host', hostPath: { path: '/' } }] },
        { labels: { 'compliance.gardener.cloud/role': 'diki-privileged-pod' } },
      ),
    ];
    const checks = await run('2008', objects, {
      acceptedPods: [{ matchLabels: { app: 'agent' }, namespaceMatchLabels: { team: 'a' }, volumeNames: ['logs'] }],
    });
    assert.deepEqual(
      checks.map((c) => [c.target?.name, c.target?.volume, c.status]),
      [
        ['clean', undefined, 'Passed'],
        ['agent', 'logs', 'Accepted'],
        ['agent', 'sock', 'Failed'],
        ['ops', undefined, 'Skipped'],
      ],
    );
    assert.deepEqual(
      (await run('2008', [])).map((c) => c.status),
      ['Passed'],
    );
  });
});
