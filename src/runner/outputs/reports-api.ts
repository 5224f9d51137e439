// The reportsAPI output (Argus): the report as PolicyReports (one per namespace with findings) and a
// ClusterPolicyReport per ruleset, built by src/scanner/report/policyreport.ts, or as openreports.io Reports /
// ClusterReports (same content, kinds renamed, report-level `source: argus`). Written by server-side apply
// (field manager argus-runner, forced): results are an atomic list, so each apply replaces the earlier results
// of the object. Objects are named `<namePrefix><ruleset>` and labelled with the source (the output's prefix,
// `reports.argus.io/source`) and the scan; after writing, reports of the same source that this scan no longer
// produces (a namespace without findings now, a ruleset not run) are deleted. Reports for namespaces that no
// longer exist are skipped.
import { createHash } from 'node:crypto';
import {
  DEFAULT_REPORTS_API_NAME_PREFIX,
  REPORTS_API_VERSIONS,
  type ReportOutputSpec,
} from '../../api/diki/reportoutput.ts';
import {
  clusterPolicyReportType,
  clusterReportType,
  policyReportType,
  reportType,
  type ReportType,
} from '../../api/reports/index.ts';
import { ApiError, isNotFound } from '../../kube/client.ts';
import type { KubeObject } from '../../kube/resources.ts';
import { objectName, policyReports } from '../../scanner/report/policyreport.ts';
import type { Report } from '../../scanner/report/report.ts';
import {
  FIELD_MANAGER,
  OutputError,
  errorMessage,
  scanLabels,
  type OutputContext,
  type OutputDetails,
} from './types.ts';

type ReportsAPIOutput = NonNullable<ReportOutputSpec['output']['reportsAPI']>;

export const SOURCE_LABEL = 'reports.argus.io/source';

/** The label value naming a source: the prefix when it is a valid label value, else a hash of it. */
export function sourceLabel(prefix: string): string {
  const trimmed = prefix.replace(/[^A-Za-z0-9]+$/, '');
  if (trimmed.length > 0 && trimmed.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(trimmed))
    return trimmed;
  return `h-${createHash('sha256').update(prefix).digest('hex').slice(0, 32)}`;
}

const key = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** The report objects of `report` as `output` writes them: types, names and labels. */
export function reportObjects(
  report: Report,
  output: ReportsAPIOutput,
  ctx: Pick<OutputContext, 'scanName' | 'scanUid'>,
): { type: ReportType; object: KubeObject & Record<string, unknown> }[] {
  const apiVersion = output.apiVersion ?? REPORTS_API_VERSIONS[0];
  const prefix = output.namePrefix ?? DEFAULT_REPORTS_API_NAME_PREFIX;
  const open = apiVersion === 'openreports.io/v1alpha1';
  return policyReports(report).map((pr) => {
    const cluster = pr.kind === 'ClusterPolicyReport';
    const type = open
      ? cluster
        ? clusterReportType
        : reportType
      : cluster
        ? clusterPolicyReportType
        : policyReportType;
    const ruleset = pr.metadata.name.slice('argus-'.length);
    const name = prefix === DEFAULT_REPORTS_API_NAME_PREFIX ? pr.metadata.name : objectName(prefix + ruleset);
    return {
      type,
      object: {
        ...pr,
        apiVersion: type.apiVersion,
        kind: type.kind,
        metadata: {
          ...pr.metadata,
          name,
          labels: { ...pr.metadata.labels, ...scanLabels(ctx), [SOURCE_LABEL]: sourceLabel(prefix) },
        },
        ...(open ? { source: 'argus' } : {}),
      },
    };
  });
}

const namespaceRe = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const missingNamespace = (err: unknown): boolean =>
  err instanceof ApiError && err.code === 404 && err.status.details?.kind === 'namespaces';

export async function exportReportsAPI(
  report: Report,
  output: ReportsAPIOutput,
  ctx: OutputContext,
): Promise<OutputDetails> {
  const apiVersion = output.apiVersion ?? REPORTS_API_VERSIONS[0];
  const prefix = output.namePrefix ?? DEFAULT_REPORTS_API_NAME_PREFIX;
  const objects = reportObjects(report, output, ctx);
  const written = new Set<string>();
  for (const { type, object } of objects) {
    const namespace = object.metadata?.namespace;
    if (namespace !== undefined && !namespaceRe.test(namespace)) continue; // no such namespace can exist
    if (ctx.signal?.aborted) throw new OutputError('Aborted', 'reports API: aborted');
    try {
      await ctx.client.apply(type, object, { fieldManager: FIELD_MANAGER, force: true });
      written.add(`${type.kind}:${key(object)}`);
    } catch (err) {
      if (missingNamespace(err)) continue;
      throw new OutputError(
        'ReportsAPIWriteFailed',
        `writing ${type.kind} ${key(object).replace(/^\//, '')}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
  // Reports of this source the scan did not produce again: stale, deleted.
  const types =
    apiVersion === 'openreports.io/v1alpha1'
      ? [reportType, clusterReportType]
      : [policyReportType, clusterPolicyReportType];
  const selector = `app.kubernetes.io/managed-by=argus,${SOURCE_LABEL}=${sourceLabel(prefix)}`;
  for (const type of types) {
    try {
      const list = await ctx.client.listAll(type, { labelSelector: selector });
      for (const item of list.items) {
        if (written.has(`${type.kind}:${key(item)}`)) continue;
        await ctx.client.deleteIfExists(type, item.metadata?.name ?? '', item.metadata?.namespace);
      }
    } catch (err) {
      if (isNotFound(err)) continue; // the type is not served: nothing of it to remove
      throw new OutputError('ReportsAPIWriteFailed', `removing stale ${type.kind}s: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }
  return { reportsAPIRef: { apiVersion, reports: written.size } };
}
