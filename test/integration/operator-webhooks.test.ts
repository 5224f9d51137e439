// The operator's admission webhooks on a real kube-apiserver with the diki CRDs: started as the operator starts
// them (certificate Secret, HTTPS server, both webhook configurations by URL on 127.0.0.1), they default what
// kubectl creates, reject bad specs with field messages, check references in the cluster, and keep serving
// while their short-lived certificate rotates.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import type { V1Secret } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { dikiCrds, type ComplianceScan, type ReportOutput } from '../../src/api/diki/index.ts';
import { version } from '../../src/cli/version.ts';
import { ApiError, type KubeClient } from '../../src/kube/client.ts';
import { Resources, type KubeObject } from '../../src/kube/resources.ts';
import { WEBHOOK_CERT_SECRET, WEBHOOK_CONFIGURATION_NAME } from '../../src/operator/names.ts';
import {
  MUTATING_WEBHOOK_NAME,
  VALIDATING_WEBHOOK_NAME,
  WebhookCertificates,
  startAdmissionWebhooks,
  type AdmissionWebhooks,
} from '../../src/operator/webhooks/index.ts';
import { catalog } from '../../src/scanner/catalog.ts';
import { waitFor } from '../../src/util/time.ts';
import { ControlPlane } from '../testbed/controlplane.ts';

const RUNNER_NAMESPACE = 'argus-system';
const apiVersion = 'diki.gardener.cloud/v1alpha1';
const cscans = {
  group: 'diki.gardener.cloud',
  version: 'v1alpha1',
  resource: 'compliancescans',
  kind: 'ComplianceScan',
  namespaced: false,
};
const scscans = { ...cscans, resource: 'scheduledcompliancescans', kind: 'ScheduledComplianceScan' };
const reportOutputs = { ...cscans, resource: 'reportoutputs', kind: 'ReportOutput' };
/** Short enough to rotate during this file (a third left after 16 s). */
const CERT_LIFETIME_MS = 24_000;

let cp: ControlPlane;
let client: KubeClient;
let webhooks: AdmissionWebhooks | undefined;

before(async () => {
  cp = await ControlPlane.start({ name: 'operator-webhooks', controllerManager: false });
  client = cp.client();
  for (const crd of dikiCrds()) await client.create(Resources.customResourceDefinitions, crd);
  const established = await cp.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...dikiCrds().map((c) => `crd/${(c.metadata as { name: string }).name}`),
  ]);
  assert.equal(established.code, 0, established.stderr);
  await waitFor('the diki resources to be served', async () => (await cp.kubectl(['get', 'diki'])).code === 0);
  await client.create(Resources.namespaces, { metadata: { name: RUNNER_NAMESPACE } });

  webhooks = await startAdmissionWebhooks({
    runnerClient: client,
    targetClient: client,
    runnerNamespace: RUNNER_NAMESPACE,
    catalog,
    argusVersion: version,
    host: '127.0.0.1',
    ipAddresses: ['127.0.0.1'],
    url: (port) => `https://127.0.0.1:${port}`,
    certLifetimeMs: CERT_LIFETIME_MS,
    checkIntervalMs: 1_000,
    caPropagationMs: 1_000,
  });
  // In force: the validating webhook rejects an unknown ruleset, the mutating one fills in versions.
  await waitFor('the validating webhook to be called', async () => {
    const err = await rejection(
      client.create(cscans, scan('probe', { rulesets: [{ id: 'no-such-ruleset' }] }), { dryRun: true }),
    );
    return err.status.message?.includes(`admission webhook "${VALIDATING_WEBHOOK_NAME}" denied the request`);
  });
  await waitFor('the mutating webhook to be called', async () => {
    const dry = await client.create<ComplianceScan>(cscans, scan('probe', {}), { dryRun: true });
    return (dry.spec?.rulesets?.length ?? 0) > 0;
  });
});

after(async () => {
  await webhooks?.close();
  await cp?.stop();
});

const scan = (name: string, spec: unknown): ComplianceScan => ({
  apiVersion,
  kind: 'ComplianceScan',
  metadata: { name },
  spec: spec as ComplianceScan['spec'],
});
const kubectlCreate = (object: unknown) => cp.kubectl(['create', '-f', '-'], stringify(object));

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
  return err;
}

const causes = (err: ApiError) => (err.status.details?.causes ?? []).map((c) => c.field);

async function secret(): Promise<Record<string, string>> {
  const s = await client.get<V1Secret>(Resources.secrets, WEBHOOK_CERT_SECRET, RUNNER_NAMESPACE);
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

/** The certificate the webhook server presents on a new connection. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate().raw));
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function caBundles(): Promise<string[]> {
  const configurations = [
    await client.get<{ webhooks: { clientConfig: { caBundle: string } }[] } & KubeObject>(
      Resources.mutatingWebhookConfigurations,
      WEBHOOK_CONFIGURATION_NAME,
    ),
    await client.get<{ webhooks: { clientConfig: { caBundle: string } }[] } & KubeObject>(
      Resources.validatingWebhookConfigurations,
      WEBHOOK_CONFIGURATION_NAME,
    ),
  ];
  return configurations.flatMap((c) =>
    c.webhooks.map((w) => Buffer.from(w.clientConfig.caBundle, 'base64').toString()),
  );
}

test('creates get the defaults: rulesets and versions, ConfigMap keys, the schema defaults', async () => {
  await client.create(Resources.configMaps, {
    metadata: { name: 'stig-options', namespace: 'kube-system' },
    data: { 'disa-kubernetes-stig': 'maxRetries: 1\n', 'disa-kubernetes-stig-rules': '[]\n' },
  });
  await client.create(reportOutputs, {
    apiVersion,
    kind: 'ReportOutput',
    metadata: { name: 'to-cm' },
    spec: { output: { configMap: {} } },
  });
  const created = await kubectlCreate(
    scan('defaults', {
      rulesets: [
        { id: 'disa-kubernetes-stig', options: { rules: { configMapRef: { name: 'stig-options' } } } },
        { id: 'security-hardened-k8s' },
      ],
      outputs: [{ name: 'to-cm' }],
    }),
  );
  assert.equal(created.code, 0, created.stderr);
  const read = await client.get<ComplianceScan>(cscans, 'defaults');
  assert.deepEqual(read.spec, {
    rulesets: [
      {
        id: 'disa-kubernetes-stig',
        version: 'v2r6',
        options: {
          rules: {
            configMapRef: { name: 'stig-options', namespace: 'kube-system', key: 'disa-kubernetes-stig-rules' },
          },
        },
      },
      { id: 'security-hardened-k8s', version: 'v0.1.0' },
    ],
    outputs: [{ name: 'to-cm', optional: false }],
  });

  // No rulesets: every ruleset of the catalog at its latest version, written into the immutable spec.
  assert.equal((await kubectlCreate({ apiVersion, kind: 'ComplianceScan', metadata: { name: 'everything' } })).code, 0);
  const everything = await client.get<ComplianceScan>(cscans, 'everything');
  assert.deepEqual(
    everything.spec?.rulesets,
    catalog.rulesets.map((r) => ({ id: r.id, version: r.versions[0]!.version })),
  );

  // A scheduled scan's template stays as written (each child is defaulted when created).
  const scheduled = await kubectlCreate({
    apiVersion,
    kind: 'ScheduledComplianceScan',
    metadata: { name: 'nightly' },
    spec: {
      schedule: '0 2 * * *',
      timeZone: 'Europe/Berlin',
      scanTemplate: { spec: { outputs: [{ name: 'to-cm' }] } },
    },
  });
  assert.equal(scheduled.code, 0, scheduled.stderr);
  const nightly = await client.get<KubeObject & { spec: Record<string, unknown> }>(scscans, 'nightly');
  assert.deepEqual(nightly.spec.scanTemplate, { spec: { outputs: [{ name: 'to-cm', optional: false }] } });
  assert.equal(nightly.spec.successfulScansHistoryLimit, 3);
  const ro = await client.get<ReportOutput>(reportOutputs, 'to-cm');
  assert.deepEqual(ro.spec.output, { configMap: { namespace: 'kube-system', namePrefix: 'compliance-scan-report-' } });
});

test('bad specs are rejected with field messages, as kubectl prints them', async () => {
  const bad = await kubectlCreate({
    apiVersion,
    kind: 'ScheduledComplianceScan',
    metadata: { name: 'bad-schedule' },
    spec: { schedule: '61 * * * *', timeZone: 'Europe/Atlantis' },
  });
  assert.notEqual(bad.code, 0);
  // kubectl prints the denial as it prints kube-apiserver's own validation errors: one line per field.
  assert.match(bad.stderr, /^The ScheduledComplianceScan "bad-schedule" is invalid: \n\* spec\.schedule: /);
  assert.match(bad.stderr, /\n\* spec\.schedule: Invalid value: "61 \* \* \* \*"/);
  assert.match(bad.stderr, /\n\* spec\.timeZone: Invalid value: "Europe\/Atlantis": unknown time zone/);

  const err = await rejection(
    client.create(scscans, {
      apiVersion,
      kind: 'ScheduledComplianceScan',
      metadata: { name: 'bad-schedule' },
      spec: { schedule: '61 * * * *', timeZone: 'Europe/Atlantis' },
    }),
  );
  assert.equal(err.code, 422);
  assert.equal(err.reason, 'Invalid');
  assert.deepEqual(causes(err), ['spec.schedule', 'spec.timeZone']);

  const rulesets = await rejection(
    client.create(
      cscans,
      scan('bad-rulesets', { rulesets: [{ id: 'cis-benchmark' }, { id: 'disa-kubernetes-stig', version: 'v1r1' }] }),
    ),
  );
  assert.equal(rulesets.code, 422);
  assert.deepEqual(causes(rulesets), ['spec.rulesets[0].id', 'spec.rulesets[1].version']);
  assert.match(rulesets.status.message ?? '', /Unsupported value: "v1r1": supported values: "v2r6", "v2r5"/);
  assert.equal(await client.getOrUndefined(cscans, 'bad-rulesets'), undefined);

  const version = await rejection(client.create(cscans, scan('bad-version', { dikiVersion: 'v0.28.0' })));
  assert.deepEqual(causes(version), ['spec.dikiVersion']);
});

test('references: missing ConfigMaps, keys and ReportOutputs are named on their fields', async () => {
  await client.create(Resources.configMaps, {
    metadata: { name: 'shk-options', namespace: 'default' },
    data: { other: 'x' },
  });
  const err = await rejection(
    client.create(
      cscans,
      scan('bad-references', {
        rulesets: [
          {
            id: 'security-hardened-k8s',
            options: {
              ruleset: { configMapRef: { name: 'shk-options', namespace: 'default' } },
              rules: { configMapRef: { name: 'no-such-options' } },
            },
          },
        ],
        outputs: [{ name: 'to-cm' }, { name: 'no-such-output' }],
      }),
    ),
  );
  assert.equal(err.code, 422);
  assert.deepEqual(causes(err), [
    'spec.rulesets[0].options.ruleset.configMapRef.key',
    'spec.rulesets[0].options.rules.configMapRef.name',
    'spec.outputs[1].name',
  ]);
  assert.match(
    err.status.message ?? '',
    /Not found: "security-hardened-k8s": ConfigMap default\/shk-options has no such key/,
  );
  assert.match(
    err.status.message ?? '',
    /Not found: "no-such-options": ConfigMap kube-system\/no-such-options does not exist/,
  );

  const template = await rejection(
    client.create(scscans, {
      apiVersion,
      kind: 'ScheduledComplianceScan',
      metadata: { name: 'bad-template' },
      spec: { scanTemplate: { spec: { outputs: [{ name: 'no-such-output' }] } } },
    }),
  );
  assert.deepEqual(causes(template), ['spec.scanTemplate.spec.outputs[0].name']);

  // Two reports-API outputs writing the same reports.
  await client.create(reportOutputs, {
    apiVersion,
    kind: 'ReportOutput',
    metadata: { name: 'reports' },
    spec: { output: { reportsAPI: {} } },
  });
  const twice = await rejection(
    client.create(reportOutputs, {
      apiVersion,
      kind: 'ReportOutput',
      metadata: { name: 'reports-again' },
      spec: { output: { reportsAPI: { namePrefix: 'argus-' } } },
    }),
  );
  assert.deepEqual(causes(twice), ['spec.output.reportsAPI.namePrefix']);

  // Once they exist, the same scan is accepted.
  await client.patch(Resources.configMaps, 'shk-options', { data: { 'security-hardened-k8s': '{}' } }, 'merge', {
    namespace: 'default',
  });
  await client.create(Resources.configMaps, {
    metadata: { name: 'no-such-options', namespace: 'kube-system' },
    data: { 'security-hardened-k8s-rules': '[]' },
  });
  await client.create(reportOutputs, {
    apiVersion,
    kind: 'ReportOutput',
    metadata: { name: 'no-such-output' },
    spec: { output: { configMap: {} } },
  });
  await client.create(
    cscans,
    scan('good-references', {
      rulesets: [
        {
          id: 'security-hardened-k8s',
          options: {
            ruleset: { configMapRef: { name: 'shk-options', namespace: 'default' } },
            rules: { configMapRef: { name: 'no-such-options' } },
          },
        },
      ],
      outputs: [{ name: 'to-cm' }, { name: 'no-such-output' }],
    }),
  );
});

test('the spec of a ComplianceScan cannot change; its metadata can', async () => {
  await client.create(cscans, scan('fixed', { rulesets: [{ id: 'disa-kubernetes-stig', version: 'v2r6' }] }));
  const changed = await cp.kubectl([
    'patch',
    'cscan',
    'fixed',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/spec/rulesets/0/version","value":"v2r5"}]',
  ]);
  assert.notEqual(changed.code, 0);
  assert.match(changed.stderr, /spec is immutable/);
  const labelled = await cp.kubectl(['label', 'cscan', 'fixed', 'team=security']);
  assert.equal(labelled.code, 0, labelled.stderr);
});

test('the Secret holds the serving certificate and both configurations trust its CA bundle', async () => {
  const data = await secret();
  for (const key of ['ca.crt', 'tls.crt', 'tls.key']) assert.ok(data[key], `the Secret has ${key}`);
  const bundle = await waitFor('the configurations to carry the Secret’s bundle', async () => {
    const d = await secret();
    const bundles = await caBundles();
    return bundles.every((b) => b === d['ca.crt']) ? d['ca.crt'] : undefined;
  });
  assert.ok(bundle?.includes('BEGIN CERTIFICATE'));
  const mutating = await client.get<{ webhooks: Record<string, unknown>[] } & KubeObject>(
    Resources.mutatingWebhookConfigurations,
    WEBHOOK_CONFIGURATION_NAME,
  );
  const webhook = mutating.webhooks[0]!;
  assert.equal(webhook.name, MUTATING_WEBHOOK_NAME);
  assert.equal((webhook.clientConfig as { url: string }).url, `https://127.0.0.1:${webhooks!.port}/mutate`);
  assert.deepEqual(
    [webhook.failurePolicy, webhook.sideEffects, webhook.timeoutSeconds, webhook.matchPolicy],
    ['Fail', 'None', 10, 'Equivalent'],
  );
  assert.deepEqual(webhook.rules, [
    {
      apiGroups: ['diki.gardener.cloud'],
      apiVersions: ['v1alpha1'],
      operations: ['CREATE', 'UPDATE'],
      resources: ['compliancescans', 'scheduledcompliancescans', 'reportoutputs'],
      scope: 'Cluster',
    },
  ]);

  // Another replica starting now reads the same certificate instead of making its own.
  const replica = new WebhookCertificates({
    client,
    namespace: RUNNER_NAMESPACE,
    ipAddresses: ['127.0.0.1'],
    lifetimeMs: CERT_LIFETIME_MS,
    caPropagationMs: 1_000,
  });
  const seen = await replica.reconcile();
  // (A rotation may promote the next certificate meanwhile.)
  assert.ok([data['tls.crt'], data['next-tls.crt'], (await secret())['tls.crt']].includes(seen.cert));

  // Replicas starting together on an empty Secret agree on one certificate.
  const racers = [1, 2, 3].map(
    () =>
      new WebhookCertificates({ client, namespace: RUNNER_NAMESPACE, secretName: 'race', ipAddresses: ['127.0.0.1'] }),
  );
  const results = await Promise.all(racers.map((r) => r.reconcile()));
  assert.equal(new Set(results.map((r) => r.cert)).size, 1);
  const race = await client.get<V1Secret>(Resources.secrets, 'race', RUNNER_NAMESPACE);
  assert.equal(Buffer.from(race.data!['tls.crt']!, 'base64').toString(), results[0]!.cert);
});

test('the certificate rotates before it expires; requests keep working across the rotation', async () => {
  const port = webhooks!.port;
  const first = (await secret())['tls.crt']!;
  const firstFingerprint = new X509Certificate(first).fingerprint256;
  let requests = 0;
  let rotatedAt: number | undefined;
  const deadline = Date.now() + 60_000;
  // Requests through kube-apiserver the whole time; every one must reach both webhooks.
  for (;;) {
    assert.ok(Date.now() < deadline, 'the certificate rotated within a minute');
    const dry = await client.create<ComplianceScan>(cscans, scan(`rotation-${requests}`, {}), { dryRun: true });
    assert.equal(dry.spec?.rulesets?.length, catalog.rulesets.length, 'the mutating webhook answered');
    const denied = await rejection(
      client.create(cscans, scan(`rotation-bad-${requests}`, { rulesets: [{ id: 'x' }] }), { dryRun: true }),
    );
    assert.equal(denied.code, 422, denied.message);
    requests++;
    const served = await servedCertificate(port);
    if (rotatedAt === undefined && served.fingerprint256 !== firstFingerprint) rotatedAt = Date.now();
    // Go on for two seconds after the server switched (kube-apiserver opens new connections for the new bundle).
    if (rotatedAt !== undefined && Date.now() - rotatedAt > 2_000) break;
  }
  const data = await secret();
  assert.notEqual(data['tls.crt'], first);
  const served = await servedCertificate(port);
  assert.equal(served.fingerprint256, new X509Certificate(data['tls.crt']!).fingerprint256);
  // The served certificate is signed by a CA of the bundle kube-apiserver trusts.
  const bundles = await caBundles();
  for (const bundle of bundles) {
    const cas = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    assert.ok(cas.some((ca) => served.verify(new X509Certificate(ca).publicKey)));
  }
  assert.ok(requests > 5, `only ${requests} requests`);
});

test('certificate lifecycle: stage with both CAs trusted, promote after the propagation time, replace what is unusable', async () => {
  const HOUR = 60 * 60 * 1000;
  let offset = 0;
  const certificates = (names: string[] = ['127.0.0.1']) =>
    new WebhookCertificates({
      client,
      namespace: RUNNER_NAMESPACE,
      secretName: 'lifecycle',
      ipAddresses: names,
      lifetimeMs: HOUR,
      caPropagationMs: 10_000,
      now: () => Date.now() + offset,
    });
  const read = async () => {
    const s = await client.get<V1Secret>(Resources.secrets, 'lifecycle', RUNNER_NAMESPACE);
    const data = Object.fromEntries(
      Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    return { data, annotations: s.metadata?.annotations ?? {}, type: s.type };
  };
  const countCAs = (bundle: string) => bundle.match(/BEGIN CERTIFICATE/g)?.length ?? 0;

  const created = await certificates().reconcile();
  const first = await read();
  assert.equal(first.type, 'kubernetes.io/tls');
  assert.equal(created.cert, first.data['tls.crt']);
  assert.equal(countCAs(created.caBundle), 1);
  assert.equal(created.promoteAt, undefined);
  // Nothing to do while more than a third of the lifetime is left.
  offset = 0.6 * HOUR;
  assert.equal((await certificates().reconcile()).cert, created.cert);
  assert.equal((await read()).data['tls.crt'], first.data['tls.crt']);

  // Less than a third left: a new CA joins the bundle, the new certificate waits; the current one is still served.
  offset = 0.7 * HOUR;
  const staged = await certificates().reconcile();
  const stagedSecret = await read();
  assert.equal(staged.cert, created.cert);
  assert.equal(countCAs(staged.caBundle), 2);
  assert.ok(staged.caBundle.endsWith(created.caBundle), 'the old CA stays trusted');
  assert.ok(stagedSecret.data['next-tls.crt'] && stagedSecret.data['next-tls.key']);
  assert.ok(stagedSecret.annotations['argus.io/staged-at']);
  assert.ok(staged.promoteAt && staged.promoteAt.getTime() > Date.now() + offset);
  const next = new X509Certificate(stagedSecret.data['next-tls.crt']);
  const newCA = new X509Certificate(
    staged.caBundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0],
  );
  assert.ok(next.verify(newCA.publicKey), 'the next certificate is signed by the new CA');
  // Before the propagation time nothing changes.
  assert.equal((await certificates().reconcile()).cert, created.cert);

  // After it, the next certificate is served; both CAs stay in the bundle until the next rotation.
  offset = 0.7 * HOUR + 11_000;
  const promoted = await certificates().reconcile();
  const promotedSecret = await read();
  assert.equal(promoted.cert, stagedSecret.data['next-tls.crt']);
  assert.equal(promotedSecret.data['tls.crt'], stagedSecret.data['next-tls.crt']);
  assert.equal(promotedSecret.data['tls.key'], stagedSecret.data['next-tls.key']);
  assert.equal(promotedSecret.data['next-tls.crt'], undefined);
  assert.equal(promotedSecret.annotations['argus.io/staged-at'], undefined);
  assert.equal(promoted.caBundle, staged.caBundle);

  // A certificate for other names, or garbage, is replaced at once.
  offset = 0;
  const renamed = await certificates(['127.0.0.2']).reconcile();
  assert.notEqual(renamed.cert, promoted.cert);
  assert.equal(new X509Certificate(renamed.cert).checkIP('127.0.0.2'), '127.0.0.2');
  assert.equal(countCAs(renamed.caBundle), 1);
  await client.patch(
    Resources.secrets,
    'lifecycle',
    { data: { 'tls.key': Buffer.from('junk').toString('base64') } },
    'merge',
    {
      namespace: RUNNER_NAMESPACE,
    },
  );
  const repaired = await certificates(['127.0.0.2']).reconcile();
  assert.notEqual(repaired.cert, renamed.cert);
  assert.notEqual((await read()).data['tls.key'], 'junk');
  // One about to expire is replaced at once too (no time left to stage).
  offset = HOUR - 5_000;
  const late = await certificates(['127.0.0.2']).reconcile();
  assert.notEqual(late.cert, repaired.cert);
  assert.equal((await read()).data['next-tls.crt'], undefined);
});

test('applying the same manifest again (client-side and server-side) keeps the defaulted spec', async () => {
  for (const [name, args] of [
    ['applied-client-side', ['apply', '-f', '-']],
    ['applied-server-side', ['apply', '--server-side', '-f', '-']],
  ] as const) {
    const manifest = stringify({
      apiVersion,
      kind: 'ComplianceScan',
      metadata: { name },
      spec: { outputs: [{ name: 'to-cm' }] },
    });
    for (let i = 0; i < 2; i++) {
      const applied = await cp.kubectl([...args], manifest);
      assert.equal(applied.code, 0, `${name} #${i + 1}: ${applied.stderr}`);
    }
    const read = await client.get<ComplianceScan>(cscans, name);
    assert.equal(read.spec?.rulesets?.length, catalog.rulesets.length);
  }
});
