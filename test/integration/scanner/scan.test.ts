// `argus scan` end to end against a testbed cluster: every catalog ruleset runs, each kind is listed once per
// scan, reports are written in several formats at once, exit codes gate CI, an offline scan of a dump of the
// cluster gives the live scan's results, and an unreachable or unauthenticated cluster is a clear error.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeClient, type ListOptions } from '../../../src/kube/client.ts';
import type { KubeList, KubeObject, ResourceType } from '../../../src/kube/resources.ts';
import { catalog } from '../../../src/scanner/catalog.ts';
import { resolveConfig } from '../../../src/scanner/engine/config.ts';
import { OFFLINE_REASON, runScan } from '../../../src/scanner/engine/scan.ts';
import { Kinds } from '../../../src/scanner/objects/kinds.ts';
import { LiveObjectSource } from '../../../src/scanner/objects/source.ts';
import { parseReport, type Report } from '../../../src/scanner/report/report.ts';
import { freePort, runCommand, type CommandResult } from '../../testbed/process.ts';
import { NodeAgent } from '../../testbed/node-agent/index.ts';
import { scannerClusterRole, scannerOpsPodRole } from '../../../src/scanner/rbac.ts';
import { waitFor } from '../../../src/util/time.ts';
import type { V1Pod } from '@kubernetes/client-node';
import { ControlPlane } from '../../testbed/controlplane.ts';
import { scanConfig, scanTestbed } from '../../support/scanner.ts';

const cli = join(import.meta.dirname, '../../../src/cli/main.ts');
let cp: ControlPlane;
let dir: string;

before(async () => {
  cp = await ControlPlane.start({ name: 'scan' });
  dir = mkdtempSync(join(tmpdir(), 'argus-scan-'));
  const client = cp.client();
  await client.create(Kinds.namespaces, { metadata: { name: 'shop', labels: { team: 'shop' } } });
  const podSpec = {
    containers: [
      {
        name: 'web',
        image: 'registry.example.com/shop/web:1.0',
        ports: [{ containerPort: 80, hostPort: 80 }],
        env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'token', key: 'value' } } }],
        securityContext: { privileged: true },
      },
    ],
    volumes: [{ name: 'host', hostPath: { path: '/var/log' } }],
  };
  await client.create(Kinds.deployments, {
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: podSpec },
    },
  });
  for (const name of ['web-1', 'web-2'])
    await client.create(Kinds.pods, { metadata: { name, namespace: 'shop', labels: { app: 'web' } }, spec: podSpec });
  await client.create(Kinds.services, {
    metadata: { name: 'web', namespace: 'shop' },
    spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80 }] },
  });
});

after(async () => {
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const argus = (args: string[]): Promise<CommandResult> => runCommand(process.execPath, [cli, ...args]);

/** Status and message per rule, targets sorted: what must agree between two scans of the same state. */
function outcome(report: Report, skipLive: boolean): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const p of report.providers)
    for (const rs of p.rulesets)
      for (const rule of rs.rules) {
        const checks = rule.checks.map(
          (c) => `${c.status}: ${c.message} ${JSON.stringify((c.targets ?? []).map((t) => JSON.stringify(t)).sort())}`,
        );
        if (skipLive && rule.checks.some((c) => c.message === OFFLINE_REASON)) continue;
        result.set(`${rs.id}/${rs.version}/${rule.id}`, checks.sort());
      }
  return result;
}

describe('argus scan', () => {
  test('runs every ruleset, writes several formats at once and prints a summary', async () => {
    const json = join(dir, 'report.json');
    const run = await argus([
      'scan',
      '--kubeconfig',
      cp.kubeconfigPath,
      '--output',
      `json=${json}`,
      '--metadata',
      'cluster=testbed',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '', 'no progress output when stderr is not a terminal');
    const report = parseReport(JSON.parse(readFileSync(json, 'utf8')));
    assert.deepEqual(report.metadata, { cluster: 'testbed' });
    const rulesets = report.providers[0]!.rulesets.map((r) => `${r.id}@${r.version}`);
    assert.deepEqual(
      rulesets,
      catalog.rulesets.map((r) => `${r.id}@${r.versions[0]!.version}`),
    );
    for (const rs of report.providers[0]!.rulesets)
      assert.match(run.stdout, new RegExp(`^${rs.id} ${rs.version}: `, 'm'));
  });

  test('--fail-on gates CI with exit code 1, --min-status trims the report', async () => {
    const run = await argus(['scan', '--kubeconfig', cp.kubeconfigPath, '--fail-on', 'Failed', '--output', 'json=-']);
    const report = parseReport(JSON.parse(run.stdout));
    const failedSomewhere = report.providers.some((p) =>
      p.rulesets.some((rs) => rs.rules.some((r) => r.checks.some((c) => c.status === 'Failed'))),
    );
    assert.equal(run.code, failedSomewhere ? 1 : 0);
    const trimmed = await argus([
      'scan',
      '--kubeconfig',
      cp.kubeconfigPath,
      '--min-status',
      'Not Implemented',
      '--fail-on',
      'Not Implemented',
      '--output',
      'json=-',
    ]);
    const small = parseReport(JSON.parse(trimmed.stdout));
    assert.equal(small.minStatus, 'Not Implemented');
    for (const p of small.providers)
      for (const rs of p.rulesets)
        for (const r of rs.rules) for (const c of r.checks) assert.equal(c.status, 'Not Implemented');
  });

  test('bad flags and configuration exit 2 with a message naming the field', async () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(
      config,
      'providers:\n- id: managedk8s\n  rulesets:\n  - id: security-hardened-k8s\n    version: v0.0.9\n',
    );
    let run = await argus(['scan', '--kubeconfig', cp.kubeconfigPath, '--config', config]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /providers\[0\]\.rulesets\[0\]\.version: unknown version "v0\.0\.9"/);
    run = await argus(['scan', '--kubeconfig', cp.kubeconfigPath, '--output', 'pdf=x.pdf']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--output pdf=x.pdf: unknown format "pdf"/);
    run = await argus(['scan', '--kubeconfig', cp.kubeconfigPath, '--ruleset', 'disa-kubernetes-stig@v1r1']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--ruleset disa-kubernetes-stig@v1r1: unknown version/);
    run = await argus(['scan', '--kubeconfig', join(dir, 'missing')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /kubeconfig .*missing does not exist/);
  });

  test('an unreachable cluster and rejected credentials exit 3 and say why', async () => {
    const port = await freePort();
    const unreachable = join(dir, 'unreachable.kubeconfig');
    writeFileSync(unreachable, readFileSync(cp.kubeconfigPath, 'utf8').replace(cp.server, `https://127.0.0.1:${port}`));
    let run = await argus(['scan', '--kubeconfig', unreachable]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, new RegExp(`cannot reach the cluster at https://127.0.0.1:${port}`));

    const strangers = await import('../../../src/util/pki.ts');
    const foreignCa = await strangers.createCA('stranger');
    const stranger = await strangers.issueCertificate(foreignCa, { commonName: 'mallory', usage: 'client' });
    const rejected = cp.writeKubeconfig(join(dir, 'rejected.kubeconfig'), stranger);
    run = await argus(['scan', '--kubeconfig', rejected]);
    assert.equal(run.code, 3);
    assert.match(run.stderr, /cannot reach the cluster at .*Unauthorized|401/);
  });
});

describe('argus scan usability', () => {
  test('--help explains flags, exit codes and gives examples', async () => {
    const run = await argus(['scan', '--help']);
    assert.equal(run.code, 0);
    for (const text of ['--snapshot', '--fail-on', '--output', 'Exit codes:', 'Examples:', 'disa-kubernetes-stig'])
      assert.ok(run.stdout.includes(text), text);
  });

  test('shows progress on a terminal', async () => {
    // util-linux `script` gives the command a pseudo-terminal.
    const out = await new Promise<string>((resolve, reject) => {
      const command = [
        process.execPath,
        cli,
        'scan',
        '--kubeconfig',
        cp.kubeconfigPath,
        '--output',
        `json=${join(dir, 'tty.json')}`,
      ]
        .map((a) => `'${a}'`)
        .join(' ');
      const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`script exited ${code}: ${text}`))));
    });
    assert.match(out, /scanning: \d+\/\d+ rules, [\d,]+ objects read/);
  });

  test('runs inside the cluster with the service account of its pod and least-privilege RBAC', async () => {
    const agent = await NodeAgent.start(cp, { name: 'scan-node' });
    try {
      const client = cp.client();
      await client.create(Kinds.namespaces, { metadata: { name: 'argus-system' } });
      await client.create(Kinds.serviceAccounts, { metadata: { name: 'scanner', namespace: 'argus-system' } });
      await client.create(Kinds.clusterRoles, scannerClusterRole('argus-scanner-test') as never);
      await client.create(Kinds.clusterRoleBindings, {
        metadata: { name: 'argus-scanner-test' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'argus-scanner-test' },
        subjects: [{ kind: 'ServiceAccount', name: 'scanner', namespace: 'argus-system' }],
      } as never);
      // The node-file rules' ops pods: created, exec'd into and deleted in kube-system only.
      await client.create(Kinds.roles, scannerOpsPodRole('argus-scanner-test-ops-pods') as never);
      await client.create(Kinds.roleBindings, {
        metadata: { name: 'argus-scanner-test-ops-pods', namespace: 'kube-system' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'argus-scanner-test-ops-pods' },
        subjects: [{ kind: 'ServiceAccount', name: 'scanner', namespace: 'argus-system' }],
      } as never);
      await client.create(Kinds.pods, {
        metadata: { name: 'scan', namespace: 'argus-system' },
        spec: {
          serviceAccountName: 'scanner',
          restartPolicy: 'Never',
          containers: [{ name: 'scan', image: 'argus:dev', args: ['scan', '--output', 'json=-'] }],
        },
      } as never);
      const pod = await waitFor(
        'the scan pod to finish',
        async () => {
          const p = await client.get<V1Pod>(Kinds.pods, 'scan', 'argus-system');
          return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
        },
        { timeoutMs: 120_000 },
      );
      const log = agent.logs('argus-system', 'scan');
      assert.equal(pod.status?.phase, 'Succeeded', log);
      const report = parseReport(JSON.parse(log.split('\n').find((l) => l.startsWith('{"time"')) ?? '{}'));
      const forbidden = report.providers.flatMap((p) =>
        p.rulesets.flatMap((rs) =>
          rs.rules.flatMap((r) =>
            r.checks.filter((c) => /forbidden/i.test(c.message)).map((c) => `${rs.id}/${r.id}: ${c.message}`),
          ),
        ),
      );
      assert.deepEqual(forbidden, [], 'the generated ClusterRole allows every read');
      assert.ok(report.providers[0]!.rulesets.every((rs) => rs.rules.length > 0));
    } finally {
      await agent.stop();
    }
  });
});

describe('object reads', () => {
  test('each kind is listed once per scan, page by page, however many rules read it', async () => {
    const calls = new Map<string, number>();
    class CountingClient extends KubeClient {
      override async list<T extends KubeObject>(rt: ResourceType, options?: ListOptions): Promise<KubeList<T>> {
        if (!options?.continue) calls.set(rt.resource, (calls.get(rt.resource) ?? 0) + 1);
        return super.list<T>(rt, options);
      }
    }
    const client = new CountingClient(cp.kubeConfig());
    try {
      const objects = new LiveObjectSource(client, { pageSize: 2 });
      const resolved = resolveConfig(
        scanConfig(catalog.rulesets.flatMap((r) => r.versions.map((v) => ({ id: r.id, version: v.version })))),
        catalog,
      );
      await runScan(resolved, { objects, live: { client } });
      assert.ok(calls.size > 0);
      for (const [resource, count] of calls) assert.equal(count, 1, `${resource} listed ${count} times`);
      assert.ok(objects.objectsRead > 0);
    } finally {
      await client.close();
    }
  });
});

describe('offline scans', () => {
  test('a dump of the cluster scans to the same results as the cluster itself', async () => {
    const rulesets = catalog.rulesets.map((r) => ({ id: r.id }));
    const live = await scanTestbed(cp, rulesets);
    const kinds = Object.values(Kinds)
      .map((k) => (k.group ? `${k.resource}.${k.group}` : k.resource))
      .join(',');
    const dump = await cp.kubectl(['get', kinds, '--all-namespaces', '-o', 'yaml']);
    assert.equal(dump.code, 0, dump.stderr);
    const file = join(dir, 'dump.yaml');
    writeFileSync(file, dump.stdout);
    const offline = await scanTestbed(undefined, rulesets, { snapshot: file });
    const offlineOutcome = outcome(offline, true);
    // Rules that need the live API are Skipped offline; compare the others.
    const liveOutcome = new Map([...outcome(live, true)].filter(([rule]) => offlineOutcome.has(rule)));
    assert.ok(liveOutcome.size > 50, `${liveOutcome.size} rules compared`);
    assert.deepEqual([...offlineOutcome.keys()].sort(), [...liveOutcome.keys()].sort());
    for (const [rule, checks] of liveOutcome) assert.deepEqual(offlineOutcome.get(rule), checks, rule);
    // Rules that need the live API say so offline.
    const offlineOnly = outcome(offline, false);
    for (const [rule, checks] of offlineOnly)
      if (!offlineOutcome.has(rule)) assert.deepEqual(checks, [`Skipped: ${OFFLINE_REASON} []`]);
  });
});
