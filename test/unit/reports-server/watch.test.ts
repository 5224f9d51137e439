import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventLine } from '../../../src/reports-server/http/watch.ts';
import type { KubeObject } from '../../../src/reports-server/storage/types.ts';

const object = (name: string): KubeObject => ({
  apiVersion: 'wgpolicyk8s.io/v1alpha2',
  kind: 'PolicyReport',
  metadata: { name },
});

test('a watch event line of an object sent as it is is encoded once for every watch it reaches', () => {
  const o = object('a');
  const first = eventLine('ADDED', o, o);
  assert.ok(Buffer.isBuffer(first));
  assert.deepEqual(JSON.parse(first.toString()), { type: 'ADDED', object: o });
  assert.ok(first.toString().endsWith('}\n'));
  assert.equal(eventLine('ADDED', o, o), first, 'the same bytes for the next watch');
  const deleted = eventLine('DELETED', o, o);
  assert.notEqual(deleted, first, 'another event type is another line');
  assert.deepEqual(JSON.parse(deleted.toString()), { type: 'DELETED', object: o });
  const other = object('a');
  assert.notEqual(eventLine('ADDED', other, other), first, 'an equal but different object is encoded on its own');
});

test('an event whose object is re-encoded per watch (Table, metadata only) is not shared', () => {
  const o = object('b');
  const table = { kind: 'Table', rows: [{ cells: ['b'] }] };
  const line = eventLine('MODIFIED', o, table);
  assert.deepEqual(JSON.parse(line.toString()), { type: 'MODIFIED', object: table });
  assert.deepEqual(JSON.parse(eventLine('MODIFIED', o, o).toString()), { type: 'MODIFIED', object: o });
});
