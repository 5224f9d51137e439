// 242414: user pods do not bind host ports below 1024 (privileged ports). One pod per owner is checked; an
// `acceptedPods` entry accepts listed ports for the pods it selects.
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

const AcceptedPodPortsSchema = Type.Object(
  {
    labelSelector: AcceptedNamespacedObjectSchema.properties.labelSelector,
    namespaceLabelSelector: AcceptedNamespacedObjectSchema.properties.namespaceLabelSelector,
    matchLabels: AcceptedNamespacedObjectSchema.properties.matchLabels,
    namespaceMatchLabels: AcceptedNamespacedObjectSchema.properties.namespaceMatchLabels,
    justification: AcceptedNamespacedObjectSchema.properties.justification,
    ports: Type.Array(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

const Options = Type.Object(
  { acceptedPods: Type.Optional(Type.Array(AcceptedPodPortsSchema)) },
  { additionalProperties: false },
);

function validateOptions(options: Static<typeof Options>, path: string): FieldError[] {
  const at = `${path}.acceptedPods`;
  const errors = validateAcceptedNamespaced(options.acceptedPods, at);
  (options.acceptedPods ?? []).forEach((entry, i) => {
    if (entry.ports.length === 0) errors.push({ field: `${at}[${i}].ports`, message: 'must not be empty' });
  });
  return errors;
}

export const PRIVILEGED_PORT_LIMIT = 1024;

export const rule242414 = defineRule({
  id: '242414',
  name: 'The Kubernetes cluster must use non-privileged host ports for user pods.',
  severity: 'Medium',
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
        for (const port of container.ports ?? []) {
          const hostPort = port.hostPort ?? 0;
          if (hostPort === 0 || hostPort >= PRIVILEGED_PORT_LIMIT) continue;
          const portTarget = { ...target, container: container.name, details: `hostPort: ${hostPort}` };
          const acceptance = acceptanceOf(
            (ctx.options?.acceptedPods ?? []).filter((e) => e.ports.includes(hostPort)),
            pod.metadata?.labels,
            scope.namespaceLabels(pod),
          );
          findings.push(
            acceptance
              ? acceptedFinding(acceptance, 'Host port below 1024 is accepted for this pod.', portTarget)
              : failed('Container uses a host port below 1024.', portTarget),
          );
        }
      }
      checks.push(...(findings.length > 0 ? findings : [passed('Pod uses no host port below 1024.', target)]));
    }
    return checks;
  },
});
