// Benchmark of the scanner (issue 3): a synthetic cluster of 1,000 namespaces and 20,000 pods with owners,
// then, side by side in one run, (a) a plain paginated LIST of every kind the scan reads and (b) a full scan
// with every ruleset. Reports wall times, the ratio b/a (goal <= 1.5) and each process's peak memory (goal
// < 512 MiB). diki is compared when `go install github.com/gardener/diki/cmd/diki` can build it here.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeClient } from '../src/kube/client.ts';
import type { KubeObject, ResourceType } from '../src/kube/resources.ts';
import { Kinds } from '../src/scanner/objects/kinds.ts';
import { parseReport, type Report as ScanReport } from '../src/scanner/report/report.ts';
import { ControlPlane } from '../test/testbed/controlplane.ts';
import {
  median,
  mib,
  pool,
  rate,
  secs,
  since,
  within,
  type BenchContext,
  type Benchmark,
  type Report,
} from './lib/benchmark.ts';

const NAMESPACES = 1_000;
const DEPLOYMENTS_PER_NAMESPACE = 2;
const PODS_PER_DEPLOYMENT = 10;
const NODES = 20;
const CLUSTER_ROLES = 200;
const IN_FLIGHT = 48;
const ROUNDS = 3;
const DIKI_VERSION = 'v0.28.0';

const benchmark: Benchmark = {
  name: 'scanner',
  description: `scan of ${NAMESPACES.toLocaleString('en-US')} namespaces and ${(
    NAMESPACES *
    DEPLOYMENTS_PER_NAMESPACE *
    PODS_PER_DEPLOYMENT
  ).toLocaleString('en-US')} pods against a plain LIST of the same kinds`,
  run,
};
export default benchmark;

interface ChildResult {
  seconds: number;
  maxRssBytes: number;
  kinds?: ResourceType[];
  objects?: number;
}

async function run(ctx: BenchContext): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), 'argus-bench-scan-'));
  // 2,000 Services need more cluster IPs than the testbed's default range holds.
  const cp = await ControlPlane.start({
    name: 'bench-scanner',
    controllerManager: false,
    apiServerArgs: ['--service-cluster-ip-range=10.128.0.0/16'],
  });
  const notes: string[] = [];
  try {
    const client = cp.client('argus-bench/populate');
    const started = performance.now();
    const created = await within('populating the cluster', 900, populate(client, ctx));
    const populateSeconds = since(started);
    notes.push(`cluster: ${created.toLocaleString('en-US')} objects created in ${secs(populateSeconds)}`);

    const scans: ChildResult[] = [];
    const lists: ChildResult[] = [];
    const kindsFile = join(dir, 'kinds.json');
    const reportFile = join(dir, 'report.json');
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so neither side always runs against a warmer API server.
      const scanFirst = round % 2 === 0;
      if (scanFirst || round > 0) {
        const s = await child(['scan', cp.kubeconfigPath, reportFile]);
        writeFileSync(kindsFile, JSON.stringify(s.kinds));
        scans.push(s);
      }
      if (existsSync(kindsFile)) lists.push(await child(['list', cp.kubeconfigPath, kindsFile]));
      if (!scanFirst && round === 0) {
        const s = await child(['scan', cp.kubeconfigPath, reportFile]);
        writeFileSync(kindsFile, JSON.stringify(s.kinds));
        scans.push(s);
      }
      ctx.log(`round ${round + 1}: scan ${secs(scans.at(-1)!.seconds)}, list ${secs(lists.at(-1)?.seconds ?? NaN)}`);
    }
    const report = parseReport(JSON.parse(readFileSync(reportFile, 'utf8')));
    const scanMedian = median(scans.map((s) => s.seconds));
    const listMedian = median(lists.map((l) => l.seconds));
    const kinds = scans[0]!.kinds!.map((k) => k.kind).join(', ');
    const rules = report.providers.flatMap((p) => p.rulesets).reduce((n, rs) => n + rs.rules.length, 0);
    notes.push(`kinds read by the scan: ${kinds}`);
    notes.push(
      `${rules} rules in ${report.providers[0]!.rulesets.length} rulesets; plain LIST read ${rate(lists[0]?.objects ?? 0)} objects`,
    );

    const diki = await runDiki(cp, dir, report, ctx);
    notes.push(...diki.notes);
    return {
      sections: [
        {
          title: `plain LIST vs full scan (median of ${ROUNDS})`,
          rows: [
            {
              label: '(a) plain paginated LIST',
              text: `median ${secs(listMedian)}  peak ${mib(Math.max(...lists.map((l) => l.maxRssBytes)))}`,
              values: { seconds: lists.map((l) => l.seconds), maxRssBytes: lists.map((l) => l.maxRssBytes) },
            },
            {
              label: '(b) argus scan, every ruleset',
              text: `median ${secs(scanMedian)}  peak ${mib(Math.max(...scans.map((s) => s.maxRssBytes)))}`,
              values: { seconds: scans.map((s) => s.seconds), maxRssBytes: scans.map((s) => s.maxRssBytes) },
            },
            {
              label: 'ratio b/a (goal <= 1.5)',
              text: (scanMedian / listMedian).toFixed(2),
              values: { ratio: scanMedian / listMedian },
            },
            {
              label: 'scan peak memory (goal < 512 MiB)',
              text: mib(Math.max(...scans.map((s) => s.maxRssBytes))),
              values: { bytes: Math.max(...scans.map((s) => s.maxRssBytes)) },
            },
            ...diki.rows,
          ],
        },
      ],
      notes,
    };
  } finally {
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function child(args: string[]): Promise<ChildResult> {
  const script = join(import.meta.dirname, 'lib', 'scan-child.ts');
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`scan-child ${args[0]} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult);
    });
  });
}

/** The synthetic cluster: objects with owners, as controllers would have made them (no controllers run). */
async function populate(client: KubeClient, ctx: BenchContext): Promise<number> {
  let created = 0;
  const create = async (rt: ResourceType, obj: KubeObject): Promise<KubeObject> => {
    const result = await client.create(rt, obj);
    created += 1;
    return result;
  };
  for (let n = 0; n < NODES; n++)
    await create(Kinds.nodes, {
      metadata: { name: `node-${n}`, labels: { 'worker.gardener.cloud/pool': `pool-${n % 3}` } },
    });
  await pool(
    Array.from({ length: CLUSTER_ROLES }, (_, i) => i),
    IN_FLIGHT,
    (i) =>
      create(Kinds.clusterRoles, {
        metadata: { name: `bench-${i}` },
        rules: [{ apiGroups: [''], resources: i % 10 === 0 ? ['*'] : ['pods'], verbs: ['get', 'list'] }],
      } as KubeObject),
  );
  for (const [i, policy] of ['Delete', 'Retain'].entries())
    await create(Kinds.storageClasses, {
      metadata: { name: `bench-${i}` },
      provisioner: 'example.com/disk',
      reclaimPolicy: policy,
    } as KubeObject);

  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${i}`);
  let done = 0;
  await pool(namespaces, IN_FLIGHT / 4, async (ns) => {
    await create(Kinds.namespaces, { metadata: { name: ns, labels: { team: ns } } });
    await Promise.all([
      create(Kinds.networkPolicies, {
        metadata: { name: 'default-deny', namespace: ns },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      } as KubeObject),
      create(Kinds.serviceAccounts, { metadata: { name: 'app', namespace: ns } }),
      create(Kinds.roles, {
        metadata: { name: 'app', namespace: ns },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      } as KubeObject),
      create(Kinds.roleBindings, {
        metadata: { name: 'app', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'app' },
        subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: ns }],
      } as KubeObject),
    ]);
    for (let d = 0; d < DEPLOYMENTS_PER_NAMESPACE; d++) await deployment(ns, `app-${d}`, d);
    done += 1;
    if (done % 100 === 0) ctx.log(`populated ${done}/${NAMESPACES} namespaces (${rate(created)} objects)`);
  });
  return created;

  async function deployment(ns: string, name: string, variant: number): Promise<void> {
    const labels = { app: name };
    const podSpec = {
      serviceAccountName: 'app',
      containers: [
        {
          name: 'app',
          image: variant === 0 ? `registry.example.com/${name}:1.0` : `docker.io/library/nginx:1.27`,
          ports: [{ containerPort: 8080 }],
          securityContext: variant === 0 ? { allowPrivilegeEscalation: false, runAsNonRoot: true } : {},
          env: variant === 1 ? [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] : [],
        },
      ],
      volumes: variant === 1 ? [{ name: 'logs', hostPath: { path: '/var/log' } }] : [],
    };
    const dep = await create(Kinds.deployments, {
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas: PODS_PER_DEPLOYMENT,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: podSpec },
      },
    } as KubeObject);
    const owner = (o: KubeObject, kind: string, apiVersion: string) => ({
      apiVersion,
      kind,
      name: o.metadata!.name!,
      uid: o.metadata!.uid!,
      controller: true,
      blockOwnerDeletion: true,
    });
    const rs = await create(Kinds.replicaSets, {
      metadata: { name: `${name}-abc`, namespace: ns, labels, ownerReferences: [owner(dep, 'Deployment', 'apps/v1')] },
      spec: {
        replicas: PODS_PER_DEPLOYMENT,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: podSpec },
      },
    } as KubeObject);
    await create(Kinds.services, {
      metadata: { name, namespace: ns },
      spec: {
        type: variant === 1 && ns.endsWith('7') ? 'NodePort' : 'ClusterIP',
        selector: labels,
        ports: [{ port: 80, targetPort: 8080 }],
      },
    } as KubeObject);
    await Promise.all(
      Array.from({ length: PODS_PER_DEPLOYMENT }, (_, p) =>
        create(Kinds.pods, {
          metadata: {
            name: `${name}-abc-${p}`,
            namespace: ns,
            labels,
            ownerReferences: [owner(rs, 'ReplicaSet', 'apps/v1')],
          },
          spec: { ...podSpec, nodeName: `node-${(p + variant) % NODES}` },
        } as KubeObject),
      ),
    );
  }
}

/** diki on the same cluster, when it can be built from the Go module proxy here. */
async function runDiki(
  cp: ControlPlane,
  dir: string,
  ours: ScanReport,
  ctx: BenchContext,
): Promise<{ rows: Report['sections'][number]['rows']; notes: string[] }> {
  const bin = join(homedir(), '.cache', 'argus', 'diki', DIKI_VERSION, 'diki');
  if (!existsSync(bin)) {
    const built = await new Promise<string>((resolve) => {
      const proc = spawn('go', ['install', `github.com/gardener/diki/cmd/diki@${DIKI_VERSION}`], {
        env: { ...process.env, GOBIN: join(homedir(), '.cache', 'argus', 'diki', DIKI_VERSION) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      proc.on('error', (err) => resolve(err.message));
      proc.on('close', (code) => resolve(code === 0 ? '' : stderr.trim().split('\n').slice(-2).join(' ')));
    });
    if (built) {
      ctx.log(`diki ${DIKI_VERSION} not available: ${built}`);
      return { rows: [], notes: [`diki ${DIKI_VERSION} could not be built here, so no comparison: ${built}`] };
    }
  }
  const config = join(dir, 'diki.yaml');
  const output = join(dir, 'diki-report.json');
  const rulesets = ours.providers[0]!.rulesets.filter((r) => r.id !== 'pod-security-standards');
  writeFileSync(
    config,
    JSON.stringify({
      providers: [
        {
          id: 'managedk8s',
          name: 'Managed Kubernetes',
          args: { kubeconfigPath: cp.kubeconfigPath },
          rulesets: rulesets.map((r) => ({ id: r.id, name: r.name, version: r.version })),
        },
      ],
      output: { path: output },
    }),
  );
  const started = performance.now();
  const code = await new Promise<number>((resolve) => {
    const proc = spawn(bin, ['run', `--config=${config}`, '--all'], { stdio: 'ignore' });
    proc.on('close', (c) => resolve(c ?? -1));
  });
  const seconds = since(started);
  if (code !== 0 || !existsSync(output)) return { rows: [], notes: [`diki run exited ${code}`] };
  const theirs = parseReport(JSON.parse(readFileSync(output, 'utf8')));
  const statuses = (report: ScanReport) =>
    new Map(
      report.providers.flatMap((p) =>
        p.rulesets.flatMap((rs) =>
          rs.rules.map((r) => [`${rs.id}/${r.id}`, [...new Set(r.checks.map((c) => c.status))].sort().join('+')]),
        ),
      ),
    );
  const a = statuses(ours);
  const b = statuses(theirs);
  const differing = [...b]
    .filter(([rule, s]) => a.has(rule) && a.get(rule) !== s)
    .map(([rule, s]) => `${rule}: diki ${s}, argus ${a.get(rule)}`);
  return {
    rows: [
      { label: 'diki run (same rulesets)', text: secs(seconds), values: { seconds } },
      { label: 'rules with equal statuses', text: `${b.size - differing.length}/${b.size}`, values: { differing } },
    ],
    notes: differing.length > 0 ? [`status differences: ${differing.join('; ')}`] : [],
  };
}
