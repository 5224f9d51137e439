// 2008: pods do not mount host directories (hostPath volumes). One pod per owner is checked; the scanner's ops
// pods, which need the host, are skipped.
import type { V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import Type from 'typebox';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed, skipped, type CheckResult } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { indexReplicaSets, isOpsPod, namespaceLabels, onePodPerOwner, podTarget } from '../../shared/pods.ts';
import {
  acceptedFinding,
  AcceptedPodVolumesSchema,
  NO_PODS,
  validateAcceptedPodVolumes,
  volumeAcceptanceOf,
} from './common.ts';

const Options = Type.Object(
  { acceptedPods: Type.Optional(Type.Array(AcceptedPodVolumesSchema)) },
  { additionalProperties: false },
);

export const rule2008 = defineRule({
  id: '2008',
  name: 'Pods must not mount host directories.',
  severity: 'High',
  options: Options,
  validate: (options, path) => validateAcceptedPodVolumes(options.acceptedPods, `${path}.acceptedPods`),
  async run(ctx) {
    const pods = await ctx.objects.list<V1Pod>(Kinds.pods);
    if (pods.length === 0) return [passed(NO_PODS)];
    const [nsLabels, replicaSets] = await Promise.all([
      namespaceLabels(ctx.objects),
      ctx.objects.list<V1ReplicaSet>(Kinds.replicaSets),
    ]);
    const rsIndex = indexReplicaSets(replicaSets);
    const results: CheckResult[] = [];
    for (const pod of onePodPerOwner(pods)) {
      const target = podTarget(pod, rsIndex);
      if (isOpsPod(pod)) {
        results.push(skipped('Ops pods of the scanner mount host directories by design.', target));
        continue;
      }
      const hostPaths = (pod.spec?.volumes ?? []).filter((v) => v.hostPath !== undefined && v.hostPath !== null);
      if (hostPaths.length === 0) {
        results.push(passed('Pod mounts no host directories.', target));
        continue;
      }
      for (const volume of hostPaths) {
        const volumeTarget = { ...target, volume: volume.name };
        const acceptance = volumeAcceptanceOf(
          ctx.options?.acceptedPods,
          pod.metadata?.labels,
          nsLabels.get(pod.metadata?.namespace ?? ''),
          volume.name,
        );
        results.push(
          acceptance
            ? acceptedFinding(acceptance, 'hostPath volume is accepted for this pod.', volumeTarget)
            : failed('Pod mounts a host directory (hostPath volume).', volumeTarget),
        );
      }
    }
    return results;
  },
});
