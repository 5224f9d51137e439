// The least privilege of the operator and of its Jobs, in both clusters (docs/adr/0016-compliance-operator.md):
// - runner cluster, runner namespace: the operator's Jobs and their ConfigMaps and Secrets, the pods it reads
//   termination messages from, its Lease and its webhook certificate Secret;
// - target cluster: the operator reads the diki types and the option ConfigMaps they reference, writes scan
//   status, creates and deletes the children of scheduled scans, records events, keeps its two webhook
//   configurations and requests tokens for exactly one ServiceAccount, the runner's;
// - target cluster, the runner ServiceAccount (what a Job acts as): the scanner's read-only rights and ops-pod
//   Role, and the exporter's: read its scan and outputs, write scan status and the report to the outputs.
import { scannerRbac, type PolicyRule, type RbacSubject } from '../scanner/rbac.ts';
import {
  DEFAULT_JOB_SERVICE_ACCOUNT,
  LEADER_ELECTION_LEASE,
  WEBHOOK_CERT_SECRET,
  WEBHOOK_CONFIGURATION_NAME,
} from './names.ts';

const RBAC = 'rbac.authorization.k8s.io/v1';
const DIKI = 'diki.gardener.cloud';
const REPORT_GROUPS = ['wgpolicyk8s.io', 'openreports.io'];
const REPORT_RESOURCES = ['policyreports', 'clusterpolicyreports', 'reports', 'clusterreports'];

/** Rules of the operator's Role in the runner namespace of the runner cluster. */
export function operatorRunnerRules(): PolicyRule[] {
  return [
    { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['create'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    withNames({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'] }, [
      LEADER_ELECTION_LEASE,
    ]),
    withNames({ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'] }, [WEBHOOK_CERT_SECRET]),
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

/** Rules of the operator's ClusterRole on the target cluster. */
export function operatorTargetRules(): PolicyRule[] {
  return [
    {
      apiGroups: [DIKI],
      resources: ['compliancescans', 'scheduledcompliancescans', 'reportoutputs'],
      verbs: ['get', 'list', 'watch'],
    },
    { apiGroups: [DIKI], resources: ['compliancescans'], verbs: ['create', 'delete'] },
    {
      apiGroups: [DIKI],
      resources: ['compliancescans/status', 'scheduledcompliancescans/status'],
      verbs: ['get', 'patch', 'update'],
    },
    // Rule options come from ConfigMaps a scan names, in any namespace.
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    // Server-side apply creates the configurations the first time (create cannot be limited by name).
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
      verbs: ['create'],
    },
    withNames(
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
        verbs: ['get', 'patch'],
      },
      [WEBHOOK_CONFIGURATION_NAME],
    ),
  ];
}

/** Rules of the operator's Role in the runner ServiceAccount's namespace on the target: tokens for it alone. */
export function operatorTokenRules(jobServiceAccount = DEFAULT_JOB_SERVICE_ACCOUNT): PolicyRule[] {
  const { name } = parseServiceAccount(jobServiceAccount);
  return [withNames({ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] }, [name])];
}

/** Rules of the exporter (the runner ServiceAccount besides the scanner's rights) on the target. */
export function exporterRules(): PolicyRule[] {
  return [
    { apiGroups: [DIKI], resources: ['compliancescans', 'reportoutputs'], verbs: ['get'] },
    { apiGroups: [DIKI], resources: ['compliancescans/status'], verbs: ['patch'] },
    // Output credentials (PostgreSQL, webhook) and the ConfigMap output, in the namespaces the outputs name.
    { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch'] },
    { apiGroups: REPORT_GROUPS, resources: REPORT_RESOURCES, verbs: ['get', 'list', 'create', 'patch', 'delete'] },
  ];
}

export function parseServiceAccount(value: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = value.split('/');
  if (!namespace || !name || rest.length > 0) {
    throw new Error(`service account ${JSON.stringify(value)}: expected <namespace>/<name>`);
  }
  return { namespace, name };
}

export interface OperatorRbacOptions {
  /** Name of the roles and bindings (default argus-operator). */
  name?: string;
  /** The operator's ServiceAccount in the runner cluster. */
  operator: RbacSubject;
  runnerNamespace: string;
  jobServiceAccount?: string;
}

/** The operator's RBAC in the runner cluster: a Role and RoleBinding in the runner namespace. */
export function operatorRunnerRbac({ name = 'argus-operator', operator, runnerNamespace }: OperatorRbacOptions) {
  return [
    { apiVersion: RBAC, kind: 'Role', metadata: { name, namespace: runnerNamespace }, rules: operatorRunnerRules() },
    binding('RoleBinding', name, operator, runnerNamespace),
  ];
}

/**
 * The operator's and the runner's RBAC on the target cluster: the operator's ClusterRole and token Role, the
 * runner ServiceAccount with the scanner's rights and the exporter's ClusterRole. `operator` is the identity
 * the operator has on the target (a ServiceAccount there when both are one cluster, else whatever its target
 * kubeconfig authenticates as).
 */
export function operatorTargetRbac({
  name = 'argus-operator',
  operator,
  jobServiceAccount = DEFAULT_JOB_SERVICE_ACCOUNT,
}: Omit<OperatorRbacOptions, 'runnerNamespace'>): Record<string, unknown>[] {
  const runner = parseServiceAccount(jobServiceAccount);
  const runnerSubject: RbacSubject = { kind: 'ServiceAccount', ...runner };
  const exporter = `${runner.name}-exporter`;
  return [
    { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name }, rules: operatorTargetRules() },
    binding('ClusterRoleBinding', name, operator),
    {
      apiVersion: RBAC,
      kind: 'Role',
      metadata: { name: `${name}-runner-token`, namespace: runner.namespace },
      rules: operatorTokenRules(jobServiceAccount),
    },
    binding('RoleBinding', `${name}-runner-token`, operator, runner.namespace),
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: runner.name, namespace: runner.namespace },
      automountServiceAccountToken: false,
    },
    ...scannerRbac(runnerSubject, { name: `${runner.name}-scanner` }),
    { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: exporter }, rules: exporterRules() },
    binding('ClusterRoleBinding', exporter, runnerSubject),
  ];
}

function withNames(rule: PolicyRule, resourceNames: string[]): PolicyRule & { resourceNames: string[] } {
  return { ...rule, resourceNames };
}

function binding(kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, subject: RbacSubject, namespace?: string) {
  return {
    apiVersion: RBAC,
    kind,
    metadata: namespace ? { name, namespace } : { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: kind === 'RoleBinding' ? 'Role' : 'ClusterRole', name },
    subjects: [
      subject.kind === 'ServiceAccount'
        ? { kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace ?? 'default' }
        : { apiGroup: 'rbac.authorization.k8s.io', kind: subject.kind, name: subject.name },
    ],
  };
}
