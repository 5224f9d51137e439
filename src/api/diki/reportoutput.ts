// ReportOutput (GEP-0063): where a scan's full report goes. Cluster-scoped, spec immutable, exactly one output
// type: configMap, postgresql, openSearch, webhook (GEP) or reportsAPI (Argus: PolicyReports through the reports
// API server). Credentials stay in Secrets on the runner side; scans refer to outputs by name.
import Type, { type Static } from 'typebox';
import type { CrdSpec, PrinterColumn } from '../crd.ts';
import {
  CredentialsRefSchema,
  DIKI_CATEGORIES,
  DIKI_GROUP,
  DIKI_VERSION,
  MetadataSchema,
  TLSSchema,
  apiVersionSchema,
  immutable,
  kindSchema,
  nonEmpty,
} from './common.ts';

export const OUTPUT_TYPES = ['configMap', 'postgresql', 'openSearch', 'webhook', 'reportsAPI'] as const;
export type OutputType = (typeof OUTPUT_TYPES)[number];

export const DEFAULT_CONFIGMAP_NAMESPACE = 'kube-system';
export const DEFAULT_CONFIGMAP_NAME_PREFIX = 'compliance-scan-report-';
export const REPORTS_API_VERSIONS = ['wgpolicyk8s.io/v1alpha2', 'openreports.io/v1alpha1'] as const;
export const DEFAULT_REPORTS_API_NAME_PREFIX = 'argus-';

export const ConfigMapOutputSchema = Type.Object(
  {
    namespace: Type.Optional(
      Type.String({ default: DEFAULT_CONFIGMAP_NAMESPACE, description: 'Namespace of the report ConfigMaps.' }),
    ),
    namePrefix: Type.Optional(
      Type.String({
        default: DEFAULT_CONFIGMAP_NAME_PREFIX,
        description: 'Prefix of the ConfigMap names (the scan name follows); the report is gzipped in binaryData.',
      }),
    ),
  },
  { description: 'The report in a ConfigMap, gzipped into binaryData["report.json.gz"] (at most 1 MiB).' },
);

export const PostgreSQLOutputSchema = Type.Object(
  {
    url: nonEmpty('Server URL, postgres://host[:port] (credentials come from credentialsRef).'),
    database: nonEmpty('Database name.'),
    table: nonEmpty('Table of the reports (`name` or `schema.name`); created if missing.'),
    credentialsRef: Type.Optional(CredentialsRefSchema),
    tls: Type.Optional(TLSSchema),
  },
  { description: 'One row per report and one per result in PostgreSQL.' },
);

export const OpenSearchOutputSchema = Type.Object(
  {
    url: nonEmpty('Server URL, http(s)://host[:port].'),
    index: nonEmpty('Index of the report documents.'),
    credentialsRef: Type.Optional(CredentialsRefSchema),
    tls: Type.Optional(TLSSchema),
  },
  { description: 'One document per report in OpenSearch.' },
);

export const WebhookOutputSchema = Type.Object(
  {
    url: nonEmpty('HTTPS URL the report is POSTed to.'),
    credentialsRef: Type.Optional(CredentialsRefSchema),
    tls: Type.Optional(TLSSchema),
  },
  { description: 'The report POSTed over HTTPS with retries and an HMAC signature header.' },
);

export const ReportsAPIOutputSchema = Type.Object(
  {
    apiVersion: Type.Optional(
      Type.Unsafe<(typeof REPORTS_API_VERSIONS)[number]>({
        type: 'string',
        enum: [...REPORTS_API_VERSIONS],
        default: REPORTS_API_VERSIONS[0],
        description: 'Report types to write: wgpolicyk8s.io/v1alpha2 (default) or openreports.io/v1alpha1.',
      }),
    ),
    namePrefix: Type.Optional(
      Type.String({
        default: DEFAULT_REPORTS_API_NAME_PREFIX,
        description: 'Prefix of the report names (the ruleset id follows).',
      }),
    ),
  },
  {
    description:
      'The report as PolicyReports (one per namespace with findings) and a ClusterPolicyReport per ruleset, ' +
      'upserted through the reports API server.',
  },
);

const exactlyOne = OUTPUT_TYPES.map((t) => `has(self.${t})`).join(', ');

export const OutputSchema = Type.Object(
  {
    configMap: Type.Optional(ConfigMapOutputSchema),
    postgresql: Type.Optional(PostgreSQLOutputSchema),
    openSearch: Type.Optional(OpenSearchOutputSchema),
    webhook: Type.Optional(WebhookOutputSchema),
    reportsAPI: Type.Optional(ReportsAPIOutputSchema),
  },
  {
    description: `Exactly one of ${OUTPUT_TYPES.join(', ')}.`,
    'x-kubernetes-validations': [
      {
        rule: `[${exactlyOne}].filter(x, x).size() == 1`,
        message: `exactly one of ${OUTPUT_TYPES.join(', ')} must be set`,
      },
    ],
  },
);
export type Output = Static<typeof OutputSchema>;

export const ReportOutputSpecSchema = Type.Object(
  { output: OutputSchema },
  { description: 'Where reports go.', ...immutable('spec') },
);
export type ReportOutputSpec = Static<typeof ReportOutputSpecSchema>;

export const ReportOutputSchema = Type.Object(
  {
    apiVersion: Type.Optional(apiVersionSchema),
    kind: Type.Optional(kindSchema),
    metadata: Type.Optional(MetadataSchema),
    spec: ReportOutputSpecSchema,
  },
  { description: 'ReportOutput is a destination for compliance reports.' },
);
export type ReportOutput = Static<typeof ReportOutputSchema>;

/** The output type set in `output` (the first, when several are: validation rejects those). */
export const outputType = (output: Output | undefined): OutputType | undefined =>
  OUTPUT_TYPES.find((t) => output?.[t] !== undefined);

/**
 * `kubectl get ro`: the output as JSON, which starts with its type (`{"configMap":{...}}`): a printer column can
 * show a value but not the name of the one key set.
 */
export const reportOutputPrinterColumns: PrinterColumn[] = [
  { name: 'Output', type: 'string', jsonPath: '.spec.output' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export const reportOutputCrd: CrdSpec = {
  group: DIKI_GROUP,
  names: {
    kind: 'ReportOutput',
    plural: 'reportoutputs',
    singular: 'reportoutput',
    shortNames: ['ro'],
    categories: DIKI_CATEGORIES,
  },
  scope: 'Cluster',
  versions: [{ name: DIKI_VERSION, schema: ReportOutputSchema, printerColumns: reportOutputPrinterColumns }],
};
