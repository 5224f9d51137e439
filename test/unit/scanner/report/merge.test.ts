// Merging reports of several clusters: identity by a metadata key, errors naming the report, union of rules
// and checks with targets per report, and the HTML rendering with a column per cluster.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../../../src/api/validation.ts';
import { mergeReports, renderMergedHtml } from '../../../../src/scanner/report/merge.ts';
import { cloneReport, nasty, sampleReport } from '../../../support/sample-report.ts';

describe('report merge', () => {
  const prod = sampleReport();
  const dev = sampleReport({ metadata: { cluster: 'dev-eu1' }, time: '2025-03-15T08:00:00Z', minStatus: 'Skipped' });
  const devRules = dev.providers[0]!.rulesets[0]!.rules;
  devRules[0]!.checks[0]!.targets = [{ kind: 'Deployment', name: 'debug', namespace: 'default' }];
  devRules[3]!.checks = [
    { status: 'Passed', message: 'Option authentication.anonymous.enabled set to allowed value.' },
  ];

  test('keeps the targets of each cluster apart', () => {
    const merged = mergeReports([prod, dev], 'cluster');
    assert.equal(merged.kind, 'MergedReport');
    assert.equal(merged.distinctBy, 'cluster');
    assert.deepEqual(
      merged.reports.map((r) => r.id),
      ['prod-eu1', 'dev-eu1'],
    );
    assert.equal(merged.time, '2025-03-15T08:00:00Z');
    assert.equal(merged.minStatus, 'Skipped');
    const rs = merged.providers[0]!.rulesets[0]!;
    assert.deepEqual(rs.reports, ['prod-eu1', 'dev-eu1']);
    const failed = rs.rules[0]!.checks[0]!;
    assert.equal(failed.targets['prod-eu1']!.length, 3);
    assert.deepEqual(failed.targets['dev-eu1'], [{ kind: 'Deployment', name: 'debug', namespace: 'default' }]);
    // 242391: prod has Passed (9 nodes) and Errored; dev the same Passed check without targets.
    const r242391 = rs.rules[3]!;
    assert.equal(r242391.checks.length, 2);
    const errored = r242391.checks.find((c) => c.status === 'Errored')!;
    assert.deepEqual(Object.keys(errored.targets), ['prod-eu1']);
    const passed = r242391.checks.find((c) => c.status === 'Passed')!;
    assert.equal(passed.targets['prod-eu1']!.length, 9);
    assert.deepEqual(passed.targets['dev-eu1'], []);
    assert.deepEqual(merged.providers[0]!.metadata['dev-eu1'], { kubernetesVersion: 'v1.36.3' });
  });

  test('rulesets only one cluster ran are marked with the reports that ran them', () => {
    const only = cloneReport(dev);
    only.providers[0]!.rulesets = only.providers[0]!.rulesets.slice(0, 1);
    const merged = mergeReports([prod, only], 'cluster');
    assert.deepEqual(merged.providers[0]!.rulesets[2]!.reports, ['prod-eu1']);
    assert.ok(renderMergedHtml(merged).includes('not scanned'));
  });

  test('a report without the key is an error naming it and the field', () => {
    const nameless = sampleReport({ metadata: { owner: 'x' } });
    assert.throws(
      () => mergeReports([prod, nameless], 'cluster', ['prod.json', 'nameless.json']),
      (err: unknown) =>
        err instanceof ValidationError &&
        /nameless\.json/.test(err.message) &&
        err.errors[0]?.field === 'metadata.cluster',
    );
    assert.throws(() => mergeReports([prod, nameless], 'cluster'), /report #2/);
  });

  test('a repeated value is an error naming both reports', () => {
    assert.throws(
      () => mergeReports([prod, dev, cloneReport(prod)], 'cluster', ['a.json', 'b.json', 'c.json']),
      (err: unknown) => err instanceof ValidationError && /c\.json/.test(err.message) && /a\.json/.test(err.message),
    );
  });

  test('the key may come from provider metadata', () => {
    const a = sampleReport({ metadata: undefined });
    const b = sampleReport({ metadata: undefined });
    b.providers[0]!.metadata = { kubernetesVersion: 'v1.35.0' };
    const merged = mergeReports([a, b], 'kubernetesVersion');
    assert.deepEqual(
      merged.reports.map((r) => r.id),
      ['v1.36.3', 'v1.35.0'],
    );
  });

  test('no key or no reports is an error', () => {
    assert.throws(() => mergeReports([prod], ''), ValidationError);
    assert.throws(() => mergeReports([], 'cluster'), ValidationError);
  });

  test('the HTML rendering has a column per cluster and a cluster column in target tables', () => {
    const html = renderMergedHtml(mergeReports([prod, dev], 'cluster'));
    assert.ok(html.startsWith('<!doctype html>'));
    assert.ok(html.includes('<th scope="col">prod-eu1</th><th scope="col">dev-eu1</th>'));
    assert.ok(html.includes('<th scope="col">cluster</th>'));
    assert.ok(html.includes('<td class="lead">dev-eu1</td>'));
    assert.ok(html.includes('data-tile="prod-eu1"'));
    assert.ok(!html.includes(nasty));
    assert.ok(html.includes('<h1>2 clusters</h1>'));
  });
});
