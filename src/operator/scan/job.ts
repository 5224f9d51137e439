// The seed-side objects of one scan (ADR 0016): the Job `diki-run-<uid>` with the GEP's two containers, the
// ConfigMap with the scanner configuration and the Secret with the target kubeconfig, both owned by the Job.
import type { V1Job } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { ComplianceScan } from '../../api/diki/compliancescan.ts';
import type { KubeObject, OwnerReference } from '../../kube/resources.ts';
import type { ScanConfig } from '../../scanner/engine/config.ts';
import {
  CONFIG_DIR,
  CONFIG_FILE,
  EXPORT_CONTAINER,
  MANAGED_BY_LABEL,
  OPERATOR_MANAGER,
  REPORT_PATH,
  SCAN_CONTAINER,
  SCAN_NAME_LABEL,
  SCAN_UID_LABEL,
  TARGET_DIR,
  TARGET_KUBECONFIG,
  configMapName,
  jobName,
  targetSecretName,
} from '../names.ts';

/** Annotation with the scan's full name (a label value holds at most 63 characters). */
export const SCAN_NAME_ANNOTATION = SCAN_NAME_LABEL;

export interface JobSettings {
  namespace: string;
  image: string;
  imagePullPolicy?: string | undefined;
  timeoutSeconds: number;
}

const labelValueRe = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** The labels and annotations of every seed-side object of `scan`. */
export function scanObjectMeta(scan: ComplianceScan): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const name = scan.metadata?.name ?? '';
  return {
    labels: {
      [MANAGED_BY_LABEL]: OPERATOR_MANAGER,
      [SCAN_UID_LABEL]: scan.metadata?.uid ?? '',
      ...(name.length <= 63 && labelValueRe.test(name) ? { [SCAN_NAME_LABEL]: name } : {}),
    },
    annotations: { [SCAN_NAME_ANNOTATION]: name },
  };
}

/** The scan name and UID a seed-side object belongs to, from its annotation and label. */
export function scanOf(obj: KubeObject): { name: string; uid: string } | undefined {
  const name = obj.metadata?.annotations?.[SCAN_NAME_ANNOTATION];
  const uid = obj.metadata?.labels?.[SCAN_UID_LABEL];
  return name && uid ? { name, uid } : undefined;
}

/** The scan's Job, created suspended: it starts once its ConfigMap and Secret exist. */
export function scanJob(scan: ComplianceScan, settings: JobSettings): V1Job & KubeObject {
  const uid = scan.metadata!.uid!;
  const meta = scanObjectMeta(scan);
  const kubeconfig = `${TARGET_DIR}/${TARGET_KUBECONFIG}`;
  const securityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  };
  const mounts = [
    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
    { name: 'target', mountPath: TARGET_DIR, readOnly: true },
    { name: 'output', mountPath: REPORT_PATH.slice(0, REPORT_PATH.lastIndexOf('/')) },
  ];
  const common = {
    image: settings.image,
    ...(settings.imagePullPolicy ? { imagePullPolicy: settings.imagePullPolicy } : {}),
    securityContext,
    volumeMounts: mounts,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    env: [{ name: 'ARGUS_LOG_LEVEL', value: 'info' }],
    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName(uid), namespace: settings.namespace, ...meta },
    spec: {
      suspend: true,
      backoffLimit: 0,
      activeDeadlineSeconds: settings.timeoutSeconds,
      template: {
        metadata: { labels: meta.labels, annotations: meta.annotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          tolerations: [{ operator: 'Exists' }],
          initContainers: [
            {
              name: SCAN_CONTAINER,
              ...common,
              args: ['run', 'scan', '--config', `${CONFIG_DIR}/${CONFIG_FILE}`, '--output', REPORT_PATH],
            },
          ],
          containers: [
            {
              name: EXPORT_CONTAINER,
              ...common,
              args: [
                'run',
                'export',
                '--report',
                REPORT_PATH,
                '--scan',
                scan.metadata!.name!,
                '--scan-uid',
                uid,
                '--kubeconfig',
                kubeconfig,
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: configMapName(uid) } },
            { name: 'target', secret: { secretName: targetSecretName(uid), defaultMode: 0o440 } },
            { name: 'output', emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** The ConfigMap with the scanner configuration, owned by the Job. */
export function scanConfigMap(scan: ComplianceScan, config: ScanConfig, namespace: string, owner: OwnerReference) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: configMapName(scan.metadata!.uid!),
      namespace,
      ...scanObjectMeta(scan),
      ownerReferences: [owner],
    },
    data: { [CONFIG_FILE]: stringify(config) },
  };
}

/** The Secret with the target kubeconfig, owned by the Job. */
export function targetSecret(scan: ComplianceScan, kubeconfig: string, namespace: string, owner: OwnerReference) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: targetSecretName(scan.metadata!.uid!),
      namespace,
      ...scanObjectMeta(scan),
      ownerReferences: [owner],
    },
    stringData: { [TARGET_KUBECONFIG]: kubeconfig },
  };
}

export interface TargetAccess {
  server: string;
  /** PEM of the CA that signs the target's serving certificate, if not the system's. */
  caData?: string | undefined;
  insecureSkipTLSVerify?: boolean | undefined;
  token: string;
}

/** A kubeconfig for the Job: the target's server and CA with a token of the runner ServiceAccount. */
export function targetKubeconfig(access: TargetAccess): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'target',
        cluster: {
          server: access.server,
          ...(access.caData ? { 'certificate-authority-data': Buffer.from(access.caData).toString('base64') } : {}),
          ...(access.insecureSkipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
        },
      },
    ],
    users: [{ name: 'argus-runner', user: { token: access.token } }],
    contexts: [{ name: 'target', context: { cluster: 'target', user: 'argus-runner' } }],
    'current-context': 'target',
  });
}
