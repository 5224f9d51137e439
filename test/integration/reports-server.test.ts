// The reports API server behind a real kube-apiserver's aggregation layer (SQLite store): kubectl, an
// informer, the garbage collector and the namespace controller use it as they use any Kubernetes API;
// RBAC through SubjectAccessReview; errors as Status objects.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CustomObjectsApi,
  makeInformer,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { readAuthenticationConfig } from '../../src/kube/authn-config.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { KubeConfig } from '../../src/kube/config.ts';
import { Informer } from '../../src/kube/informer.ts';
import { Resources, type KubeObject, type ResourceType } from '../../src/kube/resources.ts';
import { reportsServerManifests } from '../../src/reports-server/manifests.ts';
import { ReportsServer } from '../../src/reports-server/server.ts';
import { migrateFromCrds } from '../../src/reports-server/migrate.ts';
import { clusterReports, openStorage, policyReports } from '../../src/reports-server/storage/index.ts';
import { reportCrds } from '../../src/api/reports/index.ts';
import type { ReportStorage } from '../../src/reports-server/storage/types.ts';
import type { CertificateAuthority } from '../../src/util/pki.ts';
import { waitFor } from '../../src/util/time.ts';
import { reportsServingPair, startAggregatedReportsServer } from '../support/reports-server.ts';
import type { RegisteredAPIService } from '../testbed/aggregation.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { PostgresServer } from '../testbed/postgres.ts';

const polr: ResourceType = {
  group: 'wgpolicyk8s.io',
  version: 'v1alpha2',
  resource: 'policyreports',
  kind: 'PolicyReport',
  namespaced: true,
};

let cp: ControlPlane;
let client: KubeClient;
let dir: string;
let storage: ReportStorage;
let server: ReportsServer;
let servingCa: CertificateAuthority;
const registrations: RegisteredAPIService[] = [];

before(async () => {
  cp = await ControlPlane.start({ name: 'reports-server' });
  client = cp.client();
  dir = mkdtempSync(join(tmpdir(), 'argus-reports-server-'));
  // Compaction only when a test asks for it (and then of everything older than a second).
  storage = await openStorage({
    backend: 'sqlite',
    path: join(dir, 'reports.db'),
    changeLogRetentionMs: 1000,
    compactIntervalMs: 0,
  });
  const aggregated = await startAggregatedReportsServer(cp, storage, dir, { client });
  server = aggregated.server;
  servingCa = aggregated.servingCa;
  registrations.push(...aggregated.registrations);
});

after(async () => {
  await server?.close();
  await storage?.close();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const kubectl = async (args: string[], input?: string): Promise<string> => {
  const r = await cp.kubectl(['--cache-dir', join(dir, 'kubectl-cache'), ...args], input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

const namespace = async (name: string): Promise<void> => {
  await client.create(Resources.namespaces, { metadata: { name } });
};

const report = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'wgpolicyk8s.io/v1alpha2',
  kind: 'PolicyReport',
  metadata: { name, labels: { app: 'demo' } },
  scope: { apiVersion: 'v1', kind: 'Pod', name: 'web-0', namespace: 'x' },
  summary: { pass: 3, fail: 1, warn: 0, error: 0, skip: 0 },
  results: [{ policy: 'require-labels', rule: 'check', result: 'fail', severity: 'high', source: 'argus' }],
  ...extra,
});

/** A raw request to kube-apiserver as admin (through the aggregator). */
async function raw(
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const dispatcher = new Agent({
    connect: { ca: cp.pki.ca.certPem, cert: cp.pki.admin.certPem, key: cp.pki.admin.keyPem },
  });
  try {
    const res = await fetch(`${cp.server}${path}`, {
      method,
      dispatcher,
      headers: init.headers ?? {},
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: res.status, body, headers: res.headers as unknown as Headers };
  } finally {
    await dispatcher.close();
  }
}

test('discovery: kubectl finds the report types with short names and verbs', async () => {
  const out = await kubectl(['api-resources', '--api-group=wgpolicyk8s.io', '-o', 'wide', '--no-headers']);
  assert.match(out, /policyreports\s+polr\s+wgpolicyk8s.io\/v1alpha2\s+true\s+PolicyReport\s+\[?delete/);
  assert.match(out, /clusterpolicyreports\s+cpolr\s+wgpolicyk8s.io\/v1alpha2\s+false\s+ClusterPolicyReport/);
  const open = await kubectl(['api-resources', '--api-group=openreports.io', '--no-headers']);
  assert.match(open, /reports\s+reps\s+openreports.io\/v1alpha1\s+true\s+Report/);
  assert.match(open, /clusterreports\s+creps\s+openreports.io\/v1alpha1\s+false\s+ClusterReport/);
  const list = await raw('GET', '/apis/wgpolicyk8s.io/v1alpha2');
  const resources = list.body.resources as { name: string; verbs: string[] }[];
  assert.deepEqual(resources.find((r) => r.name === 'policyreports')?.verbs.sort(), [
    'create',
    'delete',
    'deletecollection',
    'get',
    'list',
    'patch',
    'update',
    'watch',
  ]);
  // kube-apiserver's aggregated discovery merged ours in (it asked us for APIGroupDiscoveryList).
  const aggregated = await raw('GET', '/apis', {
    headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' },
  });
  const items = aggregated.body.items as { metadata: { name: string }; versions: { freshness?: string }[] }[];
  const ours = items.find((i) => i.metadata.name === 'wgpolicyk8s.io');
  assert.ok(ours, 'wgpolicyk8s.io in aggregated discovery');
  assert.equal(ours.versions[0]?.freshness, 'Current');
  // kube-apiserver's OpenAPI aggregation downloaded our documents (as system:aggregator).
  const openapi = await waitFor(
    'the aggregated OpenAPI v3 document',
    async () => {
      const r = await raw('GET', '/openapi/v3/apis/wgpolicyk8s.io/v1alpha2');
      return r.status === 200 ? r : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const schemas = (openapi.body.components as { schemas: Record<string, unknown> }).schemas;
  assert.ok(schemas['io.wgpolicyk8s.v1alpha2.PolicyReport']);
});

test('kubectl: create, get -A, -o wide, -o yaml, describe, label, annotate, patch, apply --server-side, delete', async () => {
  await namespace('kubectl');
  const manifest = JSON.stringify({ ...report('pod-web-0'), metadata: { name: 'pod-web-0', namespace: 'kubectl' } });
  await kubectl(['create', '-f', '-'], manifest);
  const all = await kubectl(['get', 'polr', '-A']);
  assert.match(all, /NAMESPACE\s+NAME\s+PASS\s+FAIL\s+WARN\s+ERROR\s+SKIP\s+AGE/);
  assert.match(all, /kubectl\s+pod-web-0\s+3\s+1\s+0\s+0\s+0\s+\d+s/);
  const wide = await kubectl(['get', 'policyreports.wgpolicyk8s.io', '-n', 'kubectl', '-o', 'wide']);
  assert.match(wide, /NAME\s+KIND\s+NAME\s+PASS/);
  assert.match(wide, /pod-web-0\s+Pod\s+web-0\s+3\s+1/);
  const yaml = await kubectl(['get', 'polr', 'pod-web-0', '-n', 'kubectl', '-o', 'yaml']);
  assert.match(yaml, /kind: PolicyReport/);
  assert.match(yaml, /policy: require-labels/);
  assert.match(yaml, /resourceVersion: "\d+"/);
  // kubectl validates strictly on the server (it found fieldValidation in our OpenAPI) and explains the schema.
  const unknownField = await cp.kubectl(
    ['--cache-dir', join(dir, 'kubectl-cache'), 'create', '-f', '-'],
    JSON.stringify({ ...report('strict'), metadata: { name: 'strict', namespace: 'kubectl' }, colour: 'red' }),
  );
  assert.notEqual(unknownField.code, 0);
  assert.match(unknownField.stderr, /unknown field "colour"/);
  const explain = await kubectl(['explain', 'policyreports.results', '--api-version=wgpolicyk8s.io/v1alpha2']);
  assert.match(explain, /policy\s+<string> -required-/);
  const describe = await kubectl(['describe', 'polr', 'pod-web-0', '-n', 'kubectl']);
  assert.match(describe, /Name:\s+pod-web-0/);
  assert.match(describe, /Policy:\s+require-labels/);

  await kubectl(['label', 'polr', 'pod-web-0', '-n', 'kubectl', 'tier=backend']);
  await kubectl(['annotate', 'polr', 'pod-web-0', '-n', 'kubectl', 'note=checked']);
  const labelled = await kubectl(['get', 'polr', '-n', 'kubectl', '-l', 'tier=backend', '-o', 'name']);
  assert.equal(labelled.trim(), 'policyreport.wgpolicyk8s.io/pod-web-0');
  // Each kubectl write is recorded as an Update by its field manager, as for a custom resource.
  const managed = JSON.parse(
    await kubectl(['get', 'polr', 'pod-web-0', '-n', 'kubectl', '-o', 'json', '--show-managed-fields']),
  ) as { metadata: { managedFields: { manager: string; operation: string; fieldsV1: unknown }[] } };
  const byManager = new Map(managed.metadata.managedFields.map((m) => [m.manager, m]));
  assert.deepEqual([...byManager.keys()].sort(), ['kubectl-annotate', 'kubectl-create', 'kubectl-label']);
  assert.ok(managed.metadata.managedFields.every((m) => m.operation === 'Update'));
  assert.deepEqual(byManager.get('kubectl-label')?.fieldsV1, { 'f:metadata': { 'f:labels': { 'f:tier': {} } } });
  assert.match(JSON.stringify(byManager.get('kubectl-create')?.fieldsV1), /"f:results":\{\}/);
  // so applying another value over the label conflicts with kubectl-label
  const overLabel = await cp.kubectl(
    ['apply', '--server-side', '--field-manager=ci', '-f', '-'],
    JSON.stringify({
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: 'PolicyReport',
      metadata: { name: 'pod-web-0', namespace: 'kubectl', labels: { tier: 'frontend' } },
    }),
  );
  assert.notEqual(overLabel.code, 0);
  assert.match(
    overLabel.stderr,
    /conflict with "kubectl-label" using wgpolicyk8s.io\/v1alpha2 at [^:]+:\d\d:\d\dZ: \.metadata\.labels\.tier/,
  );
  await kubectl(['patch', 'polr', 'pod-web-0', '-n', 'kubectl', '--type=merge', '-p', '{"summary":{"pass":4}}']);
  await kubectl([
    'patch',
    'polr',
    'pod-web-0',
    '-n',
    'kubectl',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/summary/fail","value":0}]',
  ]);
  const patched = JSON.parse(await kubectl(['get', 'polr', 'pod-web-0', '-n', 'kubectl', '-o', 'json'])) as {
    metadata: { labels: Record<string, string>; annotations: Record<string, string>; generation: number };
    summary: { pass: number; fail: number };
  };
  assert.equal(patched.metadata.labels.tier, 'backend');
  assert.equal(patched.metadata.annotations.note, 'checked');
  assert.deepEqual([patched.summary.pass, patched.summary.fail], [4, 0]);
  assert.equal(patched.metadata.generation, 3);
  // Strategic merge patch is not for custom types.
  const strategic = await cp.kubectl(['patch', 'polr', 'pod-web-0', '-n', 'kubectl', '-p', '{"summary":{"pass":5}}']);
  assert.notEqual(strategic.code, 0);
  assert.match(strategic.stderr, /415|not supported|unknown format/i);

  // Server-side apply: creates, then updates and removes what the manager no longer applies.
  const applied = {
    ...report('applied', { summary: { pass: 1, fail: 0 } }),
    metadata: { name: 'applied', namespace: 'kubectl', labels: { owner: 'ci', stage: 'one' } },
  };
  await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(applied));
  applied.metadata.labels = { owner: 'ci' } as typeof applied.metadata.labels;
  applied.summary = { ...applied.summary, pass: 2 };
  await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(applied));
  const got = JSON.parse(
    await kubectl(['get', 'polr', 'applied', '-n', 'kubectl', '-o', 'json', '--show-managed-fields']),
  ) as {
    metadata: { labels: Record<string, string>; managedFields: { manager: string; operation: string }[] };
    summary: { pass: number };
  };
  assert.deepEqual(got.metadata.labels, { owner: 'ci' });
  assert.equal(got.summary.pass, 2);
  assert.ok(got.metadata.managedFields.some((m) => m.manager === 'kubectl' && m.operation === 'Apply'));
  // Another applier changing an owned field conflicts unless forced.
  const other = await cp.kubectl(
    ['apply', '--server-side', '--field-manager=other', '-f', '-'],
    JSON.stringify({ ...applied, summary: { pass: 9 } }),
  );
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /conflict/i);
  await kubectl(
    ['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'],
    JSON.stringify({ ...applied, summary: { pass: 9 } }),
  );

  // Pages of one (continue tokens through kubectl) and field selectors pushed down to the store.
  const paged = await kubectl(['get', 'polr', '-n', 'kubectl', '--chunk-size=1', '-o', 'name']);
  assert.deepEqual(paged.trim().split('\n'), [
    'policyreport.wgpolicyk8s.io/applied',
    'policyreport.wgpolicyk8s.io/pod-web-0',
  ]);
  const byScope = await kubectl([
    'get',
    'polr',
    '-A',
    '--field-selector',
    'scope.name=web-0,metadata.namespace=kubectl',
    '-o',
    'name',
  ]);
  assert.deepEqual(byScope.trim().split('\n').sort(), [
    'policyreport.wgpolicyk8s.io/applied',
    'policyreport.wgpolicyk8s.io/pod-web-0',
  ]);
  const badField = await cp.kubectl(['get', 'polr', '-A', '--field-selector', 'spec.color=red']);
  assert.notEqual(badField.code, 0);
  assert.match(badField.stderr, /BadRequest|field label not supported|not supported/i);

  await kubectl(['delete', 'polr', 'pod-web-0', 'applied', '-n', 'kubectl']);
  assert.equal((await kubectl(['get', 'polr', '-n', 'kubectl', '-o', 'name'])).trim(), '');
});

test('kubectl get -w sees a create; an informer lists and watches', async () => {
  await namespace('watching');
  const informer = new Informer<KubeObject>(client, polr, { namespace: 'watching' });
  const added: string[] = [];
  informer.addHandler({ add: (o) => added.push(o.metadata?.name ?? '') });
  informer.start();
  await client.create(polr, { ...report('before'), metadata: { name: 'before', namespace: 'watching' } });
  const child = spawn(cp.binaries.kubectl, [
    '--kubeconfig',
    cp.kubeconfigPath,
    '--cache-dir',
    join(dir, 'kubectl-cache'),
    'get',
    'polr',
    '-n',
    'watching',
    '-w',
  ]);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitFor('kubectl get -w to list', () => output.includes('before'), { timeoutMs: 20_000 });
    await client.create(polr, { ...report('after'), metadata: { name: 'after', namespace: 'watching' } });
    await waitFor('kubectl get -w to see the create', () => /after\s+3\s+1/.test(output), { timeoutMs: 20_000 });
    await informer.waitForSync();
    await waitFor('the informer to see both', () => added.includes('before') && added.includes('after'), {
      timeoutMs: 20_000,
    });
    assert.deepEqual(
      informer
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
      ['after', 'before'],
    );
  } finally {
    child.kill();
    await informer.stop();
  }
});

test('RBAC: no access without a role; a namespace-scoped role lists only its namespace', async () => {
  await namespace('team-a');
  await namespace('team-b');
  await client.create(polr, { ...report('a1'), metadata: { name: 'a1', namespace: 'team-a' } });
  await client.create(polr, { ...report('b1'), metadata: { name: 'b1', namespace: 'team-b' } });
  const nobody = cp.writeKubeconfig(join(dir, 'nobody.kubeconfig'), await cp.identity('nobody'));
  const denied = await cp.kubectl(['--kubeconfig', nobody, 'get', 'polr', '-n', 'team-a']);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden: User "nobody" cannot list resource "policyreports"/);

  await client.create(
    { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', kind: 'Role', namespaced: true },
    {
      metadata: { name: 'reports-reader', namespace: 'team-a' },
      rules: [{ apiGroups: ['wgpolicyk8s.io'], resources: ['policyreports'], verbs: ['get', 'list', 'watch'] }],
    } as KubeObject,
  );
  await client.create(
    {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      resource: 'rolebindings',
      kind: 'RoleBinding',
      namespaced: true,
    },
    {
      metadata: { name: 'alice-reads', namespace: 'team-a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reports-reader' },
      subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
    } as KubeObject,
  );
  const alice = cp.writeKubeconfig(join(dir, 'alice.kubeconfig'), await cp.identity('alice'));
  await waitFor('alice to read team-a', async () => {
    const r = await cp.kubectl(['--kubeconfig', alice, 'get', 'polr', '-n', 'team-a', '-o', 'name']);
    return r.code === 0 && r.stdout.trim() === 'policyreport.wgpolicyk8s.io/a1';
  });
  const other = await cp.kubectl(['--kubeconfig', alice, 'get', 'polr', '-n', 'team-b']);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /forbidden/);
  const everywhere = await cp.kubectl(['--kubeconfig', alice, 'get', 'polr', '-A']);
  assert.notEqual(everywhere.code, 0);
  assert.match(
    everywhere.stderr,
    /cannot list resource "policyreports" in API group "wgpolicyk8s.io" at the cluster scope/,
  );
  const write = await cp.kubectl(['--kubeconfig', alice, 'delete', 'polr', 'a1', '-n', 'team-a']);
  assert.notEqual(write.code, 0);
  assert.match(write.stderr, /forbidden/);
});

test('large lists: the stored JSON streamed, gzip-encoded through the aggregator when accepted, pages intact', async () => {
  await namespace('big');
  const message = (i: number, j: number) => `result ${j} of report ${i}: ${'detail '.repeat(10)}`;
  for (let i = 0; i < 60; i++) {
    await storage.create(policyReports, {
      ...report(`big-${String(i).padStart(3, '0')}`),
      metadata: { name: `big-${String(i).padStart(3, '0')}`, namespace: 'big', labels: { app: 'demo' } },
      results: Array.from({ length: 40 }, (_, j) => ({ policy: `p${j % 3}`, result: 'pass', message: message(i, j) })),
    });
  }
  const expected = await storage.list(policyReports, { namespace: 'big' });
  const base = '/apis/wgpolicyk8s.io/v1alpha2/namespaces/big/policyreports';
  const gzip = await raw('GET', base, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gzip.status, 200);
  assert.equal(gzip.headers.get('content-encoding'), 'gzip', 'a large list is gzip-encoded end to end');
  assert.deepEqual(gzip.body, {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReportList',
    metadata: { resourceVersion: expected.resourceVersion },
    items: expected.items,
  });
  const plain = await raw('GET', base, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(plain.headers.get('content-encoding'), null);
  assert.deepEqual(plain.body, gzip.body);
  // pages of one snapshot, each streamed the same way
  const names: string[] = [];
  let cont = '';
  do {
    const page = await raw('GET', `${base}?limit=25${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    const metadata = page.body.metadata as { resourceVersion: string; continue?: string };
    assert.equal(metadata.resourceVersion, expected.resourceVersion);
    names.push(...(page.body.items as KubeObject[]).map((o) => o.metadata!.name!));
    cont = metadata.continue ?? '';
  } while (cont);
  assert.deepEqual(
    names,
    expected.items.map((o) => o.metadata.name),
  );
  // a large Table is gzip-encoded too, as kube-apiserver encodes every answer from 128 KiB
  const table = await raw('GET', `${base}?includeObject=Object`, {
    headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io', 'accept-encoding': 'gzip' },
  });
  assert.equal(table.status, 200);
  assert.equal(table.headers.get('content-encoding'), 'gzip', 'a large Table is gzip-encoded end to end');
  assert.equal(table.body.kind, 'Table');
  assert.deepEqual(
    (table.body.rows as { object: KubeObject }[]).map((r) => r.object),
    expected.items,
  );
  // what kube clients send; the client decodes gzip itself
  const listed = await client.list(polr, { namespace: 'big', labelSelector: 'app=demo' });
  assert.deepEqual(listed.items, expected.items);
  await storage.deleteCollection(policyReports, { namespace: 'big' });
});

test('bad requests get a Status: 400, 422 with causes, 413, 406, 415, 409', async () => {
  await namespace('errors');
  const base = '/apis/wgpolicyk8s.io/v1alpha2/namespaces/errors/policyreports';
  const json = { 'content-type': 'application/json' };
  const malformed = await raw('POST', base, { body: '{"metadata": ', headers: json });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.reason, 'BadRequest');

  const bad = report('bad', { summary: { pass: 'many' }, results: [{ result: 'maybe' }] });
  (bad.metadata as { name: string }).name = 'Bad_Name';
  const invalid = await raw('POST', base, { body: JSON.stringify(bad), headers: json });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.body.reason, 'Invalid');
  const causes = (invalid.body.details as { causes: { field: string }[] }).causes.map((c) => c.field);
  for (const field of ['metadata.name', 'summary.pass', 'results[0].policy', 'results[0].result']) {
    assert.ok(causes.includes(field), `${field} in ${causes.join(', ')}`);
  }

  const huge = report('huge', {
    results: Array.from({ length: 20_000 }, (_, i) => ({ policy: `p${i}`, message: 'x'.repeat(200) })),
  });
  const tooLarge = await raw('POST', base, { body: JSON.stringify(huge), headers: json });
  assert.equal(tooLarge.status, 413);

  const yamlAccept = await raw('GET', base, { headers: { accept: 'application/yaml' } });
  assert.equal(yamlAccept.status, 406);
  assert.equal(yamlAccept.body.reason, 'NotAcceptable');
  const xml = await raw('POST', base, { body: '<report/>', headers: { 'content-type': 'application/xml' } });
  assert.equal(xml.status, 415);
  assert.equal(xml.body.reason, 'UnsupportedMediaType');

  const created = await raw('POST', base, { body: JSON.stringify(report('ok')), headers: json });
  assert.equal(created.status, 201);
  const stale = structuredClone(created.body) as { metadata: { resourceVersion: string }; summary: { pass: number } };
  stale.summary.pass = 10;
  const first = await raw('PUT', `${base}/ok`, { body: JSON.stringify(stale), headers: json });
  assert.equal(first.status, 200);
  stale.summary.pass = 11;
  const conflict = await raw('PUT', `${base}/ok`, { body: JSON.stringify(stale), headers: json });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.reason, 'Conflict');
  const strict = await raw('POST', `${base}?fieldValidation=Strict`, {
    body: JSON.stringify(report('strict', { extra: 1 })),
    headers: json,
  });
  assert.equal(strict.status, 400);
  assert.match(String(strict.body.message), /unknown field "extra"/);
  const missing = await raw('GET', `${base}/nope`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.reason, 'NotFound');
});

test('deleting a namespace removes its reports; deleting a Pod removes the reports it owns', async () => {
  await namespace('doomed');
  await client.create(polr, { ...report('r1'), metadata: { name: 'r1', namespace: 'doomed' } });
  await client.create(polr, { ...report('r2'), metadata: { name: 'r2', namespace: 'doomed' } });
  await namespace('owned');
  const pod = await client.create<KubeObject & { metadata: { uid: string } }>(Resources.pods, {
    metadata: { name: 'web-0', namespace: 'owned' },
    spec: { containers: [{ name: 'web', image: 'argus' }] },
  } as unknown as KubeObject & { metadata: { uid: string } });
  await client.create(polr, {
    ...report('web-0'),
    metadata: {
      name: 'web-0',
      namespace: 'owned',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: pod.metadata.uid }],
    },
  });
  await client.create(polr, { ...report('keep'), metadata: { name: 'keep', namespace: 'owned' } });

  await client.delete(Resources.namespaces, 'doomed');
  await waitFor(
    'namespace doomed to be gone',
    async () => !(await client.getOrUndefined(Resources.namespaces, 'doomed')),
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  assert.equal((await storage.list(policyReports, { namespace: 'doomed' })).items.length, 0);

  await client.delete(Resources.pods, 'web-0', 'owned', { gracePeriodSeconds: 0 });
  await waitFor(
    'the garbage collector to delete the owned report',
    async () => !(await client.getOrUndefined(polr, 'web-0', 'owned')),
    {
      timeoutMs: 120_000,
      intervalMs: 500,
    },
  );
  assert.ok(await client.getOrUndefined(polr, 'keep', 'owned'), 'a report without owner stays');
});

test('the serving certificate is reloaded when its files change', async () => {
  const before = server.servingCertDigest;
  const pair = await reportsServingPair(servingCa);
  writeFileSync(join(dir, 'tls.key'), pair.keyPem);
  writeFileSync(join(dir, 'tls.crt'), pair.certPem);
  await waitFor('the new certificate', () => server.servingCertDigest !== before, { timeoutMs: 10_000 });
  const dispatcher = new Agent({ connect: { ca: servingCa.certPem, servername: 'wgpolicyk8s.default.svc' } });
  try {
    const res = await fetch(`https://127.0.0.1:${server.port}/healthz`, { dispatcher });
    assert.equal(res.status, 200);
    const socketCert = await new Promise<string>((resolve, reject) => {
      import('node:tls')
        .then(({ connect }) => {
          const s = connect(
            { host: '127.0.0.1', port: server.port, ca: servingCa.certPem, servername: 'wgpolicyk8s.default.svc' },
            () => {
              resolve(s.getPeerX509Certificate()?.toString() ?? '');
              s.end();
            },
          );
          s.on('error', reject);
        })
        .catch(reject);
    });
    assert.equal(socketCert.trim(), pair.certPem.trim());
  } finally {
    await dispatcher.close();
  }
  // Still served through the aggregator.
  assert.equal((await raw('GET', '/apis/wgpolicyk8s.io/v1alpha2')).status, 200);
});

/** A request straight to a reports server, as kube-apiserver's front proxy makes it (or anonymously). */
async function direct(
  port: number,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string>; user?: string; groups?: string[]; anonymous?: boolean } = {},
): Promise<{ status: number; text: string; headers: Record<string, string> }> {
  const dispatcher = new Agent({
    connect: {
      ca: servingCa.certPem,
      servername: 'wgpolicyk8s.default.svc',
      ...(init.anonymous ? {} : { cert: cp.pki.frontProxyClient.certPem, key: cp.pki.frontProxyClient.keyPem }),
    },
  });
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (!init.anonymous) {
    headers['x-remote-user'] = init.user ?? 'admin';
    headers['x-remote-group'] = (init.groups ?? ['system:masters']).join(',');
  }
  try {
    const res = await fetch(`https://127.0.0.1:${port}${path}`, {
      method,
      dispatcher,
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    return { status: res.status, text: await res.text(), headers: Object.fromEntries(res.headers) };
  } finally {
    await dispatcher.close();
  }
}

/** Reads watch events from a stream until `until` says stop (or the stream ends). */
async function watchEvents(
  port: number,
  path: string,
  until: (events: { type: string; object: KubeObject & Record<string, unknown> }[]) => boolean,
  timeoutMs = 15_000,
): Promise<{ type: string; object: KubeObject & Record<string, unknown> }[]> {
  const dispatcher = new Agent({
    connect: {
      ca: servingCa.certPem,
      servername: 'wgpolicyk8s.default.svc',
      cert: cp.pki.frontProxyClient.certPem,
      key: cp.pki.frontProxyClient.keyPem,
    },
  });
  const events: { type: string; object: KubeObject & Record<string, unknown> }[] = [];
  const abort = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(`https://127.0.0.1:${port}${path}`, {
      dispatcher,
      signal: abort,
      headers: { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' },
    });
    assert.equal(res.status, 200, await (res.status === 200 ? Promise.resolve('') : res.text()));
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffered.slice(0, nl)) as (typeof events)[number]);
        buffered = buffered.slice(nl + 1);
      }
      if (until(events)) break;
    }
    return events;
  } finally {
    await dispatcher.destroy();
  }
}

test('watch: from a resourceVersion, initial events with the end bookmark, 410 when compacted, timeoutSeconds', async () => {
  await namespace('watch-api');
  const port = server.port;
  const base = '/apis/wgpolicyk8s.io/v1alpha2/namespaces/watch-api/policyreports';
  await client.create(polr, { ...report('w1'), metadata: { name: 'w1', namespace: 'watch-api' } });
  const list = JSON.parse((await direct(port, 'GET', base)).text) as { metadata: { resourceVersion: string } };
  const rv = list.metadata.resourceVersion;
  const fromRv = watchEvents(port, `${base}?watch=1&resourceVersion=${rv}`, (e) => e.length >= 1);
  await client.create(polr, { ...report('w2'), metadata: { name: 'w2', namespace: 'watch-api' } });
  const events = await fromRv;
  assert.deepEqual(
    events.map((e) => [e.type, e.object.metadata?.name]),
    [['ADDED', 'w2']],
  );

  const initial = await watchEvents(
    port,
    `${base}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=`,
    (e) => e.some((x) => x.type === 'BOOKMARK'),
  );
  assert.deepEqual(
    initial.map((e) => [e.type, e.object.metadata?.name ?? '']),
    [
      ['ADDED', 'w1'],
      ['ADDED', 'w2'],
      ['BOOKMARK', ''],
    ],
  );
  assert.equal(initial[2]?.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
  const badInitial = await direct(port, 'GET', `${base}?watch=true&sendInitialEvents=true`);
  assert.equal(badInitial.status, 422);

  // The metadata-only representation, as the garbage collector asks for it.
  const partial = await direct(port, 'GET', base, {
    headers: {
      accept:
        'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
    },
  });
  const partialList = JSON.parse(partial.text) as { kind: string; items: { kind: string; results?: unknown }[] };
  assert.equal(partialList.kind, 'PartialObjectMetadataList');
  assert.equal(partialList.items[0]?.kind, 'PartialObjectMetadata');
  assert.equal(partialList.items[0]?.results, undefined);

  // Changes after rv, then compaction of everything older than a second: a watch from rv is 410 Gone.
  await client.create(polr, { ...report('w3'), metadata: { name: 'w3', namespace: 'watch-api' } });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await client.create(polr, { ...report('w4'), metadata: { name: 'w4', namespace: 'watch-api' } });
  await storage.compact();
  const gone = await direct(port, 'GET', `${base}?watch=1&resourceVersion=${rv}`);
  assert.equal(gone.status, 410);
  assert.equal((JSON.parse(gone.text) as { reason: string }).reason, 'Expired');

  const started = Date.now();
  const current = JSON.parse((await direct(port, 'GET', base)).text) as { metadata: { resourceVersion: string } };
  const quiet = await watchEvents(
    port,
    `${base}?watch=1&timeoutSeconds=1&resourceVersion=${current.metadata.resourceVersion}`,
    () => false,
  );
  assert.deepEqual(quiet, []);
  assert.ok(Date.now() - started >= 1000);
});

test('writes: dryRun, generateName, deletecollection with a selector, Table through the API, 401 for anonymous, TokenReview', async () => {
  await namespace('writes');
  const port = server.port;
  const base = '/apis/wgpolicyk8s.io/v1alpha2/namespaces/writes/policyreports';
  const json = { 'content-type': 'application/json' };
  const dry = await direct(port, 'POST', `${base}?dryRun=All`, { body: JSON.stringify(report('dry')), headers: json });
  assert.equal(dry.status, 201);
  assert.equal((await direct(port, 'GET', `${base}/dry`)).status, 404);
  const generated = await direct(port, 'POST', base, {
    body: JSON.stringify({ ...report(''), metadata: { generateName: 'scan-', labels: { batch: 'a' } } }),
    headers: json,
  });
  assert.equal(generated.status, 201);
  const name = (JSON.parse(generated.text) as KubeObject).metadata?.name ?? '';
  assert.match(name, /^scan-[a-z0-9]{5}$/);
  await direct(port, 'POST', base, {
    body: JSON.stringify({ ...report('b1'), metadata: { name: 'b1', labels: { batch: 'b' } } }),
    headers: json,
  });
  const table = await direct(port, 'GET', `${base}?labelSelector=batch`, {
    headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
  });
  const parsed = JSON.parse(table.text) as { kind: string; rows: { cells: unknown[] }[] };
  assert.equal(parsed.kind, 'Table');
  assert.deepEqual(parsed.rows.map((r) => r.cells[0]).sort(), ['b1', name].sort());
  const removed = await direct(port, 'DELETE', `${base}?labelSelector=batch%3Da`);
  assert.equal(removed.status, 200);
  assert.deepEqual(
    (JSON.parse(removed.text) as { kind: string; items: KubeObject[] }).items.map((i) => i.metadata?.name),
    [name],
  );
  assert.equal((await direct(port, 'GET', `${base}/b1`)).status, 200);
  // Finalizers: the delete is accepted (202) and waits; removing the finalizer deletes.
  await direct(port, 'PATCH', `${base}/b1`, {
    body: JSON.stringify({ metadata: { finalizers: ['argus.io/hold'] } }),
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  const pending = await direct(port, 'DELETE', `${base}/b1`);
  assert.equal(pending.status, 202);
  assert.ok((JSON.parse(pending.text) as KubeObject).metadata?.deletionTimestamp);
  const released = await direct(port, 'PATCH', `${base}/b1`, {
    body: JSON.stringify([{ op: 'remove', path: '/metadata/finalizers' }]),
    headers: { 'content-type': 'application/json-patch+json' },
  });
  assert.equal(released.status, 200, released.text);
  assert.equal((await direct(port, 'GET', `${base}/b1`)).status, 404);
  // An update must name the resourceVersion it replaces (as for custom resources).
  const created = await direct(port, 'POST', base, { body: JSON.stringify(report('u1')), headers: json });
  const unconditional = JSON.parse(created.text) as KubeObject;
  delete unconditional.metadata?.resourceVersion;
  const put = await direct(port, 'PUT', `${base}/u1`, { body: JSON.stringify(unconditional), headers: json });
  assert.equal(put.status, 422);
  assert.match(put.text, /metadata.resourceVersion/);

  // Unknown fields are pruned with a warning (fieldValidation=Warn, the default).
  const pruned = await direct(port, 'POST', base, {
    body: JSON.stringify(report('pruned', { color: 'blue' })),
    headers: json,
  });
  assert.equal(pruned.status, 201);
  assert.match(pruned.headers.warning ?? '', /299 - "unknown field \\"color\\""/);
  assert.equal((JSON.parse(pruned.text) as Record<string, unknown>).color, undefined);
  // /metrics and /version for authorised callers.
  const metrics = await direct(port, 'GET', '/metrics');
  assert.match(
    metrics.text,
    /apiserver_request_total\{verb="create",group="wgpolicyk8s.io",resource="policyreports",code="201"\}/,
  );
  assert.equal(
    (JSON.parse((await direct(port, 'GET', '/version')).text) as { gitVersion: string }).gitVersion,
    'v0.0.0-test',
  );

  // No credentials: 401, except for the probes.
  assert.equal((await direct(port, 'GET', base, { anonymous: true })).status, 401);
  assert.equal((await direct(port, 'GET', '/readyz', { anonymous: true })).status, 200);
  // A service account's bearer token, reviewed by kube-apiserver, authorised by RBAC (none here: 403).
  await client.create(Resources.serviceAccounts, { metadata: { name: 'reader', namespace: 'writes' } });
  const token = await client.request<{ status: { token: string } }>(
    'POST',
    '/api/v1/namespaces/writes/serviceaccounts/reader/token',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } } },
  );
  const withToken = await direct(port, 'GET', base, {
    anonymous: true,
    headers: { authorization: `Bearer ${token.status.token}` },
  });
  assert.equal(withToken.status, 403);
  assert.match(withToken.text, /system:serviceaccount:writes:reader/);
});

test('PostgreSQL: served the same; database down -> 503 with Retry-After; acknowledged writes survive', async () => {
  const pg = await PostgresServer.start();
  const database = await pg.createDatabase('reports');
  const pgStorage = await openStorage({ backend: 'postgres', ...database, connectTimeoutMs: 2000 });
  const pgServer = new ReportsServer({
    storage: pgStorage,
    serving: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    host: '127.0.0.1',
    port: 0,
    authentication: await readAuthenticationConfig(client),
    authorizationClient: client,
    version: '0.0.0-test',
  });
  try {
    const port = await pgServer.listen();
    const base = '/apis/openreports.io/v1alpha1/namespaces/pg/reports';
    const json = { 'content-type': 'application/json' };
    const body = (name: string) =>
      JSON.stringify({
        apiVersion: 'openreports.io/v1alpha1',
        kind: 'Report',
        metadata: { name, namespace: 'pg' },
        source: 'argus',
        results: [{ policy: 'p', result: 'fail', severity: 'critical' }],
      });
    for (const name of ['a', 'b'])
      assert.equal((await direct(port, 'POST', base, { body: body(name), headers: json })).status, 201);
    const selected = await direct(port, 'GET', `${base}?fieldSelector=source%3Dargus,metadata.name%3Db`);
    assert.deepEqual(
      (JSON.parse(selected.text) as { items: KubeObject[] }).items.map((i) => i.metadata?.name),
      ['b'],
    );
    await pg.stop('immediate');
    const down = await direct(port, 'GET', base);
    assert.equal(down.status, 503, down.text);
    assert.equal(down.headers['retry-after'], '1');
    assert.equal((JSON.parse(down.text) as { reason: string }).reason, 'ServiceUnavailable');
    assert.equal((await direct(port, 'GET', '/readyz', { anonymous: true })).status, 503);
    await pg.start();
    await waitFor('the database to be back', async () => (await direct(port, 'GET', base)).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    const after = JSON.parse((await direct(port, 'GET', base)).text) as { kind: string; items: KubeObject[] };
    assert.equal(after.kind, 'ReportList');
    assert.deepEqual(
      after.items.map((i) => i.metadata?.name),
      ['a', 'b'],
    );
  } finally {
    await pgServer.close();
    await pgStorage.close();
    await pg.destroy();
  }
});

test('argus reports-server: the CLI serves with a generated certificate and stops on SIGTERM', async () => {
  const certDir = join(dir, 'cli-certs');
  const child = spawn(
    process.execPath,
    [
      'src/cli/main.ts',
      'reports-server',
      '--storage',
      `sqlite:${join(dir, 'cli.db')}`,
      '--bind-address',
      '127.0.0.1',
      '--secure-port',
      '0',
      '--cert-dir',
      certDir,
      '--kubeconfig',
      cp.kubeconfigPath,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const port = await waitFor(
      'the CLI to listen',
      () => {
        const m = /listening on 127\.0\.0\.1:(\d+) \(sqlite\)/.exec(stderr);
        return m ? Number(m[1]) : undefined;
      },
      { timeoutMs: 30_000, giveUp: () => (child.exitCode !== null ? `exited: ${stderr}` : undefined) },
    );
    const bundle = readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
    const dispatcher = new Agent({
      connect: {
        ca: bundle,
        servername: 'localhost',
        cert: cp.pki.frontProxyClient.certPem,
        key: cp.pki.frontProxyClient.keyPem,
      },
    });
    try {
      const ready = await fetch(`https://127.0.0.1:${port}/readyz`, { dispatcher });
      assert.equal(ready.status, 200);
      const apis = await fetch(`https://127.0.0.1:${port}/apis`, {
        dispatcher,
        headers: { 'x-remote-user': 'someone', 'x-remote-group': 'system:masters' },
      });
      const body = (await apis.json()) as { kind: string; groups: { name: string }[] };
      assert.equal(body.kind, 'APIGroupList');
      assert.deepEqual(
        body.groups.map((g) => g.name),
        ['wgpolicyk8s.io', 'openreports.io', 'reports.argus.io'],
      );
    } finally {
      await dispatcher.close();
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('manifests: the RBAC they grant is all the server needs; view/edit roles cover the report types', async () => {
  const manifests = reportsServerManifests({ namespace: 'argus-system', caBundle: servingCa.certPem });
  const kinds: Record<string, ResourceType> = {
    ServiceAccount: Resources.serviceAccounts,
    ClusterRole: {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      resource: 'clusterroles',
      kind: 'ClusterRole',
      namespaced: false,
    },
    ClusterRoleBinding: {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      resource: 'clusterrolebindings',
      kind: 'ClusterRoleBinding',
      namespaced: false,
    },
    RoleBinding: {
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      resource: 'rolebindings',
      kind: 'RoleBinding',
      namespaced: true,
    },
  };
  assert.deepEqual(
    manifests.filter((m) => m.kind === 'APIService').map((m) => (m.metadata as { name: string }).name),
    ['v1alpha2.wgpolicyk8s.io', 'v1alpha1.openreports.io', 'v1alpha1.reports.argus.io'],
  );
  await namespace('argus-system');
  for (const m of manifests) {
    const type = kinds[m.kind as string];
    if (type) await client.create(type, m);
  }
  const token = await client.request<{ status: { token: string } }>(
    'POST',
    '/api/v1/namespaces/argus-system/serviceaccounts/argus-reports-server/token',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } } },
  );
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'cp', server: cp.server, caData: Buffer.from(cp.pki.ca.certPem).toString('base64') }],
    users: [{ name: 'sa', token: token.status.token }],
    contexts: [{ name: 'sa', cluster: 'cp', user: 'sa' }],
    currentContext: 'sa',
  });
  const saClient = new KubeClient(kc);
  const saStorage = await openStorage({ backend: 'sqlite', path: join(dir, 'sa.db') });
  const saServer = new ReportsServer({
    storage: saStorage,
    serving: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    host: '127.0.0.1',
    port: 0,
    // Reading the ConfigMap needs the RoleBinding in kube-system.
    authentication: await readAuthenticationConfig(saClient),
    authenticationClient: saClient,
    authorizationClient: saClient,
    namespaceClient: saClient,
    version: '0.0.0-test',
  });
  try {
    const port = await saServer.listen();
    const base = '/apis/wgpolicyk8s.io/v1alpha2/namespaces/team-a/policyreports';
    // SubjectAccessReview (system:auth-delegator) for a user who may read team-a only through the
    // aggregated view ClusterRole.
    await client.create(kinds.RoleBinding!, {
      metadata: { name: 'carol-view', namespace: 'team-a' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'User', name: 'carol', apiGroup: 'rbac.authorization.k8s.io' }],
    } as KubeObject);
    await waitFor('the view role to include reports', async () => {
      const r = await direct(port, 'GET', base, { user: 'carol', groups: [] });
      return r.status === 200;
    });
    assert.equal((await direct(port, 'GET', base, { user: 'dave', groups: [] })).status, 403);
    // Creates check the namespace (namespaces get); TokenReview works for bearer tokens.
    const created = await direct(port, 'POST', base, {
      body: JSON.stringify(report('sa')),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(created.status, 201, created.text);
    const missing = await direct(port, 'POST', '/apis/wgpolicyk8s.io/v1alpha2/namespaces/nowhere/policyreports', {
      body: JSON.stringify(report('sa')),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(missing.status, 404);
    const withToken = await direct(port, 'GET', base, {
      anonymous: true,
      headers: { authorization: `Bearer ${token.status.token}` },
    });
    assert.equal(withToken.status, 403, 'the server account itself has no report rights');
    assert.match(withToken.text, /system:serviceaccount:argus-system:argus-reports-server/);
  } finally {
    await saServer.close();
    await saStorage.close();
    await saClient.close();
  }
});

test('a @kubernetes/client-node informer lists and watches reports', async () => {
  await namespace('client-node');
  const kc = cp.kubeConfig();
  const api = kc.makeApiClient(CustomObjectsApi);
  const path = '/apis/wgpolicyk8s.io/v1alpha2/namespaces/client-node/policyreports';
  await client.create(polr, { ...report('first'), metadata: { name: 'first', namespace: 'client-node' } });
  const informer = makeInformer<KubernetesObject>(
    kc,
    path,
    () =>
      api.listNamespacedCustomObject({
        group: 'wgpolicyk8s.io',
        version: 'v1alpha2',
        namespace: 'client-node',
        plural: 'policyreports',
      }) as Promise<KubernetesListObject<KubernetesObject>>,
  );
  const seen: string[] = [];
  informer.on('add', (o) => seen.push(`add:${o.metadata?.name}`));
  informer.on('update', (o) => seen.push(`update:${o.metadata?.name}`));
  informer.on('delete', (o) => seen.push(`delete:${o.metadata?.name}`));
  await informer.start();
  try {
    await waitFor('the initial list', () => seen.includes('add:first'));
    await client.create(polr, { ...report('second'), metadata: { name: 'second', namespace: 'client-node' } });
    await client.patch(polr, 'second', { summary: { pass: 7 } }, 'merge', { namespace: 'client-node' });
    await client.delete(polr, 'first', 'client-node');
    await waitFor(
      'watch events',
      () => seen.includes('add:second') && seen.includes('update:second') && seen.includes('delete:first'),
      {
        timeoutMs: 20_000,
      },
    );
    assert.deepEqual(
      informer.list('client-node').map((o) => o.metadata?.name),
      ['second'],
    );
  } finally {
    await informer.stop();
  }
});

test('analytics: failed results with high or critical severity, cluster-wide, limited to what the caller may read', async () => {
  await namespace('analytics');
  await namespace('analytics-b');
  await client.create(polr, { ...report('other'), metadata: { name: 'other', namespace: 'analytics-b' } });
  await client.create(polr, {
    ...report('mixed'),
    metadata: { name: 'mixed', namespace: 'analytics' },
    results: [
      {
        policy: 'p-critical',
        result: 'fail',
        severity: 'critical',
        resources: [{ kind: 'Pod', namespace: 'analytics', name: 'a' }],
      },
      { policy: 'p-low', result: 'fail', severity: 'low' },
      { policy: 'p-pass', result: 'pass', severity: 'high' },
    ],
  });
  type Row = {
    namespace: string;
    report: string;
    policy: string;
    severity: string;
    result: string;
    resource: string | null;
  };
  const query = '/apis/reports.argus.io/v1alpha1/results?result=fail&severity=high,critical';
  const all = JSON.parse(await kubectl(['get', '--raw', query])) as { kind: string; items: Row[] };
  assert.equal(all.kind, 'ResultList');
  assert.ok(all.items.every((r) => r.result === 'fail' && ['high', 'critical'].includes(r.severity)));
  assert.ok(
    all.items.some((r) => r.namespace === 'analytics' && r.policy === 'p-critical' && r.resource === 'Pod/analytics/a'),
  );
  assert.ok(!all.items.some((r) => r.policy === 'p-low' || r.policy === 'p-pass'));
  assert.ok(new Set(all.items.map((r) => r.namespace)).size > 1);
  const summary = JSON.parse(
    await kubectl(['get', '--raw', '/apis/reports.argus.io/v1alpha1/namespaces/analytics/summaries']),
  ) as { kind: string; items: { namespace: string; policy: string; result: string; count: number }[] };
  assert.equal(summary.kind, 'ResultSummaryList');
  assert.deepEqual(
    summary.items.map((r) => `${r.namespace}/${r.policy}/${r.result}=${r.count}`),
    ['analytics/p-critical/fail=1', 'analytics/p-low/fail=1', 'analytics/p-pass/pass=1'],
  );
  // The same through the kubectl plugin (kubectl finds kubectl-argus on PATH).
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const plugin = join(bin, 'kubectl-argus');
  const source = new URL('../../src/cli/kubectl-argus.ts', import.meta.url).pathname;
  writeFileSync(plugin, `#!/bin/sh\nexec "${process.execPath}" "${source}" "$@"\n`, { mode: 0o755 });
  const runPlugin = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(cp.binaries.kubectl, ['argus', ...args], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, KUBECONFIG: cp.kubeconfigPath },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const queried = await runPlugin(['reports', 'query', '--result', 'fail', '--severity', 'high,critical']);
  assert.equal(queried.code, 0, queried.stderr);
  assert.match(queried.stdout, /^NAMESPACE\s+REPORT\s+POLICY\s+RULE\s+SEVERITY\s+RESULT\s+RESOURCE\s+MESSAGE/);
  assert.match(queried.stdout, /analytics\s+mixed\s+p-critical\s+<none>\s+critical\s+fail\s+Pod\/analytics\/a/);
  assert.doesNotMatch(queried.stdout, /p-low/);
  const summarized = await runPlugin(['reports', 'summary', '-n', 'analytics']);
  assert.equal(summarized.code, 0, summarized.stderr);
  assert.match(summarized.stdout, /analytics\s+p-low\s+low\s+fail\s+1/);

  // erin may list the reports of both groups in analytics-b only, and results anywhere: she sees
  // analytics-b's rows and nothing else; nobody gets 403.
  const rbac = (resource: string, kind: string, namespaced: boolean): ResourceType => ({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    resource,
    kind,
    namespaced,
  });
  await client.create(rbac('roles', 'Role', true), {
    metadata: { name: 'reports-lister', namespace: 'analytics-b' },
    rules: [
      { apiGroups: ['wgpolicyk8s.io'], resources: ['policyreports'], verbs: ['list'] },
      { apiGroups: ['openreports.io'], resources: ['reports'], verbs: ['list'] },
    ],
  } as KubeObject);
  await client.create(rbac('rolebindings', 'RoleBinding', true), {
    metadata: { name: 'erin-lists', namespace: 'analytics-b' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reports-lister' },
    subjects: [{ kind: 'User', name: 'erin', apiGroup: 'rbac.authorization.k8s.io' }],
  } as KubeObject);
  await client.create(rbac('clusterroles', 'ClusterRole', false), {
    metadata: { name: 'argus-analytics-reader' },
    rules: [{ apiGroups: ['reports.argus.io'], resources: ['results', 'summaries'], verbs: ['list'] }],
  } as KubeObject);
  await client.create(rbac('clusterrolebindings', 'ClusterRoleBinding', false), {
    metadata: { name: 'erin-analytics' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'argus-analytics-reader' },
    subjects: [{ kind: 'User', name: 'erin', apiGroup: 'rbac.authorization.k8s.io' }],
  } as KubeObject);
  const erin = cp.writeKubeconfig(join(dir, 'erin.kubeconfig'), await cp.identity('erin'));
  const rows = await waitFor('erin to query results', async () => {
    const r = await cp.kubectl(['--kubeconfig', erin, 'get', '--raw', query]);
    return r.code === 0 ? (JSON.parse(r.stdout) as { items: Row[] }).items : undefined;
  });
  assert.ok(rows.length > 0);
  assert.deepEqual([...new Set(rows.map((r) => r.namespace))], ['analytics-b']);
  const nobody = cp.writeKubeconfig(join(dir, 'nobody2.kubeconfig'), await cp.identity('nobody'));
  const denied = await cp.kubectl(['--kubeconfig', nobody, 'get', '--raw', query]);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/i);
});

test('migrate: reports stored as CRDs move into the store and the API groups are handed over (last: replaces the test APIServices)', async () => {
  for (const r of registrations.splice(0)) await r.remove();
  for (const crd of reportCrds()) await client.create(Resources.customResourceDefinitions, crd);
  await waitFor(
    'the CRDs to serve the report types',
    async () => {
      const names = ['v1alpha2.wgpolicyk8s.io', 'v1alpha1.openreports.io'];
      for (const name of names) if (!(await client.getOrUndefined(Resources.apiServices, name))) return false;
      await client.list(polr, { namespace: 'default' });
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  await namespace('migrate');
  for (const name of ['m1', 'm2', 'm3']) {
    await client.create(polr, { ...report(name), metadata: { name, namespace: 'migrate', labels: { from: 'etcd' } } });
  }
  await client.create(
    {
      group: 'openreports.io',
      version: 'v1alpha1',
      resource: 'clusterreports',
      kind: 'ClusterReport',
      namespaced: false,
    },
    {
      apiVersion: 'openreports.io/v1alpha1',
      kind: 'ClusterReport',
      metadata: { name: 'cluster-wide' },
      source: 'argus',
    } as KubeObject,
  );
  assert.equal((await storage.list(policyReports, { namespace: 'migrate' })).items.length, 0);
  await client.create(Resources.services, {
    metadata: { name: 'wgpolicyk8s', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: '127.0.0.1' },
  } as KubeObject);
  const result = await migrateFromCrds(client, storage, {
    // The serving certificate names wgpolicyk8s.default.svc.
    service: { namespace: 'default', name: 'wgpolicyk8s', port: server.port },
    caBundle: servingCa.certPem,
    drainMs: 500,
  });
  assert.equal(result.copied['policyreports.wgpolicyk8s.io'], 3);
  assert.equal(result.copied['clusterreports.openreports.io'], 1);
  // kubectl now reads from the reports server (the store has them), and writes go there.
  await waitFor('kubectl to read the migrated reports', async () => {
    const r = await cp.kubectl(['get', 'polr', '-n', 'migrate', '-l', 'from=etcd', '-o', 'name']);
    return r.code === 0 && r.stdout.trim().split('\n').length === 3;
  });
  await kubectl(['label', 'polr', 'm1', '-n', 'migrate', 'moved=yes']);
  const stored = await storage.get(policyReports, 'migrate', 'm1');
  assert.equal(stored.metadata.labels?.moved, 'yes');
  assert.equal((await storage.get(clusterReports, '', 'cluster-wide')).source, 'argus');
  const apiService = await client.get<KubeObject & { spec: { service?: { name: string } } }>(
    Resources.apiServices,
    'v1alpha2.wgpolicyk8s.io',
  );
  assert.equal(apiService.spec.service?.name, 'wgpolicyk8s');
  assert.equal(apiService.metadata?.labels?.['kube-aggregator.kubernetes.io/automanaged'], undefined);
});
