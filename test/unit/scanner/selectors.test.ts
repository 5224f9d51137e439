// Acceptance options shared by rulesets: label-selector semantics, diki's validation, first match wins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  acceptanceOf,
  clusterAcceptanceOf,
  matchesSelector,
  validateAcceptedCluster,
  validateAcceptedNamespaced,
} from '../../../src/scanner/rulesets/shared/selectors.ts';
import { onePodPerOwner, podTarget, indexReplicaSets } from '../../../src/scanner/rulesets/shared/pods.ts';
import type { V1Pod, V1ReplicaSet } from '@kubernetes/client-node';

test('label selectors follow Kubernetes semantics', () => {
  const labels = { app: 'web', tier: 'front' };
  assert.ok(matchesSelector({}, labels));
  assert.ok(matchesSelector({ matchLabels: { app: 'web' } }, labels));
  assert.ok(!matchesSelector({ matchLabels: { app: 'db' } }, labels));
  assert.ok(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }, labels));
  assert.ok(!matchesSelector({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, labels));
  assert.ok(matchesSelector({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['web'] }] }, labels));
  assert.ok(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels));
  assert.ok(!matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels));
  assert.ok(!matchesSelector({ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, undefined));
});

test('acceptances need both selectors, never mixed with matchLabels', () => {
  assert.deepEqual(validateAcceptedNamespaced([{ labelSelector: {} }], 'args.acceptedPods'), [
    { field: 'args.acceptedPods[0]', message: 'both labelSelector and namespaceLabelSelector must be set' },
  ]);
  assert.deepEqual(
    validateAcceptedNamespaced([{ labelSelector: {}, namespaceLabelSelector: {}, matchLabels: {} }], 'p'),
    [{ field: 'p[0]', message: 'matchLabels cannot be set when labelSelectors are used' }],
  );
  assert.deepEqual(validateAcceptedNamespaced([{ labelSelector: {}, namespaceLabelSelector: {} }], 'p'), []);
  assert.deepEqual(
    validateAcceptedNamespaced([{ matchLabels: { a: 'b' }, namespaceMatchLabels: { c: 'd' } }], 'p'),
    [],
  );
  assert.deepEqual(validateAcceptedCluster([{}], 'p'), [{ field: 'p[0].labelSelector', message: 'required' }]);
});

test('the first matching acceptance wins, with its justification and status', () => {
  const entries = [
    { labelSelector: { matchLabels: { app: 'a' } }, namespaceLabelSelector: {}, justification: 'first' },
    {
      labelSelector: {},
      namespaceLabelSelector: { matchLabels: { team: 'ops' } },
      justification: 'second',
      status: 'Passed' as const,
    },
    { matchLabels: { app: 'old' }, namespaceMatchLabels: { team: 'legacy' } },
  ];
  assert.deepEqual(acceptanceOf(entries, { app: 'a' }, {}), { justification: 'first', status: 'Accepted' });
  assert.deepEqual(acceptanceOf(entries, { app: 'b' }, { team: 'ops' }), { justification: 'second', status: 'Passed' });
  assert.deepEqual(acceptanceOf(entries, { app: 'old' }, { team: 'legacy' }), {
    justification: undefined,
    status: 'Accepted',
  });
  assert.equal(acceptanceOf(entries, { app: 'b' }, { team: 'dev' }), undefined);
  assert.equal(acceptanceOf(undefined, {}, {}), undefined);
  assert.deepEqual(clusterAcceptanceOf([{ matchLabels: { x: 'y' }, justification: 'j' }], { x: 'y' }), {
    justification: 'j',
    status: 'Accepted',
  });
});

test('one pod per owner, and targets name the Deployment behind a ReplicaSet', () => {
  const owned = (name: string, uid: string, kind = 'ReplicaSet'): V1Pod => ({
    metadata: { name, namespace: 'n', ownerReferences: [{ apiVersion: 'apps/v1', kind, name: `o-${uid}`, uid }] },
  });
  const pods = [owned('a', '1'), owned('b', '1'), { metadata: { name: 'c', namespace: 'n' } }, owned('d', '2', 'Job')];
  assert.deepEqual(
    onePodPerOwner(pods).map((p) => p.metadata?.name),
    ['a', 'c', 'd'],
  );
  const rs: V1ReplicaSet = {
    metadata: {
      uid: '1',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1' }],
    },
  };
  assert.deepEqual(podTarget(pods[0]!, indexReplicaSets([rs])), {
    kind: 'Pod',
    name: 'a',
    namespace: 'n',
    ownerKind: 'Deployment',
    ownerName: 'web',
  });
  assert.deepEqual(podTarget(pods[2]!), { kind: 'Pod', name: 'c', namespace: 'n' });
});
