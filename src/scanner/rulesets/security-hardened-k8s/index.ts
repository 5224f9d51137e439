// Ruleset `security-hardened-k8s`: hardening rules on API objects (diki's ids 2000-2008).
import type { RulesetDefinition } from '../../engine/rule.ts';

export const securityHardenedK8s: RulesetDefinition = {
  id: 'security-hardened-k8s',
  name: 'Security Hardened Kubernetes Cluster',
  providers: ['managedk8s'],
  versions: [{ version: 'v0.1.0', rules: [] }],
};
