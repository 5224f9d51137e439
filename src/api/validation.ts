// Validation of plain data against a TypeBox schema, with errors that name the field the way Kubernetes does
// (`spec.rulesets[0].version`), so CLI messages, admission responses and API Status causes read alike.
import Type, { type Static, type TSchema, type TUnsafe } from 'typebox';
import Value from 'typebox/value';

export interface FieldError {
  /** Kubernetes-style field path, e.g. `providers[0].rulesets[1].version`. */
  field: string;
  message: string;
}

/** Thrown when input does not match its schema; the message lists every bad field. */
export class ValidationError extends Error {
  readonly errors: FieldError[];
  constructor(what: string, errors: FieldError[]) {
    super(`${what}: ${errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')}`);
    this.name = 'ValidationError';
    this.errors = errors;
  }
}

/** Joins a base path and a JSON pointer (`/a/0/b`) into `base.a[0].b`. */
export function fieldPath(base: string, pointer: string): string {
  let path = base;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) path += path ? `.${segment}` : segment;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

/** Every way `value` fails `schema`, most specific first, one message per field. */
export function schemaErrors(schema: TSchema, value: unknown, base = ''): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    // TypeBox reports an unknown property twice: as `schema is false` on the property and as
    // `additionalProperties` on its parent. Keep one, naming the property.
    if (error.keyword === 'boolean') continue;
    // Inside a union each branch reports its own mismatch; the union's own error below says it once.
    if (/\/(anyOf|oneOf)\/\d+/.test(error.schemaPath)) continue;
    if (error.keyword === 'additionalProperties') {
      const extra = (error.params as { additionalProperties?: string[] }).additionalProperties ?? [];
      for (const name of extra) push(fieldPath(base, `${error.instancePath}/${name}`), 'unknown field');
      continue;
    }
    if (error.keyword === 'required') {
      const missing = (error.params as { requiredProperties?: string[] }).requiredProperties ?? [];
      if (missing.length > 0) {
        for (const name of missing) push(fieldPath(base, `${error.instancePath}/${name}`), 'required field');
        continue;
      }
    }
    // anyOf/oneOf wrappers repeat what their branches said; the branch messages are the useful ones.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf') {
      push(fieldPath(base, error.instancePath), 'does not match any allowed form');
      continue;
    }
    if (error.keyword === 'enum') {
      const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
      const message = allowed ? `must be one of: ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : error.message;
      push(fieldPath(base, error.instancePath), message);
      continue;
    }
    push(fieldPath(base, error.instancePath), error.message);
  }
  return errors;

  function push(field: string, message: string): void {
    const key = `${field}\0${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    errors.push({ field, message });
  }
}

/** Returns `value` typed by `schema`, or throws a ValidationError naming each bad field. */
export function parse<S extends TSchema>(schema: S, value: unknown, what: string, base = ''): Static<S> {
  const errors = schemaErrors(schema, value, base);
  if (errors.length > 0) throw new ValidationError(what, errors);
  return value as Static<S>;
}

/** A string schema allowing exactly `values`, typed as their union. */
export function oneOf<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
}
