// PLACEHOLDERS for the rules that inspect files and processes on the nodes through short-lived privileged ops
// pods driven with pods/exec (one node per node group). Registered with diki's ids, names, severities and
// option schemas; they report Skipped until the ops-pod checks replace them.
import type { Rule } from '../../../engine/rule.ts';
import { LabelSelectorSchema } from '../../shared/selectors.ts';
import { ExpectedFileOwner, KubeProxyOptions, NodeGroupByLabels, options, placeholderRule } from './placeholder.ts';
import Type from 'typebox';

export const NODE_FILES_PENDING =
  'Not implemented yet: this rule inspects files and processes on the nodes through privileged ops pods.';

const grouped = options({ nodeGroupByLabels: NodeGroupByLabels });
const groupedWithOwner = options({ nodeGroupByLabels: NodeGroupByLabels, expectedFileOwner: ExpectedFileOwner });
const kubeProxyGrouped = options({ kubeProxy: KubeProxyOptions, nodeGroupByLabels: NodeGroupByLabels });
const MatchLabels = Type.Record(Type.String(), Type.String());

export const nodeFileRules: Rule[] = [
  placeholderRule(
    '242393',
    'Kubernetes Worker Nodes must not have sshd service running.',
    'Medium',
    NODE_FILES_PENDING,
    grouped,
  ),
  placeholderRule(
    '242394',
    'Kubernetes Worker Nodes must not have the sshd service enabled.',
    'Medium',
    NODE_FILES_PENDING,
    grouped,
  ),
  placeholderRule(
    '242396',
    'Kubernetes Kubectl cp command must give expected access and results.',
    'Medium',
    NODE_FILES_PENDING,
    grouped,
  ),
  placeholderRule('242404', 'Kubernetes Kubelet must deny hostname override.', 'Medium', NODE_FILES_PENDING, grouped),
  placeholderRule(
    '242406',
    'Kubernetes kubelet configuration file must be owned by root.',
    'Medium',
    NODE_FILES_PENDING,
    groupedWithOwner,
  ),
  placeholderRule(
    '242407',
    'The Kubernetes KubeletConfiguration files must have file permissions set to 644 or more restrictive.',
    'Medium',
    NODE_FILES_PENDING,
    grouped,
  ),
  placeholderRule(
    '242447',
    'The Kubernetes Kube Proxy kubeconfig must have file permissions set to 644 or more restrictive.',
    'Medium',
    NODE_FILES_PENDING,
    options({ labelSelector: LabelSelectorSchema, matchLabels: MatchLabels }),
  ),
  placeholderRule(
    '242448',
    'The Kubernetes Kube Proxy kubeconfig must be owned by root.',
    'Medium',
    NODE_FILES_PENDING,
    options({ labelSelector: LabelSelectorSchema, matchLabels: MatchLabels, expectedFileOwner: ExpectedFileOwner }),
  ),
  placeholderRule(
    '242449',
    'The Kubernetes Kubelet certificate authority file must have file permissions set to 644 or more restrictive.',
    'Medium',
    NODE_FILES_PENDING,
    grouped,
  ),
  placeholderRule(
    '242450',
    'The Kubernetes Kubelet certificate authority must be owned by root.',
    'Medium',
    NODE_FILES_PENDING,
    groupedWithOwner,
  ),
  placeholderRule(
    '242451',
    'The Kubernetes component PKI must be owned by root.',
    'Medium',
    NODE_FILES_PENDING,
    options({
      kubeProxy: KubeProxyOptions,
      nodeGroupByLabels: NodeGroupByLabels,
      expectedFileOwner: ExpectedFileOwner,
    }),
  ),
  placeholderRule(
    '242452',
    'The Kubernetes kubelet KubeConfig must have file permissions set to 644 or more restrictive.',
    'Medium',
    NODE_FILES_PENDING,
    grouped,
  ),
  placeholderRule(
    '242453',
    'The Kubernetes kubelet KubeConfig file must be owned by root.',
    'Medium',
    NODE_FILES_PENDING,
    groupedWithOwner,
  ),
  placeholderRule(
    '242466',
    'The Kubernetes PKI CRT must have file permissions set to 644 or more restrictive.',
    'Medium',
    NODE_FILES_PENDING,
    kubeProxyGrouped,
  ),
  placeholderRule(
    '242467',
    'The Kubernetes PKI keys must have file permissions set to 600 or more restrictive.',
    'Medium',
    NODE_FILES_PENDING,
    kubeProxyGrouped,
  ),
];
