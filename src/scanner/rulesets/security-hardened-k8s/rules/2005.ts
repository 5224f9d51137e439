// 2005: container images come from trusted places: the image each container actually runs (the image ID in
// its status, which pins the digest) starts with one of the `allowedImages` prefixes. Regular and init
// containers of one pod per owner are checked. Without allowed prefixes the rule fails outright.
import type { V1ContainerStatus } from '@kubernetes/client-node';
import Type from 'typebox';
import { defineRule } from '../../../engine/rule.ts';
import { errored, failed, passed, warning, type CheckResult } from '../../../engine/result.ts';
import { NO_PODS, podsToCheck } from '../../shared/pods.ts';

const Options = Type.Object(
  {
    allowedImages: Type.Array(Type.Object({ prefix: Type.String({ minLength: 1 }) }, { additionalProperties: false }), {
      minItems: 1,
    }),
  },
  { additionalProperties: false },
);

export const rule2005 = defineRule({
  id: '2005',
  name: 'Container images must come from trusted repositories.',
  severity: 'High',
  options: Options,
  async run(ctx) {
    const prefixes = ctx.options?.allowedImages.map((a) => a.prefix);
    if (!prefixes) return [failed('No trusted image prefixes are configured (rule option allowedImages).')];
    const scope = await podsToCheck(ctx.objects);
    if (!scope) return [passed(NO_PODS)];
    const results: CheckResult[] = [];
    for (const pod of scope.pods) {
      const target = scope.target(pod);
      const statuses: V1ContainerStatus[] = [
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.initContainerStatuses ?? []),
      ];
      for (const container of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
        const containerTarget = { ...target, container: container.name };
        const status = statuses.find((s) => s.name === container.name);
        if (!status) {
          results.push(errored('Container has no status to read its running image from.', containerTarget));
          continue;
        }
        if (!status.imageID) {
          results.push(warning('Container status has no image ID yet.', containerTarget));
          continue;
        }
        const imageTarget = { ...containerTarget, imageRef: status.imageID };
        results.push(
          prefixes.some((prefix) => status.imageID.startsWith(prefix))
            ? passed('Image starts with a trusted prefix.', imageTarget)
            : failed('Image does not start with a trusted prefix.', imageTarget),
        );
      }
    }
    return results;
  },
});
