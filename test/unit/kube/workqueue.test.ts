import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from '../../../src/kube/workqueue.ts';

test('adds of a queued key collapse into one', async () => {
  const q = new WorkQueue({ name: 'collapse' });
  q.add('a');
  q.add('b');
  q.add('a');
  q.add('a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.length, 0);
});

test('a key added while processing is queued again only after done', async () => {
  const q = new WorkQueue({ name: 'processing' });
  q.add('a');
  const key = await q.get();
  q.add('a');
  q.add('a');
  assert.equal(q.length, 0, 'never handed to a second worker while processing');
  q.done(key!);
  assert.equal(q.length, 1);
  assert.equal(await q.get(), 'a');
  q.done('a');
  assert.equal(q.length, 0);
});

test('a waiting worker receives the next added key', async () => {
  const q = new WorkQueue({ name: 'waiting' });
  const pending = q.get();
  q.add('x');
  assert.equal(await pending, 'x');
});

test('rate-limited retries back off exponentially per key, and forget resets', () => {
  const q = new WorkQueue({ name: 'backoff', baseDelayMs: 10, maxDelayMs: 50 });
  assert.equal(q.nextBackoff('k'), 10);
  q.addRateLimited('k');
  assert.equal(q.nextBackoff('k'), 20);
  q.addRateLimited('k');
  assert.equal(q.nextBackoff('k'), 40);
  q.addRateLimited('k');
  assert.equal(q.nextBackoff('k'), 50, 'capped');
  assert.equal(q.numRequeues('k'), 3);
  assert.equal(q.nextBackoff('other'), 10, 'per key');
  q.forget('k');
  assert.equal(q.nextBackoff('k'), 10);
  q.shutDown();
});

test('addAfter delivers later, and the earliest of several delayed adds wins', async () => {
  const q = new WorkQueue({ name: 'after' });
  const started = Date.now();
  q.addAfter('k', 200);
  q.addAfter('k', 30);
  q.addAfter('k', 500);
  assert.equal(q.length, 0);
  assert.equal(await q.get(), 'k');
  const waited = Date.now() - started;
  assert.ok(waited >= 25 && waited < 190, `delivered after ${waited} ms`);
  q.done('k');
  q.shutDown();
});

test('shutDown releases waiting workers and ignores new keys', async () => {
  const q = new WorkQueue({ name: 'shutdown' });
  const pending = q.get();
  q.shutDown();
  assert.equal(await pending, undefined);
  q.add('late');
  assert.equal(q.length, 0);
  assert.equal(await q.get(), undefined);
});
