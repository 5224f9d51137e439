// Label and field selectors in Kubernetes syntax: parsing (k8s.io/apimachinery labels.Parse and
// fields.ParseSelector), validation with kube-apiserver's messages, and matching in memory (for watch events
// and snapshot reconstruction; lists match in SQL, see sql.ts).
import { labelValueErrors, qualifiedNameErrors } from '../../api/meta.ts';
import { badRequest } from './errors.ts';
import type { FieldRequirement, LabelOperator, LabelRequirement, ResourceType } from './types.ts';

// --- Label selectors -----------------------------------------------------------------------------------------

type Token =
  | { kind: 'id'; value: string }
  | { kind: 'op'; value: '=' | '==' | '!=' | '>' | '<' | '!' | ',' | '(' | ')' }
  | { kind: 'end' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      tokens.push({ kind: 'op', value: two });
      i += 2;
      continue;
    }
    if ('=!,()<>'.includes(c)) {
      tokens.push({ kind: 'op', value: c as '=' });
      i++;
      continue;
    }
    let j = i;
    while (j < input.length && !/[\s=!,()<>]/.test(input[j]!)) j++;
    tokens.push({ kind: 'id', value: input.slice(i, j) });
    i = j;
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

/**
 * Parses a label selector (`a=b,c!=d,e in (x,y),f notin (z),g,!h,n>3`). Empty means everything. Throws
 * BadRequest naming the problem, as kube-apiserver does.
 */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const tokens = tokenize(selector);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why} (in label selector ${JSON.stringify(selector)})`);
  };
  const requirements: LabelRequirement[] = [];
  if (peek().kind === 'end') return requirements;
  for (;;) {
    let t = next();
    let negated = false;
    if (t.kind === 'op' && t.value === '!') {
      negated = true;
      t = next();
    }
    if (t.kind !== 'id') fail(`found '${describe(t)}', expected: identifier`);
    const key = (t as { value: string }).value;
    validateKey(key);
    const after = peek();
    if (negated || after.kind === 'end' || (after.kind === 'op' && after.value === ',')) {
      requirements.push({ key, operator: negated ? '!exists' : 'exists', values: [] });
    } else if (after.kind === 'op' && ['=', '==', '!=', '>', '<'].includes(after.value)) {
      next();
      const v = peek();
      let value = '';
      if (v.kind === 'id') value = (next() as { value: string }).value;
      else if (!(v.kind === 'end' || (v.kind === 'op' && v.value === ',')))
        fail(`found '${describe(v)}', expected: identifier`);
      const op: LabelOperator = after.value === '==' ? '=' : (after.value as LabelOperator);
      if (op === '>' || op === '<') {
        if (!/^-?\d{1,18}$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
      } else validateValue(value);
      requirements.push({ key, operator: op, values: [value] });
    } else if (after.kind === 'id' && (after.value === 'in' || after.value === 'notin')) {
      next();
      const open = next();
      if (!(open.kind === 'op' && open.value === '(')) fail(`found '${describe(open)}', expected: '('`);
      const values: string[] = [];
      const first = peek();
      if (first.kind === 'op' && first.value === ')') fail(`for 'in', 'notin' operators, values set can't be empty`);
      for (;;) {
        const v = peek();
        if (v.kind === 'id') {
          next();
          validateValue(v.value);
          values.push(v.value);
        } else values.push('');
        const sep = next();
        if (sep.kind === 'op' && sep.value === ')') break;
        if (!(sep.kind === 'op' && sep.value === ',')) fail(`found '${describe(sep)}', expected: ',' or ')'`);
      }
      const distinct = [...new Set(values)];
      requirements.push({ key, operator: after.value, values: distinct.sort() });
    } else {
      fail(`found '${describe(after)}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    const sep = next();
    if (sep.kind === 'end') break;
    if (!(sep.kind === 'op' && sep.value === ',')) fail(`found '${describe(sep)}', expected: ',' or 'end of string'`);
  }
  return requirements;
}

const describe = (t: Token): string => (t.kind === 'end' ? 'end of string' : t.value);

function validateKey(key: string): void {
  const errors = qualifiedNameErrors(key);
  if (errors.length) throw badRequest(`unable to parse requirement: invalid label key "${key}": ${errors.join('; ')}`);
}

function validateValue(value: string): void {
  const errors = labelValueErrors(value);
  if (errors.length) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}": ${errors.join('; ')}`);
  }
}

/** Whether `labels` satisfy every requirement (Kubernetes semantics: `!=` and `notin` match absent keys). */
export function matchesLabels(
  requirements: readonly LabelRequirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const { key, operator, values } of requirements) {
    const has = Object.hasOwn(l, key);
    const value = l[key];
    switch (operator) {
      case '=':
        if (!has || value !== values[0]) return false;
        break;
      case '!=':
        if (has && value === values[0]) return false;
        break;
      case 'in':
        if (!has || !values.includes(value!)) return false;
        break;
      case 'notin':
        if (has && values.includes(value!)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!exists':
        if (has) return false;
        break;
      case '>':
      case '<': {
        if (!has || !/^-?\d+$/.test(value!)) return false;
        const n = BigInt(value!);
        const bound = BigInt(values[0]!);
        if (operator === '>' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

// --- Field selectors -----------------------------------------------------------------------------------------

/** Splits on unescaped `sep` (a backslash escapes the next character). */
function splitUnescaped(input: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      current += c + input[i + 1]!;
      i++;
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') {
      const n = value[i + 1];
      if (n === undefined || !'\\,=!'.includes(n))
        throw badRequest(`invalid field selector value escape in ${JSON.stringify(value)}`);
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      throw badRequest(`invalid field selector value: unescaped ${c} in ${JSON.stringify(value)}`);
    } else out += c;
  }
  return out;
}

/** Parses a field selector (`metadata.name=x,scope.kind!=Pod`, `==` allowed). Empty means everything. */
export function parseFieldSelector(selector: string): FieldRequirement[] {
  const requirements: FieldRequirement[] = [];
  if (selector.trim() === '') return requirements;
  for (const term of splitUnescaped(selector, ',')) {
    let found: { field: string; operator: '=' | '!='; value: string } | undefined;
    for (let i = 0; i < term.length && !found; i++) {
      if (term[i] === '\\') {
        i++;
        continue;
      }
      for (const op of ['!=', '==', '='] as const) {
        if (term.startsWith(op, i)) {
          found = {
            field: term.slice(0, i).trim(),
            operator: op === '!=' ? '!=' : '=',
            value: term.slice(i + op.length),
          };
          break;
        }
      }
    }
    if (!found || !found.field) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    requirements.push({ field: found.field, operator: found.operator, value: unescapeFieldValue(found.value) });
  }
  return requirements;
}

/** The field selectors a type supports, for checking requests and error messages. */
export const supportedFields = (type: ResourceType): string[] => [
  'metadata.name',
  'metadata.namespace',
  ...Object.keys(type.selectableFields),
];

/** Checks that every field is supported by `type` (BadRequest `field label not supported: x` otherwise). */
export function checkFields(type: ResourceType, requirements: readonly FieldRequirement[]): void {
  const supported = new Set(supportedFields(type));
  for (const r of requirements) {
    if (!supported.has(r.field)) {
      throw badRequest(`field label not supported: ${r.field} (supported: ${[...supported].join(', ')})`);
    }
  }
}

/** The value of a selectable field of `object` ('' when absent), as field selectors compare it. */
export function fieldValue(type: ResourceType, object: Record<string, unknown>, field: string): string {
  const meta = (object.metadata ?? {}) as { name?: string; namespace?: string };
  if (field === 'metadata.name') return meta.name ?? '';
  if (field === 'metadata.namespace') return meta.namespace ?? '';
  return type.selectableFields[field]?.(object) ?? '';
}

export function matchesFields(
  type: ResourceType,
  requirements: readonly FieldRequirement[],
  object: Record<string, unknown>,
): boolean {
  return requirements.every((r) => (fieldValue(type, object, r.field) === r.value) === (r.operator === '='));
}

/** Parsed selectors (from strings or already parsed), with the fields checked against the type. */
export interface Selectors {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export function resolveSelectors(
  type: ResourceType,
  labelSelector: string | LabelRequirement[] | undefined,
  fieldSelector: string | FieldRequirement[] | undefined,
): Selectors {
  const labels = typeof labelSelector === 'string' ? parseLabelSelector(labelSelector) : (labelSelector ?? []);
  const fields = typeof fieldSelector === 'string' ? parseFieldSelector(fieldSelector) : (fieldSelector ?? []);
  checkFields(type, fields);
  return { labels, fields };
}

export function matches(type: ResourceType, selectors: Selectors, object: Record<string, unknown>): boolean {
  const labels = (object.metadata as { labels?: Record<string, string> } | undefined)?.labels;
  return matchesLabels(selectors.labels, labels) && matchesFields(type, selectors.fields, object);
}
