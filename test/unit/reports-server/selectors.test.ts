import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageError } from '../../../src/reports-server/storage/errors.ts';
import { policyReports, reports } from '../../../src/reports-server/storage/reports.ts';
import {
  matches,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  resolveSelectors,
} from '../../../src/reports-server/storage/selectors.ts';

const bad = (fn: () => unknown, match: RegExp): void => {
  assert.throws(
    fn,
    (err: unknown) => err instanceof StorageError && err.reason === 'BadRequest' && match.test(err.message),
  );
};

test('label selector syntax: every operator, whitespace, empty', () => {
  assert.deepEqual(parseLabelSelector(''), []);
  assert.deepEqual(parseLabelSelector('  '), []);
  assert.deepEqual(parseLabelSelector('a=b, c==d,e!=f , g in (y, x), h notin (z),i,!j, k>3,l<-2,m=,example.com/n=o'), [
    { key: 'a', operator: '=', values: ['b'] },
    { key: 'c', operator: '=', values: ['d'] },
    { key: 'e', operator: '!=', values: ['f'] },
    { key: 'g', operator: 'in', values: ['x', 'y'] },
    { key: 'h', operator: 'notin', values: ['z'] },
    { key: 'i', operator: 'exists', values: [] },
    { key: 'j', operator: '!exists', values: [] },
    { key: 'k', operator: '>', values: ['3'] },
    { key: 'l', operator: '<', values: ['-2'] },
    { key: 'm', operator: '=', values: [''] },
    { key: 'example.com/n', operator: '=', values: ['o'] },
  ]);
  assert.deepEqual(parseLabelSelector('a in (x,)'), [{ key: 'a', operator: 'in', values: ['', 'x'] }]);
});

test('label selector errors are BadRequest naming the problem', () => {
  bad(() => parseLabelSelector('a in ()'), /values set can't be empty/);
  bad(() => parseLabelSelector('a in x'), /expected: '\('/);
  bad(() => parseLabelSelector('a=b c=d'), /expected: ',' or 'end of string'/);
  bad(() => parseLabelSelector('=b'), /expected: identifier/);
  bad(() => parseLabelSelector('a>x'), /must be an integer/);
  bad(() => parseLabelSelector('bad_key_-=1'), /invalid label key/);
  bad(() => parseLabelSelector('a=not valid!'), /unable to parse/);
  bad(() => parseLabelSelector(`a=${'x'.repeat(64)}`), /invalid label value/);
  bad(() => parseLabelSelector('a b'), /expected: in, notin/);
  bad(() => parseLabelSelector('a,'), /expected: identifier/);
});

test('label matching follows Kubernetes: != and notin match absent keys', () => {
  const labels = { app: 'web', n: '12', empty: '' };
  const m = (s: string) => matchesLabels(parseLabelSelector(s), labels);
  assert.ok(m('app=web'));
  assert.ok(!m('app=db'));
  assert.ok(m('app!=db'));
  assert.ok(m('missing!=x'));
  assert.ok(m('app in (db,web)'));
  assert.ok(!m('missing in (x)'));
  assert.ok(m('missing notin (x)'));
  assert.ok(!m('app notin (web)'));
  assert.ok(m('app,!missing'));
  assert.ok(!m('!app'));
  assert.ok(m('empty='));
  assert.ok(m('empty'));
  assert.ok(m('n>11,n<13'));
  assert.ok(!m('n>12'));
  assert.ok(!m('app>1'), 'Gt needs an integer value');
  assert.ok(matchesLabels(parseLabelSelector(''), undefined));
  assert.ok(!matchesLabels(parseLabelSelector('app'), undefined));
  assert.ok(matchesLabels(parseLabelSelector('app!=x,!app'), undefined));
});

test('field selector syntax: =, ==, !=, escapes, errors', () => {
  assert.deepEqual(parseFieldSelector(''), []);
  assert.deepEqual(parseFieldSelector('metadata.name=a,scope.kind!=Pod,summary.fail==0'), [
    { field: 'metadata.name', operator: '=', value: 'a' },
    { field: 'scope.kind', operator: '!=', value: 'Pod' },
    { field: 'summary.fail', operator: '=', value: '0' },
  ]);
  assert.deepEqual(parseFieldSelector('scope.name=a\\,b\\=c'), [
    { field: 'scope.name', operator: '=', value: 'a,b=c' },
  ]);
  assert.deepEqual(parseFieldSelector('scope.name='), [{ field: 'scope.name', operator: '=', value: '' }]);
  bad(() => parseFieldSelector('nooperator'), /can't understand/);
  bad(() => parseFieldSelector('=x'), /can't understand/);
  bad(() => resolveSelectors(policyReports, undefined, 'spec.x=1'), /field label not supported: spec.x/);
  bad(() => resolveSelectors(policyReports, undefined, 'source=x'), /not supported/);
  assert.deepEqual(resolveSelectors(reports, undefined, 'source=x').fields, [
    { field: 'source', operator: '=', value: 'x' },
  ]);
});

test('field matching reads metadata and the report fields; absent is the empty string', () => {
  const object = {
    metadata: { name: 'r', namespace: 'ns', labels: { a: 'b' } },
    scope: { kind: 'Pod', name: 'p' },
    summary: { fail: 0, pass: 3 },
  };
  const m = (label: string, field: string) =>
    matches(policyReports, resolveSelectors(policyReports, label, field), object);
  assert.ok(m('a=b', 'metadata.name=r,metadata.namespace=ns'));
  assert.ok(m('', 'scope.kind=Pod,scope.namespace=,summary.fail=0,summary.pass!=0'));
  assert.ok(!m('', 'scope.namespace!='));
  assert.ok(!m('a=c', 'metadata.name=r'));
  assert.ok(!m('', 'summary.fail!=0'));
});
