// The resource types the server serves, with what the HTTP layer needs beyond the store's view: names for
// discovery (singular, short names, categories, list kind), printer columns for Tables and the schema for
// OpenAPI and pruning. Defined once in src/api/reports; the store's strategies in storage/reports.ts.
import type { TSchema } from 'typebox';
import type { PrinterColumn } from '../../api/crd.ts';
import { reportTypes, type ReportType } from '../../api/reports/index.ts';
import { reportResource } from '../storage/reports.ts';
import type { ResourceType } from '../storage/types.ts';

export interface ServedType {
  /** The store's view (identity, validation, selectable fields). */
  type: ResourceType;
  singular: string;
  shortNames: string[];
  categories: string[];
  listKind: string;
  printerColumns: PrinterColumn[];
  schema: TSchema;
}

export function servedType(report: ReportType, type: ResourceType = reportResource(report)): ServedType {
  const names = report.crd.names;
  return {
    type,
    singular: names.singular ?? report.kind.toLowerCase(),
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    listKind: names.listKind ?? `${report.kind}List`,
    printerColumns: report.crd.versions[0]?.printerColumns ?? [],
    schema: report.schema,
  };
}

/** The four report types, matched to the store's types by group and resource. */
export function servedReportTypes(storeTypes: readonly ResourceType[]): ServedType[] {
  return storeTypes.map((type) => {
    const report = reportTypes.find((r) => r.group === type.group && r.resource === type.resource);
    if (!report) throw new Error(`no API definition for ${type.resource}.${type.group}`);
    return servedType(report, type);
  });
}

export const apiVersionOf = (t: ResourceType): string => `${t.group}/${t.version}`;

/** The groups and versions of `served`, in order of first appearance. */
export function groupsOf(served: readonly ServedType[]): { group: string; versions: string[] }[] {
  const groups: { group: string; versions: string[] }[] = [];
  for (const { type } of served) {
    let g = groups.find((x) => x.group === type.group);
    if (!g) groups.push((g = { group: type.group, versions: [] }));
    if (!g.versions.includes(type.version)) g.versions.push(type.version);
  }
  return groups;
}
