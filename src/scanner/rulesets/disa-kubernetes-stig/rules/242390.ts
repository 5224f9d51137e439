// 242390: the kube-apiserver rejects anonymous requests. Sends one request without credentials to the API
// server the scan talks to, trusting the kubeconfig's CA: 401 Unauthorized means anonymous authentication is
// off; any other answer (403 for the anonymous user, 200...) means it is on; a 5xx answer tells nothing.
import { Agent, fetch } from 'undici';
import { errorMessage } from '../../../../util/log.ts';
import { defineRule } from '../../../engine/rule.ts';
import { errored, failed, passed, warning } from '../../../engine/result.ts';

const TIMEOUT_MS = 30_000;

export const rule242390 = defineRule({
  id: '242390',
  name: 'The Kubernetes API server must have anonymous authentication disabled.',
  severity: 'High',
  live: true,
  async run(ctx) {
    if (!ctx.live) return [];
    // The client's TLS settings (CA, server name, verification) without its client certificate: anonymous.
    const { cert: _cert, key: _key, ...trust } = (await ctx.live.client.connectionOptions()).tls;
    const agent = new Agent({ allowH2: false, connect: trust });
    let status: number;
    try {
      const response = await fetch(ctx.live.client.server, {
        dispatcher: agent,
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(TIMEOUT_MS)]),
      });
      await response.body?.cancel();
      status = response.status;
    } catch (err) {
      return [errored(`Cannot reach the kube-apiserver without credentials: ${errorMessage(err)}`)];
    } finally {
      await agent.close().catch(() => undefined);
    }
    const details = { details: `HTTP status of an anonymous request: ${status}` };
    if (status >= 500 && status <= 599)
      return [warning('Cannot tell whether the kube-apiserver accepts anonymous requests.', details)];
    if (status === 401) return [passed('The kube-apiserver rejects anonymous requests.', details)];
    return [failed('The kube-apiserver authenticates anonymous requests.', details)];
  },
});
