// Per-scan target credentials (ADR 0016): a token of the runner ServiceAccount from the target's TokenRequest API,
// valid a little longer than the scan may run, in a kubeconfig with the target's server and CA.
import { readFileSync } from 'node:fs';
import type { KubeClient } from '../../kube/client.ts';
import { Resources } from '../../kube/resources.ts';
import { parseServiceAccount } from '../rbac.ts';
import { targetKubeconfig } from './job.ts';

/** Margin after the scan deadline, and TokenRequest's minimum lifetime. */
const TOKEN_MARGIN_SECONDS = 300;
const MIN_TOKEN_SECONDS = 600;

export interface CredentialsOptions {
  target: KubeClient;
  /** `<namespace>/<name>` of the runner ServiceAccount on the target. */
  serviceAccount: string;
  timeoutSeconds: number;
  /** The server the Job reaches the target at, when it differs from the operator's. */
  server?: string | undefined;
}

/** A kubeconfig for one scan's Job. */
export async function scanKubeconfig(options: CredentialsOptions): Promise<string> {
  const { namespace, name } = parseServiceAccount(options.serviceAccount);
  const expirationSeconds = Math.max(MIN_TOKEN_SECONDS, options.timeoutSeconds + TOKEN_MARGIN_SECONDS);
  const path = `${options.target.path(Resources.serviceAccounts, { namespace, name })}/token`;
  const response = await options.target.request<{ status?: { token?: string } }>('POST', path, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
  });
  const token = response.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const cluster = options.target.kubeConfig.getCurrentCluster()!;
  const caData = cluster.caData
    ? Buffer.from(cluster.caData, 'base64').toString()
    : cluster.caFile
      ? readFileSync(cluster.caFile, 'utf8')
      : undefined;
  return targetKubeconfig({
    server: options.server ?? options.target.server,
    caData,
    insecureSkipTLSVerify: cluster.skipTLSVerify,
    token,
  });
}
