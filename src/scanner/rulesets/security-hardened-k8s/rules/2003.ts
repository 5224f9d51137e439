// 2003: pods use only volume types that keep them off the node's and the provider's storage internals:
// configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret. One pod per
// owner is checked; the scanner's ops pods (which mount the host) are skipped.
import type { V1Volume } from '@kubernetes/client-node';
import Type from 'typebox';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed, skipped, type CheckResult } from '../../../engine/result.ts';
import { isOpsPod, NO_PODS, podsToCheck } from '../../shared/pods.ts';
import { AcceptedPodVolumesSchema, validateAcceptedPodVolumes, volumeAcceptanceOf } from './common.ts';
import { acceptedFinding } from '../../shared/selectors.ts';

const Options = Type.Object(
  { acceptedPods: Type.Optional(Type.Array(AcceptedPodVolumesSchema)) },
  { additionalProperties: false },
);

export const ALLOWED_VOLUME_TYPES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
] as const;

const usesAllowedType = (volume: V1Volume): boolean =>
  ALLOWED_VOLUME_TYPES.some((type) => volume[type] !== undefined && volume[type] !== null);

export const rule2003 = defineRule({
  id: '2003',
  name: 'Pods should use only allowed volume types.',
  severity: 'Medium',
  options: Options,
  validate: (options, path) => validateAcceptedPodVolumes(options.acceptedPods, `${path}.acceptedPods`),
  async run(ctx) {
    const scope = await podsToCheck(ctx.objects);
    if (!scope) return [passed(NO_PODS)];
    const results: CheckResult[] = [];
    for (const pod of scope.pods) {
      const target = scope.target(pod);
      if (isOpsPod(pod)) {
        results.push(skipped('Ops pods of the scanner mount host directories by design.', target));
        continue;
      }
      const disallowed = (pod.spec?.volumes ?? []).filter((v) => !usesAllowedType(v));
      if (disallowed.length === 0) {
        results.push(passed('Pod uses only allowed volume types.', target));
        continue;
      }
      for (const volume of disallowed) {
        const volumeTarget = { ...target, volume: volume.name };
        const acceptance = volumeAcceptanceOf(
          ctx.options?.acceptedPods,
          pod.metadata?.labels,
          scope.namespaceLabels(pod),
          volume.name,
        );
        results.push(
          acceptance
            ? acceptedFinding(acceptance, 'Volume of a type that is not allowed is accepted.', volumeTarget)
            : failed('Volume type is not allowed.', volumeTarget),
        );
      }
    }
    return results;
  },
});
