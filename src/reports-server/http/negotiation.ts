// Content negotiation as kube-apiserver does it for JSON: the Accept header is a list of media ranges
// (with `q` weights and the `as`/`g`/`v` parameters that ask for another representation: Table,
// PartialObjectMetadata(List), aggregated discovery); the first range, by weight, that the endpoint can
// serve wins; none -> 406. Request bodies: JSON only for create/update, the patch types for PATCH; others
// -> 415. Protobuf is not served (clients that ask for it also accept JSON).
import { notAcceptable, unsupportedMediaType } from './status.ts';

export interface MediaType {
  type: string;
  subtype: string;
  params: Record<string, string>;
}

/** What a response can be: the object itself, a Table, metadata only, or aggregated discovery. */
export type Representation =
  | { kind: 'object' }
  | { kind: 'table'; version: 'v1' | 'v1beta1' }
  | { kind: 'partial'; version: 'v1' | 'v1beta1' }
  | { kind: 'discovery'; version: 'v2' | 'v2beta1' };

export type RepresentationKind = Representation['kind'];

/** Parses `type/subtype; a=b; c="d"` (lower-cased type and parameter names). */
export function parseMediaType(text: string): MediaType | undefined {
  const [full, ...rest] = text.split(';');
  const match = /^\s*([\w.+*-]+)\/([\w.+*-]+)\s*$/.exec(full ?? '');
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (key) params[key] = value;
  }
  return { type: match[1]!.toLowerCase(), subtype: match[2]!.toLowerCase(), params };
}

/** The media ranges of an Accept header, highest `q` first (stable for equal weights). */
export function parseAccept(header: string | undefined): MediaType[] {
  if (!header || !header.trim()) return [{ type: '*', subtype: '*', params: {} }];
  const ranges = splitTopLevel(header)
    .map(parseMediaType)
    .filter((m): m is MediaType => m !== undefined)
    .map((m, i) => ({ m, i, q: m.params.q === undefined ? 1 : Number(m.params.q) }))
    .filter((r) => Number.isFinite(r.q) && r.q > 0);
  ranges.sort((a, b) => b.q - a.q || a.i - b.i);
  return ranges.map((r) => r.m);
}

/** Splits at commas outside quotes. */
function splitTopLevel(header: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const c of header) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts.filter((p) => p.trim());
}

const isJson = (m: MediaType): boolean =>
  (m.type === 'application' && (m.subtype === 'json' || m.subtype === '*')) || (m.type === '*' && m.subtype === '*');

/** The representation one media range asks for, if it is one of `allowed`. */
function representationOf(m: MediaType, allowed: readonly RepresentationKind[]): Representation | undefined {
  if (!isJson(m)) return undefined;
  const as = m.params.as;
  if (as === undefined) return allowed.includes('object') ? { kind: 'object' } : undefined;
  const { g, v } = m.params;
  if (as === 'Table' && g === 'meta.k8s.io' && (v === 'v1' || v === 'v1beta1') && allowed.includes('table')) {
    return { kind: 'table', version: v };
  }
  if (
    (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') &&
    g === 'meta.k8s.io' &&
    (v === 'v1' || v === 'v1beta1') &&
    allowed.includes('partial')
  ) {
    return { kind: 'partial', version: v };
  }
  if (
    as === 'APIGroupDiscoveryList' &&
    g === 'apidiscovery.k8s.io' &&
    (v === 'v2' || v === 'v2beta1') &&
    allowed.includes('discovery')
  ) {
    return { kind: 'discovery', version: v };
  }
  return undefined;
}

const offered: Record<RepresentationKind, string> = {
  object: 'application/json',
  table: 'application/json;as=Table;v=v1;g=meta.k8s.io',
  partial: 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io',
  discovery: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
};

/** The representation to answer with, or a 406 HttpError naming what the endpoint serves. */
export function negotiate(accept: string | undefined, allowed: readonly RepresentationKind[]): Representation {
  for (const range of parseAccept(accept)) {
    const representation = representationOf(range, allowed);
    if (representation) return representation;
  }
  throw notAcceptable(
    accept ?? '',
    allowed.map((k) => offered[k]),
  );
}

/** The Content-Type of a response in `representation`. */
export function contentTypeOf(representation: Representation): string {
  switch (representation.kind) {
    case 'discovery':
      return `application/json;g=apidiscovery.k8s.io;v=${representation.version};as=APIGroupDiscoveryList`;
    default:
      return 'application/json';
  }
}

export type BodyFormat = 'json' | 'merge-patch' | 'json-patch' | 'apply' | 'strategic';

const bodyTypes: Record<string, BodyFormat> = {
  'application/json': 'json',
  'application/merge-patch+json': 'merge-patch',
  'application/json-patch+json': 'json-patch',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
  'application/strategic-merge-patch+json': 'strategic',
};

/**
 * The format of a request body. POST and PUT take JSON; PATCH takes merge, JSON and apply patches.
 * Strategic merge patch gets 415, as kube-apiserver answers for custom resources.
 */
export function bodyFormat(contentType: string | undefined, method: string): BodyFormat {
  const m = parseMediaType(contentType ?? '');
  const name = m ? `${m.type}/${m.subtype}` : '';
  const format = bodyTypes[name];
  const accepted =
    method === 'PATCH'
      ? ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']
      : ['application/json'];
  if (name === 'application/apply-patch+cbor') throw unsupportedMediaType(contentType ?? '', accepted);
  if (method === 'PATCH') {
    if (format && format !== 'json' && format !== 'strategic') return format;
    throw unsupportedMediaType(contentType ?? '', accepted);
  }
  // POST, PUT and DELETE with a body (DeleteOptions): JSON. No Content-Type is 415, as in kube-apiserver.
  if (format === 'json') return 'json';
  throw unsupportedMediaType(contentType ?? '', accepted);
}
