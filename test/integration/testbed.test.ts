// The testbed itself: independent control planes side by side, clean teardown, clear failures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Resources } from '../../src/kube/resources.ts';
import { ensureBinaries } from '../testbed/binaries.ts';
import { ControlPlane } from '../testbed/controlplane.ts';

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

test('a seed and a shoot run at once, independent of each other, and stop without leftovers', async () => {
  const [seed, shoot] = await Promise.all([
    ControlPlane.start({ name: 'seed' }),
    ControlPlane.start({ name: 'shoot' }),
  ]);
  try {
    assert.notEqual(seed.server, shoot.server);
    await seed.client().create(Resources.namespaces, { metadata: { name: 'only-in-seed' } });
    assert.ok(await seed.client().getOrUndefined(Resources.namespaces, 'only-in-seed'));
    assert.equal(await shoot.client().getOrUndefined(Resources.namespaces, 'only-in-seed'), undefined);
    // Separate PKIs: the seed's admin credentials mean nothing to the shoot.
    const foreign = await shoot.kubectl(['--server', seed.server, 'get', 'namespaces']);
    assert.notEqual(foreign.code, 0);
  } finally {
    await Promise.all([seed.stop(), shoot.stop()]);
  }
  for (const cp of [seed, shoot]) {
    assert.equal(existsSync(cp.dir), false, `${cp.dir} removed`);
    assert.ok(await refused(cp.apiServerPort), 'kube-apiserver is gone');
  }
});

test('a control-plane process that fails to start reports the tail of its log', async () => {
  await assert.rejects(
    ControlPlane.start({ name: 'broken', apiServerArgs: ['--no-such-flag=1'] }),
    (err: Error) =>
      /kube-apiserver .*did not become ready/.test(err.message) && /unknown flag: --no-such-flag/.test(err.message),
  );
});

function resolveInChild(env: NodeJS.ProcessEnv): { status: number | null; out: string } {
  const script = `import('./test/testbed/binaries.ts').then((m) => m.ensureBinaries()).then(
    (b) => console.log(JSON.stringify(b)), (e) => { console.error(e.message); process.exit(3); })`;
  const child = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  return { status: child.status, out: child.stdout + child.stderr };
}

test('without Go and without cached binaries the error says what is missing and how to get it', () => {
  const emptyCache = mkdtempSync(join(tmpdir(), 'argus-nocache-'));
  try {
    const { status, out } = resolveInChild({ PATH: '/nonexistent', ARGUS_CACHE_DIR: emptyCache, HOME: emptyCache });
    assert.equal(status, 3);
    assert.match(out, /Go is needed to build the test control plane/);
    assert.match(out, /KUBEBUILDER_ASSETS/);
  } finally {
    rmSync(emptyCache, { recursive: true, force: true });
  }
});

test('KUBEBUILDER_ASSETS supplies binaries a user already has', async () => {
  const built = await ensureBinaries();
  const assets = mkdtempSync(join(tmpdir(), 'argus-assets-'));
  try {
    symlinkSync(built.etcd, join(assets, 'etcd'));
    symlinkSync(built.kubeApiServer, join(assets, 'kube-apiserver'));
    symlinkSync(built.kubeControllerManager, join(assets, 'kube-controller-manager'));
    symlinkSync(built.kubectl, join(assets, 'kubectl'));
    const { status, out } = resolveInChild({
      PATH: '/nonexistent',
      ARGUS_CACHE_DIR: assets,
      KUBEBUILDER_ASSETS: assets,
      HOME: assets,
    });
    assert.equal(status, 0, out);
    assert.equal((JSON.parse(out) as { kubeApiServer: string }).kubeApiServer, join(assets, 'kube-apiserver'));
  } finally {
    rmSync(assets, { recursive: true, force: true });
  }
});
