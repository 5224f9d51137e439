// SARIF 2.1.0: one run, the scan's rules, results for non-passing findings with mapped levels and locations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderSarif, sarifLevel, toSarif } from '../../../../src/scanner/report/sarif.ts';
import { findings } from '../../../../src/scanner/report/diff.ts';
import { nasty, sampleReport } from '../../../support/sample-report.ts';

describe('SARIF', () => {
  const report = sampleReport();
  const log = toSarif(report);
  const run = log.runs[0]!;

  test('is one SARIF 2.1.0 run by argus with every rule of the scan', () => {
    assert.equal(log.version, '2.1.0');
    assert.match(log.$schema, /sarif-2\.1\.0/);
    assert.equal(log.runs.length, 1);
    assert.equal(run.tool.driver.name, 'argus');
    const ruleCount = report.providers[0]!.rulesets.reduce((n, rs) => n + rs.rules.length, 0);
    assert.equal(run.tool.driver.rules.length, ruleCount);
    const rule = run.tool.driver.rules.find((r) => r.id === 'disa-kubernetes-stig/v2r6/242383');
    assert.ok(rule);
    assert.equal(rule.shortDescription.text, 'Kubernetes must separate user functionality.');
    assert.equal(rule.properties.severity, 'High');
    assert.equal(new Set(run.tool.driver.rules.map((r) => r.id)).size, ruleCount);
  });

  test('has one result per non-passing finding, pointing at its rule', () => {
    const expected = findings(report).filter((f) => f.status !== 'Passed').length;
    assert.equal(run.results.length, expected);
    for (const r of run.results) {
      assert.equal(run.tool.driver.rules[r.ruleIndex]!.id, r.ruleId);
      assert.notEqual(r.properties.status, 'Passed');
      assert.match(r.partialFingerprints['argusFinding/v1']!, /^[0-9a-f]{64}$/);
    }
    assert.equal(new Set(run.results.map((r) => r.partialFingerprints['argusFinding/v1'])).size, run.results.length);
  });

  test('maps statuses to levels', () => {
    assert.equal(sarifLevel('Failed'), 'error');
    assert.equal(sarifLevel('Errored'), 'error');
    assert.equal(sarifLevel('Warning'), 'warning');
    for (const s of ['Skipped', 'Accepted', 'Not Implemented', 'Passed'] as const) assert.equal(sarifLevel(s), 'note');
    const byStatus = (s: string) => run.results.filter((r) => r.properties.status === s);
    assert.ok(byStatus('Failed').every((r) => r.level === 'error'));
    assert.ok(byStatus('Warning').every((r) => r.level === 'warning'));
    assert.ok(byStatus('Skipped').every((r) => r.level === 'note'));
  });

  test('targets are logical locations; accepted findings are suppressed with their justification', () => {
    const pod = run.results.find((r) => r.ruleId.endsWith('/242415') && r.locations);
    assert.ok(pod);
    const loc = pod.locations![0]!.logicalLocations[0]!;
    assert.match(
      loc.fullyQualifiedName,
      /^kind=Pod\/namespace=payments\/name=payments-worker-000-.*\/container=api\/details=/,
    );
    assert.equal(loc.properties?.namespace, 'payments');
    const accepted = run.results.find((r) => r.properties.status === 'Accepted')!;
    assert.equal(accepted.suppressions?.[0]?.kind, 'external');
    assert.match(accepted.suppressions[0].justification, /Justification/);
    const noTarget = run.results.find((r) => r.ruleId.endsWith('/242376'))!;
    assert.equal(noTarget.locations, undefined);
  });

  test('renders as JSON that keeps odd values intact', () => {
    const parsed = JSON.parse(renderSarif(report)) as typeof log;
    assert.ok(parsed.runs[0]!.results.some((r) => r.locations?.[0]?.logicalLocations[0]?.name === nasty));
  });
});
