// The HTML report: summary counts, every rule and target present, filters offered, everything escaped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderHtml, rulesByWorst, ruleWorst } from '../../../../src/scanner/report/html.ts';
import { esc } from '../../../../src/scanner/report/html-style.ts';
import { nasty, sampleReport } from '../../../support/sample-report.ts';

/** Like assert.match without printing a whole page on failure. */
function matches(text: string, re: RegExp): void {
  assert.ok(re.test(text), `expected ${re}`);
}
function lacks(text: string, re: RegExp): void {
  assert.ok(!re.test(text), `unexpected ${re}`);
}

describe('HTML report', () => {
  const report = sampleReport();
  const html = renderHtml(report);

  test('is one self-contained page: no external scripts, styles, fonts or images', () => {
    matches(html, /^<!doctype html>\n<html lang="en">/);
    lacks(html, /<script[^>]+src=/);
    lacks(html, /<link[^>]+rel="?stylesheet/);
    lacks(html, /url\(\s*['"]?https?:/);
    lacks(html, /<img /);
    matches(html, /prefers-color-scheme:dark/);
    matches(html, /@media print/);
  });

  test('escapes every value from the report', () => {
    assert.ok(!html.includes(nasty), 'raw value must not appear');
    assert.ok(!html.includes('<script>alert'), 'no injected script');
    assert.ok(html.includes(esc(nasty)));
    const evil = sampleReport({ metadata: { cluster: '<b onload=x>', note: { '"k"': '</style>' } } });
    const out = renderHtml(evil);
    assert.ok(!out.includes('<b onload=x>'));
    assert.ok(!out.includes('</style>"'));
    assert.ok(out.includes('&lt;b onload=x&gt;'));
  });

  test('shows the cluster, the scan time, the metadata and per-ruleset counts', () => {
    matches(html, /<h1>prod-eu1<\/h1>/);
    matches(html, /2025-03-14 09:26:53 UTC/);
    matches(html, /platform-team/);
    for (const rs of report.providers[0]!.rulesets) {
      assert.ok(html.includes(`data-ruleset="${rs.id}"`), rs.id);
      assert.ok(html.includes(esc(rs.name)));
    }
    // The DISA card: 3 rules whose worst check failed, 127 failed findings.
    const card = html.slice(html.indexOf('data-ruleset="disa-kubernetes-stig"'));
    matches(card.slice(0, card.indexOf('</article>')), /Failed<\/td><td>3<\/td><td>127<\/td>/);
    matches(html, /data-tile="Failed"><div class="n">7<\/div>/);
  });

  test('lists every rule with its checks and every target', () => {
    for (const rs of report.providers[0]!.rulesets)
      for (const rule of rs.rules) {
        assert.ok(html.includes(`data-rule="${rule.id}"`), rule.id);
        for (const check of rule.checks) {
          assert.ok(html.includes(esc(check.message)), check.message);
          for (const t of check.targets ?? []) assert.ok(html.includes(`<td>${esc(t.name ?? '')}</td>`), t.name);
        }
      }
  });

  test('offers filters for the statuses and severities present', () => {
    for (const s of ['Failed', 'Errored', 'Warning', 'Passed', 'Accepted', 'Skipped', 'Not Implemented'])
      assert.ok(html.includes(`data-filter="status" data-value="${s}"`), s);
    for (const s of ['High', 'Medium', 'Low']) assert.ok(html.includes(`data-filter="severity" data-value="${s}"`), s);
    matches(html, /data-statuses="Failed\|Accepted"/);
  });

  test('a rule with no checks and a report with no providers still render', () => {
    matches(html, /No checks at or above the minimum status/);
    const empty = renderHtml(sampleReport({ providers: [], metadata: undefined }));
    matches(empty, /<h1>Compliance scan<\/h1>/);
    matches(empty, /The report has no rulesets/);
  });

  test('the minimum status is shown', () => {
    matches(renderHtml(sampleReport({ minStatus: 'Warning' })), /Minimum status<\/dt><dd>Warning/);
  });

  test('rules count once under their worst status', () => {
    assert.equal(ruleWorst([{ status: 'Passed' }, { status: 'Failed' }, { status: 'Warning' }]), 'Failed');
    assert.equal(ruleWorst([]), undefined);
    const counts = rulesByWorst(report.providers[0]!.rulesets[0]!.rules);
    assert.equal(counts.Failed, 3);
    assert.equal(counts.Passed, 6);
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      report.providers[0]!.rulesets[0]!.rules.length,
    );
  });
});
