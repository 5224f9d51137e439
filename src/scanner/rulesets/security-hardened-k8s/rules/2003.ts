// 2003: pods use only volume types that keep them off the node's and the provider's storage internals:
// configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret. One pod per
// owner is checked; the scanner's ops pods (which mount the host) are skipped.
import type { V1Volume } from '@kubernetes/client-node';
import { podVolumeRule } from './common.ts';

export const ALLOWED_VOLUME_TYPES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
] as const;

const usesAllowedType = (volume: V1Volume): boolean =>
  ALLOWED_VOLUME_TYPES.some((type) => volume[type] !== undefined && volume[type] !== null);

export const rule2003 = podVolumeRule({
  id: '2003',
  name: 'Pods should use only allowed volume types.',
  severity: 'Medium',
  isFinding: (volume) => !usesAllowedType(volume),
  messages: {
    passed: 'Pod uses only allowed volume types.',
    accepted: 'Volume of a type that is not allowed is accepted.',
    failed: 'Volume type is not allowed.',
  },
});
