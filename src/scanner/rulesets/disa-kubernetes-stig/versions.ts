// The rules of each DISA Kubernetes STIG release for the managedk8s provider, in diki's order (by id).
// v2r5 and v2r6 register the same 92 rules on managedk8s with the same names, severities and options
// (v2r5 already dropped 242386 and 242388, which v2r4 still listed), so both share one list.
import Type from 'typebox';
import type { Rule, RulesetVersion } from '../../engine/rule.ts';
import { rule242383 } from './rules/242383.ts';
import { rule242390 } from './rules/242390.ts';
import { rule242395 } from './rules/242395.ts';
import { rule242414 } from './rules/242414.ts';
import { rule242415 } from './rules/242415.ts';
import { rule242417 } from './rules/242417.ts';
import { rule242442 } from './rules/242442.ts';
import { kubeletConfigRules } from './rules/kubelet-config.ts';
import { nodeFileRules } from './rules/node-files.ts';
import { skippedRules } from './skipped.ts';

/** The rules checked from API objects (and one anonymous request), implemented here. */
export const apiObjectRules: Rule[] = [
  rule242383,
  rule242390,
  rule242395,
  rule242414,
  rule242415,
  rule242417,
  rule242442,
];

export const RULES_PER_VERSION = 92;

function assemble(): Rule[] {
  const rules = [...apiObjectRules, ...kubeletConfigRules, ...nodeFileRules, ...skippedRules].sort(
    (a, b) => Number(a.id) - Number(b.id),
  );
  const ids = new Set(rules.map((r) => r.id));
  if (rules.length !== RULES_PER_VERSION || ids.size !== RULES_PER_VERSION)
    throw new Error(`disa-kubernetes-stig: expected ${RULES_PER_VERSION} distinct rules, got ${ids.size}`);
  return rules;
}

const rules = assemble();

/** Ruleset args as diki takes them: how often rules that start ops pods retry (default 1). */
export const RulesetArgs = Type.Object(
  { maxRetries: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);

export const v2r6: RulesetVersion = { version: 'v2r6', rules, args: RulesetArgs };
export const v2r5: RulesetVersion = { version: 'v2r5', rules, args: RulesetArgs };
