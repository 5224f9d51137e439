// PLACEHOLDERS for the rules that read each Ready node's kubelet configuration through
// `nodes/<name>/proxy/configz` (242400 also reads kube-proxy's feature gates). Registered with diki's ids,
// names and severities; they report Skipped until the configz checks replace them.
import type { Rule } from '../../../engine/rule.ts';
import { KubeProxyOptions, options, placeholderRule } from './placeholder.ts';

export const KUBELET_CONFIG_PENDING =
  'Not implemented yet: this rule reads the kubelet configuration of every node through nodes/<name>/proxy/configz.';

export const kubeletConfigRules: Rule[] = [
  placeholderRule(
    '242387',
    'The Kubernetes Kubelet must have the "readOnlyPort" flag disabled.',
    'High',
    KUBELET_CONFIG_PENDING,
  ),
  placeholderRule(
    '242391',
    'The Kubernetes Kubelet must have anonymous authentication disabled.',
    'High',
    KUBELET_CONFIG_PENDING,
  ),
  placeholderRule(
    '242392',
    'The Kubernetes kubelet must enable explicit authorization.',
    'High',
    KUBELET_CONFIG_PENDING,
  ),
  placeholderRule(
    '242397',
    'Kubernetes kubelet static PodPath must not enable static pods.',
    'High',
    KUBELET_CONFIG_PENDING,
  ),
  placeholderRule(
    '242400',
    'The Kubernetes API server must have Alpha APIs disabled.',
    'Medium',
    KUBELET_CONFIG_PENDING,
    options({ kubeProxy: KubeProxyOptions }),
  ),
  placeholderRule(
    '242420',
    'Kubernetes Kubelet must have the SSL Certificate Authority set.',
    'Medium',
    KUBELET_CONFIG_PENDING,
  ),
  placeholderRule(
    '242424',
    'Kubernetes Kubelet must enable tlsPrivateKeyFile for client authentication to secure service.',
    'Medium',
    KUBELET_CONFIG_PENDING,
  ),
  placeholderRule(
    '242425',
    'Kubernetes Kubelet must enable tlsCertFile for client authentication to secure service.',
    'Medium',
    KUBELET_CONFIG_PENDING,
  ),
  placeholderRule('242434', 'Kubernetes Kubelet must enable kernel protection.', 'High', KUBELET_CONFIG_PENDING),
  placeholderRule('245541', 'Kubernetes Kubelet must not disable timeouts.', 'Medium', KUBELET_CONFIG_PENDING),
];
