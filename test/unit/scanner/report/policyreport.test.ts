// PolicyReports: one per namespace with findings and ruleset, a ClusterPolicyReport for the rest, mappings.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  objectName,
  policyReports,
  policyResult,
  renderPolicyReports,
  type PolicyReportObject,
} from '../../../../src/scanner/report/policyreport.ts';
import { findings } from '../../../../src/scanner/report/diff.ts';
import { nasty, sampleReport } from '../../../support/sample-report.ts';

describe('PolicyReport', () => {
  const report = sampleReport();
  const objects = policyReports(report);
  const find = (kind: string, name: string, namespace?: string): PolicyReportObject | undefined =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);

  test('one PolicyReport per namespace and ruleset, one ClusterPolicyReport per ruleset', () => {
    for (const o of objects) assert.equal(o.apiVersion, 'wgpolicyk8s.io/v1alpha2');
    const payments = find('PolicyReport', 'argus-disa-kubernetes-stig', 'payments');
    assert.ok(payments);
    assert.equal(payments.results.length, 120);
    assert.ok(find('ClusterPolicyReport', 'argus-disa-kubernetes-stig'));
    assert.ok(find('ClusterPolicyReport', 'argus-security-hardened-k8s'));
    // Namespace targets go to the namespace they name.
    const shop = find('PolicyReport', 'argus-security-hardened-k8s', 'shop');
    assert.ok(shop?.results.some((r) => r.rule === '2000' && r.resources?.[0]?.kind === 'Namespace'));
    // Every finding is in exactly one object.
    assert.equal(
      objects.reduce((n, o) => n + o.results.length, 0),
      findings(report).length,
    );
    assert.equal(
      new Set(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).size,
      objects.length,
    );
    assert.deepEqual(payments.metadata.labels, {
      'app.kubernetes.io/managed-by': 'argus',
      'argus.io/ruleset': 'disa-kubernetes-stig',
    });
  });

  test('results carry policy, rule, category, mapped result and severity, resources and properties', () => {
    const payments = find('PolicyReport', 'argus-disa-kubernetes-stig', 'payments')!;
    const r = payments.results[0]!;
    assert.equal(r.source, 'argus');
    assert.equal(r.policy, 'disa-kubernetes-stig/v2r6');
    assert.equal(r.rule, '242415');
    assert.equal(r.category, 'DISA Kubernetes Security Technical Implementation Guide');
    assert.equal(r.result, 'fail');
    assert.equal(r.severity, 'high');
    assert.equal(r.scored, true);
    assert.deepEqual(r.timestamp, { seconds: 1741944413, nanos: 589000000 });
    assert.deepEqual(r.resources, [
      { apiVersion: 'v1', kind: 'Pod', name: r.resources![0]!.name, namespace: 'payments' },
    ]);
    assert.equal(r.properties.container, 'api');
    assert.equal(r.properties.details, 'variableName: DB_PASSWORD_0');
    assert.equal(r.properties.ruleName, 'Secrets in Kubernetes must not be stored as environment variables.');
    const cluster = find('ClusterPolicyReport', 'argus-disa-kubernetes-stig')!;
    const skipped = cluster.results.find((x) => x.rule === '242376')!;
    assert.equal(skipped.result, 'skip');
    assert.equal(skipped.scored, false);
    assert.equal(skipped.properties.status, 'Skipped');
    assert.equal(skipped.resources, undefined);
    const node = cluster.results.find((x) => x.rule === '242387')!;
    assert.deepEqual(node.resources, [
      { apiVersion: 'v1', kind: 'Node', name: 'ip-10-250-0-17.eu-west-1.compute.internal' },
    ]);
  });

  test('maps every status and keeps summaries equal to the results', () => {
    assert.deepEqual(policyResult, {
      Passed: 'pass',
      Failed: 'fail',
      Warning: 'warn',
      Errored: 'error',
      Skipped: 'skip',
      Accepted: 'skip',
      'Not Implemented': 'skip',
    });
    for (const o of objects) {
      const counts = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
      for (const r of o.results) counts[r.result] += 1;
      assert.deepEqual(o.summary, counts);
    }
    const low = objects.flatMap((o) => o.results).find((r) => r.rule === 'PSS-R001')!;
    assert.equal(low.severity, 'low');
  });

  test('names are valid object names', () => {
    assert.equal(objectName('argus-Weird Ruleset_v1'), 'argus-weird-ruleset-v1');
    assert.equal(objectName('---'), 'report');
    assert.ok(objectName(`argus-${'x'.repeat(400)}`).length <= 253);
  });

  test('renders a v1 List in YAML that parses back, odd values intact', () => {
    const list = parse(renderPolicyReports(report)) as {
      apiVersion: string;
      kind: string;
      items: PolicyReportObject[];
    };
    assert.equal(list.apiVersion, 'v1');
    assert.equal(list.kind, 'List');
    assert.equal(list.items.length, objects.length);
    const odd = list.items.find((o) => o.metadata.namespace === nasty);
    assert.ok(odd);
    assert.equal(odd.results[0]!.resources![0]!.name, nasty);
  });
});
