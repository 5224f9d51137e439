// 2001: no container (regular or init) may escalate privileges. A container can when its security context is
// missing, leaves allowPrivilegeEscalation unset (the kernel default is to allow it) or true, runs privileged,
// or adds the SYS_ADMIN capability. One pod per owner is checked; the scanner's ops pods are skipped.
import type { V1Container } from '@kubernetes/client-node';
import Type from 'typebox';
import { defineRule } from '../../../engine/rule.ts';
import { failed, passed, skipped, type CheckResult } from '../../../engine/result.ts';
import { isOpsPod, NO_PODS, podsToCheck } from '../../shared/pods.ts';
import {
  acceptanceOf,
  acceptedFinding,
  AcceptedNamespacedObjectSchema,
  validateAcceptedNamespaced,
} from '../../shared/selectors.ts';

const Options = Type.Object(
  { acceptedPods: Type.Optional(Type.Array(AcceptedNamespacedObjectSchema)) },
  { additionalProperties: false },
);

/** Whether a container's security context lets its processes gain more privileges than their parent. */
export function canEscalatePrivileges(container: V1Container): boolean {
  const sc = container.securityContext;
  if (!sc) return true;
  const addsSysAdmin = (sc.capabilities?.add ?? []).some((cap) =>
    ['SYS_ADMIN', 'CAP_SYS_ADMIN'].includes(cap.toUpperCase()),
  );
  return sc.allowPrivilegeEscalation !== false || sc.privileged === true || addsSysAdmin;
}

export const rule2001 = defineRule({
  id: '2001',
  name: 'Containers must be forbidden to escalate privileges.',
  severity: 'High',
  options: Options,
  validate: (options, path) => validateAcceptedNamespaced(options.acceptedPods, `${path}.acceptedPods`),
  async run(ctx) {
    const scope = await podsToCheck(ctx.objects);
    if (!scope) return [passed(NO_PODS)];
    const results: CheckResult[] = [];
    for (const pod of scope.pods) {
      const target = scope.target(pod);
      if (isOpsPod(pod)) {
        results.push(skipped('Ops pods of the scanner run privileged by design.', target));
        continue;
      }
      const escalating = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].filter(
        canEscalatePrivileges,
      );
      if (escalating.length === 0) {
        results.push(passed('No container of the pod can escalate privileges.', target));
        continue;
      }
      const acceptance = acceptanceOf(ctx.options?.acceptedPods, pod.metadata?.labels, scope.namespaceLabels(pod));
      for (const container of escalating) {
        const containerTarget = { ...target, container: container.name };
        results.push(
          acceptance
            ? acceptedFinding(acceptance, 'Privilege escalation is accepted for this pod.', containerTarget)
            : failed('Container can escalate privileges.', containerTarget),
        );
      }
    }
    return results;
  },
});
