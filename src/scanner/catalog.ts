// Everything the scanner can run: providers and rulesets (each ruleset lists its versions, newest first).
import type { Catalog } from './engine/config.ts';
import { managedK8s } from './providers/managedk8s.ts';
import { disaKubernetesStig } from './rulesets/disa-kubernetes-stig/index.ts';
import { podSecurityStandards } from './rulesets/pod-security-standards/index.ts';
import { securityHardenedK8s } from './rulesets/security-hardened-k8s/index.ts';

export const catalog: Catalog = {
  providers: [managedK8s],
  rulesets: [disaKubernetesStig, securityHardenedK8s, podSecurityStandards],
};
