// The scheduling decision of a ScheduledComplianceScan as a pure function of the parent, its child
// ComplianceScans and the time: which child to create (if any), which scheduled time is skipped and why,
// which finished children the history limits remove, the status to write and when to look again. CronJob's
// semantics (Forbid, startingDeadlineSeconds, only the latest missed time runs), plus time zones and jitter.
import {
  DEFAULT_FAILED_HISTORY_LIMIT,
  DEFAULT_SCHEDULE,
  DEFAULT_SUCCESSFUL_HISTORY_LIMIT,
  DIKI_API_VERSION,
  SCHEDULED_SCAN_NAME_LABEL,
  SCHEDULED_SCAN_UID_LABEL,
  type ComplianceScan,
  type ScheduledComplianceScan,
  type ScheduledComplianceScanStatus,
} from '../../api/diki/index.ts';
import { cronExpression, jitterSeconds } from '../../api/diki/schedule.ts';
import { defaultComplianceScanSpec, type RulesetCatalog } from '../../api/diki/validate.ts';
import type { ObjectReference } from '../../api/meta.ts';
import type { OwnerReference } from '../../kube/resources.ts';

/** The scheduled time of a child, as RFC 3339 (the name carries it as unix seconds too). */
export const SCHEDULED_TIME_ANNOTATION = 'scheduledcompliancescan.diki.gardener.cloud/scheduled-time';

/** CronJob's bound: more missed times than this since the last one is reported (only the latest runs anyway). */
export const TOO_MANY_MISSED = 100;

/** The longest wait before a parent is looked at again, whatever its schedule. */
export const MAX_REQUEUE_MS = 60 * 60_000;

export type SkipReason = 'ScanAlreadyActive' | 'MissSchedule';

export interface ChildRef {
  name: string;
  scheduledTime: Date;
}

export interface ScheduleDecision {
  /** Why the schedule (or time zone) cannot be read; nothing is created then. */
  problem?: string;
  /** The scheduled time due now: create the child `name` for it. */
  create?: ChildRef;
  /** A scheduled time that came but does not run. */
  skip?: { scheduledTime: Date; reason: SkipReason; message: string };
  /** More than TOO_MANY_MISSED times were missed (only the latest one was considered). */
  tooManyMissed?: boolean;
  /** Finished children beyond the history limits, oldest first. */
  prune: (ChildRef & { phase: 'Completed' | 'Failed' })[];
  /** Children that `status.active` named and that have finished since. */
  sawFinished: (ChildRef & { phase: 'Completed' | 'Failed' })[];
  /**
   * The status without the child to create (the controller adds it as `active` once created, with its UID).
   * `active` undefined means none.
   */
  status: ScheduledComplianceScanStatus;
  /** When to reconcile again (the next scheduled time plus its jitter, bounded), unless something changes. */
  requeueAfterMs?: number;
}

export interface ScheduleInput {
  parent: ScheduledComplianceScan;
  /** The ComplianceScans the parent controls (any order). */
  children: readonly ComplianceScan[];
  now: Date;
}

/** `<parent>-<unix seconds of the scheduled time>`: a second create of the same child gets AlreadyExists. */
export const childName = (parent: string, scheduledTime: Date): string =>
  `${parent}-${Math.floor(scheduledTime.getTime() / 1000)}`;

/** RFC 3339 in seconds, as Kubernetes writes times. */
export const rfc3339 = (time: Date): string => time.toISOString().replace(/\.\d{3}Z$/, 'Z');

const parseTime = (value: string | Date | undefined): Date | undefined => {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
};

/** The scheduled time of a child: its annotation, else the unix seconds at the end of its name, else creation. */
export function scheduledTimeOf(child: ComplianceScan): Date | undefined {
  const annotated = parseTime(child.metadata?.annotations?.[SCHEDULED_TIME_ANNOTATION]);
  if (annotated) return annotated;
  const suffix = /-(\d{1,12})$/.exec(child.metadata?.name ?? '')?.[1];
  if (suffix) return new Date(Number(suffix) * 1000);
  return parseTime(child.metadata?.creationTimestamp);
}

const finishedPhase = (child: ComplianceScan): 'Completed' | 'Failed' | undefined => {
  const phase = child.status?.phase;
  return phase === 'Completed' || phase === 'Failed' ? phase : undefined;
};

/** When a finished child finished, from its Completed/Failed condition; undefined when it does not say. */
export function finishedAt(child: ComplianceScan): Date | undefined {
  const phase = finishedPhase(child);
  if (!phase) return undefined;
  const condition = child.status?.conditions?.find((c) => c.type === phase && c.status === 'True');
  return parseTime(condition?.lastTransitionTime) ?? parseTime(condition?.lastUpdateTime);
}

/** The spec defaults of a ScheduledComplianceScan the API server would have filled (webhooks may be absent). */
function settings(parent: ScheduledComplianceScan) {
  const spec = parent.spec ?? {};
  return {
    schedule: spec.schedule ?? DEFAULT_SCHEDULE,
    timeZone: spec.timeZone ?? 'UTC',
    maxJitterSeconds: spec.maxJitterSeconds ?? 0,
    suspend: spec.suspend ?? false,
    startingDeadlineSeconds: spec.startingDeadlineSeconds,
    successfulLimit: spec.successfulScansHistoryLimit ?? DEFAULT_SUCCESSFUL_HISTORY_LIMIT,
    failedLimit: spec.failedScansHistoryLimit ?? DEFAULT_FAILED_HISTORY_LIMIT,
  };
}

/** The latest scheduled time at or before `now`, or undefined when the schedule has none. */
function latestTime(schedule: string, timeZone: string, now: Date): Date | undefined {
  // cron-parser's prev() is strictly before its current date; one millisecond later includes `now` itself.
  const cron = cronExpression(schedule, timeZone, new Date(now.getTime() + 1));
  return cron.hasPrev() ? cron.prev().toDate() : undefined;
}

/** The first scheduled time after `after`. */
function nextTime(schedule: string, timeZone: string, after: Date): Date | undefined {
  const cron = cronExpression(schedule, timeZone, after);
  return cron.hasNext() ? cron.next().toDate() : undefined;
}

/** Whether more than `limit` scheduled times lie in (from, to]; at most limit + 1 steps. */
function moreTimesThan(schedule: string, timeZone: string, from: Date, to: Date, limit: number): boolean {
  const cron = cronExpression(schedule, timeZone, from);
  for (let count = 0; count <= limit; count++) {
    if (!cron.hasNext() || cron.next().toDate().getTime() > to.getTime()) return false;
  }
  return true;
}

const newestFirst = (a: ChildRef, b: ChildRef): number => b.scheduledTime.getTime() - a.scheduledTime.getTime();

/** The decision for one ScheduledComplianceScan at `now`. */
export function decideSchedule({ parent, children, now }: ScheduleInput): ScheduleDecision {
  const s = settings(parent);
  const status = parent.status ?? {};
  const uid = parent.metadata?.uid ?? '';
  const parentName = parent.metadata?.name ?? '';

  const known = children.flatMap((child) => {
    const scheduledTime = scheduledTimeOf(child);
    const name = child.metadata?.name;
    if (!scheduledTime || !name) return [];
    return [{ child, name, scheduledTime, phase: finishedPhase(child), deleting: !!child.metadata?.deletionTimestamp }];
  });
  known.sort(newestFirst);

  // Status: the newest unfinished child is active; the newest child was the last scheduled one; the newest
  // finished child tells when the last scan finished.
  const unfinished = known.filter((c) => !c.phase && !c.deleting);
  const active = unfinished[0];
  const previousLastSchedule = parseTime(status.lastScheduleTime);
  const newest = known[0]?.scheduledTime;
  const lastSchedule =
    previousLastSchedule && (!newest || previousLastSchedule.getTime() >= newest.getTime())
      ? previousLastSchedule
      : newest;
  const due = (time: Date): Date => new Date(time.getTime() + jitterSeconds(uid, time, s.maxJitterSeconds) * 1000);
  // A child says when it finished in its condition; else the time recorded when it was first seen finished
  // (a recorded time before the child's start belongs to an older child), else now.
  const previousCompletion = parseTime(status.lastCompletionTime);
  const newestFinished = known.find((c) => c.phase);
  let lastCompletion = previousCompletion;
  if (newestFinished) {
    lastCompletion =
      finishedAt(newestFinished.child) ??
      (previousCompletion && previousCompletion.getTime() >= due(newestFinished.scheduledTime).getTime()
        ? previousCompletion
        : now);
  }
  const nextStatus: ScheduledComplianceScanStatus = {
    ...(active ? { active: objectReference(active.child) } : {}),
    ...(lastSchedule ? { lastScheduleTime: rfc3339(lastSchedule) } : {}),
    ...(lastCompletion ? { lastCompletionTime: rfc3339(lastCompletion) } : {}),
  };

  // Children that were active and are finished now (CronJob's SawCompletedJob).
  const sawFinished = known
    .filter(
      (c) =>
        c.phase &&
        status.active?.name === c.name &&
        (!status.active.uid || status.active.uid === c.child.metadata?.uid),
    )
    .map((c) => ({ name: c.name, scheduledTime: c.scheduledTime, phase: c.phase! }));

  // History: the newest N completed and M failed children stay.
  const prune: ScheduleDecision['prune'] = [];
  for (const [phase, limit] of [
    ['Completed', s.successfulLimit],
    ['Failed', s.failedLimit],
  ] as const) {
    const finished = known.filter((c) => c.phase === phase && !c.deleting);
    for (const c of finished.slice(Math.max(0, limit)).reverse()) {
      prune.push({ name: c.name, scheduledTime: c.scheduledTime, phase });
    }
  }

  const decision: ScheduleDecision = { prune, sawFinished, status: nextStatus };
  if (s.suspend) return decision;

  let latest: Date | undefined;
  try {
    latest = latestTime(s.schedule, s.timeZone, now);
  } catch (err) {
    return {
      ...decision,
      problem: `schedule ${JSON.stringify(s.schedule)} in ${s.timeZone}: ${(err as Error).message}`,
    };
  }
  // Scheduled times are looked for after the last one scheduled, else after the parent's creation.
  const earliest = lastSchedule ?? parseTime(parent.metadata?.creationTimestamp);
  const pending = latest && (!earliest || latest.getTime() > earliest.getTime()) ? latest : undefined;

  // When to look again: the pending time's start if it has not come, else the next time's.
  let wakeAt: Date | undefined;
  if (pending && now.getTime() < due(pending).getTime()) {
    wakeAt = due(pending);
  } else {
    const next = nextTime(s.schedule, s.timeZone, now);
    wakeAt = next && due(next);
  }
  if (wakeAt) decision.requeueAfterMs = Math.max(0, Math.min(MAX_REQUEUE_MS, wakeAt.getTime() - now.getTime()));

  if (!pending || now.getTime() < due(pending).getTime()) return decision;

  // Only the latest missed time is considered (CronJob); many missed ones hint at downtime or clock skew.
  const deadlineMs = s.startingDeadlineSeconds !== undefined ? s.startingDeadlineSeconds * 1000 : undefined;
  if (earliest) {
    const countFrom =
      deadlineMs !== undefined && now.getTime() - deadlineMs > earliest.getTime()
        ? new Date(now.getTime() - deadlineMs)
        : earliest;
    decision.tooManyMissed = moreTimesThan(s.schedule, s.timeZone, countFrom, now, TOO_MANY_MISSED);
  }

  const startAt = due(pending);
  const at = rfc3339(pending);
  if (active) {
    decision.skip = {
      scheduledTime: pending,
      reason: 'ScanAlreadyActive',
      message: `Skipped the scan scheduled for ${at}: ComplianceScan ${active.name} has not finished`,
    };
    return decision;
  }
  // Forbid holds for times that came while a child was unfinished, also when it finished since.
  if (newestFinished && lastCompletion && lastCompletion.getTime() > startAt.getTime()) {
    decision.skip = {
      scheduledTime: pending,
      reason: 'ScanAlreadyActive',
      message: `Skipped the scan scheduled for ${at}: ComplianceScan ${newestFinished.name} was still running then`,
    };
    return decision;
  }
  if (deadlineMs !== undefined && now.getTime() - startAt.getTime() > deadlineMs) {
    decision.skip = {
      scheduledTime: pending,
      reason: 'MissSchedule',
      message: `Missed the scan scheduled for ${at}: more than startingDeadlineSeconds (${s.startingDeadlineSeconds}) late`,
    };
    return decision;
  }
  decision.create = { name: childName(parentName, pending), scheduledTime: pending };
  return decision;
}

/** The reference `status.active` holds. */
export function objectReference(child: ComplianceScan): ObjectReference {
  return {
    apiVersion: child.apiVersion ?? DIKI_API_VERSION,
    kind: child.kind ?? 'ComplianceScan',
    name: child.metadata?.name,
    ...(child.metadata?.uid ? { uid: child.metadata.uid } : {}),
  };
}

/** The child ComplianceScan for `scheduledTime`: owned by the parent, labelled, its spec the defaulted template. */
export function childScan(
  parent: ScheduledComplianceScan,
  scheduledTime: Date,
  catalog: RulesetCatalog,
): ComplianceScan {
  const name = parent.metadata?.name ?? '';
  const uid = parent.metadata?.uid ?? '';
  const owner: OwnerReference = {
    apiVersion: parent.apiVersion ?? DIKI_API_VERSION,
    kind: parent.kind ?? 'ScheduledComplianceScan',
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
  return {
    apiVersion: DIKI_API_VERSION,
    kind: 'ComplianceScan',
    metadata: {
      name: childName(name, scheduledTime),
      labels: { [SCHEDULED_SCAN_NAME_LABEL]: name, [SCHEDULED_SCAN_UID_LABEL]: uid },
      annotations: { [SCHEDULED_TIME_ANNOTATION]: rfc3339(scheduledTime) },
      ownerReferences: [owner],
    },
    spec: defaultComplianceScanSpec(parent.spec?.scanTemplate?.spec, catalog),
  };
}
