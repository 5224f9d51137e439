// 242417: user pods do not run in the system namespaces `kube-system`, `kube-public` and `kube-node-lease`.
// One pod per owner is checked; the scanner's own ops pods are not user pods. `acceptedPods` entries mark the
// pods the platform runs there (status Passed) or accept a user pod (status Accepted, the default).
import type { V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import Type from 'typebox';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed, type CheckResult } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { indexReplicaSets, isOpsPod, namespaceLabels, onePodPerOwner, podTarget } from '../../shared/pods.ts';
import {
  acceptanceOf,
  acceptedFinding,
  AcceptedNamespacedObjectSchema,
  validateAcceptedNamespaced,
} from '../../shared/selectors.ts';

export const SYSTEM_NAMESPACES_242417 = ['kube-system', 'kube-public', 'kube-node-lease'];

const Options = Type.Object(
  { acceptedPods: Type.Optional(Type.Array(AcceptedNamespacedObjectSchema)) },
  { additionalProperties: false },
);

export const rule242417 = defineRule({
  id: '242417',
  name: 'Kubernetes must separate user functionality.',
  severity: 'Medium',
  options: Options,
  validate: (options, path) => validateAcceptedNamespaced(options.acceptedPods, `${path}.acceptedPods`),
  async run(ctx) {
    const pods = await ctx.objects.list<V1Pod>(Kinds.pods);
    const nsLabels = await namespaceLabels(ctx.objects);
    const inSystem = pods.filter((p) => SYSTEM_NAMESPACES_242417.includes(p.metadata?.namespace ?? '') && !isOpsPod(p));
    if (inSystem.length === 0) return [passed('There are no pods in the system namespaces.')];
    const replicaSets = indexReplicaSets(await ctx.objects.list<V1ReplicaSet>(Kinds.replicaSets));
    return onePodPerOwner(inSystem).map((pod): CheckResult => {
      const target = podTarget(pod, replicaSets);
      const acceptance = acceptanceOf(
        ctx.options?.acceptedPods,
        pod.metadata?.labels,
        nsLabels.get(pod.metadata?.namespace ?? ''),
      );
      if (!acceptance) return failed('User pod found in a system namespace.', target);
      return acceptedFinding(
        acceptance,
        acceptance.status === 'Passed'
          ? 'System pod in a system namespace.'
          : 'User pod in a system namespace is accepted.',
        target,
      );
    });
  },
});
