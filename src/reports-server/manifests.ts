// The Kubernetes objects that run the reports API server in a cluster: ServiceAccount and the RBAC an
// aggregated API server needs (system:auth-delegator for TokenReview and SubjectAccessReview, the
// extension-apiserver-authentication-reader Role in kube-system, namespaces for the NamespaceLifecycle
// check), ClusterRoles that extend view/edit/admin to the report types (view also to the analytics), the
// Service, the Deployment and one APIService per group-version. `argus reports-server manifests` prints
// them as YAML.
import { stringify } from 'yaml';
import { reportTypes } from '../api/reports/index.ts';
import { ANALYTICS_GROUP, ANALYTICS_VERSION } from './http/analytics.ts';

export interface ManifestOptions {
  namespace?: string;
  image?: string;
  /** PEM of the CA that signed the serving certificate (the APIServices' caBundle). */
  caBundle: string;
  /** Secret (type kubernetes.io/tls) with the serving certificate; default `argus-reports-server-tls`. */
  tlsSecret?: string;
  /** `sqlite` (default: one replica on a PersistentVolumeClaim) or a `postgres://` URL without password. */
  storage?: string;
  /** Secret with key `password` for PostgreSQL (sets PGPASSWORD). */
  postgresPasswordSecret?: string;
  replicas?: number;
  clusterName?: string;
}

export const NAME = 'argus-reports-server';
type Manifest = Record<string, unknown>;

export function reportsServerManifests(options: ManifestOptions): Manifest[] {
  const namespace = options.namespace ?? 'argus-system';
  const image = options.image ?? 'ghcr.io/argus/argus:latest';
  const sqlite = !options.storage || options.storage === 'sqlite';
  const replicas = sqlite ? 1 : (options.replicas ?? 2);
  const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/part-of': 'argus' };
  const meta = (name: string, ns?: string) => ({ name, ...(ns ? { namespace: ns } : {}), labels });
  const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace }];
  const namespaced = reportTypes.filter((t) => t.namespaced);
  const reportRule = (types: typeof reportTypes, verbs: string[]) => ({
    apiGroups: [...new Set(types.map((t) => t.group))],
    resources: types.map((t) => t.resource),
    verbs,
  });
  const aggregate = (role: 'view' | 'edit' | 'admin', verbs: string[]): Manifest => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: {
      name: `argus-reports-${role}`,
      labels: { ...labels, [`rbac.authorization.k8s.io/aggregate-to-${role}`]: 'true' },
    },
    rules: [reportRule(namespaced, verbs)],
  });
  const args = [
    'reports-server',
    `--storage=${sqlite ? 'sqlite:/var/lib/argus/reports.db' : options.storage}`,
    '--secure-port=6443',
    '--tls-cert-file=/etc/argus/tls/tls.crt',
    '--tls-private-key-file=/etc/argus/tls/tls.key',
    ...(options.clusterName ? [`--cluster-name=${options.clusterName}`] : []),
  ];
  const probe = (path: string) => ({ httpGet: { path, port: 6443, scheme: 'HTTPS' }, periodSeconds: 10 });
  const manifests: Manifest[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(NAME, namespace) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(`${NAME}:system:auth-delegator`),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${NAME}:extension-apiserver-authentication-reader`, 'kube-system'),
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      },
      subjects,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta(NAME),
      rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(NAME),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects,
    },
    aggregate('view', ['get', 'list', 'watch']),
    {
      // Analytics (results, summaries): rows are limited to the reports the caller may list anyway.
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: {
        name: 'argus-reports-analytics-view',
        labels: { ...labels, 'rbac.authorization.k8s.io/aggregate-to-view': 'true' },
      },
      rules: [{ apiGroups: [ANALYTICS_GROUP], resources: ['results', 'summaries'], verbs: ['list'] }],
    },
    aggregate('edit', ['create', 'update', 'patch', 'delete', 'deletecollection']),
    aggregate('admin', ['create', 'update', 'patch', 'delete', 'deletecollection']),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(NAME, namespace),
      spec: { selector: { 'app.kubernetes.io/name': NAME }, ports: [{ name: 'https', port: 443, targetPort: 6443 }] },
    },
  ];
  if (sqlite) {
    manifests.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: meta(`${NAME}-data`, namespace),
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  }
  manifests.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(NAME, namespace),
    spec: {
      replicas,
      // SQLite: one writer on one volume, so the old pod goes before the new one starts.
      strategy: sqlite ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } },
      selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: NAME,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'reports-server',
              image,
              args,
              ports: [{ name: 'https', containerPort: 6443 }],
              ...(!sqlite && options.postgresPasswordSecret
                ? {
                    env: [
                      {
                        name: 'PGPASSWORD',
                        valueFrom: { secretKeyRef: { name: options.postgresPasswordSecret, key: 'password' } },
                      },
                    ],
                  }
                : {}),
              readinessProbe: probe('/readyz'),
              livenessProbe: { ...probe('/livez'), failureThreshold: 6 },
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'tls', mountPath: '/etc/argus/tls', readOnly: true },
                ...(sqlite ? [{ name: 'data', mountPath: '/var/lib/argus' }] : []),
              ],
            },
          ],
          volumes: [
            { name: 'tls', secret: { secretName: options.tlsSecret ?? `${NAME}-tls` } },
            ...(sqlite ? [{ name: 'data', persistentVolumeClaim: { claimName: `${NAME}-data` } }] : []),
          ],
        },
      },
    },
  });
  const groupVersions = [
    ...new Map(reportTypes.map((t) => [`${t.version}.${t.group}`, { group: t.group, version: t.version }])).values(),
    { group: ANALYTICS_GROUP, version: ANALYTICS_VERSION },
  ];
  for (const t of groupVersions) {
    manifests.push({
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: `${t.version}.${t.group}`, labels },
      spec: {
        group: t.group,
        version: t.version,
        service: { namespace, name: NAME, port: 443 },
        caBundle: Buffer.from(options.caBundle).toString('base64'),
        groupPriorityMinimum: 1000,
        versionPriority: 15,
      },
    });
  }
  return manifests;
}

/** The manifests as one multi-document YAML text. */
export const manifestsYaml = (manifests: Manifest[]): string =>
  manifests.map((m) => `---\n${stringify(m, { lineWidth: 0 })}`).join('');
