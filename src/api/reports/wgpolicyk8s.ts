// wgpolicyk8s.io/v1alpha2 PolicyReport (namespaced) and ClusterPolicyReport (cluster-scoped), as the Policy
// WG's API defines them (and Kyverno, trivy adapters and Policy Reporter use them): no spec or status, the
// report fields at the top level.
import Type, { type Static } from 'typebox';
import type { CrdSpec } from '../crd.ts';
import {
  MetadataSchema,
  ScopeReferenceSchema,
  SummarySchema,
  apiVersionSchema,
  kindSchema,
  reportPrinterColumns,
  resultSchema,
  scopeSelectorSchema,
} from './common.ts';

export const WGPOLICY_GROUP = 'wgpolicyk8s.io';
export const WGPOLICY_VERSION = 'v1alpha2';
export const WGPOLICY_API_VERSION = `${WGPOLICY_GROUP}/${WGPOLICY_VERSION}`;

export const PolicyReportResultSchema = resultSchema('The policy engine that produced the result.');
export type PolicyReportResult = Static<typeof PolicyReportResultSchema>;
export type PolicyReportSummary = Static<typeof SummarySchema>;

const reportSchema = (description: string) =>
  Type.Object(
    {
      apiVersion: Type.Optional(apiVersionSchema),
      kind: Type.Optional(kindSchema),
      metadata: Type.Optional(MetadataSchema),
      results: Type.Optional(Type.Array(PolicyReportResultSchema, { description: 'The results of the report.' })),
      scope: Type.Optional(ScopeReferenceSchema),
      scopeSelector: Type.Optional(scopeSelectorSchema),
      summary: Type.Optional(SummarySchema),
    },
    { description },
  );

export const PolicyReportSchema = reportSchema('PolicyReport holds the results of policy checks in a namespace.');
export const ClusterPolicyReportSchema = reportSchema(
  'ClusterPolicyReport holds the results of policy checks of cluster-scoped resources.',
);
export type PolicyReport = Static<typeof PolicyReportSchema>;
export type ClusterPolicyReport = Static<typeof ClusterPolicyReportSchema>;

export const policyReportCrd: CrdSpec = {
  group: WGPOLICY_GROUP,
  names: { kind: 'PolicyReport', plural: 'policyreports', singular: 'policyreport', shortNames: ['polr'] },
  scope: 'Namespaced',
  versions: [{ name: WGPOLICY_VERSION, schema: PolicyReportSchema, printerColumns: reportPrinterColumns }],
};

export const clusterPolicyReportCrd: CrdSpec = {
  group: WGPOLICY_GROUP,
  names: {
    kind: 'ClusterPolicyReport',
    plural: 'clusterpolicyreports',
    singular: 'clusterpolicyreport',
    shortNames: ['cpolr'],
  },
  scope: 'Cluster',
  versions: [{ name: WGPOLICY_VERSION, schema: ClusterPolicyReportSchema, printerColumns: reportPrinterColumns }],
};
