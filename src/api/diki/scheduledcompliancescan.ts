// ScheduledComplianceScan (GEP-0063): creates ComplianceScans on a cron schedule, as a CronJob creates Jobs.
// Cluster-scoped; one active child at a time; history limits. Argus adds timeZone, maxJitterSeconds, suspend
// and startingDeadlineSeconds (ADR 0014).
import Type, { type Static } from 'typebox';
import type { CrdSpec, PrinterColumn } from '../crd.ts';
import { ObjectReferenceSchema } from '../meta.ts';
import { DIKI_CATEGORIES, DIKI_GROUP, DIKI_VERSION, MetadataSchema, apiVersionSchema, kindSchema } from './common.ts';
import { complianceScanSpecSchema } from './compliancescan.ts';

export const DEFAULT_SCHEDULE = '0 0 * * 0';
export const DEFAULT_SUCCESSFUL_HISTORY_LIMIT = 3;
export const DEFAULT_FAILED_HISTORY_LIMIT = 1;
/** Upper bound of maxJitterSeconds in the schema (a day); validate.ts also bounds it by the schedule's interval. */
export const MAX_JITTER_SECONDS = 86_400;

/** Labels on every child ComplianceScan. */
export const SCHEDULED_SCAN_NAME_LABEL = 'scheduledcompliancescan.diki.gardener.cloud/name';
export const SCHEDULED_SCAN_UID_LABEL = 'scheduledcompliancescan.diki.gardener.cloud/uid';

export const ScheduledComplianceScanSpecSchema = Type.Object(
  {
    schedule: Type.Optional(
      Type.String({
        minLength: 1,
        default: DEFAULT_SCHEDULE,
        description: 'Cron schedule (five fields or @hourly/@daily/@weekly/@monthly/@yearly); default weekly.',
      }),
    ),
    timeZone: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'IANA time zone of the schedule (e.g. Europe/Berlin); default the operator’s (UTC).',
      }),
    ),
    maxJitterSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_JITTER_SECONDS,
        default: 0,
        description:
          'Each scan starts up to this many seconds after its scheduled time, an offset fixed per object and ' +
          'schedule time, so a fleet with one schedule does not scan at once; 0 (default) starts on time.',
      }),
    ),
    suspend: Type.Optional(
      Type.Boolean({ default: false, description: 'When true no new scans are created; running ones go on.' }),
    ),
    startingDeadlineSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'A scan missed (e.g. while the operator was down) starts late only within this many seconds of its ' +
          'time; absent: the latest missed scan always starts, as CronJob does.',
      }),
    ),
    successfulScansHistoryLimit: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: DEFAULT_SUCCESSFUL_HISTORY_LIMIT,
        description: 'Completed scans to keep (default 3).',
      }),
    ),
    failedScansHistoryLimit: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: DEFAULT_FAILED_HISTORY_LIMIT,
        description: 'Failed scans to keep (default 1).',
      }),
    ),
    scanTemplate: Type.Optional(
      Type.Object(
        {
          spec: Type.Optional(complianceScanSpecSchema({ description: 'The spec of each ComplianceScan created.' })),
        },
        { description: 'The ComplianceScans to create.', default: {} },
      ),
    ),
  },
  { description: 'When to scan and what.', default: {} },
);
export type ScheduledComplianceScanSpec = Static<typeof ScheduledComplianceScanSpecSchema>;

export const ScheduledComplianceScanStatusSchema = Type.Object(
  {
    active: Type.Optional(
      Type.Object(ObjectReferenceSchema.properties, {
        description: 'The ComplianceScan running now, if any.',
        'x-kubernetes-map-type': 'atomic',
      }),
    ),
    lastScheduleTime: Type.Optional(
      Type.String({ format: 'date-time', description: 'When the last scan was created.' }),
    ),
    lastCompletionTime: Type.Optional(
      Type.String({ format: 'date-time', description: 'When the last scan finished.' }),
    ),
  },
  { description: 'Scheduling state, written by the operator.' },
);
export type ScheduledComplianceScanStatus = Static<typeof ScheduledComplianceScanStatusSchema>;

export const ScheduledComplianceScanSchema = Type.Object(
  {
    apiVersion: Type.Optional(apiVersionSchema),
    kind: Type.Optional(kindSchema),
    metadata: Type.Optional(MetadataSchema),
    spec: Type.Optional(ScheduledComplianceScanSpecSchema),
    status: Type.Optional(ScheduledComplianceScanStatusSchema),
  },
  { description: 'ScheduledComplianceScan creates ComplianceScans on a schedule.' },
);
export type ScheduledComplianceScan = Static<typeof ScheduledComplianceScanSchema>;

export const scheduledComplianceScanPrinterColumns: PrinterColumn[] = [
  { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
  { name: 'Timezone', type: 'string', jsonPath: '.spec.timeZone' },
  { name: 'Suspend', type: 'boolean', jsonPath: '.spec.suspend' },
  { name: 'Active', type: 'string', jsonPath: '.status.active.name' },
  { name: 'Last Schedule', type: 'date', jsonPath: '.status.lastScheduleTime' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export const scheduledComplianceScanCrd: CrdSpec = {
  group: DIKI_GROUP,
  names: {
    kind: 'ScheduledComplianceScan',
    plural: 'scheduledcompliancescans',
    singular: 'scheduledcompliancescan',
    shortNames: ['scscan'],
    categories: DIKI_CATEGORIES,
  },
  scope: 'Cluster',
  versions: [
    {
      name: DIKI_VERSION,
      schema: ScheduledComplianceScanSchema,
      printerColumns: scheduledComplianceScanPrinterColumns,
      subresources: { status: true },
    },
  ],
};
