import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SCHEDULED_SCAN_NAME_LABEL,
  SCHEDULED_SCAN_UID_LABEL,
  type ComplianceScan,
  type ScheduledComplianceScan,
  type ScheduledComplianceScanSpec,
} from '../../../src/api/diki/index.ts';
import { jitterSeconds } from '../../../src/api/diki/schedule.ts';
import { catalog } from '../../../src/scanner/catalog.ts';
import {
  MAX_REQUEUE_MS,
  SCHEDULED_TIME_ANNOTATION,
  childName,
  childScan,
  decideSchedule,
  scheduledTimeOf,
} from '../../../src/operator/schedule/decide.ts';

const UID = '6f0c2d4e-0000-4000-8000-000000000001';
const at = (iso: string): Date => new Date(iso);
const unix = (iso: string): number => Date.parse(iso) / 1000;

function parent(
  spec: ScheduledComplianceScanSpec,
  status: ScheduledComplianceScan['status'] = {},
  created = '2026-11-23T10:15:00Z',
): ScheduledComplianceScan {
  return {
    apiVersion: 'diki.gardener.cloud/v1alpha1',
    kind: 'ScheduledComplianceScan',
    metadata: { name: 'hourly', uid: UID, creationTimestamp: created },
    spec,
    status,
  };
}

function child(
  scheduled: string,
  phase?: 'Pending' | 'Running' | 'Completed' | 'Failed',
  finished?: string,
  extra: { deleting?: boolean } = {},
): ComplianceScan {
  const time = at(scheduled);
  return {
    apiVersion: 'diki.gardener.cloud/v1alpha1',
    kind: 'ComplianceScan',
    metadata: {
      name: childName('hourly', time),
      uid: `child-${time.getTime()}`,
      ...(extra.deleting ? { deletionTimestamp: '2026-11-23T00:00:00Z' } : {}),
    },
    status: {
      ...(phase ? { phase } : {}),
      ...(finished && (phase === 'Completed' || phase === 'Failed')
        ? { conditions: [{ type: phase, status: 'True' as const, lastTransitionTime: finished }] }
        : {}),
    },
  };
}

const hourly: ScheduledComplianceScanSpec = { schedule: '0 * * * *' };

test('nothing is created before the first scheduled time after creation; the reconcile wakes at that time', () => {
  const d = decideSchedule({ parent: parent(hourly), children: [], now: at('2026-11-23T10:59:00Z') });
  assert.equal(d.create, undefined);
  assert.equal(d.skip, undefined);
  assert.equal(d.requeueAfterMs, 60_000);
  assert.deepEqual(d.status, {});
});

test('a due time creates the child <parent>-<unix seconds>; then waits for the next time', () => {
  const d = decideSchedule({ parent: parent(hourly), children: [], now: at('2026-11-23T11:00:05Z') });
  assert.deepEqual(d.create, {
    name: `hourly-${unix('2026-11-23T11:00:00Z')}`,
    scheduledTime: at('2026-11-23T11:00:00Z'),
  });
  assert.equal(d.requeueAfterMs, 3_600_000 - 5_000);
});

test('a time that was scheduled is not scheduled again, whether status or only the child says so', () => {
  const now = at('2026-11-23T11:30:00Z');
  const running = child('2026-11-23T11:00:00Z', 'Running');
  const bySatus = decideSchedule({
    parent: parent(hourly, { lastScheduleTime: '2026-11-23T11:00:00Z' }),
    children: [],
    now,
  });
  assert.equal(bySatus.create, undefined);
  const byChild = decideSchedule({ parent: parent(hourly), children: [running], now });
  assert.equal(byChild.create, undefined);
  assert.deepEqual(byChild.status, {
    active: {
      apiVersion: 'diki.gardener.cloud/v1alpha1',
      kind: 'ComplianceScan',
      name: running.metadata!.name,
      uid: running.metadata!.uid,
    },
    lastScheduleTime: '2026-11-23T11:00:00Z',
  });
  assert.equal(byChild.requeueAfterMs, 30 * 60_000);
});

test('Forbid: a time that comes while a child is unfinished is skipped, also after that child finished', () => {
  const status = { lastScheduleTime: '2026-11-23T11:00:00Z' };
  const running = decideSchedule({
    parent: parent(hourly, status),
    children: [child('2026-11-23T11:00:00Z', 'Running')],
    now: at('2026-11-23T12:00:01Z'),
  });
  assert.equal(running.create, undefined);
  assert.equal(running.skip?.reason, 'ScanAlreadyActive');
  assert.deepEqual(running.skip?.scheduledTime, at('2026-11-23T12:00:00Z'));
  assert.equal(running.requeueAfterMs, 3_600_000 - 1_000);

  // It finished at 12:10, after 12:00 came: 12:00 stays skipped; 13:00 runs.
  const finishedLate = [child('2026-11-23T11:00:00Z', 'Completed', '2026-11-23T12:10:00Z')];
  const later = decideSchedule({
    parent: parent(hourly, status),
    children: finishedLate,
    now: at('2026-11-23T12:20:00Z'),
  });
  assert.equal(later.create, undefined);
  assert.equal(later.skip?.reason, 'ScanAlreadyActive');
  assert.equal(later.status.lastCompletionTime, '2026-11-23T12:10:00Z');
  assert.equal(later.status.active, undefined);
  const next = decideSchedule({
    parent: parent(hourly, status),
    children: finishedLate,
    now: at('2026-11-23T13:00:00Z'),
  });
  assert.equal(next.create?.name, `hourly-${unix('2026-11-23T13:00:00Z')}`);

  // Finished before the next time: it runs.
  const finishedEarly = [child('2026-11-23T11:00:00Z', 'Failed', '2026-11-23T11:40:00Z')];
  const onTime = decideSchedule({
    parent: parent(hourly, status),
    children: finishedEarly,
    now: at('2026-11-23T12:00:00Z'),
  });
  assert.deepEqual(onTime.create?.scheduledTime, at('2026-11-23T12:00:00Z'));
});

test('a finished child without condition times counts as finished when first seen (status keeps that time)', () => {
  const children = [child('2026-11-23T11:00:00Z', 'Completed')];
  const seen = decideSchedule({
    parent: parent(hourly, { lastScheduleTime: '2026-11-23T11:00:00Z', active: { name: children[0]!.metadata!.name } }),
    children,
    now: at('2026-11-23T11:20:00Z'),
  });
  assert.equal(seen.status.lastCompletionTime, '2026-11-23T11:20:00Z');
  assert.deepEqual(
    seen.sawFinished.map((c) => [c.name, c.phase]),
    [[children[0]!.metadata!.name, 'Completed']],
  );
  const next = decideSchedule({
    parent: parent(hourly, { lastScheduleTime: '2026-11-23T11:00:00Z', lastCompletionTime: '2026-11-23T11:20:00Z' }),
    children,
    now: at('2026-11-23T12:00:00Z'),
  });
  assert.equal(next.status.lastCompletionTime, '2026-11-23T11:20:00Z');
  assert.deepEqual(next.sawFinished, []);
  assert.ok(next.create);
});

test('after downtime only the latest missed time runs, and only within startingDeadlineSeconds', () => {
  const status = { lastScheduleTime: '2026-11-23T08:00:00Z', lastCompletionTime: '2026-11-23T08:30:00Z' };
  const children = [child('2026-11-23T08:00:00Z', 'Completed', '2026-11-23T08:30:00Z')];
  const now = at('2026-11-23T13:20:00Z');
  const latest = decideSchedule({ parent: parent(hourly, status), children, now });
  assert.equal(latest.create?.name, `hourly-${unix('2026-11-23T13:00:00Z')}`);
  assert.equal(latest.tooManyMissed, false);

  const tooLate = decideSchedule({
    parent: parent({ ...hourly, startingDeadlineSeconds: 600 }, status),
    children,
    now,
  });
  assert.equal(tooLate.create, undefined);
  assert.equal(tooLate.skip?.reason, 'MissSchedule');
  assert.deepEqual(tooLate.skip?.scheduledTime, at('2026-11-23T13:00:00Z'));
  assert.equal(tooLate.requeueAfterMs, 40 * 60_000);

  const inTime = decideSchedule({
    parent: parent({ ...hourly, startingDeadlineSeconds: 1800 }, status),
    children,
    now,
  });
  assert.deepEqual(inTime.create?.scheduledTime, at('2026-11-23T13:00:00Z'));
});

test('more than 100 missed times are reported; only the latest is computed', () => {
  const d = decideSchedule({
    parent: parent({ schedule: '* * * * *' }, { lastScheduleTime: '2026-11-01T00:00:00Z' }),
    children: [],
    now: at('2026-11-23T12:34:56Z'),
  });
  assert.equal(d.tooManyMissed, true);
  assert.deepEqual(d.create?.scheduledTime, at('2026-11-23T12:34:00Z'));
  const within = decideSchedule({
    parent: parent(
      { schedule: '* * * * *', startingDeadlineSeconds: 300 },
      { lastScheduleTime: '2026-11-01T00:00:00Z' },
    ),
    children: [],
    now: at('2026-11-23T12:34:56Z'),
  });
  assert.equal(within.tooManyMissed, false, 'the deadline bounds the missed times counted');
  assert.ok(within.create);
});

test('schedules are read in spec.timeZone, across daylight saving time changes', () => {
  // 09:00 Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in summer (DST starts 2026-03-29).
  const spec = { schedule: '0 9 * * *', timeZone: 'Europe/Berlin' };
  const status = { lastScheduleTime: '2026-03-28T08:00:00Z' };
  const before = decideSchedule({
    parent: parent(spec, status, '2026-03-20T00:00:00Z'),
    children: [],
    now: at('2026-03-29T06:59:00Z'),
  });
  assert.equal(before.create, undefined);
  assert.equal(before.requeueAfterMs, 60_000);
  const dueInSummer = decideSchedule({
    parent: parent(spec, status, '2026-03-20T00:00:00Z'),
    children: [],
    now: at('2026-03-29T07:00:30Z'),
  });
  assert.equal(dueInSummer.create?.name, `hourly-${unix('2026-03-29T07:00:00Z')}`);
  assert.equal(dueInSummer.requeueAfterMs, MAX_REQUEUE_MS, 'a day away: looked at again within the bound');

  // Back to winter time (2026-10-25): 25 hours between the two runs.
  const autumn = decideSchedule({
    parent: parent(spec, { lastScheduleTime: '2026-10-24T07:00:00Z' }, '2026-03-20T00:00:00Z'),
    children: [],
    now: at('2026-10-25T07:30:00Z'),
  });
  assert.equal(autumn.create, undefined);
  assert.equal(autumn.requeueAfterMs, 30 * 60_000);
  const autumnDue = decideSchedule({
    parent: parent(spec, { lastScheduleTime: '2026-10-24T07:00:00Z' }, '2026-03-20T00:00:00Z'),
    children: [],
    now: at('2026-10-25T08:00:00Z'),
  });
  assert.deepEqual(autumnDue.create?.scheduledTime, at('2026-10-25T08:00:00Z'));

  // The same schedule in UTC.
  const utc = decideSchedule({
    parent: parent({ schedule: '0 9 * * *' }, { lastScheduleTime: '2026-03-28T09:00:00Z' }),
    children: [],
    now: at('2026-03-29T07:00:30Z'),
  });
  assert.equal(utc.create, undefined);
});

test('jitter delays the start by the offset derived from the UID and the time; the deadline counts from the start', () => {
  const time = at('2026-11-23T11:00:00Z');
  const jitter = jitterSeconds(UID, time, 600);
  assert.ok(jitter > 1, 'a UID with a useful offset');
  const spec = { ...hourly, maxJitterSeconds: 600 };
  const early = decideSchedule({
    parent: parent(spec),
    children: [],
    now: new Date(time.getTime() + (jitter - 1) * 1000),
  });
  assert.equal(early.create, undefined);
  assert.equal(early.skip, undefined);
  assert.equal(early.requeueAfterMs, 1000);
  const onTime = decideSchedule({ parent: parent(spec), children: [], now: new Date(time.getTime() + jitter * 1000) });
  assert.deepEqual(onTime.create?.scheduledTime, time);
  const next = at('2026-11-23T12:00:00Z');
  assert.equal(
    onTime.requeueAfterMs,
    Math.min(MAX_REQUEUE_MS, next.getTime() + jitterSeconds(UID, next, 600) * 1000 - (time.getTime() + jitter * 1000)),
  );

  const deadline = decideSchedule({
    parent: parent({ ...spec, startingDeadlineSeconds: 10 }),
    children: [],
    now: new Date(time.getTime() + (jitter + 5) * 1000),
  });
  assert.deepEqual(deadline.create?.scheduledTime, time);
});

test('suspend creates nothing and does not wake up, but keeps status and history current', () => {
  const children = [
    child('2026-11-23T09:00:00Z', 'Completed', '2026-11-23T09:10:00Z'),
    child('2026-11-23T10:00:00Z', 'Completed', '2026-11-23T10:10:00Z'),
  ];
  const d = decideSchedule({
    parent: parent(
      { ...hourly, suspend: true, successfulScansHistoryLimit: 1 },
      { lastScheduleTime: '2026-11-23T10:00:00Z' },
    ),
    children,
    now: at('2026-11-23T12:00:00Z'),
  });
  assert.equal(d.create, undefined);
  assert.equal(d.skip, undefined);
  assert.equal(d.requeueAfterMs, undefined);
  assert.deepEqual(
    d.prune.map((c) => c.name),
    [children[0]!.metadata!.name],
  );
  assert.equal(d.status.lastCompletionTime, '2026-11-23T10:10:00Z');
});

test('history limits keep the newest completed and failed children; unfinished and deleting ones are not counted', () => {
  const children = [
    child('2026-11-23T01:00:00Z', 'Completed', '2026-11-23T01:10:00Z'),
    child('2026-11-23T02:00:00Z', 'Failed', '2026-11-23T02:10:00Z'),
    child('2026-11-23T03:00:00Z', 'Completed', '2026-11-23T03:10:00Z'),
    child('2026-11-23T04:00:00Z', 'Failed', '2026-11-23T04:10:00Z'),
    child('2026-11-23T05:00:00Z', 'Completed', '2026-11-23T05:10:00Z', { deleting: true }),
    child('2026-11-23T06:00:00Z', 'Completed', '2026-11-23T06:10:00Z'),
    child('2026-11-23T07:00:00Z', 'Failed', '2026-11-23T07:10:00Z'),
    child('2026-11-23T08:00:00Z', 'Completed', '2026-11-23T08:10:00Z'),
    child('2026-11-23T09:00:00Z', 'Running'),
  ];
  const d = decideSchedule({
    parent: parent({ ...hourly, successfulScansHistoryLimit: 2, failedScansHistoryLimit: 1 }),
    children: [...children].reverse(),
    now: at('2026-11-23T09:30:00Z'),
  });
  assert.deepEqual(
    d.prune.map((c) => `${c.phase} ${c.scheduledTime.toISOString().slice(11, 13)}`),
    ['Completed 01', 'Completed 03', 'Failed 02', 'Failed 04'],
  );
  assert.equal(d.status.active?.name, children[8]!.metadata!.name);
  assert.equal(d.status.lastScheduleTime, '2026-11-23T09:00:00Z');
  assert.equal(d.status.lastCompletionTime, '2026-11-23T08:10:00Z');

  const none = decideSchedule({
    parent: parent({ ...hourly, successfulScansHistoryLimit: 0, failedScansHistoryLimit: 0 }),
    children,
    now: at('2026-11-23T09:30:00Z'),
  });
  assert.equal(none.prune.length, 7);
});

test('an unreadable schedule or time zone is a problem, not an exception', () => {
  const bad = decideSchedule({
    parent: parent({ schedule: 'every day' }),
    children: [],
    now: at('2026-11-23T12:00:00Z'),
  });
  assert.match(bad.problem ?? '', /every day/);
  assert.equal(bad.create, undefined);
  const zone = decideSchedule({
    parent: parent({ ...hourly, timeZone: 'Mars/Olympus' }),
    children: [],
    now: at('2026-11-23T12:00:00Z'),
  });
  assert.match(zone.problem ?? '', /Mars\/Olympus/);
});

test('the default schedule is weekly on Sunday at midnight', () => {
  const d = decideSchedule({ parent: parent({}), children: [], now: at('2026-11-29T00:00:00Z') });
  assert.deepEqual(d.create?.scheduledTime, at('2026-11-29T00:00:00Z'));
});

test('childScan: owned by the parent, labelled, annotated with its time, the template spec defaulted', () => {
  const p = parent({ ...hourly, scanTemplate: { spec: { rulesets: [{ id: 'security-hardened-k8s' }] } } });
  const time = at('2026-11-23T11:00:00Z');
  const scan = childScan(p, time, catalog);
  assert.equal(scan.metadata?.name, `hourly-${unix('2026-11-23T11:00:00Z')}`);
  assert.deepEqual(scan.metadata?.ownerReferences, [
    {
      apiVersion: 'diki.gardener.cloud/v1alpha1',
      kind: 'ScheduledComplianceScan',
      name: 'hourly',
      uid: UID,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.deepEqual(scan.metadata?.labels, { [SCHEDULED_SCAN_NAME_LABEL]: 'hourly', [SCHEDULED_SCAN_UID_LABEL]: UID });
  assert.equal(scan.metadata?.annotations?.[SCHEDULED_TIME_ANNOTATION], '2026-11-23T11:00:00Z');
  const version = catalog.rulesets.find((r) => r.id === 'security-hardened-k8s')!.versions[0]!.version;
  assert.deepEqual(scan.spec?.rulesets, [{ id: 'security-hardened-k8s', version }]);
  assert.deepEqual(scheduledTimeOf(scan), time);
  assert.deepEqual(scheduledTimeOf({ metadata: { name: 'x-1700000000' } }), new Date(1_700_000_000_000));

  const all = childScan(parent(hourly), time, catalog);
  assert.deepEqual(
    all.spec?.rulesets?.map((r) => r.id),
    catalog.rulesets.map((r) => r.id),
  );
});
