// admission.k8s.io/v1 AdmissionReview: the shapes the operator's webhooks read and answer, and the answers
// kube-apiserver turns into the errors kubectl prints (422 Invalid with field causes, 500 InternalError).
import jsonpatch from 'fast-json-patch';
import type { FieldError } from '../../api/validation.ts';
import type { Status } from '../../kube/client.ts';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** The `request` of an AdmissionReview, as far as the operator reads it. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  name?: string;
  namespace?: string;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  patchType?: 'JSONPatch';
  /** Base64 of the JSONPatch. */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

/** Why a body is not an AdmissionReview v1 with a request (the server answers 400), or undefined. */
export function reviewProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body is not a JSON object';
  const review = body as Record<string, unknown>;
  if (review.apiVersion !== ADMISSION_API_VERSION || review.kind !== 'AdmissionReview') {
    return `expected apiVersion ${ADMISSION_API_VERSION} and kind AdmissionReview, got ${String(review.apiVersion)} ${String(review.kind)}`;
  }
  const request = review.request as Record<string, unknown> | undefined;
  if (typeof request !== 'object' || request === null) return 'the AdmissionReview has no request';
  if (typeof request.uid !== 'string' || request.uid === '') return 'the AdmissionReview request has no uid';
  if (typeof request.operation !== 'string') return 'the AdmissionReview request has no operation';
  const kind = request.kind as Record<string, unknown> | undefined;
  if (typeof kind?.kind !== 'string' || typeof kind.group !== 'string') {
    return 'the AdmissionReview request has no kind';
  }
  return undefined;
}

/** The AdmissionReview sent back for `response`. */
export const reviewOf = (response: AdmissionResponse): AdmissionReview => ({
  apiVersion: ADMISSION_API_VERSION,
  kind: 'AdmissionReview',
  response,
});

export const allow = (uid: string, warnings?: string[]): AdmissionResponse => ({
  uid,
  allowed: true,
  ...(warnings?.length ? { warnings } : {}),
});

/** Allows with the JSONPatch that turns `original` into `mutated`; no patch when they are equal. */
export function allowWithPatch(uid: string, original: unknown, mutated: unknown): AdmissionResponse {
  const operations = jsonpatch.compare(original as object, mutated as object);
  if (operations.length === 0) return allow(uid);
  return {
    uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(operations)).toString('base64'),
  };
}

/** The metav1.CauseType kube-apiserver gives a field error, from the start of its message. */
export function causeReason(message: string): string {
  const prefixes: [string, string][] = [
    ['Invalid value', 'FieldValueInvalid'],
    ['Unsupported value', 'FieldValueNotSupported'],
    ['Duplicate value', 'FieldValueDuplicate'],
    ['Required value', 'FieldValueRequired'],
    ['required field', 'FieldValueRequired'],
    ['Forbidden', 'FieldValueForbidden'],
    ['Not found', 'FieldValueNotFound'],
    ['Too long', 'FieldValueTooLong'],
    ['Too many', 'FieldValueTooMany'],
    ['Internal error', 'InternalError'],
  ];
  return prefixes.find(([prefix]) => message.startsWith(prefix))?.[1] ?? 'FieldValueInvalid';
}

const fieldErrorText = (e: FieldError): string => (e.field ? `${e.field}: ${e.message}` : e.message);

/**
 * A denial as kube-apiserver words its own validation errors (apierrors.NewInvalid): 422 Invalid,
 * `ComplianceScan.diki.gardener.cloud "name" is invalid: <field>: <message>` (several in brackets, comma
 * separated) and one cause per field, so kubectl prints `* <field>: <message>` lines.
 */
export function denyInvalid(
  uid: string,
  kind: GroupVersionKind,
  name: string,
  errors: FieldError[],
): AdmissionResponse {
  const qualifiedKind = kind.group ? `${kind.kind}.${kind.group}` : kind.kind;
  const texts = errors.map(fieldErrorText);
  const aggregate = texts.length === 1 ? texts[0]! : `[${texts.join(', ')}]`;
  return {
    uid,
    allowed: false,
    status: {
      status: 'Failure',
      code: 422,
      reason: 'Invalid',
      message: `${qualifiedKind} ${JSON.stringify(name)} is invalid: ${aggregate}`,
      details: {
        name,
        group: kind.group,
        kind: kind.kind,
        causes: errors.map((e) => ({ reason: causeReason(e.message), field: e.field, message: e.message })),
      },
    },
  };
}

/** A denial because the webhook could not decide (the target API failed): 500 InternalError. */
export const denyInternal = (uid: string, message: string): AdmissionResponse => ({
  uid,
  allowed: false,
  status: { status: 'Failure', code: 500, reason: 'InternalError', message },
});
