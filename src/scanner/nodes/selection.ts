// Which nodes node-level rules look at, as diki chooses them. Every rule that inspects files or processes on
// nodes does so through a privileged ops pod, which needs a free pod slot (allocatable pods minus the pods
// bound to the node) on a Ready node. Without grouping labels every such node is checked; with
// `nodeGroupByLabels` one node per combination of the labels' values (the first usable one), on the
// assumption that nodes of one pool are configured alike. Nodes and groups that cannot be checked are
// reported with a Warning rather than silently left out; when no node at all can be checked the rule errs.
// Rules that look at the files of kube-proxy pods pick one pod per owner, preferring nodes already chosen.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { errored, warning, type CheckResult, type Target } from '../engine/result.ts';

export const NODE_NOT_READY = 'The node is not Ready; it is not checked.';
export const NODE_WITHOUT_POD_SLOT = 'The node has no free pod slot for an ops pod; it is not checked.';
export const NODE_WITHOUT_GROUP_LABEL = 'The node lacks a label it is grouped by; it is not checked.';
export const GROUP_WITHOUT_USABLE_NODE =
  'No node of this group is Ready with a free pod slot for an ops pod; the group is not checked.';
export const NO_NODE_SELECTED = 'No node can be checked: none is Ready with a free pod slot for an ops pod.';
export const POD_NOT_SCHEDULED = 'The pod is not scheduled to a node yet; it is not checked.';
export const POD_ON_UNUSABLE_NODE =
  'The pod runs on a node that cannot take an ops pod (not Ready, or no free pod slot); it is not checked.';
export const OWNER_ON_UNUSABLE_NODES =
  'Every pod of this owner runs on a node that cannot take an ops pod (not Ready, or no free pod slot); ' +
  'none of them is checked.';

export const nodeTarget = (name: string): Target => ({ kind: 'Node', name });

export function isNodeReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

const DECIMAL_SUFFIX: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };

/** A count-like resource quantity ("110", "1k", "2Ki", "1e3") as a whole number; 0 when absent or malformed. */
export function quantityCount(quantity: string | number | undefined): number {
  if (typeof quantity === 'number') return Math.floor(quantity);
  const match = /^([+-]?\d+(?:\.\d+)?)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|[kMGTPE])?)$/.exec(quantity?.trim() ?? '');
  if (!match) return 0;
  const [, number, exponent, suffix = ''] = match;
  const factor = exponent ? 10 ** Number(exponent.slice(1)) : (BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix] ?? 1);
  return Math.floor(Number(number) * factor);
}

/** Free pod slots per node name: allocatable pods minus the pods bound to the node (in any phase, as diki). */
export function freePodSlots(nodes: readonly V1Node[], pods: readonly V1Pod[]): Map<string, number> {
  const free = new Map<string, number>();
  for (const node of nodes) free.set(node.metadata?.name ?? '', quantityCount(node.status?.allocatable?.pods));
  for (const pod of pods) {
    const name = pod.spec?.nodeName;
    if (name) free.set(name, (free.get(name) ?? 0) - 1);
  }
  return free;
}

/** Pod slots an ops pod may use on each node: the free slots of Ready nodes, 0 elsewhere. */
export function opsPodCapacity(nodes: readonly V1Node[], pods: readonly V1Pod[]): Map<string, number> {
  const free = freePodSlots(nodes, pods);
  for (const node of nodes) if (!isNodeReady(node)) free.set(node.metadata?.name ?? '', 0);
  return free;
}

export interface NodeSelection {
  /** The nodes to check, sorted by name. */
  nodes: V1Node[];
  /** Warnings for nodes and groups left out, and an Errored check when no node is left. */
  checks: CheckResult[];
}

/** The nodes a node-level rule checks: all usable ones, or the first usable one per group of label values. */
export function selectNodes(
  nodes: readonly V1Node[],
  pods: readonly V1Pod[],
  groupByLabels: readonly string[] = [],
): NodeSelection {
  const free = freePodSlots(nodes, pods);
  const checks: CheckResult[] = [];
  const usable = (node: V1Node): boolean => isNodeReady(node) && (free.get(node.metadata?.name ?? '') ?? 0) > 0;
  const unusable = (node: V1Node): CheckResult =>
    warning(isNodeReady(node) ? NODE_WITHOUT_POD_SLOT : NODE_NOT_READY, nodeTarget(node.metadata?.name ?? ''));
  const selected: V1Node[] = [];
  if (groupByLabels.length === 0) {
    for (const node of nodes) {
      if (usable(node)) selected.push(node);
      else checks.push(unusable(node));
    }
  } else {
    const groups = new Map<string, V1Node[]>();
    for (const node of nodes) {
      const labels = node.metadata?.labels ?? {};
      const missing = groupByLabels.find((label) => !Object.hasOwn(labels, label));
      if (missing !== undefined) {
        checks.push(warning(NODE_WITHOUT_GROUP_LABEL, { ...nodeTarget(node.metadata?.name ?? ''), label: missing }));
        continue;
      }
      const key = groupByLabels.map((label) => `${label}=${labels[label]}`).join(',');
      groups.set(key, [...(groups.get(key) ?? []), node]);
    }
    for (const [key, members] of groups) {
      const chosen = members.find(usable);
      if (chosen) selected.push(chosen);
      else checks.push(warning(GROUP_WITHOUT_USABLE_NODE, { labels: key }));
    }
  }
  selected.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  if (selected.length === 0) checks.push(errored(NO_NODE_SELECTED));
  return { nodes: selected, checks };
}

export interface PodPlacement {
  /** Pods to check, by the node they run on (sorted by node name, pods by name). */
  byNode: Map<string, V1Pod[]>;
  /** Warnings for pods and owners left out. */
  checks: CheckResult[];
}

/**
 * One pod per owner (all pods without an owner), each on a node that can take an ops pod: pods on nodes
 * already chosen are preferred, then the node with the most free slots, so that few ops pods are needed.
 * Owners with fewer pods are placed first, as they leave fewer choices.
 */
export function placePodsPerOwner(
  pods: readonly V1Pod[],
  capacity: ReadonlyMap<string, number>,
  target: (pod: V1Pod) => Target,
): PodPlacement {
  const byNode = new Map<string, V1Pod[]>();
  const checks: CheckResult[] = [];
  const byOwner = new Map<string, V1Pod[]>();
  const slots = (node: string): number => capacity.get(node) ?? 0;
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node) {
      checks.push(warning(POD_NOT_SCHEDULED, target(pod)));
      continue;
    }
    const owner = pod.metadata?.ownerReferences?.[0];
    if (!owner) {
      if (slots(node) > 0) byNode.set(node, [...(byNode.get(node) ?? []), pod]);
      else checks.push(warning(POD_ON_UNUSABLE_NODE, { ...target(pod), node }));
      continue;
    }
    const key = `${owner.name}-${owner.uid}`;
    byOwner.set(key, [...(byOwner.get(key) ?? []), pod]);
  }
  const owners = [...byOwner.values()].sort((a, b) => a.length - b.length);
  for (const group of owners) {
    const onChosenNode = group.find((pod) => byNode.has(pod.spec?.nodeName ?? ''));
    if (onChosenNode) {
      const node = onChosenNode.spec?.nodeName ?? '';
      byNode.set(node, [...(byNode.get(node) ?? []), onChosenNode]);
      continue;
    }
    let best: V1Pod | undefined;
    for (const pod of group) {
      if (slots(pod.spec?.nodeName ?? '') > (best ? slots(best.spec?.nodeName ?? '') : 0)) best = pod;
    }
    if (!best) {
      const first = group[0]!;
      const owner = first.metadata!.ownerReferences![0]!;
      checks.push(
        warning(OWNER_ON_UNUSABLE_NODES, {
          kind: owner.kind,
          name: owner.name,
          namespace: first.metadata?.namespace ?? '',
        }),
      );
      continue;
    }
    byNode.set(best.spec?.nodeName ?? '', [best]);
  }
  const sorted = new Map(
    [...byNode.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([node, nodePods]) => [
        node,
        nodePods.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')),
      ]),
  );
  return { byNode: sorted, checks };
}
