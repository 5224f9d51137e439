// The kubelet API through the API server's node proxy (nodes/proxy): the kubelet's running configuration
// from /configz, as `kubectl get --raw /api/v1/nodes/<node>/proxy/configz` shows it.
import type { KubeClient } from './client.ts';
import { Resources } from './resources.ts';

/** A kubelet.config.k8s.io/v1beta1 KubeletConfiguration; the fields compliance rules read are typed. */
export interface KubeletConfiguration {
  kind?: string;
  apiVersion?: string;
  address?: string;
  port?: number;
  readOnlyPort?: number;
  staticPodPath?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsMinVersion?: string;
  tlsCipherSuites?: string[];
  rotateCertificates?: boolean;
  serverTLSBootstrap?: boolean;
  authentication?: {
    x509?: { clientCAFile?: string };
    webhook?: { enabled?: boolean; cacheTTL?: string };
    anonymous?: { enabled?: boolean };
  };
  authorization?: {
    mode?: string;
    webhook?: { cacheAuthorizedTTL?: string; cacheUnauthorizedTTL?: string };
  };
  streamingConnectionIdleTimeout?: string;
  protectKernelDefaults?: boolean;
  makeIPTablesUtilChains?: boolean;
  eventRecordQPS?: number;
  featureGates?: Record<string, boolean>;
  seccompDefault?: boolean;
  maxPods?: number;
  podPidsLimit?: number;
  evictionHard?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * The running configuration of the kubelet on `nodeName` (GET /api/v1/nodes/<node>/proxy/configz, which needs
 * `get` on nodes/proxy). Errors are ApiErrors: 404 for an unknown node, 503/502 when the kubelet cannot be
 * reached, 403 without the permission.
 */
export async function nodeConfigz(
  client: KubeClient,
  nodeName: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<KubeletConfiguration> {
  const path = `${client.path(Resources.nodes, { name: nodeName, subresource: 'proxy' })}/configz`;
  const body = await client.request<{ kubeletconfig?: KubeletConfiguration } | undefined>('GET', path, {
    signal: options.signal,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  if (!body?.kubeletconfig || typeof body.kubeletconfig !== 'object') {
    throw new Error(`GET ${path}: the answer has no kubeletconfig`);
  }
  return body.kubeletconfig;
}
