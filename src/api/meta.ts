// Kubernetes object metadata (meta.k8s.io/v1 ObjectMeta, ObjectReference, LabelSelector) as TypeBox schemas,
// and ObjectMeta validation with kube-apiserver's rules and messages (names, labels, annotations, finalizers,
// owner references), so errors name the field (`metadata.labels["a/b"]`) exactly as Kubernetes does.
import Type, { type Static } from 'typebox';
import { fieldPath, type FieldError } from './validation.ts';

const StringMap = Type.Record(Type.String(), Type.String());

export const OwnerReferenceSchema = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  controller: Type.Optional(Type.Boolean()),
  blockOwnerDeletion: Type.Optional(Type.Boolean()),
});
export type OwnerReference = Static<typeof OwnerReferenceSchema>;

export const ObjectMetaSchema = Type.Object({
  name: Type.Optional(Type.String()),
  generateName: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  selfLink: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.String()),
  deletionTimestamp: Type.Optional(Type.String()),
  deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
  labels: Type.Optional(StringMap),
  annotations: Type.Optional(StringMap),
  ownerReferences: Type.Optional(Type.Array(OwnerReferenceSchema)),
  finalizers: Type.Optional(Type.Array(Type.String())),
  managedFields: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
});
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

/** corev1.ObjectReference. */
export const ObjectReferenceSchema = Type.Object({
  apiVersion: Type.Optional(Type.String({ description: 'API version of the referent.' })),
  fieldPath: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
});
export type ObjectReference = Static<typeof ObjectReferenceSchema>;

/** metav1.LabelSelector (as a CRD schema: operator is a free string there; the requirement check is ours). */
export const LabelSelectorSchema = Type.Object({
  matchExpressions: Type.Optional(
    Type.Array(
      Type.Object({
        key: Type.String(),
        operator: Type.String(),
        values: Type.Optional(Type.Array(Type.String())),
      }),
    ),
  ),
  matchLabels: Type.Optional(StringMap),
});
export type LabelSelector = Static<typeof LabelSelectorSchema>;

/** Any Kubernetes object: apiVersion, kind, metadata and whatever else its type defines. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

// --- Validation rules of k8s.io/apimachinery/pkg/util/validation ---------------------------------------------

const dns1123LabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNameRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const subdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must " +
  "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMessage =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and " +
  "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const qualifiedNameMessage =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
  "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " +
  "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const labelValueMessage =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must " +
  "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for " +
  "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const invalid = (value: unknown, why: string): string => `Invalid value: ${JSON.stringify(value)}: ${why}`;

/** Problems of `value` as a DNS-1123 subdomain (object names of most types); empty when valid. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push('must be no more than 253 characters');
  if (!dns1123SubdomainRe.test(value)) errors.push(subdomainMessage);
  return errors;
}

/** Problems of `value` as a DNS-1123 label (namespace names); empty when valid. */
export function dns1123LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push('must be no more than 63 characters');
  if (!dns1123LabelRe.test(value)) errors.push(labelMessage);
  return errors;
}

/** Problems of `value` as a qualified name (`[prefix/]name`: label and annotation keys, finalizers). */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split('/');
  let name = value;
  const errors: string[] = [];
  if (parts.length === 2) {
    const [prefix, rest] = parts as [string, string];
    name = rest;
    if (prefix.length === 0) errors.push('prefix part must be non-empty');
    else for (const e of dns1123SubdomainErrors(prefix)) errors.push(`prefix part ${e}`);
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with " +
        "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " +
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. " +
        "'example.com/MyName')",
    ];
  }
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (name.length > 63) errors.push('name part must be no more than 63 characters');
  if (name.length > 0 && !qualifiedNameRe.test(name)) errors.push(qualifiedNameMessage);
  return errors;
}

/** Problems of `value` as a label value; empty when valid. */
export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push('must be no more than 63 characters');
  if (!labelValueRe.test(value)) errors.push(labelValueMessage);
  return errors;
}

const totalAnnotationSizeLimit = 256 * 1024;

export interface ObjectMetaValidation {
  /** Whether the type is namespaced: then metadata.namespace is required, otherwise it must be empty. */
  namespaced: boolean;
  /** Validates the name (default: DNS-1123 subdomain, as for custom resources). */
  nameErrors?: (name: string) => string[];
}

/**
 * kube-apiserver's ValidateObjectMeta: name (or generateName), namespace, labels, annotations, finalizers and
 * owner references, with field paths under `metadata`. Accepts anything and reports what is not an object.
 */
export function validateObjectMeta(meta: unknown, options: ObjectMetaValidation): FieldError[] {
  const errors: FieldError[] = [];
  const at = (pointer: string): string => fieldPath('metadata', pointer);
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    return [{ field: 'metadata', message: 'Required value: must be an object' }];
  }
  const m = meta as Record<string, unknown>;
  const str = (key: string): string | undefined => {
    const value = m[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      errors.push({ field: at(`/${key}`), message: invalid(value, 'must be a string') });
      return undefined;
    }
    return value;
  };
  const nameErrors = options.nameErrors ?? dns1123SubdomainErrors;
  const name = str('name');
  const generateName = str('generateName');
  if (name) {
    for (const e of nameErrors(name)) errors.push({ field: at('/name'), message: invalid(name, e) });
  } else if (generateName) {
    // The generated name adds five characters; the prefix itself need only be valid once trimmed of '-'.
    const prefix = generateName.replace(/-+$/, '');
    for (const e of nameErrors(prefix || 'a')) {
      errors.push({ field: at('/generateName'), message: invalid(generateName, e) });
    }
  } else {
    errors.push({ field: at('/name'), message: 'Required value: name or generateName is required' });
  }
  const namespace = str('namespace');
  if (options.namespaced) {
    if (!namespace) errors.push({ field: at('/namespace'), message: 'Required value' });
    else
      for (const e of dns1123LabelErrors(namespace))
        errors.push({ field: at('/namespace'), message: invalid(namespace, e) });
  } else if (namespace) {
    errors.push({ field: at('/namespace'), message: 'Forbidden: not allowed on this type' });
  }
  for (const key of ['labels', 'annotations'] as const) {
    const map = m[key];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || Array.isArray(map)) {
      errors.push({ field: at(`/${key}`), message: invalid(map, 'must be a map of strings') });
      continue;
    }
    let size = 0;
    for (const [k, v] of Object.entries(map as Record<string, unknown>)) {
      const field = at(`/${key}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`);
      for (const e of qualifiedNameErrors(k)) errors.push({ field, message: invalid(k, e) });
      if (typeof v !== 'string') {
        errors.push({ field, message: invalid(v, 'must be a string') });
        continue;
      }
      size += k.length + v.length;
      if (key === 'labels') for (const e of labelValueErrors(v)) errors.push({ field, message: invalid(v, e) });
    }
    if (key === 'annotations' && size > totalAnnotationSizeLimit) {
      errors.push({
        field: at('/annotations'),
        message: `Too long: must have at most ${totalAnnotationSizeLimit} bytes`,
      });
    }
  }
  const finalizers = m.finalizers;
  if (finalizers !== undefined && finalizers !== null) {
    if (!Array.isArray(finalizers)) {
      errors.push({ field: at('/finalizers'), message: invalid(finalizers, 'must be a list of strings') });
    } else {
      const seen = new Set<string>();
      finalizers.forEach((f: unknown, i) => {
        const field = at(`/finalizers/${i}`);
        if (typeof f !== 'string') return errors.push({ field, message: invalid(f, 'must be a string') });
        for (const e of qualifiedNameErrors(f)) errors.push({ field, message: invalid(f, e) });
        if (seen.has(f)) errors.push({ field, message: `Duplicate value: ${JSON.stringify(f)}` });
        seen.add(f);
      });
    }
  }
  const owners = m.ownerReferences;
  if (owners !== undefined && owners !== null) {
    if (!Array.isArray(owners)) {
      errors.push({ field: at('/ownerReferences'), message: invalid(owners, 'must be a list') });
    } else {
      let controllers = 0;
      owners.forEach((ref: unknown, i) => {
        const r = (typeof ref === 'object' && ref !== null ? ref : {}) as Record<string, unknown>;
        for (const key of ['apiVersion', 'kind', 'name', 'uid']) {
          if (typeof r[key] !== 'string' || r[key] === '') {
            errors.push({ field: at(`/ownerReferences/${i}/${key}`), message: 'Required value' });
          }
        }
        if (r.controller === true) controllers++;
      });
      if (controllers > 1) {
        errors.push({
          field: at('/ownerReferences'),
          message: 'Invalid value: only one reference can have Controller set to true',
        });
      }
    }
  }
  for (const key of ['generation', 'deletionGracePeriodSeconds'] as const) {
    const value = m[key];
    if (value !== undefined && value !== null && !Number.isInteger(value)) {
      errors.push({ field: at(`/${key}`), message: invalid(value, 'must be an integer') });
    }
  }
  return errors;
}
