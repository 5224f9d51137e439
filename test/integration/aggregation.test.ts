// An aggregated API server run by the test: kube-apiserver proxies its group to it, authenticated by the
// front-proxy client certificate and X-Remote-* headers, as the Argus reports API server will be.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Agent, fetch } from 'undici';
import { proxiedUser, type ProxiedUser, type RequestHeaderConfig } from '../../src/kube/authn-config.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeList, KubeObject, ResourceType } from '../../src/kube/resources.ts';
import { createCA, issueCertificate, type CertificateAuthority, type KeyPairPem } from '../../src/util/pki.ts';
import { aggregatedServingCert, frontProxyConfig, registerAPIService } from '../testbed/aggregation.ts';
import { ControlPlane } from '../testbed/controlplane.ts';
import { serveHttps, type HttpsServer } from '../testbed/webhooks.ts';

const group = 'widgets.testbed.argus.dev';
const version = 'v1alpha1';
const groupVersion = `${group}/${version}`;
const widgets: ResourceType = { group, version, resource: 'widgets', kind: 'Widget', namespaced: false };

let cp: ControlPlane;
let client: KubeClient;
let servingCa: CertificateAuthority;
let frontProxy: RequestHeaderConfig;
let server: HttpsServer | undefined;
let kubectlCache: string | undefined;
/** Who the aggregated server saw, per request path. */
const seen: { path: string; user: ProxiedUser }[] = [];

before(async () => {
  cp = await ControlPlane.start({ name: 'aggregation' });
  client = cp.client();
  frontProxy = await frontProxyConfig(cp);
  servingCa = await createCA('argus-test-aggregated-ca');
  const serving = await aggregatedServingCert(servingCa, 'widgets', 'default');
  server = await serveHttps(handle, {
    cert: serving.certPem,
    key: serving.keyPem,
    // Verify client certificates against the front-proxy CA, but let unverified callers in to answer 401.
    ca: frontProxy.clientCA,
    requestCert: true,
    rejectUnauthorized: false,
  });
  kubectlCache = mkdtempSync(join(tmpdir(), 'argus-kubectl-cache-'));
});

after(async () => {
  await server?.close();
  await cp?.stop();
  if (kubectlCache) rmSync(kubectlCache, { recursive: true, force: true });
});

const apiGroup = {
  name: group,
  versions: [{ groupVersion, version }],
  preferredVersion: { groupVersion, version },
};

function handle(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket as TLSSocket;
  // TLS verified the certificate against the front-proxy CA; a subject with several CNs is not trusted.
  const cn = socket.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
  const commonName = typeof cn === 'string' ? cn : undefined;
  const user = proxiedUser(frontProxy, commonName, req.headersDistinct);
  const send = (code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (!user) {
    send(401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
    return;
  }
  const path = new URL(req.url ?? '/', 'https://localhost').pathname;
  seen.push({ path, user });
  switch (path) {
    case '/apis':
      return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [apiGroup] });
    case `/apis/${group}`:
      return send(200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup });
    case `/apis/${groupVersion}`:
      return send(200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion,
        resources: [
          { name: 'widgets', singularName: 'widget', namespaced: false, kind: 'Widget', verbs: ['get', 'list'] },
        ],
      });
    case `/apis/${groupVersion}/widgets`:
      return send(200, {
        kind: 'WidgetList',
        apiVersion: groupVersion,
        metadata: { resourceVersion: '1' },
        items: [
          {
            kind: 'Widget',
            apiVersion: groupVersion,
            metadata: { name: 'sprocket', resourceVersion: '1' },
            spec: { teeth: 12 },
          },
        ],
      });
    default:
      return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
  }
}

test('kube-apiserver proxies an aggregated group with the caller identity in front-proxy headers', async () => {
  assert.ok(server);
  assert.deepEqual(frontProxy.allowedNames, ['front-proxy-client']);
  const registration = await registerAPIService(cp, {
    group,
    version,
    port: server.port,
    caBundle: servingCa.certPem,
    serviceName: 'widgets',
  });
  assert.equal(registration.name, `${version}.${group}`);
  // The availability check itself comes through the front proxy as the aggregator.
  assert.ok(seen.some((s) => s.user.username === 'system:kube-aggregator'));

  const list = await client.list<KubeObject & { spec: { teeth: number } }>(widgets);
  assert.equal(list.kind, 'WidgetList');
  assert.deepEqual(
    list.items.map((w) => [w.metadata?.name, w.spec.teeth]),
    [['sprocket', 12]],
  );

  const kubectl = await cp.kubectl(['--cache-dir', kubectlCache ?? '', 'get', `widgets.${group}`, '-o', 'json']);
  assert.equal(kubectl.code, 0, kubectl.stderr);
  const fromKubectl = JSON.parse(kubectl.stdout) as KubeList<KubeObject>;
  assert.deepEqual(
    fromKubectl.items.map((w) => w.metadata?.name),
    ['sprocket'],
  );

  const listRequests = seen.filter((s) => s.path === `/apis/${groupVersion}/widgets`);
  assert.equal(listRequests.length, 2, 'one list by the client, one by kubectl');
  for (const { user } of listRequests) {
    assert.equal(user.username, 'argus-admin');
    assert.deepEqual([...user.groups].sort(), ['system:authenticated', 'system:masters']);
    // Extra keys travel percent-encoded in header names (X-Remote-Extra-authentication.kubernetes.io%2f...).
    assert.match(user.extra['authentication.kubernetes.io/credential-id']?.[0] ?? '', /^X509SHA256=[0-9a-f]{64}$/);
  }
});

test('the aggregated server refuses callers without the front-proxy client certificate', async () => {
  assert.ok(server);
  const url = `https://127.0.0.1:${server.port}/apis/${groupVersion}/widgets`;
  const attempt = async (identity?: KeyPairPem): Promise<number> => {
    const dispatcher = new Agent({
      connect: {
        ca: servingCa.certPem,
        servername: 'widgets.default.svc',
        ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
      },
    });
    try {
      const res = await fetch(url, {
        dispatcher,
        headers: { 'x-remote-user': 'mallory', 'x-remote-group': 'system:masters' },
      });
      await res.body?.cancel();
      return res.status;
    } finally {
      await dispatcher.close();
    }
  };
  // Only the refused callers claim to be mallory; kube-apiserver's own discovery requests may arrive meanwhile.
  const servedAsMallory = (): number => seen.filter((s) => s.user.username === 'mallory').length;
  // No client certificate; one from the cluster CA (valid for kube-apiserver, not for the front proxy);
  // one from the front-proxy CA with a common name that is not allowed.
  assert.equal(await attempt(), 401);
  assert.equal(await attempt(cp.pki.admin), 401);
  const impostor = await issueCertificate(cp.pki.frontProxyCa, { commonName: 'not-the-front-proxy', usage: 'client' });
  assert.equal(await attempt(impostor), 401);
  assert.equal(servedAsMallory(), 0, 'no refused request was served');
  // The real front-proxy certificate is trusted with whatever user it names: only kube-apiserver has it.
  assert.equal(await attempt(cp.pki.frontProxyClient), 200);
  assert.equal(seen.at(-1)?.user.username, 'mallory');
});
