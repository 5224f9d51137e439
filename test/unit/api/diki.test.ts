import assert from 'node:assert/strict';
import { test } from 'node:test';
import { customResourceDefinition } from '../../../src/api/crd.ts';
import {
  complianceScanType,
  dikiCrdFiles,
  dikiTypes,
  reportOutputType,
  scanSummary,
  scheduledComplianceScanType,
  type ComplianceScan,
  type ReportOutput,
} from '../../../src/api/diki/index.ts';
import {
  cronExpression,
  jitterSeconds,
  scheduleProblem,
  shortestIntervalSeconds,
  timeZoneProblem,
} from '../../../src/api/diki/schedule.ts';
import {
  defaultComplianceScan,
  defaultReportOutput,
  defaultScheduledComplianceScan,
  dikiVersionSupported,
  supportedDikiVersions,
  validateComplianceScan,
  validateComplianceScanUpdate,
  validateReportOutput,
  validateReportOutputUpdate,
  validateScheduledComplianceScan,
  type DikiValidationContext,
} from '../../../src/api/diki/validate.ts';
import { catalog } from '../../../src/scanner/catalog.ts';

const context: DikiValidationContext = { catalog, argusVersion: '0.1.0', now: new Date('2026-11-23T12:00:00Z') };
const apiVersion = 'diki.gardener.cloud/v1alpha1';

const scan = (spec: unknown, name = 'scan-1') => ({ apiVersion, kind: 'ComplianceScan', metadata: { name }, spec });
const scheduled = (spec: unknown, name = 'weekly') => ({
  apiVersion,
  kind: 'ScheduledComplianceScan',
  metadata: { name },
  spec,
});
const output = (out: unknown, name = 'out') => ({
  apiVersion,
  kind: 'ReportOutput',
  metadata: { name },
  spec: { output: out },
});
const fields = (errors: { field: string }[]) => errors.map((e) => e.field);

/** The value at a dotted path in parsed JSON (`a.b.0.c`). */
function dig(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[key];
  return v;
}

test('names, scope, short names and categories', () => {
  assert.deepEqual(
    dikiTypes.map((t) => [
      t.apiVersion,
      t.kind,
      t.resource,
      t.crd.scope,
      t.crd.names.shortNames,
      t.crd.names.categories,
    ]),
    [
      [apiVersion, 'ComplianceScan', 'compliancescans', 'Cluster', ['cscan'], ['diki', 'compliance']],
      [
        apiVersion,
        'ScheduledComplianceScan',
        'scheduledcompliancescans',
        'Cluster',
        ['scscan'],
        ['diki', 'compliance'],
      ],
      [apiVersion, 'ReportOutput', 'reportoutputs', 'Cluster', ['ro'], ['diki', 'compliance']],
    ],
  );
  assert.deepEqual(
    [...dikiCrdFiles().keys()],
    [
      'diki.gardener.cloud_compliancescans.yaml',
      'diki.gardener.cloud_scheduledcompliancescans.yaml',
      'diki.gardener.cloud_reportoutputs.yaml',
    ],
  );
});

test('the CRDs: status subresources, printer columns, defaults and CEL rules', () => {
  const cscan = customResourceDefinition(complianceScanType.crd);
  const version = dig(cscan, 'spec.versions.0');
  assert.deepEqual(dig(version, 'subresources'), { status: {} });
  assert.deepEqual(
    (dig(version, 'additionalPrinterColumns') as { name: string; jsonPath: string }[]).map((c) => [c.name, c.jsonPath]),
    [
      ['Phase', '.status.phase'],
      ['Rulesets', '.status.summary.rulesets'],
      ['Passed', '.status.summary.passed'],
      ['Failed', '.status.summary.failed'],
      ['Warning', '.status.summary.warning'],
      ['Errored', '.status.summary.errored'],
      ['Age', '.metadata.creationTimestamp'],
    ],
  );
  const spec = dig(version, 'schema.openAPIV3Schema.properties.spec');
  assert.deepEqual(dig(spec, 'x-kubernetes-validations'), [{ rule: 'self == oldSelf', message: 'spec is immutable' }]);
  assert.deepEqual(dig(spec, 'default'), {});
  assert.equal(dig(spec, 'properties.outputs.items.properties.optional.default'), false);
  assert.deepEqual(dig(spec, 'properties.outputs.x-kubernetes-list-map-keys'), ['name']);
  assert.deepEqual(dig(spec, 'properties.rulesets.items.required'), ['id']);
  assert.deepEqual(dig(version, 'schema.openAPIV3Schema.properties.status.properties.phase.enum'), [
    'Pending',
    'Running',
    'Completed',
    'Failed',
  ]);

  const scscan = dig(customResourceDefinition(scheduledComplianceScanType.crd), 'spec.versions.0');
  const sspec = dig(scscan, 'schema.openAPIV3Schema.properties.spec.properties');
  assert.equal(dig(sspec, 'schedule.default'), '0 0 * * 0');
  assert.equal(dig(sspec, 'successfulScansHistoryLimit.default'), 3);
  assert.equal(dig(sspec, 'failedScansHistoryLimit.default'), 1);
  assert.equal(dig(sspec, 'maxJitterSeconds.maximum'), 86400);
  // The template is mutable (applies to the next scan); only ComplianceScan's own spec is immutable.
  assert.equal(dig(sspec, 'scanTemplate.properties.spec.x-kubernetes-validations'), undefined);

  const ro = dig(customResourceDefinition(reportOutputType.crd), 'spec.versions.0');
  assert.deepEqual(dig(ro, 'subresources'), {});
  const rspec = dig(ro, 'schema.openAPIV3Schema.properties.spec');
  assert.deepEqual(dig(ro, 'schema.openAPIV3Schema.required'), ['spec']);
  assert.deepEqual(dig(rspec, 'required'), ['output']);
  const rule = (dig(rspec, 'properties.output.x-kubernetes-validations') as { rule: string }[])[0]!.rule;
  assert.equal(
    rule,
    '[has(self.configMap), has(self.postgresql), has(self.openSearch), has(self.webhook), has(self.reportsAPI)].filter(x, x).size() == 1',
  );
  assert.equal(dig(rspec, 'properties.output.properties.configMap.properties.namespace.default'), 'kube-system');
  assert.equal(
    dig(rspec, 'properties.output.properties.configMap.properties.namePrefix.default'),
    'compliance-scan-report-',
  );
});

test('a valid ComplianceScan passes; defaulting names every ruleset at its latest version', () => {
  assert.deepEqual(validateComplianceScan(scan({}), context), []);
  assert.deepEqual(validateComplianceScan(scan(undefined), context), []);
  const full = scan({
    dikiVersion: 'v0.1',
    rulesets: [
      { id: 'disa-kubernetes-stig', version: 'v2r5', options: { ruleset: { configMapRef: { name: 'opts' } } } },
      {
        id: 'security-hardened-k8s',
        options: { rules: { configMapRef: { name: 'opts', namespace: 'ops', key: 'k' } } },
      },
    ],
    outputs: [{ name: 'to-configmap' }, { name: 'to-webhook', optional: true }],
  });
  assert.deepEqual(validateComplianceScan(full, context), []);

  const defaulted = defaultComplianceScan(full as ComplianceScan, catalog);
  assert.deepEqual(defaulted.spec, {
    dikiVersion: 'v0.1',
    rulesets: [
      {
        id: 'disa-kubernetes-stig',
        version: 'v2r5',
        options: { ruleset: { configMapRef: { name: 'opts', namespace: 'kube-system', key: 'disa-kubernetes-stig' } } },
      },
      {
        id: 'security-hardened-k8s',
        version: 'v0.1.0',
        options: { rules: { configMapRef: { name: 'opts', namespace: 'ops', key: 'k' } } },
      },
    ],
    outputs: [
      { name: 'to-configmap', optional: false },
      { name: 'to-webhook', optional: true },
    ],
  });
  const all = defaultComplianceScan(scan(undefined) as ComplianceScan, catalog).spec!;
  assert.deepEqual(
    all.rulesets,
    catalog.rulesets.map((r) => ({ id: r.id, version: r.versions[0]!.version })),
  );
  assert.ok(all.rulesets.some((r) => r.id === 'disa-kubernetes-stig' && r.version === 'v2r6'));
  // Unknown rulesets stay for validation to name; rules options get the `-rules` key.
  const odd = defaultComplianceScan(
    scan({ rulesets: [{ id: 'nope', options: { rules: { configMapRef: { name: 'x' } } } }] }) as ComplianceScan,
    catalog,
  );
  assert.deepEqual(odd.spec!.rulesets, [
    { id: 'nope', options: { rules: { configMapRef: { name: 'x', namespace: 'kube-system', key: 'nope-rules' } } } },
  ]);
});

test('invalid ComplianceScans: every error names its field', () => {
  const errors = validateComplianceScan(
    scan({
      dikiVersion: '0.28.0',
      rulesets: [
        { id: 'disa-kubernetes-stig', version: 'v1r1' },
        { id: 'cis' },
        { id: 'security-hardened-k8s', version: 'v0.1.0' },
        { id: 'security-hardened-k8s' },
        {
          id: 'pod-security-standards',
          options: { ruleset: { configMapRef: { name: 'Bad_Name', namespace: 'a.b', key: 'a/b' } } },
        },
      ],
      outputs: [{ name: 'a' }, { name: 'a' }, { name: 'UPPER' }],
    }),
    context,
  );
  assert.deepEqual(fields(errors), [
    'spec.dikiVersion',
    'spec.rulesets[0].version',
    'spec.rulesets[1].id',
    'spec.rulesets[3]',
    'spec.rulesets[4].options.ruleset.configMapRef.name',
    'spec.rulesets[4].options.ruleset.configMapRef.namespace',
    'spec.rulesets[4].options.ruleset.configMapRef.key',
    'spec.outputs[1].name',
    'spec.outputs[2].name',
  ]);
  assert.match(
    errors[0]!.message,
    /Unsupported value: "0\.28\.0": this operator runs argus 0\.1\.0; supported values: "0\.1\.0", "0\.1"/,
  );
  assert.equal(errors[1]!.message, 'Unsupported value: "v1r1": supported values: "v2r6", "v2r5"');
  assert.match(errors[2]!.message, /^Unsupported value: "cis": supported values: "disa-kubernetes-stig", /);
  assert.equal(errors[3]!.message, 'Duplicate value: "security-hardened-k8s@v0.1.0"');
  assert.equal(errors[7]!.message, 'Duplicate value: "a"');

  // Schema errors come first, with their paths, before the spec checks.
  const schema = validateComplianceScan(
    {
      apiVersion: 'v1',
      kind: 'ComplianceScan',
      metadata: { namespace: 'x' },
      spec: { rulesets: [{}], outputs: [{ name: 1 }] },
    },
    context,
  );
  assert.deepEqual(fields(schema), [
    'apiVersion',
    'metadata.name',
    'metadata.namespace',
    'spec.rulesets[0].id',
    'spec.outputs[0].name',
  ]);
  assert.deepEqual(fields(validateComplianceScan('nope', context)), ['']);
});

test('a ComplianceScan spec is immutable; metadata and status are not', () => {
  const old = scan({ rulesets: [{ id: 'disa-kubernetes-stig' }] }) as ComplianceScan;
  assert.deepEqual(
    validateComplianceScanUpdate(
      old,
      { ...old, metadata: { name: 'scan-1', labels: { a: 'b' } }, status: { phase: 'Running' } },
      context,
    ),
    [],
  );
  assert.deepEqual(
    validateComplianceScanUpdate(old, scan({ rulesets: [{ id: 'disa-kubernetes-stig', version: 'v2r5' }] }), context),
    [{ field: 'spec', message: 'Invalid value: spec is immutable' }],
  );
});

test('dikiVersion names the Argus version of this image', () => {
  assert.deepEqual(supportedDikiVersions('0.1.0'), ['0.1.0', '0.1']);
  for (const v of ['0.1.0', 'v0.1.0', '0.1', 'v0.1']) assert.ok(dikiVersionSupported(v, '0.1.0'), v);
  for (const v of ['0.1.1', '0.2', '1', 'v0.28.0', 'latest']) assert.ok(!dikiVersionSupported(v, '0.1.0'), v);
  assert.deepEqual(supportedDikiVersions('1.2.3-rc.1'), ['1.2.3-rc.1', '1.2']);
});

test('ScheduledComplianceScan: defaults, schedule, time zone, jitter and the template', () => {
  const defaulted = defaultScheduledComplianceScan(scheduled(undefined) as never);
  assert.deepEqual(defaulted.spec, {
    schedule: '0 0 * * 0',
    maxJitterSeconds: 0,
    suspend: false,
    successfulScansHistoryLimit: 3,
    failedScansHistoryLimit: 1,
    scanTemplate: { spec: {} },
  });
  assert.deepEqual(validateScheduledComplianceScan(defaulted, context), []);
  assert.deepEqual(
    validateScheduledComplianceScan(
      scheduled({
        schedule: '@daily',
        timeZone: 'Europe/Berlin',
        maxJitterSeconds: 900,
        startingDeadlineSeconds: 3600,
      }),
      context,
    ),
    [],
  );

  const errors = validateScheduledComplianceScan(
    scheduled({
      schedule: '0 0 * *',
      timeZone: 'Mars/Olympus',
      successfulScansHistoryLimit: -1,
      scanTemplate: { spec: { rulesets: [{ id: 'cis' }] } },
    }),
    context,
  );
  assert.deepEqual(fields(errors), ['spec.successfulScansHistoryLimit']);
  const later = validateScheduledComplianceScan(
    scheduled({ schedule: '0 0 * *', timeZone: 'Mars/Olympus', scanTemplate: { spec: { rulesets: [{ id: 'cis' }] } } }),
    context,
  );
  assert.deepEqual(fields(later), ['spec.schedule', 'spec.timeZone', 'spec.scanTemplate.spec.rulesets[0].id']);
  assert.match(later[0]!.message, /^Invalid value: "0 0 \* \*": expected 5 fields/);
  assert.match(later[1]!.message, /unknown time zone/);

  const jitter = validateScheduledComplianceScan(
    scheduled({ schedule: '*/10 * * * *', maxJitterSeconds: 600 }),
    context,
  );
  assert.deepEqual(jitter, [
    {
      field: 'spec.maxJitterSeconds',
      message: 'Invalid value: 600: must be less than the 600s between two scheduled scans',
    },
  ]);
  assert.deepEqual(
    validateScheduledComplianceScan(scheduled({ schedule: '*/10 * * * *', maxJitterSeconds: 599 }), context),
    [],
  );
  assert.deepEqual(fields(validateScheduledComplianceScan(scheduled({ maxJitterSeconds: 86401 }), context)), [
    'spec.maxJitterSeconds',
  ]);

  // Children carry the name as a label value.
  assert.deepEqual(fields(validateScheduledComplianceScan(scheduled({}, 'a'.repeat(64)), context)), ['metadata.name']);
});

test('cron syntax: five fields or a descriptor, no TZ prefix, valid ranges', () => {
  for (const ok of [
    '0 0 * * 0',
    '*/5 * * * *',
    '0 3 * * MON-FRI',
    '15 2 1,15 * *',
    '@weekly',
    '@midnight',
    '0 0 L * *',
  ]) {
    assert.equal(scheduleProblem(ok), undefined, ok);
  }
  const problems: [string, RegExp][] = [
    ['', /expected 5 fields/],
    ['0 0 * * * *', /expected 5 fields/],
    ['61 * * * *', /expected range 0-59/],
    ['0 0 * * 8', /expected range 0-7/],
    ['a b c d e', /Invalid characters/],
    ['0 0 30 2 *', /day of month/],
    ['TZ=UTC 0 0 * * *', /use timeZone instead/],
    ['CRON_TZ=UTC 0 0 * * *', /use timeZone instead/],
    ['@every 5m', /unknown descriptor/],
    ['H 0 * * *', /hashed values/],
  ];
  for (const [schedule, problem] of problems) assert.match(scheduleProblem(schedule) ?? '', problem, schedule);
});

test('schedules run in their time zone; the shortest interval bounds the jitter', () => {
  const from = new Date('2026-01-01T00:00:00Z');
  assert.equal(cronExpression('0 0 * * 0', 'Europe/Berlin', from).next().toISOString(), '2026-01-03T23:00:00.000Z');
  assert.equal(cronExpression('0 0 * * 0', undefined, from).next().toISOString(), '2026-01-04T00:00:00.000Z');
  assert.equal(shortestIntervalSeconds('0 0 * * 0', 'UTC', from), 7 * 86400);
  assert.equal(shortestIntervalSeconds('0 9,17 * * *', 'UTC', from), 8 * 3600);
  // 02:30 does not exist on the spring-forward day in Berlin; the interval still comes out positive.
  assert.ok(shortestIntervalSeconds('30 2 * * *', 'Europe/Berlin', new Date('2026-03-20T00:00:00Z'))! > 0);
});

test('time zones: IANA names as Go spells them', () => {
  for (const ok of ['UTC', 'Etc/UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata']) {
    assert.equal(timeZoneProblem(ok), undefined, ok);
  }
  assert.match(timeZoneProblem('europe/berlin') ?? '', /did you mean Europe\/Berlin/);
  assert.match(timeZoneProblem('+01:00') ?? '', /not an offset/);
  assert.match(timeZoneProblem('Local') ?? '', /unknown time zone/);
  assert.match(timeZoneProblem('Mars/Olympus') ?? '', /unknown time zone/);
});

test('jitter: stable per object and time, within bounds, spread', () => {
  const t = new Date('2026-11-22T00:00:00Z');
  assert.equal(jitterSeconds('uid-1', t, 0), 0);
  assert.equal(jitterSeconds('uid-1', t, 900), jitterSeconds('uid-1', t, 900));
  const values = Array.from({ length: 200 }, (_, i) => jitterSeconds(`uid-${i}`, t, 900));
  assert.ok(values.every((v) => Number.isInteger(v) && v >= 0 && v <= 900));
  assert.ok(new Set(values).size > 100, 'different objects start at different times');
  assert.ok(Math.max(...values) > 700 && Math.min(...values) < 200);
});

test('ReportOutput: each output type, its defaults, exactly one type', () => {
  const valid = [
    { configMap: {} },
    { configMap: { namespace: 'reports', namePrefix: 'scan-' } },
    { reportsAPI: { apiVersion: 'openreports.io/v1alpha1' } },
    {
      postgresql: {
        url: 'postgresql://db.example:5432',
        database: 'compliance',
        table: 'argus.reports',
        credentialsRef: { name: 'pg', namespace: 'argus' },
        tls: { enabled: true, caSecretRef: { name: 'ca', namespace: 'argus' } },
      },
    },
    { webhook: { url: 'https://hooks.example/compliance', credentialsRef: { name: 'hmac', namespace: 'argus' } } },
  ];
  for (const out of valid) assert.deepEqual(validateReportOutput(output(out)), [], JSON.stringify(out));
  // openSearch is in the GEP's schema but has no exporter: refused with the supported types.
  assert.deepEqual(
    validateReportOutput(
      output({
        openSearch: {
          url: 'https://search.example:9200',
          index: 'compliance',
          credentialsRef: { name: 'os', namespace: 'argus' },
        },
      }),
    ),
    [
      {
        field: 'spec.output.openSearch',
        message:
          'Unsupported value: this operator does not export to OpenSearch; supported outputs: configMap, postgresql, webhook, reportsAPI',
      },
    ],
  );

  assert.deepEqual(defaultReportOutput(output({ configMap: {} }) as ReportOutput).spec, {
    output: { configMap: { namespace: 'kube-system', namePrefix: 'compliance-scan-report-' } },
  });
  assert.deepEqual(defaultReportOutput(output({ reportsAPI: {} }) as ReportOutput).spec, {
    output: { reportsAPI: { apiVersion: 'wgpolicyk8s.io/v1alpha2', namePrefix: 'argus-' } },
  });
  assert.deepEqual(
    defaultReportOutput(
      output({ webhook: { url: 'https://h', credentialsRef: { name: 's', namespace: 'n' } } }) as ReportOutput,
    ).spec.output.webhook?.credentialsRef,
    { apiVersion: 'v1', kind: 'Secret', name: 's', namespace: 'n' },
  );

  const two = validateReportOutput(output({ configMap: {}, webhook: { url: 'https://h' } }));
  assert.deepEqual(two, [
    {
      field: 'spec.output',
      message:
        'Forbidden: exactly one of configMap, postgresql, openSearch, webhook, reportsAPI must be set, found configMap, webhook',
    },
  ]);
  assert.match(validateReportOutput(output({}))[0]!.message, /^Required value: exactly one of/);
  assert.deepEqual(fields(validateReportOutput({ apiVersion, kind: 'ReportOutput', metadata: { name: 'x' } })), [
    'spec',
  ]);
  assert.deepEqual(fields(validateReportOutput(output({ postgresql: { url: 'x' } }))), [
    'spec.output.postgresql.database',
    'spec.output.postgresql.table',
  ]);
  assert.deepEqual(fields(validateReportOutput(output({ reportsAPI: { apiVersion: 'v1' } }))), [
    'spec.output.reportsAPI.apiVersion',
  ]);
});

test('ReportOutput: URLs, credentials, names and TLS are checked', () => {
  const bad = (out: unknown) => validateReportOutput(output(out));
  assert.deepEqual(fields(bad({ configMap: { namespace: 'Kube_System', namePrefix: '-x' } })), [
    'spec.output.configMap.namespace',
    'spec.output.configMap.namePrefix',
  ]);
  assert.deepEqual(bad({ webhook: { url: 'http://hooks.example' } }), [
    { field: 'spec.output.webhook.url', message: 'Invalid value: "http://hooks.example": scheme must be https' },
  ]);
  assert.deepEqual(fields(bad({ webhook: { url: 'not a url' } })), ['spec.output.webhook.url']);
  const secret = bad({ postgresql: { url: 'postgres://u:p@db', database: 'd', table: 't; drop' } });
  assert.deepEqual(fields(secret), ['spec.output.postgresql.url', 'spec.output.postgresql.table']);
  assert.ok(!secret[0]!.message.includes('u:p'), 'credentials are not echoed');
  assert.deepEqual(fields(bad({ postgresql: { url: 'mysql://db', database: 'd', table: 't' } })), [
    'spec.output.postgresql.url',
  ]);
  assert.deepEqual(
    fields(
      bad({
        openSearch: {
          url: 'http://search',
          index: 'i',
          credentialsRef: { apiVersion: 'v2', kind: 'ConfigMap', name: 's', namespace: 'n' },
          tls: { enabled: true },
        },
      }),
    ),
    [
      'spec.output.openSearch.tls.enabled',
      'spec.output.openSearch.credentialsRef.apiVersion',
      'spec.output.openSearch.credentialsRef.kind',
      'spec.output.openSearch',
    ],
  );
  const old = output({ configMap: {} }) as ReportOutput;
  assert.deepEqual(validateReportOutputUpdate(old, output({ configMap: {} })), []);
  assert.deepEqual(fields(validateReportOutputUpdate(old, output({ configMap: { namespace: 'x' } }))), ['spec']);
});

test('scanSummary sums the rulesets for kubectl get', () => {
  assert.deepEqual(
    scanSummary([
      { id: 'a', version: 'v1', results: { summary: { passed: 2, failed: 1, accepted: 1 } } },
      { id: 'b', version: 'v2', results: { summary: { passed: 3, warning: 2 } } },
      { id: 'c', version: 'v3' },
    ]),
    { rulesets: 'a@v1,b@v2,c@v3', passed: 5, failed: 1, warning: 2, errored: 0, skipped: 0, accepted: 1 },
  );
});
