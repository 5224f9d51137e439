// Helpers the DISA STIG rules share: the label selector of the kube-proxy pods that several rules look at.
import Type, { type Static } from 'typebox';
import type { FieldError } from '../../../../api/validation.ts';
import { LabelSelectorSchema, matchesLabels, matchesSelector } from '../../shared/selectors.ts';

/** Selects cluster-wide objects (kube-proxy pods) by a label selector or, deprecated, exact labels. */
export const ObjectSelectorSchema = Type.Object(
  {
    labelSelector: Type.Optional(LabelSelectorSchema),
    matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);
export type ObjectSelector = Static<typeof ObjectSelectorSchema>;

/** Exactly one of labelSelector and matchLabels. */
export function validateObjectSelector(selector: ObjectSelector | undefined, path: string): FieldError[] {
  if (!selector) return [];
  if (selector.labelSelector && selector.matchLabels)
    return [{ field: `${path}.matchLabels`, message: 'cannot be set together with labelSelector' }];
  if (!selector.labelSelector && !selector.matchLabels)
    return [{ field: `${path}.labelSelector`, message: 'required: a labelSelector (or matchLabels)' }];
  return [];
}

/** kube-proxy pods carry `role: proxy` unless the options say otherwise. */
export const DEFAULT_KUBE_PROXY_LABELS: Record<string, string> = { role: 'proxy' };

export function selects(selector: ObjectSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector?.labelSelector) return matchesSelector(selector.labelSelector, labels);
  return matchesLabels(labels, selector?.matchLabels ?? DEFAULT_KUBE_PROXY_LABELS);
}

/** A selector in kubectl's notation, for messages. */
export function describeSelector(selector: ObjectSelector | undefined): string {
  if (selector?.labelSelector) {
    const parts = Object.entries(selector.labelSelector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const { key, operator, values = [] } of selector.labelSelector.matchExpressions ?? []) {
      if (operator === 'Exists') parts.push(key);
      else if (operator === 'DoesNotExist') parts.push(`!${key}`);
      else parts.push(`${key} ${operator === 'In' ? 'in' : 'notin'} (${values.join(',')})`);
    }
    return parts.join(',');
  }
  return Object.entries(selector?.matchLabels ?? DEFAULT_KUBE_PROXY_LABELS)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Lists several kinds at once, but reports a read error of the first kind that failed in the given order. */
export async function listInOrder<T>(lists: Promise<T>[]): Promise<T[]> {
  for (const list of lists) list.catch(() => undefined);
  const results: T[] = [];
  for (const list of lists) results.push(await list);
  return results;
}
