// ComplianceScan (GEP-0063): one scan of the cluster by the rulesets in its spec. Cluster-scoped, spec immutable;
// the operator runs it in a Job and writes a summary per ruleset to status, the report to the outputs.
import Type, { type Static } from 'typebox';
import type { CrdSpec, PrinterColumn } from '../crd.ts';
import {
  ConfigMapKeyRefSchema,
  DIKI_CATEGORIES,
  DIKI_GROUP,
  DIKI_VERSION,
  MetadataSchema,
  apiVersionSchema,
  conditionSchema,
  immutable,
  kindSchema,
  nonEmpty,
} from './common.ts';

export const SCAN_PHASES = ['Pending', 'Running', 'Completed', 'Failed'] as const;
export type ScanPhase = (typeof SCAN_PHASES)[number];
export const OUTPUT_PHASES = ['Completed', 'Failed'] as const;
export const SCAN_CONDITION_TYPES = ['Completed', 'Failed'] as const;

const configMapOption = (description: string) =>
  Type.Object({ configMapRef: Type.Optional(ConfigMapKeyRefSchema) }, { description });

export const RulesetSelectionSchema = Type.Object(
  {
    id: nonEmpty('ID of the ruleset, e.g. disa-kubernetes-stig.'),
    version: Type.Optional(
      Type.String({ description: 'Version of the ruleset, e.g. v2r6; defaults to the latest the scanner provides.' }),
    ),
    options: Type.Optional(
      Type.Object(
        {
          ruleset: Type.Optional(
            configMapOption('Ruleset options (diki `args`), from a ConfigMap key (default key `<rulesetID>`).'),
          ),
          rules: Type.Optional(
            configMapOption(
              'Rule options (diki `ruleOptions`), from a ConfigMap key (default key `<rulesetID>-rules`).',
            ),
          ),
        },
        { description: 'Options merged over the defaults the operator ships.' },
      ),
    ),
  },
  { description: 'A ruleset to run.' },
);
export type RulesetSelection = Static<typeof RulesetSelectionSchema>;

export const ScanOutputRefSchema = Type.Object(
  {
    name: nonEmpty('Name of a ReportOutput.'),
    optional: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'When true a failure of this output only warns; otherwise it fails the scan.',
      }),
    ),
  },
  { description: 'A ReportOutput that receives the report.' },
);
export type ScanOutputRef = Static<typeof ScanOutputRefSchema>;

const complianceScanSpecProperties = {
  dikiVersion: Type.Optional(
    Type.String({
      description:
        'Version of the scanner to run: the Argus version (`0.1.0`) or its minor (`0.1`, `v0.1`). Empty runs the ' +
        "operator's own version; any other value is rejected.",
    }),
  ),
  rulesets: Type.Optional(
    Type.Array(RulesetSelectionSchema, {
      description: 'Rulesets to run; empty or absent runs every ruleset the scanner provides at its latest version.',
    }),
  ),
  outputs: Type.Optional(
    Type.Array(ScanOutputRefSchema, {
      description: 'Where the full report goes; the summary is always in status.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
  ),
};

/** The spec of a ComplianceScan (also the template of a ScheduledComplianceScan, without immutability). */
export const complianceScanSpecSchema = (options: Record<string, unknown> = {}) =>
  Type.Object(complianceScanSpecProperties, {
    description: 'What to scan with and where the report goes.',
    default: {},
    ...options,
  });

export const ComplianceScanSpecSchema = complianceScanSpecSchema();
export type ComplianceScanSpec = Static<typeof ComplianceScanSpecSchema>;

const RuleRefSchema = Type.Object({
  id: Type.String({ description: 'ID of the rule.' }),
  name: Type.String({ description: 'Name of the rule.' }),
});

export const RulesetSummarySchema = Type.Object(
  {
    id: Type.String({ description: 'ID of the ruleset.' }),
    version: Type.String({ description: 'Version of the ruleset.' }),
    results: Type.Optional(
      Type.Object({
        summary: Type.Optional(
          Type.Object(
            {
              passed: Type.Optional(Type.Integer({ minimum: 0 })),
              failed: Type.Optional(Type.Integer({ minimum: 0 })),
              warning: Type.Optional(Type.Integer({ minimum: 0 })),
              errored: Type.Optional(Type.Integer({ minimum: 0 })),
              skipped: Type.Optional(Type.Integer({ minimum: 0 })),
              accepted: Type.Optional(Type.Integer({ minimum: 0 })),
            },
            {
              description:
                'Rules by status; a rule counts under every status one of its checks has, so the numbers need not add up.',
            },
          ),
        ),
        rules: Type.Optional(
          Type.Object(
            {
              failed: Type.Optional(Type.Array(RuleRefSchema)),
              errored: Type.Optional(Type.Array(RuleRefSchema)),
              warning: Type.Optional(Type.Array(RuleRefSchema)),
            },
            { description: 'The rules with a failed, errored or warning check.' },
          ),
        ),
      }),
    ),
  },
  { description: 'The outcome of one ruleset.' },
);
export type RulesetSummary = Static<typeof RulesetSummarySchema>;

export const OutputDetailsSchema = Type.Object(
  {
    configMapRef: Type.Optional(Type.Object({ name: Type.String(), namespace: Type.String() })),
    postgresRef: Type.Optional(
      Type.Object({
        url: Type.String(),
        database: Type.String(),
        table: Type.String(),
        recordId: Type.String({ description: 'ID of the report row.' }),
      }),
    ),
    openSearchRef: Type.Optional(Type.Object({ url: Type.String(), index: Type.String(), documentId: Type.String() })),
    webhookRef: Type.Optional(Type.Object({ url: Type.String() })),
    reportsAPIRef: Type.Optional(
      Type.Object({
        apiVersion: Type.String({ description: 'API version of the reports written.' }),
        reports: Type.Optional(Type.Integer({ minimum: 0, description: 'How many reports were written.' })),
      }),
    ),
  },
  { description: 'Where the output put the report (one of the references, by output type).' },
);

export const OutputStatusSchema = Type.Object(
  {
    outputName: Type.String({ description: 'Name of the ReportOutput.' }),
    phase: Type.Unsafe<(typeof OUTPUT_PHASES)[number]>({ type: 'string', enum: [...OUTPUT_PHASES] }),
    reason: Type.Optional(Type.String({ description: 'Why the output failed, in CamelCase.' })),
    message: Type.Optional(Type.String({ description: 'Why the output failed, for people.' })),
    details: Type.Optional(OutputDetailsSchema),
  },
  { description: 'What one output did with the report.' },
);
export type OutputStatus = Static<typeof OutputStatusSchema>;

const count = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));

/** Argus: totals over status.rulesets, so `kubectl get cscan` can show them (printer columns show one value). */
export const ScanSummarySchema = Type.Object(
  {
    rulesets: Type.Optional(
      Type.String({ description: 'The rulesets run, `id@version` separated by commas (for kubectl get).' }),
    ),
    passed: count('Sum of the rulesets’ passed counts.'),
    failed: count('Sum of the rulesets’ failed counts.'),
    warning: count('Sum of the rulesets’ warning counts.'),
    errored: count('Sum of the rulesets’ errored counts.'),
    skipped: count('Sum of the rulesets’ skipped counts.'),
    accepted: count('Sum of the rulesets’ accepted counts.'),
  },
  { description: 'Totals over all rulesets (Argus addition).' },
);
export type ScanSummary = Static<typeof ScanSummarySchema>;

const SUMMARY_KEYS = ['passed', 'failed', 'warning', 'errored', 'skipped', 'accepted'] as const;

/** status.summary from status.rulesets: the ruleset list and each count summed. */
export function scanSummary(rulesets: readonly RulesetSummary[]): ScanSummary {
  const summary: ScanSummary = { rulesets: rulesets.map((r) => `${r.id}@${r.version}`).join(',') };
  for (const key of SUMMARY_KEYS) summary[key] = rulesets.reduce((n, r) => n + (r.results?.summary?.[key] ?? 0), 0);
  return summary;
}

export const ScanConditionSchema = conditionSchema(SCAN_CONDITION_TYPES);
export type ScanCondition = Static<typeof ScanConditionSchema>;

export const ComplianceScanStatusSchema = Type.Object(
  {
    phase: Type.Optional(Type.Unsafe<ScanPhase>({ type: 'string', enum: [...SCAN_PHASES] })),
    conditions: Type.Optional(
      Type.Array(ScanConditionSchema, {
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    outputs: Type.Optional(Type.Array(OutputStatusSchema)),
    rulesets: Type.Optional(Type.Array(RulesetSummarySchema)),
    summary: Type.Optional(ScanSummarySchema),
  },
  { description: 'Progress and summary of the scan, written by the operator.' },
);
export type ComplianceScanStatus = Static<typeof ComplianceScanStatusSchema>;

export const ComplianceScanSchema = Type.Object(
  {
    apiVersion: Type.Optional(apiVersionSchema),
    kind: Type.Optional(kindSchema),
    metadata: Type.Optional(MetadataSchema),
    spec: Type.Optional(complianceScanSpecSchema(immutable('spec'))),
    status: Type.Optional(ComplianceScanStatusSchema),
  },
  { description: 'ComplianceScan runs compliance rulesets against the cluster once.' },
);
export type ComplianceScan = Static<typeof ComplianceScanSchema>;

/**
 * `kubectl get cscan`: phase, the rulesets run and the passed and failed rules over all of them (from
 * status.summary: a printer column shows only the first value of a list). Warning and errored with `-o wide`.
 */
export const complianceScanPrinterColumns: PrinterColumn[] = [
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  { name: 'Rulesets', type: 'string', jsonPath: '.status.summary.rulesets' },
  { name: 'Passed', type: 'integer', jsonPath: '.status.summary.passed' },
  { name: 'Failed', type: 'integer', jsonPath: '.status.summary.failed' },
  { name: 'Warning', type: 'integer', jsonPath: '.status.summary.warning', priority: 1 },
  { name: 'Errored', type: 'integer', jsonPath: '.status.summary.errored', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export const complianceScanCrd: CrdSpec = {
  group: DIKI_GROUP,
  names: {
    kind: 'ComplianceScan',
    plural: 'compliancescans',
    singular: 'compliancescan',
    shortNames: ['cscan'],
    categories: DIKI_CATEGORIES,
  },
  scope: 'Cluster',
  versions: [
    {
      name: DIKI_VERSION,
      schema: ComplianceScanSchema,
      printerColumns: complianceScanPrinterColumns,
      subresources: { status: true },
    },
  ],
};
