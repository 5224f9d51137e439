// The report types as the store serves them: validation from the API definitions (src/api/reports), the
// selectable fields, and one results row per result and resource for the `report_results` SQL view.
import type { KubeObject } from '../../api/meta.ts';
import { reportTypes, validateReport, type ReportType } from '../../api/reports/index.ts';
import type { ResourceType, ResultRow } from './types.ts';

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** RFC 3339 (UTC, nanoseconds trimmed to milliseconds) of a protobuf Timestamp, or null. */
function timestamp(v: unknown): string | null {
  const t = v as { seconds?: unknown; nanos?: unknown } | undefined;
  if (!t || typeof t.seconds !== 'number') return null;
  const ms = t.seconds * 1000 + Math.floor((typeof t.nanos === 'number' ? t.nanos : 0) / 1e6);
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

type Ref = { apiVersion?: unknown; kind?: unknown; namespace?: unknown; name?: unknown; uid?: unknown };

function resourceText(ref: Ref): string | null {
  const name = text(ref.name);
  if (!name) return null;
  const kind = text(ref.kind) ?? '';
  const namespace = text(ref.namespace);
  return [kind, namespace, name].filter((p) => p).join('/');
}

/** One row per result and resource it names (a result without resources gets one row, about the scope). */
export function reportResultRows(object: KubeObject): ResultRow[] {
  const results = Array.isArray(object.results) ? (object.results as Record<string, unknown>[]) : [];
  const scope = object.scope ?? undefined;
  const reportSource = text(object.source);
  const rows: ResultRow[] = [];
  results.forEach((r, index) => {
    const fallback: Ref = scope ?? {};
    const resources: Ref[] = Array.isArray(r.resources) && r.resources.length ? (r.resources as Ref[]) : [fallback];
    resources.forEach((ref, resourceIndex) => {
      rows.push({
        index,
        resourceIndex,
        policy: typeof r.policy === 'string' ? r.policy : '',
        rule: text(r.rule),
        category: text(r.category),
        severity: text(r.severity),
        result: text(r.result),
        source: text(r.source) ?? reportSource,
        scored: typeof r.scored === 'boolean' ? r.scored : null,
        message: text(r.message),
        timestamp: timestamp(r.timestamp),
        resourceApiVersion: text(ref.apiVersion),
        resourceKind: text(ref.kind),
        resourceNamespace: text(ref.namespace),
        resourceName: text(ref.name),
        resourceUid: text(ref.uid),
        resource: resourceText(ref),
      });
    });
  });
  return rows;
}

/** The store's view of one report type. */
export function reportResource(type: ReportType): ResourceType {
  return {
    group: type.group,
    version: type.version,
    resource: type.resource,
    kind: type.kind,
    namespaced: type.namespaced,
    validate: (object) => validateReport(type, object),
    selectableFields: type.selectableFields,
    resultRows: reportResultRows,
    bulkFields: ['results'],
  };
}

/** The four report types, in discovery order (PolicyReport, ClusterPolicyReport, Report, ClusterReport). */
export const reportResources: readonly ResourceType[] = reportTypes.map(reportResource);

export const [policyReports, clusterPolicyReports, reports, clusterReports] = reportResources as [
  ResourceType,
  ResourceType,
  ResourceType,
  ResourceType,
];
