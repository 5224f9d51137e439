// Names and labels of what the operator creates, shared by its controllers, the runner and the tests
// (docs/adr/0016-compliance-operator.md).
export { SCAN_NAME_LABEL, SCAN_UID_LABEL, MANAGED_BY_LABEL } from '../runner/outputs/types.ts';

/** `app.kubernetes.io/managed-by` of the operator's Jobs, ConfigMaps and Secrets in the runner namespace. */
export const OPERATOR_MANAGER = 'argus-operator';
/** Field manager of the operator's writes. */
export const OPERATOR_FIELD_MANAGER = 'argus-operator';

export const jobName = (scanUid: string): string => `diki-run-${scanUid}`;
export const configMapName = (scanUid: string): string => `diki-config-${scanUid}`;
export const targetSecretName = (scanUid: string): string => `diki-target-${scanUid}`;

/** The Job's containers (GEP-0063) and where they share files. */
export const SCAN_CONTAINER = 'diki-scan';
export const EXPORT_CONTAINER = 'report-exporter';
export const REPORT_PATH = '/output/report.json';
export const CONFIG_DIR = '/etc/argus/config';
export const CONFIG_FILE = 'config.yaml';
export const TARGET_DIR = '/var/run/argus/target';
export const TARGET_KUBECONFIG = 'kubeconfig';

/** Defaults of `argus operator`. */
export const DEFAULT_JOB_SERVICE_ACCOUNT = 'kube-system/argus-runner';
export const DEFAULT_SCAN_TIMEOUT_SECONDS = 600;
export const DEFAULT_MAX_RUNNING_SCANS = 10;
export const WEBHOOK_CERT_SECRET = 'argus-operator-webhook-cert';
export const WEBHOOK_CONFIGURATION_NAME = 'argus-operator';
export const LEADER_ELECTION_LEASE = 'argus-operator';
