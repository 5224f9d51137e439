// `argus report generate|diff|merge` as a user runs them: files in, files out, errors naming file and field.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sampleReport } from '../../../support/sample-report.ts';

const main = new URL('../../../../src/cli/main.ts', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'argus-report-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function argus(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const prod = join(tmp, 'prod.json');
const dev = join(tmp, 'dev.json');
writeFileSync(prod, JSON.stringify(sampleReport()));
const devReport = sampleReport({ metadata: { cluster: 'dev-eu1' } });
devReport.providers[0]!.rulesets[0]!.rules[0]!.checks[0]!.targets!.pop();
writeFileSync(dev, JSON.stringify(devReport));

describe('argus report', () => {
  test('generate writes each format; --min-status drops checks', async () => {
    for (const format of ['html', 'sarif', 'junit', 'policyreport', 'oscal', 'json']) {
      const out = join(tmp, `out.${format}`);
      const run = await argus(['report', 'generate', '--input', prod, '--format', format, '--output', out]);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(readFileSync(out, 'utf8').length > 1000, format);
    }
    const run = await argus(['report', 'generate', '--input', prod, '--format', 'json', '--min-status', 'Failed']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      minStatus: string;
      providers: { rulesets: { rules: { checks: { status: string }[] }[] }[] }[];
    };
    assert.equal(report.minStatus, 'Failed');
    const statuses = report.providers.flatMap((p) =>
      p.rulesets.flatMap((r) => r.rules.flatMap((x) => x.checks.map((c) => c.status))),
    );
    assert.ok(
      statuses.length > 0 && statuses.every((s) => s === 'Failed' || s === 'Errored' || s === 'Not Implemented'),
    );
  });

  test('a bad report names the file and the field', async () => {
    const bad = join(tmp, 'bad.json');
    const broken = sampleReport() as unknown as { providers: { rulesets: { version?: string }[] }[] };
    delete broken.providers[0]!.rulesets[1]!.version;
    writeFileSync(bad, JSON.stringify(broken));
    let run = await argus(['report', 'generate', '--input', bad]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.json is not a scan report: providers\[0\]\.rulesets\[1\]\.version: required field/);
    writeFileSync(bad, '{not json');
    run = await argus(['report', 'generate', '--input', bad]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /bad\.json is not JSON/);
    run = await argus(['report', 'generate', '--input', join(tmp, 'missing.json')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /cannot read --input .*missing\.json/);
    run = await argus(['report', 'generate', '--input', prod, '--format', 'pdf']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /Allowed choices are/);
  });

  test('diff prints JSON or writes HTML', async () => {
    const run = await argus(['report', 'diff', '--old', prod, '--new', dev]);
    assert.equal(run.code, 0, run.stderr);
    const diff = JSON.parse(run.stdout) as { removed: { target: { name: string } }[]; added: unknown[] };
    assert.equal(diff.added.length, 0);
    assert.deepEqual(
      diff.removed.map((f) => f.target.name),
      ['app-settings'],
    );
    const out = join(tmp, 'diff.html');
    const html = await argus(['report', 'diff', '--old', prod, '--new', dev, '--format', 'html', '--output', out]);
    assert.equal(html.code, 0, html.stderr);
    assert.match(readFileSync(out, 'utf8'), /app-settings/);
  });

  test('merge writes JSON or HTML; a duplicate cluster names both files', async () => {
    const out = join(tmp, 'merged.json');
    let run = await argus(['report', 'merge', '--distinct-by', 'cluster', '--output', out, prod, dev]);
    assert.equal(run.code, 0, run.stderr);
    const merged = JSON.parse(readFileSync(out, 'utf8')) as { reports: { id: string }[] };
    assert.deepEqual(
      merged.reports.map((r) => r.id),
      ['prod-eu1', 'dev-eu1'],
    );
    run = await argus([
      'report',
      'merge',
      '--distinct-by',
      'cluster',
      '--format',
      'html',
      '--output',
      join(tmp, 'm.html'),
      prod,
      dev,
    ]);
    assert.equal(run.code, 0, run.stderr);
    run = await argus(['report', 'merge', '--distinct-by', 'cluster', '--output', '-', prod, prod]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /prod\.json cannot be merged: metadata\.cluster: "prod-eu1" is also the value in .*prod\.json/,
    );
    run = await argus(['report', 'merge', '--distinct-by', 'region', '--output', '-', prod, dev]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /prod\.json cannot be merged: metadata\.region: required/);
  });

  test('report is a role now, with examples in its help', async () => {
    const run = await argus(['report', '--help']);
    assert.equal(run.code, 0);
    for (const word of ['generate', 'diff', 'merge', 'Examples:']) assert.ok(run.stdout.includes(word), word);
    const top = await argus(['--help']);
    assert.doesNotMatch(top.stdout, /report .*not available yet/);
  });
});
