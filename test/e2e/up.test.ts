// The README's first command: `./dev up` starts a control plane with a node and says how to reach it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

test('./dev up starts the local environment, prints how to reach it, and cleans up', async () => {
  const child = spawn(process.execPath, ['scripts/up.ts', '--name', 'e2e-up', '--exit-when-ready'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /Argus is up/);
  assert.match(out, /Kubernetes API\s+https:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /kubeconfig\s+\S+\/up\/e2e-up\/kubeconfig/);
  assert.match(out, /node\s+e2e-up-node/);
});
