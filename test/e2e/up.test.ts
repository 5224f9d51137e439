// The README's first command: `./dev up` starts a control plane with a node and the Argus components, says how
// to reach them, runs the ComplianceScan it suggests, and cleans up on Ctrl-C.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { waitFor } from '../../src/util/time.ts';

test('./dev up starts the local environment, runs the suggested scan, and cleans up on Ctrl-C', async () => {
  const child = spawn(process.execPath, ['scripts/up.ts', '--name', 'e2e-up'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor('Argus is up', () => /Argus is up/.test(out), {
      timeoutMs: 300_000,
      giveUp: () => (child.exitCode !== null ? `exited ${child.exitCode}: ${out}` : undefined),
    });
    assert.match(out, /Kubernetes API\s+https:\/\/127\.0\.0\.1:\d+/);
    const kubeconfig = /kubeconfig\s+(\S+\/up\/e2e-up\/kubeconfig)/.exec(out)?.[1];
    assert.ok(kubeconfig, out);
    assert.match(out, /node\s+e2e-up-node/);
    const kubectl = /kubectl\s+(\/\S+kubectl)\n/.exec(out)?.[1];
    assert.ok(kubectl, out);
    // The scan the printout suggests, as a user would paste it.
    const manifest = /create -f - <<'EOF'[^\n]*\n([\s\S]*?)\nEOF/.exec(out)?.[1];
    assert.ok(manifest, 'the printout suggests a ComplianceScan');
    const run = (args: string[], input?: string) =>
      spawnSync(kubectl, ['--kubeconfig', kubeconfig, ...args], { input, encoding: 'utf8' });
    const created = run(['create', '-f', '-'], manifest);
    assert.equal(created.status, 0, created.stderr);
    const phase = await waitFor(
      'the scan to finish',
      () => {
        const p = run(['get', 'cscan', 'first-scan', '-o', 'jsonpath={.status.phase}']).stdout;
        return p === 'Completed' || p === 'Failed' ? p : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
    assert.equal(phase, 'Completed', run(['get', 'cscan', 'first-scan', '-o', 'yaml']).stdout);
    const table = run(['get', 'cscan']).stdout;
    assert.match(table, /first-scan\s+Completed\s+security-hardened-k8s@v0\.1\.0\s+\d+\s+\d+/);
    const report = run(['get', 'configmap', '-n', 'kube-system', 'compliance-scan-report-first-scan']);
    assert.equal(report.status, 0, report.stderr);
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, out);
  assert.match(out, /argus up: stopping/);
});
