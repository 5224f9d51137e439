import assert from 'node:assert/strict';
import { test } from 'node:test';
import { customResourceDefinition, openAPISchema, pruneUnknownFields } from '../../../src/api/crd.ts';
import {
  clusterPolicyReportType,
  clusterReportType,
  policyReportType,
  reportType,
  reportTypes,
  validateReport,
} from '../../../src/api/reports/index.ts';
import { staleCrdFiles } from '../../../scripts/generate-crds.ts';

const report = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'wgpolicyk8s.io/v1alpha2',
  kind: 'PolicyReport',
  metadata: { name: 'r1', namespace: 'default', labels: { app: 'x' } },
  scope: { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'default' },
  summary: { pass: 1, fail: 1, warn: 0, error: 0, skip: 0 },
  results: [
    { policy: 'p1', rule: 'r', result: 'pass', severity: 'high', timestamp: { seconds: 1, nanos: 0 } },
    { policy: 'p2', result: 'fail', resources: [{ kind: 'Pod', name: 'p' }], properties: { a: 'b' } },
  ],
  ...extra,
});

test('deploy/crds holds exactly the generated CRDs', () => {
  assert.deepEqual(staleCrdFiles(), []);
});

test('names, scopes and short names as upstream', () => {
  assert.deepEqual(
    reportTypes.map((t) => [t.apiVersion, t.kind, t.resource, t.namespaced, t.crd.names.shortNames]),
    [
      ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'policyreports', true, ['polr']],
      ['wgpolicyk8s.io/v1alpha2', 'ClusterPolicyReport', 'clusterpolicyreports', false, ['cpolr']],
      ['openreports.io/v1alpha1', 'Report', 'reports', true, ['reps']],
      ['openreports.io/v1alpha1', 'ClusterReport', 'clusterreports', false, ['creps']],
    ],
  );
});

/** The value at a dotted path in parsed JSON (`a.b.0.c`). */
function dig(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[key];
  return v;
}

test('the CRD carries the upstream schema: enums, required fields, printer columns', () => {
  const crd = customResourceDefinition(policyReportType.crd);
  assert.equal(dig(crd, 'metadata.name'), 'policyreports.wgpolicyk8s.io');
  assert.equal(dig(crd, 'spec.scope'), 'Namespaced');
  assert.equal(dig(crd, 'spec.names.listKind'), 'PolicyReportList');
  const version = dig(crd, 'spec.versions.0');
  assert.equal(dig(version, 'name'), 'v1alpha2');
  assert.equal(dig(version, 'served'), true);
  assert.equal(dig(version, 'storage'), true);
  const columns = dig(version, 'additionalPrinterColumns') as Record<string, unknown>[];
  assert.deepEqual(
    columns.map((c) => [c.name, c.jsonPath, c.type, c.priority ?? 0]),
    [
      ['Kind', '.scope.kind', 'string', 1],
      ['Name', '.scope.name', 'string', 1],
      ['Pass', '.summary.pass', 'integer', 0],
      ['Fail', '.summary.fail', 'integer', 0],
      ['Warn', '.summary.warn', 'integer', 0],
      ['Error', '.summary.error', 'integer', 0],
      ['Skip', '.summary.skip', 'integer', 0],
      ['Age', '.metadata.creationTimestamp', 'date', 0],
    ],
  );
  const schema = dig(version, 'schema.openAPIV3Schema');
  assert.equal(dig(schema, 'type'), 'object');
  assert.deepEqual(dig(schema, 'properties.metadata'), { type: 'object' });
  assert.equal(dig(schema, 'required'), undefined);
  const result = dig(schema, 'properties.results.items');
  assert.deepEqual(dig(result, 'required'), ['policy']);
  assert.deepEqual(dig(result, 'properties.result.enum'), ['pass', 'fail', 'warn', 'error', 'skip']);
  assert.deepEqual(dig(result, 'properties.severity.enum'), ['critical', 'high', 'low', 'medium', 'info']);
  assert.deepEqual(dig(result, 'properties.timestamp.required'), ['nanos', 'seconds']);
  assert.equal(dig(result, 'properties.timestamp.properties.seconds.format'), 'int64');
  assert.deepEqual(dig(result, 'properties.properties.additionalProperties'), { type: 'string' });
  assert.equal(dig(result, 'properties.resources.items.x-kubernetes-map-type'), 'atomic');
  assert.equal(dig(schema, 'properties.scope.x-kubernetes-map-type'), 'atomic');
  assert.deepEqual(Object.keys(dig(schema, 'properties.summary.properties') as object).sort(), [
    'error',
    'fail',
    'pass',
    'skip',
    'warn',
  ]);
  assert.ok(!JSON.stringify(schema).includes('patternProperties'));
  assert.ok(!JSON.stringify(schema).includes('anyOf'));
});

test('openreports adds source and configuration.limits (required when configuration is set)', () => {
  const schema = openAPISchema(reportType.schema);
  assert.equal(dig(schema, 'properties.source.type'), 'string');
  assert.deepEqual(dig(schema, 'properties.configuration.required'), ['limits']);
  assert.deepEqual(dig(schema, 'properties.configuration.properties.limits.properties.statusFilter.items.enum'), [
    'pass',
    'fail',
    'warn',
    'error',
    'skip',
  ]);
  assert.equal(dig(openAPISchema(policyReportType.schema), 'properties.source'), undefined);
  assert.equal(clusterReportType.namespaced, false);
  assert.ok('source' in clusterReportType.selectableFields);
  assert.ok(!('source' in policyReportType.selectableFields));
});

test('a valid report has no errors', () => {
  assert.deepEqual(validateReport(policyReportType, report()), []);
  assert.deepEqual(
    validateReport(clusterPolicyReportType, { ...report(), kind: 'ClusterPolicyReport', metadata: { name: 'c' } }),
    [],
  );
});

test('validation errors name the field', () => {
  const bad = report();
  (bad.results as unknown[]).push({ policy: 'x' }, { result: 'maybe', policy: 'y' }, { severity: 'urgent' });
  (bad.summary as Record<string, unknown>).fail = 'many';
  const errors = validateReport(policyReportType, bad);
  const fields = errors.map((e) => e.field);
  assert.ok(fields.includes('results[3].result'), fields.join());
  assert.match(errors.find((e) => e.field === 'results[3].result')!.message, /must be one of: "pass"/);
  assert.ok(fields.includes('results[4].policy'));
  assert.ok(fields.includes('results[4].severity'));
  assert.ok(fields.includes('summary.fail'));
});

test('metadata is validated like kube-apiserver does', () => {
  const errors = validateReport(
    policyReportType,
    report({
      kind: 'Nope',
      metadata: { name: 'Bad_Name', labels: { 'a/b/c': 'x', ok: 'not ok!' }, finalizers: ['x', 'x'] },
    }),
  );
  const fields = errors.map((e) => e.field);
  assert.ok(fields.includes('kind'));
  assert.ok(fields.includes('metadata.name'));
  assert.ok(fields.includes('metadata.namespace'), 'namespaced type needs a namespace');
  assert.ok(fields.includes('metadata.labels["a/b/c"]'), fields.join());
  assert.ok(fields.includes('metadata.labels.ok'));
  assert.ok(fields.includes('metadata.finalizers[1]'));
  const cluster = validateReport(clusterReportType, {
    metadata: { name: 'c', namespace: 'default' },
  });
  assert.deepEqual(
    cluster.map((e) => e.field),
    ['metadata.namespace'],
  );
  assert.deepEqual(validateReport(reportType, { metadata: { generateName: 'gen-' }, kind: 'Report' }).length, 1);
});

test('unknown fields are pruned with their paths reported', () => {
  const value = report({ extra: 1 }) as Record<string, unknown>;
  const set = (path: string, v: unknown) => {
    const keys = path.split('.');
    (dig(value, keys.slice(0, -1).join('.')) as Record<string, unknown>)[keys.at(-1)!] = v;
  };
  set('results.0.bogus', true);
  set('metadata.nope', 1);
  set('scope.what', 'x');
  const removed = pruneUnknownFields(policyReportType.schema, value);
  assert.deepEqual(removed.sort(), ['extra', 'metadata.nope', 'results[0].bogus', 'scope.what']);
  assert.equal(value.extra, undefined);
  assert.equal(dig(value, 'results.0.bogus'), undefined);
  assert.deepEqual(dig(value, 'results.1.properties'), { a: 'b' });
  assert.deepEqual(dig(value, 'metadata.labels'), { app: 'x' });
});
