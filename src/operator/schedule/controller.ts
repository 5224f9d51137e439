// The ScheduledComplianceScan controller (ADR 0016): creates child ComplianceScans on the parent's schedule in
// the target cluster, as CronJob creates Jobs. The decision is decide.ts's; this module reads the informer
// caches, writes children, deletions, events and status, and asks to be woken at the next scheduled time.
import {
  complianceScanType,
  scheduledComplianceScanType,
  type ComplianceScan,
  type ScheduledComplianceScan,
  type ScheduledComplianceScanStatus,
} from '../../api/diki/index.ts';
import type { RulesetCatalog } from '../../api/diki/validate.ts';
import { isAlreadyExists, isNotFound, type KubeClient } from '../../kube/client.ts';
import { Controller, type ReconcileContext, type ReconcileResult } from '../../kube/controller.ts';
import { EventRecorder, type EventType } from '../../kube/events.ts';
import { Informer } from '../../kube/informer.ts';
import type { Manager } from '../../kube/manager.ts';
import type { KubeObject, ResourceType } from '../../kube/resources.ts';
import { errorMessage, logger as componentLogger, type Logger } from '../../util/log.ts';
import { counter } from '../../util/metrics.ts';
import { OPERATOR_FIELD_MANAGER } from '../names.ts';
import { childScan, decideSchedule, objectReference, rfc3339, type ScheduleDecision } from './decide.ts';

export const complianceScans: ResourceType = complianceScanType.resourceType;
export const scheduledComplianceScans: ResourceType = scheduledComplianceScanType.resourceType;

/** Reporting controller of the events on ScheduledComplianceScans. */
export const SCHEDULED_SCAN_CONTROLLER = 'scheduledcompliancescan';
const REPORTING_CONTROLLER = 'diki.gardener.cloud/argus-operator';

export interface Clock {
  now(): Date;
}

export interface ScheduledScanInformers {
  scheduledScans: Informer<ScheduledComplianceScan>;
  scans: Informer<ComplianceScan>;
}

/** Records events; EventRecorder or a stand-in. */
export interface Recorder {
  record(regarding: KubeObject, type: EventType, reason: string, note: string): Promise<void>;
}

export interface ScheduledScanControllerOptions {
  /**
   * Shared informers on `client` from this manager unless `informers` are given. The returned controller is not
   * added to it: `manager.add(controller)`.
   */
  manager?: Manager;
  /** Client of the target cluster (ScheduledComplianceScans, their ComplianceScans, events); default the manager's. */
  client?: KubeClient;
  /** Informers on the target cluster (started and stopped by the caller), e.g. from scheduledScanInformers(). */
  informers?: ScheduledScanInformers;
  /** Rulesets the child specs are defaulted from (src/scanner/catalog.ts). */
  catalog: RulesetCatalog;
  /** "Now"; default the system clock. */
  clock?: Clock;
  /** Events on the parents; default an EventRecorder on the target client. */
  recorder?: Recorder;
  /** Controller name (metrics, logs); default `scheduledcompliancescan`. */
  name?: string;
  concurrency?: number;
  logger?: Logger;
}

/** Informers for the controller on `client` (the target cluster), for callers without a manager on it. */
export function scheduledScanInformers(client: KubeClient): ScheduledScanInformers {
  return {
    scheduledScans: new Informer<ScheduledComplianceScan>(client, scheduledComplianceScans),
    scans: new Informer<ComplianceScan>(client, complianceScans),
  };
}

const created = counter(
  'argus_operator_scheduled_scans_created_total',
  'ComplianceScans created by ScheduledComplianceScans.',
  [],
);
const skipped = counter(
  'argus_operator_scheduled_scans_skipped_total',
  'Scheduled times of ScheduledComplianceScans that did not start, by reason.',
  ['reason'],
);
const deleted = counter(
  'argus_operator_scheduled_scans_deleted_total',
  'Finished ComplianceScans of ScheduledComplianceScans deleted by the history limits.',
  [],
);

/** The ScheduledComplianceScan controller: key = the parent's name (cluster-scoped). */
export function scheduledScanController(options: ScheduledScanControllerOptions): Controller {
  const { manager } = options;
  const client = options.client ?? manager?.client;
  if (!client) throw new Error('scheduledScanController needs a client or a manager');
  let informers = options.informers;
  if (!informers) {
    if (!manager) throw new Error('scheduledScanController needs informers or a manager');
    // The manager's shared informers on the target client (the ComplianceScan one is the scan controller's too).
    informers = {
      scheduledScans: manager.informer<ScheduledComplianceScan>(scheduledComplianceScans, {}, client),
      scans: manager.informer<ComplianceScan>(complianceScans, {}, client),
    };
  }
  const name = options.name ?? SCHEDULED_SCAN_CONTROLLER;
  const clock = options.clock ?? { now: () => new Date() };
  const recorder = options.recorder ?? new EventRecorder(client, REPORTING_CONTROLLER);
  const { scheduledScans, scans } = informers;
  // Events about one scheduled time or child are recorded once per process (reconciles repeat decisions,
  // and a cache may not show the status just written).
  const recorded = new Map<string, string>();
  const recordOnce = async (
    parent: ScheduledComplianceScan,
    type: EventType,
    reason: string,
    about: string,
    note: string,
  ): Promise<boolean> => {
    const key = `${parent.metadata?.uid}|${reason}`;
    if (recorded.get(key) === about) return false;
    if (recorded.size > 10_000) recorded.clear();
    recorded.set(key, about);
    await recorder.record(parent, type, reason, note);
    return true;
  };
  const warnOnce = (parent: ScheduledComplianceScan, reason: string, about: string, note: string) =>
    recordOnce(parent, 'Warning', reason, about, note);

  const reconcile = async (key: string, { log }: ReconcileContext): Promise<ReconcileResult | void> => {
    const parent = scheduledScans.get(key);
    if (!parent || parent.metadata?.deletionTimestamp) return;
    const uid = parent.metadata?.uid;
    const children = scans.list(
      (scan) => scan.metadata?.ownerReferences?.some((ref) => ref.controller && ref.uid === uid) ?? false,
    );
    const now = clock.now();
    const decision = decideSchedule({ parent, children, now });
    const status: ScheduledComplianceScanStatus = { ...decision.status };

    for (const child of decision.sawFinished) {
      const note = `Saw completed scan: ${child.name}, phase: ${child.phase}`;
      await recordOnce(parent, 'Normal', 'SawCompletedScan', child.name, note);
    }
    if (decision.problem && (await warnOnce(parent, 'InvalidSchedule', decision.problem, decision.problem))) {
      log.warn({ problem: decision.problem }, 'cannot read the schedule');
    }
    if (decision.tooManyMissed) {
      await warnOnce(
        parent,
        'TooManyMissedTimes',
        String(decision.create?.scheduledTime.getTime() ?? decision.skip?.scheduledTime.getTime()),
        'More than 100 scheduled times were missed; only the latest one is considered. ' +
          'Set or decrease startingDeadlineSeconds or check clock skew.',
      );
    }
    if (decision.skip) {
      const { reason, scheduledTime, message } = decision.skip;
      if (await warnOnce(parent, reason, rfc3339(scheduledTime), message)) {
        skipped.inc({ reason });
        log.info({ scheduledTime: rfc3339(scheduledTime), reason }, message);
      }
    }
    if (decision.create) {
      let child: ComplianceScan;
      try {
        child = await createChild(parent, decision.create.scheduledTime, log);
      } catch (err) {
        const note = `Error creating scan ${decision.create.name}: ${errorMessage(err)}`;
        await warnOnce(parent, 'FailedCreate', `${decision.create.name}|${errorMessage(err)}`, note);
        throw err;
      }
      const phase = child.status?.phase;
      if (phase !== 'Completed' && phase !== 'Failed') status.active = objectReference(child);
      status.lastScheduleTime = rfc3339(decision.create.scheduledTime);
    }
    for (const child of decision.prune) {
      if (await deleteChild(child.name, children.find((c) => c.metadata?.name === child.name)?.metadata?.uid)) {
        deleted.inc();
        await recorder.record(parent, 'Normal', 'SuccessfulDelete', `Deleted ${child.phase} scan ${child.name}`);
      }
    }
    await writeStatus(parent, status);
    return decision.requeueAfterMs === undefined ? undefined : { requeueAfterMs: decision.requeueAfterMs };
  };

  /** Creates the child; one that exists already (a restart, another replica) counts as created if it is ours. */
  async function createChild(
    parent: ScheduledComplianceScan,
    scheduledTime: Date,
    log: Logger,
  ): Promise<ComplianceScan> {
    const scan = childScan(parent, scheduledTime, options.catalog);
    const childName = scan.metadata!.name!;
    try {
      const child = await client!.create<ComplianceScan>(complianceScans, scan, {
        fieldManager: OPERATOR_FIELD_MANAGER,
      });
      created.inc();
      log.info({ scan: childName, scheduledTime: rfc3339(scheduledTime) }, 'created scheduled scan');
      await recorder.record(parent, 'Normal', 'SuccessfulCreate', `Created scan ${childName}`);
      return child;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await client!.get<ComplianceScan>(complianceScans, childName);
      const owned = existing.metadata?.ownerReferences?.some(
        (ref) => ref.controller && ref.uid === parent.metadata?.uid,
      );
      // Another owner's (e.g. of a deleted parent of the same name, not yet collected): retry later.
      if (!owned)
        throw new Error(`ComplianceScan ${childName} exists and is not controlled by this object`, { cause: err });
      return existing;
    }
  }

  async function deleteChild(childName: string, uid: string | undefined): Promise<boolean> {
    try {
      await client!.delete(complianceScans, childName, undefined, {
        propagationPolicy: 'Background',
        ...(uid ? { preconditions: { uid } } : {}),
      });
      return true;
    } catch (err) {
      if (isNotFound(err) || (err as { code?: number }).code === 409) return false;
      throw err;
    }
  }

  /** Merge-patches the status subresource when it differs from the cached one. */
  async function writeStatus(parent: ScheduledComplianceScan, status: ScheduledComplianceScanStatus): Promise<void> {
    const current = parent.status ?? {};
    const patch: Record<string, unknown> = {};
    if (!sameReference(current.active, status.active)) patch.active = status.active ?? null;
    for (const field of ['lastScheduleTime', 'lastCompletionTime'] as const) {
      if (!sameTime(current[field], status[field])) patch[field] = status[field] ?? null;
    }
    if (Object.keys(patch).length === 0) return;
    try {
      await client!.patch(scheduledComplianceScans, parent.metadata!.name!, { status: patch }, 'merge', {
        subresource: 'status',
        fieldManager: OPERATOR_FIELD_MANAGER,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  const controller = new Controller({
    name,
    reconcile,
    concurrency: options.concurrency ?? 1,
    logger: options.logger ?? componentLogger('operator', { controller: name }),
  });
  controller
    .watch(scheduledScans)
    .owns(scans, scheduledComplianceScanType.kind, scheduledComplianceScanType.apiVersion);
  return controller;
}

type Reference = ScheduledComplianceScanStatus['active'];

const sameReference = (a: Reference, b: Reference): boolean =>
  a?.name === b?.name && a?.uid === b?.uid && (a === undefined) === (b === undefined);

const sameTime = (a: string | undefined, b: string | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && Date.parse(a) === Date.parse(b));

export type { ScheduleDecision };
