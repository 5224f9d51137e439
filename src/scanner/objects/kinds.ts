// The kinds of object the scanner reads. Each is listed at most once per scan (objects/source.ts).
import { Resources, type ResourceType } from '../../kube/resources.ts';

const kind = (group: string, version: string, resource: string, kind: string, namespaced = true): ResourceType => ({
  group,
  version,
  resource,
  kind,
  namespaced,
});

export const Kinds = {
  namespaces: Resources.namespaces,
  nodes: Resources.nodes,
  pods: Resources.pods,
  services: Resources.services,
  serviceAccounts: Resources.serviceAccounts,
  configMaps: Resources.configMaps,
  endpoints: kind('', 'v1', 'endpoints', 'Endpoints'),
  persistentVolumes: kind('', 'v1', 'persistentvolumes', 'PersistentVolume', false),
  persistentVolumeClaims: kind('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim'),
  replicationControllers: kind('', 'v1', 'replicationcontrollers', 'ReplicationController'),
  deployments: kind('apps', 'v1', 'deployments', 'Deployment'),
  replicaSets: kind('apps', 'v1', 'replicasets', 'ReplicaSet'),
  statefulSets: kind('apps', 'v1', 'statefulsets', 'StatefulSet'),
  daemonSets: kind('apps', 'v1', 'daemonsets', 'DaemonSet'),
  jobs: Resources.jobs,
  cronJobs: kind('batch', 'v1', 'cronjobs', 'CronJob'),
  networkPolicies: kind('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy'),
  ingresses: kind('networking.k8s.io', 'v1', 'ingresses', 'Ingress'),
  storageClasses: kind('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false),
  roles: kind('rbac.authorization.k8s.io', 'v1', 'roles', 'Role'),
  clusterRoles: kind('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  roleBindings: kind('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding'),
  clusterRoleBindings: kind('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  validatingWebhookConfigurations: Resources.validatingWebhookConfigurations,
  mutatingWebhookConfigurations: Resources.mutatingWebhookConfigurations,
  horizontalPodAutoscalers: kind('autoscaling', 'v1', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler'),
} as const satisfies Record<string, ResourceType>;

/** Finds the scanner's kind for an object's apiVersion and kind (any version of the group), for snapshots. */
export function kindOf(apiVersion: string, kindName: string): ResourceType | undefined {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return Object.values(Kinds).find((k) => k.kind === kindName && k.group === group);
}

export const kindKey = (rt: ResourceType): string => `${rt.group || 'core'}/${rt.resource}`;
