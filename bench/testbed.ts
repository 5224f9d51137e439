// Benchmark of the testbed and the watch path: cold build of the control plane (recorded, or rebuilt with
// --cold), warm start of control planes, and an Informer against a plain watch on 10,000 ConfigMaps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isGone, KubeClient, type ListOptions } from '../src/kube/client.ts';
import { Informer } from '../src/kube/informer.ts';
import { Resources, type KubeList, type KubeObject, type ResourceType } from '../src/kube/resources.ts';
import {
  buildRecords,
  ensureBinaries,
  etcdVersion,
  kubernetesVersion,
  type BuildRecord,
} from '../test/testbed/binaries.ts';
import { ControlPlane, type ControlPlaneOptions } from '../test/testbed/controlplane.ts';
import {
  median,
  mib,
  ms,
  pool,
  rate,
  rssSampler,
  secs,
  since,
  within,
  type BenchContext,
  type Benchmark,
  type Report,
  type Row,
  type Section,
} from './lib/benchmark.ts';

const WARM_STARTS = 5;
const START_GOAL_SECONDS = 15;
const OBJECTS = 10_000;
const IN_FLIGHT = 32;
const NAMESPACE = 'bench';
const LABEL = 'argus-bench';
const SELECTOR = `${LABEL}=informer`;
const REPLAYS = 3;

// A full GC before reading heapUsed, so that heap differences are what stays reachable.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * A client whose list answers carry an older resourceVersion, so that an Informer's watch starts there
 * and replays the events since then from the watch cache, as fast as it can apply them. This measures
 * the informer's watch path without being limited by how fast the objects can be written.
 */
class ReplayClient extends KubeClient {
  replayFrom = '';

  override async list<T extends KubeObject>(rt: ResourceType, options: ListOptions = {}): Promise<KubeList<T>> {
    const page = await super.list<T>(rt, options);
    if (this.replayFrom && !page.metadata.continue) page.metadata.resourceVersion = this.replayFrom;
    return page;
  }
}

const benchmark: Benchmark = {
  name: 'testbed',
  description: `control-plane build and start, informer vs plain watch on ${OBJECTS.toLocaleString('en-US')} ConfigMaps`,
  run,
};
export default benchmark;

async function run(ctx: BenchContext): Promise<Report> {
  const notes: string[] = [];
  const sampler = rssSampler();
  // Every control plane started here, so that a failure anywhere still stops them all.
  const planes = new Set<ControlPlane>();
  const start = async (options: ControlPlaneOptions): Promise<ControlPlane> => {
    const cp = await ControlPlane.start(options);
    planes.add(cp);
    return cp;
  };
  const stop = async (cp: ControlPlane): Promise<void> => {
    planes.delete(cp);
    await cp.stop();
  };
  try {
    const testbed: Section = { title: 'testbed', rows: [] };
    testbed.rows.push(ctx.flags.has('--cold') ? await coldBuild(ctx) : recordedBuild());
    await ensureBinaries(ctx.log); // not timed: the warm starts below measure starting, not building
    testbed.rows.push(...(await warmStarts(ctx, start, stop)));
    const informer = await informerVsWatch(ctx, start, stop);
    const peak = sampler.stop();
    const maxRss = process.resourceUsage().maxRSS * 1024;
    informer.rows.push({
      label: 'peak RSS (bench process)',
      text: `${mib(Math.max(peak, maxRss))} (sampled ${mib(peak)}, maxRSS ${mib(maxRss)})`,
      values: { sampledPeakBytes: peak, maxRssBytes: maxRss },
    });
    notes.push(
      `kubernetes ${kubernetesVersion()}, etcd ${etcdVersion()}; control planes run on this machine, ` +
        'so the client and the servers share its CPUs',
    );
    return { sections: [testbed, informer], notes };
  } finally {
    sampler.stop();
    await Promise.allSettled([...planes].map((cp) => stop(cp)));
  }
}

// --- build ---

function describeBuild(records: BuildRecord[]): { text: string; values: Record<string, unknown> } {
  const names = new Map([
    [kubernetesVersion(), 'kube'],
    [etcdVersion(), 'etcd'],
  ]);
  const values: Record<string, unknown> = {};
  const parts = records.map((r) => {
    const name = names.get(r.version) ?? r.version;
    values[name] = { version: r.version, seconds: r.seconds, builtAt: r.builtAt };
    return `${name} ${secs(r.seconds)}`;
  });
  return { text: parts.join(', '), values };
}

function recordedBuild(): Row {
  const records = buildRecords();
  if (records.length === 0) {
    return {
      label: 'build (recorded)',
      text: 'no build recorded (binaries from KUBEBUILDER_ASSETS?); run with --cold to measure',
      values: {},
    };
  }
  const { text, values } = describeBuild(records);
  const dates = [...new Set(records.map((r) => r.builtAt.slice(0, 10)))].join(', ');
  return { label: 'build (recorded)', text: `${text}  (recorded at first build, ${dates})`, values };
}

/** Rebuilds every binary into a temporary cache with an empty GOCACHE; the Go module cache stays warm. */
async function coldBuild(ctx: BenchContext): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'argus-bench-cold-'));
  const saved = {
    ARGUS_CACHE_DIR: process.env.ARGUS_CACHE_DIR,
    GOCACHE: process.env.GOCACHE,
    KUBEBUILDER_ASSETS: process.env.KUBEBUILDER_ASSETS,
  };
  process.env.ARGUS_CACHE_DIR = dir;
  process.env.GOCACHE = join(dir, 'go-build');
  delete process.env.KUBEBUILDER_ASSETS;
  try {
    ctx.log(`cold build into ${dir} (empty GOCACHE; takes minutes)`);
    const started = performance.now();
    await ensureBinaries(ctx.log);
    const wall = since(started);
    const { text, values } = describeBuild(buildRecords());
    return { label: 'build (cold, empty GOCACHE)', text: `${text}; wall ${secs(wall)}`, values: { ...values, wall } };
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- warm start ---

type Start = (options: ControlPlaneOptions) => Promise<ControlPlane>;
type Stop = (cp: ControlPlane) => Promise<void>;

async function warmStarts(ctx: BenchContext, start: Start, stop: Stop): Promise<Row[]> {
  const starts: number[] = [];
  const stops: number[] = [];
  for (let i = 1; i <= WARM_STARTS; i++) {
    let started = performance.now();
    const cp = await start({ name: `bench-${i}` });
    starts.push(since(started));
    started = performance.now();
    await stop(cp);
    stops.push(since(started));
    ctx.log(`warm start ${i}/${WARM_STARTS}: ${secs(starts.at(-1)!)} (stop ${secs(stops.at(-1)!)})`);
  }
  const med = median(starts);
  const rows: Row[] = [
    {
      label: `warm start (n=${WARM_STARTS})`,
      text:
        `median ${secs(med)}  min ${secs(Math.min(...starts))}  max ${secs(Math.max(...starts))}  ` +
        `(goal < ${START_GOAL_SECONDS} s: ${med < START_GOAL_SECONDS ? 'met' : 'MISSED'})`,
      values: { seconds: starts, median: med, goalSeconds: START_GOAL_SECONDS },
    },
    { label: 'stop (median)', text: secs(median(stops)), values: { seconds: stops, median: median(stops) } },
  ];

  // Two at once, as a test file with a seed and a shoot does.
  const each: number[] = [];
  const started = performance.now();
  const results = await Promise.allSettled(
    ['a', 'b'].map(async (name) => {
      const t = performance.now();
      const cp = await start({ name: `bench-pair-${name}` });
      each.push(since(t));
      return cp;
    }),
  );
  const wall = since(started);
  for (const r of results) if (r.status === 'fulfilled') await stop(r.value);
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  ctx.log(`two control planes at once: ${secs(wall)}`);
  rows.push({
    label: 'warm start (2 at once)',
    text: `both ready after ${secs(wall)}  (each ${each.map(secs).join(', ')})`,
    values: { wall, each },
  });
  return rows;
}

// --- informer vs plain watch ---

/** Counts hits up to `target`, remembering when the first and the last arrived. */
function tally(target: number): { hit(): void; count(): number; first(): number; last(): number; done: Promise<void> } {
  let count = 0;
  let first = 0;
  let last = 0;
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolve = r));
  return {
    hit() {
      const now = performance.now();
      if (count === 0) first = now;
      last = now;
      if (++count === target) resolve();
    },
    count: () => count,
    first: () => first,
    last: () => last,
    done,
  };
}

const round = (obj: KubeObject | undefined): string | undefined => obj?.metadata?.labels?.round;

async function informerVsWatch(ctx: BenchContext, start: Start, stop: Stop): Promise<Section> {
  const title = `informer (${OBJECTS.toLocaleString('en-US')} ConfigMaps)`;
  const rows: Row[] = [];
  const memory = rssSampler();
  const cp = await start({ name: 'bench-informer', controllerManager: false });
  const writer = cp.client('argus-bench/writer');
  const plainClient = cp.client('argus-bench/plain');
  const informerClient = cp.client('argus-bench/informer');
  const plainAbort = new AbortController();
  let informer: Informer<KubeObject> | undefined;
  try {
    await writer.create(Resources.namespaces, { metadata: { name: NAMESPACE } });

    // 1. Create the objects.
    const names = Array.from({ length: OBJECTS }, (_, i) => `cm-${String(i).padStart(5, '0')}`);
    let started = performance.now();
    await within(
      'creating the ConfigMaps',
      180,
      pool(names, IN_FLIGHT, (name) =>
        writer.create(Resources.configMaps, {
          metadata: { name, namespace: NAMESPACE, labels: { [LABEL]: 'informer', round: '0' } },
          data: { name, settings: 'x'.repeat(400) },
        }),
      ),
    );
    const create = since(started);
    rows.push({
      label: `create (${IN_FLIGHT} in flight)`,
      text: `${rate(OBJECTS / create)} objects/s  (${secs(create)})`,
      values: { seconds: create, perSecond: OBJECTS / create },
    });
    ctx.log(`created ${OBJECTS} ConfigMaps in ${secs(create)}`);

    // 2. Initial list: a plain paginated list, then the informer's list + sync.
    started = performance.now();
    const listed = (await writer.listAll(Resources.configMaps, { namespace: NAMESPACE, labelSelector: SELECTOR })).items
      .length;
    const listSeconds = since(started);
    rows.push({
      label: 'plain list (pages of 500)',
      text: `${secs(listSeconds)}  (${rate(listed / listSeconds)} objects/s)`,
      values: { seconds: listSeconds, objects: listed },
    });
    const plainSentinel = tally(1);
    const informerSentinel = tally(1);
    const plain = tally(OBJECTS);
    const informed = tally(OBJECTS);
    informer = new Informer<KubeObject>(informerClient, Resources.configMaps, {
      namespace: NAMESPACE,
      labelSelector: SELECTOR,
      resyncPeriodMs: 0,
    });
    informer.addHandler({
      add: (obj) => {
        if (obj.metadata?.name === 'sentinel') informerSentinel.hit();
      },
      update: (old, obj) => {
        if (round(obj) === '1' && round(old) !== '1') informed.hit();
      },
    });
    started = performance.now();
    informer.start();
    await within('informer sync', 120, informer.waitForSync());
    const sync = since(started);
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    rows.push({
      label: 'informer list+sync',
      text: `${secs(sync)}  (${rate(informer.size / sync)} objects/s; heap used after GC ${mib(heapAfter)})`,
      values: { seconds: sync, objects: informer.size, heapUsedAfterGcBytes: heapAfter },
    });
    ctx.log(`informer synced ${informer.size} objects in ${secs(sync)}`);

    // 3. Both consumers watch from the informer's resourceVersion; a sentinel object proves both streams
    // are open before the patches start.
    const fromVersion = informer.lastResourceVersion;
    const plainDone = (async () => {
      const stream = plainClient.watch<KubeObject>(Resources.configMaps, {
        namespace: NAMESPACE,
        labelSelector: SELECTOR,
        resourceVersion: fromVersion,
        signal: plainAbort.signal,
      });
      for await (const event of stream) {
        if (event.type === 'ADDED' && event.object.metadata?.name === 'sentinel') plainSentinel.hit();
        else if (event.type === 'MODIFIED' && round(event.object) === '1') plain.hit();
      }
    })();
    plainDone.catch(() => undefined); // awaited below; errors surface there
    await writer.create(Resources.configMaps, {
      metadata: { name: 'sentinel', namespace: NAMESPACE, labels: { [LABEL]: 'informer' } },
    });
    await within('both watches to see the sentinel', 30, Promise.all([plainSentinel.done, informerSentinel.done]));

    const beforePatches = (await writer.list(Resources.configMaps, { namespace: NAMESPACE, limit: 1 })).metadata
      .resourceVersion!;
    started = performance.now();
    await within(
      'patching the ConfigMaps',
      180,
      pool(names, IN_FLIGHT, (name) =>
        writer.patch(Resources.configMaps, name, { metadata: { labels: { round: '1' } } }, 'merge', {
          namespace: NAMESPACE,
        }),
      ),
    );
    const patchEnd = performance.now();
    const patchSeconds = (patchEnd - started) / 1000;
    await within(
      'both consumers to see every MODIFIED event',
      120,
      Promise.race([
        Promise.all([plain.done, informed.done]),
        plainDone.then(() => Promise.reject(new Error('the plain watch ended early'))),
      ]),
    );
    ctx.log(`patched ${OBJECTS} ConfigMaps in ${secs(patchSeconds)}`);
    const perSecond = (t: ReturnType<typeof tally>): number => ((OBJECTS - 1) * 1000) / (t.last() - t.first());
    const plainRate = perSecond(plain);
    const informerRate = perSecond(informed);
    const lag = (t: ReturnType<typeof tally>): number => (t.last() - patchEnd) / 1000;
    plainAbort.abort();
    await informer.stop();
    informer = undefined;
    rows.push(
      {
        label: `patch (${IN_FLIGHT} in flight)`,
        text: `${rate(OBJECTS / patchSeconds)} objects/s  (${secs(patchSeconds)}; the event source of the live rows)`,
        values: { seconds: patchSeconds, perSecond: OBJECTS / patchSeconds },
      },
      {
        label: 'live: plain watch',
        text: `${rate(plainRate)} events/s`,
        values: { perSecond: plainRate, firstToLastSeconds: (plain.last() - plain.first()) / 1000 },
      },
      {
        label: 'live: informer',
        text: `${rate(informerRate)} events/s   ratio informer/plain = ${(informerRate / plainRate).toFixed(2)}`,
        values: {
          perSecond: informerRate,
          firstToLastSeconds: (informed.last() - informed.first()) / 1000,
          ratio: informerRate / plainRate,
        },
      },
      {
        label: 'live: lag after last patch',
        text: `plain ${ms(lag(plain))}, informer ${ms(lag(informed))}`,
        values: { plainSeconds: lag(plain), informerSeconds: lag(informed) },
      },
    );

    // 4. Replay: each consumer alone reads the same 10,000 MODIFIED events from the watch cache, starting
    // at the resourceVersion before the patches; alternating, REPLAYS times each, median reported.
    const plainReplays: number[] = [];
    const informerReplays: number[] = [];
    for (let i = 0; i < REPLAYS; i++) {
      plainReplays.push(await replayPlain(plainClient, beforePatches));
      informerReplays.push(await replayInformer(cp, beforePatches));
    }
    const plainReplay = median(plainReplays);
    const informerReplay = median(informerReplays);
    ctx.log(`replays: plain ${plainReplays.map(rate).join(', ')}; informer ${informerReplays.map(rate).join(', ')}`);
    rows.push(
      {
        label: `replay: plain watch`,
        text: `${rate(plainReplay)} events/s  (median of ${REPLAYS}; same events from the watch cache)`,
        values: { perSecond: plainReplay, runs: plainReplays },
      },
      {
        label: `replay: informer`,
        text: `${rate(informerReplay)} events/s   ratio informer/plain = ${(informerReplay / plainReplay).toFixed(2)}`,
        values: { perSecond: informerReplay, runs: informerReplays, ratio: informerReplay / plainReplay },
      },
    );

    const peak = memory.stop();
    rows.push({
      label: 'peak RSS (this section)',
      text: `${mib(peak)}  (heap used ${mib(process.memoryUsage().heapUsed)})`,
      values: { bytes: peak },
    });
    return { title, rows };
  } finally {
    memory.stop();
    plainAbort.abort();
    await informer?.stop();
    await stop(cp);
  }
}

/** Events/s of a plain watch reading the OBJECTS MODIFIED events after `from`, first to last event. */
async function replayPlain(client: KubeClient, from: string): Promise<number> {
  const seen = tally(OBJECTS);
  const abort = new AbortController();
  try {
    await within(
      'plain replay',
      60,
      (async () => {
        const stream = client.watch<KubeObject>(Resources.configMaps, {
          namespace: NAMESPACE,
          labelSelector: SELECTOR,
          resourceVersion: from,
          signal: abort.signal,
        });
        for await (const event of stream) {
          if (event.type === 'MODIFIED') seen.hit();
          if (seen.count() === OBJECTS) return;
        }
        throw new Error(`plain replay ended after ${seen.count()} events`);
      })(),
    );
  } catch (err) {
    if (isGone(err)) {
      throw new Error('replay from the watch cache answered 410 Gone (watch cache too small)', { cause: err });
    }
    throw err;
  } finally {
    abort.abort();
  }
  return ((OBJECTS - 1) * 1000) / (seen.last() - seen.first());
}

/** Events/s of an Informer applying the same events (its list is current; its watch starts at `from`). */
async function replayInformer(cp: ControlPlane, from: string): Promise<number> {
  const client = new ReplayClient(cp.kubeConfig(), { userAgent: 'argus-bench/replay' });
  client.replayFrom = from;
  const informer = new Informer<KubeObject>(client, Resources.configMaps, {
    namespace: NAMESPACE,
    labelSelector: SELECTOR,
    resyncPeriodMs: 0,
  });
  const seen = tally(OBJECTS);
  // The cache starts empty, so the list gives adds only: every update is a replayed watch event.
  informer.addHandler({ update: () => seen.hit() });
  try {
    informer.start();
    await within('informer replay', 60, seen.done);
  } finally {
    await informer.stop();
    await client.close();
  }
  return ((OBJECTS - 1) * 1000) / (seen.last() - seen.first());
}
