// The options of the node-level rules, in diki's shapes, and their checks beyond the schema (label names,
// numeric owner IDs, one kind of kube-proxy selector).
import Type, { type Static } from 'typebox';
import type { FieldError } from '../../../../api/validation.ts';
import { LabelSelectorSchema } from '../../shared/selectors.ts';
import type { ObjectSelector } from './common.ts';

/** Node labels whose value combinations group nodes; one node per group is checked. */
export const NodeGroupByLabels = Type.Array(Type.String());

/** Owners a file may have (user and group IDs as strings); default root (0) for both. */
export const ExpectedFileOwner = Type.Object(
  { users: Type.Optional(Type.Array(Type.String())), groups: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: false },
);
export type ExpectedFileOwner = Static<typeof ExpectedFileOwner>;

/** How the kube-proxy pods are found (default `role: proxy`), or that the cluster runs none. */
export const KubeProxyOptions = Type.Object(
  {
    disabled: Type.Optional(Type.Boolean()),
    labelSelector: Type.Optional(LabelSelectorSchema),
    matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);
export type KubeProxyOptions = Static<typeof KubeProxyOptions>;

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `label` is not a valid label key (`[prefix/]name`), or undefined. */
export function labelNameProblem(label: string): string | undefined {
  const slash = label.lastIndexOf('/');
  const prefix = slash >= 0 ? label.slice(0, slash) : undefined;
  const name = slash >= 0 ? label.slice(slash + 1) : label;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return 'the prefix must be a DNS subdomain (lower-case letters, digits, "-" and ".")';
  if (name.length === 0 || name.length > 63 || !NAME.test(name))
    return 'the name must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

export function validateNodeGroupByLabels(labels: readonly string[] | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  (labels ?? []).forEach((label, i) => {
    const problem = labelNameProblem(label);
    if (problem) errors.push({ field: `${path}[${i}]`, message: `"${label}" is not a label name: ${problem}` });
  });
  return errors;
}

const MAX_ID = 2147483647;

export function validateExpectedFileOwner(owner: ExpectedFileOwner | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const key of ['users', 'groups'] as const)
    (owner?.[key] ?? []).forEach((id, i) => {
      if (!/^\d+$/.test(id) || Number(id) > MAX_ID)
        errors.push({
          field: `${path}.${key}[${i}]`,
          message: `"${id}" is not a numeric ${key === 'users' ? 'user' : 'group'} ID (0 to ${MAX_ID})`,
        });
    });
  return errors;
}

/** labelSelector and matchLabels do not mix; neither is needed (the default selects `role: proxy`). */
export function validateKubeProxySelector(selector: ObjectSelector | undefined, path: string): FieldError[] {
  if (selector?.labelSelector && selector.matchLabels)
    return [{ field: `${path}.matchLabels`, message: 'cannot be set together with labelSelector' }];
  return [];
}

/** The owners a file must have: the option's, root for what it leaves out. */
export function expectedOwners(owner: ExpectedFileOwner | undefined): { users: string[]; groups: string[] } {
  return {
    users: owner?.users?.length ? owner.users : ['0'],
    groups: owner?.groups?.length ? owner.groups : ['0'],
  };
}
