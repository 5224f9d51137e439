// Small helpers shared by the node agent's modules: the one address every pod and the Node have, error
// messages for logs, retry back-off, pod identity and phase, and $(VAR) expansion as the kubelet does it.
import type { V1Pod } from '@kubernetes/client-node';

/** The pod IP, host IP and Node InternalIP: pods run as local processes. */
export const POD_IP = '127.0.0.1';

/** Expands $(VAR) from variables defined so far, as the kubelet does; $$ escapes. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) =>
    name === undefined ? '$' : (env[name] ?? match),
  );
}

export const uidOf = (pod: V1Pod): string => pod.metadata?.uid ?? '';
export const isTerminal = (pod: V1Pod): boolean => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
export const backoffMs = (attempt: number): number => Math.min(500 * 2 ** attempt, 5000);
