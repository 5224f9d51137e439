// OSCAL Assessment Results: the fields the official JSON schema (oscal_assessment-results_schema.json) requires,
// with its patterns for UUIDs, tokens and date-times, plus the finding status mapping and references.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Type from 'typebox';
import { schemaErrors } from '../../../../src/api/validation.ts';
import { findingStatus, oscalToken, renderOscal, toOscal } from '../../../../src/scanner/report/oscal.ts';
import { findings } from '../../../../src/scanner/report/diff.ts';
import { sampleReport } from '../../../support/sample-report.ts';

// The schema's datatypes.
const UUID = Type.String({
  pattern: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$',
});
const Token = Type.String({ pattern: '^(\\p{L}|_)(\\p{L}|\\p{N}|[.\\-_])*$' });
const DateTimeTz = Type.String({
  pattern:
    '^(((2000|2400|2800|(19|2[0-9](0[48]|[2468][048]|[13579][26])))-02-29)|(((19|2[0-9])[0-9]{2})-02-(0[1-9]|1[0-9]|2[0-8]))|(((19|2[0-9])[0-9]{2})-(0[13578]|10|12)-(0[1-9]|[12][0-9]|3[01]))|(((19|2[0-9])[0-9]{2})-(0[469]|11)-(0[1-9]|[12][0-9]|30)))T(2[0-3]|[01][0-9]):([0-5][0-9]):([0-5][0-9])(\\.[0-9]+)?(Z|(-((0[0-9]|1[0-2]):00|0[39]:30)|\\+((0[0-9]|1[0-4]):00|(0[34569]|10):30|(0[58]|12):45)))$',
});
const Str = Type.String({ pattern: '^\\S(.*\\S)?$' });
const Prop = Type.Object({ name: Token, value: Str, ns: Type.Optional(Type.String()) });
const Props = Type.Optional(Type.Array(Prop, { minItems: 1 }));

const AssessmentResults = Type.Object({
  'assessment-results': Type.Object({
    uuid: UUID,
    metadata: Type.Object({
      title: Type.String(),
      'last-modified': DateTimeTz,
      version: Type.String({ minLength: 1 }),
      'oscal-version': Type.String({ pattern: '^1\\.1\\.\\d+$' }),
      props: Props,
    }),
    'import-ap': Type.Object({ href: Type.String({ minLength: 1 }) }),
    results: Type.Array(
      Type.Object({
        uuid: UUID,
        title: Type.String(),
        description: Type.String(),
        start: DateTimeTz,
        end: Type.Optional(DateTimeTz),
        'local-definitions': Type.Optional(
          Type.Object({
            'inventory-items': Type.Array(Type.Object({ uuid: UUID, description: Type.String(), props: Props }), {
              minItems: 1,
            }),
          }),
        ),
        'reviewed-controls': Type.Object({
          'control-selections': Type.Array(Type.Object({}), { minItems: 1 }),
        }),
        observations: Type.Optional(
          Type.Array(
            Type.Object({
              uuid: UUID,
              description: Type.String(),
              methods: Type.Array(
                Type.Union([
                  Type.Literal('EXAMINE'),
                  Type.Literal('INTERVIEW'),
                  Type.Literal('TEST'),
                  Type.Literal('UNKNOWN'),
                ]),
                { minItems: 1 },
              ),
              types: Type.Optional(Type.Array(Type.Literal('finding'), { minItems: 1 })),
              subjects: Type.Optional(Type.Array(Type.Object({ 'subject-uuid': UUID, type: Token }), { minItems: 1 })),
              collected: DateTimeTz,
              props: Props,
            }),
            { minItems: 1 },
          ),
        ),
        findings: Type.Optional(
          Type.Array(
            Type.Object({
              uuid: UUID,
              title: Type.String(),
              description: Type.String(),
              props: Props,
              target: Type.Object({
                type: Type.Union([Type.Literal('statement-id'), Type.Literal('objective-id')]),
                'target-id': Token,
                status: Type.Object({
                  state: Type.Union([Type.Literal('satisfied'), Type.Literal('not-satisfied')]),
                  reason: Type.Optional(Token),
                }),
              }),
              'related-observations': Type.Optional(
                Type.Array(Type.Object({ 'observation-uuid': UUID }), { minItems: 1 }),
              ),
            }),
            { minItems: 1 },
          ),
        ),
      }),
      { minItems: 1 },
    ),
    'back-matter': Type.Optional(Type.Object({ resources: Type.Array(Type.Object({ uuid: UUID }), { minItems: 1 }) })),
  }),
});

describe('OSCAL Assessment Results', () => {
  const report = sampleReport();
  const doc = toOscal(report);
  const ar = doc['assessment-results'];
  const result = ar.results[0]!;

  test('has every field the official schema requires, in the required form', () => {
    assert.deepEqual(schemaErrors(AssessmentResults, doc), []);
    assert.deepEqual(
      schemaErrors(AssessmentResults, toOscal(sampleReport({ providers: [], metadata: undefined }))),
      [],
    );
    assert.deepEqual(schemaErrors(AssessmentResults, JSON.parse(renderOscal(report))), []);
  });

  test('the checker itself rejects a document without required fields', () => {
    const broken = structuredClone(doc) as { 'assessment-results': Record<string, unknown> };
    delete broken['assessment-results']['import-ap'];
    assert.ok(schemaErrors(AssessmentResults, broken).some((e) => e.field === 'assessment-results.import-ap'));
  });

  test('one observation per finding, one finding per rule, references resolve', () => {
    assert.equal(result.observations!.length, findings(report).length);
    const rules = report.providers[0]!.rulesets.reduce((n, rs) => n + rs.rules.length, 0);
    assert.equal(result.findings!.length, rules);
    const observationIds = new Set(result.observations!.map((o) => o.uuid));
    const itemIds = new Set(result['local-definitions']!['inventory-items'].map((i) => i.uuid));
    for (const f of result.findings!)
      for (const r of f['related-observations'] ?? []) assert.ok(observationIds.has(r['observation-uuid']));
    for (const o of result.observations!) for (const s of o.subjects ?? []) assert.ok(itemIds.has(s['subject-uuid']));
    assert.equal(ar['import-ap'].href, `#${ar['back-matter'].resources[0]!.uuid}`);
    const all = [ar.uuid, result.uuid, ...observationIds, ...itemIds, ...result.findings!.map((f) => f.uuid)];
    assert.equal(new Set(all).size, all.length, 'uuids are unique');
    const f = result.findings!.find((x) => x.target['target-id'] === 'disa-kubernetes-stig_v2r6_242383')!;
    assert.deepEqual(f.target.status, { state: 'not-satisfied', reason: 'fail' });
    assert.equal(ar.metadata.title, 'Argus compliance scan of prod-eu1');
  });

  test('maps rule outcomes to finding statuses', () => {
    const rule = (statuses: string[]) => ({
      id: '1',
      name: 'r',
      checks: statuses.map((status) => ({ status, message: status })) as never,
    });
    assert.equal(findingStatus(rule(['Passed', 'Failed'])).reason, 'fail');
    assert.deepEqual(findingStatus(rule(['Passed'])), { state: 'satisfied', reason: 'pass' });
    assert.equal(findingStatus(rule(['Passed', 'Accepted'])).state, 'satisfied');
    assert.equal(findingStatus(rule(['Errored'])).state, 'not-satisfied');
    assert.equal(findingStatus(rule(['Warning'])).reason, 'other');
    assert.equal(findingStatus(rule(['Skipped'])).state, 'not-satisfied');
    assert.equal(findingStatus(rule([])).state, 'not-satisfied');
  });

  test('tokens are made valid', () => {
    assert.equal(oscalToken('242383'), '_242383');
    assert.equal(oscalToken('a b/c'), 'a_b_c');
  });
});
