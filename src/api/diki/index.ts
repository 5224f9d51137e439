// The diki.gardener.cloud/v1alpha1 types of GEP-0063 (ComplianceScan, ScheduledComplianceScan, ReportOutput),
// each defined once: schema (TS type, OpenAPI v3 and CRD derived from it), names, printer columns, CEL rules.
// Schema validation with field paths is here; the admission checks beyond the schema are in validate.ts.
import type { TSchema } from 'typebox';
import type { ResourceType } from '../../kube/resources.ts';
import { crdYaml, customResourceDefinition, openAPISchema, type CrdSpec, type JSONSchemaProps } from '../crd.ts';
import { complianceScanCrd } from './compliancescan.ts';
import { reportOutputCrd } from './reportoutput.ts';
import { scheduledComplianceScanCrd } from './scheduledcompliancescan.ts';

export * from './common.ts';
export * from './compliancescan.ts';
export * from './reportoutput.ts';
export * from './scheduledcompliancescan.ts';

export interface DikiType {
  apiVersion: string;
  kind: string;
  /** The resource (plural) name, e.g. `compliancescans`. */
  resource: string;
  crd: CrdSpec;
  schema: TSchema;
  /** The address of the resource for src/kube's client and informers. */
  resourceType: ResourceType;
}

function define(crd: CrdSpec): DikiType {
  const version = crd.versions[0]!;
  return {
    apiVersion: `${crd.group}/${version.name}`,
    kind: crd.names.kind,
    resource: crd.names.plural,
    crd,
    schema: version.schema,
    resourceType: {
      group: crd.group,
      version: version.name,
      resource: crd.names.plural,
      kind: crd.names.kind,
      namespaced: crd.scope === 'Namespaced',
    },
  };
}

export const complianceScanType = define(complianceScanCrd);
export const scheduledComplianceScanType = define(scheduledComplianceScanCrd);
export const reportOutputType = define(reportOutputCrd);

/** Every diki type (all cluster-scoped). */
export const dikiTypes: readonly DikiType[] = [complianceScanType, scheduledComplianceScanType, reportOutputType];

/** The OpenAPI v3 schema of a diki type. */
export const dikiOpenAPISchema = (type: DikiType): JSONSchemaProps => openAPISchema(type.schema);

/** The CRDs of the diki types (what deploy/crds/ holds), as objects and as YAML file contents. */
export const dikiCrds = (): JSONSchemaProps[] => dikiTypes.map((t) => customResourceDefinition(t.crd));
export const dikiCrdFiles = (): Map<string, string> =>
  new Map(dikiTypes.map((t) => [`${t.crd.group}_${t.resource}.yaml`, crdYaml(t.crd)]));
