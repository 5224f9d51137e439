// The runner's report exporters (src/runner/outputs) against real endpoints: a testbed control plane for the
// ConfigMap output, a local HTTPS receiver for the webhook, a real PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { exportReport, OutputError, type OutputContext } from '../../src/runner/outputs/index.ts';
import type { Report } from '../../src/scanner/report/report.ts';
import { sampleReport } from '../support/sample-report.ts';
import { ControlPlane } from '../testbed/controlplane.ts';

let cp: ControlPlane;
let client: KubeClient;
let namespaces = 0;

before(async () => {
  cp = await ControlPlane.start({ name: 'outputs', controllerManager: false });
  client = cp.client('argus-test/runner-outputs');
});

after(async () => {
  await cp?.stop();
});

async function namespace(): Promise<string> {
  const name = `outputs-${++namespaces}`;
  await client.create(Resources.namespaces, { metadata: { name } });
  return name;
}

const ctx = (scanName = 'scan-1', scanUid = '4a8c2f0e-0000-4000-8000-000000000001'): OutputContext => ({
  client,
  scanName,
  scanUid,
});

interface ConfigMapObject {
  metadata: { labels?: Record<string, string>; resourceVersion?: string };
  binaryData?: Record<string, string>;
}

/** A report that gzips to about `bytes`: random (incompressible) messages. */
function largeReport(bytes: number): Report {
  const report = sampleReport();
  const checks = Array.from({ length: Math.ceil(bytes / 7_600) }, () => ({
    status: 'Failed' as const,
    message: randomBytes(7_500).toString('base64'),
  }));
  report.providers[0]!.rulesets[0]!.rules.push({ id: 'big', name: 'big', checks });
  return report;
}

describe('configMap output', () => {
  test('round trip: the ConfigMap holds the gzipped report, labelled with the scan', async () => {
    const ns = await namespace();
    const report = sampleReport();
    const details = await exportReport(report, { output: { configMap: { namespace: ns } } }, ctx('weekly-1'));
    assert.deepEqual(details, { configMapRef: { name: 'compliance-scan-report-weekly-1', namespace: ns } });
    const cm = await client.get<ConfigMapObject>(Resources.configMaps, 'compliance-scan-report-weekly-1', ns);
    const gz = Buffer.from(cm.binaryData?.['report.json.gz'] ?? '', 'base64');
    assert.deepEqual(JSON.parse(gunzipSync(gz).toString('utf8')), report);
    assert.equal(cm.metadata.labels?.['compliancescan.diki.gardener.cloud/name'], 'weekly-1');
    assert.equal(cm.metadata.labels?.['compliancescan.diki.gardener.cloud/uid'], ctx().scanUid);
  });

  test('exporting again replaces the report (idempotent), with a custom prefix', async () => {
    const ns = await namespace();
    const spec = { output: { configMap: { namespace: ns, namePrefix: 'r-' } } };
    await exportReport(sampleReport(), spec, ctx());
    const second = sampleReport({ time: '2026-01-01T00:00:00.000Z' });
    const details = await exportReport(second, spec, ctx());
    assert.deepEqual(details, { configMapRef: { name: 'r-scan-1', namespace: ns } });
    const again = await exportReport(second, spec, ctx());
    assert.deepEqual(again, details);
    const list = await client.list<ConfigMapObject>(Resources.configMaps, {
      namespace: ns,
      labelSelector: 'app.kubernetes.io/managed-by=argus',
    });
    assert.equal(list.items.length, 1);
    const gz = Buffer.from(list.items[0]!.binaryData?.['report.json.gz'] ?? '', 'base64');
    assert.deepEqual(JSON.parse(gunzipSync(gz).toString('utf8')), second);
  });

  test('a report over 1 MiB gzipped fails clearly and writes nothing', async () => {
    const ns = await namespace();
    const report = largeReport(1_300_000);
    await assert.rejects(
      exportReport(report, { output: { configMap: { namespace: ns } } }, ctx('big')),
      (err: unknown) => {
        assert.ok(err instanceof OutputError);
        assert.equal(err.reason, 'ReportTooLarge');
        assert.match(err.message, /1\.\d\d MiB \(\d+ bytes\), over the ConfigMap limit of 1\.00 MiB \(1048576 bytes\)/);
        return true;
      },
    );
    assert.equal(await client.getOrUndefined(Resources.configMaps, 'compliance-scan-report-big', ns), undefined);
  });

  test('a report just under the limit is written whole', async () => {
    const ns = await namespace();
    const report = largeReport(900_000);
    await exportReport(report, { output: { configMap: { namespace: ns } } }, ctx('almost'));
    const cm = await client.get<ConfigMapObject>(Resources.configMaps, 'compliance-scan-report-almost', ns);
    const gz = Buffer.from(cm.binaryData?.['report.json.gz'] ?? '', 'base64');
    assert.deepEqual(JSON.parse(gunzipSync(gz).toString('utf8')), report);
  });
});
