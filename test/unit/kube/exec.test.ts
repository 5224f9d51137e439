// The exec client's reading of the status channel and of the testbed kubelet configuration helpers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../../src/kube/client.ts';
import { exitCodeOf } from '../../../src/kube/exec.ts';
import { flagValue, mergePatch } from '../../testbed/node-agent/kubelet-config.ts';

void test('the status channel gives the exit code: Success is 0, NonZeroExitCode carries it', () => {
  assert.equal(exitCodeOf({ metadata: {}, status: 'Success' } as never), 0);
  assert.equal(
    exitCodeOf({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      message: 'command terminated with non-zero exit code: error executing command [false], exit code 1',
      details: { causes: [{ reason: 'ExitCode', message: '1' }] },
    }),
    1,
  );
});

void test('other failures on the status channel are ApiErrors', () => {
  assert.throws(
    () => exitCodeOf({ status: 'Failure', reason: 'InternalError', code: 500, message: 'container is not running' }),
    (err) => err instanceof ApiError && err.code === 500 && /container is not running/.test(err.message),
  );
  assert.throws(
    () => exitCodeOf({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [] } }),
    (err) => err instanceof ApiError,
  );
});

void test('kubelet configuration patches merge objects, replace values and remove nulls', () => {
  const base = { a: 1, nested: { keep: true, change: 'x' }, list: [1, 2], gone: 'y' };
  assert.deepEqual(mergePatch(base, { nested: { change: 'z', added: 1 }, list: [3], gone: null }), {
    a: 1,
    nested: { keep: true, change: 'z', added: 1 },
    list: [3],
  });
  assert.deepEqual(base.nested, { keep: true, change: 'x' }, 'the target is not changed');
});

void test('flag values are found in both spellings', () => {
  const argv = ['--config=/a.yaml', '--kubeconfig', '/k', '-v=2'];
  assert.equal(flagValue(argv, 'config'), '/a.yaml');
  assert.equal(flagValue(argv, 'kubeconfig'), '/k');
  assert.equal(flagValue(argv, 'v'), '2');
  assert.equal(flagValue(argv, 'hostname-override'), undefined);
});
