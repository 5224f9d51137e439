// The generated diki.gardener.cloud CRDs on a real kube-apiserver: they install, accept valid objects, apply
// the schema defaults, reject what the schema and the CEL rules forbid (missing required fields, two output
// types, a changed immutable spec) and print their columns in `kubectl get`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { crdDir } from '../../scripts/generate-crds.ts';
import { dikiTypes, scanSummary, type RulesetSummary } from '../../src/api/diki/index.ts';
import { waitFor } from '../../src/util/time.ts';
import { ControlPlane } from '../testbed/controlplane.ts';

let cp: ControlPlane;

before(async () => {
  cp = await ControlPlane.start({ name: 'diki-crds', controllerManager: false });
  for (const type of dikiTypes) {
    const file = join(crdDir, `${type.crd.group}_${type.resource}.yaml`);
    const applied = await cp.kubectl(['apply', '-f', '-'], readFileSync(file, 'utf8'));
    assert.equal(applied.code, 0, applied.stderr);
  }
  const crds = dikiTypes.map((t) => `crd/${t.resource}.${t.crd.group}`);
  const established = await kubectl('wait', '--for=condition=Established', '--timeout=60s', ...crds);
  assert.equal(established.code, 0, established.stderr);
  await waitFor('the diki resources to be served', async () => (await kubectl('get', 'diki')).code === 0);
});

after(async () => {
  await cp?.stop();
});

const kubectl = (...args: string[]) => cp.kubectl(args);
const create = (object: unknown) => cp.kubectl(['create', '-f', '-'], stringify(object));
const getJson = async (resource: string, name: string): Promise<Record<string, unknown>> => {
  const r = await kubectl('get', resource, name, '-o', 'json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

const apiVersion = 'diki.gardener.cloud/v1alpha1';

test('a ComplianceScan gets its defaults; its spec is immutable; kubectl get cscan prints phase, rulesets, counts', async () => {
  const created = await create({
    apiVersion,
    kind: 'ComplianceScan',
    metadata: { name: 'scan-1' },
    spec: {
      rulesets: [
        { id: 'disa-kubernetes-stig', version: 'v2r6', options: { rules: { configMapRef: { name: 'stig-options' } } } },
        { id: 'security-hardened-k8s' },
      ],
      outputs: [{ name: 'to-configmap' }, { name: 'to-webhook', optional: true }],
    },
  });
  assert.equal(created.code, 0, created.stderr);
  const scan = await getJson('cscan', 'scan-1');
  const spec = scan.spec as { rulesets: { options?: { rules: { configMapRef: unknown } } }[]; outputs: unknown[] };
  assert.deepEqual(spec.outputs, [
    { name: 'to-configmap', optional: false },
    { name: 'to-webhook', optional: true },
  ]);
  assert.deepEqual(spec.rulesets[0]!.options!.rules.configMapRef, { name: 'stig-options', namespace: 'kube-system' });

  // A scan without spec gets an empty one (every ruleset at its latest version), so the spec stays immutable.
  assert.equal((await create({ apiVersion, kind: 'ComplianceScan', metadata: { name: 'scan-empty' } })).code, 0);
  assert.deepEqual((await getJson('compliancescan', 'scan-empty')).spec, {});
  const grow = await kubectl('patch', 'cscan', 'scan-empty', '--type=merge', '-p', '{"spec":{"dikiVersion":"0.1"}}');
  assert.notEqual(grow.code, 0);
  assert.match(grow.stderr, /spec: Invalid value: spec is immutable/);

  const mutate = await kubectl(
    'patch',
    'cscan',
    'scan-1',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/spec/rulesets/0/version","value":"v2r5"}]',
  );
  assert.notEqual(mutate.code, 0);
  assert.match(mutate.stderr, /spec is immutable/);
  // Metadata and status stay writable.
  assert.equal((await kubectl('label', 'cscan', 'scan-1', 'team=security')).code, 0);
  const status: { status: Record<string, unknown> } = {
    status: {
      phase: 'Completed',
      conditions: [
        {
          type: 'Completed',
          status: 'True',
          reason: 'ComplianceScanCompleted',
          lastTransitionTime: '2026-11-23T10:00:00Z',
          lastUpdateTime: '2026-11-23T10:00:00Z',
        },
      ],
      outputs: [
        {
          outputName: 'to-configmap',
          phase: 'Completed',
          details: { configMapRef: { name: 'r', namespace: 'kube-system' } },
        },
      ],
      rulesets: [
        {
          id: 'disa-kubernetes-stig',
          version: 'v2r6',
          results: {
            summary: { passed: 20, failed: 3, warning: 1, errored: 0, skipped: 60, accepted: 2 },
            rules: { failed: [{ id: '242383', name: 'user resources in system namespaces' }] },
          },
        },
        { id: 'security-hardened-k8s', version: 'v0.1.0', results: { summary: { passed: 7, failed: 2 } } },
      ],
    },
  };
  status.status.summary = scanSummary(status.status.rulesets as RulesetSummary[]);
  const patched = await kubectl(
    'patch',
    'cscan',
    'scan-1',
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify(status),
  );
  assert.equal(patched.code, 0, patched.stderr);

  const table = await kubectl('get', 'cscan', 'scan-1');
  assert.equal(table.code, 0, table.stderr);
  const [header, row] = table.stdout.trim().split('\n');
  assert.deepEqual(header!.split(/\s{2,}/), ['NAME', 'PHASE', 'RULESETS', 'PASSED', 'FAILED', 'AGE']);
  const cells = row!.split(/\s{2,}/);
  assert.deepEqual(cells.slice(0, 5), [
    'scan-1',
    'Completed',
    'disa-kubernetes-stig@v2r6,security-hardened-k8s@v0.1.0',
    '27',
    '5',
  ]);
  const wide = await kubectl('get', 'cscan', 'scan-1', '-o', 'wide');
  assert.deepEqual(wide.stdout.split('\n')[0]!.split(/\s{2,}/), [
    'NAME',
    'PHASE',
    'RULESETS',
    'PASSED',
    'FAILED',
    'WARNING',
    'ERRORED',
    'AGE',
  ]);
  // The categories list every diki type.
  const all = await kubectl('get', 'compliance', '-o', 'name');
  assert.match(all.stdout, /compliancescan.diki.gardener.cloud\/scan-1/);
});

test('the API server rejects bad ComplianceScans with field paths', async () => {
  const bad = await create({
    apiVersion,
    kind: 'ComplianceScan',
    metadata: { name: 'scan-bad' },
    spec: {
      rulesets: [{ version: 'v2r6', options: { ruleset: { configMapRef: { namespace: 'x' } } } }],
      outputs: [{ name: 'a' }, { name: 'a' }, { optional: true }],
    },
  });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /spec\.rulesets\[0\]\.id: Required value/);
  assert.match(bad.stderr, /spec\.rulesets\[0\]\.options\.ruleset\.configMapRef\.name: Required value/);
  assert.match(bad.stderr, /spec\.outputs\[1\]: Duplicate value/);
  assert.match(bad.stderr, /spec\.outputs\[2\]\.name: Required value/);
});

test('a ReportOutput gets its defaults, needs exactly one output type and keeps its spec', async () => {
  const ok = await create({
    apiVersion,
    kind: 'ReportOutput',
    metadata: { name: 'to-configmap' },
    spec: { output: { configMap: {} } },
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual((await getJson('ro', 'to-configmap')).spec, {
    output: { configMap: { namespace: 'kube-system', namePrefix: 'compliance-scan-report-' } },
  });
  const api = await create({
    apiVersion,
    kind: 'ReportOutput',
    metadata: { name: 'to-reports-api' },
    spec: { output: { reportsAPI: {} } },
  });
  assert.equal(api.code, 0, api.stderr);
  assert.deepEqual((await getJson('ro', 'to-reports-api')).spec, {
    output: { reportsAPI: { apiVersion: 'wgpolicyk8s.io/v1alpha2', namePrefix: 'argus-' } },
  });
  const pg = await create({
    apiVersion,
    kind: 'ReportOutput',
    metadata: { name: 'to-postgres' },
    spec: {
      output: {
        postgresql: {
          url: 'postgres://db.example:5432',
          database: 'compliance',
          table: 'reports',
          credentialsRef: { name: 'pg', namespace: 'argus' },
          tls: { enabled: true, caSecretRef: { name: 'pg-ca', namespace: 'argus' } },
        },
      },
    },
  });
  assert.equal(pg.code, 0, pg.stderr);
  const postgresql = ((await getJson('ro', 'to-postgres')).spec as { output: { postgresql: Record<string, unknown> } })
    .output.postgresql;
  assert.deepEqual(postgresql.credentialsRef, { apiVersion: 'v1', kind: 'Secret', name: 'pg', namespace: 'argus' });
  assert.deepEqual(postgresql.tls, {
    enabled: true,
    caSecretRef: { name: 'pg-ca', namespace: 'argus', key: 'ca.crt' },
  });

  const two = await create({
    apiVersion,
    kind: 'ReportOutput',
    metadata: { name: 'two' },
    spec: { output: { configMap: {}, webhook: { url: 'https://hooks.example/x' } } },
  });
  assert.notEqual(two.code, 0);
  assert.match(
    two.stderr,
    /spec\.output: Invalid value: exactly one of configMap, postgresql, openSearch, webhook, reportsAPI must be set/,
  );
  const none = await create({ apiVersion, kind: 'ReportOutput', metadata: { name: 'none' }, spec: { output: {} } });
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /exactly one of/);
  const missing = await create({ apiVersion, kind: 'ReportOutput', metadata: { name: 'missing' }, spec: {} });
  assert.match(missing.stderr, /spec\.output: Required value/);
  const noUrl = await create({
    apiVersion,
    kind: 'ReportOutput',
    metadata: { name: 'no-url' },
    spec: { output: { webhook: {} } },
  });
  assert.match(noUrl.stderr, /spec\.output\.webhook\.url: Required value/);

  const change = await kubectl(
    'patch',
    'ro',
    'to-configmap',
    '--type=merge',
    '-p',
    '{"spec":{"output":{"configMap":{"namespace":"other"}}}}',
  );
  assert.notEqual(change.code, 0);
  assert.match(change.stderr, /spec: Invalid value: spec is immutable/);

  const table = await kubectl('get', 'ro', 'to-configmap');
  const [header, row] = table.stdout.trim().split('\n');
  assert.deepEqual(header!.split(/\s{2,}/), ['NAME', 'OUTPUT', 'AGE']);
  assert.match(
    row!,
    /^to-configmap\s+\{"configMap":\{"namePrefix":"compliance-scan-report-","namespace":"kube-system"\}\}/,
  );
});

test('a ScheduledComplianceScan gets the GEP defaults, stays mutable and prints its schedule', async () => {
  const created = await create({
    apiVersion,
    kind: 'ScheduledComplianceScan',
    metadata: { name: 'weekly' },
    spec: { timeZone: 'Europe/Berlin', scanTemplate: { spec: { outputs: [{ name: 'to-configmap' }] } } },
  });
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual((await getJson('scscan', 'weekly')).spec, {
    schedule: '0 0 * * 0',
    timeZone: 'Europe/Berlin',
    maxJitterSeconds: 0,
    suspend: false,
    successfulScansHistoryLimit: 3,
    failedScansHistoryLimit: 1,
    scanTemplate: { spec: { outputs: [{ name: 'to-configmap', optional: false }] } },
  });
  const bare = await create({ apiVersion, kind: 'ScheduledComplianceScan', metadata: { name: 'bare' } });
  assert.equal(bare.code, 0, bare.stderr);
  assert.deepEqual(((await getJson('scscan', 'bare')).spec as { scanTemplate: unknown }).scanTemplate, { spec: {} });

  const edit = await kubectl(
    'patch',
    'scscan',
    'weekly',
    '--type=merge',
    '-p',
    '{"spec":{"schedule":"0 3 * * *","suspend":true}}',
  );
  assert.equal(edit.code, 0, edit.stderr);
  const bad = await kubectl(
    'patch',
    'scscan',
    'weekly',
    '--type=merge',
    '-p',
    '{"spec":{"successfulScansHistoryLimit":-1,"maxJitterSeconds":100000}}',
  );
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    /spec\.successfulScansHistoryLimit: Invalid value: -1: spec\.successfulScansHistoryLimit in body should be greater than or equal to 0/,
  );
  assert.match(bad.stderr, /spec\.maxJitterSeconds: Invalid value: 100000/);

  const status = {
    status: {
      active: { apiVersion, kind: 'ComplianceScan', name: 'weekly-1795000000' },
      lastScheduleTime: '2026-11-23T10:00:00Z',
    },
  };
  const patched = await kubectl(
    'patch',
    'scscan',
    'weekly',
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify(status),
  );
  assert.equal(patched.code, 0, patched.stderr);
  const table = await kubectl('get', 'scscan', 'weekly');
  const [header, row] = table.stdout.trim().split('\n');
  assert.deepEqual(header!.split(/\s{2,}/), [
    'NAME',
    'SCHEDULE',
    'TIMEZONE',
    'SUSPEND',
    'ACTIVE',
    'LAST SCHEDULE',
    'AGE',
  ]);
  assert.deepEqual(row!.split(/\s{2,}/).slice(0, 5), [
    'weekly',
    '0 3 * * *',
    'Europe/Berlin',
    'true',
    'weekly-1795000000',
  ]);
});
