// Realistic scan reports for the report-format tests: several rulesets, every status, rules with many targets,
// long messages, and a few values that must be escaped in every output format. Deterministic (no randomness).
import type { Report, ReportRule } from '../../src/scanner/report/report.ts';

/** A value that breaks HTML, XML and YAML when not escaped. */
export const nasty = `<script>alert("x&y")</script>'`;

function pods(namespace: string, n: number, container = 'app'): Record<string, string>[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'Pod',
    name: `${namespace}-worker-${String(i).padStart(3, '0')}-7c9f6d5b8-x${(i * 7919) % 997}`,
    namespace,
    container,
  }));
}

const nodes = (n: number): Record<string, string>[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'Node', name: `ip-10-250-${i}-17.eu-west-1.compute.internal` }));

const stigRules: ReportRule[] = [
  {
    id: '242383',
    name: 'Kubernetes must separate user functionality.',
    severity: 'High',
    checks: [
      {
        status: 'Failed',
        message: 'Found user resource in system namespaces.',
        targets: [
          { kind: 'Deployment', name: 'nginx', namespace: 'default' },
          { kind: 'Service', name: 'nginx', namespace: 'default' },
          { kind: 'ConfigMap', name: 'app-settings', namespace: 'kube-public' },
        ],
      },
      {
        status: 'Accepted',
        message:
          'Accepted user resource in system namespaces. Justification: the kubernetes Service is created by the API server.',
        targets: [{ kind: 'Service', name: 'kubernetes', namespace: 'default' }],
      },
    ],
  },
  {
    id: '242387',
    name: 'The Kubernetes Kubelet must have the "readOnlyPort" flag disabled.',
    severity: 'High',
    checks: [{ status: 'Passed', message: 'Option readOnlyPort not set.', targets: nodes(12) }],
  },
  {
    id: '242390',
    name: 'The Kubernetes API server must have anonymous authentication disabled.',
    severity: 'High',
    checks: [{ status: 'Passed', message: 'The kube-apiserver does not allow anonymous authentication.' }],
  },
  {
    id: '242391',
    name: 'The Kubernetes Kubelet must have anonymous authentication disabled.',
    severity: 'High',
    checks: [
      { status: 'Passed', message: 'Option authentication.anonymous.enabled set to allowed value.', targets: nodes(9) },
      {
        status: 'Errored',
        message:
          'could not retrieve kubelet config: the server is currently unable to handle the request (get nodes ip-10-250-11-17.eu-west-1.compute.internal:10250 proxy configz): context deadline exceeded while waiting for the kubelet to answer; the node may be overloaded, cordoned or its kubelet may not be serving the configz endpoint at all',
        targets: nodes(12).slice(9),
      },
    ],
  },
  {
    id: '242393',
    name: 'Kubernetes Worker Nodes must not have sshd service running.',
    severity: 'Medium',
    checks: [
      {
        status: 'Warning',
        message: 'SSH daemon service not installed, but the sshd binary is present.',
        targets: nodes(3),
      },
      { status: 'Passed', message: 'SSH daemon service not installed.', targets: nodes(12).slice(3) },
    ],
  },
  {
    id: '242395',
    name: 'Kubernetes dashboard must not be enabled.',
    severity: 'Medium',
    checks: [{ status: 'Passed', message: 'Kubernetes dashboard not installed.' }],
  },
  {
    id: '242414',
    name: 'The Kubernetes cluster must use non-privileged host ports for user pods.',
    severity: 'Medium',
    checks: [
      {
        status: 'Failed',
        message: 'Container uses hostPort < 1024.',
        targets: pods('ingress', 3, 'controller').map((t) => ({ ...t, details: 'port: 443' })),
      },
      { status: 'Passed', message: 'Container does not use hostPort < 1024.', targets: pods('shop', 40) },
    ],
  },
  {
    id: '242415',
    name: 'Secrets in Kubernetes must not be stored as environment variables.',
    severity: 'High',
    checks: [
      {
        status: 'Failed',
        message: 'Pod uses environment to inject secret.',
        targets: [
          ...pods('payments', 120, 'api').map((t, i) => ({ ...t, details: `variableName: DB_PASSWORD_${i}` })),
          { kind: 'Pod', name: nasty, namespace: nasty, container: nasty },
        ],
      },
      { status: 'Passed', message: 'Pod does not use environment to inject secrets.', targets: pods('shop', 60) },
    ],
  },
  {
    id: '242417',
    name: 'Kubernetes must separate user functionality.',
    severity: 'Medium',
    checks: [{ status: 'Passed', message: 'Found no user pods in system namespaces.' }],
  },
  {
    id: '242442',
    name: 'Kubernetes must remove old components after updated versions have been installed.',
    severity: 'Medium',
    checks: [{ status: 'Passed', message: 'All found images use current versions.', targets: pods('kube-system', 8) }],
  },
  {
    id: '242376',
    name: 'The Kubernetes Controller Manager must use TLS 1.2, at a minimum, to protect the confidentiality of sensitive data during electronic dissemination.',
    severity: 'Medium',
    checks: [
      { status: 'Skipped', message: 'The managedk8s provider does not have access to control plane components.' },
    ],
  },
  {
    id: '242377',
    name: 'The Kubernetes Scheduler must use TLS 1.2, at a minimum.',
    severity: 'Medium',
    checks: [
      { status: 'Skipped', message: 'The managedk8s provider does not have access to control plane components.' },
    ],
  },
  {
    id: '242396',
    name: 'Kubernetes Kubectl cp command must give expected access and results.',
    severity: 'High',
    checks: [{ status: 'Not Implemented', message: 'Not implemented.' }],
  },
  {
    id: '245541',
    name: 'Kubernetes Kubelet must not disable timeouts.',
    severity: 'Medium',
    checks: [
      { status: 'Passed', message: 'Option streamingConnectionIdleTimeout set to allowed value.', targets: nodes(12) },
    ],
  },
];

const hardenedRules: ReportRule[] = [
  {
    id: '2000',
    name: 'Ingress and egress traffic must be restricted by default.',
    severity: 'High',
    checks: [
      {
        status: 'Failed',
        message: 'Namespace does not have a default deny NetworkPolicy for ingress and egress traffic.',
        targets: ['shop', 'payments', 'monitoring', 'default'].map((name) => ({ kind: 'Namespace', name })),
      },
      {
        status: 'Passed',
        message: 'Namespace has a default deny NetworkPolicy.',
        targets: [{ kind: 'Namespace', name: 'kube-system' }],
      },
    ],
  },
  {
    id: '2001',
    name: 'Containers must be forbidden to escalate privileges.',
    severity: 'High',
    checks: [
      {
        status: 'Failed',
        message: 'Pod must not allow privilege escalation.',
        targets: pods('monitoring', 14, 'node-exporter'),
      },
      { status: 'Passed', message: 'Pod does not allow privilege escalation.', targets: pods('shop', 25) },
    ],
  },
  {
    id: '2002',
    name: 'Storage Classes should have a "Delete" reclaim policy.',
    severity: 'Medium',
    checks: [
      {
        status: 'Warning',
        message: 'StorageClass has a Retain reclaim policy; volumes outlive their claims.',
        targets: [{ kind: 'StorageClass', name: 'gp3-retain' }],
      },
      {
        status: 'Passed',
        message: 'StorageClass has a Delete reclaim policy.',
        targets: [{ kind: 'StorageClass', name: 'default' }],
      },
    ],
  },
  {
    id: '2004',
    name: 'Limit the Services of type NodePort.',
    severity: 'Medium',
    checks: [
      {
        status: 'Passed',
        message: 'Service is not of type NodePort.',
        targets: [{ kind: 'Service', name: 'shop', namespace: 'shop' }],
      },
    ],
  },
  {
    id: '2005',
    name: 'Container images must come from trusted repositories.',
    severity: 'High',
    checks: [
      {
        status: 'Warning',
        message: 'There are no allowed images in rule options; set allowedImages to the registries you trust.',
      },
    ],
  },
  {
    id: '2006',
    name: 'Limit the use of wildcards in RBAC resources.',
    severity: 'Medium',
    checks: [
      {
        status: 'Accepted',
        message: 'Accepted: cluster-admin is part of the distribution.',
        targets: [{ kind: 'ClusterRole', name: 'cluster-admin' }],
      },
    ],
  },
  {
    id: '2008',
    name: 'Pods must not be allowed to mount host directories.',
    severity: 'High',
    checks: [
      {
        status: 'Failed',
        message: 'Pod may not use volumes of type hostPath.',
        targets: pods('monitoring', 14, 'node-exporter').map((t) => ({ ...t, volume: 'proc' })),
      },
    ],
  },
];

const pssRules: ReportRule[] = [
  {
    id: 'PSS-B001',
    name: 'HostProcess',
    severity: 'High',
    checks: [{ status: 'Passed', message: 'Pod does not use HostProcess containers.', targets: pods('shop', 5) }],
  },
  {
    id: 'PSS-B002',
    name: 'Host Namespaces',
    severity: 'High',
    checks: [
      {
        status: 'Failed',
        message: 'Pod shares the host network namespace.',
        targets: pods('ingress', 2, 'controller'),
      },
    ],
  },
  {
    id: 'PSS-B003',
    name: 'Privileged Containers',
    severity: 'High',
    checks: [{ status: 'Passed', message: 'No privileged containers.' }],
  },
  {
    id: 'PSS-R001',
    name: 'Volume Types',
    severity: 'Low',
    checks: [{ status: 'Passed', message: 'Pod only uses allowed volume types.', targets: pods('shop', 5) }],
  },
  { id: 'PSS-R004', name: 'Seccomp', severity: 'Low', checks: [] },
];

/** A fresh copy each call: tests may change it. */
export function sampleReport(overrides: Partial<Report> = {}): Report {
  return structuredClone({
    time: '2025-03-14T09:26:53.589Z',
    dikiVersion: '0.1.0',
    metadata: { cluster: 'prod-eu1', owner: 'platform-team' },
    providers: [
      {
        id: 'managedk8s',
        name: 'Managed Kubernetes',
        metadata: { kubernetesVersion: 'v1.36.3' },
        rulesets: [
          {
            id: 'disa-kubernetes-stig',
            name: 'DISA Kubernetes Security Technical Implementation Guide',
            version: 'v2r6',
            rules: stigRules,
          },
          {
            id: 'security-hardened-k8s',
            name: 'Security Hardened Kubernetes Cluster',
            version: 'v0.1.0',
            rules: hardenedRules,
          },
          { id: 'pod-security-standards', name: 'Pod Security Standards', version: 'v1.36', rules: pssRules },
        ],
      },
    ],
    ...overrides,
  });
}

/** A deep copy, for tests that change a report. */
export function cloneReport(report: Report): Report {
  return structuredClone(report);
}
