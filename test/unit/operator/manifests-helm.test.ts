// The Helm chart deploy/helm/argus-operator through helm itself: `helm lint`, and `helm template` with the
// default values, a remote target (ci/remote-target-values.yaml) and without webhooks renders exactly the
// objects of src/operator/manifests.ts for the same settings (besides Helm's own labels). helm is built from
// the pinned module on first use (test/testbed/binaries.ts ensureHelm).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { chartDir } from '../../../scripts/generate-chart.ts';
import {
  argusVersion,
  operatorManifests,
  type Manifest,
  type OperatorManifestOptions,
} from '../../../src/operator/manifests.ts';
import { operatorRunnerRules, operatorTargetRules, operatorTokenRules } from '../../../src/operator/rbac.ts';
import { ensureHelm } from '../../testbed/binaries.ts';
import { runCommand, type CommandResult } from '../../testbed/process.ts';

let helm: string;

before(
  async () => {
    helm = await ensureHelm((line) => process.stderr.write(`helm: ${line}\n`));
  },
  { timeout: 30 * 60_000 },
);

const run = (args: string[]): Promise<CommandResult> => runCommand(helm, args);

const remoteValuesFile = join(chartDir, 'ci', 'remote-target-values.yaml');

async function render(namespace: string, ...args: string[]): Promise<Manifest[]> {
  const result = await run(['template', 'argus-operator', chartDir, '--namespace', namespace, ...args]);
  assert.equal(result.code, 0, result.stderr);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const HELM_LABELS = ['app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart'];

/** The object without Helm's own labels, keyed by kind, namespace and name. */
function byKey(manifests: Manifest[]): Map<string, Manifest> {
  const strip = (metadata: { labels?: Record<string, string> } | undefined) => {
    for (const label of HELM_LABELS) delete metadata?.labels?.[label];
  };
  return new Map(
    manifests.map((m) => {
      const copy = structuredClone(m);
      const metadata = copy.metadata as { name: string; namespace?: string; labels?: Record<string, string> };
      strip(metadata);
      strip(
        (copy.spec as { template?: { metadata?: { labels?: Record<string, string> } } } | undefined)?.template
          ?.metadata,
      );
      return [`${String(copy.kind)}/${metadata.namespace ?? ''}/${metadata.name}`, copy];
    }),
  );
}

function assertSameObjects(rendered: Manifest[], expected: Manifest[]): void {
  const actual = byKey(rendered);
  const wanted = byKey(expected);
  assert.deepEqual([...actual.keys()].sort(), [...wanted.keys()].sort());
  for (const [key, object] of wanted) assert.deepEqual(actual.get(key), object, key);
}

const kinds = (manifests: Manifest[]) => manifests.map((m) => m.kind as string).sort();
const named = (manifests: Manifest[], kind: string, name: string) =>
  manifests.find((m) => m.kind === kind && (m.metadata as { name: string }).name === name);

test('helm lint passes with the default values and with a remote target', async () => {
  for (const args of [[], ['-f', remoteValuesFile]]) {
    const result = await run(['lint', '--strict', chartDir, ...args]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  }
});

test('the default values render the same cluster setup of src/operator/manifests.ts', async () => {
  const rendered = await render('argus-system');
  assertSameObjects(rendered, operatorManifests({ namespace: 'argus-system' }));
  assert.deepEqual(kinds(rendered), [
    'ClusterRole',
    'ClusterRole',
    'ClusterRole',
    'ClusterRoleBinding',
    'ClusterRoleBinding',
    'ClusterRoleBinding',
    'Deployment',
    'MutatingWebhookConfiguration',
    'PodDisruptionBudget',
    'Role',
    'Role',
    'Role',
    'RoleBinding',
    'RoleBinding',
    'RoleBinding',
    'Service',
    'ServiceAccount',
    'ServiceAccount',
    'ValidatingWebhookConfiguration',
  ]);
  // The RBAC is src/operator/rbac.ts's, the image the chart's appVersion.
  assert.deepEqual(named(rendered, 'Role', 'argus-operator')?.rules, operatorRunnerRules());
  assert.deepEqual(named(rendered, 'ClusterRole', 'argus-operator')?.rules, operatorTargetRules());
  assert.deepEqual(named(rendered, 'Role', 'argus-operator-runner-token')?.rules, operatorTokenRules());
  const deployment = named(rendered, 'Deployment', 'argus-operator') as {
    spec: { template: { spec: { containers: { image: string; args: string[] }[] } } };
  };
  const container = deployment.spec.template.spec.containers[0]!;
  assert.equal(container.image, `ghcr.io/argus-io/argus:${argusVersion}`);
  assert.ok(container.args.includes('--webhook-service=argus-system/argus-operator'));
  const validating = named(rendered, 'ValidatingWebhookConfiguration', 'argus-operator') as {
    webhooks: { clientConfig: Record<string, unknown>; failurePolicy: string; sideEffects: string }[];
  };
  assert.equal(validating.webhooks[0]!.failurePolicy, 'Fail');
  assert.equal(validating.webhooks[0]!.sideEffects, 'None');
  assert.equal(validating.webhooks[0]!.clientConfig.caBundle, undefined);
});

test('a remote target renders no RBAC for the target and mounts its kubeconfig', async () => {
  const values = parse(readFileSync(remoteValuesFile, 'utf8')) as {
    replicas: number;
    runnerNamespace: string;
    targetKubeconfigSecret: string;
    jobServiceAccount: string;
    scanTimeout: string;
    image: { repository: string; tag: string; pullPolicy: string };
    defaultOptions: string;
    nodeSelector: Record<string, string>;
    tolerations: Record<string, unknown>[];
  };
  const options: OperatorManifestOptions = {
    namespace: 'garden-argus',
    replicas: values.replicas,
    runnerNamespace: values.runnerNamespace,
    targetKubeconfigSecret: values.targetKubeconfigSecret,
    jobServiceAccount: values.jobServiceAccount,
    scanTimeout: values.scanTimeout,
    image: `${values.image.repository}:${values.image.tag}`,
    imagePullPolicy: values.image.pullPolicy,
    defaultOptions: values.defaultOptions,
    nodeSelector: values.nodeSelector,
    tolerations: values.tolerations,
  };
  const rendered = await render('garden-argus', '-f', remoteValuesFile);
  assertSameObjects(rendered, operatorManifests(options));
  assert.ok(!kinds(rendered).some((kind) => kind.startsWith('Cluster') || kind.endsWith('WebhookConfiguration')));
  assert.equal(
    (named(rendered, 'Role', 'argus-operator')?.metadata as { namespace: string }).namespace,
    'shoot--dev--foo',
  );
  const args = (
    named(rendered, 'Deployment', 'argus-operator') as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    }
  ).spec.template.spec.containers[0]!.args;
  assert.deepEqual(args, [
    'operator',
    '--runner-namespace=shoot--dev--foo',
    '--image=registry.example.com/argus:0.1.0-dev',
    '--image-pull-policy=Always',
    '--job-service-account=kube-system/diki-runner',
    '--scan-timeout=30m',
    '--max-running-scans=10',
    '--target-kubeconfig=/etc/argus/target/kubeconfig',
    '--default-options=/etc/argus/defaults/config.yaml',
    '--leader-elect',
    '--health-probe-bind-address=:8081',
    '--webhook-port=9443',
    '--webhook-url=https://argus-operator.garden-argus.svc',
    '--webhook-dns-names=argus-operator.garden-argus.svc',
  ]);
});

test('other runner namespace and job ServiceAccount, no webhooks; bad values fail', async () => {
  const rendered = await render(
    'argus-system',
    '--set',
    'webhooks.enabled=false,runnerNamespace=argus-jobs,jobServiceAccount=argus-scans/scanner',
  );
  assertSameObjects(
    rendered,
    operatorManifests({
      namespace: 'argus-system',
      webhooks: false,
      runnerNamespace: 'argus-jobs',
      jobServiceAccount: 'argus-scans/scanner',
    }),
  );
  assert.deepEqual(
    named(rendered, 'Role', 'argus-operator-runner-token')?.rules,
    operatorTokenRules('argus-scans/scanner'),
  );
  assert.ok(named(rendered, 'ClusterRole', 'scanner-scanner'));
  assert.ok(!kinds(rendered).some((kind) => kind.endsWith('WebhookConfiguration')));

  // values.schema.json turns away malformed values, and the templates check jobServiceAccount themselves.
  const bad = await run([
    'template',
    'x',
    chartDir,
    '--set',
    'replicas=two,scanTimeout=10 minutes,jobServiceAccount=x',
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /replicas/);
  assert.match(bad.stderr, /scanTimeout/);
  assert.match(bad.stderr, /jobServiceAccount/);
  const unchecked = await run(['template', 'x', chartDir, '--skip-schema-validation', '--set', 'jobServiceAccount=x']);
  assert.notEqual(unchecked.code, 0);
  assert.match(unchecked.stderr, /jobServiceAccount "x": expected <namespace>\/<name>/);
});
