// Helpers the security-hardened-k8s rules share: per-volume acceptances of pods (2003, 2008).
import Type, { type Static } from 'typebox';
import type { FieldError } from '../../../../api/validation.ts';
import {
  AcceptedNamespacedObjectSchema,
  acceptanceOf,
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
  for (const entry of entries ?? []) {
    if (!entry.volumeNames.some((pattern) => matchesVolumeName(pattern, volumeName))) continue;
    const acceptance = acceptanceOf([entry], podLabels, namespaceLabels);
    if (acceptance) return acceptance;
  }
  return undefined;
}
