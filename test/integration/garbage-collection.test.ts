// The garbage collector and namespace controller of kube-controller-manager, which Argus relies on to
// remove objects it owns (ownerReferences) and everything in deleted namespaces.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ConfigMap, V1Namespace } from '@kubernetes/client-node';
import type { KubeClient } from '../../src/kube/client.ts';
import { Resources, type OwnerReference } from '../../src/kube/resources.ts';
import { waitFor } from '../../src/util/time.ts';
import { ControlPlane } from '../testbed/controlplane.ts';

let cp: ControlPlane;
let client: KubeClient;

before(async () => {
  cp = await ControlPlane.start({ name: 'gc' });
  client = cp.client();
});

after(async () => {
  await cp?.stop();
});

const HOLD = 'argus.test/hold';

async function namespace(name: string): Promise<string> {
  await client.create(Resources.namespaces, { metadata: { name } });
  return name;
}

async function configMap(ns: string, name: string, owner?: V1ConfigMap, finalizers?: string[]): Promise<V1ConfigMap> {
  const ownerReferences: OwnerReference[] | undefined = owner && [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: owner.metadata?.name ?? '',
      uid: owner.metadata?.uid ?? '',
      blockOwnerDeletion: true,
    },
  ];
  return client.create<V1ConfigMap>(Resources.configMaps, {
    metadata: { name, namespace: ns, ownerReferences, finalizers },
    data: { name },
  });
}

const gone = (ns: string, name: string) => async (): Promise<boolean> =>
  (await client.getOrUndefined(Resources.configMaps, name, ns)) === undefined;

test('dependents are deleted after their owner (background propagation)', async () => {
  const ns = await namespace('gc-background');
  const owner = await configMap(ns, 'owner');
  await configMap(ns, 'dependent-1', owner);
  await configMap(ns, 'dependent-2', owner);
  await configMap(ns, 'unrelated');

  await client.delete(Resources.configMaps, 'owner', ns, { propagationPolicy: 'Background' });
  assert.equal(await client.getOrUndefined(Resources.configMaps, 'owner', ns), undefined, 'the owner goes at once');
  await waitFor(
    'dependents to be collected',
    async () => (await gone(ns, 'dependent-1')()) && gone(ns, 'dependent-2')(),
  );
  assert.ok(await client.get(Resources.configMaps, 'unrelated', ns));
});

test('with foreground propagation the owner disappears only after its dependents', async () => {
  const ns = await namespace('gc-foreground');
  const owner = await configMap(ns, 'owner');
  // The finalizer holds the dependent back, so the order of deletions can be observed.
  await configMap(ns, 'held', owner, [HOLD]);

  await client.delete(Resources.configMaps, 'owner', ns, { propagationPolicy: 'Foreground' });
  await waitFor('the garbage collector to delete the dependent', async () => {
    const cm = await client.getOrUndefined<V1ConfigMap>(Resources.configMaps, 'held', ns);
    return cm?.metadata?.deletionTimestamp !== undefined;
  });
  const waitingOwner = await client.get<V1ConfigMap>(Resources.configMaps, 'owner', ns);
  assert.ok(waitingOwner.metadata?.deletionTimestamp, 'the owner is being deleted');
  assert.deepEqual(waitingOwner.metadata?.finalizers, ['foregroundDeletion']);

  await client.patch(Resources.configMaps, 'held', [{ op: 'remove', path: '/metadata/finalizers' }], 'json', {
    namespace: ns,
  });
  await waitFor('the dependent to be gone', gone(ns, 'held'));
  await waitFor('the owner to be gone after its dependent', gone(ns, 'owner'));
});

test('deleting a namespace removes its objects and the namespace', async () => {
  const ns = await namespace('gc-namespace');
  await configMap(ns, 'a');
  await configMap(ns, 'b');
  await client.create(Resources.secrets, { metadata: { name: 's', namespace: ns }, stringData: { k: 'v' } });

  await client.delete(Resources.namespaces, ns);
  const terminating = await client.get<V1Namespace>(Resources.namespaces, ns);
  assert.equal(terminating.status?.phase, 'Terminating');
  await waitFor(
    'the namespace to finish terminating',
    async () => !(await client.getOrUndefined(Resources.namespaces, ns)),
    {
      timeoutMs: 30_000,
      intervalMs: 200,
    },
  );
  // Gone from storage, not only hidden: listing across namespaces finds nothing left behind.
  const leftovers = await client.list(Resources.configMaps, { fieldSelector: `metadata.namespace=${ns}` });
  assert.deepEqual(leftovers.items, []);
  const secrets = await client.list(Resources.secrets, { fieldSelector: `metadata.namespace=${ns}` });
  assert.deepEqual(secrets.items, []);
});
