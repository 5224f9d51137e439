// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews the lease
// every retry period; others take it over once it has not changed for a lease duration, measured on
// their own clock (no trust in clock sync). A leader that shuts down releases the lease, so the next
// one takes over within a retry period instead of a lease duration.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { errorMessage, logger as componentLogger, type Logger } from '../util/log.ts';
import { gauge } from '../util/metrics.ts';
import { microTime, sleep } from '../util/time.ts';
import { isConflict, isNotFound, isAlreadyExists, type KubeClient } from './client.ts';
import { Resources } from './resources.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** Unique per process; default `<hostname>_<uuid>`. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: Logger;
}

interface LeaseJson {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

const isLeader = gauge('leader_election_master_status', 'Whether this process holds the lease (1) or not (0).', [
  'name',
]);

export class LeaderElector {
  readonly identity: string;
  private readonly client: KubeClient;
  private readonly options: Required<Omit<LeaderElectionOptions, 'logger' | 'identity'>>;
  private readonly log: Logger;
  private observed: { record: string; at: number } | undefined;
  /** When the lease held by another will have expired by our clock, if it is not renewed before. */
  private othersExpireAt = 0;
  private leading = false;

  constructor(client: KubeClient, options: LeaderElectionOptions) {
    this.client = client;
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.options = {
      namespace: options.namespace,
      name: options.name,
      leaseDurationMs: options.leaseDurationMs ?? 15_000,
      renewDeadlineMs: options.renewDeadlineMs ?? 10_000,
      retryPeriodMs: options.retryPeriodMs ?? 2_000,
    };
    this.log = (options.logger ?? componentLogger('leader-election')).child({
      lease: `${options.namespace}/${options.name}`,
      identity: this.identity,
    });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until elected, then calls `lead` with a signal that aborts when leadership is lost.
   * Returns when `signal` aborts (releasing the lease if held) or when leadership is lost.
   * Resolves to true if leadership ended by shutdown, false if it was lost.
   */
  async run(signal: AbortSignal, lead: (leadership: AbortSignal) => Promise<void> | void): Promise<boolean> {
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      // Poll every retry period, but wake right at the expiry of the current holder's lease, so that a
      // dead leader is replaced one lease duration after its last renewal was seen, not up to a retry later.
      const untilExpiry = this.othersExpireAt - Date.now() + 1;
      await sleep(untilExpiry > 0 ? Math.min(retryPeriodMs, untilExpiry) : retryPeriodMs, signal);
    }
    if (signal.aborted) return true;

    this.leading = true;
    isLeader.set({ name: this.options.name }, 1);
    this.log.info('became leader');
    const leadership = new AbortController();
    const onShutdown = (): void => leadership.abort();
    signal.addEventListener('abort', onShutdown, { once: true });
    const leading = Promise.resolve()
      .then(() => lead(leadership.signal))
      .catch((err: unknown) => this.log.error({ err: String(err) }, 'leader work failed'));

    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > renewDeadlineMs || !this.holdsObservedLease()) {
        break;
      }
    }
    const lost = !signal.aborted;
    leadership.abort();
    signal.removeEventListener('abort', onShutdown);
    await leading;
    this.leading = false;
    isLeader.set({ name: this.options.name }, 0);
    if (lost) {
      this.log.error('lost leadership');
      return false;
    }
    await this.release();
    return true;
  }

  private holdsObservedLease(): boolean {
    return this.observed === undefined || this.observed.record.startsWith(`${this.identity}|`);
  }

  /** One round: create the lease, renew our own, or take over an expired or released one. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, leaseDurationMs } = this.options;
    const now = new Date();
    const durationSeconds = Math.ceil(leaseDurationMs / 1000);
    try {
      const lease = await this.client.getOrUndefined<LeaseJson>(Resources.leases, name, namespace);
      if (!lease) {
        await this.client.create<LeaseJson>(Resources.leases, {
          metadata: { name, namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.observe(`${this.identity}|${microTime(now)}`);
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const record = `${holder}|${spec.renewTime ?? ''}`;
      this.observe(record);
      this.othersExpireAt = this.observed!.at + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder && holder !== this.identity && Date.now() <= this.othersExpireAt) return false;

      const takingOver = holder !== this.identity;
      const updated = await this.client.replace<LeaseJson>(Resources.leases, {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: this.identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: microTime(now),
          acquireTime: takingOver ? microTime(now) : spec.acquireTime,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder ? 1 : 0),
        },
      });
      this.observe(`${this.identity}|${updated.spec?.renewTime ?? ''}`);
      if (takingOver) this.log.info({ previous: holder || '(released)' }, 'acquired lease');
      return true;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) {
        this.log.warn({ err: errorMessage(err) }, 'lease update failed');
      }
      return false;
    }
  }

  /** Gives the lease up so a standby takes over at its next retry instead of after the lease duration. */
  private async release(): Promise<void> {
    const { namespace, name } = this.options;
    try {
      const lease = await this.client.get<LeaseJson>(Resources.leases, name, namespace);
      if (lease.spec?.holderIdentity !== this.identity) return;
      await this.client.replace<LeaseJson>(Resources.leases, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() },
      });
      this.log.info('released lease');
    } catch (err) {
      if (!isNotFound(err)) this.log.warn({ err: String(err) }, 'releasing lease failed');
    }
  }

  private observe(record: string): void {
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
  }
}
