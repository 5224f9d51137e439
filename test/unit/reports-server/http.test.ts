// Pure parts of the reports API server's HTTP layer: content negotiation, routing, Table building, patches,
// discovery documents and Status mapping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable } from '../../../src/cli/kubectl-argus.ts';
import { parseStorage } from '../../../src/cli/reports-server.ts';
import { aggregatedDiscovery, apiResourceList } from '../../../src/reports-server/http/discovery.ts';
import { bodyFormat, negotiate, parseAccept } from '../../../src/reports-server/http/negotiation.ts';
import { openAPIv3GroupVersion, openAPIv3Index } from '../../../src/reports-server/http/openapi.ts';
import {
  fieldManagerOf,
  fieldSet,
  fromFieldsV1,
  jsonPatch,
  mergePatch,
  serverSideApply,
  toFieldsV1,
  trackUpdate,
} from '../../../src/reports-server/http/patch.ts';
import { servedReportTypes } from '../../../src/reports-server/http/resources.ts';
import { nameFromFieldSelector, route } from '../../../src/reports-server/http/router.ts';
import { HttpError, toStatus } from '../../../src/reports-server/http/status.ts';
import { buildTable, humanDuration, valueAt } from '../../../src/reports-server/http/table.ts';
import { StorageError } from '../../../src/reports-server/storage/errors.ts';
import { reportResources } from '../../../src/reports-server/storage/reports.ts';
import type { KubeObject } from '../../../src/reports-server/storage/types.ts';

const served = servedReportTypes(reportResources);
const [policyReports, clusterPolicyReports] = served as [(typeof served)[0], (typeof served)[0]];

const httpError = (code: number, reason?: string) => (err: unknown) =>
  err instanceof HttpError && err.code === code && (reason === undefined || err.reason === reason);

test('negotiation: kubectl, client-go, metadata clients, the aggregator; 406 otherwise', () => {
  const all = ['object', 'table', 'partial'] as const;
  assert.deepEqual(
    negotiate(
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      all,
    ),
    { kind: 'table', version: 'v1' },
  );
  // Protobuf first (not served), then the metadata representation in JSON.
  assert.deepEqual(
    negotiate(
      'application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json',
      all,
    ),
    { kind: 'partial', version: 'v1' },
  );
  assert.deepEqual(negotiate('application/vnd.kubernetes.protobuf, */*', all), { kind: 'object' });
  assert.deepEqual(negotiate(undefined, all), { kind: 'object' });
  assert.deepEqual(negotiate('', ['object']), { kind: 'object' });
  // A Table where the endpoint has none falls through to the next range.
  assert.deepEqual(negotiate('application/json;as=Table;v=v1;g=meta.k8s.io, application/json', ['object']), {
    kind: 'object',
  });
  assert.throws(() => negotiate('application/json;as=Table;v=v1;g=meta.k8s.io', ['object']), httpError(406));
  assert.throws(() => negotiate('application/yaml', all), httpError(406, 'NotAcceptable'));
  assert.throws(() => negotiate('application/json;as=Table;v=v2;g=meta.k8s.io', all), httpError(406));
  // q weights order the ranges; q=0 excludes.
  assert.deepEqual(negotiate('application/json;q=0.5, application/json;as=Table;g=meta.k8s.io;v=v1', all), {
    kind: 'table',
    version: 'v1',
  });
  assert.throws(() => negotiate('application/json;q=0', all), httpError(406));
  assert.equal(parseAccept('a/b;q=0.1, c/d').map((m) => m.type)[0], 'c');
  // Aggregated discovery as the aggregator asks for it, v2beta1 too; legacy otherwise.
  const discovery = ['object', 'discovery'] as const;
  assert.deepEqual(negotiate('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', discovery), {
    kind: 'discovery',
    version: 'v2',
  });
  assert.deepEqual(
    negotiate('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json', discovery),
    { kind: 'discovery', version: 'v2beta1' },
  );
  assert.throws(
    () => negotiate('application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList', discovery),
    httpError(406),
  );
});

test('request bodies: JSON for POST/PUT, the patch types for PATCH, 415 for the rest', () => {
  assert.equal(bodyFormat('application/json; charset=utf-8', 'POST'), 'json');
  assert.equal(bodyFormat('application/merge-patch+json', 'PATCH'), 'merge-patch');
  assert.equal(bodyFormat('application/json-patch+json', 'PATCH'), 'json-patch');
  assert.equal(bodyFormat('application/apply-patch+yaml', 'PATCH'), 'apply');
  assert.throws(() => bodyFormat('application/strategic-merge-patch+json', 'PATCH'), httpError(415));
  assert.throws(() => bodyFormat('application/json', 'PATCH'), httpError(415));
  assert.throws(() => bodyFormat('application/yaml', 'POST'), httpError(415, 'UnsupportedMediaType'));
  assert.throws(() => bodyFormat(undefined, 'PUT'), httpError(415));
});

test('routing: verbs, scopes, namespaces as RequestInfo resolves them', () => {
  const q = (s = '') => new URLSearchParams(s);
  const types = reportResources;
  const r = (method: string, path: string, query = '') => route(method, path, q(query), types);
  assert.deepEqual(r('GET', '/apis'), { kind: 'apis' });
  assert.deepEqual(r('GET', '/apis/wgpolicyk8s.io/'), { kind: 'group', group: 'wgpolicyk8s.io' });
  assert.deepEqual(r('GET', '/apis/wgpolicyk8s.io/v1alpha2'), {
    kind: 'groupVersion',
    group: 'wgpolicyk8s.io',
    version: 'v1alpha2',
  });
  assert.deepEqual(r('GET', '/apis/wgpolicyk8s.io/v9'), { kind: 'notFound' });
  assert.deepEqual(r('GET', '/apis/apps/v1'), { kind: 'notFound' });
  const res = (method: string, path: string, query = '') => {
    const x = r(method, path, query);
    return x.kind === 'resource' ? [x.type.resource, x.verb, x.namespace, x.name] : x.kind;
  };
  const base = '/apis/wgpolicyk8s.io/v1alpha2';
  assert.deepEqual(res('GET', `${base}/policyreports`), ['policyreports', 'list', '', '']);
  assert.deepEqual(res('GET', `${base}/policyreports`, 'watch=true'), ['policyreports', 'watch', '', '']);
  assert.deepEqual(res('GET', `${base}/namespaces/a/policyreports/x`), ['policyreports', 'get', 'a', 'x']);
  assert.deepEqual(res('POST', `${base}/namespaces/a/policyreports`), ['policyreports', 'create', 'a', '']);
  assert.deepEqual(res('DELETE', `${base}/namespaces/a/policyreports`), ['policyreports', 'deletecollection', 'a', '']);
  assert.deepEqual(res('PATCH', `${base}/clusterpolicyreports/c`), ['clusterpolicyreports', 'patch', '', 'c']);
  // A namespaced object needs its namespace; cluster-scoped types have none; no subresources.
  assert.equal(res('GET', `${base}/policyreports/x`), 'notFound');
  assert.equal(res('POST', `${base}/policyreports`), 'notFound');
  assert.equal(res('GET', `${base}/namespaces/a/clusterpolicyreports`), 'notFound');
  assert.equal(res('GET', `${base}/namespaces/a/policyreports/x/status`), 'notFound');
  assert.deepEqual(r('GET', '/readyz/ping'), { kind: 'probe', path: '/readyz/ping' });
  assert.deepEqual(r('GET', '/openapi/v3/apis/openreports.io/v1alpha1'), {
    kind: 'openapi-v3-gv',
    group: 'openreports.io',
    version: 'v1alpha1',
  });
  assert.equal(nameFromFieldSelector('metadata.name=abc'), 'abc');
  assert.equal(nameFromFieldSelector('metadata.name==abc'), 'abc');
  assert.equal(nameFromFieldSelector('metadata.name=abc,scope.kind=Pod'), undefined);
  assert.equal(nameFromFieldSelector('metadata.name!=abc'), undefined);
});

const object = (extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'wgpolicyk8s.io/v1alpha2',
  kind: 'PolicyReport',
  metadata: { name: 'r', namespace: 'n', creationTimestamp: '2026-11-23T10:00:00Z', resourceVersion: '7' },
  scope: { kind: 'Pod', name: 'web-0' },
  summary: { pass: 3, fail: 1 },
  ...extra,
});

test('Table: Name and the printer columns, ages, missing values, includeObject', () => {
  const now = Date.parse('2026-11-23T10:03:20Z');
  const table = buildTable(policyReports, [object()], { now, resourceVersion: '9', continue: 'tok' });
  assert.equal(table.kind, 'Table');
  assert.equal(table.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(table.metadata, { resourceVersion: '9', continue: 'tok' });
  assert.deepEqual(
    table.columnDefinitions.map((c) => [c.name, c.type, c.priority]),
    [
      ['Name', 'string', 0],
      ['Kind', 'string', 1],
      ['Name', 'string', 1],
      ['Pass', 'integer', 0],
      ['Fail', 'integer', 0],
      ['Warn', 'integer', 0],
      ['Error', 'integer', 0],
      ['Skip', 'integer', 0],
      ['Age', 'date', 0],
    ],
  );
  assert.equal(table.columnDefinitions[0]?.format, 'name');
  assert.deepEqual(table.rows[0]?.cells, ['r', 'Pod', 'web-0', 3, 1, null, null, null, '3m20s']);
  assert.deepEqual(table.rows[0]?.object, {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: object().metadata,
  });
  const full = buildTable(clusterPolicyReports, [object()], { includeObject: 'Object', version: 'v1beta1', now });
  assert.equal(full.apiVersion, 'meta.k8s.io/v1beta1');
  assert.equal((full.rows[0]?.object as KubeObject).kind, 'PolicyReport');
  const none = buildTable(policyReports, [object({ metadata: { name: 'x' } })], { includeObject: 'None', now });
  assert.equal(none.rows[0]?.object, undefined);
  assert.equal(none.rows[0]?.cells.at(-1), '<unknown>');
  assert.deepEqual(buildTable(policyReports, [], { noHeaders: true }).columnDefinitions, []);
  assert.equal(valueAt({ a: [{ b: 2 }] }, '.a[0].b'), 2);
  assert.equal(valueAt({ a: 1 }, '{.a}'), 1);
  assert.equal(valueAt({ a: 1 }, '.b.c'), undefined);
  const s = 1000;
  assert.deepEqual(
    [-5 * s, 0, 119 * s, 120 * s, 200 * s, 600 * s, 3 * 3600 * s, 5.5 * 3600 * s, 30 * 3600 * s, 50 * 3600 * s].map(
      humanDuration,
    ),
    ['<invalid>', '0s', '119s', '2m', '3m20s', '10m', '3h', '5h30m', '30h', '2d2h'],
  );
  assert.equal(humanDuration(400 * 86400 * s), '400d');
  assert.equal(humanDuration(800 * 86400 * s), '2y70d');
});

test('merge patch (RFC 7386) and JSON patch (RFC 6902)', () => {
  const target = { a: 1, b: { c: 2, d: 3 }, l: [1, 2] };
  assert.deepEqual(mergePatch(target, { a: null, b: { c: 5, e: { f: 1 } }, l: [3] }), {
    b: { c: 5, d: 3, e: { f: 1 } },
    l: [3],
  });
  assert.deepEqual(target, { a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, 'the target is not changed');
  assert.deepEqual(mergePatch({ a: 1 }, 'x'), 'x');
  assert.deepEqual(
    jsonPatch(target, [
      { op: 'add', path: '/l/-', value: 9 },
      { op: 'replace', path: '/b/c', value: 7 },
      { op: 'remove', path: '/a' },
      { op: 'test', path: '/b/d', value: 3 },
      { op: 'copy', from: '/b/d', path: '/z' },
    ]),
    { b: { c: 7, d: 3 }, l: [1, 2, 9], z: 3 },
  );
  assert.equal(target.a, 1);
  assert.throws(() => jsonPatch(target, [{ op: 'test', path: '/a', value: 2 }]), httpError(422, 'Invalid'));
  assert.throws(() => jsonPatch(target, [{ op: 'remove', path: '/nope' }]), httpError(422));
  assert.throws(() => jsonPatch(target, [{ op: 'jump', path: '/a' }]), httpError(400, 'BadRequest'));
  assert.throws(() => jsonPatch(target, { op: 'add' }), httpError(400));
  assert.throws(() => jsonPatch({}, [{ op: 'add', path: '/__proto__/x', value: 1 }]), HttpError);
});

test('server-side apply: ownership in managedFields, removal of dropped fields, conflicts and force', () => {
  const applyAs = (current: KubeObject | undefined, applied: KubeObject, manager: string, force = false) =>
    serverSideApply(current, structuredClone(applied), {
      manager,
      force,
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      now: '2026-11-23T10:00:00Z',
    });
  const first = applyAs(
    undefined,
    { metadata: { name: 'r', labels: { a: '1', b: '2' } }, summary: { pass: 1, fail: 0 }, results: [{ policy: 'p' }] },
    'ci',
  );
  assert.deepEqual(first.metadata.labels, { a: '1', b: '2' });
  const entry = (first.metadata.managedFields as { manager: string; operation: string; fieldsV1: unknown }[])[0]!;
  assert.equal(entry.manager, 'ci');
  assert.equal(entry.operation, 'Apply');
  assert.deepEqual(entry.fieldsV1, {
    'f:metadata': { 'f:labels': { 'f:a': {}, 'f:b': {} } },
    'f:summary': { 'f:pass': {}, 'f:fail': {} },
    'f:results': {},
  });
  // Fields set by others (not by an applier) survive; what ci no longer applies goes.
  const current = { ...first, metadata: { ...first.metadata, resourceVersion: '5', annotations: { x: 'y' } } };
  const second = applyAs(current, { metadata: { name: 'r', labels: { a: '1' } }, summary: { pass: 2 } }, 'ci');
  assert.deepEqual(second.metadata.labels, { a: '1' });
  assert.deepEqual(second.metadata.annotations, { x: 'y' });
  assert.deepEqual(second.summary, { pass: 2 });
  assert.equal(second.results, undefined);
  // Another applier: same value is shared ownership, a different one a conflict unless forced.
  const shared = applyAs(second, { metadata: { name: 'r', labels: { a: '1' } } }, 'other');
  assert.equal((shared.metadata.managedFields as unknown[]).length, 2);
  assert.throws(
    () => applyAs(second, { metadata: { name: 'r' }, summary: { pass: 9 } }, 'other'),
    (err: unknown) =>
      err instanceof HttpError &&
      err.code === 409 &&
      /conflict with "ci": \.summary\.pass/.test(err.message) &&
      err.details?.causes?.[0]?.type === 'FieldManagerConflict',
  );
  const forced = applyAs(second, { metadata: { name: 'r' }, summary: { pass: 9 } }, 'other', true);
  assert.equal((forced.summary as { pass: number }).pass, 9);
  const ci = (forced.metadata.managedFields as { manager: string; fieldsV1: unknown }[]).find(
    (m) => m.manager === 'ci',
  );
  assert.deepEqual(fromFieldsV1(ci?.fieldsV1), [['metadata', 'labels', 'a']]);
  assert.deepEqual(fieldSet({ apiVersion: 'x', metadata: { name: 'n', labels: { k: 'v' } }, s: {} }), [
    ['metadata', 'labels', 'k'],
    ['s'],
  ]);
  assert.deepEqual(fromFieldsV1(toFieldsV1([['a', 'b'], ['c']])), [['a', 'b'], ['c']]);
});

test('writes other than apply are recorded as Update: the writer owns what it changed, others lose it', () => {
  type Entry = { manager: string; operation: string; fieldsV1: unknown };
  const entries = (o: KubeObject) => o.metadata.managedFields as Entry[];
  const owners = (o: KubeObject) =>
    Object.fromEntries(entries(o).map((e) => [`${e.manager}/${e.operation}`, fromFieldsV1(e.fieldsV1)]));
  const write = (current: KubeObject | undefined, next: KubeObject, manager: string): KubeObject => {
    const copy = structuredClone(next);
    trackUpdate(current, copy, current?.metadata.managedFields ?? [], {
      manager,
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      now: '2026-11-23T10:00:00Z',
    });
    return copy;
  };
  const created = write(
    undefined,
    { metadata: { name: 'r', labels: { a: '1' } }, summary: { pass: 1 }, results: [{ policy: 'p' }] },
    'kubectl-create',
  );
  assert.deepEqual(owners(created), {
    'kubectl-create/Update': [['metadata', 'labels', 'a'], ['summary', 'pass'], ['results']],
  });
  // kubectl label: owns the new label only; the creator keeps the rest.
  const labelled = write(
    created,
    { ...created, metadata: { ...created.metadata, labels: { a: '1', tier: 'web' } } },
    'kubectl-label',
  );
  assert.deepEqual(owners(labelled), {
    'kubectl-create/Update': [['metadata', 'labels', 'a'], ['summary', 'pass'], ['results']],
    'kubectl-label/Update': [['metadata', 'labels', 'tier']],
  });
  // A patch that changes a field takes it from its owner; a removed field goes from every owner.
  const patched = write(labelled, { ...labelled, summary: { pass: 2 }, results: undefined }, 'kubectl-patch');
  assert.deepEqual(owners(patched), {
    'kubectl-create/Update': [['metadata', 'labels', 'a']],
    'kubectl-label/Update': [['metadata', 'labels', 'tier']],
    'kubectl-patch/Update': [['summary', 'pass']],
  });
  // Changing nothing changes no entry (not even a time); an owner left with nothing is dropped.
  assert.deepEqual(
    write(patched, structuredClone(patched), 'someone').metadata.managedFields,
    patched.metadata.managedFields,
  );
  const relabelled = write(
    patched,
    { ...patched, metadata: { ...patched.metadata, labels: { a: '2' } } },
    'kubectl-label',
  );
  assert.deepEqual(owners(relabelled), {
    'kubectl-patch/Update': [['summary', 'pass']],
    'kubectl-label/Update': [['metadata', 'labels', 'a']],
  });
  // Applying over a field an Update owns conflicts with that manager, as kube-apiserver.
  assert.throws(
    () =>
      serverSideApply(
        relabelled,
        { metadata: { name: 'r', labels: { a: '3' } } },
        {
          manager: 'ci',
          force: false,
          apiVersion: 'wgpolicyk8s.io/v1alpha2',
        },
      ),
    (err: unknown) => err instanceof HttpError && err.code === 409 && /conflict with "kubectl-label"/.test(err.message),
  );
  assert.equal(fieldManagerOf(new URLSearchParams('fieldManager=mine'), 'kubectl/v1.36.3 (linux/amd64)'), 'mine');
  assert.equal(fieldManagerOf(new URLSearchParams(), 'kubectl/v1.36.3 (linux/amd64)'), 'kubectl');
  assert.equal(fieldManagerOf(new URLSearchParams(), undefined), 'unknown');
});

test('discovery and OpenAPI documents', () => {
  const list = apiResourceList(served, 'wgpolicyk8s.io', 'v1alpha2');
  assert.deepEqual(
    list.resources.map((r) => [r.name, r.singularName, r.namespaced, r.kind, r.shortNames]),
    [
      ['policyreports', 'policyreport', true, 'PolicyReport', ['polr']],
      ['clusterpolicyreports', 'clusterpolicyreport', false, 'ClusterPolicyReport', ['cpolr']],
    ],
  );
  const aggregated = aggregatedDiscovery(served, 'v2');
  assert.equal(aggregated.apiVersion, 'apidiscovery.k8s.io/v2');
  assert.deepEqual(
    aggregated.items.map((g) => [g.metadata.name, g.versions[0]?.resources.map((r) => `${r.resource}:${r.scope}`)]),
    [
      ['wgpolicyk8s.io', ['policyreports:Namespaced', 'clusterpolicyreports:Cluster']],
      ['openreports.io', ['reports:Namespaced', 'clusterreports:Cluster']],
    ],
  );
  const index = openAPIv3Index(served, '1.0.0');
  assert.match(
    index.paths['apis/openreports.io/v1alpha1']?.serverRelativeURL ?? '',
    /^\/openapi\/v3\/apis\/openreports.io\/v1alpha1\?hash=[0-9A-F]{128}$/,
  );
  const doc = openAPIv3GroupVersion(served, 'openreports.io', 'v1alpha1', '1.0.0')!;
  const paths = doc.paths as Record<string, Record<string, { parameters?: { name: string }[] }>>;
  const object = paths['/apis/openreports.io/v1alpha1/namespaces/{namespace}/reports/{name}']!;
  assert.ok(object.patch?.parameters?.some((p) => p.name === 'fieldValidation'));
  assert.ok(paths['/apis/openreports.io/v1alpha1/clusterreports/{name}']);
  const schema = doc.components.schemas['io.openreports.v1alpha1.Report'] as Record<string, unknown>;
  assert.deepEqual(schema['x-kubernetes-group-version-kind'], [
    { group: 'openreports.io', version: 'v1alpha1', kind: 'Report' },
  ]);
});

test('Status: storage errors keep their reason and code, with details; anything else is 500', () => {
  const conflict = toStatus(new StorageError('Conflict', 'stale'), {
    group: 'wgpolicyk8s.io',
    kind: 'PolicyReport',
    resource: 'policyreports',
    name: 'r',
  });
  assert.deepEqual(
    [conflict.code, conflict.reason, conflict.details?.kind, conflict.details?.name],
    [409, 'Conflict', 'policyreports', 'r'],
  );
  const invalid = toStatus(
    new StorageError('Invalid', 'bad', { causes: [{ field: 'summary.pass', message: 'Required value' }] }),
  );
  assert.deepEqual(invalid.details?.causes, [
    { type: 'FieldValueRequired', message: 'Required value', field: 'summary.pass' },
  ]);
  const down = toStatus(new StorageError('ServiceUnavailable', 'db down'));
  assert.deepEqual([down.code, down.details?.retryAfterSeconds], [503, 1]);
  const boom = toStatus(new Error('boom'));
  assert.deepEqual([boom.code, boom.reason, boom.kind, boom.status], [500, 'InternalError', 'Status', 'Failure']);
});

test('--storage: sqlite:PATH and postgres:// URLs', () => {
  assert.deepEqual(parseStorage('sqlite:/var/lib/argus/reports.db', 'prod'), {
    backend: 'sqlite',
    path: '/var/lib/argus/reports.db',
    clusterName: 'prod',
  });
  assert.deepEqual(parseStorage('postgres://argus:s%40cret@db.example:5433/reports?schema=prod', 'prod'), {
    backend: 'postgres',
    host: 'db.example',
    port: 5433,
    database: 'reports',
    user: 'argus',
    password: 's@cret',
    schema: 'prod',
    clusterName: 'prod',
  });
  assert.throws(() => parseStorage('postgres://db.example/', 'x'), /database name/);
  assert.throws(() => parseStorage('mysql://db', 'x'), /sqlite:PATH or postgres/);
});

test('kubectl argus: tables aligned as kubectl prints them', () => {
  assert.equal(
    formatTable(
      ['NAMESPACE', 'POLICY', 'COUNT'],
      [
        ['team-a', 'require-labels', 3],
        ['b', null, 12],
      ],
    ),
    'NAMESPACE   POLICY           COUNT\nteam-a      require-labels   3\nb           <none>           12\n',
  );
});
