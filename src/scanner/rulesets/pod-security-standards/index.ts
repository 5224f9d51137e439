// Ruleset `pod-security-standards`: every control of the Kubernetes Pod Security Standards, Baseline (PSS-B001 to
// PSS-B012, severity High) and Restricted (PSS-R001 to PSS-R007, severity Medium), one rule per control. A
// ruleset version is the Kubernetes release whose standards it implements (docs/adr/ on the versioning).
import type { RulesetDefinition } from '../../engine/rule.ts';
import { controls } from './controls.ts';
import { PSS_V1_36 } from './policy.ts';
import { pssRule, RulesetArgsSchema } from './rules.ts';

export const podSecurityStandards: RulesetDefinition = {
  id: 'pod-security-standards',
  name: 'Pod Security Standards',
  providers: ['managedk8s'],
  versions: [
    {
      version: PSS_V1_36.version,
      rules: controls.map((control) => pssRule(control, PSS_V1_36)),
      args: RulesetArgsSchema,
    },
  ],
};
