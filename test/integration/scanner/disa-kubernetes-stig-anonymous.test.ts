// DISA STIG 242390 against a kube-apiserver started with --anonymous-auth=false: the anonymous probe gets 401
// and the rule passes (the main STIG test file covers the default, anonymous-enabled server).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ruleChecks, scanTestbed } from '../../support/scanner.ts';
import { ControlPlane } from '../../testbed/controlplane.ts';

let cp: ControlPlane;

before(async () => {
  cp = await ControlPlane.start({
    name: 'stig-anon',
    apiServerArgs: ['--anonymous-auth=false'],
    controllerManager: false,
  });
});

after(async () => {
  await cp?.stop();
});

test('242390 passes when the kube-apiserver rejects anonymous requests', async () => {
  const report = await scanTestbed(cp, [{ id: 'disa-kubernetes-stig', version: 'v2r5' }]);
  assert.deepEqual(ruleChecks(report, '242390'), [
    {
      status: 'Passed',
      message: 'The kube-apiserver rejects anonymous requests.',
      targets: [{ details: 'HTTP status of an anonymous request: 401' }],
    },
  ]);
});
