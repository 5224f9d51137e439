// The ComplianceScan controller (ADR 0016): one reconcile per scan name, level-triggered from the scan on the
// target and its Job in the runner namespace.
//   no phase            -> Pending
//   Pending, no Job     -> scanner configuration (invalid: Failed), Job created suspended, its ConfigMap and
//                          Secret created owned by it, Job started, Running
//   Running, Job done   -> outcome from the Job, its pod and the exporter's status (read fresh), Completed or
//                          Failed, Job deleted (its ConfigMap and Secret with it)
//   Running, no Job     -> Failed (JobLost)
//   scan gone/replaced  -> its Jobs deleted; exported reports stay
// Every step is idempotent: the Job's name is the scan's UID, so a restart or a new leader finds what was made.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { complianceScanType } from '../../api/diki/index.ts';
import type { ComplianceScan, ScanPhase } from '../../api/diki/compliancescan.ts';
import { isAlreadyExists, isNotFound, type KubeClient } from '../../kube/client.ts';
import { Controller, type ReconcileContext, type ReconcileResult } from '../../kube/controller.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Informer } from '../../kube/informer.ts';
import type { Manager } from '../../kube/manager.ts';
import { ownerReference } from '../../kube/objects.ts';
import { Resources, type KubeObject, type ResourceType } from '../../kube/resources.ts';
import type { Catalog, ScanConfig } from '../../scanner/engine/config.ts';
import type { Logger } from '../../util/log.ts';
import { counter, exponentialBuckets, gauge, histogram } from '../../util/metrics.ts';
import {
  MANAGED_BY_LABEL,
  OPERATOR_FIELD_MANAGER,
  OPERATOR_MANAGER,
  TARGET_DIR,
  TARGET_KUBECONFIG,
  jobName,
} from '../names.ts';
import { scannerConfig, ScanConfigError } from './config.ts';
import { scanKubeconfig } from './credentials.ts';
import { scanConfigMap, scanJob, scanOf, targetSecret } from './job.ts';
import { jobResult, scanOutcome, statusForPhase, type Outcome } from './outcome.ts';

export interface ScanControllerOptions {
  manager: Manager;
  /** The cluster of the scans (the manager's client is the runner cluster). */
  target: KubeClient;
  runnerNamespace: string;
  image: string;
  imagePullPolicy?: string | undefined;
  /** `<namespace>/<name>` of the ServiceAccount on the target whose tokens the Jobs get. */
  jobServiceAccount: string;
  timeoutSeconds: number;
  /** The target's API server as the Jobs reach it, when not the operator's URL. */
  targetServer?: string | undefined;
  defaults?: ScanConfig | undefined;
  catalog: Catalog;
  /** Events on scans, recorded in the target. */
  recorder: EventRecorder;
  concurrency?: number;
  /**
   * Scan Jobs that may run at once; further scans wait Pending, oldest first. A Job's deadline counts from its
   * start, so Jobs queued behind a full runner would otherwise fail without having scanned. 0: no limit.
   */
  maxRunningScans?: number;
}

/** How often scans waiting for a slot look again, besides being woken when a scan finishes. */
const WAITING_RECHECK_MS = 30_000;

const scansByPhase = gauge('argus_operator_scans', 'ComplianceScans by phase.', ['phase']);
const runningJobs = gauge('argus_operator_running_jobs', 'Scan Jobs that have not finished.', []);
const scanDuration = histogram(
  'argus_operator_scan_duration_seconds',
  'Time from the creation of a ComplianceScan until it completed or failed.',
  ['phase'],
  exponentialBuckets(5, 2, 10),
);
const outputFailures = counter('argus_operator_output_failures_total', 'Report outputs that failed, by reason.', [
  'reason',
]);
const scansFinished = counter('argus_operator_scans_finished_total', 'ComplianceScans finished, by phase and reason.', [
  'phase',
  'reason',
]);

const FINISHED: readonly (ScanPhase | undefined)[] = ['Completed', 'Failed'];
const cscan = complianceScanType.resourceType;

export function scanController(options: ScanControllerOptions): Controller {
  const { manager, target, runnerNamespace } = options;
  const runner = manager.client;
  const scans = manager.informer<ComplianceScan & KubeObject>(cscan, {}, target);
  const jobs = manager.informer<V1Job & KubeObject>(Resources.jobs, {
    namespace: runnerNamespace,
    labelSelector: `${MANAGED_BY_LABEL}=${OPERATOR_MANAGER}`,
  });
  const reconciler = new ScanReconciler(options, runner, scans, jobs);
  const controller = new Controller({
    name: 'compliancescan',
    concurrency: options.concurrency ?? 8,
    reconcile: (key, ctx) => reconciler.reconcile(key, ctx),
  });
  reconciler.wake = (names) => {
    for (const name of names) controller.queue.add(name);
  };
  controller.watch(scans).watch(jobs, (job) => {
    const owner = scanOf(job);
    return owner ? [owner.name] : [];
  });
  return controller;
}

class ScanReconciler {
  /** Enqueues scans (set once the controller exists): the waiting ones when a slot frees. */
  wake: (names: string[]) => void = () => undefined;
  private gaugesUpdatedAt = 0;
  /** Scans whose Job this process created and the Job cache may not show yet (UID -> when), for the slot count. */
  private readonly starting = new Map<string, number>();
  private readonly options: ScanControllerOptions;
  private readonly runner: KubeClient;
  private readonly scans: Informer<ComplianceScan & KubeObject>;
  private readonly jobs: Informer<V1Job & KubeObject>;

  constructor(
    options: ScanControllerOptions,
    runner: KubeClient,
    scans: Informer<ComplianceScan & KubeObject>,
    jobs: Informer<V1Job & KubeObject>,
  ) {
    this.options = options;
    this.runner = runner;
    this.scans = scans;
    this.jobs = jobs;
  }

  async reconcile(name: string, { log }: ReconcileContext): Promise<ReconcileResult | void> {
    this.updateGauges();
    const scan = this.scans.get(name);
    const uid = scan?.metadata?.uid;
    const live = scan && !scan.metadata?.deletionTimestamp ? scan : undefined;
    let job: (V1Job & KubeObject) | undefined;
    let freed = false;
    for (const candidate of this.jobs.list((j) => scanOf(j)?.name === name)) {
      if (live && scanOf(candidate)?.uid === uid) job = candidate;
      else freed = (await this.deleteJob(candidate, 'its ComplianceScan was deleted', log)) || freed;
    }
    if (freed) this.wakeWaiting();
    if (!live) return;
    const phase = live.status?.phase;
    if (FINISHED.includes(phase)) {
      if (job) await this.deleteJob(job, `the scan is ${phase}`, log);
      return;
    }
    if (!job && phase === 'Running') {
      // The cache may not have seen a Job made a moment ago; only the API can say it is gone.
      job = await this.runner.getOrUndefined<V1Job & KubeObject>(
        Resources.jobs,
        jobName(uid!),
        this.options.runnerNamespace,
      );
      if (!job) {
        await this.finish(live, {
          phase: 'Failed',
          reason: 'JobLost',
          message: `the Job ${jobName(uid!)} disappeared before the scan finished`,
          warnings: [],
          failedOutputReasons: [],
        });
        return;
      }
    }
    if (!job) {
      if (phase !== 'Pending') await this.setPhase(live, 'Pending');
      if (!this.hasSlot(live)) return { requeueAfterMs: WAITING_RECHECK_MS };
      let config: ScanConfig;
      try {
        config = await this.scannerConfig(live);
      } catch (err) {
        if (!(err instanceof ScanConfigError)) throw err;
        await this.finish(live, {
          phase: 'Failed',
          reason: err.reason,
          message: err.message,
          warnings: [],
          failedOutputReasons: [],
        });
        return;
      }
      this.starting.set(uid!, Date.now());
      job = await this.createJob(live);
      await this.startJob(live, job, config);
      await this.setPhase(live, 'Running');
      await this.options.recorder.record(
        live,
        'Normal',
        'Started',
        `Job ${this.options.runnerNamespace}/${job.metadata!.name} runs the scan`,
      );
      log.info({ job: job.metadata!.name }, 'scan started');
      return;
    }
    if (job.spec?.suspend) {
      // Made by an earlier reconcile that stopped before starting it.
      await this.startJob(live, job, await this.scannerConfig(live));
    }
    if (phase !== 'Running') await this.setPhase(live, 'Running');
    if (!jobResult(job)) return;
    const fresh = await this.options.target.getOrUndefined<ComplianceScan & KubeObject>(cscan, name);
    if (!fresh || fresh.metadata?.uid !== uid) return; // gone or replaced: the next reconcile cleans up
    const outcome = scanOutcome(fresh, job, await this.pods(job), this.options.timeoutSeconds);
    await this.finish(fresh, outcome);
    await this.deleteJob(job, `the scan is ${outcome.phase}`, log);
    this.starting.delete(uid!);
    this.wakeWaiting();
    log.info({ phase: outcome.phase, reason: outcome.reason }, 'scan finished');
  }

  /** Whether `scan` may start its Job now: a slot is free and no scan waiting longer would take it. */
  private hasSlot(scan: ComplianceScan): boolean {
    const max = this.options.maxRunningScans ?? 0;
    if (max <= 0) return true;
    const running = this.runningScanUids();
    if (running.has(scan.metadata!.uid!)) return true;
    const free = max - running.size;
    if (free <= 0) return false;
    const rank = this.waitingScans(running).findIndex((s) => s.metadata?.uid === scan.metadata?.uid);
    return rank < free;
  }

  /** UIDs of scans with an unfinished Job (from the cache, and those started a moment ago). */
  private runningScanUids(): Set<string> {
    const running = new Set<string>();
    for (const job of this.jobs.list((j) => !jobResult(j) && !j.metadata?.deletionTimestamp)) {
      const uid = scanOf(job)?.uid;
      if (uid) running.add(uid);
    }
    const now = Date.now();
    for (const [uid, since] of this.starting) {
      // Once the cache has the Job (or a minute passed) it counts from there.
      if (running.has(uid) || now - since > 60_000) this.starting.delete(uid);
      else running.add(uid);
    }
    return running;
  }

  /** Scans without a Job that wait to start, oldest first. */
  private waitingScans(running = this.runningScanUids()): ComplianceScan[] {
    return this.scans
      .list(
        (s) =>
          !s.metadata?.deletionTimestamp &&
          (s.status?.phase === undefined || s.status.phase === 'Pending') &&
          !running.has(s.metadata?.uid ?? ''),
      )
      .sort(
        (a, b) =>
          String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)) ||
          (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
      );
  }

  private scannerConfig(scan: ComplianceScan): Promise<ScanConfig> {
    return scannerConfig({
      scan,
      target: this.options.target,
      catalog: this.options.catalog,
      defaults: this.options.defaults,
      kubeconfigPath: `${TARGET_DIR}/${TARGET_KUBECONFIG}`,
      opsPodImage: this.options.image,
    });
  }

  private async createJob(scan: ComplianceScan): Promise<V1Job & KubeObject> {
    const job = scanJob(scan, {
      namespace: this.options.runnerNamespace,
      image: this.options.image,
      imagePullPolicy: this.options.imagePullPolicy,
      timeoutSeconds: this.options.timeoutSeconds,
    });
    try {
      return await this.runner.create(Resources.jobs, job, { fieldManager: OPERATOR_FIELD_MANAGER });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return this.runner.get(Resources.jobs, job.metadata!.name!, this.options.runnerNamespace);
    }
  }

  /** Creates the Job's ConfigMap and Secret (owned by it, so they go with it) and unsuspends it. */
  private async startJob(scan: ComplianceScan, job: V1Job & KubeObject, config: ScanConfig): Promise<void> {
    const owner = ownerReference(job, Resources.jobs);
    const namespace = this.options.runnerNamespace;
    await this.createOnce(Resources.configMaps, scanConfigMap(scan, config, namespace, owner));
    const kubeconfig = await scanKubeconfig({
      target: this.options.target,
      serviceAccount: this.options.jobServiceAccount,
      timeoutSeconds: this.options.timeoutSeconds,
      server: this.options.targetServer,
    });
    await this.createOnce(Resources.secrets, targetSecret(scan, kubeconfig, namespace, owner));
    await this.runner.patch(Resources.jobs, job.metadata!.name!, { spec: { suspend: false } }, 'merge', {
      namespace,
      fieldManager: OPERATOR_FIELD_MANAGER,
    });
  }

  private async createOnce(rt: ResourceType, obj: KubeObject): Promise<void> {
    try {
      await this.runner.create(rt, obj, { fieldManager: OPERATOR_FIELD_MANAGER });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  private async pods(job: V1Job & KubeObject): Promise<V1Pod[]> {
    const list = await this.runner.list<V1Pod & KubeObject>(Resources.pods, {
      namespace: this.options.runnerNamespace,
      labelSelector: `batch.kubernetes.io/job-name=${job.metadata!.name}`,
    });
    return list.items;
  }

  private async setPhase(scan: ComplianceScan, phase: 'Pending' | 'Running'): Promise<void> {
    await this.patchStatus(scan, statusForPhase(scan.status, phase, new Date().toISOString()));
  }

  private async finish(scan: ComplianceScan, outcome: Outcome): Promise<void> {
    const now = new Date();
    await this.patchStatus(
      scan,
      statusForPhase(scan.status, outcome.phase, now.toISOString(), outcome.reason, outcome.message),
    );
    const created = scan.metadata?.creationTimestamp;
    if (created) scanDuration.observe({ phase: outcome.phase }, (now.getTime() - new Date(created).getTime()) / 1000);
    scansFinished.inc({ phase: outcome.phase, reason: outcome.reason });
    for (const reason of outcome.failedOutputReasons) outputFailures.inc({ reason });
    const { recorder } = this.options;
    for (const warning of outcome.warnings) await recorder.record(scan, 'Warning', 'OptionalOutputFailed', warning);
    if (outcome.phase === 'Completed') await recorder.record(scan, 'Normal', outcome.reason, outcome.message);
    else await recorder.record(scan, 'Warning', outcome.reason, outcome.message);
  }

  private async patchStatus(scan: ComplianceScan, status: object): Promise<void> {
    try {
      await this.options.target.patch(cscan, scan.metadata!.name!, { status }, 'merge', {
        subresource: 'status',
        fieldManager: OPERATOR_FIELD_MANAGER,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes the Job (its pod, ConfigMap and Secret follow); whether it was there to delete. */
  private async deleteJob(job: V1Job & KubeObject, why: string, log: Logger): Promise<boolean> {
    if (job.metadata?.deletionTimestamp) return false;
    const deleted = await this.runner.deleteIfExists(
      Resources.jobs,
      job.metadata!.name!,
      this.options.runnerNamespace,
      {
        propagationPolicy: 'Background',
      },
    );
    if (deleted) log.info({ job: job.metadata!.name, why }, 'scan Job deleted');
    return deleted;
  }

  /** A slot freed: the oldest waiting scans that fit take it now rather than at their next recheck. */
  private wakeWaiting(): void {
    const max = this.options.maxRunningScans ?? 0;
    if (max <= 0) return;
    const running = this.runningScanUids();
    const free = max - running.size;
    if (free > 0)
      this.wake(
        this.waitingScans(running)
          .slice(0, free)
          .map((s) => s.metadata!.name!),
      );
  }

  /** Scans by phase and unfinished Jobs, from the caches, at most once a second. */
  private updateGauges(): void {
    const now = Date.now();
    if (now - this.gaugesUpdatedAt < 1000) return;
    this.gaugesUpdatedAt = now;
    const counts: Record<string, number> = { Pending: 0, Running: 0, Completed: 0, Failed: 0 };
    for (const scan of this.scans.list()) {
      const phase = scan.status?.phase ?? 'Pending';
      counts[phase] = (counts[phase] ?? 0) + 1;
    }
    for (const [phase, count] of Object.entries(counts)) scansByPhase.set({ phase }, count);
    runningJobs.set(this.jobs.list((job) => !jobResult(job)).length);
  }
}
