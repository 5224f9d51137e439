// A TCP proxy on 127.0.0.1 for failure tests: `stall()` makes every open connection go silent without
// closing it (as a dead NAT entry or a hung load balancer does), while new connections pass.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  private readonly server: Server;
  private readonly connections = new Set<{ client: Socket; upstream: Socket }>();
  private readonly stalled = new Set<Socket>();
  port = 0;

  private constructor(targetPort: number, targetHost: string) {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      const pair = { client, upstream };
      this.connections.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.connections.delete(pair);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, targetHost);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  /** Stops forwarding on every open connection, in both directions, without closing them. */
  stall(): number {
    for (const { client, upstream } of this.connections) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
      this.stalled.add(client);
    }
    return this.connections.size;
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.connections) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
