// One rule per Pod Security Standards control. Each rule checks one pod per owner, skips the scanner's ops pods,
// and reports a pod that complies as Passed and each finding of a pod that does not as Failed, per container,
// volume or annotation where the control is about one. Findings are Accepted when an `acceptedPods` entry
// matches the pod, or, with the ruleset arg `honorEnforceLabels`, when the pod's namespace enforces a Pod
// Security level below the control's (`pod-security.kubernetes.io/enforce: privileged` for Baseline controls,
// `privileged` or `baseline` for Restricted ones).
import Type, { type Static } from 'typebox';
import { failed, passed, skipped, type CheckResult } from '../../engine/result.ts';
import { defineRule, type Rule } from '../../engine/rule.ts';
import { isOpsPod, NO_PODS, podsToCheck } from '../shared/pods.ts';
import {
  type Acceptance,
  acceptanceOf,
  acceptedFinding,
  AcceptedNamespacedObjectSchema,
  validateAcceptedNamespaced,
} from '../shared/selectors.ts';
import type { Control } from './controls.ts';
import { ENFORCE_LABEL, LEVELS, type PssLevel, type PssPolicy } from './policy.ts';

export const RuleOptionsSchema = Type.Object(
  { acceptedPods: Type.Optional(Type.Array(AcceptedNamespacedObjectSchema)) },
  { additionalProperties: false },
);

export const RulesetArgsSchema = Type.Object(
  {
    /** Accept findings in namespaces whose enforced Pod Security level allows them. */
    honorEnforceLabels: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RulesetArgs = Static<typeof RulesetArgsSchema>;

export const OPS_POD = 'Ops pods of the scanner need host access by design.';

/** The acceptance a namespace's enforce label gives to findings of a control at `level`, if its level is lower. */
export function enforceLabelAcceptance(
  labels: Record<string, string> | undefined,
  level: PssLevel,
): Acceptance | undefined {
  const enforced = labels?.[ENFORCE_LABEL];
  const rank = (LEVELS as readonly string[]).indexOf(enforced ?? '');
  if (rank < 0 || rank >= LEVELS.indexOf(level)) return undefined;
  return {
    status: 'Accepted',
    justification: `The namespace enforces the Pod Security level "${enforced}" (label ${ENFORCE_LABEL}), which allows this.`,
  };
}

export function pssRule(control: Control, policy: PssPolicy): Rule {
  return defineRule<typeof RuleOptionsSchema, RulesetArgs | undefined>({
    id: control.id,
    name: control.name,
    severity: control.level === 'baseline' ? 'High' : 'Medium',
    options: RuleOptionsSchema,
    validate: (options, path) => validateAcceptedNamespaced(options.acceptedPods, `${path}.acceptedPods`),
    async run(ctx) {
      const scope = await podsToCheck(ctx.objects);
      if (!scope) return [passed(NO_PODS)];
      const honorEnforceLabels = ctx.rulesetArgs?.honorEnforceLabels === true;
      const results: CheckResult[] = [];
      for (const pod of scope.pods) {
        const target = scope.target(pod);
        if (isOpsPod(pod)) {
          results.push(skipped(OPS_POD, target));
          continue;
        }
        const exemption = control.exempt?.(pod, policy);
        if (exemption) {
          results.push(passed(exemption, target));
          continue;
        }
        const findings = control.check(pod, policy);
        if (findings.length === 0) {
          results.push(passed(control.passed, target));
          continue;
        }
        const labels = scope.namespaceLabels(pod);
        const acceptance =
          acceptanceOf(ctx.options?.acceptedPods, pod.metadata?.labels, labels) ??
          (honorEnforceLabels ? enforceLabelAcceptance(labels, control.level) : undefined);
        for (const finding of findings) {
          const findingTarget = { ...target, ...finding.at };
          results.push(
            acceptance
              ? acceptedFinding(acceptance, 'Pod is accepted to violate this control.', findingTarget)
              : failed(finding.message, findingTarget),
          );
        }
      }
      return results;
    },
  });
}
