// 2008: pods do not mount host directories (hostPath volumes). One pod per owner is checked; the scanner's ops
// pods, which need the host, are skipped.
import { podVolumeRule } from './common.ts';

export const rule2008 = podVolumeRule({
  id: '2008',
  name: 'Pods must not mount host directories.',
  severity: 'High',
  isFinding: (volume) => volume.hostPath !== undefined && volume.hostPath !== null,
  messages: {
    passed: 'Pod mounts no host directories.',
    accepted: 'hostPath volume is accepted for this pod.',
    failed: 'Pod mounts a host directory (hostPath volume).',
  },
});
