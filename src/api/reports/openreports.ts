// openreports.io/v1alpha1 Report (namespaced) and ClusterReport (cluster-scoped): the wgpolicyk8s.io layout
// plus a report-level `source` (a result's own `source` overrides it) and `configuration.limits`.
import Type, { type Static } from 'typebox';
import type { CrdSpec } from '../crd.ts';
import {
  MetadataSchema,
  RESULT_VALUES,
  type ResultValue,
  ScopeReferenceSchema,
  SummarySchema,
  apiVersionSchema,
  kindSchema,
  reportPrinterColumns,
  resultSchema,
  scopeSelectorSchema,
} from './common.ts';

export const OPENREPORTS_GROUP = 'openreports.io';
export const OPENREPORTS_VERSION = 'v1alpha1';
export const OPENREPORTS_API_VERSION = `${OPENREPORTS_GROUP}/${OPENREPORTS_VERSION}`;

export const ReportResultSchema = resultSchema(
  "The engine or scanner that produced the result; overrides the report's source.",
);
export type ReportResult = Static<typeof ReportResultSchema>;

export const ReportConfigurationSchema = Type.Object(
  {
    limits: Type.Object({
      maxResults: Type.Optional(Type.Integer({ description: 'The most results the report holds.' })),
      statusFilter: Type.Optional(
        Type.Array(
          Type.Unsafe<ResultValue>({
            type: 'string',
            enum: [...RESULT_VALUES],
            description: 'A result value the report generator writes.',
          }),
          { description: 'The report holds only results with these values.' },
        ),
      ),
    }),
  },
  { description: 'A contract between report generators and consumers.' },
);

const reportSchema = (description: string) =>
  Type.Object(
    {
      apiVersion: Type.Optional(apiVersionSchema),
      configuration: Type.Optional(ReportConfigurationSchema),
      kind: Type.Optional(kindSchema),
      metadata: Type.Optional(MetadataSchema),
      results: Type.Optional(Type.Array(ReportResultSchema, { description: 'The results of the report.' })),
      scope: Type.Optional(ScopeReferenceSchema),
      scopeSelector: Type.Optional(scopeSelectorSchema),
      source: Type.Optional(
        Type.String({ description: 'The engine or scanner that produced the report, when there is one.' }),
      ),
      summary: Type.Optional(SummarySchema),
    },
    { description },
  );

export const ReportSchema = reportSchema('Report holds the results of policy checks in a namespace.');
export const ClusterReportSchema = reportSchema(
  'ClusterReport holds the results of policy checks of cluster-scoped resources.',
);
export type Report = Static<typeof ReportSchema>;
export type ClusterReport = Static<typeof ClusterReportSchema>;

export const reportCrd: CrdSpec = {
  group: OPENREPORTS_GROUP,
  names: { kind: 'Report', plural: 'reports', singular: 'report', shortNames: ['reps'] },
  scope: 'Namespaced',
  versions: [{ name: OPENREPORTS_VERSION, schema: ReportSchema, printerColumns: reportPrinterColumns }],
};

export const clusterReportCrd: CrdSpec = {
  group: OPENREPORTS_GROUP,
  names: { kind: 'ClusterReport', plural: 'clusterreports', singular: 'clusterreport', shortNames: ['creps'] },
  scope: 'Cluster',
  versions: [{ name: OPENREPORTS_VERSION, schema: ClusterReportSchema, printerColumns: reportPrinterColumns }],
};
