// What a test or benchmark of the compliance operator sets up in its two clusters: the diki CRDs (and any other
// manifests) and the operator's RBAC on the target, the runner namespace and the operator's Role there, all for
// the identity `argus-operator` (a client certificate of each cluster), so the operator runs with least privilege.
import { stringify } from 'yaml';
import { complianceScanType, dikiCrds } from '../../src/api/diki/index.ts';
import { Resources } from '../../src/kube/resources.ts';
import { operatorRunnerRbac, operatorTargetRbac } from '../../src/operator/rbac.ts';
import { waitFor } from '../../src/util/time.ts';
import type { ControlPlane } from '../testbed/controlplane.ts';

export const OPERATOR_USER = 'argus-operator';

/** kubectl apply --server-side of `objects`; throws with kubectl's message. */
export async function applyManifests(cp: ControlPlane, objects: readonly unknown[]): Promise<void> {
  const result = await cp.kubectl(
    ['apply', '--server-side', '-f', '-'],
    objects.map((o) => stringify(o)).join('---\n'),
  );
  if (result.code !== 0) throw new Error(`kubectl apply: ${result.stderr}`);
}

export async function prepareOperatorClusters(
  target: ControlPlane,
  runner: ControlPlane,
  runnerNamespace: string,
  extraTargetManifests: readonly unknown[] = [],
): Promise<void> {
  const operator = { kind: 'User' as const, name: OPERATOR_USER };
  await applyManifests(target, [...dikiCrds(), ...extraTargetManifests, ...operatorTargetRbac({ operator })]);
  const runnerAdmin = runner.client('argus-test/operator-setup');
  await runnerAdmin.create(Resources.namespaces, { metadata: { name: runnerNamespace } });
  await applyManifests(runner, operatorRunnerRbac({ operator, runnerNamespace }));
  // Pod admission needs the namespace's default ServiceAccount, which kube-controller-manager creates.
  await waitFor('the runner namespace default ServiceAccount', () =>
    runnerAdmin.getOrUndefined(Resources.serviceAccounts, 'default', runnerNamespace),
  );
  const targetAdmin = target.client('argus-test/operator-setup');
  await waitFor('the diki CRDs served', () =>
    targetAdmin
      .list(complianceScanType.resourceType)
      .then(() => true)
      .catch(() => false),
  );
}
