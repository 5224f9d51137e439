// The least privilege a scan needs, derived from the kinds the scanner reads: list on each of them, the
// kubelet's configz through node proxy, and what the node-file rules need to run short-lived ops pods.
import { Kinds } from './objects/kinds.ts';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Rules of a ClusterRole that lets `argus scan` run every ruleset. */
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
    // Ops pods for node-file rules: created, exec'd into and deleted by the scanner.
    { apiGroups: [''], resources: ['pods'], verbs: ['create', 'delete'] },
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
