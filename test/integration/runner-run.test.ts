// `argus run scan` and `argus run export` as the two containers of a ComplianceScan Job run them: real
// processes against a testbed control plane with the diki CRDs, talking to it through a kubeconfig file.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import {
  complianceScanType,
  dikiCrds,
  reportOutputType,
  type ComplianceScan,
  type ReportOutput,
} from '../../src/api/diki/index.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { reportStatus } from '../../src/runner/summary.ts';
import { readReport } from '../../src/scanner/report/report.ts';
import { waitFor } from '../../src/util/time.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { runCommand, type CommandResult } from '../testbed/process.ts';

const cli = join(import.meta.dirname, '../../src/cli/main.ts');
const scans = complianceScanType.resourceType;
const reportOutputs = reportOutputType.resourceType;

let cp: ControlPlane;
let client: KubeClient;
let dir: string;
let kubeconfig: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'argus-run-'));
  cp = await ControlPlane.start({ name: 'runner-run', controllerManager: false });
  client = cp.client('argus-test/runner-run');
  kubeconfig = cp.writeKubeconfig(join(dir, 'kubeconfig'));
  for (const crd of dikiCrds()) await client.create(Resources.customResourceDefinitions, crd as never);
  await waitFor('the diki resources to be served', async () => {
    await client.list(scans);
    await client.list(reportOutputs);
    return true;
  });
});

after(async () => {
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const argus = (args: string[]): Promise<CommandResult> => runCommand(process.execPath, [cli, ...args]);

/** A scanner configuration of one fast ruleset, as the operator generates it. */
function writeConfig(name: string, ruleset: Record<string, unknown> = { id: 'security-hardened-k8s' }): string {
  const path = join(dir, name);
  writeFileSync(path, stringify({ providers: [{ id: 'managedk8s', rulesets: [ruleset] }] }));
  return path;
}

test('run scan writes the report; run export fills status.outputs, rulesets and summary, leaving phase alone', async () => {
  const namespace = 'reports';
  await client.create(Resources.namespaces, { metadata: { name: namespace } });
  await client.create<ReportOutput>(reportOutputs, {
    metadata: { name: 'to-configmap' },
    spec: { output: { configMap: { namespace } } },
  });
  const scan = await client.create<ComplianceScan>(scans, {
    metadata: { name: 'scan-1' },
    spec: {
      rulesets: [{ id: 'security-hardened-k8s' }],
      outputs: [{ name: 'to-configmap' }, { name: 'deleted-output', optional: true }],
    },
  });
  const uid = scan.metadata!.uid!;
  // What the operator wrote before the Job ran: the exporter must keep it.
  const running = { phase: 'Running', conditions: [] };
  await client.patch(scans, 'scan-1', { status: running }, 'merge', { subresource: 'status' });

  const output = join(dir, 'output', 'report.json');
  // prettier-ignore
  const scanned = await argus([
    'run', 'scan', '--config', writeConfig('config.yaml'), '--output', output,
    '--kubeconfig', kubeconfig, '--termination-log', join(dir, 'scan-termination-log'),
  ]);
  assert.equal(scanned.code, 0, scanned.stderr);
  const report = await readReport(output);
  assert.deepEqual(
    report.providers.flatMap((p) => p.rulesets.map((r) => r.id)),
    ['security-hardened-k8s'],
  );
  assert.deepEqual(readdirSync(join(dir, 'output')), ['report.json'], 'no temporary file left behind');
  assert.equal(existsSync(join(dir, 'scan-termination-log')), false);

  // prettier-ignore

  const exported = await argus([
    'run', 'export', '--report', output, '--scan', 'scan-1', '--scan-uid', uid,
    '--kubeconfig', kubeconfig, '--termination-log', join(dir, 'export-termination-log'),
  ]);
  assert.equal(exported.code, 0, exported.stderr);

  const status = (await client.get<ComplianceScan>(scans, 'scan-1')).status!;
  assert.equal(status.phase, 'Running');
  assert.deepEqual(status.outputs, [
    {
      outputName: 'to-configmap',
      phase: 'Completed',
      details: { configMapRef: { name: 'compliance-scan-report-scan-1', namespace } },
    },
    {
      outputName: 'deleted-output',
      phase: 'Failed',
      reason: 'ReportOutputNotFound',
      message: 'ReportOutput deleted-output not found',
    },
  ]);
  const expected = reportStatus(report);
  assert.deepEqual(status.rulesets, expected.rulesets);
  assert.deepEqual(status.summary, expected.summary);
  assert.match(status.summary?.rulesets ?? '', /^security-hardened-k8s@v\d/);

  const configMap = await client.get<{ metadata?: { name?: string }; binaryData: Record<string, string> }>(
    Resources.configMaps,
    'compliance-scan-report-scan-1',
    namespace,
  );
  const exportedReport: unknown = JSON.parse(
    gunzipSync(Buffer.from(configMap.binaryData['report.json.gz']!, 'base64')).toString(),
  );
  assert.deepEqual(exportedReport, report);
});

test('run export refuses a scan that was replaced (another UID) and writes nothing', async () => {
  const report = join(dir, 'replaced-report.json');
  writeFileSync(report, JSON.stringify({ time: new Date().toISOString(), dikiVersion: '0.1.0', providers: [] }));
  await client.create<ComplianceScan>(scans, { metadata: { name: 'scan-2' }, spec: { rulesets: [] } });
  const terminationLog = join(dir, 'replaced-termination-log');
  // prettier-ignore
  const exported = await argus([
    'run', 'export', '--report', report, '--scan', 'scan-2', '--scan-uid', '00000000-0000-4000-8000-000000000000',
    '--kubeconfig', kubeconfig, '--termination-log', terminationLog,
  ]);
  assert.equal(exported.code, 4, exported.stderr);
  assert.match(exported.stderr, /argus run export: ComplianceScan scan-2 has UID .* replaced/);
  assert.match(readFileSync(terminationLog, 'utf8'), /^ComplianceScan scan-2 has UID .* replaced$/);
  assert.equal((await client.get<ComplianceScan>(scans, 'scan-2')).status, undefined);
});

test('run scan with an invalid configuration fails, naming the field on stderr and in the termination log', async () => {
  const terminationLog = join(dir, 'invalid-termination-log');
  const output = join(dir, 'invalid', 'report.json');
  // prettier-ignore
  const scanned = await argus([
    'run', 'scan', '--config', writeConfig('invalid.yaml', { id: 'security-hardened-k8s', version: 'v9' }),
    '--output', output, '--kubeconfig', kubeconfig, '--termination-log', terminationLog,
  ]);
  assert.equal(scanned.code, 2, scanned.stderr);
  const field = 'providers[0].rulesets[0].version: unknown version "v9" of security-hardened-k8s';
  const line = scanned.stderr.split('\n').find((l) => l.startsWith('argus run scan: '));
  assert.ok(line?.includes(field), scanned.stderr);
  const message = readFileSync(terminationLog, 'utf8');
  assert.equal(`argus run scan: ${message}`, line);
  assert.equal(existsSync(output), false);
});
