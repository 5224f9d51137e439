import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KubeClient } from '../../../src/kube/client.ts';
import { loadKubeConfig } from '../../../src/kube/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'argus-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const kubeconfig = join(dir, 'config');
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: { server: "https://a.example:6443/" }
- name: b
  cluster: { server: "https://b.example:6443" }
users:
- name: u
  user: { token: secret-token }
contexts:
- name: ctx-a
  context: { cluster: a, user: u }
- name: ctx-b
  context: { cluster: b, user: u }
current-context: ctx-a
`,
);

test('loads the current context of an explicit file, or the named context', () => {
  assert.equal(loadKubeConfig({ kubeconfig }).getCurrentCluster()?.server, 'https://a.example:6443');
  assert.equal(loadKubeConfig({ kubeconfig, context: 'ctx-b' }).getCurrentCluster()?.server, 'https://b.example:6443');
});

test('names the missing file and the unknown context', () => {
  assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, 'nope') }), /kubeconfig .*nope does not exist/);
  assert.throws(() => loadKubeConfig({ kubeconfig, context: 'zzz' }), /context "zzz" not found.*ctx-a, ctx-b/);
});

test('honours KUBECONFIG when no file is given', () => {
  const previous = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
  try {
    assert.equal(loadKubeConfig().currentContext, 'ctx-a');
  } finally {
    if (previous === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previous;
  }
});

test('builds resource paths for core and grouped, namespaced and cluster resources', () => {
  const client = new KubeClient(loadKubeConfig({ kubeconfig }));
  assert.equal(client.server, 'https://a.example:6443');
  const pods = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };
  const jobs = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };
  const nodes = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };
  assert.equal(
    client.path(pods, { namespace: 'n', name: 'p', subresource: 'status' }),
    '/api/v1/namespaces/n/pods/p/status',
  );
  assert.equal(client.path(pods), '/api/v1/pods');
  assert.equal(client.path(jobs, { namespace: 'n' }), '/apis/batch/v1/namespaces/n/jobs');
  assert.equal(client.path(nodes, { namespace: 'ignored', name: 'x' }), '/api/v1/nodes/x');
});
