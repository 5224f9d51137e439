// Parts shared by wgpolicyk8s.io/v1alpha2 and openreports.io/v1alpha1 reports: results, summary, printer
// columns and the report-level fields. Both groups define the same layout; openreports adds a report-level
// `source` and `configuration`. Field names, enums and required fields follow the upstream CRDs exactly.
import Type, { type TSchema } from 'typebox';
import type { PrinterColumn } from '../crd.ts';
import { LabelSelectorSchema, ObjectReferenceSchema, type ObjectMeta } from '../meta.ts';

export const RESULT_VALUES = ['pass', 'fail', 'warn', 'error', 'skip'] as const;
export const SEVERITY_VALUES = ['critical', 'high', 'low', 'medium', 'info'] as const;
export type ResultValue = (typeof RESULT_VALUES)[number];
export type Severity = (typeof SEVERITY_VALUES)[number];

const atomic = { 'x-kubernetes-map-type': 'atomic' } as const;

export const ScopeReferenceSchema = Type.Object(ObjectReferenceSchema.properties, {
  description: 'The object the report is about (a Deployment, Namespace, Node ...).',
  ...atomic,
});

const SelectorSchema = (description: string): TSchema =>
  Type.Object(LabelSelectorSchema.properties, { description, ...atomic });

export const TimestampSchema = Type.Object(
  {
    nanos: Type.Integer({ format: 'int32', description: 'Non-negative fractions of a second, 0 to 999,999,999.' }),
    seconds: Type.Integer({ format: 'int64', description: 'Seconds of UTC time since the Unix epoch.' }),
  },
  { description: 'When the result was found.' },
);

/** One result of a policy (rule) check; `sourceDescription` differs between the two groups. */
export function resultSchema(sourceDescription: string) {
  return Type.Object(
    {
      category: Type.Optional(Type.String({ description: 'The category of the policy.' })),
      message: Type.Optional(Type.String({ description: 'A short message for people about the result.' })),
      policy: Type.String({ description: 'The name or identifier of the policy.' }),
      properties: Type.Optional(
        Type.Record(Type.String(), Type.String(), { description: 'Further details of the result.' }),
      ),
      resourceSelector: Type.Optional(
        SelectorSchema('A label selector for the checked resources, when the result applies to all that match.'),
      ),
      resources: Type.Optional(
        Type.Array(Type.Object(ObjectReferenceSchema.properties, atomic), {
          description: 'The checked resources.',
        }),
      ),
      result: Type.Optional(
        Type.Unsafe<ResultValue>({
          type: 'string',
          enum: [...RESULT_VALUES],
          description: 'The outcome of the check.',
        }),
      ),
      rule: Type.Optional(Type.String({ description: 'The name or identifier of the rule within the policy.' })),
      scored: Type.Optional(Type.Boolean({ description: 'Whether the result counts toward a score.' })),
      severity: Type.Optional(
        Type.Unsafe<Severity>({
          type: 'string',
          enum: [...SEVERITY_VALUES],
          description: 'How critical a failure of the check is.',
        }),
      ),
      source: Type.Optional(Type.String({ description: sourceDescription })),
      timestamp: Type.Optional(TimestampSchema),
    },
    { description: 'The result of one policy check.' },
  );
}

export const SummarySchema = Type.Object(
  {
    error: Type.Optional(Type.Integer({ description: 'Results that could not be evaluated.' })),
    fail: Type.Optional(Type.Integer({ description: 'Results whose requirements were not met.' })),
    pass: Type.Optional(Type.Integer({ description: 'Results whose requirements were met.' })),
    skip: Type.Optional(Type.Integer({ description: 'Results not selected for evaluation.' })),
    warn: Type.Optional(Type.Integer({ description: 'Results of unscored checks whose requirements were not met.' })),
  },
  { description: 'Counts of the results by outcome.' },
);

/** `metadata` is `type: object` in the CRD (as upstream); ObjectMeta has its own validation. */
export const MetadataSchema = Type.Unsafe<ObjectMeta>({ type: 'object' });

export const apiVersionSchema = Type.String({ description: 'The versioned schema of this object.' });
export const kindSchema = Type.String({ description: 'The REST resource this object represents.' });
export const scopeSelectorSchema = SelectorSchema(
  'A selector for several scopes (e.g. Pods); at most one of scope and scopeSelector is set.',
);

/** Printer columns of every report kind (upstream): Kind and Name only with `-o wide`. */
export const reportPrinterColumns: PrinterColumn[] = [
  { name: 'Kind', type: 'string', jsonPath: '.scope.kind', priority: 1 },
  { name: 'Name', type: 'string', jsonPath: '.scope.name', priority: 1 },
  { name: 'Pass', type: 'integer', jsonPath: '.summary.pass' },
  { name: 'Fail', type: 'integer', jsonPath: '.summary.fail' },
  { name: 'Warn', type: 'integer', jsonPath: '.summary.warn' },
  { name: 'Error', type: 'integer', jsonPath: '.summary.error' },
  { name: 'Skip', type: 'integer', jsonPath: '.summary.skip' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
