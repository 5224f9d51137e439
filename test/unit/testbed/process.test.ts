import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCommand } from '../../testbed/process.ts';

test('runCommand gives the input to the command and collects its output', async () => {
  assert.deepEqual(await runCommand('cat', [], { input: 'from stdin' }), { code: 0, stdout: 'from stdin', stderr: '' });
  const failed = await runCommand('sh', ['-c', 'echo oops >&2; exit 3']);
  assert.deepEqual(failed, { code: 3, stdout: '', stderr: 'oops\n' });
});

test('a command that exits without reading its input is no error of runCommand (EPIPE)', async () => {
  // 4 MiB is more than a pipe holds, so the write meets the closed pipe.
  const result = await runCommand('true', [], { input: 'x'.repeat(4 << 20) });
  assert.equal(result.code, 0);
  assert.equal((await runCommand('true', [])).code, 0);
});
