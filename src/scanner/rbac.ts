// The least privilege a scan needs, derived from the kinds the scanner reads: a ClusterRole with list on each
// of them and the kubelet's configz through node proxy, and a Role in the ops pods' namespace for what the
// node-file rules do there: create their privileged ops pods, exec into them and delete them. A Role rather
// than cluster-wide rights, because `pods/exec` on every namespace would let the scanner into every
// workload's containers (and their secrets); the ops pods live in one namespace (the managedk8s provider arg
// `opsPodNamespace`, default kube-system), so exec is only granted there.
import { Kinds } from './objects/kinds.ts';
import { DEFAULT_OPS_POD_NAMESPACE } from './nodes/ops-pods.ts';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Rules of a ClusterRole that lets `argus scan` run every ruleset (reads, and configz through node proxy). */
export function scannerPolicyRules(): PolicyRule[] {
  const byGroup = new Map<string, Set<string>>();
  for (const kind of Object.values(Kinds)) {
    let resources = byGroup.get(kind.group);
    if (!resources) byGroup.set(kind.group, (resources = new Set()));
    resources.add(kind.resource);
  }
  return [
    ...[...byGroup].map(([group, resources]) => ({
      apiGroups: [group],
      resources: [...resources].sort(),
      verbs: ['get', 'list'],
    })),
    { apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] },
  ];
}

/**
 * Rules of the Role in the ops pods' namespace: the node-file rules create an ops pod per node, wait for it
 * (get, which the ClusterRole also grants), exec into it (a WebSocket upgrade authorized as get and create)
 * and delete it.
 */
export function opsPodPolicyRules(): PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete', 'get'] },
    { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
  ];
}

export function scannerClusterRole(name = 'argus-scanner'): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: scannerPolicyRules(),
  };
}

export function scannerOpsPodRole(
  name = 'argus-scanner-ops-pods',
  namespace = DEFAULT_OPS_POD_NAMESPACE,
): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace },
    rules: opsPodPolicyRules(),
  };
}

export interface RbacSubject {
  kind: 'ServiceAccount' | 'User' | 'Group';
  name: string;
  /** For a ServiceAccount. */
  namespace?: string;
}

/** Every object a scanner identity needs: the ClusterRole and the ops-pod Role, each with its binding. */
export function scannerRbac(
  subject: RbacSubject,
  {
    name = 'argus-scanner',
    opsPodNamespace = DEFAULT_OPS_POD_NAMESPACE,
  }: { name?: string; opsPodNamespace?: string } = {},
): Record<string, unknown>[] {
  const apiVersion = 'rbac.authorization.k8s.io/v1';
  const subjects = [
    subject.kind === 'ServiceAccount'
      ? { kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace ?? 'default' }
      : { apiGroup: 'rbac.authorization.k8s.io', kind: subject.kind, name: subject.name },
  ];
  const opsName = `${name}-ops-pods`;
  return [
    scannerClusterRole(name),
    {
      apiVersion,
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    },
    scannerOpsPodRole(opsName, opsPodNamespace),
    {
      apiVersion,
      kind: 'RoleBinding',
      metadata: { name: opsName, namespace: opsPodNamespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: opsName },
      subjects,
    },
  ];
}
