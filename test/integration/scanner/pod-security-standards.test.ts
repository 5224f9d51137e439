// The pod-security-standards ruleset against a real API server. Every control has pods that comply and pods that
// violate it (test/support/pss-cases.ts); a live scan must give each the expected statuses. The API server's own
// Pod Security Admission is the reference: each pod is also created with dryRun in namespaces that enforce
// baseline and restricted, and the ruleset must fail exactly the pods PSA rejects. Then owners, ops pods,
// acceptances and skipped rules.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../../../src/kube/client.ts';
import type { Report } from '../../../src/scanner/report/report.ts';
import { Kinds } from '../../../src/scanner/objects/kinds.ts';
import { podSecurityStandards } from '../../../src/scanner/rulesets/pod-security-standards/index.ts';
import { OPS_POD_ROLE, OPS_POD_ROLE_LABEL } from '../../../src/scanner/rulesets/shared/pods.ts';
import { waitFor } from '../../../src/util/time.ts';
import { ControlPlane } from '../../testbed/controlplane.ts';
import { casePod, minimalSpec, pssCases, restrictedSpec } from '../../support/pss-cases.ts';
import { findingsFor, scanTestbed, statusesFor } from '../../support/scanner.ts';

const RULESET = 'pod-security-standards';
const ruleIds = podSecurityStandards.versions[0]!.rules.map((r) => r.id);
const baselineIds = ruleIds.filter((id) => id.startsWith('PSS-B'));
const ENFORCE = 'pod-security.kubernetes.io/enforce';
const onlineCases = pssCases.filter((c) => !c.offlineOnly);

let cp: ControlPlane;
let client: KubeClient;

before(async () => {
  cp = await ControlPlane.start({ name: 'pss' });
  client = cp.client();
});
after(async () => {
  await cp?.stop();
});

async function namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await client.create(Kinds.namespaces, { metadata: { name, labels } });
  // Pods are admitted only once the namespace's default ServiceAccount exists.
  await waitFor(`ServiceAccount default in ${name}`, () =>
    client.getOrUndefined(Kinds.serviceAccounts, 'default', name),
  );
}

/** Whether Pod Security Admission rejects the pod in `ns` (a server-side dry run: nothing is stored). */
async function psaRejects(pod: V1Pod, ns: string): Promise<boolean> {
  try {
    await client.create(Kinds.pods, { ...pod, metadata: { ...pod.metadata, namespace: ns } }, { dryRun: true });
    return false;
  } catch (err) {
    if (err instanceof ApiError && err.code === 403 && err.message.includes('violates PodSecurity')) return true;
    throw err;
  }
}

const failedRules = (report: Report, ns: string, name: string, ids: string[]): string[] =>
  ids.filter((id) => statusesFor(report, id, { namespace: ns, name }, RULESET).includes('Failed'));

describe('controls and Pod Security Admission', () => {
  const ns = 'pss-cases';
  let report: Report;
  const rejected = { baseline: new Set<string>(), restricted: new Set<string>() };

  before(async () => {
    await namespace(ns);
    await namespace('psa-baseline', { [ENFORCE]: 'baseline' });
    await namespace('psa-restricted', { [ENFORCE]: 'restricted' });
    const invalid: string[] = [];
    for (const c of onlineCases) {
      const pod = casePod(c, ns);
      try {
        await client.create(Kinds.pods, pod);
      } catch (err) {
        invalid.push(`${c.name}: ${(err as Error).message}`);
        continue;
      }
      for (const level of ['baseline', 'restricted'] as const)
        if (await psaRejects(pod, `psa-${level}`)) rejected[level].add(c.name);
    }
    assert.deepEqual(invalid, [], 'every case pod is valid');
    report = await scanTestbed(cp, [{ id: RULESET }]);
  });

  test('every control passes the pods that comply and fails the pods that violate it', () => {
    for (const c of onlineCases)
      for (const id of ruleIds) {
        const expected = c.violates.includes(id) ? 'Failed' : 'Passed';
        assert.deepEqual(
          statusesFor(report, id, { namespace: ns, name: c.name }, RULESET),
          [expected],
          `${id} on ${c.name}`,
        );
      }
  });

  test('the Baseline rules fail exactly the pods PSA rejects at enforce=baseline', () => {
    assert.ok(rejected.baseline.size > 5 && rejected.baseline.size < onlineCases.length, 'a mix of outcomes');
    for (const c of onlineCases)
      assert.equal(
        failedRules(report, ns, c.name, baselineIds).length > 0,
        rejected.baseline.has(c.name),
        `pod ${c.name}: PSA ${rejected.baseline.has(c.name) ? 'rejects' : 'admits'} it, we fail ${failedRules(report, ns, c.name, baselineIds).join(', ') || 'nothing'}`,
      );
  });

  test('all rules fail exactly the pods PSA rejects at enforce=restricted', () => {
    assert.ok(rejected.restricted.size > rejected.baseline.size && rejected.restricted.size < onlineCases.length);
    for (const c of onlineCases)
      assert.equal(
        failedRules(report, ns, c.name, ruleIds).length > 0,
        rejected.restricted.has(c.name),
        `pod ${c.name}: PSA ${rejected.restricted.has(c.name) ? 'rejects' : 'admits'} it, we fail ${failedRules(report, ns, c.name, ruleIds).join(', ') || 'nothing'}`,
      );
  });
});

describe('pods checked', () => {
  const ns = 'pss-owners';
  let report: Report;

  before(async () => {
    await namespace(ns);
    const spec = minimalSpec();
    spec.containers[0]!.securityContext = { privileged: true };
    await client.create(Kinds.deployments, {
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec },
      },
    });
    await client.create(Kinds.pods, {
      metadata: { name: 'ops', namespace: ns, labels: { [OPS_POD_ROLE_LABEL]: OPS_POD_ROLE } },
      spec: {
        hostPID: true,
        hostNetwork: true,
        containers: [{ name: 'ops', image: 'ops:1', securityContext: { privileged: true } }],
      },
    });
    await waitFor('two pods of Deployment web', async () => {
      const pods = await client.list<V1Pod>(Kinds.pods, { namespace: ns, labelSelector: 'app=web' });
      return pods.items.length === 2;
    });
    report = await scanTestbed(cp, [{ id: RULESET }]);
  });

  test('one pod per owner, named by its Deployment, per container', () => {
    const findings = findingsFor(
      report,
      'PSS-B003',
      { namespace: ns, ownerKind: 'Deployment', ownerName: 'web' },
      RULESET,
    );
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.status, 'Failed');
    assert.equal(findings[0]!.target.container, 'app');
    assert.equal(
      findings[0]!.message,
      'Container sets securityContext.privileged to true; only false or unset is allowed.',
    );
  });

  test('ops pods of the scanner are skipped', () => {
    for (const id of ruleIds)
      assert.deepEqual(statusesFor(report, id, { namespace: ns, name: 'ops' }, RULESET), ['Skipped']);
  });
});

describe('acceptance', () => {
  const privilegedNs = 'pss-privileged';
  const baselineNs = 'pss-baseline';

  before(async () => {
    await namespace(privilegedNs, { [ENFORCE]: 'privileged', tier: 'system' });
    await namespace(baselineNs, { [ENFORCE]: 'baseline' });
    const privilegedSpec = minimalSpec();
    privilegedSpec.containers[0]!.securityContext = { privileged: true };
    for (const name of ['agent', 'other'])
      await client.create(Kinds.pods, {
        metadata: { name, namespace: privilegedNs, labels: { app: name } },
        spec: privilegedSpec,
      });
    // Baseline admits this pod; only the Restricted rules find something.
    await client.create(Kinds.pods, { metadata: { name: 'plain', namespace: baselineNs }, spec: minimalSpec() });
    await client.create(Kinds.pods, { metadata: { name: 'hardened', namespace: baselineNs }, spec: restrictedSpec() });
  });

  test('acceptedPods accepts the selected pods with the justification', async () => {
    const report = await scanTestbed(cp, [
      {
        id: RULESET,
        ruleOptions: [
          {
            ruleID: 'PSS-B003',
            args: {
              acceptedPods: [
                {
                  labelSelector: { matchLabels: { app: 'agent' } },
                  namespaceLabelSelector: { matchLabels: { tier: 'system' } },
                  justification: 'The node agent needs privileges.',
                },
              ],
            },
          },
        ],
      },
    ]);
    assert.deepEqual(
      findingsFor(report, 'PSS-B003', { namespace: privilegedNs, name: 'agent' }, RULESET).map((f) => [
        f.status,
        f.message,
      ]),
      [['Accepted', 'The node agent needs privileges.']],
    );
    assert.deepEqual(statusesFor(report, 'PSS-B003', { namespace: privilegedNs, name: 'other' }, RULESET), ['Failed']);
  });

  test('honorEnforceLabels accepts what the namespace level allows', async () => {
    const report = await scanTestbed(cp, [{ id: RULESET, args: { honorEnforceLabels: true } }]);
    for (const name of ['agent', 'other']) {
      assert.deepEqual(statusesFor(report, 'PSS-B003', { namespace: privilegedNs, name }, RULESET), ['Accepted']);
      assert.deepEqual(statusesFor(report, 'PSS-R002', { namespace: privilegedNs, name }, RULESET), ['Accepted']);
    }
    assert.deepEqual(statusesFor(report, 'PSS-R003', { namespace: baselineNs, name: 'plain' }, RULESET), ['Accepted']);
    assert.deepEqual(statusesFor(report, 'PSS-B003', { namespace: baselineNs, name: 'plain' }, RULESET), ['Passed']);
    assert.deepEqual(statusesFor(report, 'PSS-R003', { namespace: baselineNs, name: 'hardened' }, RULESET), ['Passed']);
  });

  test('a skipped rule is Accepted as a whole', async () => {
    const report = await scanTestbed(cp, [
      { id: RULESET, ruleOptions: [{ ruleID: 'PSS-R003', skip: { enabled: true, justification: 'Legacy images.' } }] },
    ]);
    const rule = report.providers[0]!.rulesets[0]!.rules.find((r) => r.id === 'PSS-R003')!;
    assert.deepEqual(
      rule.checks.map((c) => [c.status, c.message]),
      [['Accepted', 'Legacy images.']],
    );
  });
});
