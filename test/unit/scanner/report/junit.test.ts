// JUnit XML: a testsuite per ruleset, a testcase per rule, failure/error/skipped by the rule's checks, escaped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { junitOutcome, renderJUnit, xmlEscape } from '../../../../src/scanner/report/junit.ts';
import { nasty, sampleReport } from '../../../support/sample-report.ts';

function attr(xml: string, element: string, name: string): string | undefined {
  return new RegExp(`<${element}\\b[^>]*\\s${name}="([^"]*)"`).exec(xml)?.[1];
}

describe('JUnit XML', () => {
  const report = sampleReport();
  const xml = renderJUnit(report);

  test('has a testsuite per ruleset and a testcase per rule with totals', () => {
    assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites'));
    assert.equal(xml.match(/<testsuite\s/g)?.length, 3);
    const rules = report.providers[0]!.rulesets.reduce((n, rs) => n + rs.rules.length, 0);
    assert.equal(xml.match(/<testcase\s/g)?.length, rules);
    assert.equal(attr(xml, 'testsuites', 'tests'), String(rules));
    // DISA: failures 242383 242414 242415, error 242391, skipped 242376 242377 242396.
    const disa = xml.slice(xml.indexOf('<testsuite name="disa-kubernetes-stig v2r6"'));
    assert.equal(attr(disa, 'testsuite', 'failures'), '3');
    assert.equal(attr(disa, 'testsuite', 'errors'), '1');
    assert.equal(attr(disa, 'testsuite', 'skipped'), '3');
    assert.match(
      xml,
      /<testcase classname="disa-kubernetes-stig\.v2r6" name="242383: Kubernetes must separate user functionality\."/,
    );
  });

  test('bodies list the non-passing checks and one target per line', () => {
    const start = xml.indexOf('name="242383:');
    const testcase = xml.slice(start, xml.indexOf('</testcase>', start));
    assert.match(
      testcase,
      /<failure type="Failed" message="3 failed">Failed: Found user resource in system namespaces\.\n {2}kind=Deployment\/namespace=default\/name=nginx\n/,
    );
    assert.match(testcase, /Accepted: Accepted user resource/);
    assert.match(xml, /<error type="Errored" message="3 errored, 0 failed">/);
    assert.match(xml, /<skipped message="Not implemented\."\/>/);
    assert.match(xml, /<system-out>Warning: There are no allowed images/);
  });

  test('escapes text and drops characters XML cannot carry', () => {
    assert.ok(!xml.includes(nasty));
    assert.ok(xml.includes('&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&apos;'));
    assert.equal(xmlEscape('a\u0000b\u001bc\td'), 'a\uFFFDb\uFFFDc\td');
    const odd = sampleReport();
    odd.providers[0]!.rulesets[0]!.rules[0]!.checks[0]!.message = 'bell \u0007 here';
    assert.ok(!renderJUnit(odd).includes('\u0007'));
  });

  test('outcomes: Errored beats Failed; all skipped is skipped; warnings and acceptances pass', () => {
    const rule = (statuses: string[]) => ({
      id: '1',
      name: 'r',
      checks: statuses.map((status) => ({ status, message: status })) as never,
    });
    assert.equal(junitOutcome(rule(['Failed', 'Errored'])), 'error');
    assert.equal(junitOutcome(rule(['Passed', 'Failed'])), 'failure');
    assert.equal(junitOutcome(rule(['Skipped', 'Not Implemented'])), 'skipped');
    assert.equal(junitOutcome(rule(['Warning', 'Accepted'])), 'passed');
    assert.equal(junitOutcome(rule(['Skipped', 'Passed'])), 'passed');
    assert.equal(junitOutcome(rule([])), 'passed');
  });
});
