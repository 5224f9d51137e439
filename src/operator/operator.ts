// `argus operator` as a library: the manager on the runner cluster with informers on the target, the
// ComplianceScan and ScheduledComplianceScan controllers (leader only), the admission webhooks (every
// replica) and /healthz, /readyz, /metrics (docs/adr/0016-compliance-operator.md).
import type { KubeClient } from '../kube/client.ts';
import { EventRecorder } from '../kube/events.ts';
import { Manager } from '../kube/manager.ts';
import { catalog } from '../scanner/catalog.ts';
import { logger } from '../util/log.ts';
import { DEFAULT_MAX_RUNNING_SCANS, LEADER_ELECTION_LEASE } from './names.ts';
import { scanController, type ScanControllerOptions } from './scan/controller.ts';
import { scheduledScanController, type Clock } from './schedule/controller.ts';
import { startAdmissionWebhooks, type AdmissionWebhooks, type AdmissionWebhooksOptions } from './webhooks/index.ts';
import { version } from '../util/version.ts';

/** What the operator passes through to the ComplianceScan controller. */
type ScanSettings = Pick<
  ScanControllerOptions,
  | 'runnerNamespace'
  | 'image'
  | 'imagePullPolicy'
  | 'jobServiceAccount'
  | 'timeoutSeconds'
  | 'targetServer'
  | 'defaults'
  | 'concurrency'
  | 'maxRunningScans'
>;

export interface OperatorOptions extends ScanSettings {
  /** The cluster the operator runs in: Jobs, leases, the webhook certificate. */
  runner: KubeClient;
  /** The cluster of the scans (may be the same client as `runner`). */
  target: KubeClient;
  /** Lease-based leader election in the runner namespace (several replicas). */
  leaderElection?: { identity?: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  probes?: { port: number; host?: string };
  /** "Now" of the schedules (tests move it); default the system clock. */
  clock?: Clock;
  /**
   * The admission webhooks, served by every replica: where kube-apiserver reaches them (`url` or `service`),
   * the port, the certificate's names. Omit to run without (admission is then only the CRD schemas).
   */
  webhooks?: Omit<
    AdmissionWebhooksOptions,
    'runnerClient' | 'targetClient' | 'runnerNamespace' | 'catalog' | 'argusVersion' | 'signal'
  >;
}

export class Operator {
  readonly manager: Manager;
  private readonly options: OperatorOptions;

  constructor(options: OperatorOptions) {
    this.options = options;
    this.manager = new Manager({
      client: options.runner,
      ...(options.leaderElection
        ? {
            leaderElection: {
              namespace: options.runnerNamespace,
              name: LEADER_ELECTION_LEASE,
              ...options.leaderElection,
            },
          }
        : {}),
      ...(options.probes ? { probes: options.probes } : {}),
      logger: logger('operator'),
    });
    const recorder = new EventRecorder(options.target, 'diki.gardener.cloud/argus-operator');
    const {
      runner: _runner,
      leaderElection: _election,
      probes: _probes,
      clock,
      webhooks: _webhooks,
      ...scan
    } = options;
    this.manager.add(
      scanController({
        ...scan,
        manager: this.manager,
        catalog,
        recorder,
        maxRunningScans: options.maxRunningScans ?? DEFAULT_MAX_RUNNING_SCANS,
      }),
    );
    this.manager.add(
      scheduledScanController({
        manager: this.manager,
        client: options.target,
        catalog,
        recorder,
        ...(clock ? { clock } : {}),
      }),
    );
  }

  /** The admission webhooks once run() started them. */
  webhooks: AdmissionWebhooks | undefined;

  /** Runs until `signal` aborts; throws LeaderElectionLost when leadership is lost. */
  async run(signal: AbortSignal): Promise<void> {
    const { webhooks } = this.options;
    if (webhooks) {
      this.webhooks = await startAdmissionWebhooks({
        ...webhooks,
        runnerClient: this.options.runner,
        targetClient: this.options.target,
        runnerNamespace: this.options.runnerNamespace,
        catalog,
        argusVersion: version,
        signal,
      });
    }
    try {
      await this.manager.start(signal);
    } finally {
      await this.webhooks?.close();
    }
  }
}
