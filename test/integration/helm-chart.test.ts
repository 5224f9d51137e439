// The Helm chart deploy/helm/argus-operator installed with helm into a real control plane: the CRDs are
// established, the release's RBAC, Deployment, Service, PodDisruptionBudget and webhook configurations exist
// and point at each other, the operator's ServiceAccount may do exactly what src/operator/rbac.ts grants (asked
// through SubjectAccessReviews), a remote-target release installs nothing for the target, and helm uninstall
// removes the releases' objects (the CRDs stay, as Helm does for crds/). The operator's pods do not run here.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { chartDir } from '../../scripts/generate-chart.ts';
import { dikiTypes } from '../../src/api/diki/index.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { waitFor } from '../../src/util/time.ts';
import { ensureHelm } from '../testbed/binaries.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { helmFor, type Helm } from '../testbed/helm.ts';
import type { CommandResult } from '../testbed/process.ts';

let cp: ControlPlane;
let client: KubeClient;
let helmCli: Helm;

const NAMESPACE = 'argus-system';
const OPERATOR = `system:serviceaccount:${NAMESPACE}:argus-operator`;
const RUNNER = 'system:serviceaccount:kube-system:argus-runner';
const REMOTE_NAMESPACE = 'shoot--dev--foo';
const REMOTE_OPERATOR = `system:serviceaccount:${REMOTE_NAMESPACE}:remote-argus-operator`;

before(
  async () => {
    const [started, helmBinary] = await Promise.all([
      ControlPlane.start({ name: 'helm-chart' }),
      ensureHelm((line) => process.stderr.write(`helm: ${line}\n`)),
    ]);
    cp = started;
    helmCli = helmFor(cp, helmBinary);
    client = cp.client();
  },
  { timeout: 30 * 60_000 },
);

after(async () => {
  await cp?.stop();
  helmCli?.close();
});

/** Runs helm against the control plane, with its configuration and cache in a directory of this test. */
const helm = (...args: string[]): Promise<CommandResult> => helmCli.run(...args);

const kubectl = (...args: string[]) => cp.kubectl(args);

async function getJson(resource: string, name: string, namespace?: string): Promise<unknown> {
  const result = await kubectl('get', resource, name, '-o', 'json', ...(namespace ? ['-n', namespace] : []));
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as unknown;
}

/** The value at a dotted path (array indices as numbers). */
const at = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);

interface Access {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Whether the ServiceAccount `user` may do `access`, as the API server's authorizer answers. */
async function allowed(user: string, access: Access): Promise<boolean> {
  const namespace = user.split(':')[2]!;
  const review = await client.request<{ status: { allowed: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
          resourceAttributes: { group: '', ...access },
        },
      },
    },
  );
  return review.status.allowed;
}

async function assertAccess(user: string, expected: boolean, accesses: Access[]): Promise<void> {
  for (const access of accesses) {
    assert.equal(
      await allowed(user, access),
      expected,
      `${user} ${expected ? 'may' : 'may not'} ${JSON.stringify(access)}`,
    );
  }
}

const diki = 'diki.gardener.cloud';

test('helm install creates the CRDs, the RBAC, the Deployment, its Service and the webhook configurations', async () => {
  const installed = await helm('install', 'argus-operator', chartDir, '--namespace', NAMESPACE, '--create-namespace');
  assert.equal(installed.code, 0, installed.stderr);

  const established = await kubectl(
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...dikiTypes.map((t) => `crd/${t.resource}.${t.crd.group}`),
  );
  assert.equal(established.code, 0, established.stderr);

  const deployment = await getJson('deployment', 'argus-operator', NAMESPACE);
  assert.equal(at(deployment, 'spec.replicas'), 2);
  const args = at(deployment, 'spec.template.spec.containers.0.args') as string[];
  assert.ok(args.includes(`--webhook-service=${NAMESPACE}/argus-operator`), args.join(' '));
  assert.equal(at(deployment, 'spec.template.spec.serviceAccountName'), 'argus-operator');
  // The controller manager acts on it: a ReplicaSet with the two (unscheduled) pods.
  await waitFor('the Deployment to create its ReplicaSet', async () => {
    const sets = await kubectl(
      'get',
      'replicasets',
      '-n',
      NAMESPACE,
      '-l',
      'app.kubernetes.io/name=argus-operator',
      '-o',
      'name',
    );
    return sets.code === 0 && sets.stdout.trim() !== '';
  });

  const service = await getJson('service', 'argus-operator', NAMESPACE);
  assert.deepEqual(
    (at(service, 'spec.ports') as { port: number; targetPort: string }[]).map((p) => [p.port, p.targetPort]),
    [
      [443, 'webhook'],
      [8081, 'metrics'],
    ],
  );
  assert.equal(at(await getJson('poddisruptionbudget', 'argus-operator', NAMESPACE), 'spec.maxUnavailable'), 1);
  for (const [resource, name, namespace] of [
    ['serviceaccount', 'argus-operator', NAMESPACE],
    ['role', 'argus-operator', NAMESPACE],
    ['rolebinding', 'argus-operator', NAMESPACE],
    ['clusterrole', 'argus-operator'],
    ['clusterrolebinding', 'argus-operator'],
    ['role', 'argus-operator-runner-token', 'kube-system'],
    ['rolebinding', 'argus-operator-runner-token', 'kube-system'],
    ['serviceaccount', 'argus-runner', 'kube-system'],
    ['clusterrole', 'argus-runner-scanner'],
    ['role', 'argus-runner-scanner-ops-pods', 'kube-system'],
    ['clusterrole', 'argus-runner-exporter'],
  ] as const) {
    const object = await getJson(resource, name, namespace);
    const annotations = at(object, 'metadata.annotations') as Record<string, string>;
    assert.equal(annotations['meta.helm.sh/release-name'], 'argus-operator', `${resource} ${name}`);
  }

  for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
    const webhook = at(await getJson(kind, 'argus-operator'), 'webhooks.0');
    assert.deepEqual(at(webhook, 'clientConfig.service'), {
      namespace: NAMESPACE,
      name: 'argus-operator',
      path: kind.startsWith('mutating') ? '/mutate' : '/validate',
      port: 443,
    });
    assert.equal(at(webhook, 'clientConfig.caBundle'), undefined);
    assert.equal(at(webhook, 'failurePolicy'), 'Fail');
    assert.deepEqual(at(webhook, 'rules.0.resources'), [
      'compliancescans',
      'scheduledcompliancescans',
      'reportoutputs',
    ]);
  }
  // No operator runs, so the webhooks (failurePolicy Fail) turn scans away: they are wired to the types.
  const scan = await cp.kubectl(
    ['create', '-f', '-'],
    stringify({ apiVersion: `${diki}/v1alpha1`, kind: 'ComplianceScan', metadata: { name: 'scan-1' } }),
  );
  assert.notEqual(scan.code, 0);
  assert.match(scan.stderr, /failed calling webhook "mutate\.diki\.gardener\.cloud"/);
});

test("the operator's and the runner's ServiceAccounts may do what they need and nothing else", async () => {
  await waitFor('the RBAC to reach the authorizer', () =>
    allowed(OPERATOR, { verb: 'create', group: 'batch', resource: 'jobs', namespace: NAMESPACE }),
  );
  await assertAccess(OPERATOR, true, [
    { verb: 'create', group: 'batch', resource: 'jobs', namespace: NAMESPACE },
    { verb: 'delete', group: 'batch', resource: 'jobs', namespace: NAMESPACE },
    { verb: 'create', resource: 'secrets', namespace: NAMESPACE },
    { verb: 'create', resource: 'configmaps', namespace: NAMESPACE },
    { verb: 'list', resource: 'pods', namespace: NAMESPACE },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: NAMESPACE, name: 'argus-operator' },
    { verb: 'get', resource: 'secrets', namespace: NAMESPACE, name: 'argus-operator-webhook-cert' },
    {
      verb: 'create',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'kube-system',
      name: 'argus-runner',
    },
    { verb: 'watch', group: diki, resource: 'compliancescans' },
    { verb: 'create', group: diki, resource: 'compliancescans' },
    { verb: 'patch', group: diki, resource: 'compliancescans', subresource: 'status' },
    { verb: 'list', group: diki, resource: 'reportoutputs' },
    { verb: 'get', resource: 'configmaps', namespace: 'team-a' },
    { verb: 'create', group: 'events.k8s.io', resource: 'events', namespace: 'team-a' },
    {
      verb: 'patch',
      group: 'admissionregistration.k8s.io',
      resource: 'mutatingwebhookconfigurations',
      name: 'argus-operator',
    },
  ]);
  await assertAccess(OPERATOR, false, [
    { verb: 'get', resource: 'secrets', namespace: 'default' },
    { verb: 'get', resource: 'secrets', namespace: NAMESPACE, name: 'other' },
    { verb: 'list', resource: 'secrets', namespace: NAMESPACE },
    { verb: 'create', group: 'batch', resource: 'jobs', namespace: 'default' },
    { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'kube-system', name: 'default' },
    { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: NAMESPACE, name: 'other' },
    { verb: 'update', group: diki, resource: 'compliancescans' },
    { verb: 'delete', group: diki, resource: 'scheduledcompliancescans' },
    {
      verb: 'patch',
      group: 'admissionregistration.k8s.io',
      resource: 'validatingwebhookconfigurations',
      name: 'other',
    },
    { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'kube-system' },
  ]);
  await assertAccess(RUNNER, true, [
    { verb: 'list', resource: 'pods' },
    { verb: 'get', resource: 'nodes', subresource: 'proxy' },
    { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'kube-system' },
    { verb: 'patch', group: diki, resource: 'compliancescans', subresource: 'status' },
    { verb: 'create', group: 'wgpolicyk8s.io', resource: 'policyreports', namespace: 'team-a' },
  ]);
  await assertAccess(RUNNER, false, [
    { verb: 'create', group: 'batch', resource: 'jobs', namespace: NAMESPACE },
    { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'team-a' },
    { verb: 'update', group: diki, resource: 'compliancescans' },
    {
      verb: 'create',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'kube-system',
      name: 'argus-runner',
    },
  ]);
});

test('a release for a remote target installs only the runner namespace RBAC in this cluster', async () => {
  const installed = await helm(
    'install',
    'remote',
    chartDir,
    '--namespace',
    REMOTE_NAMESPACE,
    '--create-namespace',
    '--skip-crds',
    '--set',
    'targetKubeconfigSecret=shoot-kubeconfig',
  );
  assert.equal(installed.code, 0, installed.stderr);
  const manifest = await helm('get', 'manifest', 'remote', '--namespace', REMOTE_NAMESPACE);
  assert.equal(manifest.code, 0, manifest.stderr);
  const kinds = [...manifest.stdout.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(kinds, ['Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
  const deployment = await getJson('deployment', 'remote-argus-operator', REMOTE_NAMESPACE);
  const args = at(deployment, 'spec.template.spec.containers.0.args') as string[];
  assert.ok(args.includes('--target-kubeconfig=/etc/argus/target/kubeconfig'), args.join(' '));

  await waitFor('the RBAC to reach the authorizer', () =>
    allowed(REMOTE_OPERATOR, { verb: 'create', group: 'batch', resource: 'jobs', namespace: REMOTE_NAMESPACE }),
  );
  await assertAccess(REMOTE_OPERATOR, false, [
    { verb: 'create', group: 'batch', resource: 'jobs', namespace: NAMESPACE },
    { verb: 'list', group: diki, resource: 'compliancescans' },
    {
      verb: 'create',
      resource: 'serviceaccounts',
      subresource: 'token',
      namespace: 'kube-system',
      name: 'argus-runner',
    },
  ]);
});

test('helm uninstall removes the releases; the CRDs stay', async () => {
  for (const [release, namespace] of [
    ['argus-operator', NAMESPACE],
    ['remote', REMOTE_NAMESPACE],
  ] as const) {
    const uninstalled = await helm('uninstall', release, '--namespace', namespace);
    assert.equal(uninstalled.code, 0, uninstalled.stderr);
  }
  const gone = async (resource: string, name: string, namespace?: string) => {
    const result = await kubectl(
      'get',
      resource,
      name,
      '--ignore-not-found',
      '-o',
      'name',
      ...(namespace ? ['-n', namespace] : []),
    );
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim() === '';
  };
  const released: [string, string, string?][] = [
    ['deployment', 'argus-operator', NAMESPACE],
    ['service', 'argus-operator', NAMESPACE],
    ['serviceaccount', 'argus-operator', NAMESPACE],
    ['poddisruptionbudget', 'argus-operator', NAMESPACE],
    ['role', 'argus-operator', NAMESPACE],
    ['rolebinding', 'argus-operator', NAMESPACE],
    ['clusterrole', 'argus-operator'],
    ['clusterrolebinding', 'argus-operator'],
    ['role', 'argus-operator-runner-token', 'kube-system'],
    ['serviceaccount', 'argus-runner', 'kube-system'],
    ['clusterrole', 'argus-runner-scanner'],
    ['clusterrole', 'argus-runner-exporter'],
    ['mutatingwebhookconfiguration', 'argus-operator'],
    ['validatingwebhookconfiguration', 'argus-operator'],
    ['deployment', 'remote-argus-operator', REMOTE_NAMESPACE],
    ['role', 'remote-argus-operator', REMOTE_NAMESPACE],
  ];
  for (const [resource, name, namespace] of released) {
    await waitFor(`${resource} ${name} to be deleted`, () => gone(resource, name, namespace));
  }
  for (const type of dikiTypes) assert.ok(!(await gone('crd', `${type.resource}.${type.crd.group}`)));
  // Without the webhooks, scans are admitted again.
  const scan = await cp.kubectl(
    ['create', '-f', '-'],
    stringify({ apiVersion: `${diki}/v1alpha1`, kind: 'ComplianceScan', metadata: { name: 'scan-1' } }),
  );
  assert.equal(scan.code, 0, scan.stderr);
});
