// The operator's manifests (src/operator/manifests.ts) and the generated parts of its Helm chart: the chart's
// Chart.yaml, CRDs, RBAC and webhook templates equal what scripts/generate-chart.ts writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { staleChartFiles } from '../../../scripts/generate-chart.ts';
import { staleCrdFiles } from '../../../scripts/generate-crds.ts';
import { DEFAULT_IMAGE, operatorArgs, operatorManifests, type Manifest } from '../../../src/operator/manifests.ts';
import { operatorRunnerRules, operatorTargetRules, operatorTokenRules } from '../../../src/operator/rbac.ts';

const find = (manifests: Manifest[], kind: string, name?: string) =>
  manifests.filter((m) => m.kind === kind && (!name || (m.metadata as { name: string }).name === name));
const one = (manifests: Manifest[], kind: string, name?: string): Manifest => {
  const found = find(manifests, kind, name);
  assert.equal(found.length, 1, `one ${kind} ${name ?? ''}`);
  return found[0]!;
};
/** The value at a dotted path (array indices as numbers). */
const at = (value: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);

test('the generated chart files (Chart.yaml, crds/, RBAC and webhook templates) are up to date', () => {
  assert.deepEqual(staleCrdFiles(), []);
  assert.deepEqual(staleChartFiles(), [], 'run node scripts/generate-chart.ts');
});

test('same cluster: the operator, its RBAC in the runner namespace and on the target, webhooks', () => {
  const manifests = operatorManifests({ namespace: 'argus-system' });
  assert.deepEqual(
    manifests.map((m) => m.kind),
    [
      'ServiceAccount',
      'Role',
      'RoleBinding',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'ClusterRole',
      'ClusterRoleBinding',
      'Service',
      'Deployment',
      'PodDisruptionBudget',
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
    ],
  );
  assert.deepEqual(at(one(manifests, 'Role', 'argus-operator'), 'rules'), operatorRunnerRules());
  assert.deepEqual(at(one(manifests, 'ClusterRole', 'argus-operator'), 'rules'), operatorTargetRules());
  assert.deepEqual(at(one(manifests, 'Role', 'argus-operator-runner-token'), 'rules'), operatorTokenRules());
  assert.equal(at(one(manifests, 'Role', 'argus-operator-runner-token'), 'metadata.namespace'), 'kube-system');
  assert.deepEqual(at(one(manifests, 'ClusterRoleBinding', 'argus-operator'), 'subjects'), [
    { kind: 'ServiceAccount', name: 'argus-operator', namespace: 'argus-system' },
  ]);

  const deployment = one(manifests, 'Deployment');
  assert.equal(at(deployment, 'spec.replicas'), 2);
  const container = at(deployment, 'spec.template.spec.containers.0');
  assert.equal(at(container, 'image'), DEFAULT_IMAGE);
  assert.deepEqual(at(container, 'args'), [
    'operator',
    '--runner-namespace=argus-system',
    `--image=${DEFAULT_IMAGE}`,
    '--image-pull-policy=IfNotPresent',
    '--job-service-account=kube-system/argus-runner',
    '--scan-timeout=10m',
    '--max-running-scans=10',
    '--leader-elect',
    '--health-probe-bind-address=:8081',
    '--webhook-port=9443',
    '--webhook-service=argus-system/argus-operator',
    '--webhook-dns-names=argus-operator.argus-system.svc',
  ]);
  assert.equal(at(deployment, 'spec.template.spec.securityContext.runAsUser'), 65532);
  assert.deepEqual(at(container, 'readinessProbe.httpGet'), { path: '/readyz', port: 'metrics' });
  assert.deepEqual(at(container, 'livenessProbe.httpGet'), { path: '/healthz', port: 'metrics' });

  assert.deepEqual(at(one(manifests, 'Service'), 'spec.ports'), [
    { name: 'webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' },
    { name: 'metrics', port: 8081, targetPort: 'metrics', protocol: 'TCP' },
  ]);
  assert.deepEqual(at(one(manifests, 'PodDisruptionBudget'), 'spec.maxUnavailable'), 1);
  const mutating = at(one(manifests, 'MutatingWebhookConfiguration', 'argus-operator'), 'webhooks.0');
  assert.deepEqual(at(mutating, 'clientConfig'), {
    service: { namespace: 'argus-system', name: 'argus-operator', path: '/mutate', port: 443 },
  });
  assert.deepEqual(at(mutating, 'rules'), [
    {
      apiGroups: ['diki.gardener.cloud'],
      apiVersions: ['v1alpha1'],
      operations: ['CREATE', 'UPDATE'],
      resources: ['compliancescans', 'scheduledcompliancescans', 'reportoutputs'],
      scope: 'Cluster',
    },
  ]);
  assert.equal(at(mutating, 'failurePolicy'), 'Fail');
  assert.equal(at(mutating, 'clientConfig.caBundle'), undefined);
  assert.equal(at(mutating, 'sideEffects'), 'None');
});

test('remote target: no RBAC or webhook configurations for the target here; kubeconfig and defaults mounted', () => {
  const manifests = operatorManifests({
    namespace: 'shoot--dev--foo',
    targetKubeconfigSecret: 'shoot-kubeconfig',
    defaultOptions: 'providers: []\n',
  });
  assert.equal(find(manifests, 'ClusterRole').length, 0);
  assert.equal(find(manifests, 'ClusterRoleBinding').length, 0);
  assert.equal(find(manifests, 'MutatingWebhookConfiguration').length, 0);
  assert.deepEqual(at(one(manifests, 'ConfigMap', 'argus-operator-defaults'), 'data'), {
    'config.yaml': 'providers: []\n',
  });
  const spec = at(one(manifests, 'Deployment'), 'spec.template.spec');
  assert.deepEqual((at(spec, 'containers.0.args') as string[]).slice(7), [
    '--target-kubeconfig=/etc/argus/target/kubeconfig',
    '--default-options=/etc/argus/defaults/config.yaml',
    '--leader-elect',
    '--health-probe-bind-address=:8081',
    '--webhook-port=9443',
    '--webhook-url=https://argus-operator.shoot--dev--foo.svc',
    '--webhook-dns-names=argus-operator.shoot--dev--foo.svc',
  ]);
  assert.deepEqual(at(spec, 'volumes.1'), {
    name: 'target-kubeconfig',
    secret: { secretName: 'shoot-kubeconfig', items: [{ key: 'kubeconfig', path: 'kubeconfig' }] },
  });
});

test('without webhooks there are no webhook flags; a job service account is <namespace>/<name>', () => {
  assert.ok(operatorArgs({ webhooks: false }).every((arg) => !arg.startsWith('--webhook')));
  assert.throws(() => operatorManifests({ jobServiceAccount: 'argus-runner' }), /expected <namespace>\/<name>/);
});
