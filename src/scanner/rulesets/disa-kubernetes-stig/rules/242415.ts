// 242415: secrets reach containers as files, not as environment variables (`env[].valueFrom.secretKeyRef`).
// One pod per owner is checked; an `acceptedPods` entry accepts listed variable names for the pods it selects.
import Type, { type Static } from 'typebox';
import type { FieldError } from '../../../../api/validation.ts';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed, type CheckResult } from '../../../engine/result.ts';
import { NO_PODS, podsToCheck } from '../../shared/pods.ts';
import {
  acceptanceOf,
  acceptedFinding,
  AcceptedNamespacedObjectSchema,
  validateAcceptedNamespaced,
} from '../../shared/selectors.ts';

const AcceptedPodVariablesSchema = Type.Object(
  {
    labelSelector: AcceptedNamespacedObjectSchema.properties.labelSelector,
    namespaceLabelSelector: AcceptedNamespacedObjectSchema.properties.namespaceLabelSelector,
    matchLabels: AcceptedNamespacedObjectSchema.properties.matchLabels,
    namespaceMatchLabels: AcceptedNamespacedObjectSchema.properties.namespaceMatchLabels,
    justification: AcceptedNamespacedObjectSchema.properties.justification,
    environmentVariables: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

const Options = Type.Object(
  { acceptedPods: Type.Optional(Type.Array(AcceptedPodVariablesSchema)) },
  { additionalProperties: false },
);

/** What Kubernetes accepts as an environment variable name. */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function validateOptions(options: Static<typeof Options>, path: string): FieldError[] {
  const at = `${path}.acceptedPods`;
  const errors = validateAcceptedNamespaced(options.acceptedPods, at);
  (options.acceptedPods ?? []).forEach((entry, i) => {
    const vars = `${at}[${i}].environmentVariables`;
    if (entry.environmentVariables.length === 0) errors.push({ field: vars, message: 'must not be empty' });
    entry.environmentVariables.forEach((name, j) => {
      if (!ENV_NAME.test(name))
        errors.push({
          field: `${vars}[${j}]`,
          message: `"${name}" is not an environment variable name (letters, digits, "_", "-", "."; not starting with a digit)`,
        });
    });
  });
  return errors;
}

export const rule242415 = defineRule({
  id: '242415',
  name: 'Secrets in Kubernetes must not be stored as environment variables.',
  severity: 'High',
  options: Options,
  validate: validateOptions,
  async run(ctx) {
    const scope = await podsToCheck(ctx.objects);
    if (!scope) return [passed(NO_PODS)];
    const checks: CheckResult[] = [];
    for (const pod of scope.pods) {
      const target = scope.target(pod);
      const findings: CheckResult[] = [];
      for (const container of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
        for (const env of container.env ?? []) {
          const ref = env.valueFrom?.secretKeyRef;
          if (!ref) continue;
          const envTarget = {
            ...target,
            container: container.name,
            details: `variable: ${env.name}, secret: ${ref.name ?? ''}, key: ${ref.key}`,
          };
          const acceptance = acceptanceOf(
            (ctx.options?.acceptedPods ?? []).filter((e) => e.environmentVariables.includes(env.name)),
            pod.metadata?.labels,
            scope.namespaceLabels(pod),
          );
          findings.push(
            acceptance
              ? acceptedFinding(acceptance, 'Secret in an environment variable is accepted for this pod.', envTarget)
              : failed('Secret is injected through an environment variable.', envTarget),
          );
        }
      }
      checks.push(
        ...(findings.length > 0 ? findings : [passed('Pod injects no secret through environment variables.', target)]),
      );
    }
    return checks;
  },
});
