// A scan report as wgpolicyk8s.io/v1alpha2 PolicyReports: for each ruleset, one PolicyReport named
// `argus-<ruleset>` in every namespace that has findings (targets with a namespace, and Namespace targets, which
// go to the namespace they name), plus one ClusterPolicyReport `argus-<ruleset>` for cluster-scoped targets
// and checks without targets. One result per finding (check x target):
//   policy   = `<ruleset id>/<version>`, rule = rule id, category = ruleset name, source = `argus`
//   result   = Passed -> pass, Failed -> fail, Warning -> warn, Errored -> error,
//              Skipped / Accepted / Not Implemented -> skip
//   severity = High -> high, Medium -> medium, Low -> low (absent when the rule has none)
//   scored   = false for the skip results, true otherwise
//   resources = the target as an ObjectReference; the target's other keys (container, details...) and the rule
//              name go to `properties`
//   timestamp = the scan time as {seconds, nanos}
// Reports of one ruleset in several versions (or from several providers) share the object; `policy` tells
// them apart.
import { stringify } from 'yaml';
import type { Status } from '../engine/result.ts';
import type { Report } from './report.ts';

export const POLICY_REPORT_API_VERSION = 'wgpolicyk8s.io/v1alpha2';

export type PolicyResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
export type PolicySeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export const policyResult: Record<Status, PolicyResultValue> = {
  Passed: 'pass',
  Failed: 'fail',
  Warning: 'warn',
  Errored: 'error',
  Skipped: 'skip',
  Accepted: 'skip',
  'Not Implemented': 'skip',
};

export const policySeverity = { High: 'high', Medium: 'medium', Low: 'low' } as const;

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

export interface PolicyReportResult {
  source: string;
  policy: string;
  rule: string;
  category: string;
  severity?: PolicySeverity;
  timestamp: { seconds: number; nanos: number };
  result: PolicyResultValue;
  scored: boolean;
  message: string;
  resources?: ObjectReference[];
  properties: Record<string, string>;
}

export interface PolicyReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

export interface PolicyReportObject {
  apiVersion: typeof POLICY_REPORT_API_VERSION;
  kind: 'PolicyReport' | 'ClusterPolicyReport';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  summary: PolicyReportSummary;
  results: PolicyReportResult[];
}

/** API versions of the kinds rules look at; targets of other kinds get no apiVersion. */
const apiVersions: Record<string, string> = {
  Pod: 'v1',
  Node: 'v1',
  Namespace: 'v1',
  Service: 'v1',
  ServiceAccount: 'v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  PersistentVolume: 'v1',
  PersistentVolumeClaim: 'v1',
  ReplicationController: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  Ingress: 'networking.k8s.io/v1',
  StorageClass: 'storage.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
};

/** A Kubernetes object name (DNS subdomain) from free text: lowercase, [a-z0-9.-], at most 253 characters. */
export function objectName(text: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 253)
    .replace(/[^a-z0-9]+$/, '');
  return name || 'report';
}

/** A label value: at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

function timestamp(time: string): { seconds: number; nanos: number } {
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return { seconds: 0, nanos: 0 };
  // Keep the sub-millisecond digits RFC 3339 times may carry (Go writes nanoseconds).
  const fraction = /\.(\d+)/.exec(time)?.[1];
  const nanos = fraction ? Number(fraction.padEnd(9, '0').slice(0, 9)) : (ms % 1000) * 1e6;
  return { seconds: Math.floor(ms / 1000), nanos };
}

/** Where a finding goes: a namespace, or the cluster report (undefined). */
function namespaceOf(target: Record<string, string> | undefined): string | undefined {
  if (!target) return undefined;
  if (target.namespace) return target.namespace;
  if (target.kind === 'Namespace' && target.name) return target.name;
  return undefined;
}

function resource(target: Record<string, string>): ObjectReference | undefined {
  if (!target.kind && !target.name) return undefined;
  const apiVersion = target.kind ? apiVersions[target.kind] : undefined;
  return {
    ...(apiVersion ? { apiVersion } : {}),
    ...(target.kind ? { kind: target.kind } : {}),
    ...(target.name ? { name: target.name } : {}),
    ...(target.namespace ? { namespace: target.namespace } : {}),
  };
}

export function policyReports(report: Report): PolicyReportObject[] {
  const ts = timestamp(report.time);
  const objects = new Map<string, PolicyReportObject>();
  const get = (ruleset: string, namespace: string | undefined): PolicyReportObject => {
    const key = JSON.stringify([ruleset, namespace ?? null]);
    let object = objects.get(key);
    if (!object) {
      const name = objectName(`argus-${ruleset}`);
      object = {
        apiVersion: POLICY_REPORT_API_VERSION,
        kind: namespace === undefined ? 'ClusterPolicyReport' : 'PolicyReport',
        metadata: {
          name,
          ...(namespace === undefined ? {} : { namespace }),
          labels: { 'app.kubernetes.io/managed-by': 'argus', 'argus.io/ruleset': labelValue(ruleset) },
        },
        summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 },
        results: [],
      };
      objects.set(key, object);
    }
    return object;
  };

  for (const provider of report.providers)
    for (const ruleset of provider.rulesets)
      for (const rule of ruleset.rules)
        for (const check of rule.checks) {
          const targets: (Record<string, string> | undefined)[] =
            check.targets && check.targets.length > 0 ? check.targets : [undefined];
          for (const target of targets) {
            const value = policyResult[check.status];
            const ref = target ? resource(target) : undefined;
            const properties: Record<string, string> = { ruleName: rule.name, provider: provider.id };
            for (const [k, v] of Object.entries(target ?? {}))
              if (!['kind', 'name', 'namespace'].includes(k)) properties[k] = v;
            if (target && !ref) Object.assign(properties, target);
            if (value === 'skip') properties.status = check.status; // Skipped, Accepted or Not Implemented
            const object = get(ruleset.id, namespaceOf(target));
            object.results.push({
              source: 'argus',
              policy: `${ruleset.id}/${ruleset.version}`,
              rule: rule.id,
              category: ruleset.name,
              ...(rule.severity ? { severity: policySeverity[rule.severity] } : {}),
              timestamp: { ...ts },
              result: value,
              scored: value !== 'skip',
              message: check.message,
              ...(ref ? { resources: [ref] } : {}),
              properties,
            });
            object.summary[value] += 1;
          }
        }
  // Namespaced reports sorted by namespace, then the cluster reports; rulesets in report order within each.
  return [...objects.values()].sort((a, b) => {
    const na = a.metadata.namespace;
    const nb = b.metadata.namespace;
    if (na === nb) return 0;
    if (na === undefined) return 1;
    if (nb === undefined) return -1;
    return na < nb ? -1 : 1;
  });
}

/** The report objects as a `v1` List in YAML, ready for `kubectl apply -f`. */
export function renderPolicyReports(report: Report): string {
  return stringify(
    { apiVersion: 'v1', kind: 'List', items: policyReports(report) },
    { lineWidth: 0, aliasDuplicateObjects: false },
  );
}
