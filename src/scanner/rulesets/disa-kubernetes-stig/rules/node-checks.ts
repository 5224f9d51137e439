// What the node-level DISA STIG rules share: running a check on each selected node through its ops pod,
// file permission and owner checks with diki's target details, and the kube-proxy pods whose files some
// rules inspect (found by label, one per owner, their container paths mapped to paths on the node).
import type { V1Container, V1Node, V1Pod, V1ReplicaSet, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { errorMessage } from '../../../../util/log.ts';
import { errored, failed, passed, type CheckResult, type Target } from '../../../engine/result.ts';
import type { RuleContext } from '../../../engine/rule.ts';
import { withNodeAccess, type NodeAccess } from '../../../nodes/access.ts';
import { mapLimit } from '../../../nodes/limit.ts';
import type { NodeInspector } from '../../../nodes/node-inspector.ts';
import { exceedsPermissions, flagValues, type FileStat } from '../../../nodes/parse.ts';
import { nodeTarget, opsPodCapacity, placePodsPerOwner, selectNodes } from '../../../nodes/selection.ts';
import { Kinds } from '../../../objects/kinds.ts';
import { indexReplicaSets, podTarget } from '../../shared/pods.ts';
import { listInOrder, selects, type ObjectSelector } from './common.ts';

/** Nodes a rule works on at once. */
const NODE_CONCURRENCY = 10;

/** Lists pods and nodes; a read error names the kind that failed first (pods, as diki lists them first). */
async function podsAndNodes(ctx: RuleContext): Promise<{ pods: V1Pod[]; nodes: V1Node[] }> {
  const [pods, nodes] = (await listInOrder<unknown[]>([
    ctx.objects.list<V1Pod>(Kinds.pods),
    ctx.objects.list<V1Node>(Kinds.nodes),
  ])) as [V1Pod[], V1Node[]];
  return { pods, nodes };
}

/**
 * Runs `check` on every node the rule selects (all usable nodes, or one per group of `groupByLabels`), at
 * most NODE_CONCURRENCY at once; a node whose check throws is Errored, the others go on.
 */
export async function checkSelectedNodes(
  ctx: RuleContext,
  groupByLabels: readonly string[] | undefined,
  check: (inspector: NodeInspector, target: Target, access: NodeAccess) => Promise<CheckResult[]>,
): Promise<CheckResult[]> {
  const { pods, nodes } = await podsAndNodes(ctx);
  const selection = selectNodes(nodes, pods, groupByLabels);
  if (selection.nodes.length === 0) return selection.checks;
  return withNodeAccess(ctx, async (access) => {
    const results = await mapLimit(selection.nodes, NODE_CONCURRENCY, async (node) => {
      const name = node.metadata?.name ?? '';
      const target = nodeTarget(name);
      try {
        return await check(access.inspector(name), target, access);
      } catch (err) {
        ctx.signal.throwIfAborted();
        return [errored(errorMessage(err), target)];
      }
    });
    return [...selection.checks, ...results.flat()];
  });
}

const details = (target: Target, text: string): Target => ({ ...target, details: text });

/** Passed when the file's permissions stay within `max` (octal, e.g. 644), Failed otherwise. */
export function permissionCheck(stat: FileStat, max: string, target: Target): CheckResult {
  let wider: boolean;
  try {
    wider = exceedsPermissions(stat.permissions, max);
  } catch (err) {
    return errored(errorMessage(err), details(target, `fileName: ${stat.path}`));
  }
  if (wider)
    return failed(
      'The file permissions are wider than allowed.',
      details(target, `fileName: ${stat.path}, permissions: ${stat.permissions}, expectedPermissionsMax: ${max}`),
    );
  return passed(
    'The file permissions are within the allowed maximum.',
    details(target, `fileName: ${stat.path}, permissions: ${stat.permissions}`),
  );
}

/** One Failed check per owner (user, group) that is not expected, or one Passed check. */
export function ownerChecks(
  stat: FileStat,
  expected: { users: readonly string[]; groups: readonly string[] },
  target: Target,
): CheckResult[] {
  const checks: CheckResult[] = [];
  if (!expected.users.includes(stat.uid))
    checks.push(
      failed(
        'The file is owned by a user that is not expected.',
        details(
          target,
          `fileName: ${stat.path}, ownerUser: ${stat.uid}, expectedOwnerUsers: [${expected.users.join(' ')}]`,
        ),
      ),
    );
  if (!expected.groups.includes(stat.gid))
    checks.push(
      failed(
        'The file is owned by a group that is not expected.',
        details(
          target,
          `fileName: ${stat.path}, ownerGroup: ${stat.gid}, expectedOwnerGroups: [${expected.groups.join(' ')}]`,
        ),
      ),
    );
  if (checks.length === 0)
    checks.push(
      passed(
        'The file has the expected owners.',
        details(target, `fileName: ${stat.path}, ownerUser: ${stat.uid}, ownerGroup: ${stat.gid}`),
      ),
    );
  return checks;
}

/** The only value of a flag: undefined when absent; throws when given more than once. */
export function singleFlag(argv: readonly string[], flag: string, component: string): string | undefined {
  const values = flagValues(argv, flag);
  if (values.length > 1) throw new Error(`The ${component} flag --${flag} is set more than once.`);
  return values[0];
}

/** The directory of a file path. */
export const dirOf = (path: string): string => {
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
};

// --- kube-proxy ---------------------------------------------------------------------------------------

export const NO_KUBE_PROXY_PODS = 'No kube-proxy pods found.';
export const KUBE_PROXY_SKIPPED = 'kube-proxy is not checked: the rule options say the cluster runs none.';
export const KUBE_PROXY_CONTAINERS = ['kube-proxy', 'proxy'];
const DEFAULT_KUBELET_ROOT = '/var/lib/kubelet';

/** A kube-proxy pod and what rules need to look at its files on its node. */
export interface KubeProxyPod {
  pod: V1Pod;
  target: Target;
  inspector: NodeInspector;
  access: NodeAccess;
}

/**
 * Runs `check` on one kube-proxy pod per owner (selected by `selector`, default `role: proxy`), each through
 * the ops pod of the node it runs on. No kube-proxy pod at all is an Errored check, as in diki; a pod whose
 * check throws is Errored, the others go on.
 */
export async function checkKubeProxyPods(
  ctx: RuleContext,
  selector: ObjectSelector | undefined,
  check: (proxy: KubeProxyPod) => Promise<CheckResult[]>,
): Promise<CheckResult[]> {
  const { pods, nodes } = await podsAndNodes(ctx);
  const proxies = pods.filter((p) => selects(selector, p.metadata?.labels));
  if (proxies.length === 0) return [errored(NO_KUBE_PROXY_PODS)];
  const replicaSets = indexReplicaSets(await ctx.objects.list<V1ReplicaSet>(Kinds.replicaSets));
  const target = (pod: V1Pod): Target => podTarget(pod, replicaSets);
  const placement = placePodsPerOwner(proxies, opsPodCapacity(nodes, pods), target);
  if (placement.byNode.size === 0) return placement.checks;
  return withNodeAccess(ctx, async (access) => {
    const results = await mapLimit([...placement.byNode], NODE_CONCURRENCY, async ([node, nodePods]) => {
      const inspector = access.inspector(node);
      const checks: CheckResult[] = [];
      for (const pod of nodePods) {
        try {
          checks.push(...(await check({ pod, target: target(pod), inspector, access })));
        } catch (err) {
          ctx.signal.throwIfAborted();
          checks.push(errored(errorMessage(err), target(pod)));
        }
      }
      return checks;
    });
    return [...placement.checks, ...results.flat()];
  });
}

/** The kube-proxy container of a pod (named `kube-proxy` or `proxy`) and its command line. */
export function kubeProxyContainer(pod: V1Pod): { container: V1Container; argv: string[] } {
  for (const name of KUBE_PROXY_CONTAINERS) {
    const container = pod.spec?.containers.find((c) => c.name === name);
    if (container) return { container, argv: [...(container.command ?? []), ...(container.args ?? [])] };
  }
  throw new Error(`The pod has no container named ${KUBE_PROXY_CONTAINERS.join(' or ')}.`);
}

/** The kubelet's root directory on the node (`--root-dir`, default /var/lib/kubelet). */
export async function kubeletRootDir(inspector: NodeInspector, access: NodeAccess): Promise<string> {
  try {
    const { argv } = await inspector.kubelet(access.policy);
    return singleFlag(argv, 'root-dir', 'kubelet') || DEFAULT_KUBELET_ROOT;
  } catch {
    return DEFAULT_KUBELET_ROOT;
  }
}

/** Where the kubelet keeps a pod volume of these kinds (below `<root>/pods/<uid>/volumes/`). */
const POD_VOLUME_PLUGINS: [keyof V1Volume, string][] = [
  ['configMap', 'kubernetes.io~configmap'],
  ['secret', 'kubernetes.io~secret'],
  ['projected', 'kubernetes.io~projected'],
  ['emptyDir', 'kubernetes.io~empty-dir'],
  ['downwardAPI', 'kubernetes.io~downward-api'],
];

/**
 * Where a volume mount of a pod comes from on its node: the hostPath, or the kubelet's directory of the pod
 * volume (ConfigMap, Secret, projected, emptyDir, downward API); undefined for other volume types.
 */
export function mountSource(pod: V1Pod, mount: V1VolumeMount, kubeletRoot: string): string | undefined {
  const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
  if (!volume) return undefined;
  let base: string | undefined;
  if (volume.hostPath) base = volume.hostPath.path;
  else {
    const plugin = POD_VOLUME_PLUGINS.find(([field]) => volume[field] !== undefined)?.[1];
    if (plugin) base = `${kubeletRoot}/pods/${pod.metadata?.uid ?? ''}/volumes/${plugin}/${volume.name}`;
  }
  if (base === undefined) return undefined;
  const subPath = mount.subPath?.replace(/^\/+/, '');
  return subPath ? `${base.replace(/\/+$/, '')}/${subPath}` : base;
}

/**
 * The node path of a path inside a container: through the volume mount with the longest mountPath that
 * contains it. Throws when no mount contains it or its volume has no node path.
 */
export function containerPathOnNode(pod: V1Pod, container: V1Container, path: string, kubeletRoot: string): string {
  const mounts = (container.volumeMounts ?? [])
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/+$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
  const mount = mounts[0];
  if (!mount) throw new Error(`No volume of container ${container.name} contains ${path}.`);
  const source = mountSource(pod, mount, kubeletRoot);
  if (source === undefined) throw new Error(`The volume ${mount.name} that holds ${path} has no path on the node.`);
  return `${source.replace(/\/+$/, '')}${path.slice(mount.mountPath.replace(/\/+$/, '').length)}`;
}

/** Volumes diki leaves out when it walks the files mounted into kube-proxy (host trees, not kube-proxy's PKI). */
const EXCLUDED_HOST_SOURCES = new Set([
  '/lib/modules',
  '/usr/share/ca-certificates',
  '/var/log/journal',
  '/var/run/dbus/system_bus_socket',
]);

/** A regular file mounted into a container of a kube-proxy pod. */
export interface MountedFile {
  container: string;
  stat: FileStat;
}

/**
 * Every regular file in the volumes the pod's containers mount (init containers too), except the host trees
 * diki excludes and the termination log; `problems` names mounted sources that are not on the node.
 */
export async function mountedFiles(proxy: KubeProxyPod): Promise<{ files: MountedFile[]; problems: string[] }> {
  const { pod, inspector, access } = proxy;
  const root = await kubeletRootDir(inspector, access);
  const files: MountedFile[] = [];
  const problems: string[] = [];
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const container of containers)
    for (const mount of container.volumeMounts ?? []) {
      if (mount.mountPath === '/dev/termination-log') continue;
      const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
      if (volume?.hostPath && EXCLUDED_HOST_SOURCES.has(volume.hostPath.path)) continue;
      const source = mountSource(pod, mount, root);
      if (source === undefined) continue;
      const stats = await inspector.filesUnder(source, access.policy);
      if (stats === undefined)
        problems.push(`The source ${source} of volume ${mount.name} (container ${container.name}) is not on the node.`);
      for (const stat of stats ?? []) files.push({ container: container.name, stat });
    }
  return { files, problems };
}
