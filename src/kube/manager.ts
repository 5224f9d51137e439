// The Manager runs one role's controllers: shared informers (one per resource and selector, started in
// every replica so a new leader has warm caches), controllers (only while leader), leader election,
// and the probe/metrics server. A process whose leadership is lost exits, like controller-runtime's,
// so that it restarts clean instead of acting on stale state.
import { logger as componentLogger, type Logger } from '../util/log.ts';
import type { KubeClient } from './client.ts';
import type { Controller } from './controller.ts';
import { Informer, type InformerOptions } from './informer.ts';
import { LeaderElector, type LeaderElectionOptions } from './leader.ts';
import type { KubeObject, ResourceType } from './resources.ts';
import { ProbeServer, type ProbeServerOptions } from './server.ts';

export interface ManagerOptions {
  client: KubeClient;
  /** Leader election on a Lease; omit to run controllers unconditionally (single replica). */
  leaderElection?: LeaderElectionOptions;
  /** Probe and metrics endpoint; omit for none. */
  probes?: ProbeServerOptions;
  logger?: Logger;
}

export class LeaderElectionLost extends Error {
  constructor() {
    super('leader election lost');
    this.name = 'LeaderElectionLost';
  }
}

export class Manager {
  readonly client: KubeClient;
  readonly probes = new ProbeServer();
  readonly elector: LeaderElector | undefined;
  probePort: number | undefined;
  private readonly options: ManagerOptions;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Controller[] = [];
  private readonly log: Logger;

  constructor(options: ManagerOptions) {
    this.options = options;
    this.client = options.client;
    this.log = options.logger ?? componentLogger('manager');
    if (options.leaderElection) {
      this.elector = new LeaderElector(options.client, { logger: this.log, ...options.leaderElection });
    }
    this.probes.addHealthCheck('ping', () => true);
    this.probes.addReadinessCheck('informers-synced', () => [...this.informers.values()].every((i) => i.hasSynced));
  }

  /**
   * The shared informer for `rt` with these options (created on first use), on the manager's client or on
   * `client` (a role that watches a second cluster, such as the operator's target).
   */
  informer<T extends KubeObject>(
    rt: ResourceType,
    options: Omit<InformerOptions, 'logger'> = {},
    client: KubeClient = this.client,
  ): Informer<T> {
    const key = JSON.stringify([this.clientId(client), rt.group, rt.version, rt.resource, options]);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new Informer<KubeObject>(client, rt, options);
      this.informers.set(key, informer);
    }
    return informer as unknown as Informer<T>;
  }

  private readonly clientIds = new Map<KubeClient, number>();
  private clientId(client: KubeClient): number {
    let id = this.clientIds.get(client);
    if (id === undefined) this.clientIds.set(client, (id = this.clientIds.size));
    return id;
  }

  add(controller: Controller): this {
    this.controllers.push(controller);
    return this;
  }

  /**
   * Runs until `signal` aborts (then stops gracefully and releases leadership) or leadership is lost
   * (then throws LeaderElectionLost after stopping).
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.options.probes) {
      this.probePort = await this.probes.listen(this.options.probes);
      this.log.info({ port: this.probePort }, 'serving /healthz, /readyz and /metrics');
    }
    for (const informer of this.informers.values()) informer.start();
    let lost = false;
    try {
      if (this.elector) {
        lost = !(await this.elector.run(signal, (leadership) => this.runControllers(leadership)));
      } else {
        await this.runControllers(signal);
      }
    } finally {
      await Promise.all([...this.informers.values()].map((i) => i.stop()));
      if (this.options.probes) await this.probes.close();
    }
    if (lost) throw new LeaderElectionLost();
  }

  private async runControllers(signal: AbortSignal): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.start()));
    if (!signal.aborted)
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.all(this.controllers.map((c) => c.stop()));
  }
}

/** Aborts on SIGTERM or SIGINT, for the `main` of a server role. */
export function shutdownSignal(): AbortSignal {
  const abort = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => abort.abort());
  return abort.signal;
}
