import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { parseFieldSelector, parseLabelSelector } from '../../../src/reports-server/storage/selectors.ts';
import {
  buildListQuery,
  chooseDriver,
  migrations,
  numberPlaceholders,
  type Dialect,
} from '../../../src/reports-server/storage/sql.ts';

/** Every migration's DDL, in order (the transforms have nothing to do on an empty database). */
const schema = (d: Dialect): string[] => migrations.flatMap((m) => [...m.statements(d), ...(m.after?.(d) ?? [])]);

const q = (labels: string, fields = '') => ({
  typeId: 1,
  labels: parseLabelSelector(labels),
  fields: parseFieldSelector(fields),
});

test('the driving index is a positive requirement: an exact name, a field, then labels', () => {
  assert.equal(chooseDriver(q('')).table, 'objects');
  assert.equal(chooseDriver(q('a!=b,!c,d notin (x)')).table, 'objects');
  assert.deepEqual(chooseDriver(q('a!=b,c=d')), {
    table: 'labels',
    requirement: { key: 'c', operator: '=', values: ['d'] },
  });
  assert.deepEqual(chooseDriver(q('x,c in (d,e)')), {
    table: 'labels',
    requirement: { key: 'c', operator: 'in', values: ['d', 'e'] },
  });
  assert.equal(chooseDriver(q('c=d', 'scope.kind=Pod')).table, 'fields');
  assert.equal(
    chooseDriver(q('c=d', 'scope.kind=')).table,
    'labels',
    'an empty value is not stored, so it cannot drive',
  );
  assert.equal(chooseDriver(q('c=d', 'metadata.name=x')).table, 'objects');
});

test('list SQL: driver range, probes, key-order pagination, snapshot bound, limit', () => {
  const { sql, params } = buildListQuery('sqlite', {
    ...q('app=web,tier!=db,!legacy', 'scope.kind=Pod,metadata.namespace!=kube-system,scope.name='),
    namespace: 'ns',
    after: { namespace: 'ns', name: 'r1' },
    maxRv: 42,
    limit: 11,
  });
  assert.equal(
    sql,
    'SELECT o.namespace, o.name, o.rv, o.data FROM fields d CROSS JOIN objects o ON o.id = d.object_id ' +
      'WHERE d.type_id = ? AND d.field = ? AND d.value = ? AND d.namespace = ? AND (d.namespace, d.name) > (?, ?) ' +
      'AND o.rv <= ? ' +
      'AND EXISTS (SELECT 1 FROM labels l WHERE l.object_id = o.id AND l.key = ? AND l.value = ?) ' +
      'AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.object_id = o.id AND l.key = ? AND l.value = ?) ' +
      'AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.object_id = o.id AND l.key = ?) ' +
      'AND o.namespace <> ? ' +
      'AND NOT EXISTS (SELECT 1 FROM fields f WHERE f.object_id = o.id AND f.field = ?) ' +
      'ORDER BY d.namespace, d.name LIMIT ?',
  );
  assert.deepEqual(params, [
    1,
    'scope.kind',
    'Pod',
    'ns',
    'ns',
    'r1',
    42,
    'app',
    'web',
    'tier',
    'db',
    'legacy',
    'kube-system',
    'scope.name',
    11,
  ]);
  assert.equal(numberPlaceholders('a = ? AND b IN (?, ?)'), 'a = $1 AND b IN ($2, $3)');
  assert.equal(numberPlaceholders('l ?? ? AND v = ?'), 'l ? $1 AND v = $2', '?? is the jsonb operator');
  for (const s of schema('postgres')) assert.ok(!s.includes('?'), 'no ? in PostgreSQL DDL');
});

test('PostgreSQL list SQL: every requirement a condition on the objects row, containment for the GIN indexes', () => {
  const { sql, params } = buildListQuery('postgres', {
    ...q('app=web,tier!=db,!legacy,env in (a,b),zone notin (x),team,n>5', 'scope.kind=Pod,scope.name=,summary.fail!=0'),
    namespace: 'ns',
    after: { namespace: 'ns', name: 'r1' },
    maxRv: 42,
    limit: 11,
  });
  assert.equal(
    sql,
    'SELECT o.namespace, o.name, o.rv, o.data FROM objects o ' +
      'WHERE o.type_id = ? AND o.namespace = ? AND (o.namespace, o.name) > (?, ?) AND o.rv <= ? ' +
      'AND o.labels @> ?::jsonb AND NOT (o.labels @> ?::jsonb) AND NOT (o.labels ?? ?) ' +
      'AND (o.labels @> ?::jsonb OR o.labels @> ?::jsonb) AND NOT (o.labels @> ?::jsonb) AND o.labels ?? ? ' +
      "AND o.labels ?? ? AND (CASE WHEN (o.labels ->> ?) ~ '^-{0,1}[0-9]{1,18}$' " +
      'THEN CAST((o.labels ->> ?) AS BIGINT) > ? ELSE FALSE END) ' +
      'AND o.fields @> ?::jsonb AND NOT (o.fields ?? ?) AND NOT (o.fields @> ?::jsonb) ' +
      'ORDER BY o.namespace, o.name LIMIT ?',
  );
  assert.deepEqual(params, [
    1,
    'ns',
    'ns',
    'r1',
    42,
    '{"app":"web"}',
    '{"tier":"db"}',
    'legacy',
    '{"env":"a"}',
    '{"env":"b"}',
    '{"zone":"x"}',
    'team',
    'n',
    'n',
    'n',
    5,
    '{"scope.kind":"Pod"}',
    'scope.name',
    '{"summary.fail":"0"}',
    11,
  ]);
  assert.equal(
    numberPlaceholders(sql).match(/\$\d+/g)?.length,
    params.length,
    'every parameter has its placeholder once ?? is the operator',
  );
});

test('SQLite executes selectors on the indexes (cost follows matches), and the SQL agrees with the matcher', () => {
  const db = new DatabaseSync(':memory:');
  for (const s of schema('sqlite')) db.exec(s); // on an empty database the transforms have nothing to do
  db.exec("INSERT INTO resource_types (id, api_group, resource, kind) VALUES (1, 'g', 'r', 'K')");
  const insertObject = db.prepare(
    'INSERT INTO objects (id, type_id, namespace, name, uid, rv, data) VALUES (?, 1, ?, ?, ?, ?, ?)',
  );
  const insertLabel = db.prepare(
    'INSERT INTO labels (object_id, type_id, namespace, name, key, value) VALUES (?, 1, ?, ?, ?, ?)',
  );
  for (let i = 1; i <= 300; i++) {
    const ns = `ns${i % 3}`;
    const name = `o${i}`;
    insertObject.run(i, ns, name, `u${i}`, i, '{}');
    insertLabel.run(i, ns, name, 'app', `a${i % 10}`);
    if (i % 7 === 0) insertLabel.run(i, ns, name, 'n', String(i));
  }
  db.exec('ANALYZE');
  const run = (labels: string, limit?: number) => {
    const query = buildListQuery('sqlite', { ...q(labels), ...(limit ? { limit } : {}) });
    const plan = (
      db.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...(query.params as number[])) as { detail: string }[]
    )
      .map((r) => r.detail)
      .join('\n');
    const rows = db.prepare(query.sql).all(...(query.params as number[])) as { name: string; namespace: string }[];
    return { plan, names: rows.map((r) => `${r.namespace}/${r.name}`) };
  };
  const eq = run('app=a3');
  assert.match(eq.plan, /SEARCH d USING (COVERING )?INDEX labels_by_value \(type_id=\? AND key=\? AND value=\?\)/);
  assert.match(eq.plan, /SEARCH o USING INTEGER PRIMARY KEY/);
  assert.doesNotMatch(eq.plan, /SCAN o\b/);
  assert.doesNotMatch(eq.plan, /TEMP B-TREE/, 'the index gives key order: no sort');
  assert.equal(eq.names.length, 30);
  assert.deepEqual(eq.names, [...eq.names].sort());
  const probe = run('app=a3,n');
  assert.match(probe.plan, /labels_by_value/);
  assert.match(probe.plan, /sqlite_autoindex_labels_1|PRIMARY KEY/);
  assert.equal(probe.names.length, 4); // 63, 133, 203, 273
  assert.deepEqual(
    probe.names.map((k) => Number(k.split('/o')[1])).every((i) => i % 10 === 3 && i % 7 === 0),
    true,
  );
  assert.deepEqual(run('n>280').names.sort(), ['ns0/o294', 'ns2/o287'].sort());
  assert.equal(run('app notin (a1,a2)', 5).names.length, 5);
  db.close();
});
