// The ScheduledComplianceScan controller against a real control plane (with kube-controller-manager, whose
// garbage collector removes the children of a deleted parent) and a clock the tests move: children at the
// scheduled times with deterministic names, none while one is unfinished (the tests write the child's phase
// as the ComplianceScan controller would), history limits, status, suspend, two replicas and a restart
// without duplicates, and missed times after downtime with and without startingDeadlineSeconds.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  SCHEDULED_SCAN_NAME_LABEL,
  SCHEDULED_SCAN_UID_LABEL,
  dikiCrds,
  dikiTypes,
  type ComplianceScan,
  type ScheduledComplianceScan,
  type ScheduledComplianceScanSpec,
} from '../../src/api/diki/index.ts';
import { scheduleTimes } from '../../src/api/diki/schedule.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { Controller } from '../../src/kube/controller.ts';
import { EventRecorder } from '../../src/kube/events.ts';
import { Manager } from '../../src/kube/manager.ts';
import { Resources, type KubeObject } from '../../src/kube/resources.ts';
import {
  complianceScans,
  scheduledComplianceScans,
  scheduledScanController,
  scheduledScanInformers,
  type ScheduledScanInformers,
} from '../../src/operator/schedule/controller.ts';
import { SCHEDULED_TIME_ANNOTATION, childName } from '../../src/operator/schedule/decide.ts';
import { catalog } from '../../src/scanner/catalog.ts';
import { registry } from '../../src/util/metrics.ts';
import { waitFor } from '../../src/util/time.ts';
import { ControlPlane } from '../testbed/controlplane.ts';

let cp: ControlPlane;
let client: KubeClient;

before(async () => {
  cp = await ControlPlane.start({ name: 'operator-schedule', controllerManager: true });
  client = cp.client();
  for (const crd of dikiCrds()) await client.create(Resources.customResourceDefinitions, crd);
  await waitFor('the diki CRDs to be established', async () => {
    for (const type of dikiTypes) {
      const crd = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
        Resources.customResourceDefinitions,
        `${type.resource}.${type.crd.group}`,
      );
      if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return false;
    }
    await client.list(scheduledComplianceScans);
    await client.list(complianceScans);
    return true;
  });
});

after(async () => {
  await cp?.stop();
});

class FakeClock {
  ms = Date.now();
  now(): Date {
    return new Date(this.ms);
  }
  set(time: Date, offsetMs = 0): void {
    this.ms = time.getTime() + offsetMs;
  }
}

interface Running {
  controller: Controller;
  informers: ScheduledScanInformers;
  stop(): Promise<void>;
}

let controllers = 0;

/** A controller with informers of its own (as another process would have), on `clock`. */
async function startController(clock: FakeClock): Promise<Running> {
  const own = cp.client(`argus-operator-test-${++controllers}`);
  const informers = scheduledScanInformers(own);
  informers.scheduledScans.start();
  informers.scans.start();
  const controller = scheduledScanController({
    client: own,
    informers,
    catalog,
    clock,
    recorder: new EventRecorder(own, 'diki.gardener.cloud/argus-operator'),
    name: `scheduledcompliancescan-${controllers}`,
  });
  await controller.start();
  return {
    controller,
    informers,
    async stop() {
      await controller.stop();
      await Promise.all([informers.scheduledScans.stop(), informers.scans.stop()]);
      await own.close();
    },
  };
}

/** The controller as the operator runs it: on a manager (of another client) with its shared informers on the target. */
async function startManaged(clock: FakeClock): Promise<Running> {
  const n = ++controllers;
  const runner = cp.client(`argus-operator-test-runner-${n}`);
  const target = cp.client(`argus-operator-test-target-${n}`);
  const manager = new Manager({ client: runner });
  const controller = scheduledScanController({
    manager,
    client: target,
    catalog,
    clock,
    name: `scheduledcompliancescan-${n}`,
  });
  manager.add(controller);
  const informers: ScheduledScanInformers = {
    scheduledScans: manager.informer(scheduledComplianceScans, {}, target),
    scans: manager.informer(complianceScans, {}, target),
  };
  const abort = new AbortController();
  const running = manager.start(abort.signal);
  await Promise.all([informers.scheduledScans.waitForSync(), informers.scans.waitForSync()]);
  return {
    controller,
    informers,
    async stop() {
      abort.abort();
      await running;
      await Promise.all([runner.close(), target.close()]);
    },
  };
}

async function reconcileCount(controller: Controller): Promise<number> {
  const metric = await registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
  return (
    metric?.values
      .filter((v) => v.labels.controller === controller.name && v.labels.result !== 'error')
      .reduce((sum, v) => sum + v.value, 0) ?? 0
  );
}

/** Makes the controller look at `name` now (the clock moved) and waits until it is done and idle. */
async function reconciled(running: Running, name: string): Promise<void> {
  const { controller } = running;
  const before = await reconcileCount(controller);
  controller.queue.add(name);
  await waitFor(`a reconcile of ${name} by ${controller.name}`, async () => {
    return (await reconcileCount(controller)) > before && controller.queue.busy === 0;
  });
}

async function createParent(name: string, spec: ScheduledComplianceScanSpec): Promise<ScheduledComplianceScan> {
  return client.create<ScheduledComplianceScan & KubeObject>(scheduledComplianceScans, {
    apiVersion: 'diki.gardener.cloud/v1alpha1',
    kind: 'ScheduledComplianceScan',
    metadata: { name },
    spec,
  });
}

const getParent = (name: string) =>
  client.get<ScheduledComplianceScan & KubeObject>(scheduledComplianceScans, name) as Promise<ScheduledComplianceScan>;

async function children(parent: ScheduledComplianceScan): Promise<string[]> {
  const list = await client.list<ComplianceScan & KubeObject>(complianceScans, {
    labelSelector: `${SCHEDULED_SCAN_UID_LABEL}=${parent.metadata!.uid}`,
  });
  return list.items.map((c) => c.metadata!.name!).sort();
}

/** The next `count` hourly times after the parent's creation. */
const slotsOf = (parent: ScheduledComplianceScan, count: number, schedule = '0 * * * *'): Date[] =>
  scheduleTimes(schedule, 'UTC', new Date(String(parent.metadata!.creationTimestamp)), count);

const nameAt = (parent: ScheduledComplianceScan, time: Date): string => childName(parent.metadata!.name!, time);
const iso = (time: Date): string => time.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Writes the child's phase (and its condition) as the ComplianceScan controller would. */
async function finish(child: string, phase: 'Completed' | 'Failed', at: Date): Promise<void> {
  await client.patch(
    complianceScans,
    child,
    {
      status: {
        phase,
        conditions: [{ type: phase, status: 'True', lastTransitionTime: iso(at), reason: `Scan${phase}` }],
      },
    },
    'merge',
    { subresource: 'status' },
  );
}

interface Event extends KubeObject {
  reason?: string;
  note?: string;
  type?: string;
  regarding?: { name?: string; uid?: string };
}

async function events(parent: ScheduledComplianceScan, reason: string): Promise<Event[]> {
  const list = await client.list<Event>(Resources.events, { namespace: 'default' });
  return list.items.filter((e) => e.regarding?.uid === parent.metadata!.uid && e.reason === reason);
}

const MINUTE = 60_000;

test('children at the scheduled times, none while one is unfinished, history limits, status; the GC removes them with the parent', async () => {
  const clock = new FakeClock();
  const running = await startController(clock);
  try {
    const parent = await createParent('hourly', {
      schedule: '0 * * * *',
      successfulScansHistoryLimit: 1,
      failedScansHistoryLimit: 1,
      scanTemplate: { spec: { rulesets: [{ id: 'security-hardened-k8s' }] } },
    });
    const slots = slotsOf(parent, 5);

    // Before the first time: nothing.
    clock.set(slots[0]!, -MINUTE);
    await reconciled(running, 'hourly');
    assert.deepEqual(await children(parent), []);

    // The first time: one child, owned, labelled, its spec the defaulted template.
    clock.set(slots[0]!, 1000);
    await reconciled(running, 'hourly');
    const first = nameAt(parent, slots[0]!);
    assert.deepEqual(await children(parent), [first]);
    const child = await client.get<ComplianceScan & KubeObject>(complianceScans, first);
    assert.deepEqual(child.metadata?.ownerReferences, [
      {
        apiVersion: 'diki.gardener.cloud/v1alpha1',
        kind: 'ScheduledComplianceScan',
        name: 'hourly',
        uid: parent.metadata!.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(child.metadata?.labels?.[SCHEDULED_SCAN_NAME_LABEL], 'hourly');
    assert.equal(child.metadata?.annotations?.[SCHEDULED_TIME_ANNOTATION], iso(slots[0]!));
    const version = catalog.rulesets.find((r) => r.id === 'security-hardened-k8s')!.versions[0]!.version;
    assert.deepEqual(child.spec?.rulesets, [{ id: 'security-hardened-k8s', version }]);
    let status = (await getParent('hourly')).status;
    assert.equal(status?.active?.name, first);
    assert.equal(status?.active?.uid, child.metadata?.uid);
    assert.equal(status?.lastScheduleTime, iso(slots[0]!));
    assert.equal((await events(parent, 'SuccessfulCreate')).length, 1);

    // The second time comes while the first is unfinished: skipped, with a warning.
    clock.set(slots[1]!, 1000);
    await reconciled(running, 'hourly');
    assert.deepEqual(await children(parent), [first]);
    const warnings = await waitFor('the ScanAlreadyActive warning', async () => {
      const found = await events(parent, 'ScanAlreadyActive');
      return found.length > 0 && found;
    });
    assert.equal(warnings[0]!.type, 'Warning');

    // It finishes after the second time: status follows, the second time stays skipped.
    await finish(first, 'Completed', new Date(slots[1]!.getTime() + 2 * MINUTE));
    status = await waitFor('the completion in status', async () => {
      const s = (await getParent('hourly')).status;
      return s?.active === undefined && s?.lastCompletionTime !== undefined && s;
    });
    assert.equal(status.lastCompletionTime, iso(new Date(slots[1]!.getTime() + 2 * MINUTE)));
    assert.equal(status.lastScheduleTime, iso(slots[0]!));
    await waitFor('the SawCompletedScan event', async () => (await events(parent, 'SawCompletedScan')).length > 0);
    clock.set(slots[1]!, 5 * MINUTE);
    await reconciled(running, 'hourly');
    assert.deepEqual(await children(parent), [first]);

    // The third time runs; once it completed, the first is deleted (one successful scan is kept).
    clock.set(slots[2]!, 1000);
    await reconciled(running, 'hourly');
    const third = nameAt(parent, slots[2]!);
    assert.deepEqual(await children(parent), [first, third].sort());
    await finish(third, 'Completed', new Date(slots[2]!.getTime() + 10 * MINUTE));
    await waitFor('the oldest completed scan to be deleted', async () => (await children(parent)).join() === third);
    await waitFor('the SuccessfulDelete event', async () => (await events(parent, 'SuccessfulDelete')).length > 0);

    // Two failures: the older is deleted, the completed one stays.
    clock.set(slots[3]!, 1000);
    await reconciled(running, 'hourly');
    const fourth = nameAt(parent, slots[3]!);
    await finish(fourth, 'Failed', new Date(slots[3]!.getTime() + MINUTE));
    clock.set(slots[4]!, 1000);
    await reconciled(running, 'hourly');
    const fifth = nameAt(parent, slots[4]!);
    await finish(fifth, 'Failed', new Date(slots[4]!.getTime() + MINUTE));
    await waitFor(
      'the older failed scan to be deleted',
      async () => (await children(parent)).join() === [third, fifth].sort().join(),
    );
    status = await waitFor('status of the last failure', async () => {
      const s = (await getParent('hourly')).status;
      return s?.lastCompletionTime === iso(new Date(slots[4]!.getTime() + MINUTE)) && s;
    });
    assert.equal(status.lastScheduleTime, iso(slots[4]!));
    assert.equal(status.active, undefined);

    // Deleting the parent deletes its children (garbage collector).
    await client.delete(scheduledComplianceScans, 'hourly', undefined, { propagationPolicy: 'Background' });
    // The garbage collector finds new CRDs by periodic discovery (30 s), so this can take a while.
    await waitFor('the children to be collected', async () => (await children(parent)).length === 0, {
      timeoutMs: 120_000,
    });
  } finally {
    await running.stop();
  }
});

test('suspend: no children while suspended; the missed time runs on resume; running scans go on', async () => {
  const clock = new FakeClock();
  const running = await startController(clock);
  try {
    const parent = await createParent('paused', { schedule: '0 * * * *', suspend: true });
    const slots = slotsOf(parent, 2);
    clock.set(slots[0]!, 5 * MINUTE);
    await reconciled(running, 'paused');
    assert.deepEqual(await children(parent), []);

    // Resumed without a starting deadline: the missed time starts (as CronJob does).
    await client.patch(scheduledComplianceScans, 'paused', { spec: { suspend: false } }, 'merge');
    const first = nameAt(parent, slots[0]!);
    await waitFor('the missed scan to start on resume', async () => (await children(parent)).join() === first);

    // Suspended again: the next time creates nothing; the running scan finishes and status says so.
    await client.patch(scheduledComplianceScans, 'paused', { spec: { suspend: true } }, 'merge');
    await waitFor('the suspension in the cache', () => running.informers.scheduledScans.get('paused')?.spec?.suspend);
    clock.set(slots[1]!, 1000);
    await reconciled(running, 'paused');
    await finish(first, 'Completed', new Date(slots[1]!.getTime() + 500));
    await waitFor('the completion in status', async () => {
      const s = (await getParent('paused')).status;
      return s?.active === undefined && s?.lastCompletionTime !== undefined;
    });
    await reconciled(running, 'paused');
    assert.deepEqual(await children(parent), [first]);
    assert.equal((await getParent('paused')).status?.lastScheduleTime, iso(slots[0]!));
  } finally {
    await running.stop();
  }
});

test('two replicas and a restarted controller create each child once', async () => {
  const clock = new FakeClock();
  const a = await startController(clock);
  const b = await startManaged(clock);
  let restarted: Running | undefined;
  try {
    const parent = await createParent('replicated', { schedule: '*/5 * * * *' });
    const slots = slotsOf(parent, 2, '*/5 * * * *');
    clock.set(slots[0]!, 1000);
    await Promise.all([reconciled(a, 'replicated'), reconciled(b, 'replicated')]);
    const first = nameAt(parent, slots[0]!);
    assert.deepEqual(await children(parent), [first]);

    // A fresh process (empty caches) at the same time: nothing new.
    await a.stop();
    restarted = await startController(clock);
    await reconciled(restarted, 'replicated');
    assert.deepEqual(await children(parent), [first]);

    // Next time, both running: still one child per time (the second create gets AlreadyExists).
    await finish(first, 'Completed', new Date(slots[0]!.getTime() + MINUTE));
    await waitFor('both caches to see the completion', () =>
      [restarted!, b].every((r) => r.informers.scans.get(first)?.status?.phase === 'Completed'),
    );
    clock.set(slots[1]!, 1000);
    await Promise.all([reconciled(restarted, 'replicated'), reconciled(b, 'replicated')]);
    assert.deepEqual(await children(parent), [first, nameAt(parent, slots[1]!)].sort());
    const status = (await getParent('replicated')).status;
    assert.equal(status?.active?.name, nameAt(parent, slots[1]!));
    assert.equal(status?.lastScheduleTime, iso(slots[1]!));
  } finally {
    await b.stop();
    await restarted?.stop();
  }
});

test('after downtime only the latest missed time runs, and with startingDeadlineSeconds only within it', async () => {
  const clock = new FakeClock();
  let running = await startController(clock);
  try {
    const plain = await createParent('after-downtime', { schedule: '0 * * * *' });
    const bounded = await createParent('after-downtime-bounded', {
      schedule: '0 * * * *',
      startingDeadlineSeconds: 300,
    });
    clock.set(slotsOf(plain, 1)[0]!, -MINUTE);
    await reconciled(running, 'after-downtime');
    await reconciled(running, 'after-downtime-bounded');
    await running.stop();

    // Down for more than four scheduled times; back ten minutes after the last one.
    const slots = slotsOf(plain, 6);
    assert.equal(slotsOf(bounded, 6).join(), slots.join(), 'both created in the same hour');
    clock.set(slots[4]!, 10 * MINUTE);
    running = await startController(clock);
    await reconciled(running, 'after-downtime');
    await reconciled(running, 'after-downtime-bounded');
    assert.deepEqual(await children(plain), [nameAt(plain, slots[4]!)]);
    assert.equal((await getParent('after-downtime')).status?.lastScheduleTime, iso(slots[4]!));
    assert.deepEqual(await children(bounded), []);
    const missed = await waitFor('the MissSchedule warning', async () => {
      const found = await events(bounded, 'MissSchedule');
      return found.length > 0 && found;
    });
    assert.match(missed[0]!.note ?? '', /startingDeadlineSeconds/);

    // The next time is on time for both.
    clock.set(slots[5]!, 1000);
    await reconciled(running, 'after-downtime-bounded');
    assert.deepEqual(await children(bounded), [nameAt(bounded, slots[5]!)]);
  } finally {
    await running.stop();
  }
});

test('a foreign ComplianceScan with the child’s name is not adopted: FailedCreate, retried until it is gone', async () => {
  const clock = new FakeClock();
  const running = await startController(clock);
  try {
    const parent = await createParent('collide', { schedule: '0 * * * *' });
    const slot = slotsOf(parent, 1)[0]!;
    const name = nameAt(parent, slot);
    await client.create<ComplianceScan & KubeObject>(complianceScans, {
      apiVersion: 'diki.gardener.cloud/v1alpha1',
      kind: 'ComplianceScan',
      metadata: { name },
      spec: {},
    });
    clock.set(slot, 1000);
    running.controller.queue.add('collide');
    const failed = await waitFor('the FailedCreate warning', async () => {
      const found = await events(parent, 'FailedCreate');
      return found.length > 0 && found;
    });
    assert.match(failed[0]!.note ?? '', /not controlled by this object/);
    assert.deepEqual(await children(parent), []);
    assert.equal((await getParent('collide')).status?.active, undefined);

    await client.delete(complianceScans, name);
    await waitFor('the child once the name is free', async () => (await children(parent)).join() === name, {
      timeoutMs: 60_000,
    });
  } finally {
    await running.stop();
  }
});
