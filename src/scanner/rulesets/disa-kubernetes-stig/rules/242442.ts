// 242442: old versions of components are removed once updated ones run. diki checks the component it can see
// on every node, kube-proxy: on one node, all kube-proxy containers of the same image repository must run the
// same image (by the image ID the runtime reports). An image listed in `expectedVersionedImages` may run in
// several versions (Warning instead of Failed).
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import Type, { type Static } from 'typebox';
import type { FieldError } from '../../../../api/validation.ts';
import { errorMessage } from '../../../../util/log.ts';
import { defineRule } from '../../../engine/rule.ts';
import { errored, failed, passed, warning, type CheckResult, type Target } from '../../../engine/result.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { ObjectSelectorSchema, selects, validateObjectSelector } from './common.ts';
import { imageRepository } from './image-reference.ts';

const Options = Type.Object(
  {
    /** Which pods are kube-proxy (default `role: proxy`). */
    kubeProxy: Type.Optional(ObjectSelectorSchema),
    /** Image repositories that may legitimately run in more than one version on a node. */
    expectedVersionedImages: Type.Optional(
      Type.Array(Type.Object({ name: Type.String() }, { additionalProperties: false })),
    ),
  },
  { additionalProperties: false },
);

function validateOptions(options: Static<typeof Options>, path: string): FieldError[] {
  const errors = validateObjectSelector(options.kubeProxy, `${path}.kubeProxy`);
  const images = options.expectedVersionedImages;
  if (images?.length === 0) errors.push({ field: `${path}.expectedVersionedImages`, message: 'must not be empty' });
  images?.forEach((image, i) => {
    if (image.name === '')
      errors.push({ field: `${path}.expectedVersionedImages[${i}].name`, message: 'must not be empty' });
  });
  return errors;
}

export const rule242442 = defineRule({
  id: '242442',
  name: 'Kubernetes must remove old components after updated versions have been installed.',
  severity: 'Medium',
  options: Options,
  validate: validateOptions,
  async run(ctx) {
    const pods = await ctx.objects.list<V1Pod>(Kinds.pods);
    const proxies = pods.filter((p) => selects(ctx.options?.kubeProxy, p.metadata?.labels));
    if (proxies.length === 0) return [errored('No kube-proxy pods found.')];
    const expected = new Set((ctx.options?.expectedVersionedImages ?? []).map((i) => i.name));
    const byNode = Map.groupBy(proxies, (p) => p.spec?.nodeName ?? '');
    const checks: CheckResult[] = [];
    for (const [node, nodePods] of byNode) checks.push(...checkNode(node, nodePods, expected));
    return checks.length > 0 ? checks : [passed('Every component image runs in a single version per node.')];
  },
});

function checkNode(node: string, pods: V1Pod[], expected: Set<string>): CheckResult[] {
  const nodeTarget: Target = { kind: 'Node', name: node };
  const firstSeen = new Map<string, string>();
  const reported = new Set<string>();
  const checks: CheckResult[] = [];
  for (const pod of pods) {
    const statuses: V1ContainerStatus[] = [
      ...(pod.status?.containerStatuses ?? []),
      ...(pod.status?.initContainerStatuses ?? []),
    ];
    for (const container of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
      const containerTarget = {
        kind: 'Pod',
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        container: container.name,
      };
      const status = statuses.find((s) => s.name === container.name);
      if (!status) {
        checks.push(errored('The pod has no status for this container.', containerTarget));
        continue;
      }
      const imageID = status.imageID;
      if (!imageID) {
        checks.push(warning('The container status has no image ID.', containerTarget));
        continue;
      }
      let repository: string;
      try {
        repository = imageRepository(imageID);
      } catch (err) {
        checks.push(errored(errorMessage(err), { ...nodeTarget, imageRef: imageID }));
        continue;
      }
      const seen = firstSeen.get(repository);
      if (seen === undefined) {
        firstSeen.set(repository, imageID);
        continue;
      }
      if (seen === imageID || reported.has(repository)) continue;
      reported.add(repository);
      const target = { ...nodeTarget, image: repository };
      const message = 'The image runs in more than one version on the node.';
      checks.push(expected.has(repository) ? warning(message, target) : failed(message, target));
    }
  }
  return checks;
}
