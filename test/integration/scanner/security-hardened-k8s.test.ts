// Ruleset security-hardened-k8s against a real control plane: for every rule a state that passes, one that
// fails, acceptance through rule options, skipping, option validation, and the same statuses from an offline
// scan of a dump of the cluster. Each test works in its own namespaces (`shk-*`) and cluster objects named
// `shk-*`, and asserts only on those.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ValidationError } from '../../../src/api/validation.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import type { KubeObject } from '../../../src/kube/resources.ts';
import type { RuleOption } from '../../../src/scanner/engine/config.ts';
import { Kinds } from '../../../src/scanner/objects/kinds.ts';
import type { Report } from '../../../src/scanner/report/report.ts';
import { youngNamespaceRecheck } from '../../../src/scanner/rulesets/security-hardened-k8s/rules/2000.ts';
import { scan } from '../../../src/scanner/scanner.ts';
import { waitFor } from '../../../src/util/time.ts';
import { ControlPlane } from '../../testbed/controlplane.ts';
import { findingsFor, ruleChecks, scanConfig, scanTestbed, statusesFor } from '../../support/scanner.ts';

const RULESET = 'security-hardened-k8s';
const RULE_IDS = ['2000', '2001', '2002', '2003', '2004', '2005', '2006', '2007', '2008'];

let cp: ControlPlane;
let client: KubeClient;
const tmp = mkdtempSync(join(tmpdir(), 'argus-shk8s-'));

before(async () => {
  cp = await ControlPlane.start({ name: 'shk8s' });
  client = cp.client();
  // Where a test asks for rule 2000's second looks at young namespaces, keep them short.
  youngNamespaceRecheck.delaysMs = [50, 50, 50];
});
after(async () => {
  await cp?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const scanWith = (ruleOptions?: RuleOption[]): Promise<Report> =>
  scanTestbed(cp, [{ id: RULESET, ...(ruleOptions ? { ruleOptions } : {}) }]);

async function namespace(name: string, labels: Record<string, string> = {}): Promise<string> {
  await client.create(Kinds.namespaces, { metadata: { name, labels } });
  return name;
}

const create = (rt: (typeof Kinds)[keyof typeof Kinds], obj: Record<string, unknown>): Promise<KubeObject> =>
  client.create(rt, obj);

/** A pod that no kubelet runs; only its spec (and a status we write) matters to these rules. */
function pod(namespace: string, name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) {
  return create(Kinds.pods, {
    metadata: { namespace, name, labels },
    spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1' }], ...spec },
  });
}

const safeContext = { allowPrivilegeEscalation: false };

describe('2000 default-deny NetworkPolicies', () => {
  const denyAll = (namespace: string) =>
    create(Kinds.networkPolicies, {
      metadata: { namespace, name: 'deny-all' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });

  test('denying namespaces pass, open ones fail or are accepted', async () => {
    await denyAll(await namespace('shk-np-deny'));
    await namespace('shk-np-none', { 'shk/network': 'open' });
    const allow = await namespace('shk-np-allow');
    await denyAll(allow);
    await create(Kinds.networkPolicies, {
      metadata: { namespace: allow, name: 'allow-in' },
      spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] },
    });
    await namespace('shk-np-trusted', { 'shk/network': 'trusted' });

    const plain = await scanWith();
    assert.deepEqual(
      findingsFor(plain, '2000', { namespace: 'shk-np-deny' }).map((f) => [f.status, f.target.name]),
      [
        ['Passed', 'deny-all'],
        ['Passed', 'deny-all'],
      ],
    );
    assert.deepEqual(statusesFor(plain, '2000', { namespace: 'shk-np-none' }), ['Failed']);
    assert.deepEqual(findingsFor(plain, '2000', { namespace: 'shk-np-none' }).length, 2);
    assert.deepEqual(statusesFor(plain, '2000', { namespace: 'shk-np-allow', name: 'allow-in' }), ['Failed']);
    assert.deepEqual(statusesFor(plain, '2000', { namespace: 'shk-np-allow', name: 'deny-all' }), ['Passed']);

    const acceptedReport = await scanWith([
      {
        ruleID: '2000',
        args: {
          acceptedNamespaces: [
            {
              labelSelector: { matchLabels: { 'shk/network': 'open' } },
              acceptedTraffic: { ingress: true, egress: true },
              justification: 'open by design',
            },
            { matchLabels: { 'shk/network': 'trusted' }, acceptedTraffic: { egress: true }, status: 'Passed' },
          ],
        },
      },
    ]);
    assert.deepEqual(
      findingsFor(acceptedReport, '2000', { namespace: 'shk-np-none' })
        .map((f) => [f.status, f.message, f.target.details])
        .sort(),
      [
        ['Accepted', 'open by design', 'traffic: egress'],
        ['Accepted', 'open by design', 'traffic: ingress'],
      ],
    );
    assert.deepEqual(statusesFor(acceptedReport, '2000', { namespace: 'shk-np-trusted' }), ['Failed', 'Passed']);
    // Allowing all ingress is not covered by an acceptance of other namespaces.
    assert.deepEqual(statusesFor(acceptedReport, '2000', { namespace: 'shk-np-allow', name: 'allow-in' }), ['Failed']);
  });

  test('a new namespace whose policy arrives during the scan passes on the second look', async () => {
    const late = await namespace('shk-np-late');
    let created: Promise<KubeObject> | undefined;
    const report = await scan({
      config: scanConfig([{ id: RULESET, ruleOptions: [{ ruleID: '2000', args: { recheckYoungNamespaces: true } }] }]),
      kubeconfig: cp.kubeconfigPath,
      // The scan has read the NetworkPolicies: the namespace has none at its first look.
      onRead: ({ kind }) => {
        if (kind === 'NetworkPolicy') created ??= denyAll(late);
      },
    });
    assert.ok(created, 'the scan read NetworkPolicies');
    await created;
    assert.deepEqual(statusesFor(report, '2000', { namespace: late }), ['Passed']);
    assert.equal(findingsFor(report, '2000', { namespace: late }).length, 2);
  });
});

describe('2001 privilege escalation', () => {
  test('containers that can escalate fail, one pod per owner, accepted by labels', async () => {
    const ns = await namespace('shk-priv', { 'shk/tier': 'tools' });
    await pod(ns, 'safe', {
      containers: [{ name: 'app', image: 'app', securityContext: safeContext }],
      initContainers: [{ name: 'init', image: 'app', securityContext: safeContext }],
    });
    await pod(ns, 'unset', { containers: [{ name: 'app', image: 'app' }] });
    await pod(
      ns,
      'debug',
      { containers: [{ name: 'shell', image: 'app', securityContext: { privileged: true } }] },
      { app: 'debug' },
    );
    await create(Kinds.deployments, {
      metadata: { namespace: ns, name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'app',
                securityContext: { capabilities: { add: ['SYS_ADMIN'] } },
              },
            ],
          },
        },
      },
    });
    await waitFor('two web pods', async () => {
      const pods = await client.list(Kinds.pods, { namespace: ns, labelSelector: 'app=web' });
      return pods.items.length === 2;
    });

    const plain = await scanWith();
    assert.deepEqual(statusesFor(plain, '2001', { namespace: ns, name: 'safe' }), ['Passed']);
    assert.deepEqual(
      findingsFor(plain, '2001', { namespace: ns, name: 'unset' }).map((f) => [f.status, f.target.container]),
      [['Failed', 'app']],
    );
    assert.deepEqual(statusesFor(plain, '2001', { namespace: ns, name: 'debug', container: 'shell' }), ['Failed']);
    const web = findingsFor(plain, '2001', { namespace: ns, ownerKind: 'Deployment', ownerName: 'web' });
    assert.deepEqual(
      web.map((f) => [f.status, f.target.container]),
      [['Failed', 'web']],
      'one of the two replicas is checked',
    );

    const acceptedReport = await scanWith([
      {
        ruleID: '2001',
        args: {
          acceptedPods: [
            {
              labelSelector: { matchLabels: { app: 'debug' } },
              namespaceLabelSelector: { matchLabels: { 'shk/tier': 'tools' } },
              justification: 'debug shell',
            },
          ],
        },
      },
    ]);
    assert.deepEqual(
      findingsFor(acceptedReport, '2001', { namespace: ns, name: 'debug' }).map((f) => [f.status, f.message]),
      [['Accepted', 'debug shell']],
    );
    assert.deepEqual(statusesFor(acceptedReport, '2001', { namespace: ns, name: 'unset' }), ['Failed']);
  });
});

describe('2002 StorageClass reclaim policy', () => {
  test('Delete passes, Retain fails or is accepted', async () => {
    const storageClass = (name: string, reclaimPolicy: string, labels: Record<string, string> = {}) =>
      create(Kinds.storageClasses, { metadata: { name, labels }, provisioner: 'example.com/disk', reclaimPolicy });
    await storageClass('shk-delete', 'Delete');
    await storageClass('shk-retain', 'Retain', { 'shk/keep': 'backups' });

    const plain = await scanWith();
    assert.deepEqual(statusesFor(plain, '2002', { kind: 'StorageClass', name: 'shk-delete' }), ['Passed']);
    assert.deepEqual(statusesFor(plain, '2002', { kind: 'StorageClass', name: 'shk-retain' }), ['Failed']);

    const acceptedReport = await scanWith([
      {
        ruleID: '2002',
        args: {
          acceptedStorageClasses: [
            { labelSelector: { matchLabels: { 'shk/keep': 'backups' } }, justification: 'backups outlive claims' },
          ],
        },
      },
    ]);
    assert.deepEqual(
      findingsFor(acceptedReport, '2002', { name: 'shk-retain' }).map((f) => [f.status, f.message]),
      [['Accepted', 'backups outlive claims']],
    );
  });
});

describe('2003 allowed volume types', () => {
  test('allowed types pass, others fail or are accepted by volume name', async () => {
    const ns = await namespace('shk-volumes', { 'shk/storage': 'legacy' });
    await pod(ns, 'allowed', {
      volumes: [
        { name: 'config', configMap: { name: 'x' } },
        { name: 'creds', secret: { secretName: 'x' } },
        { name: 'scratch', emptyDir: {} },
        { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
        { name: 'data', persistentVolumeClaim: { claimName: 'x' } },
      ],
    });
    await pod(
      ns,
      'legacy',
      {
        volumes: [
          { name: 'share-a', nfs: { server: 'nfs.example.com', path: '/a' } },
          { name: 'host', hostPath: { path: '/var/lib' } },
        ],
      },
      { app: 'legacy' },
    );

    const plain = await scanWith();
    assert.deepEqual(statusesFor(plain, '2003', { namespace: ns, name: 'allowed' }), ['Passed']);
    assert.deepEqual(
      findingsFor(plain, '2003', { namespace: ns, name: 'legacy' }).map((f) => [f.status, f.target.volume]),
      [
        ['Failed', 'share-a'],
        ['Failed', 'host'],
      ],
    );

    const acceptedReport = await scanWith([
      {
        ruleID: '2003',
        args: {
          acceptedPods: [
            {
              labelSelector: { matchLabels: { app: 'legacy' } },
              namespaceLabelSelector: { matchLabels: { 'shk/storage': 'legacy' } },
              volumeNames: ['share-*'],
              justification: 'NFS until the migration',
            },
          ],
        },
      },
    ]);
    assert.deepEqual(
      findingsFor(acceptedReport, '2003', { namespace: ns, name: 'legacy' }).map((f) => [f.status, f.target.volume]),
      [
        ['Accepted', 'share-a'],
        ['Failed', 'host'],
      ],
    );
  });
});

describe('2004 NodePort Services', () => {
  test('NodePort Services fail or are accepted, others pass', async () => {
    const ns = await namespace('shk-services', { 'shk/edge': 'yes' });
    const service = (name: string, type: string, labels: Record<string, string> = {}) =>
      create(Kinds.services, {
        metadata: { namespace: ns, name, labels },
        spec: { type, selector: { app: name }, ports: [{ port: 80 }] },
      });
    await service('internal', 'ClusterIP');
    await service('node', 'NodePort', { expose: 'node' });

    const plain = await scanWith();
    assert.deepEqual(statusesFor(plain, '2004', { namespace: ns, name: 'internal' }), ['Passed']);
    assert.deepEqual(statusesFor(plain, '2004', { namespace: ns, name: 'node' }), ['Failed']);

    const acceptedReport = await scanWith([
      {
        ruleID: '2004',
        args: {
          acceptedServices: [
            {
              labelSelector: { matchLabels: { expose: 'node' } },
              namespaceLabelSelector: { matchLabels: { 'shk/edge': 'yes' } },
            },
          ],
        },
      },
    ]);
    assert.deepEqual(statusesFor(acceptedReport, '2004', { namespace: ns, name: 'node' }), ['Accepted']);
  });
});

describe('2005 trusted image prefixes', () => {
  test('running image IDs are compared with allowedImages; without the option the rule fails', async () => {
    const ns = await namespace('shk-images');
    const digest = `sha256:${'e'.repeat(64)}`;
    const running = async (name: string, imageID: string) => {
      await pod(ns, name, { nodeName: 'node-1' });
      await client.patch(
        Kinds.pods,
        name,
        {
          status: {
            containerStatuses: [
              {
                name: 'app',
                image: 'registry.example.com/app:1',
                imageID,
                ready: false,
                restartCount: 0,
                state: { waiting: { reason: 'ContainerCreating' } },
              },
            ],
          },
        },
        'merge',
        { namespace: ns, subresource: 'status' },
      );
    };
    await running('trusted', `registry.example.com/app@${digest}`);
    await running('untrusted', `docker.io/library/app@${digest}`);
    await pod(ns, 'pending', {});

    const withPrefixes = await scanWith([
      { ruleID: '2005', args: { allowedImages: [{ prefix: 'registry.example.com/' }] } },
    ]);
    const trusted = findingsFor(withPrefixes, '2005', { namespace: ns, name: 'trusted' });
    assert.deepEqual(
      trusted.map((f) => [f.status, f.target.container, f.target.imageRef]),
      [['Passed', 'app', `registry.example.com/app@${digest}`]],
    );
    assert.deepEqual(statusesFor(withPrefixes, '2005', { namespace: ns, name: 'untrusted' }), ['Failed']);
    // No kubelet reported on this pod yet: there is no running image to judge.
    assert.deepEqual(statusesFor(withPrefixes, '2005', { namespace: ns, name: 'pending' }), ['Errored']);

    const plain = await scanWith();
    const checks = ruleChecks(plain, '2005');
    assert.equal(checks.length, 1);
    assert.equal(checks[0]!.status, 'Failed');
    assert.equal(checks[0]!.targets, undefined);
  });
});

describe('2006 and 2007 RBAC wildcards', () => {
  test('wildcard resources and verbs fail or are accepted', async () => {
    const ns = await namespace('shk-rbac', { 'shk/rbac': 'ops' });
    await create(Kinds.roles, {
      metadata: { namespace: ns, name: 'exact' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
    });
    await create(Kinds.roles, {
      metadata: { namespace: ns, name: 'all-resources', labels: { 'shk/wildcard': 'ok' } },
      rules: [{ apiGroups: [''], resources: ['*'], verbs: ['get'] }],
    });
    await create(Kinds.clusterRoles, {
      metadata: { name: 'shk-all-verbs', labels: { 'shk/wildcard': 'ok' } },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] }],
    });

    const plain = await scanWith();
    assert.deepEqual(statusesFor(plain, '2006', { namespace: ns, name: 'exact' }), ['Passed']);
    assert.deepEqual(statusesFor(plain, '2006', { namespace: ns, name: 'all-resources' }), ['Failed']);
    assert.deepEqual(statusesFor(plain, '2006', { kind: 'ClusterRole', name: 'shk-all-verbs' }), ['Passed']);
    assert.deepEqual(statusesFor(plain, '2007', { namespace: ns, name: 'exact' }), ['Passed']);
    assert.deepEqual(statusesFor(plain, '2007', { namespace: ns, name: 'all-resources' }), ['Passed']);
    assert.deepEqual(statusesFor(plain, '2007', { kind: 'ClusterRole', name: 'shk-all-verbs' }), ['Failed']);
    // Built-in roles are judged too: cluster-admin grants everything.
    assert.deepEqual(statusesFor(plain, '2007', { kind: 'ClusterRole', name: 'cluster-admin' }), ['Failed']);

    const acceptance = {
      acceptedRoles: [
        {
          labelSelector: { matchLabels: { 'shk/wildcard': 'ok' } },
          namespaceLabelSelector: { matchLabels: { 'shk/rbac': 'ops' } },
        },
      ],
      acceptedClusterRoles: [{ labelSelector: { matchLabels: { 'shk/wildcard': 'ok' } }, justification: 'ops' }],
    };
    const acceptedReport = await scanWith([
      { ruleID: '2006', args: acceptance },
      { ruleID: '2007', args: acceptance },
    ]);
    assert.deepEqual(statusesFor(acceptedReport, '2006', { namespace: ns, name: 'all-resources' }), ['Accepted']);
    assert.deepEqual(
      findingsFor(acceptedReport, '2007', { kind: 'ClusterRole', name: 'shk-all-verbs' }).map((f) => [
        f.status,
        f.message,
      ]),
      [['Accepted', 'ops']],
    );
  });
});

describe('2008 hostPath volumes', () => {
  test('hostPath volumes fail or are accepted by name; ops pods are skipped', async () => {
    const ns = await namespace('shk-hostpath', { 'shk/agents': 'yes' });
    await pod(ns, 'clean', { volumes: [{ name: 'scratch', emptyDir: {} }] });
    await pod(
      ns,
      'agent',
      {
        volumes: [
          { name: 'logs', hostPath: { path: '/var/log' } },
          { name: 'root', hostPath: { path: '/' } },
        ],
      },
      { app: 'agent' },
    );
    await pod(
      ns,
      'ops',
      { volumes: [{ name: 'host', hostPath: { path: '/' } }] },
      {
        'compliance.gardener.cloud/role': 'diki-privileged-pod',
      },
    );

    const plain = await scanWith();
    assert.deepEqual(statusesFor(plain, '2008', { namespace: ns, name: 'clean' }), ['Passed']);
    assert.deepEqual(
      findingsFor(plain, '2008', { namespace: ns, name: 'agent' }).map((f) => [f.status, f.target.volume]),
      [
        ['Failed', 'logs'],
        ['Failed', 'root'],
      ],
    );
    assert.deepEqual(statusesFor(plain, '2008', { namespace: ns, name: 'ops' }), ['Skipped']);

    const acceptedReport = await scanWith([
      {
        ruleID: '2008',
        args: {
          acceptedPods: [
            {
              labelSelector: { matchLabels: { app: 'agent' } },
              namespaceLabelSelector: { matchLabels: { 'shk/agents': 'yes' } },
              volumeNames: ['logs'],
              justification: 'log shipper',
              status: 'Passed',
            },
          ],
        },
      },
    ]);
    assert.deepEqual(
      findingsFor(acceptedReport, '2008', { namespace: ns, name: 'agent' }).map((f) => [
        f.status,
        f.message,
        f.target.volume,
      ]),
      [
        ['Passed', 'log shipper', 'logs'],
        ['Failed', 'Pod mounts a host directory (hostPath volume).', 'root'],
      ],
    );
  });
});

describe('the whole ruleset', () => {
  test('skipping a rule gives one Accepted check with the justification', async () => {
    const report = await scanWith(
      RULE_IDS.map((ruleID) => ({ ruleID, skip: { enabled: true, justification: `handled elsewhere (${ruleID})` } })),
    );
    for (const id of RULE_IDS)
      assert.deepEqual(ruleChecks(report, id), [{ status: 'Accepted', message: `handled elsewhere (${id})` }]);
  });

  test('invalid rule options are rejected before anything is scanned, naming the field', async () => {
    for (const [ruleOption, field] of [
      [
        { ruleID: '2001', args: { acceptedPods: [{ labelSelector: 'app=debug' }] } },
        'args.acceptedPods[0].labelSelector',
      ],
      [
        {
          ruleID: '2003',
          args: { acceptedPods: [{ labelSelector: {}, namespaceLabelSelector: {}, volumeNames: ['A?'] }] },
        },
        'args.acceptedPods[0].volumeNames[0]',
      ],
      [{ ruleID: '2005', args: { allowedImages: [] } }, 'args.allowedImages'],
      [
        { ruleID: '2000', args: { acceptedNamespaces: [{ acceptedTraffic: { ingress: true } }] } },
        'args.acceptedNamespaces[0].labelSelector',
      ],
      [
        { ruleID: '2006', args: { acceptedClusterRoles: [{ labelSelector: {}, matchLabels: {} }] } },
        'args.acceptedClusterRoles[0].matchLabels',
      ],
      [
        { ruleID: '2004', args: { acceptedServices: [{ labelSelector: {}, namespaceLabelSelector: {}, extra: 1 }] } },
        'args.acceptedServices[0].extra',
      ],
    ] as const) {
      await assert.rejects(scanWith([ruleOption]), (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(
          err.errors.map((e) => e.field),
          [`providers[0].rulesets[0].ruleOptions[0].${field}`],
        );
        return true;
      });
    }
  });

  test('an offline scan of a dump of the cluster gives the live statuses', async () => {
    const dump = await cp.kubectl([
      'get',
      'namespaces,pods,replicasets,services,networkpolicies,storageclasses,roles,clusterroles',
      '--all-namespaces',
      '-o',
      'yaml',
    ]);
    assert.equal(dump.code, 0, dump.stderr);
    const dir = mkdtempSync(join(tmp, 'dump-'));
    writeFileSync(join(dir, 'cluster.yaml'), dump.stdout);

    const ruleOptions: RuleOption[] = [
      { ruleID: '2005', args: { allowedImages: [{ prefix: 'registry.example.com/' }] } },
      {
        ruleID: '2003',
        args: {
          acceptedPods: [
            {
              labelSelector: { matchLabels: { app: 'legacy' } },
              namespaceLabelSelector: {},
              volumeNames: ['*'],
              justification: 'legacy',
            },
          ],
        },
      },
    ];
    const liveReport = await scanTestbed(cp, [{ id: RULESET, ruleOptions }]);
    const offlineReport = await scanTestbed(undefined, [{ id: RULESET, ruleOptions }], { snapshot: dir });

    const findings = (report: Report) =>
      RULE_IDS.flatMap((id) =>
        ruleChecks(report, id).flatMap((check) =>
          (check.targets ?? [{}]).map((target) => `${id} ${check.status} ${check.message} ${JSON.stringify(target)}`),
        ),
      ).sort();
    const live = findings(liveReport);
    assert.deepEqual(findings(offlineReport), live);
    // The comparison covers this file's objects, every rule and every status they produce.
    assert.ok(live.some((f) => f.includes('"namespace":"shk-priv"')));
    assert.ok(live.some((f) => f.includes('"name":"shk-retain"')));
    for (const status of ['Passed', 'Failed', 'Accepted', 'Skipped', 'Errored'])
      assert.ok(
        live.some((f) => f.split(' ')[1] === status),
        `a ${status} finding is compared`,
      );
  });
});
