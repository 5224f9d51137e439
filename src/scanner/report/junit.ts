// A scan report as JUnit XML, for CI systems that show test results: one <testsuite> per ruleset, one <testcase>
// per rule. A rule with an Errored check gets an <error>; otherwise one with a Failed check gets a <failure>;
// a rule whose checks are all Skipped or Not Implemented gets <skipped>; everything else passes (Warning and
// Accepted checks are listed in <system-out>). Element bodies list every non-passing check with its targets,
// one target per line. All text is XML-escaped and characters XML 1.0 cannot carry are replaced.
import type { Status } from '../engine/result.ts';
import { targetName } from './sarif.ts';
import type { Report, ReportCheck, ReportRule } from './report.ts';

/** Escapes text for XML content and double-quoted attributes; drops characters XML 1.0 cannot represent. */
export function xmlEscape(value: string): string {
  return value
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export type JUnitOutcome = 'error' | 'failure' | 'skipped' | 'passed';

export function junitOutcome(rule: ReportRule): JUnitOutcome {
  const has = (s: Status): boolean => rule.checks.some((c) => c.status === s);
  if (has('Errored')) return 'error';
  if (has('Failed')) return 'failure';
  if (rule.checks.length > 0 && rule.checks.every((c) => c.status === 'Skipped' || c.status === 'Not Implemented'))
    return 'skipped';
  return 'passed';
}

function describe(checks: ReportCheck[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.status}: ${c.message}`);
    for (const t of c.targets ?? []) lines.push(`  ${targetName(t)}`);
  }
  return lines.join('\n');
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
}

function testcase(rule: ReportRule, classname: string): { xml: string; outcome: JUnitOutcome } {
  const outcome = junitOutcome(rule);
  const notPassed = rule.checks.filter((c) => c.status !== 'Passed');
  const count = (s: Status): number =>
    rule.checks.filter((c) => c.status === s).reduce((n, c) => n + Math.max(1, c.targets?.length ?? 0), 0);
  const head = `<testcase${attrs({ classname, name: `${rule.id}: ${rule.name}`, time: 0 })}`;
  let inner = '';
  if (outcome === 'error') {
    inner = `<error${attrs({ type: 'Errored', message: `${count('Errored')} errored, ${count('Failed')} failed` })}>${xmlEscape(describe(notPassed))}</error>`;
  } else if (outcome === 'failure') {
    inner = `<failure${attrs({ type: 'Failed', message: `${count('Failed')} failed` })}>${xmlEscape(describe(notPassed))}</failure>`;
  } else if (outcome === 'skipped') {
    inner = `<skipped${attrs({ message: rule.checks.map((c) => c.message).join('; ') })}/>`;
  } else if (notPassed.length > 0) {
    inner = `<system-out>${xmlEscape(describe(notPassed))}</system-out>`;
  }
  const xml = inner ? `    ${head}>\n      ${inner}\n    </testcase>` : `    ${head}/>`;
  return { xml, outcome };
}

export function renderJUnit(report: Report): string {
  const suites: string[] = [];
  const totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const provider of report.providers)
    for (const ruleset of provider.rulesets) {
      const classname = `${ruleset.id}.${ruleset.version}`;
      const cases = ruleset.rules.map((r) => testcase(r, classname));
      const n = {
        tests: cases.length,
        failures: cases.filter((c) => c.outcome === 'failure').length,
        errors: cases.filter((c) => c.outcome === 'error').length,
        skipped: cases.filter((c) => c.outcome === 'skipped').length,
      };
      totals.tests += n.tests;
      totals.failures += n.failures;
      totals.errors += n.errors;
      totals.skipped += n.skipped;
      const properties = [
        ['provider', provider.id],
        ['ruleset', ruleset.id],
        ['version', ruleset.version],
        ['rulesetName', ruleset.name],
        ...Object.entries(provider.metadata ?? {}),
      ]
        .map(([name, value]) => `      <property${attrs({ name: name ?? '', value: value ?? '' })}/>`)
        .join('\n');
      suites.push(
        `  <testsuite${attrs({ name: `${ruleset.id} ${ruleset.version}`, ...n, time: 0, timestamp: report.time })}>\n    <properties>\n${properties}\n    </properties>\n${cases.map((c) => c.xml).join('\n')}\n  </testsuite>`,
      );
    }
  const cluster = report.metadata?.cluster;
  const name = typeof cluster === 'string' ? `argus ${cluster}` : 'argus';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name, ...totals, time: 0, timestamp: report.time })}>\n${suites.join('\n')}\n</testsuites>\n`;
}
