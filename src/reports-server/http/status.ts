// Every error of the reports API server is a metav1.Status with kube-apiserver's reason, code and details,
// so kubectl and client libraries print and classify it as they do for built-in resources.
import type { FieldError } from '../../api/validation.ts';
import { StorageError } from '../storage/errors.ts';

export interface StatusCause {
  type?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that answers the request with a Status (and, for 503, a Retry-After header). */
export class HttpError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Status {
    return failure(this.code, this.reason, this.message, this.details);
  }
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): Status {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details && Object.keys(details).length) status.details = details;
  return status;
}

export const success = (details?: StatusDetails): Status => {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) status.details = details;
  return status;
};

export const badRequest = (message: string, causes?: StatusCause[]): HttpError =>
  new HttpError(400, 'BadRequest', message, causes ? { causes } : undefined);
export const notFoundPath = (): HttpError =>
  new HttpError(404, 'NotFound', 'the server could not find the requested resource');
export const methodNotAllowed = (method: string, what: string): HttpError =>
  new HttpError(405, 'MethodNotAllowed', `${method} is not supported on ${what}`);
export const notAcceptable = (accept: string, supported: string[]): HttpError =>
  new HttpError(406, 'NotAcceptable', `only the following media types are accepted: ${supported.join(', ')}`, {
    causes: [{ type: 'UnsupportedMediaType', message: `Accept: ${accept}` }],
  });
export const unsupportedMediaType = (contentType: string, supported: string[]): HttpError =>
  new HttpError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
    { causes: [{ type: 'UnsupportedMediaType', message: `Content-Type: ${contentType}` }] },
  );
export const tooLarge = (limit: number): HttpError =>
  new HttpError(413, 'RequestEntityTooLarge', `the request body is larger than ${limit} bytes`);
export const unauthorized = (): HttpError => new HttpError(401, 'Unauthorized', 'Unauthorized');
export const unavailable = (message: string, retryAfterSeconds = 1): HttpError =>
  new HttpError(503, 'ServiceUnavailable', message, { retryAfterSeconds });

/** Invalid (422) with one cause per bad field, in kube-apiserver's wording. */
export function invalid(kind: string, group: string, name: string, errors: FieldError[]): HttpError {
  const message = `${kind}.${group} "${name}" is invalid: ${errors
    .map((e) => (e.field ? `${e.field}: ${e.message}` : e.message))
    .join(', ')}`;
  return new HttpError(422, 'Invalid', message, {
    name,
    group,
    kind,
    causes: errors.map((e) => ({ type: causeType(e.message), message: e.message, field: e.field })),
  });
}

/** The metav1.CauseType kube-apiserver gives a field error, from its message prefix. */
function causeType(message: string): string {
  if (message.startsWith('Required value')) return 'FieldValueRequired';
  if (message.startsWith('Unsupported value')) return 'FieldValueNotSupported';
  if (message.startsWith('Forbidden')) return 'FieldValueForbidden';
  if (message.startsWith('Duplicate value')) return 'FieldValueDuplicate';
  if (message.startsWith('Too long') || message.startsWith('must have at most')) return 'FieldValueTooLong';
  if (message === 'required field') return 'FieldValueRequired';
  return 'FieldValueInvalid';
}

/** What the object a request is about is called in a Status' details. */
export interface Subject {
  group: string;
  kind: string;
  resource: string;
  name?: string;
}

/** The Status for anything a handler threw: HttpError and StorageError as they are, anything else 500. */
export function toStatus(err: unknown, subject?: Subject): Status {
  if (err instanceof HttpError) return err.toStatus();
  if (err instanceof StorageError) {
    const details: StatusDetails = {};
    if (subject) {
      if (subject.name) details.name = subject.name;
      details.group = subject.group;
      // kube-apiserver names the resource in `kind` for NotFound/AlreadyExists/Conflict and the kind for Invalid.
      details.kind = err.reason === 'Invalid' ? subject.kind : subject.resource;
    }
    if (err.causes?.length) {
      details.causes = err.causes.map((c) => ({ type: causeType(c.message), message: c.message, field: c.field }));
    }
    if (err.causeType) details.causes = [{ type: err.causeType, message: err.message }];
    if (err.reason === 'ServiceUnavailable' || err.reason === 'Timeout') details.retryAfterSeconds = 1;
    return failure(err.code, err.reason, err.message, details);
  }
  const message = err instanceof Error ? err.message : String(err);
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}
