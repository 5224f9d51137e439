// The STIG requirements the managedk8s provider cannot or need not check, each with why. Names and severities
// are diki's, so reports of both tools line up rule by rule.
import type { Severity } from '../../engine/result.ts';
import { skipRule, type Rule } from '../../engine/rule.ts';

const NO_CONTROL_PLANE =
  'A managed cluster does not give the scanner access to its control plane components (kube-apiserver, ' +
  'kube-controller-manager, kube-scheduler, etcd) or their flags and files.';
const ORGANISATIONAL =
  'Cannot be decided from the cluster with confidence; it is an organisational control to be enforced and ' +
  'evidenced outside the scan.';
const NO_KUBEADM = 'Concerns clusters installed with kubeadm; a managed cluster exposes no kubeadm.conf to check.';

const reasons = {
  noControlPlane: NO_CONTROL_PLANE,
  organisational: ORGANISATIONAL,
  noKubeadm: NO_KUBEADM,
} as const;

type Entry = [id: string, name: string, severity: Severity, reason: string];

const control = (id: string, name: string, severity: Severity = 'Medium'): Entry => [
  id,
  name,
  severity,
  reasons.noControlPlane,
];

const entries: Entry[] = [
  control(
    '242376',
    'The Kubernetes Controller Manager must use TLS 1.2, at a minimum, to protect the confidentiality of sensitive data during electronic dissemination.',
  ),
  control(
    '242377',
    'The Kubernetes Scheduler must use TLS 1.2, at a minimum, to protect the confidentiality of sensitive data during electronic dissemination.',
  ),
  control(
    '242378',
    'The Kubernetes API Server must use TLS 1.2, at a minimum, to protect the confidentiality of sensitive data during electronic dissemination.',
  ),
  control(
    '242379',
    'The Kubernetes etcd must use TLS to protect the confidentiality of sensitive data during electronic dissemination.',
  ),
  control(
    '242380',
    'The Kubernetes etcd must use TLS to protect the confidentiality of sensitive data during electronic dissemination.',
  ),
  control(
    '242381',
    'The Kubernetes Controller Manager must create unique service accounts for each work payload.',
    'High',
  ),
  control('242382', 'The Kubernetes API Server must enable Node,RBAC as the authorization mode.'),
  control('242384', 'The Kubernetes Scheduler must have secure binding.'),
  control('242385', 'The Kubernetes Controller Manager must have secure binding.'),
  control('242389', 'The Kubernetes API server must have the secure port set.'),
  [
    '242398',
    'Kubernetes DynamicAuditing must not be enabled.',
    'Medium',
    'The DynamicAuditing feature gate was removed in Kubernetes v1.19; no current cluster can enable it.',
  ],
  [
    '242399',
    'Kubernetes DynamicKubeletConfig must not be enabled.',
    'Medium',
    'The DynamicKubeletConfig feature gate was removed in Kubernetes v1.26; no current cluster can enable it.',
  ],
  control('242402', 'The Kubernetes API Server must have an audit log path set.'),
  control(
    '242403',
    'Kubernetes API Server must generate audit records that identify what type of event has occurred, identify the source of the event, contain the event results, identify any users, and identify any containers associated with the event.',
  ),
  control('242405', 'Kubernetes manifests must be owned by root.'),
  control('242408', 'The Kubernetes manifest files must have least privileges.'),
  control('242409', 'Kubernetes Controller Manager must disable profiling.'),
  control(
    '242410',
    'The Kubernetes API Server must enforce ports, protocols, and services (PPS) that adhere to the Ports, Protocols, and Services Management Category Assurance List (PPSM CAL).',
  ),
  control(
    '242411',
    'The Kubernetes Scheduler must enforce ports, protocols, and services (PPS) that adhere to the Ports, Protocols, and Services Management Category Assurance List (PPSM CAL).',
  ),
  control(
    '242412',
    'The Kubernetes Controllers must enforce ports, protocols, and services (PPS) that adhere to the Ports, Protocols, and Services Management Category Assurance List (PPSM CAL).',
  ),
  control(
    '242413',
    'The Kubernetes etcd must enforce ports, protocols, and services (PPS) that adhere to the Ports, Protocols, and Services Management Category Assurance List (PPSM CAL).',
  ),
  control('242418', 'The Kubernetes API server must use approved cipher suites.'),
  control('242419', 'Kubernetes API Server must have the SSL Certificate Authority set.'),
  control('242421', 'Kubernetes Controller Manager must have the SSL Certificate Authority set.'),
  control('242422', 'Kubernetes API Server must have a certificate for communication.'),
  control('242423', 'Kubernetes etcd must enable client authentication to secure service.'),
  control('242426', 'Kubernetes etcd must enable client authentication to secure service.'),
  control('242427', 'Kubernetes etcd must have a key file for secure communication.'),
  control('242428', 'Kubernetes etcd must have a certificate for communication.'),
  control('242429', 'Kubernetes etcd must have the SSL Certificate Authority set.'),
  control('242430', 'Kubernetes etcd must have a certificate for communication.'),
  control('242431', 'Kubernetes etcd must have a key file for secure communication.'),
  control('242432', 'Kubernetes etcd must have peer-cert-file set for secure communication.'),
  control('242433', 'Kubernetes etcd must have a peer-key-file set for secure communication.'),
  control('242436', 'The Kubernetes API server must have the ValidatingAdmissionWebhook enabled.', 'High'),
  [
    '242437',
    'Kubernetes must have a pod security policy set.',
    'High',
    'PodSecurityPolicy was removed in Kubernetes v1.25; Pod Security admission replaced it.',
  ],
  control('242438', 'Kubernetes API Server must configure timeouts to limit attack surface.'),
  [
    '242443',
    'Kubernetes must contain the latest updates as authorized by IAVMs, CTOs, DTMs, and STIGs.',
    'Medium',
    'Patching is an organisational control: vulnerability scanning and updates must be automated and tracked ' +
      'outside this scan, with maintainers notified automatically.',
  ],
  [
    '242444',
    'Kubernetes component manifests must be owned by root.',
    'Medium',
    `Duplicate of 242405. ${NO_CONTROL_PLANE}`,
  ],
  control('242445', 'The Kubernetes component etcd must be owned by etcd.'),
  control('242446', 'The Kubernetes conf files must be owned by root.'),
  ['242454', 'The Kubernetes kubeadm.conf must be owned by root.', 'Medium', NO_KUBEADM],
  [
    '242455',
    'The Kubernetes kubeadm.conf must have file permissions set to 644 or more restrictive.',
    'Medium',
    NO_KUBEADM,
  ],
  [
    '242456',
    'The Kubernetes kubelet config must have file permissions set to 644 or more restrictive.',
    'Medium',
    'Duplicate of 242452 (permissions of the kubelet kubeconfig), which checks the same file.',
  ],
  [
    '242457',
    'The Kubernetes kubelet config must be owned by root.',
    'Medium',
    'Duplicate of 242453 (owner of the kubelet kubeconfig), which checks the same file.',
  ],
  control('242459', 'The Kubernetes etcd must have file permissions set to 644 or more restrictive.'),
  control('242460', 'The Kubernetes admin kubeconfig must have file permissions set to 644 or more restrictive.'),
  control('242461', 'Kubernetes API Server audit logs must be enabled.'),
  control('242462', 'The Kubernetes API Server must be set to audit log max size.'),
  control('242463', 'The Kubernetes API Server must be set to audit log maximum backup.'),
  control('242464', 'The Kubernetes API Server audit log retention must be set.'),
  [
    '242465',
    'The Kubernetes API Server audit log path must be set.',
    'Medium',
    `Duplicate of 242402. ${NO_CONTROL_PLANE}`,
  ],
  control(
    '245542',
    'Kubernetes API Server must disable basic authentication to protect information in transit.',
    'High',
  ),
  control(
    '245543',
    'Kubernetes API Server must disable token authentication to protect information in transit.',
    'High',
  ),
  control(
    '245544',
    'Kubernetes endpoints must use approved organizational certificate and key pair to protect information in transit.',
    'High',
  ),
  control('254800', 'Kubernetes must have a Pod Security Admission control file configured.', 'High'),
  [
    '254801',
    'Kubernetes must enable PodSecurity admission controller on static pods and Kubelets.',
    'High',
    'The PodSecurity feature gate went GA in Kubernetes v1.25 and was removed in v1.28: the admission ' +
      'controller is always enabled.',
  ],
  control('274882', 'Kubernetes Secrets must be encrypted at rest.', 'High'),
  [
    '274883',
    'Sensitive information must be stored using Kubernetes Secrets or an external Secret store provider.',
    'High',
    ORGANISATIONAL,
  ],
  ['274884', 'Kubernetes must limit Secret access on a need-to-know basis.', 'Medium', ORGANISATIONAL],
];

/** The 60 rules managedk8s skips in v2r5 and v2r6, with their reasons. */
export const skippedRules: Rule[] = entries.map(([id, name, severity, reason]) => skipRule(id, name, severity, reason));

export { NO_CONTROL_PLANE, NO_KUBEADM, ORGANISATIONAL };
