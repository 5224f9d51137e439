// The operator's admission decisions: defaulting as JSONPatch, validation errors on the right fields in
// kube-apiserver's Invalid format, immutability and ratcheting on update, references in the target.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import type { ReportOutput } from '../../../src/api/diki/index.ts';
import { defaultComplianceScan, type DikiValidationContext } from '../../../src/api/diki/validate.ts';
import { catalog } from '../../../src/scanner/catalog.ts';
import {
  causeReason,
  denyInvalid,
  reviewProblem,
  type AdmissionRequest,
  type AdmissionResponse,
} from '../../../src/operator/webhooks/admission.ts';
import { webhookConfigurations } from '../../../src/operator/webhooks/configurations.ts';
import { mutate, validate } from '../../../src/operator/webhooks/handlers.ts';
import type { ReferenceLookup } from '../../../src/operator/webhooks/references.ts';

const apiVersion = 'diki.gardener.cloud/v1alpha1';
const context: DikiValidationContext = { catalog, argusVersion: '0.1.0', now: new Date('2026-11-23T12:00:00Z') };

const resources = {
  ComplianceScan: 'compliancescans',
  ScheduledComplianceScan: 'scheduledcompliancescans',
  ReportOutput: 'reportoutputs',
} as const;
type Kind = keyof typeof resources;

let uids = 0;
function request(
  kind: Kind,
  operation: 'CREATE' | 'UPDATE' | 'DELETE',
  object: Record<string, unknown> | undefined,
  oldObject?: Record<string, unknown>,
): AdmissionRequest {
  const name = ((object ?? oldObject)?.metadata as { name?: string } | undefined)?.name ?? '';
  return {
    uid: `uid-${++uids}`,
    kind: { group: 'diki.gardener.cloud', version: 'v1alpha1', kind },
    resource: { group: 'diki.gardener.cloud', version: 'v1alpha1', resource: resources[kind] },
    operation,
    name,
    object,
    ...(oldObject ? { oldObject } : {}),
  };
}

const scan = (spec: unknown, name = 'scan-1') => ({ apiVersion, kind: 'ComplianceScan', metadata: { name }, spec });
const scheduled = (spec: unknown, name = 'weekly') => ({
  apiVersion,
  kind: 'ScheduledComplianceScan',
  metadata: { name },
  spec,
});
const reportOutput = (output: unknown, name = 'out') => ({
  apiVersion,
  kind: 'ReportOutput',
  metadata: { name },
  spec: { output },
});

/** The object after the response's patch. */
function patched(object: unknown, response: AdmissionResponse): unknown {
  if (!response.patch) return object;
  assert.equal(response.patchType, 'JSONPatch');
  const operations = JSON.parse(Buffer.from(response.patch, 'base64').toString()) as jsonpatch.Operation[];
  return jsonpatch.applyPatch(structuredClone(object), operations, true, false).newDocument;
}

const fields = (response: AdmissionResponse): string[] =>
  (response.status?.details?.causes ?? []).map((c) => c.field ?? '');

/** A target cluster held in memory: ConfigMaps by `namespace/name`, ReportOutputs by name. */
function memoryLookup(
  configMaps: Record<string, Record<string, string>> = {},
  outputs: ReportOutput[] = [],
): ReferenceLookup & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async configMap(namespace, name) {
      reads.push(`cm ${namespace}/${name}`);
      const data = configMaps[`${namespace}/${name}`];
      return data ? { data } : undefined;
    },
    async reportOutput(name) {
      reads.push(`ro ${name}`);
      return outputs.find((o) => o.metadata?.name === name);
    },
    async reportOutputs() {
      reads.push('ro list');
      return outputs;
    },
  };
}

// --- mutating ---------------------------------------------------------------------------------------------------

test('a ComplianceScan without rulesets gets every ruleset at its latest version as a JSONPatch on create', () => {
  const object = scan({});
  const response = mutate(request('ComplianceScan', 'CREATE', object), { catalog });
  assert.equal(response.allowed, true);
  const result = patched(object, response) as ReturnType<typeof scan>;
  assert.deepEqual(result.spec, {
    rulesets: [
      { id: 'disa-kubernetes-stig', version: 'v2r6' },
      { id: 'security-hardened-k8s', version: 'v0.1.0' },
      { id: 'pod-security-standards', version: 'v1.36' },
    ],
  });
});

test('named rulesets get their latest version and default ConfigMap keys; an object without spec gets one', () => {
  const object = scan({
    rulesets: [
      {
        id: 'disa-kubernetes-stig',
        options: {
          ruleset: { configMapRef: { name: 'opts', namespace: 'kube-system' } },
          rules: { configMapRef: { name: 'opts', namespace: 'kube-system', key: 'custom' } },
        },
      },
    ],
    outputs: [{ name: 'cm', optional: false }],
  });
  const result = patched(object, mutate(request('ComplianceScan', 'CREATE', object), { catalog }));
  assert.deepEqual(result, JSON.parse(JSON.stringify(defaultComplianceScan(object as never, catalog))));
  const ruleset = (result as { spec: { rulesets: Record<string, unknown>[] } }).spec.rulesets[0]!;
  assert.equal(ruleset.version, 'v2r6');
  assert.deepEqual(ruleset.options, {
    ruleset: { configMapRef: { name: 'opts', namespace: 'kube-system', key: 'disa-kubernetes-stig' } },
    rules: { configMapRef: { name: 'opts', namespace: 'kube-system', key: 'custom' } },
  });

  const bare = { apiVersion, kind: 'ComplianceScan', metadata: { name: 'bare' } };
  const filled = patched(bare, mutate(request('ComplianceScan', 'CREATE', bare), { catalog })) as { spec: unknown };
  assert.equal((filled.spec as { rulesets: unknown[] }).rulesets.length, 3);
});

test('an already defaulted scan, an update of a scan and an object that does not fit its schema get no patch', () => {
  const full = JSON.parse(JSON.stringify(defaultComplianceScan(scan({}) as never, catalog))) as Record<string, unknown>;
  const r1 = mutate(request('ComplianceScan', 'CREATE', full), { catalog });
  assert.deepEqual([r1.allowed, r1.patch], [true, undefined]);
  const r2 = mutate(request('ComplianceScan', 'UPDATE', scan({}), scan({})), { catalog });
  assert.deepEqual([r2.allowed, r2.patch], [true, undefined]);
  const r3 = mutate(request('ComplianceScan', 'CREATE', scan({ rulesets: 'all' })), { catalog });
  assert.deepEqual([r3.allowed, r3.patch], [true, undefined]);
  const r4 = mutate(request('ComplianceScan', 'DELETE', undefined, scan({})), { catalog });
  assert.deepEqual([r4.allowed, r4.patch], [true, undefined]);
});

test('ScheduledComplianceScans and ReportOutputs get the schema defaults on create and update', () => {
  const s = scheduled({ schedule: '0 3 * * *' });
  for (const operation of ['CREATE', 'UPDATE'] as const) {
    const result = patched(s, mutate(request('ScheduledComplianceScan', operation, s, s), { catalog })) as {
      spec: Record<string, unknown>;
    };
    assert.deepEqual(result.spec, {
      schedule: '0 3 * * *',
      maxJitterSeconds: 0,
      suspend: false,
      successfulScansHistoryLimit: 3,
      failedScansHistoryLimit: 1,
      // The template is not expanded: each child is defaulted when it is created.
      scanTemplate: { spec: {} },
    });
  }
  const o = reportOutput({ reportsAPI: {} });
  const result = patched(o, mutate(request('ReportOutput', 'CREATE', o), { catalog })) as ReportOutput;
  assert.deepEqual(result.spec.output, { reportsAPI: { apiVersion: 'wgpolicyk8s.io/v1alpha2', namePrefix: 'argus-' } });
});

// --- validating -------------------------------------------------------------------------------------------------

test('a denial is 422 Invalid with kube-apiserver’s message and one cause per field', async () => {
  const response = await validate(
    request(
      'ComplianceScan',
      'CREATE',
      scan({ rulesets: [{ id: 'nope' }, { id: 'disa-kubernetes-stig', version: 'v9' }], dikiVersion: 'v0.28.0' }),
    ),
    context,
  );
  assert.equal(response.allowed, false);
  assert.equal(response.status?.code, 422);
  assert.equal(response.status?.reason, 'Invalid');
  assert.deepEqual(fields(response), ['spec.dikiVersion', 'spec.rulesets[0].id', 'spec.rulesets[1].version']);
  assert.deepEqual(
    response.status?.details?.causes?.map((c) => c.reason),
    ['FieldValueNotSupported', 'FieldValueNotSupported', 'FieldValueNotSupported'],
  );
  assert.deepEqual(
    { name: response.status?.details?.name, group: response.status?.details?.group },
    { name: 'scan-1', group: 'diki.gardener.cloud' },
  );
  assert.equal(response.status?.details?.kind, 'ComplianceScan');
  assert.match(
    response.status?.message ?? '',
    /^ComplianceScan\.diki\.gardener\.cloud "scan-1" is invalid: \[spec\.dikiVersion: Unsupported value: "v0\.28\.0": .*, spec\.rulesets\[0\]\.id: Unsupported value: "nope": supported values: "disa-kubernetes-stig", .*\]$/,
  );

  const one = denyInvalid('u', { group: 'diki.gardener.cloud', version: 'v1alpha1', kind: 'ReportOutput' }, 'x', [
    { field: 'spec.output', message: 'Required value: exactly one' },
  ]);
  assert.equal(
    one.status?.message,
    'ReportOutput.diki.gardener.cloud "x" is invalid: spec.output: Required value: exactly one',
  );
  assert.equal(causeReason('Duplicate value: "a"'), 'FieldValueDuplicate');
  assert.equal(causeReason('Not found: "a"'), 'FieldValueNotFound');
  assert.equal(causeReason('unknown field'), 'FieldValueInvalid');
});

test('ScheduledComplianceScans: cron, time zone, jitter and the template are checked on create and update', async () => {
  const bad = scheduled({
    schedule: '*/5 * * * * *',
    timeZone: 'Mars/Olympus',
    scanTemplate: { spec: { rulesets: [{ id: 'security-hardened-k8s', version: 'v0' }] } },
  });
  const response = await validate(request('ScheduledComplianceScan', 'CREATE', bad), context);
  assert.deepEqual(fields(response), ['spec.schedule', 'spec.timeZone', 'spec.scanTemplate.spec.rulesets[0].version']);

  const jitter = scheduled({ schedule: '@hourly', maxJitterSeconds: 3600 });
  assert.deepEqual(fields(await validate(request('ScheduledComplianceScan', 'CREATE', jitter), context)), [
    'spec.maxJitterSeconds',
  ]);
  const good = scheduled({ schedule: '0 3 * * *', timeZone: 'Europe/Berlin', maxJitterSeconds: 600 });
  assert.equal((await validate(request('ScheduledComplianceScan', 'CREATE', good), context)).allowed, true);
  // The template may change; a new bad schedule may not.
  const changed = scheduled({
    schedule: '0 3 * * *',
    scanTemplate: { spec: { rulesets: [{ id: 'pod-security-standards' }] } },
  });
  assert.equal((await validate(request('ScheduledComplianceScan', 'UPDATE', changed, good), context)).allowed, true);
  const broken = scheduled({ schedule: 'daily' });
  assert.deepEqual(fields(await validate(request('ScheduledComplianceScan', 'UPDATE', broken, good), context)), [
    'spec.schedule',
  ]);
  const long = scheduled({}, 'x'.repeat(64));
  assert.deepEqual(fields(await validate(request('ScheduledComplianceScan', 'CREATE', long), context)), [
    'metadata.name',
  ]);
});

test('updates: a changed spec is rejected, metadata changes pass, errors the old object had are not repeated', async () => {
  const old = scan({ rulesets: [{ id: 'disa-kubernetes-stig', version: 'v2r6' }] });
  const changed = scan({ rulesets: [{ id: 'disa-kubernetes-stig', version: 'v2r5' }] });
  const r1 = await validate(request('ComplianceScan', 'UPDATE', changed, old), context);
  assert.deepEqual(fields(r1), ['spec']);
  assert.match(r1.status?.message ?? '', /is invalid: spec: Invalid value: spec is immutable$/);

  const labelled = { ...old, metadata: { name: 'scan-1', labels: { a: 'b' }, finalizers: ['x/y'] } };
  assert.equal((await validate(request('ComplianceScan', 'UPDATE', labelled, old), context)).allowed, true);

  // A scan pinned to a version an operator upgrade dropped still takes metadata changes.
  const stale = scan({ rulesets: [{ id: 'disa-kubernetes-stig', version: 'v1r1' }] });
  const staleLabelled = { ...stale, metadata: { name: 'scan-1', labels: { a: 'b' } } };
  assert.equal((await validate(request('ComplianceScan', 'UPDATE', staleLabelled, stale), context)).allowed, true);
  // Being deleted: finalizers must be removable whatever the object says.
  const deleting = { ...changed, metadata: { name: 'scan-1', deletionTimestamp: '2026-11-23T12:00:00Z' } };
  assert.equal((await validate(request('ComplianceScan', 'UPDATE', deleting, old), context)).allowed, true);

  const ro = reportOutput({ configMap: { namespace: 'kube-system', namePrefix: 'a-' } });
  const ro2 = reportOutput({ configMap: { namespace: 'kube-system', namePrefix: 'b-' } });
  assert.deepEqual(fields(await validate(request('ReportOutput', 'UPDATE', ro2, ro), context)), ['spec']);
  const roLabelled = { ...ro, metadata: { name: 'out', labels: { a: 'b' } } };
  assert.equal((await validate(request('ReportOutput', 'UPDATE', roLabelled, ro), context)).allowed, true);
});

test('ReportOutputs: one output type, URLs and names are checked', async () => {
  const two = reportOutput({ configMap: {}, reportsAPI: {} });
  assert.deepEqual(fields(await validate(request('ReportOutput', 'CREATE', two), context)), ['spec.output']);
  const http = reportOutput({ webhook: { url: 'http://user:pw@example.com/hook' } });
  assert.deepEqual(fields(await validate(request('ReportOutput', 'CREATE', http), context)), [
    'spec.output.webhook.url',
    'spec.output.webhook.url',
  ]);
  assert.equal(
    (await validate(request('ReportOutput', 'CREATE', reportOutput({ configMap: {} })), context)).allowed,
    true,
  );
});

test('referenced ConfigMaps, their keys and ReportOutputs must exist; each error is on its field', async () => {
  const lookup = memoryLookup(
    {
      'kube-system/stig': { 'disa-kubernetes-stig': 'maxRetries: 1\n' },
      'team/opts': { other: '' },
    },
    [reportOutput({ configMap: {} }, 'cm') as ReportOutput],
  );
  const object = scan({
    rulesets: [
      {
        id: 'disa-kubernetes-stig',
        options: {
          ruleset: { configMapRef: { name: 'stig' } }, // default namespace and key: present
          rules: { configMapRef: { name: 'stig', namespace: 'kube-system' } }, // default key -rules: missing
        },
      },
      {
        id: 'security-hardened-k8s',
        options: {
          ruleset: { configMapRef: { name: 'opts', namespace: 'team', key: 'shk' } }, // key missing
          rules: { configMapRef: { name: 'absent', namespace: 'team' } }, // ConfigMap missing
        },
      },
    ],
    outputs: [{ name: 'cm' }, { name: 'missing', optional: true }],
  });
  const response = await validate(request('ComplianceScan', 'CREATE', object), { ...context, lookup });
  assert.equal(response.status?.code, 422);
  assert.deepEqual(fields(response), [
    'spec.rulesets[0].options.rules.configMapRef.key',
    'spec.rulesets[1].options.ruleset.configMapRef.key',
    'spec.rulesets[1].options.rules.configMapRef.name',
    'spec.outputs[1].name',
  ]);
  const causes = response.status?.details?.causes ?? [];
  assert.deepEqual(
    causes.map((c) => c.reason),
    ['FieldValueNotFound', 'FieldValueNotFound', 'FieldValueNotFound', 'FieldValueNotFound'],
  );
  assert.equal(
    causes[0]?.message,
    'Not found: "disa-kubernetes-stig-rules": ConfigMap kube-system/stig has no such key',
  );
  assert.equal(causes[2]?.message, 'Not found: "absent": ConfigMap team/absent does not exist');
  assert.equal(causes[3]?.message, 'Not found: "missing": ReportOutput missing does not exist');
  // kube-system/stig is read once although named twice.
  assert.equal(lookup.reads.filter((r) => r === 'cm kube-system/stig').length, 1);

  // The template of a scheduled scan is checked the same way, at its own path, and when it changes.
  const s = scheduled({ scanTemplate: { spec: { outputs: [{ name: 'gone' }] } } });
  assert.deepEqual(fields(await validate(request('ScheduledComplianceScan', 'CREATE', s), { ...context, lookup })), [
    'spec.scanTemplate.spec.outputs[0].name',
  ]);
  const suspended = scheduled({ suspend: true, scanTemplate: { spec: { outputs: [{ name: 'gone' }] } } });
  assert.equal(
    (await validate(request('ScheduledComplianceScan', 'UPDATE', suspended, s), { ...context, lookup })).allowed,
    true,
    'an unchanged template is not looked up again',
  );

  // A reference with a bad name is reported by validation only, not looked up.
  lookup.reads.length = 0;
  const badName = scan({ outputs: [{ name: 'Not_A_Name' }] });
  assert.deepEqual(fields(await validate(request('ComplianceScan', 'CREATE', badName), { ...context, lookup })), [
    'spec.outputs[0].name',
  ]);
  assert.deepEqual(lookup.reads, []);

  const fine = scan({
    rulesets: [{ id: 'disa-kubernetes-stig', options: { ruleset: { configMapRef: { name: 'stig' } } } }],
    outputs: [{ name: 'cm' }],
  });
  assert.equal((await validate(request('ComplianceScan', 'CREATE', fine), { ...context, lookup })).allowed, true);
});

test('when the target cannot be read, the request is denied with 500 InternalError', async () => {
  const failing: ReferenceLookup = {
    configMap: () => Promise.reject(new Error('GET /api/v1/namespaces/kube-system/configmaps/x: timeout')),
    reportOutput: () => Promise.reject(new Error('connection refused')),
    reportOutputs: () => Promise.reject(new Error('connection refused')),
  };
  const response = await validate(request('ComplianceScan', 'CREATE', scan({ outputs: [{ name: 'cm' }] })), {
    ...context,
    lookup: failing,
  });
  assert.equal(response.allowed, false);
  assert.equal(response.status?.code, 500);
  assert.equal(response.status?.reason, 'InternalError');
  assert.match(response.status?.message ?? '', /cannot validate ComplianceScan "scan-1": connection refused/);
});

test('two reports-API ReportOutputs with the same report type and name prefix are not allowed', async () => {
  const existing = reportOutput(
    { reportsAPI: { apiVersion: 'wgpolicyk8s.io/v1alpha2', namePrefix: 'argus-' } },
    'first',
  );
  const lookup = memoryLookup({}, [existing as ReportOutput]);
  const second = reportOutput({ reportsAPI: {} }, 'second');
  const response = await validate(request('ReportOutput', 'CREATE', second), { ...context, lookup });
  assert.deepEqual(fields(response), ['spec.output.reportsAPI.namePrefix']);
  assert.equal(response.status?.details?.causes?.[0]?.reason, 'FieldValueDuplicate');
  assert.match(response.status?.details?.causes?.[0]?.message ?? '', /ReportOutput "first" already writes/);
  const other = reportOutput({ reportsAPI: { namePrefix: 'team-' } }, 'third');
  assert.equal((await validate(request('ReportOutput', 'CREATE', other), { ...context, lookup })).allowed, true);
  const openreports = reportOutput({ reportsAPI: { apiVersion: 'openreports.io/v1alpha1' } }, 'fourth');
  assert.equal((await validate(request('ReportOutput', 'CREATE', openreports), { ...context, lookup })).allowed, true);
});

test('other kinds and operations are allowed untouched', async () => {
  const other: AdmissionRequest = {
    uid: 'x',
    kind: { group: '', version: 'v1', kind: 'ConfigMap' },
    resource: { group: '', version: 'v1', resource: 'configmaps' },
    operation: 'CREATE',
    object: { metadata: { name: 'a' } },
  };
  assert.deepEqual(await validate(other, context), { uid: 'x', allowed: true });
  assert.deepEqual(mutate(other, { catalog }), { uid: 'x', allowed: true });
  assert.equal((await validate(request('ComplianceScan', 'DELETE', undefined, scan({})), context)).allowed, true);
});

test('reviewProblem names what makes a body no AdmissionReview v1', () => {
  assert.match(reviewProblem([]) ?? '', /not a JSON object/);
  assert.match(reviewProblem({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' }) ?? '', /expected/);
  assert.match(reviewProblem({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }) ?? '', /no request/);
  assert.match(
    reviewProblem({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } }) ??
      '',
    /no uid/,
  );
  assert.equal(
    reviewProblem({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: request('ComplianceScan', 'CREATE', scan({})),
    }),
    undefined,
  );
});

test('webhook configurations call a URL or a Service, with the CA bundle, for the three kinds', () => {
  const [mutating, validating] = webhookConfigurations(
    { service: { namespace: 'garden-shoot', name: 'argus-operator' } },
    'PEM',
  );
  assert.equal(mutating.kind, 'MutatingWebhookConfiguration');
  assert.equal(mutating.metadata?.name, 'argus-operator');
  assert.deepEqual(mutating.webhooks[0]!.clientConfig, {
    service: { namespace: 'garden-shoot', name: 'argus-operator', port: 443, path: '/mutate' },
    caBundle: Buffer.from('PEM').toString('base64'),
  });
  assert.equal(validating.kind, 'ValidatingWebhookConfiguration');
  assert.deepEqual(validating.webhooks[0]!.clientConfig, {
    service: { namespace: 'garden-shoot', name: 'argus-operator', port: 443, path: '/validate' },
    caBundle: Buffer.from('PEM').toString('base64'),
  });
  const [byUrl] = webhookConfigurations({ url: 'https://operator.example.com:9443/' }, 'PEM');
  assert.equal((byUrl.webhooks[0]!.clientConfig as { url: string }).url, 'https://operator.example.com:9443/mutate');
  for (const webhook of [...byUrl.webhooks, ...validating.webhooks]) {
    assert.deepEqual(
      [webhook.failurePolicy, webhook.sideEffects, webhook.admissionReviewVersions, webhook.timeoutSeconds],
      ['Fail', 'None', ['v1'], 10],
    );
  }
});
