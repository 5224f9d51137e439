// Storage errors carry the metav1.Status reason and HTTP code kube-apiserver would answer with, so the HTTP
// layer turns them into a Status without knowing the backend.
import type { FieldError } from '../../api/validation.ts';
import type { StorageErrorLike, StorageErrorReason } from './types.ts';

const codes: Record<StorageErrorReason, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  Expired: 410,
  Timeout: 504,
  ServiceUnavailable: 503,
  InternalError: 500,
};

export class StorageError extends Error implements StorageErrorLike {
  readonly reason: StorageErrorReason;
  readonly code: number;
  readonly causes?: FieldError[];
  readonly causeType?: string;

  constructor(
    reason: StorageErrorReason,
    message: string,
    extra: { causes?: FieldError[]; causeType?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'StorageError';
    this.reason = reason;
    this.code = codes[reason];
    if (extra.causes) this.causes = extra.causes;
    if (extra.causeType) this.causeType = extra.causeType;
  }

  /** A plain copy (for watch ERROR events). */
  toJSON(): StorageErrorLike {
    const out: StorageErrorLike = { reason: this.reason, code: this.code, message: this.message };
    if (this.causes) out.causes = this.causes;
    if (this.causeType) out.causeType = this.causeType;
    return out;
  }
}

/** `<resource>.<group> "<name>"` as kube-apiserver names an object in messages. */
export const qualified = (group: string, resource: string): string => (group ? `${resource}.${group}` : resource);

export const notFound = (group: string, resource: string, name: string): StorageError =>
  new StorageError('NotFound', `${qualified(group, resource)} "${name}" not found`);

export const alreadyExists = (group: string, resource: string, name: string): StorageError =>
  new StorageError('AlreadyExists', `${qualified(group, resource)} "${name}" already exists`);

export const conflict = (group: string, resource: string, name: string, why: string): StorageError =>
  new StorageError('Conflict', `Operation cannot be fulfilled on ${qualified(group, resource)} "${name}": ${why}`);

export const invalid = (kind: string, group: string, name: string, causes: FieldError[]): StorageError =>
  new StorageError(
    'Invalid',
    `${kind}.${group} "${name}" is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ')}`,
    { causes },
  );

export const badRequest = (message: string): StorageError => new StorageError('BadRequest', message);

export const tooOldResourceVersion = (requested: number, oldest: number): StorageError =>
  new StorageError('Expired', `too old resource version: ${requested} (${oldest})`);

export const expiredContinue = (): StorageError =>
  new StorageError(
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list ' +
      'without the continue parameter.',
  );

export const tooLargeResourceVersion = (requested: number, current: number): StorageError =>
  new StorageError('Timeout', `Too large resource version: ${requested}, current: ${current}`, {
    causeType: 'ResourceVersionTooLarge',
  });

export const unavailable = (what: string, cause: unknown): StorageError =>
  new StorageError('ServiceUnavailable', `the reports database is unavailable: ${what}`, { cause });
