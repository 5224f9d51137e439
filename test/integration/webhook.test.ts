// Admission webhooks registered by URL are called by kube-apiserver: what they see, how their answers
// (deny, JSONPatch) and their failures (failurePolicy) show up for API clients.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import type { CertificateAuthority, KeyPairPem } from '../../src/util/pki.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import {
  admissionHandler,
  registerWebhook,
  serveHttps,
  webhookServingCert,
  type AdmissionDecision,
  type AdmissionRequest,
  type HttpsServer,
  type RegisteredWebhook,
  type WebhookRegistration,
} from '../testbed/webhooks.ts';

let cp: ControlPlane;
let client: KubeClient;
let tls: { ca: CertificateAuthority; cert: KeyPairPem };
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  cp = await ControlPlane.start({ name: 'webhook' });
  client = cp.client();
  tls = await webhookServingCert();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await cp?.stop();
});

const configMapRules: WebhookRegistration['rules'] = [
  { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'], scope: 'Namespaced' },
];

async function namespace(name: string): Promise<string> {
  await client.create(Resources.namespaces, { metadata: { name } });
  return name;
}

/** Starts a webhook server deciding with `decide`; closed after the file even when a test fails. */
async function webhookServer(decide: (request: AdmissionRequest) => AdmissionDecision): Promise<HttpsServer> {
  const server = await serveHttps(admissionHandler(decide), { cert: tls.cert.certPem, key: tls.cert.keyPem });
  cleanups.push(() => server.close());
  return server;
}

/** Registers a webhook on ConfigMaps in `ns`; removed after the file. */
async function register(
  ns: string,
  port: number,
  options: Partial<WebhookRegistration> & Pick<WebhookRegistration, 'type' | 'name'>,
): Promise<RegisteredWebhook> {
  const webhook = await registerWebhook(cp, {
    port,
    caBundle: tls.ca.certPem,
    rules: configMapRules,
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
    ...options,
  });
  cleanups.push(() => webhook.remove());
  return webhook;
}

async function createConfigMap(ns: string, name: string, labels?: Record<string, string>): Promise<V1ConfigMap> {
  return client.create<V1ConfigMap>(Resources.configMaps, {
    metadata: { name, namespace: ns, labels },
    data: { a: '1' },
  });
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
  return err;
}

test('a validating webhook sees matching requests and its denial reaches the client', async () => {
  const ns = await namespace('validating');
  const seen: AdmissionRequest[] = [];
  const server = await webhookServer((request) => {
    seen.push(request);
    const name = request.object?.metadata?.name ?? '';
    if (name.startsWith('deny-forbidden-')) {
      return { allowed: false, status: { code: 403, message: `${name} is forbidden here` } };
    }
    if (name.startsWith('deny-')) return { allowed: false, status: { message: `${name} is not allowed` } };
    return { allowed: true };
  });
  const webhook = await register(ns, server.port, {
    type: 'validating',
    name: 'validate-configmaps',
    objectSelector: { matchLabels: { 'argus.test/validate': 'true' } },
  });

  await createConfigMap(ns, 'allowed', { 'argus.test/validate': 'true' });
  assert.equal(seen.length, 1);
  const [request] = seen;
  assert.ok(request);
  assert.match(request.uid, /^[0-9a-f-]{36}$/);
  assert.equal(request.operation, 'CREATE');
  assert.deepEqual(request.resource, { group: '', version: 'v1', resource: 'configmaps' });
  assert.equal(request.namespace, ns);
  assert.equal(request.name, 'allowed');
  assert.equal(request.object?.metadata?.name, 'allowed');
  assert.equal(request.userInfo.username, 'argus-admin');
  assert.ok(request.userInfo.groups?.includes('system:masters'));
  assert.ok(request.userInfo.groups?.includes('system:authenticated'));
  assert.equal(request.dryRun, false);

  // Without a label matching the objectSelector, the webhook is not called.
  await createConfigMap(ns, 'deny-unlabelled');
  assert.equal(seen.length, 1);

  // A denial without a code becomes 400; the message names the webhook and carries the webhook's words.
  const denied = await rejection(createConfigMap(ns, 'deny-me', { 'argus.test/validate': 'true' }));
  assert.equal(denied.code, 400);
  assert.equal(
    denied.status.message,
    `admission webhook "${webhook.webhookName}" denied the request: deny-me is not allowed`,
  );
  assert.equal(await client.getOrUndefined(Resources.configMaps, 'deny-me', ns), undefined);

  // A code of 400 or more given by the webhook is passed on.
  const forbidden = await rejection(createConfigMap(ns, 'deny-forbidden-me', { 'argus.test/validate': 'true' }));
  assert.equal(forbidden.code, 403);
  assert.match(forbidden.status.message ?? '', /deny-forbidden-me is forbidden here$/);
  assert.notEqual(seen[0]?.uid, seen.at(-1)?.uid, 'every review has its own uid');
});

test('a mutating webhook patches the object with a JSONPatch', async () => {
  const ns = await namespace('mutating');
  const server = await webhookServer(() => ({
    allowed: true,
    patch: [{ op: 'add', path: '/metadata/labels/argus.test~1mutated', value: 'yes' }],
  }));
  await register(ns, server.port, {
    type: 'mutating',
    name: 'mutate-configmaps',
    objectSelector: { matchLabels: { 'argus.test/mutate': 'true' } },
  });

  const created = await createConfigMap(ns, 'patched', { 'argus.test/mutate': 'true' });
  assert.deepEqual(created.metadata?.labels, { 'argus.test/mutate': 'true', 'argus.test/mutated': 'yes' });
  const stored = await client.get<V1ConfigMap>(Resources.configMaps, 'patched', ns);
  assert.equal(stored.metadata?.labels?.['argus.test/mutated'], 'yes');
});

test('an unreachable webhook fails requests with failurePolicy Fail and is skipped with Ignore', async () => {
  const ns = await namespace('unreachable');
  const server = await webhookServer(() => ({ allowed: true }));
  const failing = await register(ns, server.port, {
    type: 'validating',
    name: 'unreachable-fail',
    failurePolicy: 'Fail',
    objectSelector: { matchLabels: { 'argus.test/policy': 'fail' } },
  });
  const ignoring = await register(ns, server.port, {
    type: 'validating',
    name: 'unreachable-ignore',
    failurePolicy: 'Ignore',
    objectSelector: { matchLabels: { 'argus.test/policy': 'ignore' } },
  });
  await createConfigMap(ns, 'while-up', { 'argus.test/policy': 'fail' });
  await server.close();

  const err = await rejection(createConfigMap(ns, 'while-down', { 'argus.test/policy': 'fail' }));
  assert.equal(err.code, 500);
  assert.match(err.status.message ?? '', new RegExp(`failed calling webhook "${failing.webhookName}"`));
  assert.match(err.status.message ?? '', /connection refused/);
  assert.equal(await client.getOrUndefined(Resources.configMaps, 'while-down', ns), undefined);

  const ignored = await createConfigMap(ns, 'ignored', { 'argus.test/policy': 'ignore' });
  assert.equal(ignored.metadata?.name, 'ignored');
  assert.ok(ignoring.webhookName);

  // After removal, the failing webhook is no longer called.
  await failing.remove();
  await createConfigMap(ns, 'after-removal', { 'argus.test/policy': 'fail' });
});
