// From one TypeBox definition of a Kubernetes type to what the API machinery needs: the OpenAPI v3 schema
// (structural, as CRDs require), a CustomResourceDefinition with printer columns, its YAML, and the pruning of
// unknown fields that kube-apiserver applies to custom resources. Used by the reports API and the operator's
// own types alike.
import type { TSchema } from 'typebox';
import { stringify } from 'yaml';
import { ObjectMetaSchema } from './meta.ts';
import { fieldPath } from './validation.ts';

export type JSONSchemaProps = { [key: string]: unknown };

/**
 * The OpenAPI v3 (structural) form of a TypeBox schema: TypeBox's records (`patternProperties: {"^.*$"}`)
 * become `additionalProperties`, unions of string constants become enums, TypeBox's private keys go.
 */
export function openAPISchema(schema: TSchema): JSONSchemaProps {
  return convert(JSON.parse(JSON.stringify(schema)) as JSONSchemaProps);
}

function convert(node: JSONSchemaProps): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$id' || key === '$schema') continue;
    if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JSONSchemaProps>).map(([k, v]) => [k, convert(v)]),
      );
    } else if (key === 'patternProperties' && value && typeof value === 'object') {
      const entries = Object.values(value as Record<string, JSONSchemaProps>);
      if (entries.length === 1) out.additionalProperties = convert(entries[0]!);
    } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
      out[key] = convert(value as JSONSchemaProps);
    } else if ((key === 'anyOf' || key === 'oneOf' || key === 'allOf') && Array.isArray(value)) {
      const branches = value as JSONSchemaProps[];
      if (branches.every((b) => b.type === 'string' && typeof b.const === 'string')) {
        out.type = 'string';
        out.enum = branches.map((b) => b.const);
      } else out[key] = branches.map(convert);
    } else if (key === 'required' && Array.isArray(value) && value.length === 0) {
      continue;
    } else out[key] = value;
  }
  // Key order as controller-gen writes it, so generated YAML reads like upstream's.
  const order = ['description', 'type', 'format', 'enum', 'items', 'properties', 'additionalProperties', 'required'];
  const sorted: JSONSchemaProps = {};
  for (const key of Object.keys(out).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))) sorted[key] = out[key];
  return sorted;
  function rank(key: string): number {
    const i = order.indexOf(key);
    return i < 0 ? order.length : i;
  }
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

export interface CrdNames {
  kind: string;
  listKind?: string;
  plural: string;
  singular?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface CrdVersion {
  name: string;
  schema: TSchema;
  served?: boolean;
  storage?: boolean;
  printerColumns?: PrinterColumn[];
  subresources?: { status?: boolean };
  /** Fields usable in field selectors (CRD `selectableFields`, JSON paths such as `.spec.color`). */
  selectableFields?: string[];
}

export interface CrdSpec {
  group: string;
  names: CrdNames;
  scope: 'Namespaced' | 'Cluster';
  versions: CrdVersion[];
}

/** An apiextensions.k8s.io/v1 CustomResourceDefinition for `spec`. */
export function customResourceDefinition(spec: CrdSpec): JSONSchemaProps {
  const names: JSONSchemaProps = {
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
    plural: spec.names.plural,
  };
  if (spec.names.shortNames?.length) names.shortNames = spec.names.shortNames;
  if (spec.names.categories?.length) names.categories = spec.names.categories;
  names.singular = spec.names.singular ?? spec.names.kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${spec.names.plural}.${spec.group}` },
    spec: {
      group: spec.group,
      names,
      scope: spec.scope,
      versions: spec.versions.map((v, i) => {
        const version: JSONSchemaProps = {};
        if (v.printerColumns?.length) {
          version.additionalPrinterColumns = v.printerColumns.map((c) => {
            const column: JSONSchemaProps = {};
            if (c.description) column.description = c.description;
            if (c.format) column.format = c.format;
            column.jsonPath = c.jsonPath;
            column.name = c.name;
            if (c.priority) column.priority = c.priority;
            column.type = c.type;
            return column;
          });
        }
        version.name = v.name;
        version.schema = { openAPIV3Schema: openAPISchema(v.schema) };
        if (v.selectableFields?.length) version.selectableFields = v.selectableFields.map((jsonPath) => ({ jsonPath }));
        version.served = v.served ?? true;
        version.storage = v.storage ?? i === 0;
        version.subresources = v.subresources?.status ? { status: {} } : {};
        return version;
      }),
    },
  };
}

/** The CRD as a YAML document (a leading `---`, no line folding), as written to deploy/crds/. */
export function crdYaml(spec: CrdSpec): string {
  return `---\n${stringify(customResourceDefinition(spec), { lineWidth: 0, singleQuote: true })}`;
}

/**
 * Removes the fields `schema` does not know from `value` (in place), as kube-apiserver prunes custom resources,
 * and returns their paths (for a warning, or an error under `fieldValidation=Strict`). `metadata` is pruned
 * against ObjectMeta; objects without `properties`, and `x-kubernetes-preserve-unknown-fields`, keep everything.
 */
export function pruneUnknownFields(schema: TSchema, value: unknown): string[] {
  const root = openAPISchema(schema);
  const unknown: string[] = [];
  const metaSchema = openAPISchema(ObjectMetaSchema);
  walk(root, value, '', true);
  return unknown;

  function walk(node: JSONSchemaProps, v: unknown, pointer: string, top: boolean): void {
    if (node['x-kubernetes-preserve-unknown-fields'] === true) return;
    if (Array.isArray(v)) {
      const items = node.items as JSONSchemaProps | undefined;
      if (items) v.forEach((item, i) => walk(items, item, `${pointer}/${i}`, false));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const record = v as Record<string, unknown>;
    const properties = node.properties as Record<string, JSONSchemaProps> | undefined;
    const additional = node.additionalProperties as JSONSchemaProps | boolean | undefined;
    if (properties) {
      for (const key of Object.keys(record)) {
        const sub = top && key === 'metadata' ? metaSchema : properties[key];
        if (sub) walk(sub, record[key], `${pointer}/${escape(key)}`, false);
        else if (top && (key === 'apiVersion' || key === 'kind')) continue;
        else {
          unknown.push(fieldPath('', `${pointer}/${escape(key)}`));
          delete record[key];
        }
      }
    } else if (additional && typeof additional === 'object') {
      for (const key of Object.keys(record)) walk(additional, record[key], `${pointer}/${escape(key)}`, false);
    }
  }
}

const escape = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');
