// Conformance suite of the reports store: the same cases against SQLite (a file) and a real PostgreSQL
// (test/testbed/postgres.ts, a database per store), plus what only PostgreSQL has: two replicas on one
// database with concurrent writers, and a database restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { KubeObject } from '../../src/api/meta.ts';
import { StorageError } from '../../src/reports-server/storage/errors.ts';
import { openPostgresStorage } from '../../src/reports-server/storage/postgres.ts';
import {
  clusterPolicyReports,
  clusterReports,
  policyReports,
  reports,
} from '../../src/reports-server/storage/reports.ts';
import { matches, resolveSelectors } from '../../src/reports-server/storage/selectors.ts';
import { openSqliteStorage } from '../../src/reports-server/storage/sqlite.ts';
import type {
  ListOptions,
  ReportStorage,
  StorageOptions,
  Watch,
  WatchEvent,
} from '../../src/reports-server/storage/types.ts';
import { buildListQuery, migrations, numberPlaceholders } from '../../src/reports-server/storage/sql.ts';
import { parseFieldSelector, parseLabelSelector } from '../../src/reports-server/storage/selectors.ts';
import { sleep } from '../../src/util/time.ts';
import { PostgresServer, type DatabaseOptions } from '../testbed/postgres.ts';

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty store (its own file or database). */
  fresh(options?: StorageOptions): Promise<ReportStorage>;
  /** Another store on the same file / database as the last fresh() one. */
  again(options?: StorageOptions): Promise<ReportStorage>;
  /** Runs SQL directly on the last fresh() one's file / database (no placeholders). */
  sql(statement: string): Promise<Record<string, unknown>[]>;
}

const opened: ReportStorage[] = [];
const track = (s: ReportStorage): ReportStorage => (opened.push(s), s);

let workDir = '';
let pgServer: PostgresServer | undefined;

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'argus-storage-test-'));
  pgServer = await PostgresServer.start();
});

after(async () => {
  for (const s of opened) await s.close().catch(() => undefined);
  await pgServer?.destroy();
  rmSync(workDir, { recursive: true, force: true });
});

let sqliteFiles = 0;
let lastSqlite = '';
let lastDb: DatabaseOptions | undefined;
const fast: StorageOptions = { compactIntervalMs: 0, pollIntervalMs: 200 };

const backends: Backend[] = [
  {
    name: 'sqlite',
    fresh: async (options = {}) => {
      lastSqlite = join(workDir, `store-${++sqliteFiles}.sqlite`);
      return track(await openSqliteStorage({ path: lastSqlite, ...fast, ...options }));
    },
    again: async (options = {}) => track(await openSqliteStorage({ path: lastSqlite, ...fast, ...options })),
    sql: async (statement) => {
      const db = new DatabaseSync(lastSqlite);
      try {
        return db.prepare(statement).all();
      } finally {
        db.close();
      }
    },
  },
  {
    name: 'postgres',
    fresh: async (options = {}) => {
      lastDb = await pgServer!.createDatabase('store');
      return track(await openPostgresStorage({ ...lastDb, ...fast, ...options }));
    },
    again: async (options = {}) => track(await openPostgresStorage({ ...lastDb!, ...fast, ...options })),
    sql: async (statement) => {
      const client = new pg.Client({ ...lastDb! });
      await client.connect();
      try {
        return (await client.query(statement)).rows as Record<string, unknown>[];
      } finally {
        await client.end();
      }
    },
  },
];

function report(name: string, namespace = 'default', extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReport',
    metadata: { name, namespace, labels: { app: name } },
    scope: { apiVersion: 'v1', kind: 'Pod', name, namespace },
    summary: { pass: 1, fail: 1, warn: 0, error: 0, skip: 0 },
    results: [
      { policy: 'require-labels', rule: 'check', result: 'pass', severity: 'low', category: 'Best Practices' },
      {
        policy: 'disallow-privileged',
        result: 'fail',
        severity: 'high',
        resources: [{ kind: 'Pod', name, namespace }],
      },
    ],
    ...extra,
  };
}

async function rejects(promise: Promise<unknown>, reason: string, match?: RegExp): Promise<StorageError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StorageError, `expected a StorageError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (match) assert.match(err.message, match);
    return err;
  }
  assert.fail(`expected ${reason}`);
}

const iterators = new WeakMap<
  Watch,
  { it: AsyncIterator<WatchEvent>; pending?: Promise<IteratorResult<WatchEvent>> }
>();

/** Reads events until `count` arrived or `ms` passed (an event that arrives later is kept for the next call). */
async function take(watch: Watch, count: number, ms = 10_000): Promise<WatchEvent[]> {
  let state = iterators.get(watch);
  if (!state) {
    state = { it: watch[Symbol.asyncIterator]() };
    iterators.set(watch, state);
  }
  const events: WatchEvent[] = [];
  const deadline = Date.now() + ms;
  while (events.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    state.pending ??= state.it.next();
    const next = await Promise.race([
      state.pending,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
    ]);
    clearTimeout(timer);
    if (next === 'timeout') break;
    state.pending = undefined;
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

const rvOf = (e: WatchEvent): number => (e.type === 'ERROR' ? -1 : Number(e.object.metadata.resourceVersion));
const summary = (events: WatchEvent[]): string[] =>
  events.map((e) => (e.type === 'ERROR' ? `ERROR ${e.error.reason}` : `${e.type} ${e.object.metadata.name ?? ''}`));

for (const backend of backends) {
  describe(`reports storage on ${backend.name}`, () => {
    test('create, get, update, list, delete with server-assigned metadata', async () => {
      const s = await backend.fresh();
      assert.equal(await s.currentResourceVersion(), '0');
      const created = await s.create(policyReports, report('a'));
      assert.equal(created.apiVersion, 'wgpolicyk8s.io/v1alpha2');
      assert.equal(created.kind, 'PolicyReport');
      assert.match(created.metadata.uid!, /^[0-9a-f-]{36}$/);
      assert.match(created.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(created.metadata.generation, 1);
      assert.equal(created.metadata.resourceVersion, '1');
      assert.deepEqual(await s.get(policyReports, 'default', 'a'), created);

      // metadata-only change: new resourceVersion, same generation
      const labelled = await s.update(policyReports, {
        ...created,
        metadata: { ...created.metadata, labels: { app: 'a', tier: 'x' } },
      });
      assert.equal(labelled.metadata.resourceVersion, '2');
      assert.equal(labelled.metadata.generation, 1);
      assert.equal(labelled.metadata.uid, created.metadata.uid);
      assert.equal(labelled.metadata.creationTimestamp, created.metadata.creationTimestamp);
      // any other change bumps generation
      const changed = await s.update(policyReports, { ...labelled, summary: { pass: 2 } });
      assert.equal(changed.metadata.generation, 2);
      assert.equal(changed.metadata.resourceVersion, '3');
      // an update that changes nothing writes nothing
      const same = await s.update(policyReports, changed);
      assert.equal(same.metadata.resourceVersion, '3');
      assert.equal(await s.currentResourceVersion(), '3');

      await s.create(policyReports, report('b', 'other'));
      await s.create(clusterPolicyReports, { metadata: { name: 'c', namespace: 'ignored' } });
      const all = await s.list(policyReports);
      assert.deepEqual(
        all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
        ['default/a', 'other/b'],
      );
      assert.equal(all.resourceVersion, '5');
      assert.deepEqual(
        (await s.list(policyReports, { namespace: 'other' })).items.map((o) => o.metadata.name),
        ['b'],
      );
      const cluster = await s.get(clusterPolicyReports, '', 'c');
      assert.equal(cluster.metadata.namespace, undefined, 'cluster-scoped objects have no namespace');
      assert.equal(cluster.kind, 'ClusterPolicyReport');

      const deleted = await s.delete(policyReports, 'default', 'a');
      assert.equal(deleted.deleted, true);
      assert.equal(deleted.object.metadata.resourceVersion, '6');
      await rejects(s.get(policyReports, 'default', 'a'), 'NotFound', /policyreports.wgpolicyk8s.io "a" not found/);
      await rejects(s.delete(policyReports, 'default', 'a'), 'NotFound');
      await rejects(s.update(policyReports, report('a')), 'NotFound');
      await rejects(s.create(policyReports, report('b', 'other')), 'AlreadyExists', /"b" already exists/);
      // the same name in another namespace or type is another object
      await s.create(policyReports, report('b'));
      await s.create(reports, { ...report('b'), apiVersion: 'openreports.io/v1alpha1', kind: 'Report', source: 'x' });
      await s.create(clusterReports, { metadata: { name: 'b' } });
    });

    test('validation errors name the field; resourceVersion on create is refused', async () => {
      const s = await backend.fresh();
      const bad = report('bad');
      (bad.results as Record<string, unknown>[])[1]!.result = 'maybe';
      const err = await rejects(s.create(policyReports, bad), 'Invalid', /results\[1\]\.result/);
      assert.equal(err.code, 422);
      assert.deepEqual(
        err.causes?.map((c) => c.field),
        ['results[1].result'],
      );
      await rejects(s.create(policyReports, report('Bad_Name')), 'Invalid', /metadata\.name/);
      await rejects(s.create(policyReports, report('nons', '')), 'Invalid', /metadata\.namespace/);
      const withRv = report('rv');
      withRv.metadata.resourceVersion = '5';
      await rejects(s.create(policyReports, withRv), 'BadRequest', /resourceVersion should not be set/);
      const ok = await s.create(policyReports, report('ok'));
      await rejects(s.update(policyReports, { ...ok, summary: { fail: 'x' } }), 'Invalid', /summary\.fail/);
      assert.equal(await s.currentResourceVersion(), '1', 'failed writes take no resourceVersion');
    });

    test('generateName makes a unique name', async () => {
      const s = await backend.fresh();
      const names = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const o = await s.create(policyReports, { metadata: { generateName: 'scan-', namespace: 'ns' } });
        assert.match(o.metadata.name!, /^scan-[a-z0-9]{5}$/);
        names.add(o.metadata.name!);
      }
      assert.equal(names.size, 5);
    });

    test('optimistic concurrency: stale resourceVersion and uid conflict, no resourceVersion updates anyway', async () => {
      const s = await backend.fresh();
      const v1 = await s.create(policyReports, report('a'));
      const v2 = await s.update(policyReports, { ...v1, summary: { pass: 5 } });
      const err = await rejects(
        s.update(policyReports, { ...v1, summary: { pass: 6 } }),
        'Conflict',
        /has been modified/,
      );
      assert.equal(err.code, 409);
      const { resourceVersion: _rv, ...meta } = v1.metadata;
      const v3 = await s.update(policyReports, { ...v1, metadata: meta, summary: { pass: 7 } });
      assert.equal(Number(v3.metadata.resourceVersion), Number(v2.metadata.resourceVersion) + 1);
      await rejects(
        s.update(policyReports, { ...v3, metadata: { ...v3.metadata, uid: 'other' } }),
        'Conflict',
        /Precondition failed: UID/,
      );
      await rejects(
        s.delete(policyReports, 'default', 'a', { preconditions: { resourceVersion: v1.metadata.resourceVersion! } }),
        'Conflict',
      );
      await rejects(s.delete(policyReports, 'default', 'a', { preconditions: { uid: 'nope' } }), 'Conflict');
      const gone = await s.delete(policyReports, 'default', 'a', {
        preconditions: { uid: v3.metadata.uid!, resourceVersion: v3.metadata.resourceVersion! },
      });
      assert.equal(gone.deleted, true);

      // concurrent read-modify-write: exactly one of two writers with the same resourceVersion wins
      const base = await s.create(policyReports, report('race'));
      const outcomes = await Promise.allSettled(
        [1, 2, 3, 4].map((n) => s.update(policyReports, { ...base, summary: { pass: n } })),
      );
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes)
        if (o.status === 'rejected') assert.equal((o.reason as StorageError).reason, 'Conflict');
    });

    test('finalizers: delete sets deletionTimestamp, removing the last finalizer deletes', async () => {
      const s = await backend.fresh();
      const created = await s.create(policyReports, {
        ...report('f'),
        metadata: { name: 'f', namespace: 'default', finalizers: ['example.com/keep', 'example.com/other'] },
      });
      const watch = await s.watch(policyReports, { resourceVersion: created.metadata.resourceVersion! });
      const first = await s.delete(policyReports, 'default', 'f');
      assert.equal(first.deleted, false);
      assert.ok(first.object.metadata.deletionTimestamp);
      assert.equal(first.object.metadata.deletionGracePeriodSeconds, 0);
      const current = await s.get(policyReports, 'default', 'f');
      assert.equal(current.metadata.deletionTimestamp, first.object.metadata.deletionTimestamp);
      // deleting again changes nothing
      const again = await s.delete(policyReports, 'default', 'f');
      assert.equal(again.object.metadata.resourceVersion, current.metadata.resourceVersion);
      // no new finalizers once deletion started; the deletionTimestamp cannot be changed
      await rejects(
        s.update(policyReports, {
          ...current,
          metadata: { ...current.metadata, finalizers: ['example.com/keep', 'example.com/other', 'example.com/new'] },
        }),
        'Invalid',
        /no new finalizers/,
      );
      const one = await s.update(policyReports, {
        ...current,
        metadata: { ...current.metadata, finalizers: ['example.com/keep'], deletionTimestamp: undefined },
      });
      assert.equal(one.metadata.deletionTimestamp, current.metadata.deletionTimestamp);
      const last = await s.update(policyReports, { ...one, metadata: { ...one.metadata, finalizers: [] } });
      await rejects(s.get(policyReports, 'default', 'f'), 'NotFound');
      const events = await take(watch, 3);
      assert.deepEqual(summary(events), ['MODIFIED f', 'MODIFIED f', 'DELETED f']);
      assert.equal(rvOf(events[2]!), Number(last.metadata.resourceVersion));
      watch.close();

      // propagation policies add the garbage collector's finalizers
      await s.create(policyReports, report('fg'));
      const fg = await s.delete(policyReports, 'default', 'fg', { propagationPolicy: 'Foreground' });
      assert.deepEqual(fg.object.metadata.finalizers, ['foregroundDeletion']);
      const orphan = await s.delete(policyReports, 'default', 'fg', { propagationPolicy: 'Orphan' });
      assert.deepEqual(orphan.object.metadata.finalizers, ['orphan']);
      const bg = await s.delete(policyReports, 'default', 'fg', { propagationPolicy: 'Background' });
      assert.equal(bg.deleted, true);
    });

    test('dryRun validates and computes without storing', async () => {
      const s = await backend.fresh();
      const dry = await s.create(policyReports, report('d'), { dryRun: true });
      assert.equal(dry.metadata.resourceVersion, undefined);
      assert.ok(dry.metadata.uid);
      assert.equal(dry.metadata.generation, 1);
      await rejects(s.get(policyReports, 'default', 'd'), 'NotFound');
      assert.equal(await s.currentResourceVersion(), '0');
      const real = await s.create(policyReports, {
        ...report('d'),
        metadata: { ...report('d').metadata, finalizers: ['x.io/y'] },
      });
      await rejects(s.create(policyReports, report('d'), { dryRun: true }), 'AlreadyExists');
      await rejects(s.update(policyReports, { ...real, summary: { pass: 'x' } }, { dryRun: true }), 'Invalid');
      const updated = await s.update(policyReports, { ...real, summary: { pass: 9 } }, { dryRun: true });
      assert.equal(updated.metadata.generation, 2);
      assert.equal(updated.metadata.resourceVersion, real.metadata.resourceVersion);
      const deleted = await s.delete(policyReports, 'default', 'd', { dryRun: true });
      assert.equal(deleted.deleted, false);
      assert.ok(deleted.object.metadata.deletionTimestamp);
      assert.deepEqual(await s.get(policyReports, 'default', 'd'), real);
      assert.equal(await s.currentResourceVersion(), real.metadata.resourceVersion);
      const cleared = await s.update(policyReports, { ...real, metadata: { ...real.metadata, finalizers: [] } });
      assert.equal((await s.delete(policyReports, 'default', 'd', { dryRun: true })).deleted, true);
      assert.deepEqual(await s.get(policyReports, 'default', 'd'), cleared);
    });

    test('label and field selectors run in SQL and agree with the Kubernetes semantics', async () => {
      const s = await backend.fresh();
      const objects: KubeObject[] = [];
      for (let i = 0; i < 24; i++) {
        const labels: Record<string, string> = { app: `app${i % 4}`, n: String(i) };
        if (i % 3 === 0) labels.tier = i % 2 ? 'web' : 'db';
        if (i % 5 === 0) labels.legacy = '';
        const o = report(`r${String(i).padStart(2, '0')}`, `ns${i % 3}`, {
          scope: { apiVersion: 'v1', kind: i % 2 ? 'Pod' : 'Deployment', name: `w${i % 6}`, namespace: `ns${i % 3}` },
          summary: { pass: i, fail: i % 4 },
        });
        o.metadata.labels = labels;
        if (i === 7) delete o.scope;
        objects.push(await s.create(policyReports, o));
      }
      const cases: [string | undefined, string | undefined, string | undefined][] = [
        ['app=app1', undefined, undefined],
        ['app==app1,tier', undefined, undefined],
        ['app!=app1', undefined, undefined],
        ['app in (app1,app2)', undefined, undefined],
        ['app notin (app1,app2),!tier', undefined, undefined],
        ['tier', undefined, 'ns0'],
        ['!tier', undefined, undefined],
        ['legacy', undefined, undefined],
        ['legacy=', undefined, undefined],
        ['n>10,n<20', undefined, undefined],
        ['tier in (web),app=app3', undefined, undefined],
        [undefined, 'scope.kind=Pod', undefined],
        [undefined, 'scope.kind!=Pod', undefined],
        [undefined, 'scope.kind=', undefined],
        [undefined, 'scope.kind!=', undefined],
        [undefined, 'metadata.name=r05', undefined],
        [undefined, 'metadata.namespace=ns1,scope.name=w1', undefined],
        [undefined, 'metadata.namespace!=ns1,summary.fail=3', undefined],
        [undefined, 'summary.fail!=0', 'ns2'],
        ['app=app2', 'scope.kind=Deployment,metadata.name!=r02', undefined],
        ['nothing=here', undefined, undefined],
      ];
      for (const [labelSelector, fieldSelector, namespace] of cases) {
        const sel = resolveSelectors(policyReports, labelSelector, fieldSelector);
        const expected = objects
          .filter((o) => (namespace ? o.metadata.namespace === namespace : true) && matches(policyReports, sel, o))
          .map((o) => o.metadata.name)
          .sort();
        const got = await s.list(policyReports, {
          ...(labelSelector ? { labelSelector } : {}),
          ...(fieldSelector ? { fieldSelector } : {}),
          ...(namespace ? { namespace } : {}),
        });
        assert.deepEqual(
          got.items.map((o) => o.metadata.name).sort(),
          expected,
          `${labelSelector ?? ''} | ${fieldSelector ?? ''} | ${namespace ?? ''}`,
        );
        // paged with limit 2: the same, in key order
        const paged: string[] = [];
        let cont: string | undefined;
        do {
          const page = await s.list(policyReports, {
            ...(labelSelector ? { labelSelector } : {}),
            ...(fieldSelector ? { fieldSelector } : {}),
            ...(namespace ? { namespace } : {}),
            limit: 2,
            ...(cont ? { continue: cont } : {}),
          });
          assert.ok(page.items.length <= 2);
          paged.push(...page.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
          cont = page.continue;
        } while (cont);
        assert.deepEqual(paged, [...paged].sort());
        assert.deepEqual(paged.map((k) => k.split('/')[1]).sort(), expected);
      }
      await rejects(
        s.list(policyReports, { fieldSelector: 'spec.nope=1' }),
        'BadRequest',
        /field label not supported: spec.nope/,
      );
      await rejects(s.list(policyReports, { labelSelector: 'a in b' }), 'BadRequest', /unable to parse requirement/);
      await rejects(s.list(policyReports, { labelSelector: 'bad key!=x=' }), 'BadRequest');
      // openreports adds `source`
      await s.create(reports, { metadata: { name: 'o', namespace: 'ns0' }, source: 'kyverno' });
      assert.equal((await s.list(reports, { fieldSelector: 'source=kyverno' })).items.length, 1);
      await rejects(s.list(policyReports, { fieldSelector: 'source=kyverno' }), 'BadRequest');
    });

    test('pagination reads one snapshot while others write; old snapshots by Exact; expired tokens', async () => {
      const s = await backend.fresh();
      for (let i = 0; i < 40; i++) {
        const o = report(`p${String(i).padStart(2, '0')}`, 'pg');
        o.metadata.labels = { parity: i % 2 ? 'odd' : 'even' };
        await s.create(policyReports, o);
      }
      const snapshot = await s.list(policyReports, { namespace: 'pg' });
      const evenAtSnapshot = snapshot.items.filter((o) => o.metadata.labels?.parity === 'even');
      const first = await s.list(policyReports, { namespace: 'pg', limit: 6 });
      const firstEven = await s.list(policyReports, { namespace: 'pg', limit: 4, labelSelector: 'parity=even' });
      assert.equal(first.resourceVersion, snapshot.resourceVersion);
      assert.ok(first.continue);
      // writers change everything while the pages are read
      let stop = false;
      const writer = (async () => {
        let n = 0;
        while (!stop && n < 60) {
          const i = n % 40;
          const name = `p${String(i).padStart(2, '0')}`;
          if (n % 5 === 0) await s.delete(policyReports, 'pg', name).catch(() => undefined);
          else if (n % 5 === 1) await s.create(policyReports, report(`${name}x`, 'pg')).catch(() => undefined);
          else {
            const cur = await s.get(policyReports, 'pg', name).catch(() => undefined);
            if (cur) {
              cur.metadata.labels = { parity: cur.metadata.labels?.parity === 'even' ? 'odd' : 'even' };
              await s.update(policyReports, cur).catch(() => undefined);
            }
          }
          n++;
        }
      })();
      const pages = async (
        start: { items: KubeObject[]; continue?: string },
        opts: { labelSelector?: string; limit: number },
      ) => {
        const items = [...start.items];
        let cont = start.continue;
        while (cont) {
          const page = await s.list(policyReports, { namespace: 'pg', ...opts, continue: cont });
          assert.equal(page.resourceVersion, snapshot.resourceVersion, 'every page reports the snapshot');
          items.push(...page.items);
          cont = page.continue;
          await sleep(5);
        }
        return items;
      };
      const all = await pages(first, { limit: 6 });
      const even = await pages(firstEven, { labelSelector: 'parity=even', limit: 4 });
      stop = true;
      await writer;
      const key = (o: KubeObject) => `${o.metadata.name}@${o.metadata.resourceVersion}`;
      assert.deepEqual(all.map(key), snapshot.items.map(key));
      assert.deepEqual(even.map(key), evenAtSnapshot.map(key));
      assert.notEqual(await s.currentResourceVersion(), snapshot.resourceVersion, 'the writer wrote');

      // the whole old state, exactly
      const exact = await s.list(policyReports, {
        namespace: 'pg',
        resourceVersion: snapshot.resourceVersion,
        resourceVersionMatch: 'Exact',
      });
      assert.deepEqual(exact.items.map(key), snapshot.items.map(key));
      // NotOlderThan a future version is too large; Exact of a future one too
      const future = String(Number(await s.currentResourceVersion()) + 100);
      const tooLarge = await rejects(s.list(policyReports, { resourceVersion: future }), 'Timeout');
      assert.equal(tooLarge.causeType, 'ResourceVersionTooLarge');
      await rejects(s.list(policyReports, { resourceVersion: future, resourceVersionMatch: 'Exact' }), 'Timeout');
      await rejects(s.list(policyReports, { continue: 'garbage' }), 'BadRequest', /continue/);

      // compaction expires old snapshots: continue tokens and Exact lists get Expired (410)
      const compactable = await backend.again({ changeLogMaxEvents: 0 });
      const page = await s.list(policyReports, { namespace: 'pg', limit: 3 });
      await s.create(policyReports, report('late', 'pg'));
      await compactable.compact();
      const expired = await rejects(
        s.list(policyReports, { namespace: 'pg', limit: 3, continue: page.continue! }),
        'Expired',
      );
      assert.equal(expired.code, 410);
      await rejects(
        s.list(policyReports, { resourceVersion: snapshot.resourceVersion, resourceVersionMatch: 'Exact' }),
        'Expired',
        /too old resource version/,
      );
    });

    test('watch from a resourceVersion: ordered events, selector transitions, initial events, bookmarks', async () => {
      const s = await backend.fresh({ bookmarkIntervalMs: 300 });
      const a = await s.create(policyReports, report('a', 'w'));
      await s.create(policyReports, report('b', 'w'));
      const from = await s.currentResourceVersion();
      await s.create(policyReports, report('c', 'w'));
      await s.create(policyReports, report('x', 'elsewhere'));
      const a2 = await s.update(policyReports, { ...(await s.get(policyReports, 'w', 'a')), summary: { fail: 3 } });
      await s.delete(policyReports, 'w', 'b');

      // from `from`: exactly the later changes of namespace w, in order
      const watch = await s.watch(policyReports, { namespace: 'w', resourceVersion: from });
      const events = await take(watch, 3);
      assert.deepEqual(summary(events), ['ADDED c', 'MODIFIED a', 'DELETED b']);
      assert.deepEqual(
        events.map(rvOf),
        [...events.map(rvOf)].sort((x, y) => x - y),
      );
      assert.equal(rvOf(events[1]!), Number(a2.metadata.resourceVersion));
      // live events follow
      await s.create(policyReports, report('d', 'w'));
      assert.deepEqual(summary(await take(watch, 1)), ['ADDED d']);
      watch.close();

      // a label selector: objects that start or stop matching arrive as ADDED / DELETED
      const sel = await s.watch(policyReports, {
        labelSelector: 'watched=yes',
        resourceVersion: await s.currentResourceVersion(),
      });
      const cur = await s.get(policyReports, 'w', 'a');
      const on = await s.update(policyReports, { ...cur, metadata: { ...cur.metadata, labels: { watched: 'yes' } } });
      const mod = await s.update(policyReports, { ...on, summary: { fail: 4 } });
      await s.update(policyReports, { ...mod, metadata: { ...mod.metadata, labels: { watched: 'no' } } });
      await s.create(policyReports, report('unwatched', 'w'));
      assert.deepEqual(summary(await take(sel, 3)), ['ADDED a', 'MODIFIED a', 'DELETED a']);
      sel.close();

      // field selector on a watch
      const fieldWatch = await s.watch(policyReports, { fieldSelector: 'metadata.name=c', resourceVersion: '0' });
      await s.update(policyReports, { ...(await s.get(policyReports, 'w', 'c')), summary: { fail: 9 } });
      await s.update(policyReports, { ...(await s.get(policyReports, 'w', 'd')), summary: { fail: 9 } });
      assert.deepEqual(summary(await take(fieldWatch, 1)), ['MODIFIED c']);
      fieldWatch.close();

      // initial events: the state, the end bookmark, then changes
      const initial = await s.watch(policyReports, { namespace: 'w', initialEvents: true, allowBookmarks: true });
      const start = await take(initial, 5);
      assert.deepEqual(summary(start).slice(0, 4), ['ADDED a', 'ADDED c', 'ADDED d', 'ADDED unwatched']);
      const end = start[4]!;
      assert.equal(end.type, 'BOOKMARK');
      assert.equal(end.type === 'BOOKMARK' && end.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
      assert.equal(rvOf(end), Number(await s.currentResourceVersion()));
      await s.delete(policyReports, 'w', 'd');
      assert.deepEqual(summary(await take(initial, 1)), ['DELETED d']);
      // periodic bookmarks carry the newest resourceVersion
      await s.create(policyReports, report('other-ns', 'not-w'));
      // (a bookmark sent while the write was being committed may still carry the one before: take the next)
      const newest = Number(await s.currentResourceVersion());
      let bookmark = (await take(initial, 1, 3000))[0];
      for (let i = 0; i < 20 && bookmark?.type === 'BOOKMARK' && rvOf(bookmark) < newest; i++) {
        bookmark = (await take(initial, 1, 3000))[0];
      }
      assert.equal(bookmark?.type, 'BOOKMARK');
      assert.equal(rvOf(bookmark), newest);
      assert.equal(initial.resourceVersion, await s.currentResourceVersion());
      initial.close();
      assert.equal(a.metadata.name, 'a');
    });

    test('a watch older than the compacted change log is Expired (410)', async () => {
      const s = await backend.fresh({ changeLogMaxEvents: 3 });
      for (let i = 0; i < 10; i++) await s.create(policyReports, report(`o${i}`));
      assert.equal(await s.compact(), '7');
      const err = await rejects(
        s.watch(policyReports, { resourceVersion: '2' }),
        'Expired',
        /too old resource version: 2 \(7\)/,
      );
      assert.equal(err.code, 410);
      // from the compaction point on, it works
      const ok = await s.watch(policyReports, { resourceVersion: '7' });
      assert.deepEqual(summary(await take(ok, 3)), ['ADDED o7', 'ADDED o8', 'ADDED o9']);
      ok.close();
    });

    test('deleteCollection deletes what the selectors match', async () => {
      const s = await backend.fresh();
      for (let i = 0; i < 12; i++) {
        const o = report(`dc${i}`, i < 8 ? 'dc' : 'keep');
        o.metadata.labels = { batch: i % 2 ? 'one' : 'two' };
        await s.create(policyReports, o);
      }
      const dry = await s.deleteCollection(policyReports, {
        namespace: 'dc',
        labelSelector: 'batch=one',
        dryRun: true,
      });
      assert.equal(dry.length, 4);
      assert.equal((await s.list(policyReports)).items.length, 12);
      const removed = await s.deleteCollection(policyReports, { namespace: 'dc', labelSelector: 'batch=one' });
      assert.equal(removed.length, 4);
      assert.ok(removed.every((r) => r.deleted));
      assert.deepEqual(
        (await s.list(policyReports, { namespace: 'dc' })).items.map((o) => o.metadata.labels?.batch),
        ['two', 'two', 'two', 'two'],
      );
      assert.equal((await s.deleteCollection(policyReports, {})).length, 8);
      assert.equal((await s.list(policyReports)).items.length, 0);
    });

    test('one row per result: the report_results view, filtered and summarized', async () => {
      const s = await backend.fresh({ clusterName: 'prod-eu' });
      await s.create(policyReports, report('r1', 'team-a'));
      await s.create(policyReports, report('r2', 'team-b'));
      await s.create(clusterReports, {
        metadata: { name: 'nodes' },
        source: 'argus',
        scope: { kind: 'Node', name: 'n1' },
        results: [{ policy: 'stig', rule: '242383', result: 'fail', severity: 'critical' }],
      });
      const failing = await s.queryResults({ result: ['fail'], severity: ['high', 'critical'] });
      assert.deepEqual(
        failing.map((r) => [r.namespace, r.report, r.policy, r.severity, r.resource, r.source]),
        [
          ['', 'nodes', 'stig', 'critical', 'Node/n1', 'argus'],
          ['team-a', 'r1', 'disallow-privileged', 'high', 'Pod/team-a/r1', null],
          ['team-b', 'r2', 'disallow-privileged', 'high', 'Pod/team-b/r2', null],
        ],
      );
      assert.deepEqual(
        (await s.queryResults({ result: ['fail'], namespaces: ['team-a'], clusterScoped: false })).map((r) => r.report),
        ['r1'],
      );
      const counts = await s.summarizeResults({ namespaces: ['team-a'] });
      assert.deepEqual(
        counts.map((c) => [c.namespace, c.policy, c.severity, c.result, c.count]),
        [
          ['', 'stig', 'critical', 'fail', 1],
          ['team-a', 'disallow-privileged', 'high', 'fail', 1],
          ['team-a', 'require-labels', 'low', 'pass', 1],
        ],
      );
      // results follow updates and deletes
      const r1 = await s.get(policyReports, 'team-a', 'r1');
      await s.update(policyReports, { ...r1, results: [{ policy: 'only', result: 'warn' }] });
      await s.delete(policyReports, 'team-b', 'r2');
      assert.deepEqual(
        (await s.queryResults({})).map((r) => [r.report, r.policy]),
        [
          ['nodes', 'stig'],
          ['r1', 'only'],
        ],
      );
    });

    test('head view: every field but results, in step with every write, through selectors, pages and snapshots', async () => {
      const s = await backend.fresh();
      const headOf = ({ results: _results, ...head }: KubeObject): KubeObject => head;
      const heads = async (options: ListOptions = {}): Promise<KubeObject[]> =>
        (await s.list(policyReports, { ...options, view: 'head' })).items;
      // SQLite keeps heads in a table, PostgreSQL in a column of objects (ADR 0021)
      const headRows = async (): Promise<number> =>
        Number(
          (
            await backend.sql(
              backend.name === 'sqlite' ? 'SELECT COUNT(*) AS n FROM heads' : 'SELECT COUNT(head) AS n FROM objects',
            )
          )[0]!.n,
        );
      const a = await s.create(policyReports, report('a'));
      const b = await s.create(policyReports, headOf(report('b'))); // no results: its head is the object
      assert.deepEqual(await heads(), [headOf(a), b]);
      assert.equal(await headRows(), 1);
      // an update of summary and results; results removed; results added
      const a2 = await s.update(policyReports, { ...a, summary: { pass: 0, fail: 2 }, results: [] });
      assert.deepEqual(await heads(), [headOf(a2), b]);
      const a3 = await s.update(policyReports, headOf(a2));
      assert.equal(a3.results, undefined);
      assert.deepEqual(await heads(), [a3, b]);
      assert.equal(await headRows(), 0);
      const b2 = await s.update(policyReports, { ...b, results: report('b').results });
      assert.deepEqual(await heads(), [a3, headOf(b2)]);
      // deletion held by a finalizer changes the head; the deletion itself removes it
      await s.update(policyReports, { ...b2, metadata: { ...b2.metadata, finalizers: ['example.com/keep'] } });
      const deleting = (await s.delete(policyReports, 'default', 'b')).object;
      assert.ok(deleting.metadata.deletionTimestamp);
      assert.deepEqual(await heads(), [a3, headOf(deleting)]);
      await s.update(policyReports, { ...deleting, metadata: { ...deleting.metadata, finalizers: [] } });
      assert.deepEqual(await heads(), [a3]);
      assert.equal(await headRows(), 0);
      // the same items as whole lists, with selectors and pages; a snapshot's changed items may be whole
      for (const name of ['c', 'd', 'e']) await s.create(policyReports, report(name, 'team'));
      const whole = await s.list(policyReports, { namespace: 'team', labelSelector: 'app in (c,e)' });
      const page1 = await s.list(policyReports, {
        namespace: 'team',
        labelSelector: 'app in (c,e)',
        limit: 1,
        view: 'head',
      });
      assert.deepEqual(page1.items, [headOf(whole.items[0]!)]);
      const c = whole.items[0]!;
      await s.update(policyReports, { ...c, summary: { pass: 9 } });
      const page2 = await s.list(policyReports, {
        namespace: 'team',
        labelSelector: 'app in (c,e)',
        continue: page1.continue!,
        view: 'head',
      });
      assert.deepEqual(page2.items, [headOf(whole.items[1]!)]);
      const snapshot = await s.list(policyReports, {
        namespace: 'team',
        resourceVersion: whole.resourceVersion,
        resourceVersionMatch: 'Exact',
        view: 'head',
      });
      assert.deepEqual(
        snapshot.items.map(headOf),
        (
          await s.list(policyReports, {
            namespace: 'team',
            resourceVersion: whole.resourceVersion,
            resourceVersionMatch: 'Exact',
          })
        ).items.map(headOf),
      );
      assert.equal((snapshot.items[0]!.summary as { pass?: number }).pass, 1, 'c as it was');
      // migration 5 on a database written before it fills the heads
      const expected = await heads({ namespace: 'team' });
      await s.close();
      await backend.sql(backend.name === 'sqlite' ? 'DROP TABLE heads' : 'ALTER TABLE objects DROP COLUMN head');
      await backend.sql('DELETE FROM schema_migrations WHERE version = 5');
      const upgraded = await backend.again();
      assert.deepEqual((await upgraded.list(policyReports, { namespace: 'team', view: 'head' })).items, expected);
      assert.equal(await headRows(), 3);
    });

    test('migrations are idempotent and the data survives reopening', async () => {
      const s = await backend.fresh();
      const o = await s.create(policyReports, report('kept'));
      await s.close();
      const reopened = await backend.again();
      assert.deepEqual(await reopened.get(policyReports, 'default', 'kept'), o);
      assert.equal(await reopened.currentResourceVersion(), o.metadata.resourceVersion);
      const third = await backend.again();
      assert.deepEqual((await third.list(policyReports)).items, [o]);
      const next = await third.create(policyReports, report('next'));
      assert.equal(Number(next.metadata.resourceVersion), Number(o.metadata.resourceVersion) + 1);
    });
  });
}

describe('reports storage: PostgreSQL replicas and outages', () => {
  test('migrations 2 and 3 upgrade a PostgreSQL database written before: objects, change log, results, selectors', async () => {
    const db = await pgServer!.createDatabase('upgrade');
    // as the store's own user, so that it owns the tables it then migrates
    const client = new pg.Client({ ...db });
    await client.connect();
    const object = report('old', 'team', {
      metadata: { name: 'old', namespace: 'team', uid: 'u-1', resourceVersion: '2', generation: 1 },
      results: [{ policy: 'stig', rule: 'r1', result: 'fail', severity: 'high', message: 'old runs as root (old)' }],
    });
    const previous = { ...object, metadata: { ...object.metadata, resourceVersion: '1' } };
    try {
      await client.query(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
      );
      for (const statement of migrations[0]!.statements('postgres')) await client.query(statement);
      await client.query("INSERT INTO schema_migrations VALUES (1, 'v1', '2026-11-01T00:00:00Z')");
      await client.query(
        "INSERT INTO resource_types (api_group, resource, kind) VALUES ('wgpolicyk8s.io', 'policyreports', 'PolicyReport')",
      );
      await client.query('UPDATE state SET rv = 2');
      const inserted = await client.query<{ id: string }>(
        "INSERT INTO objects (type_id, namespace, name, uid, rv, object) VALUES (1, 'team', 'old', 'u-1', 2, $1) RETURNING id",
        [JSON.stringify(object)],
      );
      const id = inserted.rows[0]!.id;
      await client.query("INSERT INTO labels VALUES ($1, 1, 'team', 'old', 'app', 'old')", [id]);
      await client.query("INSERT INTO fields VALUES ($1, 1, 'team', 'old', 'scope.name', 'old')", [id]);
      await client.query(
        `INSERT INTO results (object_id, idx, resource_idx, policy, rule, severity, result, scored, message, found_at,
           resource_api_version, resource_kind, resource_namespace, resource_name, resource)
         VALUES ($1, 0, 0, 'stig', 'r1', 'high', 'fail', true, 'old runs as root (old)', '2026-11-01T10:00:00.250Z',
           'v1', 'Pod', 'team', 'old', 'Pod/team/old')`,
        [id],
      );
      const change =
        'INSERT INTO changes (rv, type_id, namespace, name, event, object, prev_object, created_at) VALUES ($1, 1, $2, $3, $4, $5, $6, $7)';
      await client.query(change, [1, 'team', 'old', 'ADDED', JSON.stringify(previous), null, Date.now()]);
      await client.query(change, [
        2,
        'team',
        'old',
        'MODIFIED',
        JSON.stringify(object),
        JSON.stringify(previous),
        Date.now(),
      ]);
    } finally {
      await client.end();
    }
    const s = track(await openPostgresStorage({ ...db, ...fast }));
    assert.deepEqual(await s.get(policyReports, 'team', 'old'), object);
    assert.deepEqual((await s.list(policyReports, { labelSelector: 'app=old' })).items, [object]);
    assert.deepEqual((await s.list(policyReports, { labelSelector: 'app!=old' })).items, []);
    assert.deepEqual((await s.list(policyReports, { fieldSelector: 'scope.name=old' })).items, [object]);
    assert.deepEqual((await s.list(policyReports, { fieldSelector: 'scope.name=other' })).items, []);
    const tables = pgServer!.client(db.database);
    await tables.connect();
    try {
      const left = await tables.query("SELECT tablename FROM pg_tables WHERE tablename IN ('labels', 'fields')");
      assert.deepEqual(left.rows, [], 'the side tables are gone: their content is in objects.labels and fields');
    } finally {
      await tables.end();
    }
    assert.deepEqual((await s.list(policyReports, { resourceVersion: '1', resourceVersionMatch: 'Exact' })).items, [
      previous,
    ]);
    const rows = await s.queryResults({});
    assert.deepEqual(
      rows.map((r) => [r.report, r.policy, r.severity, r.result, r.scored, r.message, r.timestamp, r.resource]),
      [['old', 'stig', 'high', 'fail', true, 'old runs as root (old)', '2026-11-01T10:00:00.250Z', 'Pod/team/old']],
    );
    const watch = await s.watch(policyReports, { resourceVersion: '1' });
    assert.deepEqual(await take(watch, 1), [{ type: 'MODIFIED', object }]);
    watch.close();
    const next = await s.create(policyReports, report('new', 'team'));
    assert.equal(next.metadata.resourceVersion, '3');
  });

  test('migration 4 turns PostgreSQL packed results of type json into jsonb; the view reads them the same', async () => {
    const db = await pgServer!.createDatabase('jsonb');
    const first = await openPostgresStorage({ ...db, ...fast });
    for (const name of ['a', 'b']) await first.create(policyReports, report(name, 'team'));
    const before = await first.queryResults({});
    await first.close();
    assert.equal(before.length, 4);
    const client = new pg.Client({ ...db });
    await client.connect();
    const columnType = async (): Promise<string> =>
      (
        await client.query<{ t: string }>(
          "SELECT data_type AS t FROM information_schema.columns WHERE table_name = 'results' AND column_name = 'data'",
        )
      ).rows[0]!.t;
    try {
      assert.equal(await columnType(), 'jsonb');
      // back to the state before migration 4: a json column and the view over it (migration 2's)
      const view = migrations[1]!.after!('postgres').at(-1)!;
      await client.query('DROP VIEW report_results');
      await client.query('ALTER TABLE results ALTER COLUMN data TYPE json USING data::json');
      await client.query(view);
      await client.query('DELETE FROM schema_migrations WHERE version = 4');
      assert.equal(await columnType(), 'json');
      assert.deepEqual(await track(await openPostgresStorage({ ...db, ...fast })).queryResults({}), before);
      assert.equal(await columnType(), 'jsonb');
    } finally {
      await client.end();
    }
  });

  test('PostgreSQL plans selective label and field selectors on the GIN indexes, not a scan of all objects', async () => {
    const db = await pgServer!.createDatabase('plans');
    const s = track(await openPostgresStorage({ ...db, ...fast }));
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 1500; i++) {
      const o = report(`p${i}`, `ns${i % 5}`);
      o.metadata.labels = { app: `app${i % 100}` };
      writes.push(s.create(policyReports, o));
      if (writes.length === 50) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const client = pgServer!.client(db.database);
    await client.connect();
    try {
      await client.query('ANALYZE');
      const types = await client.query<{ id: string }>(
        "SELECT id FROM resource_types WHERE resource = 'policyreports'",
      );
      const typeId = Number(types.rows[0]!.id);
      const plan = async (labels: string, fields: string): Promise<string> => {
        const q = buildListQuery('postgres', {
          typeId,
          labels: parseLabelSelector(labels),
          fields: parseFieldSelector(fields),
          limit: 501,
        });
        return (await client.query(`EXPLAIN ${numberPlaceholders(q.sql)}`, q.params)).rows
          .map((r: Record<string, string>) => r['QUERY PLAN'])
          .join('\n');
      };
      const byLabel = await plan('app=app7,!gone', '');
      assert.match(byLabel, /objects_by_labels/, byLabel);
      assert.doesNotMatch(byLabel, /Seq Scan on objects/, byLabel);
      const byField = await plan('', 'scope.name=p7');
      assert.match(byField, /objects_by_fields/, byField);
      assert.doesNotMatch(byField, /Seq Scan on objects/, byField);
      const got = await s.list(policyReports, { labelSelector: 'app=app7,!gone' });
      assert.equal(got.items.length, 15);
    } finally {
      await client.end();
    }
  });

  test('two replicas with concurrent writers: every watch sees the same complete, gap-free, ordered stream', async () => {
    const db = await pgServer!.createDatabase('replicas');
    const a = track(await openPostgresStorage({ ...db, ...fast, pollIntervalMs: 5000 }));
    const b = track(await openPostgresStorage({ ...db, ...fast, pollIntervalMs: 5000 }));
    const start = await a.currentResourceVersion();
    const watches = [
      await a.watch(policyReports, { resourceVersion: start }),
      await b.watch(policyReports, { resourceVersion: start }),
    ];
    const perWriter = 40;
    const writers = [a, b, a, b].map(async (store, w) => {
      for (let i = 0; i < perWriter; i++) {
        const name = `w${w}-${i % 10}`;
        const existing = await store.get(policyReports, 'rep', name).catch(() => undefined);
        if (!existing) await store.create(policyReports, report(name, 'rep'));
        else if (i % 7 === 0) await store.delete(policyReports, 'rep', name);
        else await store.update(policyReports, { ...existing, summary: { pass: i } }).catch(() => undefined);
      }
    });
    await Promise.all(writers);
    const end = Number(await b.currentResourceVersion());
    const writes = end - Number(start);
    assert.ok(writes >= 4 * perWriter * 0.9, `${writes} writes`);
    const streams = await Promise.all(watches.map((w) => take(w, writes, 20_000)));
    for (const events of streams) {
      assert.equal(events.length, writes, 'complete');
      assert.deepEqual(
        events.map(rvOf),
        Array.from({ length: writes }, (_, i) => Number(start) + i + 1),
        'ordered, no gaps, no duplicates',
      );
    }
    assert.deepEqual(
      streams[0]!.map((e) => JSON.stringify(e)),
      streams[1]!.map((e) => JSON.stringify(e)),
    );
    // each replica's LISTEN wakes the other at once (the poll interval is 5 s)
    const t0 = Date.now();
    await a.create(policyReports, report('ping', 'rep'));
    assert.deepEqual(summary(await take(watches[1]!, 1, 3000)), ['ADDED ping']);
    assert.ok(Date.now() - t0 < 2500, `woken by NOTIFY in ${Date.now() - t0} ms`);
    for (const w of watches) w.close();
  });

  test('database restart: a clear unavailable error meanwhile, no acknowledged write lost, watches go on', async () => {
    const db = await pgServer!.createDatabase('restart');
    const s = track(await openPostgresStorage({ ...db, ...fast, connectTimeoutMs: 1000 }));
    const watch = await s.watch(policyReports, { resourceVersion: await s.currentResourceVersion() });
    const acknowledged: string[] = [];
    let stop = false;
    let unavailable = 0;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await s.create(policyReports, report(`ack${i}`, 'restart'));
          acknowledged.push(`ack${i}`);
        } catch (err) {
          assert.ok(err instanceof StorageError);
          if (err.reason === 'ServiceUnavailable') unavailable++;
          else if (err.reason !== 'AlreadyExists') throw err;
          await sleep(50);
        }
      }
    })();
    await sleep(300);
    await pgServer!.stop('immediate');
    const down = await rejects(s.get(policyReports, 'restart', 'ack0'), 'ServiceUnavailable');
    assert.equal(down.code, 503);
    await rejects(s.list(policyReports), 'ServiceUnavailable');
    await sleep(500);
    await pgServer!.start();
    await sleep(800);
    stop = true;
    await writer;
    assert.ok(unavailable > 0, 'writes failed while the database was down');
    const stored = new Set((await s.list(policyReports, { namespace: 'restart' })).items.map((o) => o.metadata.name));
    for (const name of acknowledged) assert.ok(stored.has(name), `acknowledged ${name} is stored`);
    // the watch saw every stored object once, in order, across the restart
    const events = await take(watch, stored.size, 10_000);
    assert.equal(events.length, stored.size);
    assert.deepEqual(new Set(events.map((e) => (e.type === 'ERROR' ? '' : e.object.metadata.name))), stored);
    assert.deepEqual(
      events.map(rvOf),
      [...events.map(rvOf)].sort((x, y) => x - y),
    );
    watch.close();
  });
});
