// Report diff: findings added and removed by identity, multiset counting, JSON shape, HTML rendering.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffReports, findingKey, findings, renderDiffHtml } from '../../../../src/scanner/report/diff.ts';
import type { Report } from '../../../../src/scanner/report/report.ts';
import { cloneReport, nasty, sampleReport } from '../../../support/sample-report.ts';

const rules = (r: Report) => r.providers[0]!.rulesets[0]!.rules;

describe('report diff', () => {
  const old = sampleReport();

  test('a report compared with itself has no changes', () => {
    const diff = diffReports(old, cloneReport(old));
    assert.deepEqual(diff.added, []);
    assert.deepEqual(diff.removed, []);
    assert.equal(diff.summary.unchanged, findings(old).length);
    assert.equal(diff.kind, 'ReportDiff');
    assert.equal(diff.old.time, old.time);
  });

  test('a target that went away is a removed finding; a new one is added', () => {
    const next = cloneReport(old);
    const gone = rules(next)[0]!.checks[0]!.targets!.pop()!;
    rules(next)[0]!.checks[0]!.targets!.push({ kind: 'Pod', name: 'fresh', namespace: 'default' });
    const diff = diffReports(old, next);
    assert.equal(diff.removed.length, 1);
    assert.deepEqual(diff.removed[0], {
      provider: 'managedk8s',
      ruleset: 'disa-kubernetes-stig',
      version: 'v2r6',
      rule: '242383',
      ruleName: 'Kubernetes must separate user functionality.',
      severity: 'High',
      status: 'Failed',
      message: 'Found user resource in system namespaces.',
      target: gone,
    });
    assert.equal(diff.added.length, 1);
    assert.equal(diff.added[0]!.target!.name, 'fresh');
    assert.equal(diff.summary.added.Failed, 1);
    assert.equal(diff.summary.removed.Failed, 1);
  });

  test('a status change is one finding removed and one added', () => {
    const next = cloneReport(old);
    rules(next)[3]!.checks[1]!.status = 'Passed'; // 242391: 3 Errored nodes now Passed
    const diff = diffReports(old, next);
    assert.equal(diff.summary.removed.Errored, 3);
    assert.equal(diff.summary.added.Passed, 3);
    assert.ok(diff.added.every((f) => f.rule === '242391'));
  });

  test('target key order, rule names and severities do not change identity', () => {
    const next = cloneReport(old);
    const check = rules(next)[0]!.checks[0]!;
    check.targets = check.targets!.map((t) => Object.fromEntries(Object.entries(t).reverse()));
    rules(next)[0]!.name = 'Renamed';
    delete rules(next)[0]!.severity;
    const diff = diffReports(old, next);
    assert.equal(diff.added.length + diff.removed.length, 0);
  });

  test('version, message and provider are part of the identity', () => {
    const next = cloneReport(old);
    next.providers[0]!.rulesets[2]!.version = 'v1.1.0';
    const diff = diffReports(old, next);
    const pss = findings(old).filter((f) => f.ruleset === 'pod-security-standards').length;
    assert.equal(diff.removed.length, pss);
    assert.equal(diff.added.length, pss);
    assert.notEqual(findingKey({ ...diff.added[0]!, message: 'a' }), findingKey({ ...diff.added[0]!, message: 'b' }));
  });

  test('findings are counted as a multiset', () => {
    const a = sampleReport({
      providers: [
        {
          id: 'p',
          name: 'P',
          rulesets: [
            {
              id: 'r',
              name: 'R',
              version: '1',
              rules: [{ id: '1', name: 'one', checks: [{ status: 'Failed', message: 'm', targets: [{ name: 'x' }] }] }],
            },
          ],
        },
      ],
    });
    const b = cloneReport(a);
    b.providers[0]!.rulesets[0]!.rules[0]!.checks[0]!.targets!.push({ name: 'x' });
    assert.equal(diffReports(a, b).added.length, 1);
    assert.equal(diffReports(b, a).removed.length, 1);
  });

  test('checks without targets are one finding without a target', () => {
    const f = findings(old).find((x) => x.rule === '242390');
    assert.ok(f);
    assert.equal(f.target, undefined);
  });

  test('the HTML rendering shows both sides, counts and changes, escaped', () => {
    const next = cloneReport(old);
    next.metadata = { cluster: 'prod-eu1' };
    rules(next)[7]!.checks[0]!.targets!.pop(); // the nasty target
    rules(next)[3]!.checks[1]!.status = 'Passed';
    const html = renderDiffHtml(diffReports(old, next));
    assert.ok(html.startsWith('<!doctype html>'));
    assert.ok(!html.includes(nasty));
    assert.ok(!html.includes('<script>alert'));
    assert.ok(html.includes('data-tile="added"><div class="n">3</div>'));
    assert.ok(html.includes('data-tile="removed"><div class="n">4</div>'));
    assert.ok(html.includes('data-rule="242415"'));
    assert.ok(html.includes('data-change="removed"'));
    assert.ok(html.includes('<h1>prod-eu1</h1>'));
    const same = renderDiffHtml(diffReports(old, old));
    assert.ok(same.includes('The two reports have the same findings.'));
  });
});
