// Pod helpers shared by rulesets: one pod per owner (pods of one controller share a spec, so checking one is
// enough, as diki does), targets that name the pod and its top-level owner, and namespace labels.
import type { V1Namespace, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import type { ObjectSource } from '../../objects/source.ts';
import { Kinds } from '../../objects/kinds.ts';
import type { Target } from '../../engine/result.ts';

/** The label diki puts on its privileged ops pods; rules skip these pods instead of flagging them. */
export const OPS_POD_ROLE_LABEL = 'compliance.gardener.cloud/role';
export const OPS_POD_ROLE = 'diki-privileged-pod';

export const isOpsPod = (pod: V1Pod): boolean => pod.metadata?.labels?.[OPS_POD_ROLE_LABEL] === OPS_POD_ROLE;

/** Pods without owners are all kept; of pods with an owner, the first per owner UID. */
export function onePodPerOwner(pods: V1Pod[]): V1Pod[] {
  const seen = new Set<string>();
  const result: V1Pod[] = [];
  for (const pod of pods) {
    const owner = pod.metadata?.ownerReferences?.[0];
    if (!owner) {
      result.push(pod);
      continue;
    }
    if (seen.has(owner.uid)) continue;
    seen.add(owner.uid);
    result.push(pod);
  }
  return result;
}

/** Index of ReplicaSets by UID, to name a Deployment as the owner of its pods. */
export type ReplicaSetIndex = Map<string, V1ReplicaSet>;

export function indexReplicaSets(replicaSets: V1ReplicaSet[]): ReplicaSetIndex {
  return new Map(replicaSets.map((rs) => [rs.metadata?.uid ?? '', rs]));
}

/** `{kind: 'Pod', name, namespace}` plus the pod's top-level owner (a Deployment rather than its ReplicaSet). */
export function podTarget(pod: V1Pod, replicaSets?: ReplicaSetIndex): Target {
  const target: Target = { kind: 'Pod', name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '' };
  const owner = pod.metadata?.ownerReferences?.[0];
  if (!owner) return target;
  let { kind, name } = owner;
  if (kind === 'ReplicaSet') {
    const rsOwner = replicaSets?.get(owner.uid)?.metadata?.ownerReferences?.[0];
    if (rsOwner) ({ kind, name } = rsOwner);
  }
  return { ...target, ownerKind: kind, ownerName: name };
}

/** Namespace labels by namespace name. */
export async function namespaceLabels(objects: ObjectSource): Promise<Map<string, Record<string, string>>> {
  const namespaces = await objects.list<V1Namespace>(Kinds.namespaces);
  return new Map(namespaces.map((ns) => [ns.metadata?.name ?? '', ns.metadata?.labels ?? {}]));
}

/** Every container of a pod spec: init, regular and ephemeral. */
export function allContainers(pod: V1Pod): { name: string; image?: string | undefined; kind: string }[] {
  const spec = pod.spec;
  if (!spec) return [];
  return [
    ...(spec.initContainers ?? []).map((c) => ({ ...c, kind: 'initContainer' })),
    ...spec.containers.map((c) => ({ ...c, kind: 'container' })),
    ...(spec.ephemeralContainers ?? []).map((c) => ({ ...c, kind: 'ephemeralContainer' })),
  ];
}
