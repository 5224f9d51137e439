// The probe and metrics endpoint of every server role: /healthz (the process works), /readyz (it can
// do its job: caches synced, ...), /metrics (the process-wide Prometheus registry).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from '../util/metrics.ts';

export type Check = () => boolean | Promise<boolean>;

export interface ProbeServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
}

export class ProbeServer {
  private readonly server: Server;
  private readonly health = new Map<string, Check>();
  private readonly readiness = new Map<string, Check>();

  constructor() {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
        res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
      if (path === '/metrics') {
        registry.metrics().then(
          (text) => send(200, text, registry.contentType),
          (err: unknown) => send(500, `${String(err)}\n`),
        );
        return;
      }
      const checks =
        path === '/healthz' || path === '/livez' ? this.health : path === '/readyz' ? this.readiness : undefined;
      if (!checks) return send(404, 'not found\n');
      void runChecks(checks).then(({ ok, report }) => send(ok ? 200 : 503, report));
    });
  }

  addHealthCheck(name: string, check: Check): void {
    this.health.set(name, check);
  }

  addReadinessCheck(name: string, check: Check): void {
    this.readiness.set(name, check);
  }

  async listen({ host = '0.0.0.0', port }: ProbeServerOptions): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function runChecks(checks: Map<string, Check>): Promise<{ ok: boolean; report: string }> {
  let ok = true;
  const lines: string[] = [];
  for (const [name, check] of checks) {
    let passed: boolean;
    try {
      passed = await check();
    } catch {
      passed = false;
    }
    ok &&= passed;
    lines.push(`[${passed ? '+' : '-'}]${name} ${passed ? 'ok' : 'failed'}`);
  }
  lines.push(ok ? 'ok' : 'check failed');
  return { ok, report: `${lines.join('\n')}\n` };
}
