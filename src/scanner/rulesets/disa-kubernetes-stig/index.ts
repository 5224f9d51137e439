// Ruleset `disa-kubernetes-stig`: the DISA Kubernetes STIG as it applies to a managed cluster.
import type { RulesetDefinition } from '../../engine/rule.ts';
import { v2r5, v2r6 } from './versions.ts';

export const disaKubernetesStig: RulesetDefinition = {
  id: 'disa-kubernetes-stig',
  name: 'DISA Kubernetes Security Technical Implementation Guide',
  providers: ['managedk8s'],
  versions: [v2r6, v2r5],
};
