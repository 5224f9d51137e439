// Ruleset `security-hardened-k8s`: hardening rules on API objects (diki's ids 2000-2008).
import type { RulesetDefinition } from '../../engine/rule.ts';
import { rule2000 } from './rules/2000.ts';
import { rule2001 } from './rules/2001.ts';
import { rule2002 } from './rules/2002.ts';
import { rule2003 } from './rules/2003.ts';
import { rule2004 } from './rules/2004.ts';
import { rule2005 } from './rules/2005.ts';
import { rule2008 } from './rules/2008.ts';
import { rule2006, rule2007 } from './rules/rbac.ts';

export const securityHardenedK8s: RulesetDefinition = {
  id: 'security-hardened-k8s',
  name: 'Security Hardened Kubernetes Cluster',
  providers: ['managedk8s'],
  versions: [
    {
      version: 'v0.1.0',
      rules: [rule2000, rule2001, rule2002, rule2003, rule2004, rule2005, rule2006, rule2007, rule2008],
    },
  ],
};
