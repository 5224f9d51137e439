// 2008: pods do not mount host directories (hostPath volumes). One pod per owner is checked; the scanner's ops
// pods, which need the host, are skipped.
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

export const rule2008 = defineRule({
  id: '2008',
  name: 'Pods must not mount host directories.',
  severity: 'High',
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
          scope.namespaceLabels(pod),
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
