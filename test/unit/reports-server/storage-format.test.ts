// How the reports store keeps objects and results (ADR 0017): compressed JSON whose stored bytes concatenate
// into one gzip member, packed result rows behind the report_results view, and the upgrade of a database
// written before (migration 2).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { crc32, gunzipSync } from 'node:zlib';
import { acceptsGzip, GZIP_MIN_BYTES, sendJson } from '../../../src/reports-server/http/handlers.ts';
import {
  GzipAssembler,
  crc32Combine,
  decodeStored,
  decodeStoredMany,
  encodeStored,
  parseStoredMany,
  storedLength,
} from '../../../src/reports-server/storage/codec.ts';
import { policyReports } from '../../../src/reports-server/storage/reports.ts';
import { packResults } from '../../../src/reports-server/storage/results.ts';
import { openSqliteStorage } from '../../../src/reports-server/storage/sqlite.ts';
import { migrations } from '../../../src/reports-server/storage/sql.ts';
import type { KubeObject, ResultRow } from '../../../src/reports-server/storage/types.ts';

test('stored objects: compressed JSON that round-trips and concatenates into one valid gzip member', () => {
  const a = Buffer.from('hello ');
  const b = Buffer.from('wörld '.repeat(5000));
  assert.equal(crc32Combine(crc32(a), crc32(b), b.length), crc32(Buffer.concat([a, b])));
  const texts = Array.from({ length: 300 }, (_, i) => JSON.stringify({ i, s: 'x'.repeat(i % 70), u: 'ü€' }));
  const stored = texts.map(encodeStored);
  assert.deepEqual(stored.map(decodeStored), texts);
  assert.equal(storedLength(stored[5]!), Buffer.byteLength(texts[5]!));
  const gzip = new GzipAssembler();
  const parts = [...gzip.text('{"items":[')];
  stored.forEach((s, i) => parts.push(...(i ? gzip.text(',') : []), ...gzip.stored(s)));
  parts.push(...gzip.text(']}'), gzip.end());
  // gunzip checks the CRC-32 and length of the trailer
  assert.equal(gunzipSync(Buffer.concat(parts)).toString(), `{"items":[${texts.join(',')}]}`);
  const empty = new GzipAssembler();
  assert.equal(gunzipSync(Buffer.concat([...empty.text(''), empty.end()])).length, 0);
  assert.equal(acceptsGzip('gzip, deflate, br'), true);
  assert.equal(acceptsGzip('deflate, gzip;q=0'), false);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip(undefined), false);
});

test('stored objects inflate together in batches, cut at their lengths, and come out as one by one', () => {
  const texts = Array.from({ length: 700 }, (_, i) =>
    JSON.stringify({ i, s: 'ü'.repeat(i % 50), t: 'x'.repeat(i * 7) }),
  );
  texts.push('', '{}');
  const stored = texts.map(encodeStored);
  for (const batchBytes of [1, 1000, 64 << 10, 8 << 20]) {
    assert.deepEqual(
      decodeStoredMany(stored, batchBytes).map((b) => b.toString('utf8')),
      texts,
      `batches of ${batchBytes} bytes`,
    );
  }
  assert.deepEqual(
    parseStoredMany(stored.slice(0, 3)),
    texts.slice(0, 3).map((t) => JSON.parse(t) as unknown),
  );
  assert.deepEqual(decodeStoredMany([]), []);
  // a stored value whose header lies about its length is refused, never cut wrongly
  const lying = Buffer.from(stored[5]!);
  lying.writeUInt32LE(storedLength(lying) + 1, 0);
  assert.throws(() => decodeStoredMany([stored[4]!, lying]), /inflate to \d+ bytes, not \d+/);
});

test('answers of 128 KiB or more are gzip-encoded for clients that accept it, smaller ones and others plain', async () => {
  const large = { kind: 'Table', rows: Array.from({ length: 5_000 }, (_, i) => ({ cells: [`report-${i}`, 'ü', i] })) };
  const small = { kind: 'Status', code: 200 };
  assert.ok(Buffer.byteLength(JSON.stringify(large)) >= GZIP_MIN_BYTES);
  const server = createServer((req, res) =>
    sendJson(res, 200, req.url === '/large' ? large : small, 'application/json;as=Table;v=v1;g=meta.k8s.io'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const get = async (path: string, acceptEncoding?: string) => {
    const { request } = await import('undici');
    const answer = await request(`http://127.0.0.1:${port}${path}`, {
      headers: acceptEncoding ? { 'accept-encoding': acceptEncoding } : {},
    });
    const bytes = Buffer.from(await answer.body.arrayBuffer());
    assert.equal(Number(answer.headers['content-length']), bytes.length);
    assert.equal(answer.headers['content-type'], 'application/json;as=Table;v=v1;g=meta.k8s.io');
    const encoding = answer.headers['content-encoding'];
    return { encoding, json: JSON.parse((encoding === 'gzip' ? gunzipSync(bytes) : bytes).toString()) as unknown };
  };
  try {
    assert.deepEqual(await get('/large', 'gzip'), { encoding: 'gzip', json: large });
    assert.deepEqual(await get('/large', 'gzip;q=0, identity'), { encoding: undefined, json: large });
    assert.deepEqual(await get('/large'), { encoding: undefined, json: large });
    assert.deepEqual(await get('/small', 'gzip'), { encoding: undefined, json: small });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('packed results: chunks, interned ids, one entry per resource, trailing nulls left out', () => {
  const row = (index: number, resourceIndex: number, name: string | null): ResultRow => ({
    index,
    resourceIndex,
    policy: 'p',
    rule: null,
    category: null,
    severity: 'high',
    result: 'fail',
    source: null,
    scored: null,
    message: null,
    timestamp: null,
    resourceApiVersion: null,
    resourceKind: name ? 'Pod' : null,
    resourceNamespace: null,
    resourceName: name,
    resourceUid: null,
    resource: name ? `Pod/${name}` : null,
  });
  const ids = new Map([
    ['p', 1],
    ['high', 2],
    ['fail', 3],
  ]);
  const one = packResults([row(0, 0, 'a'), row(0, 1, 'b'), row(1, 0, null)], ids);
  assert.deepEqual(one, [
    '{"r":[[0,1,null,null,2,3,null,null,null,null,0],[0,1,null,null,2,3,null,null,null,null,1],[1,1,null,null,2,3]],"res":[[null,"Pod",null,"a"],[null,"Pod",null,"b"]]}',
  ]);
  const chunks = packResults([row(0, 0, 'a'), row(1, 0, 'a'), row(2, 0, 'a')], ids, 60);
  assert.equal(chunks.length, 3);
  assert.match(chunks[0]!, /"res":/);
  assert.doesNotMatch(chunks[1]!, /"res":/);
  assert.throws(() => packResults([{ ...row(0, 0, null), policy: 'unknown' }], ids), /not interned/);
});

test('migration 2 upgrades a database written before: objects, change log and results survive', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'argus-storage-format-'));
  try {
    const path = join(dir, 'reports.db');
    const db = new DatabaseSync(path);
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    for (const s of migrations[0]!.statements('sqlite')) db.exec(s);
    db.exec("INSERT INTO schema_migrations VALUES (1, 'v1', '2026-11-01T00:00:00Z')");
    db.exec(
      "INSERT INTO resource_types (id, api_group, resource, kind) VALUES (1, 'wgpolicyk8s.io', 'policyreports', 'PolicyReport')",
    );
    const object: KubeObject = {
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: 'PolicyReport',
      metadata: {
        name: 'old',
        namespace: 'team',
        uid: 'u-1',
        resourceVersion: '2',
        generation: 1,
        creationTimestamp: '2026-11-01T00:00:00Z',
        labels: { app: 'x' },
      },
      scope: { apiVersion: 'v1', kind: 'Pod', name: 'web', namespace: 'team' },
      results: [
        {
          policy: 'stig',
          rule: 'r1',
          result: 'fail',
          severity: 'high',
          message: 'web runs as root; web is not allowed to',
        },
      ],
    };
    const previous = { ...object, metadata: { ...object.metadata, resourceVersion: '1' } };
    db.exec('UPDATE state SET rv = 2');
    db.prepare(
      "INSERT INTO objects (id, type_id, namespace, name, uid, rv, object) VALUES (7, 1, 'team', 'old', 'u-1', 2, ?)",
    ).run(JSON.stringify(object));
    db.exec("INSERT INTO labels VALUES (7, 1, 'team', 'old', 'app', 'x')");
    db.exec("INSERT INTO fields VALUES (7, 1, 'team', 'old', 'scope.kind', 'Pod')");
    db.exec(`INSERT INTO results (object_id, idx, resource_idx, policy, rule, severity, result, message, resource_api_version,
      resource_kind, resource_namespace, resource_name, resource) VALUES (7, 0, 0, 'stig', 'r1', 'high', 'fail', 'web runs as root; web is not allowed to', 'v1',
      'Pod', 'team', 'web', 'Pod/team/web')`);
    const change = db.prepare(
      'INSERT INTO changes (rv, type_id, namespace, name, event, object, prev_object, created_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?)',
    );
    change.run(1, 'team', 'old', 'ADDED', JSON.stringify(previous), null, Date.now());
    change.run(2, 'team', 'old', 'MODIFIED', JSON.stringify(object), JSON.stringify(previous), Date.now());
    db.close();

    const s = await openSqliteStorage({ path, compactIntervalMs: 0 });
    try {
      assert.deepEqual(await s.get(policyReports, 'team', 'old'), object);
      assert.deepEqual(
        (await s.list(policyReports, { labelSelector: 'app=x', fieldSelector: 'scope.kind=Pod' })).items,
        [object],
      );
      // the state as of rv 1 comes from the (converted) change log
      assert.deepEqual((await s.list(policyReports, { resourceVersion: '1', resourceVersionMatch: 'Exact' })).items, [
        previous,
      ]);
      const rows = await s.queryResults({});
      assert.deepEqual(
        rows.map((r) => [r.namespace, r.report, r.policy, r.rule, r.severity, r.result, r.message, r.resource]),
        [['team', 'old', 'stig', 'r1', 'high', 'fail', 'web runs as root; web is not allowed to', 'Pod/team/web']],
      );
      const watch = await s.watch(policyReports, { resourceVersion: '0' });
      watch.close();
      const events = [];
      const from1 = await s.watch(policyReports, { resourceVersion: '1' });
      for await (const e of from1) {
        events.push(e);
        break;
      }
      assert.deepEqual(events, [{ type: 'MODIFIED', object }]);
      const next = await s.update(policyReports, { ...object, results: [] });
      assert.equal(next.metadata.resourceVersion, '3');
      assert.deepEqual(await s.queryResults({}), []);
    } finally {
      await s.close();
    }
    const check = new DatabaseSync(path);
    const columns = (table: string): string[] =>
      (check.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    assert.ok(!columns('objects').includes('object'));
    assert.ok(!columns('changes').includes('prev_object'));
    assert.deepEqual(
      (check.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map(
        (r) => r.version,
      ),
      migrations.map((m) => m.version),
    );
    check.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migrations 4 and 6: packed results written as JSON text become JSONB, the view walks them with jsonb_each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'argus-storage-format-'));
  try {
    const path = join(dir, 'reports.db');
    const report: KubeObject = {
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: 'PolicyReport',
      metadata: { name: 'r', namespace: 'team' },
      results: Array.from({ length: 30 }, (_, i) => ({
        policy: 'stig',
        rule: `rule-${i}`,
        result: i % 3 ? 'pass' : 'fail',
        severity: 'high',
        message: `check ${i} of web`,
        resources: [{ apiVersion: 'v1', kind: 'Pod', namespace: 'team', name: 'web' }],
      })),
    };
    const first = await openSqliteStorage({ path, compactIntervalMs: 0 });
    await first.create(policyReports, report);
    const before = await first.queryResults({ result: ['fail'] });
    await first.close();
    assert.equal(before.length, 10);
    const db = new DatabaseSync(path);
    const kinds = (): string[] =>
      (db.prepare('SELECT DISTINCT typeof(data) AS t FROM results').all() as { t: string }[]).map((r) => r.t);
    assert.deepEqual(kinds(), ['blob'], 'written as JSONB');
    assert.ok((db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n > 1, 'several chunks');
    db.exec('UPDATE results SET data = json(data)'); // as a store before migration 4 wrote them
    db.exec('DELETE FROM schema_migrations WHERE version = 4');
    assert.deepEqual(kinds(), ['text']);
    const again = await openSqliteStorage({ path, compactIntervalMs: 0 });
    try {
      assert.deepEqual(kinds(), ['blob'], 'converted by migration 4');
      assert.deepEqual(await again.queryResults({ result: ['fail'] }), before);
    } finally {
      await again.close();
    }
    // migration 6: the view of a database written before walks the entries with jsonb_each, same rows
    const viewSql = (): string =>
      (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'report_results'").get() as { sql: string }).sql;
    assert.match(viewSql(), /jsonb_each/);
    db.exec('DROP VIEW report_results');
    db.exec(migrations[1]!.after!('sqlite').at(-1)!.replace('jsonb_each', 'json_each')); // as before migration 6
    db.exec('DELETE FROM schema_migrations WHERE version = 6');
    assert.doesNotMatch(viewSql(), /jsonb_each/);
    const third = await openSqliteStorage({ path, compactIntervalMs: 0 });
    try {
      assert.match(viewSql(), /jsonb_each/);
      assert.deepEqual(await third.queryResults({ result: ['fail'] }), before);
      assert.equal(
        (await third.summarizeResults({})).reduce((n, r) => n + r.count, 0),
        30,
      );
    } finally {
      await third.close();
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
