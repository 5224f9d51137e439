// The operator as a user installs it: `helm install` of deploy/helm/argus-operator into a testbed cluster whose
// node agent runs the chart's operator pod (in-cluster credentials, the chart's RBAC, leader election), then a
// ComplianceScan runs in a Job and completes. The webhooks are off here: the testbed has no Service routing
// (kube-proxy) for kube-apiserver to reach a webhook Service; test/integration/operator.test.ts covers them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { chartDir } from '../../scripts/generate-chart.ts';
import { complianceScanType, type ComplianceScan } from '../../src/api/diki/index.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/resources.ts';
import { waitFor } from '../../src/util/time.ts';
import { ensureHelm } from '../testbed/binaries.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { helmFor, type Helm } from '../testbed/helm.ts';
import type { CommandResult } from '../testbed/process.ts';
import { NodeAgent } from '../testbed/node-agent/index.ts';

let cp: ControlPlane;
let agent: NodeAgent;
let client: KubeClient;
let helmCli: Helm;

before(
  async () => {
    const [started, helmBinary] = await Promise.all([
      ControlPlane.start({ name: 'helm-operator' }),
      ensureHelm((line) => process.stderr.write(`helm: ${line}\n`)),
    ]);
    cp = started;
    helmCli = helmFor(cp, helmBinary);
    client = cp.client();
    agent = await NodeAgent.start(cp, { name: 'helm-node' });
  },
  { timeout: 30 * 60_000 },
);

after(async () => {
  await agent?.stop();
  await cp?.stop();
  helmCli?.close();
});

const helm = (...args: string[]): Promise<CommandResult> => helmCli.run(...args);

test('helm install runs the operator, and a ComplianceScan completes in a Job', async () => {
  // One replica: pods of the testbed share the host's network, so two would both bind the probe port.
  const installed = await helm(
    'install',
    'argus-operator',
    chartDir,
    '--namespace',
    'argus-system',
    '--create-namespace',
    '--set',
    'replicas=1',
    '--set',
    'webhooks.enabled=false',
  );
  assert.equal(installed.code, 0, installed.stderr);
  const operatorPod = await waitFor(
    'the operator pod running',
    async () => {
      const pods = await cp.kubectl(['get', 'pods', '-n', 'argus-system', '-o', 'jsonpath={.items[*].status.phase}']);
      return pods.stdout.includes('Running') ? pods.stdout : undefined;
    },
    { timeoutMs: 120_000 },
  );
  assert.match(operatorPod, /Running/);
  const output = await cp.kubectl(
    ['create', '-f', '-'],
    stringify({
      apiVersion: 'diki.gardener.cloud/v1alpha1',
      kind: 'ReportOutput',
      metadata: { name: 'configmap' },
      spec: { output: { configMap: { namespace: 'kube-system' } } },
    }),
  );
  assert.equal(output.code, 0, output.stderr);
  const scan = await client.create<ComplianceScan & KubeObject>(complianceScanType.resourceType, {
    apiVersion: complianceScanType.apiVersion,
    kind: 'ComplianceScan',
    metadata: { name: 'from-helm' },
    spec: { rulesets: [{ id: 'security-hardened-k8s' }], outputs: [{ name: 'configmap' }] },
  });
  const done = await waitFor(
    'the scan to finish',
    async () => {
      const s = await client.get<ComplianceScan & KubeObject>(complianceScanType.resourceType, scan.metadata!.name!);
      return s.status?.phase === 'Completed' || s.status?.phase === 'Failed' ? s : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  assert.equal(done.status?.phase, 'Completed', JSON.stringify(done.status));
  assert.equal(done.status?.outputs?.[0]?.phase, 'Completed');
  // The operator elected itself through the chart's RBAC (a Lease in the release namespace).
  const lease = await cp.kubectl([
    'get',
    'lease',
    '-n',
    'argus-system',
    'argus-operator',
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  assert.equal(lease.code, 0, lease.stderr);
  assert.ok(lease.stdout.length > 0);
  const uninstalled = await helm('uninstall', 'argus-operator', '--namespace', 'argus-system');
  assert.equal(uninstalled.code, 0, uninstalled.stderr);
});
