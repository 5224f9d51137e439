// Loads Kubernetes client configuration the way kubectl does: an explicit file, then $KUBECONFIG,
// then ~/.kube/config, then the in-cluster service account. Parsing and credential plugins come
// from @kubernetes/client-node (see docs/adr/0003-kubernetes-client.md).
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigOptions {
  /** Path to a kubeconfig file; overrides $KUBECONFIG. */
  kubeconfig?: string | undefined;
  /** Context to use instead of the file's current context. */
  context?: string | undefined;
}

export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig) {
    if (!existsSync(options.kubeconfig)) {
      throw new Error(`kubeconfig ${options.kubeconfig} does not exist`);
    }
    kc.loadFromFile(options.kubeconfig);
  } else {
    // $KUBECONFIG (several files merged), ~/.kube/config, or the in-cluster service account.
    kc.loadFromDefault();
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new Error(`context "${options.context}" not found in kubeconfig (known: ${known.join(', ') || 'none'})`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run inside a cluster');
  }
  return kc;
}

export { KubeConfig };
