// The admission webhook HTTPS server: routes, body limit, malformed reviews, certificate swap at runtime.
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { AdmissionServer } from '../../../src/operator/webhooks/server.ts';
import { registry } from '../../../src/util/metrics.ts';
import { allow, denyInvalid, type AdmissionRequest } from '../../../src/operator/webhooks/admission.ts';
import { createCA, issueCertificate, type CertificateAuthority, type KeyPairPem } from '../../../src/util/pki.ts';

let ca: CertificateAuthority;
let cert: KeyPairPem;
let server: AdmissionServer;
const seen: { path: string; request: AdmissionRequest }[] = [];

before(async () => {
  ca = await createCA('test-webhook-ca');
  cert = await issueCertificate(ca, { commonName: 'webhook', hosts: ['127.0.0.1'], usage: 'server' });
  server = new AdmissionServer({
    certificate: { cert: cert.certPem, key: cert.keyPem },
    host: '127.0.0.1',
    maxBodyBytes: 64 * 1024,
    handlers: {
      mutate: (request) => {
        seen.push({ path: '/mutate', request });
        return allow(request.uid);
      },
      validate: (request) => {
        seen.push({ path: '/validate', request });
        if (request.name === 'boom') throw new Error('boom');
        return denyInvalid(request.uid, request.kind, request.name ?? '', [
          { field: 'spec', message: 'Invalid value' },
        ]);
      },
    },
  });
  await server.listen();
});

after(async () => {
  await server?.close();
});

interface Answer {
  code: number;
  body: string;
  peer: X509Certificate;
}

function call(method: string, path: string, body?: string | Buffer, trust: string = ca.certPem): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        ca: trust,
        agent: false,
        headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        const peer = new X509Certificate((res.socket as TLSSocket).getPeerCertificate().raw);
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text, peer }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const review = (name: string) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `uid-${name}`,
      kind: { group: 'diki.gardener.cloud', version: 'v1alpha1', kind: 'ComplianceScan' },
      resource: { group: 'diki.gardener.cloud', version: 'v1alpha1', resource: 'compliancescans' },
      operation: 'CREATE',
      name,
      object: { metadata: { name } },
    },
  });

test('POST /mutate and /validate answer AdmissionReviews with the request uid', async () => {
  const mutated = await call('POST', '/mutate', review('a'));
  assert.equal(mutated.code, 200);
  assert.deepEqual(JSON.parse(mutated.body), {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: 'uid-a', allowed: true },
  });
  const validated = await call('POST', '/validate', review('b'));
  const response = (JSON.parse(validated.body) as { response: { uid: string; allowed: boolean; status: unknown } })
    .response;
  assert.equal(response.uid, 'uid-b');
  assert.equal(response.allowed, false);
  assert.deepEqual(
    seen.map((s) => s.path),
    ['/mutate', '/validate'],
  );
  const metrics = await registry.metrics();
  assert.match(metrics, /controller_runtime_webhook_requests_total\{webhook="\/mutate",code="200"\} 1/);
  assert.match(
    metrics,
    /argus_operator_admission_denials_total\{webhook="\/validate",kind="ComplianceScan",code="422"\} 1/,
  );
  // A handler that throws denies with 500 InternalError instead of allowing.
  const failed = JSON.parse((await call('POST', '/validate', review('boom'))).body) as {
    response: { allowed: boolean; status: { code: number; reason: string } };
  };
  assert.deepEqual(
    [failed.response.allowed, failed.response.status.code, failed.response.status.reason],
    [false, 500, 'InternalError'],
  );
});

test('malformed requests, other paths and methods, and too large bodies get HTTP errors', async () => {
  assert.equal((await call('POST', '/validate', '{not json')).code, 400);
  assert.equal(
    (await call('POST', '/validate', '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}')).code,
    400,
  );
  assert.equal(
    (await call('POST', '/mutate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' })))
      .code,
    400,
  );
  assert.equal((await call('GET', '/validate')).code, 405);
  assert.equal((await call('POST', '/other', review('c'))).code, 404);
  const big = await call('POST', '/validate', Buffer.alloc(100 * 1024, 'x'));
  assert.equal(big.code, 413);
  const health = await call('GET', '/healthz');
  assert.deepEqual([health.code, health.body], [200, 'ok']);
});

test('the serving certificate is swapped at runtime for new connections', async () => {
  const before = await call('GET', '/healthz');
  assert.equal(before.peer.fingerprint256, new X509Certificate(cert.certPem).fingerprint256);
  const ca2 = await createCA('test-webhook-ca-2');
  const cert2 = await issueCertificate(ca2, { commonName: 'webhook-2', hosts: ['127.0.0.1'], usage: 'server' });
  assert.throws(() => server.setCertificate({ cert: cert2.certPem, key: cert.keyPem }));
  assert.equal(server.servingCertificate.cert, cert.certPem, 'a mismatched pair is not taken');
  server.setCertificate({ cert: cert2.certPem, key: cert2.keyPem });
  const afterSwap = await call('GET', '/healthz', undefined, ca2.certPem);
  assert.equal(afterSwap.peer.fingerprint256, new X509Certificate(cert2.certPem).fingerprint256);
  await assert.rejects(call('GET', '/healthz', undefined, ca.certPem), /self-signed|unable to verify|certificate/);
});
