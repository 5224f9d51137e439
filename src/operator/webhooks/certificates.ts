// The webhook serving certificate, managed by the operator itself and shared by its replicas through one Secret
// in the runner namespace (WEBHOOK_CERT_SECRET): `ca.crt` (the CA bundle the webhook configurations trust),
// `tls.crt`, `tls.key` (what every replica serves).
//
// Each certificate has a CA of its own (made for it, its key never stored). Rotation has two steps, so that
// kube-apiserver trusts a certificate before any replica serves it:
//   1. stage: when the certificate has less than a third of its lifetime left, a new CA and certificate are
//      made; the new CA joins `ca.crt` (next to the CA of the current certificate) and the new pair waits in
//      `next-tls.crt`/`next-tls.key`, with the time in the annotation `argus.io/staged-at`. Replicas apply
//      the bundle to the webhook configurations and keep serving the current certificate.
//   2. promote: once the stage is `caPropagationMs` old, the next pair becomes `tls.crt`/`tls.key`; each
//      replica serves it from its next check on. The old CA leaves the bundle at the next stage.
// A Secret that is missing, unreadable, for other names, or whose certificate expires before a rotation could
// finish, is replaced at once. Writes carry the resourceVersion read; on a conflict the Secret is read again,
// so replicas starting together agree on one certificate.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import type { V1Secret } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, type KubeClient } from '../../kube/client.ts';
import { Resources } from '../../kube/resources.ts';
import { errorMessage, logger } from '../../util/log.ts';
import { createCA, issueCertificate } from '../../util/pki.ts';
import { MANAGED_BY_LABEL, OPERATOR_MANAGER, WEBHOOK_CERT_SECRET } from '../names.ts';

const log = logger('webhook-certificates');

export const CA_BUNDLE_KEY = 'ca.crt';
export const CERT_KEY = 'tls.crt';
export const KEY_KEY = 'tls.key';
export const NEXT_CERT_KEY = 'next-tls.crt';
export const NEXT_KEY_KEY = 'next-tls.key';
export const STAGED_AT_ANNOTATION = 'argus.io/staged-at';

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_CERT_LIFETIME_MS = 365 * DAY_MS;
export const DEFAULT_CA_PROPAGATION_MS = 10_000;

export interface WebhookCertificatesOptions {
  /** Client of the runner cluster. */
  client: KubeClient;
  /** The runner namespace, where the Secret is. */
  namespace: string;
  /** Default WEBHOOK_CERT_SECRET. */
  secretName?: string;
  /** DNS names the certificate is for (e.g. `<service>.<namespace>.svc`). */
  dnsNames?: string[];
  /** IP addresses the certificate is for. */
  ipAddresses?: string[];
  /** Lifetime of each certificate (and its CA); default 365 days. Rotation starts when a third is left. */
  lifetimeMs?: number;
  /** How long a new CA is in the bundle before the certificate it signed is served; default 10 s. */
  caPropagationMs?: number;
  /** The clock; default Date.now. */
  now?: () => number;
}

/** What a replica serves and what the webhook configurations trust. */
export interface WebhookCertificate {
  /** PEM CA bundle (one or two CAs), for the webhook configurations' caBundle. */
  caBundle: string;
  /** PEM serving certificate and key. */
  cert: string;
  key: string;
  notAfter: Date;
  /** When a staged certificate may be promoted (a check should run then), if one is staged. */
  promoteAt?: Date;
}

interface Parsed {
  cas: { pem: string; cert: X509Certificate }[];
  cert: X509Certificate;
  certPem: string;
  keyPem: string;
  next?: { certPem: string; keyPem: string; cert: X509Certificate; stagedAt: number } | undefined;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

const decode = (secret: V1Secret, key: string): string | undefined => {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
};
const encode = (value: string): string => Buffer.from(value).toString('base64');

export class WebhookCertificates {
  private readonly options: WebhookCertificatesOptions;
  private readonly secretName: string;
  private readonly hosts: string[];
  private readonly lifetimeMs: number;
  private readonly propagationMs: number;
  private readonly now: () => number;

  constructor(options: WebhookCertificatesOptions) {
    this.options = options;
    this.secretName = options.secretName ?? WEBHOOK_CERT_SECRET;
    this.hosts = [...(options.dnsNames ?? []), ...(options.ipAddresses ?? [])];
    if (this.hosts.length === 0) throw new Error('the webhook certificate needs at least one DNS name or IP address');
    this.lifetimeMs = options.lifetimeMs ?? DEFAULT_CERT_LIFETIME_MS;
    this.propagationMs = options.caPropagationMs ?? DEFAULT_CA_PROPAGATION_MS;
    this.now = options.now ?? Date.now;
  }

  /** Reads the Secret, creates, stages, promotes or replaces what is due, and returns what to serve and trust. */
  async reconcile(): Promise<WebhookCertificate> {
    const { client, namespace } = this.options;
    for (let attempt = 1; ; attempt++) {
      const secret = await client.getOrUndefined<V1Secret>(Resources.secrets, this.secretName, namespace);
      const desired = await this.desired(secret);
      if (!desired) return this.result(this.parse(secret!)!);
      try {
        const written = secret?.metadata?.resourceVersion
          ? await client.replace<V1Secret>(Resources.secrets, {
              ...desired.secret,
              metadata: { ...desired.secret.metadata, resourceVersion: secret.metadata.resourceVersion },
            })
          : await client.create<V1Secret>(Resources.secrets, desired.secret);
        log.info({ secret: `${namespace}/${this.secretName}`, action: desired.action }, 'webhook certificate written');
        return this.result(this.parse(written)!);
      } catch (err) {
        if ((isConflict(err) || isAlreadyExists(err)) && attempt < 5) {
          log.debug({ err: errorMessage(err) }, 'webhook certificate Secret changed meanwhile; reading it again');
          continue;
        }
        throw err;
      }
    }
  }

  private result(parsed: Parsed): WebhookCertificate {
    return {
      caBundle: parsed.cas.map((c) => c.pem.trimEnd() + '\n').join(''),
      cert: parsed.certPem,
      key: parsed.keyPem,
      notAfter: new Date(parsed.cert.validTo),
      ...(parsed.next ? { promoteAt: new Date(parsed.next.stagedAt + this.propagationMs) } : {}),
    };
  }

  /** The Secret to write and why, or undefined when the one read is right as it is. */
  private async desired(secret: V1Secret | undefined): Promise<{ secret: V1Secret; action: string } | undefined> {
    const now = this.now();
    const parsed = secret ? this.parse(secret) : undefined;
    if (!parsed || !this.usable(parsed.cert, parsed.keyPem, parsed.cas, now)) {
      const fresh = await this.generate();
      return {
        secret: this.secret(this.bundle([{ pem: fresh.caPem }]), fresh.certPem, fresh.keyPem),
        action: secret ? 'replaced' : 'created',
      };
    }
    if (parsed.next) {
      if (!this.usable(parsed.next.cert, parsed.next.keyPem, parsed.cas, now)) {
        return { secret: this.secret(this.bundle(parsed.cas), parsed.certPem, parsed.keyPem), action: 'unstaged' };
      }
      if (now - parsed.next.stagedAt < this.propagationMs) return undefined;
      return {
        secret: this.secret(this.bundle(parsed.cas), parsed.next.certPem, parsed.next.keyPem),
        action: 'promoted',
      };
    }
    if (Date.parse(parsed.cert.validTo) - now >= this.lifetimeMs / 3) return undefined;
    const fresh = await this.generate();
    const keep = parsed.cas.filter((ca) => parsed.cert.verify(ca.cert.publicKey));
    return {
      secret: this.secret(this.bundle([{ pem: fresh.caPem }, ...keep]), parsed.certPem, parsed.keyPem, {
        certPem: fresh.certPem,
        keyPem: fresh.keyPem,
        stagedAt: now,
      }),
      action: 'staged',
    };
  }

  /**
   * Whether `cert` with `keyPem` can be served: the key matches, it names every host, a CA of the bundle signed
   * it, and it is valid long enough for a rotation to finish.
   */
  private usable(cert: X509Certificate, keyPem: string, cas: Parsed['cas'], now: number): boolean {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
    } catch {
      return false;
    }
    if (Date.parse(cert.validFrom) > now + 60_000) return false;
    if (Date.parse(cert.validTo) - now <= Math.min(this.propagationMs * 2, this.lifetimeMs / 3)) return false;
    for (const host of this.hosts) {
      if (isIP(host) ? cert.checkIP(host) === undefined : cert.checkHost(host, { wildcards: false }) === undefined) {
        return false;
      }
    }
    return cas.some((ca) => Date.parse(ca.cert.validTo) > now && cert.verify(ca.cert.publicKey));
  }

  private parse(secret: V1Secret): Parsed | undefined {
    try {
      const bundle = decode(secret, CA_BUNDLE_KEY);
      const certPem = decode(secret, CERT_KEY);
      const keyPem = decode(secret, KEY_KEY);
      if (!bundle || !certPem || !keyPem) return undefined;
      const cas = (bundle.match(PEM_CERT) ?? []).map((pem) => ({ pem, cert: new X509Certificate(pem) }));
      const parsed: Parsed = { cas, cert: new X509Certificate(certPem), certPem, keyPem };
      const nextCert = decode(secret, NEXT_CERT_KEY);
      const nextKey = decode(secret, NEXT_KEY_KEY);
      const stagedAt = Date.parse(secret.metadata?.annotations?.[STAGED_AT_ANNOTATION] ?? '');
      if (nextCert && nextKey) {
        parsed.next = {
          certPem: nextCert,
          keyPem: nextKey,
          cert: new X509Certificate(nextCert),
          stagedAt: Number.isNaN(stagedAt) ? 0 : stagedAt,
        };
      }
      return parsed;
    } catch {
      return undefined;
    }
  }

  private bundle(cas: { pem: string }[]): string {
    return cas.map((c) => c.pem.trimEnd() + '\n').join('');
  }

  private secret(
    caBundle: string,
    certPem: string,
    keyPem: string,
    next?: { certPem: string; keyPem: string; stagedAt: number },
  ): V1Secret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: this.secretName,
        namespace: this.options.namespace,
        labels: { [MANAGED_BY_LABEL]: OPERATOR_MANAGER },
        ...(next ? { annotations: { [STAGED_AT_ANNOTATION]: new Date(next.stagedAt).toISOString() } } : {}),
      },
      type: 'kubernetes.io/tls',
      data: {
        [CA_BUNDLE_KEY]: encode(caBundle),
        [CERT_KEY]: encode(certPem),
        [KEY_KEY]: encode(keyPem),
        ...(next ? { [NEXT_CERT_KEY]: encode(next.certPem), [NEXT_KEY_KEY]: encode(next.keyPem) } : {}),
      },
    };
  }

  private async generate(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
    // The CA outlives its one certificate by a minute (both are issued now).
    const ca = await createCA('argus-operator-webhook-ca', (this.lifetimeMs + 60_000) / DAY_MS);
    const cert = await issueCertificate(ca, {
      commonName: 'argus-operator-webhook',
      hosts: this.hosts,
      usage: 'server',
      validDays: this.lifetimeMs / DAY_MS,
    });
    return { caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem };
  }
}
