// Who is calling: as the generic Kubernetes API server's delegated authentication does it. In order:
// 1. a client certificate signed by the front-proxy (requestheader) CA whose common name is allowed: the user
//    named by the X-Remote-User/Group/Extra-* headers (kube-apiserver's aggregator, proxying for its caller);
// 2. a client certificate signed by the cluster's client CA: the user is its CN, the groups its O;
// 3. a bearer token, reviewed by kube-apiserver (TokenReview), answers cached for 10 s.
// Anything else is anonymous, which the server refuses (401) except on the health probes.
import { createHash, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { proxiedUser, type AuthenticationConfig } from '../../kube/authn-config.ts';
import type { KubeClient } from '../../kube/client.ts';
import { logger, errorMessage } from '../../util/log.ts';

const log = logger('reports-server-authn');

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** The certificates of a PEM bundle. */
export function parseBundle(pem: string | undefined): X509Certificate[] {
  if (!pem) return [];
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** True when `cert` was issued and signed by one of `cas` and is valid now. */
export function issuedBy(cert: X509Certificate, cas: X509Certificate[], now = new Date()): boolean {
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return false;
  return cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

/** The subject's attributes (CN, O may repeat) of a certificate. */
function subjectAttributes(cert: X509Certificate): { cn: string[]; o: string[] } {
  const cn: string[] = [];
  const o: string[] = [];
  for (const line of cert.subject.split('\n')) {
    const eq = line.indexOf('=');
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'CN') cn.push(v);
    else if (k === 'O') o.push(v);
  }
  return { cn, o };
}

interface TokenReview {
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    error?: string;
  };
}

export interface AuthenticatorOptions {
  config: AuthenticationConfig;
  /** Reviews bearer tokens; without it, tokens are not accepted. */
  tokenReviewer?: KubeClient;
  cacheTtlMs?: number;
}

export class Authenticator {
  private requestHeaderCAs: X509Certificate[] = [];
  private clientCAs: X509Certificate[] = [];
  private config: AuthenticationConfig = {};
  private readonly tokenReviewer: KubeClient | undefined;
  private readonly ttl: number;
  private readonly tokens = new Map<string, { user: UserInfo | undefined; expires: number }>();

  constructor(options: AuthenticatorOptions) {
    this.tokenReviewer = options.tokenReviewer;
    this.ttl = options.cacheTtlMs ?? 10_000;
    this.setConfig(options.config);
  }

  /** New CAs and request-header settings (the ConfigMap changed). */
  setConfig(config: AuthenticationConfig): void {
    this.config = config;
    this.requestHeaderCAs = parseBundle(config.requestHeader?.clientCA);
    this.clientCAs = parseBundle(config.clientCA);
  }

  /** The CA bundle TLS should ask client certificates for (both CAs). */
  get clientCABundle(): string {
    return [this.config.requestHeader?.clientCA, this.config.clientCA].filter(Boolean).join('\n');
  }

  /** The caller, with `system:authenticated` added as every Kubernetes authenticator does; undefined: anonymous. */
  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const user = await this.identify(req);
    if (user && !user.groups.includes('system:authenticated')) user.groups = [...user.groups, 'system:authenticated'];
    return user;
  }

  private async identify(req: IncomingMessage): Promise<UserInfo | undefined> {
    const socket = req.socket as TLSSocket;
    const peer = typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
    if (peer && socket.authorized) {
      const { cn, o } = subjectAttributes(peer);
      const rh = this.config.requestHeader;
      if (rh && cn.length === 1 && issuedBy(peer, this.requestHeaderCAs)) {
        const user = proxiedUser(rh, cn[0], req.headersDistinct);
        if (user) return { username: user.username, groups: user.groups, extra: user.extra };
      }
      if (cn.length === 1 && cn[0] && issuedBy(peer, this.clientCAs)) {
        return { username: cn[0], groups: o, extra: {} };
      }
    }
    const auth = req.headers.authorization;
    if (auth && /^bearer\s+/i.test(auth) && this.tokenReviewer) {
      return this.reviewToken(auth.replace(/^bearer\s+/i, '').trim());
    }
    return undefined;
  }

  private async reviewToken(token: string): Promise<UserInfo | undefined> {
    if (!token) return undefined;
    const cacheKey = createHash('sha256').update(token).digest('hex');
    const cached = this.tokens.get(cacheKey);
    if (cached && cached.expires > Date.now()) return cached.user;
    let review: TokenReview;
    try {
      review = await this.tokenReviewer!.request<TokenReview>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'TokenReview failed');
      return undefined;
    }
    const u = review.status?.authenticated ? review.status.user : undefined;
    const user: UserInfo | undefined = u?.username
      ? { username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups ?? [], extra: u.extra ?? {} }
      : undefined;
    this.tokens.set(cacheKey, { user, expires: Date.now() + this.ttl });
    if (this.tokens.size > 10_000) {
      for (const [k, v] of this.tokens) if (v.expires <= Date.now()) this.tokens.delete(k);
    }
    return user;
  }
}
