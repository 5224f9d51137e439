// Analytics through the API: `reports.argus.io/v1alpha1` serves `results` (one row per result and resource,
// filtered by result, severity and policy: "every failed result with severity high or critical") and
// `summaries` (counts by namespace, policy, severity and result), cluster-wide or per namespace, from the
// store's `report_results` view (docs/reports-sql.md). Read-only, `list` only, authorised like everything
// else — and the rows are limited to reports the caller may list: namespaced rows only from namespaces where
// the caller may list both policyreports.wgpolicyk8s.io and reports.openreports.io, cluster-scoped rows only
// when the caller may list both cluster-scoped kinds.
import type { ServerResponse } from 'node:http';
import type { ReportStorage, ResultQuery } from '../storage/types.ts';
import { sendJson } from './handlers.ts';
import { badRequest } from './status.ts';

export const ANALYTICS_GROUP = 'reports.argus.io';
export const ANALYTICS_VERSION = 'v1alpha1';
const groupVersion = `${ANALYTICS_GROUP}/${ANALYTICS_VERSION}`;

export type AnalyticsRoute =
  { kind: 'group' } | { kind: 'resources' } | { kind: 'query'; resource: 'results' | 'summaries'; namespace: string };

/** The analytics route of a path, or undefined when the path is not one. */
export function analyticsRoute(pathname: string): AnalyticsRoute | undefined {
  const path = pathname.replace(/\/+$/, '');
  if (path === `/apis/${ANALYTICS_GROUP}`) return { kind: 'group' };
  if (path === `/apis/${groupVersion}`) return { kind: 'resources' };
  const m = new RegExp(
    `^/apis/${groupVersion.replaceAll('.', '\\.')}(?:/namespaces/([^/]+))?/(results|summaries)$`,
  ).exec(path);
  if (!m) return undefined;
  return { kind: 'query', resource: m[2] as 'results' | 'summaries', namespace: m[1] ? decodeURIComponent(m[1]) : '' };
}

export const analyticsGroup = {
  name: ANALYTICS_GROUP,
  versions: [{ groupVersion, version: ANALYTICS_VERSION }],
  preferredVersion: { groupVersion, version: ANALYTICS_VERSION },
};

const resources = [
  { name: 'results', singularName: 'result', kind: 'Result' },
  { name: 'summaries', singularName: 'summary', kind: 'ResultSummary' },
];

export const analyticsResourceList = () => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion,
  resources: resources.map((r) => ({ ...r, namespaced: true, verbs: ['list'] })),
});

export const analyticsDiscoveryItem = () => ({
  metadata: { name: ANALYTICS_GROUP, creationTimestamp: null },
  versions: [
    {
      version: ANALYTICS_VERSION,
      resources: resources.map((r) => ({
        resource: r.name,
        responseKind: { group: ANALYTICS_GROUP, version: ANALYTICS_VERSION, kind: r.kind },
        scope: 'Namespaced',
        singularResource: r.singularName,
        verbs: ['list'],
      })),
      freshness: 'Current',
    },
  ],
});

/** May the caller list `resource` of `group` in `namespace` ('' = cluster-wide)? */
export type Can = (group: string, resource: string, namespace: string) => Promise<boolean>;

const list = (query: URLSearchParams, name: string): string[] | undefined => {
  const values = query
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return values.length ? values : undefined;
};

/**
 * The namespaces (undefined: all) and whether cluster-scoped reports are readable for the caller, limited
 * to `namespace` when the request names one.
 */
async function visibility(
  can: Can,
  namespace: string,
  allNamespaces: () => Promise<string[]>,
): Promise<{ namespaces: string[] | undefined; clusterScoped: boolean }> {
  const both = async (ns: string, wg: string, open: string): Promise<boolean> =>
    (await can('wgpolicyk8s.io', wg, ns)) && (await can('openreports.io', open, ns));
  if (namespace) {
    return { namespaces: (await both(namespace, 'policyreports', 'reports')) ? [namespace] : [], clusterScoped: false };
  }
  const clusterScoped = await both('', 'clusterpolicyreports', 'clusterreports');
  if (await both('', 'policyreports', 'reports')) return { namespaces: undefined, clusterScoped };
  const allowed: string[] = [];
  for (const ns of await allNamespaces()) if (await both(ns, 'policyreports', 'reports')) allowed.push(ns);
  return { namespaces: allowed, clusterScoped };
}

export async function serveAnalytics(
  res: ServerResponse,
  route: Extract<AnalyticsRoute, { kind: 'query' }>,
  query: URLSearchParams,
  storage: ReportStorage,
  can: Can,
  allNamespaces: () => Promise<string[]>,
): Promise<void> {
  const filter: ResultQuery = { ...(await visibility(can, route.namespace, allNamespaces)) };
  const result = list(query, 'result');
  const severity = list(query, 'severity');
  const policy = list(query, 'policy');
  if (result) filter.result = result;
  if (severity) filter.severity = severity;
  if (policy) filter.policy = policy;
  if (route.resource === 'summaries') {
    const items = await storage.summarizeResults(filter);
    return sendJson(res, 200, { apiVersion: groupVersion, kind: 'ResultSummaryList', metadata: {}, items });
  }
  const limitText = query.get('limit');
  if (limitText) {
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit <= 0) throw badRequest(`limit: invalid value "${limitText}"`);
    filter.limit = Math.min(limit, 10_000);
  }
  const items = await storage.queryResults(filter);
  sendJson(res, 200, { apiVersion: groupVersion, kind: 'ResultList', metadata: {}, items });
}
