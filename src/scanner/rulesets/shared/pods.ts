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

/** What rules that check pod specs report when the cluster has no pods. */
export const NO_PODS = 'There are no Pods in the cluster.';

/** The pods a pod-spec rule checks, with their targets and namespace labels. */
export interface PodScope {
  /** One pod per owner, in list order. */
  pods: V1Pod[];
  target(pod: V1Pod): Target;
  namespaceLabels(pod: V1Pod): Record<string, string>;
}

/**
 * The pods a rule that checks pod specs looks at: one per owner, each with a target naming its top-level owner
 * and the labels of its namespace. Undefined when the cluster has no pods (such rules then pass with NO_PODS).
 */
export async function podsToCheck(objects: ObjectSource): Promise<PodScope | undefined> {
  const pods = await objects.list<V1Pod>(Kinds.pods);
  if (pods.length === 0) return undefined;
  const [labels, replicaSets] = await Promise.all([
    namespaceLabels(objects),
    objects.list<V1ReplicaSet>(Kinds.replicaSets),
  ]);
  const index = indexReplicaSets(replicaSets);
  return {
    pods: onePodPerOwner(pods),
    target: (pod) => podTarget(pod, index),
    namespaceLabels: (pod) => labels.get(pod.metadata?.namespace ?? '') ?? {},
  };
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
