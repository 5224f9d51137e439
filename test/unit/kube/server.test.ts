import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProbeServer } from '../../../src/kube/server.ts';
import { counter } from '../../../src/util/metrics.ts';

test('probe server reports each check and serves metrics', async () => {
  const server = new ProbeServer();
  let ready = false;
  server.addHealthCheck('ping', () => true);
  server.addReadinessCheck('synced', () => ready);
  server.addReadinessCheck('throws', () => {
    if (!ready) throw new Error('boom');
    return true;
  });
  counter('argus_unit_probe_total', 'test metric', []).inc();
  const port = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const get = async (path: string): Promise<[number, string]> => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return [res.status, await res.text()];
    };
    assert.deepEqual(await get('/healthz'), [200, '[+]ping ok\nok\n']);
    const [code, body] = await get('/readyz');
    assert.equal(code, 503);
    assert.match(body, /\[-\]synced failed\n\[-\]throws failed\ncheck failed/);
    ready = true;
    assert.equal((await get('/readyz'))[0], 200);
    assert.match((await get('/metrics'))[1], /argus_unit_probe_total 1/);
    assert.equal((await get('/nope'))[0], 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
});
