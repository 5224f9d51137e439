// The rules that inspect files and processes on the nodes through short-lived privileged ops pods driven with
// pods/exec (src/scanner/nodes/): one node per node group (`nodeGroupByLabels`) or every node that can take
// an ops pod, and one kube-proxy pod per owner for the kube-proxy files.
import type { Rule } from '../../../engine/rule.ts';
import { kubeProxyFileRules } from './kube-proxy-files.ts';
import { kubeletFileRules } from './kubelet-files.ts';
import { nodeProcessRules } from './node-processes.ts';
import { pkiFileRules } from './pki-files.ts';

export const nodeFileRules: Rule[] = [
  ...nodeProcessRules,
  ...kubeletFileRules,
  ...kubeProxyFileRules,
  ...pkiFileRules,
].sort((a, b) => Number(a.id) - Number(b.id));
