import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { test } from 'node:test';
import { createCA, issueCertificate } from '../../../src/util/pki.ts';

test('issues certificates that chain to the CA, with typed SANs and organisations', async () => {
  const ca = await createCA('test-ca');
  const pair = await issueCertificate(ca, {
    commonName: 'svc',
    organizations: ['system:masters'],
    hosts: ['reports.argus.svc', '127.0.0.1'],
    usage: 'server',
  });
  const cert = new X509Certificate(pair.certPem);
  const caCert = new X509Certificate(ca.certPem);
  assert.ok(caCert.ca);
  assert.ok(cert.verify(caCert.publicKey), 'signed by the CA');
  assert.ok(cert.checkIssued(caCert));
  assert.match(cert.subject, /CN=svc/);
  assert.match(cert.subject, /O=system:masters/);
  assert.ok(cert.checkHost('reports.argus.svc'));
  assert.ok(cert.checkIP('127.0.0.1'));
  assert.equal(cert.checkHost('other.svc'), undefined);
  assert.ok(createPrivateKey(pair.keyPem).asymmetricKeyType === 'ec');
});
