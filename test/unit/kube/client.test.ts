// KubeClient's transport against a local HTTP server: gzip answers, broken bodies, watch streams.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError, KubeClient } from '../../../src/kube/client.ts';
import type { ResourceType } from '../../../src/kube/resources.ts';

const configMaps: ResourceType = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end();
const server = createServer((req, res) => handler(req, res));
let client: KubeClient;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      // client-node refuses plain HTTP unless TLS verification is off.
      { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'u', token: 'a-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  client = new KubeClient(kc, { userAgent: 'argus-unit', timeoutMs: 5_000 });
});
after(async () => {
  await client.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A list as large as a namespace of reports, so it spans many network and inflate chunks. */
function bigList(): { kind: string; metadata: { resourceVersion: string }; items: unknown[] } {
  const items = Array.from({ length: 3_000 }, (_, i) => ({
    metadata: { name: `cm-${i}`, namespace: 'ns', resourceVersion: String(i) },
    data: { text: `value ${i} `.repeat(40), unicode: 'grüße ✓' },
  }));
  return { kind: 'ConfigMapList', metadata: { resourceVersion: '3000' }, items };
}

test('asks for gzip and decodes a gzip-encoded list, however it is chunked', async () => {
  const list = bigList();
  const body = gzipSync(JSON.stringify(list));
  let seen: IncomingMessage | undefined;
  handler = (req, res) => {
    seen = req;
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    // Odd-sized writes: chunk edges fall inside gzip blocks and inside multi-byte characters.
    for (let i = 0; i < body.length; i += 7_777) res.write(body.subarray(i, i + 7_777));
    res.end();
  };
  const answer = await client.list(configMaps, { namespace: 'ns' });
  assert.deepEqual(answer, list);
  assert.equal(seen?.headers['accept-encoding'], 'gzip');
  assert.equal(seen?.headers['user-agent'], 'argus-unit');
  assert.equal(seen?.headers.authorization, 'Bearer a-token');
});

test('decodes plain answers and gzip-encoded error Statuses', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ metadata: { name: 'a' } }));
  };
  assert.deepEqual(await client.get(configMaps, 'a', 'ns'), { metadata: { name: 'a' } });

  const status = {
    kind: 'Status',
    status: 'Failure',
    reason: 'NotFound',
    code: 404,
    message: 'configmaps "b" not found',
  };
  handler = (_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify(status)));
  };
  await assert.rejects(client.get(configMaps, 'b', 'ns'), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.code, 404);
    assert.equal(err.reason, 'NotFound');
    assert.match(err.message, /configmaps "b" not found/);
    return true;
  });
});

test('a truncated gzip body is a transport error that names the request, never a partial object', async () => {
  const body = gzipSync(JSON.stringify(bigList()));
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(body.subarray(0, body.length - 100));
  };
  await assert.rejects(client.list(configMaps, { namespace: 'ns' }), (err: unknown) => {
    assert.ok(err instanceof Error && !(err instanceof ApiError));
    assert.equal(err.name, 'Error');
    assert.ok(err.cause, 'carries the cause, so callers retry it as transient');
    assert.match(err.message, /^GET \/api\/v1\/namespaces\/ns\/configmaps: reading the answer: /);
    return true;
  });
});

test('an encoding the client did not ask for is refused by name', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
    res.end('not brotli');
  };
  await assert.rejects(client.get(configMaps, 'a', 'ns'), /unsupported content encoding "br"/);
});

test('no answer at all is a transport error with its cause', async () => {
  handler = (req) => req.socket.destroy();
  await assert.rejects(client.get(configMaps, 'a', 'ns'), (err: unknown) => {
    assert.ok(err instanceof Error && err.cause);
    assert.match(err.message, /^GET \/api\/v1\/namespaces\/ns\/configmaps\/a: /);
    return true;
  });
});

test('a watch asks for no compression, yields events split across chunks and ends on abort', async () => {
  let seen: IncomingMessage | undefined;
  let open: ServerResponse | undefined;
  const event = (i: number): string =>
    JSON.stringify({ type: 'ADDED', object: { metadata: { name: `cm-${i}`, resourceVersion: String(i) } } }) + '\n';
  handler = (req, res) => {
    seen = req;
    open = res;
    res.writeHead(200, { 'content-type': 'application/json' });
    const text = event(1) + event(2) + '\n' + event(3);
    res.write(text.slice(0, 10));
    res.write(text.slice(10, text.length - 5));
    res.write(text.slice(text.length - 5));
  };
  const abort = new AbortController();
  const names: string[] = [];
  for await (const e of client.watch(configMaps, { namespace: 'ns', signal: abort.signal })) {
    names.push(e.object.metadata?.name ?? '');
    if (names.length === 3) abort.abort();
  }
  assert.deepEqual(names, ['cm-1', 'cm-2', 'cm-3']);
  assert.equal(seen?.headers['accept-encoding'], undefined);
  assert.equal(new URL(seen?.url ?? '', 'http://x').searchParams.get('watch'), 'true');
  open?.end();
});

test('a watch throws the Status of an ERROR event', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' } }) +
        '\n',
    );
  };
  await assert.rejects(
    async () => {
      for await (const _ of client.watch(configMaps, { namespace: 'ns', resourceVersion: '1' })) void _;
    },
    (err: unknown) => err instanceof ApiError && err.code === 410 && err.reason === 'Expired',
  );
});
