// The pure parts of `argus run`: the scan status computed from a report, the termination message, retries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../../src/kube/client.ts';
import { mapBounded, retryTransient, terminationMessage } from '../../../src/runner/job.ts';
import { reportStatus, rulesetStatus } from '../../../src/runner/summary.ts';
import type { Report, ReportRuleset } from '../../../src/scanner/report/report.ts';
import { sampleReport } from '../../support/sample-report.ts';

const ruleset: ReportRuleset = {
  id: 'security-hardened-k8s',
  name: 'Security Hardened Kubernetes',
  version: 'v0.1.0',
  rules: [
    {
      id: '2000',
      name: 'Ingress and egress traffic must be restricted by default.',
      checks: [
        { status: 'Passed', message: 'ok', targets: [{ kind: 'Namespace', name: 'a' }] },
        { status: 'Failed', message: 'no policy', targets: [{ kind: 'Namespace', name: 'b' }, { name: 'c' }] },
        { status: 'Failed', message: 'other message' },
      ],
    },
    {
      id: '2001',
      name: 'Containers must be forbidden to escalate privileges.',
      checks: [{ status: 'Accepted', message: 'a' }],
    },
    {
      id: '2002',
      name: 'Storage Classes should have a "Delete" reclaim policy.',
      checks: [
        { status: 'Warning', message: 'w' },
        { status: 'Errored', message: 'e' },
      ],
    },
    { id: '2003', name: 'Pods should use only allowed volume types.', checks: [{ status: 'Skipped', message: 's' }] },
    { id: '2004', name: 'Not implemented yet.', checks: [{ status: 'Not Implemented', message: 'n' }] },
    { id: '2005', name: 'No checks.', checks: [] },
  ],
};

test('rulesetStatus: a rule counts once under every status its checks have; rule lists by status', () => {
  assert.deepEqual(rulesetStatus(ruleset), {
    id: 'security-hardened-k8s',
    version: 'v0.1.0',
    results: {
      summary: { passed: 1, failed: 1, warning: 1, errored: 1, skipped: 1, accepted: 1 },
      rules: {
        failed: [{ id: '2000', name: 'Ingress and egress traffic must be restricted by default.' }],
        errored: [{ id: '2002', name: 'Storage Classes should have a "Delete" reclaim policy.' }],
        warning: [{ id: '2002', name: 'Storage Classes should have a "Delete" reclaim policy.' }],
      },
    },
  });
});

test('rulesetStatus: empty rule lists are left out', () => {
  const passing: ReportRuleset = {
    ...ruleset,
    rules: [{ id: '1', name: 'one', checks: [{ status: 'Passed', message: 'ok' }] }],
  };
  assert.deepEqual(rulesetStatus(passing).results, {
    summary: { passed: 1, failed: 0, warning: 0, errored: 0, skipped: 0, accepted: 0 },
    rules: {},
  });
});

test('reportStatus: every ruleset of every provider in order, and the totals over them', () => {
  const report: Report = sampleReport();
  const { rulesets, summary } = reportStatus(report);
  const expected = report.providers.flatMap((p) => p.rulesets.map((r) => `${r.id}@${r.version}`));
  assert.deepEqual(
    rulesets.map((r) => `${r.id}@${r.version}`),
    expected,
  );
  assert.equal(summary.rulesets, expected.join(','));
  for (const key of ['passed', 'failed', 'warning', 'errored', 'skipped', 'accepted'] as const) {
    assert.equal(
      summary[key],
      rulesets.reduce((n, r) => n + r.results!.summary![key]!, 0),
      key,
    );
  }
  // each listed rule has a check of that status in the report
  const rules = new Map(
    report.providers.flatMap((p) => p.rulesets.flatMap((r) => r.rules.map((rule) => [rule.id, rule]))),
  );
  for (const r of rulesets)
    for (const [list, status] of [
      ['failed', 'Failed'],
      ['errored', 'Errored'],
      ['warning', 'Warning'],
    ] as const)
      for (const ref of r.results!.rules![list] ?? [])
        assert.ok(
          rules.get(ref.id)!.checks.some((c) => c.status === status),
          `${ref.id} ${status}`,
        );
  assert.ok(summary.failed! > 0);
});

test('terminationMessage: one line, at most 4096 bytes, never a broken character', () => {
  assert.equal(terminationMessage('a\n  b\r\nc'), 'a b c');
  const long = terminationMessage('x'.repeat(5000));
  assert.equal(Buffer.byteLength(long), 4096);
  const euro = terminationMessage('€'.repeat(2000)); // 3 bytes each
  assert.equal(Buffer.byteLength(euro), 4095);
  assert.ok(!euro.includes('\uFFFD'));
  assert.equal(terminationMessage('äb', 2), 'ä');
  assert.equal(terminationMessage('äb', 1), '');
});

test('retryTransient: retries server errors, conflicts and transport failures, not client errors or our own', async () => {
  let calls = 0;
  const value = await retryTransient(
    async () => {
      if (++calls < 3) throw new ApiError(calls === 1 ? 503 : 409, {}, 'PATCH');
      return 'done';
    },
    { initialDelayMs: 1 },
  );
  assert.deepEqual([value, calls], ['done', 3]);
  calls = 0;
  await assert.rejects(
    retryTransient(
      async () => {
        calls++;
        throw new ApiError(422, {}, 'PATCH');
      },
      { initialDelayMs: 1 },
    ),
    /422/,
  );
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    retryTransient(
      async () => {
        calls++;
        throw new Error('GET /version: fetch failed', { cause: new Error('connect ECONNREFUSED') });
      },
      { initialDelayMs: 1, attempts: 3 },
    ),
    /fetch failed/,
  );
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(
    retryTransient(
      async () => {
        calls++;
        throw new Error('the scan was replaced');
      },
      { initialDelayMs: 1 },
    ),
    /replaced/,
  );
  assert.equal(calls, 1, 'an error of our own is final');
});

test('mapBounded: input order, never more than the limit at once', async () => {
  let running = 0;
  let peak = 0;
  const results = await mapBounded([5, 1, 4, 2, 3], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    for (let i = 0; i < n; i++) await new Promise(setImmediate);
    running--;
    return n * 10;
  });
  assert.deepEqual(results, [50, 10, 40, 20, 30]);
  assert.equal(peak, 2);
  assert.deepEqual(await mapBounded([], 4, async () => 1), []);
});
