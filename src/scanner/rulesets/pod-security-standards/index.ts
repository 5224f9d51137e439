// Ruleset `pod-security-standards`: every control of the Kubernetes Pod Security Standards.
import type { RulesetDefinition } from '../../engine/rule.ts';

export const podSecurityStandards: RulesetDefinition = {
  id: 'pod-security-standards',
  name: 'Pod Security Standards',
  providers: ['managedk8s'],
  versions: [{ version: 'v0.1.0', rules: [] }],
};
