// The pure parts of the report exporters: the webhook signature, PostgreSQL table names and result rows, the
// reports API source label and objects.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { OutputError } from '../../../src/runner/outputs/index.ts';
import { resultRows, tableNames } from '../../../src/runner/outputs/postgres.ts';
import { reportObjects, sourceLabel } from '../../../src/runner/outputs/reports-api.ts';
import { signature } from '../../../src/runner/outputs/webhook.ts';
import { sampleReport } from '../../support/sample-report.ts';

test('signature: sha256=<hex HMAC-SHA256(key, "<timestamp>.<body>")>', () => {
  const body = '{"a":1}';
  const expected = createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex');
  assert.equal(signature('k', '1700000000', body), `sha256=${expected}`);
  assert.equal(signature(Buffer.from('k'), '1700000000', Buffer.from(body)), `sha256=${expected}`);
  assert.notEqual(signature('k', '1700000001', body), `sha256=${expected}`);
  // RFC 4231 test case 2 (no timestamp prefix there, so check the primitive the scheme builds on)
  assert.equal(
    createHmac('sha256', 'Jefe').update('what do ya want for nothing?').digest('hex'),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
});

test('tableNames: name or schema.name, quoted; anything else rejected', () => {
  assert.deepEqual(tableNames('reports'), {
    reports: '"reports"',
    results: '"reports_results"',
    index: '"reports_results_scan_uid"',
  });
  assert.deepEqual(tableNames('audit.Reports'), {
    schema: '"audit"',
    reports: '"audit"."Reports"',
    results: '"audit"."Reports_results"',
    index: '"Reports_results_scan_uid"',
  });
  for (const bad of ['', 'a.b.c', 'x; DROP TABLE y', '1abc', 'a-b', 'x'.repeat(60)])
    assert.throws(
      () => tableNames(bad),
      (err: unknown) => err instanceof OutputError && err.reason === 'InvalidTable',
    );
});

test('resultRows: one row per check target, one with a NULL target for a check without targets', () => {
  const report = sampleReport();
  const rows = resultRows(report);
  let expected = 0;
  for (const p of report.providers)
    for (const rs of p.rulesets)
      for (const r of rs.rules) for (const c of r.checks) expected += Math.max(1, c.targets?.length ?? 0);
  assert.equal(rows.status.length, expected);
  for (const column of Object.values(rows) as unknown[][]) assert.equal(column.length, expected);
  assert.ok(rows.target.includes(null));
  const i = rows.ruleId.indexOf('242383');
  assert.deepEqual(
    [rows.ruleset[i], rows.version[i], rows.severity[i], rows.status[i]],
    ['disa-kubernetes-stig', 'v2r6', 'High', 'Failed'],
  );
  assert.deepEqual(JSON.parse(rows.target[i]!), { kind: 'Deployment', name: 'nginx', namespace: 'default' });
});

test('sourceLabel: the prefix without trailing separators, or a hash when it is no label value', () => {
  assert.equal(sourceLabel('argus-'), 'argus');
  assert.equal(sourceLabel('team.a_'), 'team.a');
  assert.match(sourceLabel('-'), /^h-[0-9a-f]{32}$/);
  assert.match(sourceLabel('x'.repeat(70)), /^h-[0-9a-f]{32}$/);
  assert.notEqual(sourceLabel('-'), sourceLabel('--'));
});

test('reportObjects: names from the prefix, kinds from the apiVersion, labels of source and scan', () => {
  const ctx = { scanName: 'weekly', scanUid: 'u1' };
  const wg = reportObjects(sampleReport(), { namePrefix: 'compliance-' }, ctx);
  assert.ok(wg.length > 0);
  for (const { type, object } of wg) {
    assert.equal(object.apiVersion, 'wgpolicyk8s.io/v1alpha2');
    assert.equal(object.kind, type.kind);
    assert.match(object.metadata?.name ?? '', /^compliance-/);
    assert.equal(object.metadata?.labels?.['reports.argus.io/source'], 'compliance');
    assert.equal(object.metadata?.labels?.['compliancescan.diki.gardener.cloud/uid'], 'u1');
    assert.equal(object.source, undefined);
  }
  const open = reportObjects(sampleReport(), { apiVersion: 'openreports.io/v1alpha1' }, ctx);
  assert.deepEqual([...new Set(open.map((o) => o.object.kind))].sort(), ['ClusterReport', 'Report']);
  for (const { object } of open) {
    assert.equal(object.source, 'argus');
    assert.match(object.metadata?.name ?? '', /^argus-/);
  }
});
