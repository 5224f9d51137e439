// Helpers the security-hardened-k8s rules share: per-volume acceptances of pods and the rule shape of 2003
// and 2008 (one finding per volume a pod may not have).
import type { V1Volume } from '@kubernetes/client-node';
import Type, { type Static } from 'typebox';
import type { FieldError } from '../../../../api/validation.ts';
import { defineRule, type Rule } from '../../../engine/rule.ts';
import { failed, passed, skipped, type CheckResult, type Severity } from '../../../engine/result.ts';
import { isOpsPod, NO_PODS, podsToCheck } from '../../shared/pods.ts';
import {
  AcceptedNamespacedObjectSchema,
  acceptanceOf,
  acceptedFinding,
  validateAcceptedNamespaced,
  type Acceptance,
} from '../../shared/selectors.ts';

/** An `acceptedPods` entry that names the pod volumes it accepts; `*` in a name matches any characters. */
export const AcceptedPodVolumesSchema = Type.Object(
  {
    ...AcceptedNamespacedObjectSchema.properties,
    volumeNames: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type AcceptedPodVolumes = Static<typeof AcceptedPodVolumesSchema>;

/** Volume names follow RFC 1123 labels; `*` may stand for any run of characters. */
const VOLUME_NAME_PATTERN = /^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$/;

export function validateAcceptedPodVolumes(entries: AcceptedPodVolumes[] | undefined, path: string): FieldError[] {
  const errors = validateAcceptedNamespaced(entries, path);
  (entries ?? []).forEach((entry, i) => {
    const at = `${path}[${i}].volumeNames`;
    if (entry.volumeNames.length === 0) errors.push({ field: at, message: 'must not be empty' });
    entry.volumeNames.forEach((name, j) => {
      if (name === '') errors.push({ field: `${at}[${j}]`, message: 'must not be empty' });
      else if (!VOLUME_NAME_PATTERN.test(name))
        errors.push({
          field: `${at}[${j}]`,
          message: `"${name}" is not a volume name (lower-case letters, digits, "-" and "*" wildcards)`,
        });
    });
  });
  return errors;
}

/** Whether a volume-name pattern (`*` matches any run of characters) matches a volume name. */
export function matchesVolumeName(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const regex = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${regex}$`).test(name);
}

/** The first entry that accepts this volume of a pod with these labels in a namespace with these labels. */
export function volumeAcceptanceOf(
  entries: AcceptedPodVolumes[] | undefined,
  podLabels: Record<string, string> | undefined,
  namespaceLabels: Record<string, string> | undefined,
  volumeName: string,
): Acceptance | undefined {
  const naming = (entries ?? []).filter((e) => e.volumeNames.some((p) => matchesVolumeName(p, volumeName)));
  return acceptanceOf(naming, podLabels, namespaceLabels);
}

const PodVolumeOptions = Type.Object(
  { acceptedPods: Type.Optional(Type.Array(AcceptedPodVolumesSchema)) },
  { additionalProperties: false },
);

/**
 * A rule that fails each volume of a pod that `isFinding` flags, unless an `acceptedPods` entry names the
 * volume; one pod per owner, the scanner's ops pods (which mount the host) skipped.
 */
export function podVolumeRule(spec: {
  id: string;
  name: string;
  severity: Severity;
  isFinding: (volume: V1Volume) => boolean;
  messages: { passed: string; accepted: string; failed: string };
}): Rule {
  return defineRule({
    id: spec.id,
    name: spec.name,
    severity: spec.severity,
    options: PodVolumeOptions,
    validate: (options, path) => validateAcceptedPodVolumes(options.acceptedPods, `${path}.acceptedPods`),
    async run(ctx) {
      const scope = await podsToCheck(ctx.objects);
      if (!scope) return [passed(NO_PODS)];
      const results: CheckResult[] = [];
      for (const pod of scope.pods) {
        const target = scope.target(pod);
        if (isOpsPod(pod)) {
          results.push(skipped('Ops pods of the scanner mount host directories by design.', target));
          continue;
        }
        const findings = (pod.spec?.volumes ?? []).filter(spec.isFinding);
        if (findings.length === 0) {
          results.push(passed(spec.messages.passed, target));
          continue;
        }
        for (const volume of findings) {
          const volumeTarget = { ...target, volume: volume.name };
          const acceptance = volumeAcceptanceOf(
            ctx.options?.acceptedPods,
            pod.metadata?.labels,
            scope.namespaceLabels(pod),
            volume.name,
          );
          results.push(
            acceptance
              ? acceptedFinding(acceptance, spec.messages.accepted, volumeTarget)
              : failed(spec.messages.failed, volumeTarget),
          );
        }
      }
      return results;
    },
  });
}
