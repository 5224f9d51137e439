// Rules registered with their diki ids, names, severities and option schemas whose checks are still being
// built (kubelet configuration through configz, node files through ops pods). Until then they report Skipped
// with the reason below, and diki configs that pass options to them still validate.
import Type, { type TSchema } from 'typebox';
import type { Severity } from '../../../engine/result.ts';
import { skipRule, type Rule } from '../../../engine/rule.ts';
import { LabelSelectorSchema } from '../../shared/selectors.ts';

/** A placeholder: Skipped with `reason`, accepting the options diki's rule takes. */
export function placeholderRule(id: string, name: string, severity: Severity, reason: string, options?: TSchema): Rule {
  return { ...skipRule(id, name, severity, reason), ...(options ? { options } : {}) };
}

/** Node labels whose value combinations group nodes; one node per group is checked. */
export const NodeGroupByLabels = Type.Array(Type.String());

/** Owners a file may have (user and group IDs as strings). */
export const ExpectedFileOwner = Type.Object(
  { users: Type.Optional(Type.Array(Type.String())), groups: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: false },
);

/** How the kube-proxy pods are found, or that the cluster runs none. */
export const KubeProxyOptions = Type.Object(
  {
    disabled: Type.Optional(Type.Boolean()),
    labelSelector: Type.Optional(LabelSelectorSchema),
    matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

export const options = (properties: Record<string, TSchema>): TSchema =>
  Type.Object(Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, Type.Optional(v)])), {
    additionalProperties: false,
  });
