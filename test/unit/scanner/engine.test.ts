// The scanner engine without a cluster: configuration validation with field paths, rule execution (skip,
// acceptance, offline, errors, concurrency), report merging and minStatus, snapshots.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Type from 'typebox';
import { ValidationError } from '../../../src/api/validation.ts';
import { resolveConfig, readConfigText, type Catalog } from '../../../src/scanner/engine/config.ts';
import { failed, passed, warning } from '../../../src/scanner/engine/result.ts';
import { defineRule, skipRule, type RulesetDefinition } from '../../../src/scanner/engine/rule.ts';
import { OFFLINE_REASON, runScan } from '../../../src/scanner/engine/scan.ts';
import { Kinds } from '../../../src/scanner/objects/kinds.ts';
import { loadSnapshot, SnapshotError } from '../../../src/scanner/objects/snapshot.ts';
import { ObjectReadError, SnapshotObjectSource, type ObjectSource } from '../../../src/scanner/objects/source.ts';
import { buildReport, summarizeRuleset, withMinStatus, worstStatus } from '../../../src/scanner/report/report.ts';
import { managedK8s } from '../../../src/scanner/providers/managedk8s.ts';
import type { KubeObject } from '../../../src/kube/resources.ts';

const tmp = mkdtempSync(join(tmpdir(), 'argus-engine-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let running = 0;
let maxRunning = 0;
const podRule = defineRule({
  id: '1',
  name: 'Pods are named',
  severity: 'High',
  options: Type.Object({ allowed: Type.Array(Type.String()) }, { additionalProperties: false }),
  validate: (options, path) =>
    options.allowed.includes('') ? [{ field: `${path}.allowed`, message: 'must not contain ""' }] : [],
  async run(ctx) {
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    const pods = await ctx.objects.list(Kinds.pods);
    await new Promise((resolve) => setImmediate(resolve));
    running -= 1;
    return pods.map((p) =>
      ctx.options?.allowed.includes(p.metadata?.name ?? '')
        ? passed('Pod is allowed.', { kind: 'Pod', name: p.metadata?.name ?? '' })
        : failed('Pod is not allowed.', { kind: 'Pod', name: p.metadata?.name ?? '' }),
    );
  },
});
const liveRule = defineRule({ id: '2', name: 'Needs the API', live: true, run: () => [passed('ok')] });
const throwingRule = defineRule({
  id: '3',
  name: 'Throws',
  run: () => {
    throw new Error('boom');
  },
});
const skipped = skipRule('4', 'Organisational', 'Low', 'Organisational requirement.');
const slowRules = Array.from({ length: 12 }, (_, i) =>
  defineRule({
    id: `slow-${i}`,
    name: 'slow',
    async run(ctx) {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await ctx.objects.list(Kinds.namespaces);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return [warning('w')];
    },
  }),
);

const ruleset: RulesetDefinition = {
  id: 'test-rules',
  name: 'Test rules',
  providers: ['managedk8s'],
  versions: [
    { version: 'v2', rules: [podRule, liveRule, throwingRule, skipped] },
    { version: 'v1', rules: [podRule], args: Type.Object({ maxRetries: Type.Integer({ minimum: 0 }) }) },
    { version: 'slow', rules: slowRules },
  ],
};
const catalog: Catalog = { providers: [managedK8s], rulesets: [ruleset] };

const pod = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'a' } });
const source = (objects: KubeObject[]): ObjectSource => new SnapshotObjectSource(new Map([['core/pods', objects]]));

function configErrors(raw: unknown): string[] {
  try {
    resolveConfig(raw, catalog);
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.errors.map((e) => `${e.field}: ${e.message}`);
  }
  return [];
}

describe('configuration', () => {
  test('a valid diki config resolves to the newest version by default', () => {
    const text = `
providers:
- id: managedk8s
  name: My cluster
  args: { kubeconfigPath: /tmp/kc }
  rulesets:
  - id: test-rules
    ruleOptions:
    - ruleID: "1"
      args: { allowed: [a] }
    - ruleID: "3"
      skip: { enabled: true, justification: known }
output: { minStatus: Warning }
`;
    const resolved = resolveConfig(readConfigText(text, 'scan.yaml'), catalog);
    assert.equal(resolved.providers[0]!.name, 'My cluster');
    assert.equal(resolved.providers[0]!.rulesets[0]!.version.version, 'v2');
    assert.deepEqual(resolved.providers[0]!.rulesets[0]!.ruleOptions.get('1')!.args, { allowed: ['a'] });
  });

  test('every bad field is named by its path', () => {
    assert.deepEqual(configErrors({ providers: [{ id: 'managedk8s', rulesets: [{ id: 'test-rules', bogus: 1 }] }] }), [
      'providers[0].rulesets[0].bogus: unknown field',
    ]);
    assert.deepEqual(configErrors({}), ['providers: required field']);
    assert.deepEqual(configErrors({ providers: [{ id: 'managedk8s', rulesets: [{}] }] }), [
      'providers[0].rulesets[0].id: required field',
    ]);
    assert.deepEqual(configErrors({ providers: [{ id: 'x', rulesets: [{ id: 'test-rules' }] }] }), [
      'providers[0].id: unknown provider "x" (known: managedk8s)',
    ]);
    assert.deepEqual(
      configErrors({
        providers: [
          {
            id: 'managedk8s',
            args: { kubeconfig: 'x' },
            rulesets: [
              { id: 'nope' },
              { id: 'test-rules', version: 'v9' },
              { id: 'test-rules', version: 'v1', args: { maxRetries: -1 } },
              {
                id: 'test-rules',
                ruleOptions: [
                  { ruleID: '1', args: { allowed: 'a' } },
                  { ruleID: '99' },
                  { ruleID: '2', args: { x: 1 } },
                  { ruleID: '1' },
                ],
              },
            ],
          },
        ],
        output: { minStatus: 'Bad' },
      }).sort(),
      [
        'output.minStatus: must be one of: "Passed", "Skipped", "Accepted", "Warning", "Failed", "Errored", "Not Implemented"',
      ],
    );
  });

  test('semantic errors are collected across providers, rulesets and rule options', () => {
    assert.deepEqual(
      configErrors({
        providers: [
          {
            id: 'managedk8s',
            args: { kubeconfig: 'x' },
            rulesets: [
              { id: 'nope' },
              { id: 'test-rules', version: 'v9' },
              { id: 'test-rules', version: 'v1', args: { maxRetries: -1 } },
              {
                id: 'test-rules',
                ruleOptions: [
                  { ruleID: '1', args: { allowed: 'a' } },
                  { ruleID: '99' },
                  { ruleID: '2', args: { x: 1 } },
                  { ruleID: '1', args: { allowed: [''] } },
                ],
              },
            ],
          },
        ],
      }),
      [
        'providers[0].args.kubeconfig: unknown field',
        'providers[0].rulesets[0].id: unknown ruleset "nope" for provider managedk8s (known: test-rules)',
        'providers[0].rulesets[1].version: unknown version "v9" of test-rules (known: v2, v1, slow)',
        'providers[0].rulesets[2].args.maxRetries: must be >= 0',
        'providers[0].rulesets[3].ruleOptions[0].args.allowed: must be array',
        'providers[0].rulesets[3].ruleOptions[1].ruleID: unknown rule "99" in test-rules v2',
        'providers[0].rulesets[3].ruleOptions[2].args: rule 2 takes no args',
        'providers[0].rulesets[3].ruleOptions[3].ruleID: duplicate options for rule 1',
      ],
    );
    assert.deepEqual(
      configErrors({
        providers: [
          {
            id: 'managedk8s',
            rulesets: [{ id: 'test-rules', ruleOptions: [{ ruleID: '1', args: { allowed: [''] } }] }],
          },
        ],
      }),
      ['providers[0].rulesets[0].ruleOptions[0].args.allowed: must not contain ""'],
    );
  });

  test('YAML syntax errors say so', () => {
    assert.throws(() => readConfigText('providers: [', 'scan.yaml'), /scan.yaml is not valid YAML/);
  });
});

describe('running rules', () => {
  const config = (ruleOptions: unknown[] = [], version = 'v2') =>
    resolveConfig(
      { providers: [{ id: 'managedk8s', rulesets: [{ id: 'test-rules', version, ruleOptions }] }] },
      catalog,
    );

  test('options, offline skipping, errors and static skips', async () => {
    const [result] = await runScan(config([{ ruleID: '1', args: { allowed: ['a'] } }]), {
      objects: source([pod('a'), pod('b')]),
      live: undefined,
    });
    const rules = result!.rulesets[0]!.rules;
    assert.deepEqual(
      rules.map((r) => [r.id, r.checks.map((c) => c.status)]),
      [
        ['1', ['Passed', 'Failed']],
        ['2', ['Skipped']],
        ['3', ['Errored']],
        ['4', ['Skipped']],
      ],
    );
    assert.equal(rules[1]!.checks[0]!.message, OFFLINE_REASON);
    assert.equal(rules[2]!.checks[0]!.message, 'boom');
    assert.equal(rules[3]!.checks[0]!.message, 'Organisational requirement.');
    assert.equal(rules[0]!.severity, 'High');
  });

  test('a skipped rule is Accepted with its justification and never runs', async () => {
    const [result] = await runScan(config([{ ruleID: '3', skip: { enabled: true, justification: 'we know' } }]), {
      objects: source([]),
      live: undefined,
    });
    assert.deepEqual(result!.rulesets[0]!.rules[2]!.checks, [{ status: 'Accepted', message: 'we know' }]);
  });

  test('a kind that cannot be read makes the rules that need it Errored, naming the list', async () => {
    const broken: ObjectSource = {
      mode: 'live',
      objectsRead: 0,
      list: () => Promise.reject(new ObjectReadError('Pod', new Error('pods is forbidden'))),
    };
    const [result] = await runScan(config(), { objects: broken, live: undefined });
    assert.deepEqual(result!.rulesets[0]!.rules[0]!.checks, [
      { status: 'Errored', message: 'pods is forbidden', target: { kind: 'PodList' } },
    ]);
  });

  test('rules run concurrently, bounded, and report progress', async () => {
    running = 0;
    maxRunning = 0;
    const events: string[] = [];
    await runScan(config([], 'slow'), {
      objects: new SnapshotObjectSource(new Map()),
      live: undefined,
      concurrency: 3,
      onEvent: (e) => events.push(e.type === 'rule' ? `${e.done}/${e.total}` : `start ${e.rules}`),
    });
    assert.equal(maxRunning, 3);
    assert.equal(events[0], 'start 12');
    assert.equal(events.at(-1), '12/12');
  });
});

describe('report', () => {
  const results = [
    {
      id: 'managedk8s',
      name: 'Managed Kubernetes',
      rulesets: [
        {
          id: 'r',
          name: 'R',
          version: 'v1',
          rules: [
            {
              id: '1',
              name: 'one',
              severity: 'High' as const,
              checks: [
                failed('bad', { name: 'a' }),
                passed('good', { name: 'b' }),
                failed('bad', { name: 'c' }),
                failed('other'),
                passed('good', { name: 'd' }),
              ],
            },
            { id: '2', name: 'two', checks: [warning('hmm')] },
          ],
        },
      ],
    },
  ];

  test('checks with the same status and message merge, targets kept in order', () => {
    const report = buildReport(results, { metadata: { cluster: 'x' }, time: new Date(0) });
    assert.equal(report.time, '1970-01-01T00:00:00.000Z');
    assert.deepEqual(report.metadata, { cluster: 'x' });
    assert.deepEqual(report.providers[0]!.rulesets[0]!.rules[0]!.checks, [
      { status: 'Failed', message: 'bad', targets: [{ name: 'a' }, { name: 'c' }] },
      { status: 'Passed', message: 'good', targets: [{ name: 'b' }, { name: 'd' }] },
      { status: 'Failed', message: 'other' },
    ]);
    assert.equal(worstStatus(report), 'Failed');
    const summary = summarizeRuleset(report.providers[0]!.rulesets[0]!);
    assert.equal(summary.rules.Failed, 1);
    assert.equal(summary.rules.Passed, 1);
    assert.equal(summary.rules.Warning, 1);
    assert.equal(summary.findings.Failed, 3);
    assert.deepEqual(summary.failed, [{ id: '1', name: 'one' }]);
  });

  test('minStatus drops lower checks and can only be raised', () => {
    const report = buildReport(results, { minStatus: 'Warning' });
    assert.equal(report.minStatus, 'Warning');
    assert.deepEqual(
      report.providers[0]!.rulesets[0]!.rules[0]!.checks.map((c) => c.status),
      ['Failed', 'Failed'],
    );
    const raised = withMinStatus(report, 'Failed');
    assert.deepEqual(raised.providers[0]!.rulesets[0]!.rules[1]!.checks, []);
    assert.equal(withMinStatus(raised, 'Passed'), raised);
  });
});

describe('snapshots', () => {
  test('directories of manifests and List dumps load, unknown kinds are ignored', async () => {
    const dir = join(tmp, 'snap');
    mkdirSync(join(dir, 'nested'), { recursive: true });
    writeFileSync(
      join(dir, 'a.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p1, namespace: a}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n',
    );
    writeFileSync(
      join(dir, 'nested', 'dump.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p2', namespace: 'a', managedFields: [{}] } },
          { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'a' } },
        ],
      }),
    );
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const { source, summary } = await loadSnapshot(dir);
    assert.deepEqual(summary, { files: 2, objects: 3, ignored: 1 });
    const pods = await source.list(Kinds.pods);
    assert.deepEqual(
      pods.map((p) => p.metadata?.name),
      ['p1', 'p2'],
    );
    assert.equal('managedFields' in (pods[1]!.metadata ?? {}), false);
    assert.equal((await source.list(Kinds.deployments)).length, 1);
    assert.equal((await source.list(Kinds.services)).length, 0);
  });

  test('bad snapshots name the file and document', async () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\n---\nfoo: [\n');
    await assert.rejects(loadSnapshot(file), (err: Error) => {
      assert.ok(err instanceof SnapshotError);
      assert.match(err.message, /bad.yaml: document 2/);
      return true;
    });
    writeFileSync(file, 'metadata: {name: x}\n');
    await assert.rejects(loadSnapshot(file), /bad.yaml: document 1: apiVersion and kind are required/);
    await assert.rejects(loadSnapshot(join(tmp, 'missing')), /does not exist/);
  });
});
