// Benchmark of the compliance operator (issue 5): 500 ComplianceScans created at once on a target control plane;
// `argus operator` (its own process, least-privilege RBAC) runs their Jobs on a runner control plane whose node
// agent runs them (at most ARGUS_BENCH_OPERATOR_SLOTS pods at once, like a node of that many free slots). The
// operator runs at most its default --max-running-scans Jobs at once; the other scans wait Pending.
// Reports the time until every Job exists and until every scan finished, the operator's peak memory, its API
// requests per scan, and duplicate Jobs (a scan UID whose Job was created twice; must be zero).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Job } from '@kubernetes/client-node';
import { complianceScanType, type ComplianceScan } from '../src/api/diki/index.ts';
import type { KubeClient } from '../src/kube/client.ts';
import { Resources, type KubeObject } from '../src/kube/resources.ts';
import { DEFAULT_MAX_RUNNING_SCANS, SCAN_UID_LABEL } from '../src/operator/names.ts';
import { waitFor } from '../src/util/time.ts';
import { prepareOperatorClusters } from '../test/support/operator.ts';
import { ControlPlane } from '../test/testbed/controlplane.ts';
import { NodeAgent } from '../test/testbed/node-agent/index.ts';
import { mib, pool, secs, since, within, type BenchContext, type Benchmark, type Report } from './lib/benchmark.ts';

const SCANS = Number(process.env.ARGUS_BENCH_OPERATOR_SCANS ?? 500);
const SLOTS = Number(process.env.ARGUS_BENCH_OPERATOR_SLOTS ?? 12);
const RUNNER_NAMESPACE = 'bench-runner';
const cscan = complianceScanType.resourceType;

const benchmark: Benchmark = {
  name: 'operator',
  description: `${SCANS} ComplianceScans created at once, run as Jobs through the node agent (${SLOTS} pods at a time)`,
  run,
};
export default benchmark;

async function run(ctx: BenchContext): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), 'argus-bench-operator-'));
  const [target, runner] = await Promise.all([
    ControlPlane.start({ name: 'bench-op-target', controllerManager: false }),
    ControlPlane.start({ name: 'bench-op-runner' }),
  ]);
  let agent: NodeAgent | undefined;
  let operator: ReturnType<typeof spawn> | undefined;
  try {
    agent = await NodeAgent.start(runner, { name: 'bench-seed', maxRunningPods: SLOTS });
    await prepareOperatorClusters(target, runner, RUNNER_NAMESPACE);
    const runnerAdmin = runner.client('argus-bench/admin');
    const targetAdmin = target.client('argus-bench/admin');

    const runnerKubeconfig = runner.writeKubeconfig(join(dir, 'runner'), await runner.identity('argus-operator'));
    const targetKubeconfig = target.writeKubeconfig(join(dir, 'target'), await target.identity('argus-operator'));
    const probePort = await freePort();
    operator = spawn(
      process.execPath,
      [
        'src/cli/main.ts',
        'operator',
        '--kubeconfig',
        runnerKubeconfig,
        '--target-kubeconfig',
        targetKubeconfig,
        '--runner-namespace',
        RUNNER_NAMESPACE,
        '--image',
        'argus',
        '--health-probe-bind-address',
        `127.0.0.1:${probePort}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ARGUS_LOG_LEVEL: 'warn' } },
    );
    let stderr = '';
    operator.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const operatorPid = operator.pid!;
    await waitFor(
      'the operator ready',
      () =>
        fetch(`http://127.0.0.1:${probePort}/readyz`)
          .then((r) => r.ok)
          .catch(() => false),
      { timeoutMs: 60_000, giveUp: () => (operator?.exitCode !== null ? `operator exited: ${stderr}` : undefined) },
    );
    const requestsBefore = await requestCount(probePort);

    // Every Job creation the runner sees, by scan UID (a watch from before the scans exist).
    const jobsCreated = new Map<string, Set<string>>();
    const watchAbort = new AbortController();
    const watching = watchJobs(runnerAdmin, jobsCreated, watchAbort.signal);

    ctx.log(`creating ${SCANS} ComplianceScans`);
    const started = performance.now();
    await pool(
      Array.from({ length: SCANS }, (_, i) => i),
      50,
      (i) =>
        targetAdmin.create<ComplianceScan & KubeObject>(cscan, {
          apiVersion: complianceScanType.apiVersion,
          kind: 'ComplianceScan',
          metadata: { name: `bench-${i}` },
          spec: { rulesets: [{ id: 'security-hardened-k8s' }] },
        }),
    );
    const createdSeconds = since(started);
    const allJobsSeconds = await within(
      'every Job created',
      1800,
      waitFor('every Job', () => (jobsCreated.size >= SCANS ? since(started) : undefined), {
        timeoutMs: 1_800_000,
        intervalMs: 200,
      }),
    );
    ctx.log(`every Job exists after ${secs(allJobsSeconds)}; waiting for the scans`);
    let phases: Record<string, number> = {};
    const allDoneSeconds = await within(
      'every scan finished',
      3600,
      waitFor(
        'every scan finished',
        async () => {
          const list = await targetAdmin.list<ComplianceScan & KubeObject>(cscan);
          phases = {};
          for (const s of list.items) {
            const phase = s.status?.phase ?? 'none';
            phases[phase] = (phases[phase] ?? 0) + 1;
          }
          const done = (phases.Completed ?? 0) + (phases.Failed ?? 0);
          return done >= SCANS ? since(started) : undefined;
        },
        { timeoutMs: 3_600_000, intervalMs: 2000 },
      ),
    );
    const requests = (await requestCount(probePort)) - requestsBefore;
    const peakRss = peakRssOf(operatorPid);
    watchAbort.abort();
    await watching.catch(() => undefined);
    const duplicates = [...jobsCreated.values()].filter((uids) => uids.size > 1).length;

    return {
      sections: [
        {
          title: `${SCANS} ComplianceScans at once (${SLOTS} Job pods at a time)`,
          rows: [
            { label: 'scans created (client side)', text: secs(createdSeconds), values: { seconds: createdSeconds } },
            { label: 'every Job exists', text: secs(allJobsSeconds), values: { seconds: allJobsSeconds } },
            {
              label: 'every scan finished',
              text: `${secs(allDoneSeconds)} (${(SCANS / allDoneSeconds).toFixed(2)} scans/s)`,
              values: { seconds: allDoneSeconds, scansPerSecond: SCANS / allDoneSeconds },
            },
            {
              label: 'phases',
              text: Object.entries(phases)
                .map(([p, n]) => `${p} ${n}`)
                .join(', '),
              values: phases,
            },
            { label: 'operator peak memory (VmHWM)', text: mib(peakRss), values: { bytes: peakRss } },
            {
              label: 'operator API requests per scan',
              text: (requests / SCANS).toFixed(1),
              values: { total: requests, perScan: requests / SCANS },
            },
            { label: 'duplicate Jobs (must be 0)', text: String(duplicates), values: { duplicates } },
          ],
        },
      ],
      notes: [
        'Each scan runs security-hardened-k8s against the target; the Job pod runs both containers as processes.',
        'API requests: rest_client_requests_total of the operator (both clusters, watches included), after it was ready.',
        `The operator runs at most ${DEFAULT_MAX_RUNNING_SCANS} scan Jobs at once (its default --max-running-scans): "every Job exists" is when the last waiting scan got its Job.`,
      ],
    };
  } finally {
    operator?.kill('SIGTERM');
    await agent?.stop();
    await Promise.all([target.stop(), runner.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function watchJobs(client: KubeClient, created: Map<string, Set<string>>, signal: AbortSignal): Promise<void> {
  const list = await client.list<V1Job & KubeObject>(Resources.jobs, { namespace: RUNNER_NAMESPACE });
  let resourceVersion = list.metadata.resourceVersion ?? '';
  while (!signal.aborted) {
    for await (const event of client.watch<V1Job & KubeObject>(Resources.jobs, {
      namespace: RUNNER_NAMESPACE,
      resourceVersion,
      allowWatchBookmarks: true,
      signal,
    })) {
      resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
      if (event.type !== 'ADDED') continue;
      const scanUid = event.object.metadata?.labels?.[SCAN_UID_LABEL];
      const jobUid = event.object.metadata?.uid;
      if (!scanUid || !jobUid) continue;
      let uids = created.get(scanUid);
      if (!uids) created.set(scanUid, (uids = new Set()));
      uids.add(jobUid);
    }
  }
}

async function requestCount(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('rest_client_requests_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function peakRssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
