// OpenAPI documents of the served types: /openapi/v2 (Swagger 2.0, merged by kube-apiserver into its own),
// /openapi/v3 (the index of group-versions) and /openapi/v3/apis/<group>/<version>. Schemas come from the
// one TypeBox definition per type (src/api/reports); operations carry the query parameters kubectl looks
// for (fieldValidation, dryRun, fieldManager) and list the patch types served (no strategic merge patch,
// so kubectl uses merge patches as for custom resources).
import { createHash } from 'node:crypto';
import { openAPISchema, type JSONSchemaProps } from '../../api/crd.ts';
import { ObjectMetaSchema } from '../../api/meta.ts';
import { apiVersionOf, groupsOf, type ServedType } from './resources.ts';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const reverseGroup = (group: string): string => group.split('.').reverse().join('.');
const definitionName = (s: ServedType, kind = s.type.kind): string =>
  `${reverseGroup(s.type.group)}.${s.type.version}.${kind}`;
const gvk = (s: ServedType, kind = s.type.kind) => [{ group: s.type.group, version: s.type.version, kind }];

type Flavour = 'v2' | 'v3';
const ref = (flavour: Flavour, name: string) => ({
  $ref: flavour === 'v2' ? `#/definitions/${name}` : `#/components/schemas/${name}`,
});

/** The schemas (definitions) of a set of types: each type, its list, and the meta types they refer to. */
function schemas(served: readonly ServedType[], flavour: Flavour): Record<string, JSONSchemaProps> {
  const out: Record<string, JSONSchemaProps> = {
    [`${META}.ObjectMeta`]: openAPISchema(ObjectMetaSchema),
    [`${META}.ListMeta`]: {
      type: 'object',
      properties: {
        continue: { type: 'string' },
        remainingItemCount: { type: 'integer', format: 'int64' },
        resourceVersion: { type: 'string' },
        selfLink: { type: 'string' },
      },
    },
    [`${META}.Status`]: {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        code: { type: 'integer', format: 'int32' },
        details: { type: 'object' },
        kind: { type: 'string' },
        message: { type: 'string' },
        metadata: ref(flavour, `${META}.ListMeta`),
        reason: { type: 'string' },
        status: { type: 'string' },
      },
      'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
    },
    [`${META}.DeleteOptions`]: {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        dryRun: { type: 'array', items: { type: 'string' } },
        gracePeriodSeconds: { type: 'integer', format: 'int64' },
        kind: { type: 'string' },
        preconditions: { type: 'object', properties: { resourceVersion: { type: 'string' }, uid: { type: 'string' } } },
        propagationPolicy: { type: 'string' },
      },
    },
  };
  for (const s of served) {
    const schema = openAPISchema(s.schema);
    const properties = { ...(schema.properties as Record<string, JSONSchemaProps>) };
    properties.metadata = ref(flavour, `${META}.ObjectMeta`);
    out[definitionName(s)] = { ...schema, properties, 'x-kubernetes-group-version-kind': gvk(s) };
    out[definitionName(s, s.listKind)] = {
      description: `${s.listKind} is a list of ${s.type.kind}`,
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: { type: 'string' },
        items: { type: 'array', items: ref(flavour, definitionName(s)) },
        kind: { type: 'string' },
        metadata: ref(flavour, `${META}.ListMeta`),
      },
      'x-kubernetes-group-version-kind': gvk(s, s.listKind),
    };
  }
  return out;
}

const queryParam = (flavour: Flavour, name: string, type = 'string', description = '') =>
  flavour === 'v2'
    ? { name, in: 'query', type, uniqueItems: true, ...(description ? { description } : {}) }
    : { name, in: 'query', schema: { type, uniqueItems: true }, ...(description ? { description } : {}) };
const pathParam = (flavour: Flavour, name: string) =>
  flavour === 'v2'
    ? { name, in: 'path', required: true, type: 'string', uniqueItems: true }
    : { name, in: 'path', required: true, schema: { type: 'string', uniqueItems: true } };

const listParams = [
  'allowWatchBookmarks:boolean',
  'continue',
  'fieldSelector',
  'labelSelector',
  'limit:integer',
  'resourceVersion',
  'resourceVersionMatch',
  'sendInitialEvents:boolean',
  'timeoutSeconds:integer',
  'watch:boolean',
];
const writeParams = ['dryRun', 'fieldManager', 'fieldValidation'];
const params = (flavour: Flavour, names: string[]) =>
  names.map((n) => {
    const [name, type] = n.split(':');
    return queryParam(flavour, name!, type ?? 'string');
  });

function operations(s: ServedType, flavour: Flavour, collection: boolean, allNamespaces: boolean) {
  const kind = s.type.kind;
  const object = ref(flavour, definitionName(s));
  const list = ref(flavour, definitionName(s, s.listKind));
  const status = ref(flavour, `${META}.Status`);
  const ext = (action: string) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk(s)[0] });
  const response = (schema: unknown) =>
    flavour === 'v2'
      ? { '200': { description: 'OK', schema } }
      : { '200': { description: 'OK', content: { 'application/json': { schema } } } };
  const body = (schema: unknown, types: string[]) =>
    flavour === 'v2'
      ? { parameters: [{ name: 'body', in: 'body', required: true, schema }], consumes: types }
      : { requestBody: { content: Object.fromEntries(types.map((t) => [t, { schema }])) } };
  const op = (id: string, action: string, extra: Record<string, unknown>, schema: unknown) => ({
    operationId: id,
    tags: [`${s.type.group.split('.')[0]}_${s.type.version}`],
    ...(flavour === 'v2' ? { produces: ['application/json'], schemes: ['https'] } : {}),
    responses: response(schema),
    ...ext(action),
    ...extra,
  });
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
  const withParams = (names: string[], more: { parameters?: unknown[] } = {}) => ({
    ...more,
    parameters: [...(more.parameters ?? []), ...params(flavour, names)],
  });
  if (allNamespaces) return { get: op(`list${kind}ForAllNamespaces`, 'list', withParams(listParams), list) };
  if (collection) {
    return {
      get: op(`list${kind}`, 'list', withParams(listParams), list),
      post: op(`create${kind}`, 'post', withParams(writeParams, body(object, ['application/json'])), object),
      delete: op(`deletecollection${kind}`, 'deletecollection', withParams(['dryRun', ...listParams]), status),
    };
  }
  return {
    get: op(`read${kind}`, 'get', {}, object),
    put: op(`replace${kind}`, 'put', withParams(writeParams, body(object, ['application/json'])), object),
    patch: op(
      `patch${kind}`,
      'patch',
      withParams([...writeParams, 'force:boolean'], body({ type: 'object' }, patchTypes)),
      object,
    ),
    delete: op(`delete${kind}`, 'delete', withParams(['dryRun', 'propagationPolicy']), object),
  };
}

function paths(served: readonly ServedType[], flavour: Flavour): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of served) {
    const base = `/apis/${apiVersionOf(s.type)}`;
    const nameParam = pathParam(flavour, 'name');
    const nsParam = pathParam(flavour, 'namespace');
    if (s.type.namespaced) {
      out[`${base}/${s.type.resource}`] = operations(s, flavour, true, true);
      out[`${base}/namespaces/{namespace}/${s.type.resource}`] = {
        ...operations(s, flavour, true, false),
        parameters: [nsParam],
      };
      out[`${base}/namespaces/{namespace}/${s.type.resource}/{name}`] = {
        ...operations(s, flavour, false, false),
        parameters: [nameParam, nsParam],
      };
    } else {
      out[`${base}/${s.type.resource}`] = operations(s, flavour, true, false);
      out[`${base}/${s.type.resource}/{name}`] = { ...operations(s, flavour, false, false), parameters: [nameParam] };
    }
  }
  return out;
}

export function openAPIv2(served: readonly ServedType[], version: string) {
  return {
    swagger: '2.0',
    info: { title: 'Argus reports API', version },
    paths: paths(served, 'v2'),
    definitions: schemas(served, 'v2'),
  };
}

export function openAPIv3GroupVersion(served: readonly ServedType[], group: string, gv: string, version: string) {
  const subset = served.filter((s) => s.type.group === group && s.type.version === gv);
  if (!subset.length) return undefined;
  return {
    openapi: '3.0.0',
    info: { title: 'Argus reports API', version },
    paths: paths(subset, 'v3'),
    components: { schemas: schemas(subset, 'v3') },
  };
}

/** The /openapi/v3 index: one entry per group-version, its URL carrying a hash of the document. */
export function openAPIv3Index(served: readonly ServedType[], version: string) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, versions } of groupsOf(served)) {
    for (const v of versions) {
      const doc = JSON.stringify(openAPIv3GroupVersion(served, group, v, version));
      const hash = createHash('sha512').update(doc).digest('hex').toUpperCase();
      paths[`apis/${group}/${v}`] = { serverRelativeURL: `/openapi/v3/apis/${group}/${v}?hash=${hash}` };
    }
  }
  return { paths };
}
