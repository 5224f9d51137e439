// Request routing: what a URL and method mean, as kube-apiserver's RequestInfo resolves them (verb,
// group, version, resource, namespace, name), for the handlers and for authorisation alike.
import type { ResourceType } from '../storage/types.ts';
import { badRequest } from './status.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export type Route =
  /** Open to everyone (kubelet probes): /healthz, /livez, /readyz and their sub-paths. */
  | { kind: 'probe'; path: string }
  | { kind: 'version' }
  | { kind: 'metrics' }
  | { kind: 'apis' }
  | { kind: 'group'; group: string }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'openapi-v2' }
  | { kind: 'openapi-v3' }
  | { kind: 'openapi-v3-gv'; group: string; version: string }
  | ResourceRoute
  | { kind: 'notFound' };

export interface ResourceRoute {
  kind: 'resource';
  type: ResourceType;
  verb: Verb;
  /** '' for cluster-scoped types and for lists/watches across namespaces. */
  namespace: string;
  /** '' for collections. */
  name: string;
}

export interface Query {
  get(name: string): string | null;
  has(name: string): boolean;
}

const isTrue = (v: string | undefined): boolean => v === 'true' || v === '1';

/** The route of a request; throws BadRequest for malformed resource paths. */
export function route(method: string, pathname: string, query: Query, types: readonly ResourceType[]): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (/^\/(healthz|livez|readyz)(\/.*)?$/.test(path)) return { kind: 'probe', path };
  if (path === '/version') return { kind: 'version' };
  if (path === '/metrics') return { kind: 'metrics' };
  if (path === '/openapi/v2') return { kind: 'openapi-v2' };
  if (path === '/openapi/v3') return { kind: 'openapi-v3' };
  const openapi = /^\/openapi\/v3\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (openapi) return { kind: 'openapi-v3-gv', group: openapi[1]!, version: openapi[2]! };
  if (path === '/apis') return { kind: 'apis' };
  if (!path.startsWith('/apis/')) return { kind: 'notFound' };
  const parts = path
    .slice('/apis/'.length)
    .split('/')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw badRequest(`invalid path segment ${p}`);
      }
    });
  const [group, version, ...rest] = parts;
  if (!group || !types.some((t) => t.group === group)) return { kind: 'notFound' };
  if (!version) return { kind: 'group', group };
  if (!types.some((t) => t.group === group && t.version === version)) return { kind: 'notFound' };
  if (rest.length === 0) return { kind: 'groupVersion', group, version };
  let namespace = '';
  let segments = rest;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    segments = rest.slice(2);
  }
  const [resource, name = '', subresource, ...extra] = segments;
  const type = types.find((t) => t.group === group && t.version === version && t.resource === resource);
  if (!type || subresource !== undefined || extra.length) return { kind: 'notFound' };
  if (namespace && !type.namespaced) return { kind: 'notFound' };
  if (name === '' && segments.length > 1) return { kind: 'notFound' };
  const collection = name === '';
  let verb: Verb;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = isTrue(query.get('watch') ?? undefined) ? 'watch' : collection ? 'list' : 'get';
      break;
    case 'POST':
      if (!collection) return { kind: 'notFound' };
      verb = 'create';
      break;
    case 'PUT':
      if (collection) return { kind: 'notFound' };
      verb = 'update';
      break;
    case 'PATCH':
      if (collection) return { kind: 'notFound' };
      verb = 'patch';
      break;
    case 'DELETE':
      verb = collection ? 'deletecollection' : 'delete';
      break;
    default:
      return { kind: 'notFound' };
  }
  // A namespaced create/deletecollection needs a namespace; a get/update/patch/delete of a namespaced object too.
  if (type.namespaced && !namespace && verb !== 'list' && verb !== 'watch') return { kind: 'notFound' };
  return { kind: 'resource', type, verb, namespace, name };
}

/** The verb of a watch of one object (`fieldSelector=metadata.name=x`) names it, as kube-apiserver's RequestInfo does. */
export function nameFromFieldSelector(fieldSelector: string | undefined): string | undefined {
  if (!fieldSelector) return undefined;
  const parts = fieldSelector.split(',').map((p) => p.trim());
  if (parts.length !== 1) return undefined;
  const m = /^metadata\.name(?:==?)(.+)$/.exec(parts[0]!);
  return m ? m[1] : undefined;
}
