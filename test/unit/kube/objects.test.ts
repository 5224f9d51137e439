import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controllerOf, ownerReference, setControllerReference } from '../../../src/kube/objects.ts';
import { objectKey, Resources, splitKey, type KubeObject } from '../../../src/kube/resources.ts';

const owner = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'scan', namespace: 'ns', uid: 'u1' } };

test('ownerReference describes the owner as controller that blocks deletion', () => {
  assert.deepEqual(ownerReference(owner, Resources.jobs), {
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: 'scan',
    uid: 'u1',
    controller: true,
    blockOwnerDeletion: true,
  });
  assert.throws(() => ownerReference({ metadata: { name: 'x' } }, Resources.jobs), /metadata.uid/);
});

test('setControllerReference is idempotent and refuses a second controller', () => {
  const obj: KubeObject = { metadata: { name: 'cm' } };
  setControllerReference(owner, Resources.jobs, obj);
  setControllerReference(owner, Resources.jobs, obj);
  assert.equal(controllerOf(obj)?.uid, 'u1');
  assert.equal(obj.metadata?.ownerReferences?.length, 1);
  const other = { kind: 'Job', apiVersion: 'batch/v1', metadata: { name: 'other', uid: 'u2' } };
  assert.throws(() => setControllerReference(other, Resources.jobs, obj), /already controlled by Job scan/);
});

test('object keys are namespace/name, or name when cluster-scoped', () => {
  assert.equal(objectKey({ metadata: { name: 'a', namespace: 'n' } }), 'n/a');
  assert.equal(objectKey({ metadata: { name: 'node-1' } }), 'node-1');
  assert.deepEqual(splitKey('n/a'), { namespace: 'n', name: 'a' });
  assert.deepEqual(splitKey('node-1'), { name: 'node-1' });
});
