// Ruleset `disa-kubernetes-stig`: the DISA Kubernetes STIG as it applies to a managed cluster.
import type { RulesetDefinition } from '../../engine/rule.ts';

export const disaKubernetesStig: RulesetDefinition = {
  id: 'disa-kubernetes-stig',
  name: 'DISA Kubernetes Security Technical Implementation Guide',
  providers: ['managedk8s'],
  versions: [
    { version: 'v2r6', rules: [] },
    { version: 'v2r5', rules: [] },
  ],
};
