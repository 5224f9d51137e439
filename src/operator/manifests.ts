// The Kubernetes objects that run the compliance operator (docs/adr/0016-compliance-operator.md) in its runner
// cluster: ServiceAccount, the RBAC of src/operator/rbac.ts (the runner namespace's Role always; the target's
// ClusterRole, token Role and the runner ServiceAccount's rights only when the target is the same cluster),
// the ConfigMap with the default scanner options, the Service of the webhooks and metrics, the Deployment
// (leader election, probes and metrics on 8081, webhooks on 9443), a PodDisruptionBudget, and the two webhook
// configurations of src/operator/webhooks (without caBundle: the operator applies it at runtime). The Helm
// chart deploy/helm/argus-operator renders the same objects: scripts/generate-chart.ts writes its RBAC and
// webhook templates from the functions here, and test/unit/operator/manifests-helm.test.ts compares the rest.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { version } from '../util/version.ts';
import { DEFAULT_JOB_SERVICE_ACCOUNT, DEFAULT_MAX_RUNNING_SCANS, WEBHOOK_CONFIGURATION_NAME } from './names.ts';
import { operatorRunnerRbac, operatorTargetRbac, parseServiceAccount } from './rbac.ts';
import { webhookConfigurations as operatorWebhookConfigurations } from './webhooks/configurations.ts';

export type Manifest = Record<string, unknown>;

export const OPERATOR_NAME = 'argus-operator';
export const DEFAULT_NAMESPACE = 'argus-system';
export const IMAGE_REPOSITORY = 'ghcr.io/argus-io/argus';
export const argusVersion = version;
export const DEFAULT_IMAGE = `${IMAGE_REPOSITORY}:${argusVersion}`;
export const DEFAULT_SCAN_TIMEOUT = '10m';

/** Probes (/healthz, /readyz) and /metrics. */
export const PROBE_PORT = 8081;
/** The admission webhooks (HTTPS), behind port 443 of the Service. */
export const WEBHOOK_PORT = 9443;
/** Where the Deployment mounts the target kubeconfig Secret (key `kubeconfig`) and the default options. */
export const TARGET_KUBECONFIG_DIR = '/etc/argus/target';
export const TARGET_KUBECONFIG_KEY = 'kubeconfig';
export const DEFAULT_OPTIONS_DIR = '/etc/argus/defaults';
export const DEFAULT_OPTIONS_KEY = 'config.yaml';

export const DEFAULT_RESOURCES = { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } };

export interface OperatorManifestOptions {
  /** Namespace of the operator's Deployment, ServiceAccount and Service (default argus-system). */
  namespace?: string;
  /** Name of the Deployment, ServiceAccount, Service and RBAC objects (default argus-operator). */
  name?: string;
  /** The Argus image of the operator and of its Jobs. */
  image?: string;
  imagePullPolicy?: string;
  /** Default 2, one of them leader. */
  replicas?: number;
  /** Namespace of the scan Jobs (default: `namespace`). */
  runnerNamespace?: string;
  /** Secret in `namespace` with key `kubeconfig` for a remote target; absent: the target is this cluster. */
  targetKubeconfigSecret?: string;
  /** `<namespace>/<name>` of the ServiceAccount on the target the Jobs act as. */
  jobServiceAccount?: string;
  /** `--scan-timeout`, a duration such as `10m`. */
  scanTimeout?: string;
  /** `--max-running-scans` (default DEFAULT_MAX_RUNNING_SCANS; 0: no limit). */
  maxRunningScans?: number;
  /** A diki configuration (YAML), the defaults every scan's options are merged over. */
  defaultOptions?: string;
  /**
   * Serve the admission webhooks (default true); with the target in this cluster also create their
   * configurations (with a remote target the operator applies them there).
   */
  webhooks?: boolean;
  /** Base URL of the webhooks for a remote target (default `https://<name>.<namespace>.svc`). */
  webhookUrl?: string;
  /** Container port of the webhooks (default 9443) and of probes and metrics (default 8081). */
  webhookPort?: number;
  probePort?: number;
  resources?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
  affinity?: Record<string, unknown>;
}

/** Labels of every object; the first two also select the pods. */
export function operatorLabels(name = OPERATOR_NAME): Record<string, string> {
  return { ...selectorLabels(name), 'app.kubernetes.io/part-of': 'argus' };
}

export function selectorLabels(name = OPERATOR_NAME): Record<string, string> {
  return { 'app.kubernetes.io/name': OPERATOR_NAME, 'app.kubernetes.io/instance': name };
}

/** The operator's RBAC objects: in the runner namespace, and on the target when it is this cluster. */
export function operatorRbacManifests(options: {
  name: string;
  namespace: string;
  runnerNamespace: string;
  jobServiceAccount: string;
  sameCluster: boolean;
}): { runner: Manifest[]; target: Manifest[] } {
  const operator = { kind: 'ServiceAccount' as const, name: options.name, namespace: options.namespace };
  const labelled = (objects: Record<string, unknown>[]) => objects.map((o) => withLabels(o, options.name));
  return {
    runner: labelled(operatorRunnerRbac({ name: options.name, operator, runnerNamespace: options.runnerNamespace })),
    target: options.sameCluster
      ? labelled(operatorTargetRbac({ name: options.name, operator, jobServiceAccount: options.jobServiceAccount }))
      : [],
  };
}

/**
 * The two webhook configurations of src/operator/webhooks/configurations.ts for the operator's Service, without
 * caBundle: the chart creates them, so that helm uninstall removes them, and the operator server-side applies
 * the CA bundle (and its own managed-by label) at runtime.
 */
export function webhookConfigurations(
  service: { namespace: string; name: string },
  labels: Record<string, string>,
): Manifest[] {
  return operatorWebhookConfigurations({ service }, '').map((configuration) => ({
    ...configuration,
    metadata: { name: WEBHOOK_CONFIGURATION_NAME, labels },
    webhooks: configuration.webhooks.map((webhook) => {
      const { caBundle: _, ...clientConfig } = webhook.clientConfig as Record<string, unknown>;
      return { ...webhook, clientConfig };
    }),
  }));
}

/** The arguments of `argus operator` in the Deployment. */
export function operatorArgs(options: OperatorManifestOptions): string[] {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const name = options.name ?? OPERATOR_NAME;
  const webhooks = options.webhooks ?? true;
  return [
    'operator',
    `--runner-namespace=${options.runnerNamespace || namespace}`,
    `--image=${options.image ?? DEFAULT_IMAGE}`,
    `--image-pull-policy=${options.imagePullPolicy ?? 'IfNotPresent'}`,
    `--job-service-account=${options.jobServiceAccount ?? DEFAULT_JOB_SERVICE_ACCOUNT}`,
    `--scan-timeout=${options.scanTimeout ?? DEFAULT_SCAN_TIMEOUT}`,
    `--max-running-scans=${options.maxRunningScans ?? DEFAULT_MAX_RUNNING_SCANS}`,
    ...(options.targetKubeconfigSecret
      ? [`--target-kubeconfig=${TARGET_KUBECONFIG_DIR}/${TARGET_KUBECONFIG_KEY}`]
      : []),
    ...(options.defaultOptions ? [`--default-options=${DEFAULT_OPTIONS_DIR}/${DEFAULT_OPTIONS_KEY}`] : []),
    '--leader-elect',
    `--health-probe-bind-address=:${options.probePort ?? PROBE_PORT}`,
    ...(webhooks
      ? [
          `--webhook-port=${options.webhookPort ?? WEBHOOK_PORT}`,
          // The target's API server calls the Service, or with a remote target a URL (for a Gardener shoot, whose
          // API server runs in the seed, the Service's DNS name).
          options.targetKubeconfigSecret
            ? `--webhook-url=${options.webhookUrl || `https://${name}.${namespace}.svc`}`
            : `--webhook-service=${namespace}/${name}`,
          `--webhook-dns-names=${name}.${namespace}.svc`,
        ]
      : []),
  ];
}

/** Every object of the operator in its runner cluster, in the order to apply them. */
export function operatorManifests(options: OperatorManifestOptions = {}): Manifest[] {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const name = options.name ?? OPERATOR_NAME;
  const image = options.image ?? DEFAULT_IMAGE;
  const runnerNamespace = options.runnerNamespace || namespace;
  const jobServiceAccount = options.jobServiceAccount ?? DEFAULT_JOB_SERVICE_ACCOUNT;
  parseServiceAccount(jobServiceAccount);
  const webhooks = options.webhooks ?? true;
  const labels = operatorLabels(name);
  const meta = (objectName: string) => ({ name: objectName, namespace, labels });
  const defaultsName = `${name}-defaults`;
  const rbac = operatorRbacManifests({
    name,
    namespace,
    runnerNamespace,
    jobServiceAccount,
    sameCluster: !options.targetKubeconfigSecret,
  });
  const probe = (path: string) => ({ httpGet: { path, port: 'metrics' }, periodSeconds: 10 });
  const manifests: Manifest[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name) },
    ...(options.defaultOptions
      ? [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: meta(defaultsName),
            data: { [DEFAULT_OPTIONS_KEY]: options.defaultOptions },
          },
        ]
      : []),
    ...rbac.runner,
    ...rbac.target,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(name),
      spec: {
        selector: selectorLabels(name),
        ports: [
          { name: 'webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' },
          { name: 'metrics', port: options.probePort ?? PROBE_PORT, targetPort: 'metrics', protocol: 'TCP' },
        ],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name),
      spec: {
        replicas: options.replicas ?? 2,
        selector: { matchLabels: selectorLabels(name) },
        template: {
          metadata: {
            labels,
            ...(options.defaultOptions
              ? {
                  annotations: {
                    'checksum/default-options': createHash('sha256').update(options.defaultOptions).digest('hex'),
                  },
                }
              : {}),
          },
          spec: {
            serviceAccountName: name,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              fsGroup: 65532,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'operator',
                image,
                imagePullPolicy: options.imagePullPolicy ?? 'IfNotPresent',
                args: operatorArgs({ ...options, namespace, name, image, runnerNamespace, jobServiceAccount }),
                ports: [
                  { name: 'webhook', containerPort: options.webhookPort ?? WEBHOOK_PORT, protocol: 'TCP' },
                  { name: 'metrics', containerPort: options.probePort ?? PROBE_PORT, protocol: 'TCP' },
                ],
                readinessProbe: probe('/readyz'),
                livenessProbe: { ...probe('/healthz'), failureThreshold: 6 },
                resources: options.resources ?? DEFAULT_RESOURCES,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [
                  { name: 'tmp', mountPath: '/tmp' },
                  ...(options.targetKubeconfigSecret
                    ? [{ name: 'target-kubeconfig', mountPath: TARGET_KUBECONFIG_DIR, readOnly: true }]
                    : []),
                  ...(options.defaultOptions
                    ? [{ name: 'default-options', mountPath: DEFAULT_OPTIONS_DIR, readOnly: true }]
                    : []),
                ],
              },
            ],
            ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
            ...(options.affinity ? { affinity: options.affinity } : {}),
            ...(options.tolerations ? { tolerations: options.tolerations } : {}),
            volumes: [
              { name: 'tmp', emptyDir: {} },
              ...(options.targetKubeconfigSecret
                ? [
                    {
                      name: 'target-kubeconfig',
                      secret: {
                        secretName: options.targetKubeconfigSecret,
                        items: [{ key: TARGET_KUBECONFIG_KEY, path: TARGET_KUBECONFIG_KEY }],
                      },
                    },
                  ]
                : []),
              ...(options.defaultOptions ? [{ name: 'default-options', configMap: { name: defaultsName } }] : []),
            ],
          },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(name),
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(name) } },
    },
    ...(webhooks && !options.targetKubeconfigSecret ? webhookConfigurations({ namespace, name }, labels) : []),
  ];
  return manifests;
}

/** The manifests as one multi-document YAML text. */
export const manifestsYaml = (manifests: Manifest[]): string =>
  manifests.map((m) => `---\n${stringify(m, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');

function withLabels(object: Record<string, unknown>, name: string): Manifest {
  const metadata = object.metadata as Record<string, unknown>;
  return { ...object, metadata: { ...metadata, labels: operatorLabels(name) } };
}
