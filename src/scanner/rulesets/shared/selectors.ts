// Label selectors and the acceptance options diki's rules share (`acceptedPods`, `acceptedNamespaces`, ...):
// a selector on the object and, for namespaced objects, one on its namespace, with a justification and the
// status an accepted finding gets (default Accepted).
import Type, { type Static } from 'typebox';
import type { FieldError } from '../../../api/validation.ts';
import { accepted, passed, type CheckResult, type Target } from '../../engine/result.ts';

const LabelMap = Type.Record(Type.String(), Type.String());

export const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(LabelMap),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            key: Type.String({ minLength: 1 }),
            operator: Type.Union([
              Type.Literal('In'),
              Type.Literal('NotIn'),
              Type.Literal('Exists'),
              Type.Literal('DoesNotExist'),
            ]),
            values: Type.Optional(Type.Array(Type.String())),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);
export type LabelSelector = Static<typeof LabelSelectorSchema>;

/** Kubernetes label-selector semantics; an empty selector matches everything. */
export function matchesSelector(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (l[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, key);
    if (operator === 'In' && !(has && values.includes(l[key]!))) return false;
    if (operator === 'NotIn' && has && values.includes(l[key]!)) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Every label in `wanted` is present in `labels` with the same value (diki's deprecated matchLabels). */
export const matchesLabels = (labels: Record<string, string> | undefined, wanted: Record<string, string>): boolean =>
  Object.entries(wanted).every(([k, v]) => labels?.[k] === v);

const AcceptanceStatus = Type.Optional(Type.Union([Type.Literal('Passed'), Type.Literal('Accepted')]));

export const AcceptedNamespacedObjectSchema = Type.Object(
  {
    labelSelector: Type.Optional(LabelSelectorSchema),
    namespaceLabelSelector: Type.Optional(LabelSelectorSchema),
    /** Deprecated in diki, still accepted: exact labels of the object and of its namespace. */
    matchLabels: Type.Optional(LabelMap),
    namespaceMatchLabels: Type.Optional(LabelMap),
    justification: Type.Optional(Type.String()),
    status: AcceptanceStatus,
  },
  { additionalProperties: false },
);
export type AcceptedNamespacedObject = Static<typeof AcceptedNamespacedObjectSchema>;

export const AcceptedClusterObjectSchema = Type.Object(
  {
    labelSelector: Type.Optional(LabelSelectorSchema),
    matchLabels: Type.Optional(LabelMap),
    justification: Type.Optional(Type.String()),
    status: AcceptanceStatus,
  },
  { additionalProperties: false },
);
export type AcceptedClusterObject = Static<typeof AcceptedClusterObjectSchema>;

/** The rules diki applies beyond the schema: selectors come in pairs, and old and new forms don't mix. */
export function validateAcceptedNamespaced(
  entries: AcceptedNamespacedObject[] | undefined,
  path: string,
): FieldError[] {
  const errors: FieldError[] = [];
  (entries ?? []).forEach((e, i) => {
    const at = `${path}[${i}]`;
    const usingSelectors = e.labelSelector !== undefined || e.namespaceLabelSelector !== undefined;
    const usingLabels = e.matchLabels !== undefined || e.namespaceMatchLabels !== undefined;
    if (usingSelectors && usingLabels)
      errors.push({ field: at, message: 'matchLabels cannot be set when labelSelectors are used' });
    else if (usingSelectors && (!e.labelSelector || !e.namespaceLabelSelector))
      errors.push({ field: at, message: 'both labelSelector and namespaceLabelSelector must be set' });
    else if (!usingSelectors && (!e.matchLabels || !e.namespaceMatchLabels))
      errors.push({ field: at, message: 'both labelSelector and namespaceLabelSelector must be set' });
  });
  return errors;
}

export function validateAcceptedCluster(entries: AcceptedClusterObject[] | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  (entries ?? []).forEach((e, i) => {
    const at = `${path}[${i}]`;
    if (e.labelSelector && e.matchLabels)
      errors.push({ field: `${at}.matchLabels`, message: 'cannot be set when labelSelector is defined' });
    else if (!e.labelSelector && !e.matchLabels) errors.push({ field: `${at}.labelSelector`, message: 'required' });
  });
  return errors;
}

export interface Acceptance {
  justification: string | undefined;
  status: 'Passed' | 'Accepted';
}

/** The first entry that accepts an object with these labels in a namespace with these labels. */
export function acceptanceOf(
  entries: AcceptedNamespacedObject[] | undefined,
  labels: Record<string, string> | undefined,
  namespaceLabels: Record<string, string> | undefined,
): Acceptance | undefined {
  for (const e of entries ?? []) {
    const matches =
      e.labelSelector && e.namespaceLabelSelector
        ? matchesSelector(e.labelSelector, labels) && matchesSelector(e.namespaceLabelSelector, namespaceLabels)
        : e.matchLabels !== undefined &&
          e.namespaceMatchLabels !== undefined &&
          matchesLabels(labels, e.matchLabels) &&
          matchesLabels(namespaceLabels, e.namespaceMatchLabels);
    if (matches) return { justification: e.justification, status: e.status ?? 'Accepted' };
  }
  return undefined;
}

export function clusterAcceptanceOf(
  entries: AcceptedClusterObject[] | undefined,
  labels: Record<string, string> | undefined,
): Acceptance | undefined {
  for (const e of entries ?? []) {
    const matches = e.labelSelector
      ? matchesSelector(e.labelSelector, labels)
      : e.matchLabels !== undefined && matchesLabels(labels, e.matchLabels);
    if (matches) return { justification: e.justification, status: e.status ?? 'Accepted' };
  }
  return undefined;
}

/**
 * The check for a finding an acceptance covers: its justification (or `fallback`) as message, with the status
 * the acceptance asks for (Accepted unless it says Passed).
 */
export function acceptedFinding(acceptance: Acceptance, fallback: string, target?: Target): CheckResult {
  const message = acceptance.justification?.trim() || fallback;
  return acceptance.status === 'Passed' ? passed(message, target) : accepted(message, target);
}
