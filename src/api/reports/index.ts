// The four report types served by the reports API, each defined once: its schema (TS type, OpenAPI v3 and CRD
// are derived from it), names, scope, printer columns, the fields usable in field selectors, and validation
// with Kubernetes field paths.
import type { TSchema } from 'typebox';
import { crdYaml, customResourceDefinition, openAPISchema, type CrdSpec, type JSONSchemaProps } from '../crd.ts';
import { validateObjectMeta } from '../meta.ts';
import { schemaErrors, type FieldError } from '../validation.ts';
import { clusterReportCrd, reportCrd } from './openreports.ts';
import { clusterPolicyReportCrd, policyReportCrd } from './wgpolicyk8s.ts';

export * from './common.ts';
export * from './openreports.ts';
export * from './wgpolicyk8s.ts';

export interface ReportType {
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  /** The resource (plural) name, e.g. `policyreports`. */
  resource: string;
  namespaced: boolean;
  crd: CrdSpec;
  schema: TSchema;
  /** Field-selector fields beyond `metadata.name` and `metadata.namespace`, and how to read each. */
  selectableFields: Record<string, (object: Record<string, unknown>) => string | undefined>;
}

const scopeField = (key: string) => (o: Record<string, unknown>) => str((o.scope as Record<string, unknown>)?.[key]);
const summaryField = (key: string) => (o: Record<string, unknown>) =>
  str((o.summary as Record<string, unknown>)?.[key]);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** Field selectors every report type supports (besides metadata.name and metadata.namespace). */
const commonSelectableFields: ReportType['selectableFields'] = {
  'scope.apiVersion': scopeField('apiVersion'),
  'scope.kind': scopeField('kind'),
  'scope.name': scopeField('name'),
  'scope.namespace': scopeField('namespace'),
  'scope.uid': scopeField('uid'),
  'summary.pass': summaryField('pass'),
  'summary.fail': summaryField('fail'),
  'summary.warn': summaryField('warn'),
  'summary.error': summaryField('error'),
  'summary.skip': summaryField('skip'),
};

function define(crd: CrdSpec, extraFields: ReportType['selectableFields'] = {}): ReportType {
  const version = crd.versions[0]!;
  return {
    group: crd.group,
    version: version.name,
    apiVersion: `${crd.group}/${version.name}`,
    kind: crd.names.kind,
    resource: crd.names.plural,
    namespaced: crd.scope === 'Namespaced',
    crd,
    schema: version.schema,
    selectableFields: { ...commonSelectableFields, ...extraFields },
  };
}

export const policyReportType = define(policyReportCrd);
export const clusterPolicyReportType = define(clusterPolicyReportCrd);
export const reportType = define(reportCrd, { source: (o) => str(o.source) });
export const clusterReportType = define(clusterReportCrd, { source: (o) => str(o.source) });

/** Every report type, in the order of discovery. */
export const reportTypes: readonly ReportType[] = [
  policyReportType,
  clusterPolicyReportType,
  reportType,
  clusterReportType,
];

/** Every way `object` is not a valid `type` object: schema, apiVersion/kind and metadata, with field paths. */
export function validateReport(type: ReportType, object: unknown): FieldError[] {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    return [{ field: '', message: `must be a ${type.kind} object` }];
  }
  const o = object as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (o.apiVersion !== undefined && o.apiVersion !== type.apiVersion) {
    errors.push({
      field: 'apiVersion',
      message: `Invalid value: ${JSON.stringify(o.apiVersion)}: must be ${type.apiVersion}`,
    });
  }
  if (o.kind !== undefined && o.kind !== type.kind) {
    errors.push({ field: 'kind', message: `Invalid value: ${JSON.stringify(o.kind)}: must be ${type.kind}` });
  }
  errors.push(...validateObjectMeta(o.metadata, { namespaced: type.namespaced }));
  errors.push(...schemaErrors(type.schema, object).filter((e) => e.field !== 'metadata'));
  return errors;
}

/** The OpenAPI v3 schema of a report type (for /openapi/v3 and /openapi/v2 of the API server). */
export const reportOpenAPISchema = (type: ReportType): JSONSchemaProps => openAPISchema(type.schema);

/** The CRDs of all report types (what deploy/crds/ holds), as objects and as YAML file contents. */
export const reportCrds = (): JSONSchemaProps[] => reportTypes.map((t) => customResourceDefinition(t.crd));
export const reportCrdFiles = (): Map<string, string> =>
  new Map(reportTypes.map((t) => [`${t.group}_${t.resource}.yaml`, crdYaml(t.crd)]));
