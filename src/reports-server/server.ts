// `argus reports-server`: an HTTPS API server for the report types, registered with kube-apiserver's
// aggregation layer (docs/adr/0013-reports-api-server.md). Every request is authenticated (front proxy,
// client certificate or bearer token; anonymous only for the health probes) and authorised with a
// SubjectAccessReview, then routed to discovery, OpenAPI or the resource handlers over the store.
// The serving certificate is re-read when its files change; new connections get the new one.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthenticationConfig } from '../kube/authn-config.ts';
import type { KubeClient } from '../kube/client.ts';
import { ApiError } from '../kube/client.ts';
import { Resources } from '../kube/resources.ts';
import { errorMessage, logger } from '../util/log.ts';
import { counter, exponentialBuckets, histogram, registry } from '../util/metrics.ts';
import { Authenticator, type UserInfo } from './auth/authn.ts';
import { Authorizer, forbiddenMessage, type Attributes } from './auth/authz.ts';
import {
  ANALYTICS_GROUP,
  ANALYTICS_VERSION,
  analyticsDiscoveryItem,
  analyticsGroup,
  analyticsResourceList,
  analyticsRoute,
  serveAnalytics,
} from './http/analytics.ts';
import { aggregatedDiscovery, apiGroupDocument, apiGroupList, apiResourceList } from './http/discovery.ts';
import { ResourceHandlers, sendJson } from './http/handlers.ts';
import { contentTypeOf, negotiate } from './http/negotiation.ts';
import { openAPIv2, openAPIv3GroupVersion, openAPIv3Index } from './http/openapi.ts';
import { servedReportTypes, type ServedType } from './http/resources.ts';
import { nameFromFieldSelector, route as routeOf, type Route } from './http/router.ts';
import { HttpError, notFoundPath, toStatus, unauthorized, type Subject } from './http/status.ts';
import type { ReportStorage } from './storage/types.ts';

const log = logger('reports-server');

const requests = counter('apiserver_request_total', 'Requests of the reports API server by verb, resource and code.', [
  'verb',
  'group',
  'resource',
  'code',
]);
const latency = histogram(
  'apiserver_request_duration_seconds',
  'Latency of reports API requests (until the response ends; watches excluded), by verb and resource.',
  ['verb', 'resource'],
  exponentialBuckets(0.001, 2, 16),
);
const watchers = counter('apiserver_watch_events_total', 'Watches started, by resource.', ['resource']);

export type ServingCertificate = { certFile: string; keyFile: string } | { cert: string; key: string };

export interface ReportsServerOptions {
  storage: ReportStorage;
  /** PEM files (re-read when they change) or PEM text. */
  serving: ServingCertificate;
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Who may call: the front-proxy and client CAs (kube-system/extension-apiserver-authentication). */
  authentication: AuthenticationConfig;
  /** Re-reads the authentication settings (every `authenticationRefreshMs`, default 60 s). */
  refreshAuthentication?: () => Promise<AuthenticationConfig>;
  authenticationRefreshMs?: number;
  /** Reviews bearer tokens (TokenReview). */
  authenticationClient?: KubeClient;
  /** Authorises requests (SubjectAccessReview). */
  authorizationClient: KubeClient;
  /** Reads namespaces for the NamespaceLifecycle check of creates; absent: no check. */
  namespaceClient?: KubeClient;
  /** How often the serving certificate files are checked for changes (default 10 s). */
  certReloadIntervalMs?: number;
  /** Version reported by /version and OpenAPI. */
  version: string;
  maxBodyBytes?: number;
}

interface CertState {
  cert: string;
  key: string;
  digest: string;
}

export class ReportsServer {
  private readonly options: ReportsServerOptions;
  private readonly served: ServedType[];
  private readonly authenticator: Authenticator;
  private readonly authorizer: Authorizer;
  private readonly handlers: ResourceHandlers;
  private readonly server: Server;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly watches = new Set<ServerResponse>();
  private cert: CertState;
  private readonly namespaces = new Map<string, number>();
  port = 0;

  constructor(options: ReportsServerOptions) {
    this.options = options;
    this.served = servedReportTypes(options.storage.types);
    this.authenticator = new Authenticator({
      config: options.authentication,
      ...(options.authenticationClient ? { tokenReviewer: options.authenticationClient } : {}),
    });
    this.authorizer = new Authorizer(options.authorizationClient);
    this.handlers = new ResourceHandlers(options.storage, {
      ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
      ...(options.namespaceClient ? { checkNamespace: (ns: string) => this.checkNamespace(ns) } : {}),
      trackWatch: (res) => {
        this.watches.add(res);
        return () => this.watches.delete(res);
      },
    });
    this.cert = this.readCert();
    this.server = createServer(
      {
        ...this.secureContextOptions(),
        requestCert: true,
        rejectUnauthorized: false,
        // Watches stream for a long time. Idle keep-alive connections are kept longer than the aggregator's
        // transport keeps them (90 s), so it never sends a request on a connection this side is closing.
        requestTimeout: 0,
        keepAliveTimeout: 120_000,
        headersTimeout: 130_000,
      },
      (req, res) => void this.serve(req, res),
    );
    this.server.on('tlsClientError', (err) => log.debug({ err: errorMessage(err) }, 'TLS handshake failed'));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    if ('certFile' in this.options.serving) {
      const timer = setInterval(() => this.reloadCert(), this.options.certReloadIntervalMs ?? 10_000);
      timer.unref();
      this.timers.push(timer);
    }
    if (this.options.refreshAuthentication) {
      const refresh = this.options.refreshAuthentication;
      const timer = setInterval(() => {
        refresh().then(
          (config) => {
            const before = this.authenticator.clientCABundle;
            this.authenticator.setConfig(config);
            if (this.authenticator.clientCABundle !== before) this.server.setSecureContext(this.secureContextOptions());
          },
          (err: unknown) => log.warn({ err: errorMessage(err) }, 'cannot refresh the authentication settings'),
        );
      }, this.options.authenticationRefreshMs ?? 60_000);
      timer.unref();
      this.timers.push(timer);
    }
    log.info({ port: this.port, backend: this.options.storage.backend }, 'reports API server listening');
    return this.port;
  }

  /** Stops accepting connections, ends watches and closes connections. The store stays open. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const res of this.watches) res.end();
    this.server.closeIdleConnections();
    setTimeout(() => {
      this.server.closeAllConnections();
    }, 1000).unref();
    await closed;
  }

  /** The SHA-256 of the serving certificate in use (PEM text). */
  get servingCertDigest(): string {
    return this.cert.digest;
  }

  // --- TLS -----------------------------------------------------------------------------------------------------

  private readCert(): CertState {
    const serving = this.options.serving;
    const cert = 'certFile' in serving ? readFileSync(serving.certFile, 'utf8') : serving.cert;
    const key = 'keyFile' in serving ? readFileSync(serving.keyFile, 'utf8') : serving.key;
    return { cert, key, digest: createHash('sha256').update(cert).digest('hex') };
  }

  private secureContextOptions(): { cert: string; key: string; ca?: string } {
    const ca = this.authenticator.clientCABundle;
    return { cert: this.cert.cert, key: this.cert.key, ...(ca ? { ca } : {}) };
  }

  private reloadCert(): void {
    let next: CertState;
    try {
      next = this.readCert();
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'cannot read the serving certificate; keeping the current one');
      return;
    }
    if (next.digest === this.cert.digest && next.key === this.cert.key) return;
    const previous = this.cert;
    this.cert = next;
    try {
      this.server.setSecureContext(this.secureContextOptions());
      log.info({ digest: next.digest }, 'serving certificate reloaded');
    } catch (err) {
      // A certificate and key that do not match yet (written one after the other): try again next time.
      this.cert = previous;
      log.warn({ err: errorMessage(err) }, 'cannot use the new serving certificate yet');
    }
  }

  // --- Requests ------------------------------------------------------------------------------------------------

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    let verb = (req.method ?? 'GET').toLowerCase();
    let group = '';
    let resource = '';
    let subject: Subject | undefined;
    let isWatch = false;
    try {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const route = routeOf(req.method ?? 'GET', url.pathname, url.searchParams, this.options.storage.types);
      if (route.kind === 'probe') return await this.probe(route.path, res);
      const user = await this.authenticator.authenticate(req);
      if (!user) throw unauthorized();
      const analytics = route.kind === 'notFound' ? analyticsRoute(url.pathname) : undefined;
      if (analytics?.kind === 'query') {
        verb = 'list';
        group = ANALYTICS_GROUP;
        resource = analytics.resource;
        if (req.method !== 'GET')
          throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not supported on ${resource}`);
        await this.authorize(user, {
          verb,
          group,
          version: ANALYTICS_VERSION,
          resource,
          namespace: analytics.namespace,
          name: '',
        });
        const can = async (g: string, r: string, namespace: string): Promise<boolean> =>
          (
            await this.authorizer.authorize(user, {
              verb: 'list',
              group: g,
              version: this.served.find((x) => x.type.group === g)?.type.version ?? '',
              resource: r,
              namespace,
              name: '',
            })
          ).allowed;
        return await serveAnalytics(res, analytics, url.searchParams, this.options.storage, can, () =>
          this.namespaceNames(),
        );
      }
      if (analytics) {
        await this.authorize(user, { path: url.pathname, verb: 'get' });
        negotiate(req.headers.accept, ['object']);
        return sendJson(
          res,
          200,
          analytics.kind === 'group'
            ? { kind: 'APIGroup', apiVersion: 'v1', ...analyticsGroup }
            : analyticsResourceList(),
        );
      }
      if (route.kind === 'resource') {
        verb = route.verb;
        group = route.type.group;
        resource = route.type.resource;
        isWatch = verb === 'watch';
        subject = { group, kind: route.type.kind, resource, ...(route.name ? { name: route.name } : {}) };
        const name =
          route.name ||
          (verb === 'list' || verb === 'watch'
            ? (nameFromFieldSelector(url.searchParams.get('fieldSelector') ?? '') ?? '')
            : '');
        await this.authorize(user, {
          verb,
          group,
          version: route.type.version,
          resource,
          namespace: route.namespace,
          name,
        });
        const served = this.served.find((s) => s.type === route.type)!;
        if (isWatch) watchers.inc({ resource });
        await this.handlers.handle({ req, res, query: url.searchParams, route, served });
        return;
      }
      await this.authorize(user, { path: url.pathname, verb: verb === 'head' ? 'get' : verb });
      await this.nonResource(route, req, res);
    } catch (err) {
      const status = toStatus(err, subject);
      if (status.code >= 500 && status.code !== 503)
        log.error({ err: errorMessage(err), url: req.url }, 'request failed');
      if (res.headersSent) {
        res.destroy();
      } else {
        const headers: Record<string, string> = {};
        if (status.code === 503 || status.code === 504)
          headers['retry-after'] = String(status.details?.retryAfterSeconds ?? 1);
        // A body not read to its end (only above 64 MiB): the connection cannot be reused.
        if (status.code === 413 && !req.readableEnded) headers.connection = 'close';
        sendJson(res, status.code, status, 'application/json', headers);
      }
    } finally {
      const code = String(res.statusCode);
      requests.inc({ verb, group, resource, code });
      if (!isWatch) latency.observe({ verb, resource }, (performance.now() - started) / 1000);
    }
  }

  private async authorize(user: UserInfo, attributes: Attributes): Promise<void> {
    let decision;
    try {
      decision = await this.authorizer.authorize(user, attributes);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'SubjectAccessReview failed');
      throw new HttpError(503, 'ServiceUnavailable', `authorization is unavailable: ${errorMessage(err)}`, {
        retryAfterSeconds: 1,
      });
    }
    if (!decision.allowed) {
      const details =
        'path' in attributes
          ? {}
          : {
              group: attributes.group,
              kind: attributes.resource,
              ...(attributes.name ? { name: attributes.name } : {}),
            };
      throw new HttpError(403, 'Forbidden', forbiddenMessage(user, attributes, decision.reason), details);
    }
  }

  private async probe(path: string, res: ServerResponse): Promise<void> {
    const send = (code: number, text: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    };
    if (path.startsWith('/livez') || path === '/healthz/ping') return send(200, 'ok');
    // /healthz and /readyz: the database answers.
    try {
      await this.options.storage.currentResourceVersion();
      send(200, 'ok');
    } catch (err) {
      send(503, `[-]storage failed: ${errorMessage(err)}\nhealthz check failed\n`);
    }
  }

  private async nonResource(route: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not supported on ${req.url}`);
    }
    const version = this.options.version;
    switch (route.kind) {
      case 'version':
        return sendJson(res, 200, {
          major: '1',
          minor: '0',
          gitVersion: `v${version}`,
          gitCommit: '',
          gitTreeState: '',
          buildDate: '',
          goVersion: '',
          compiler: 'node',
          platform: `${process.platform}/${process.arch}`,
        });
      case 'metrics': {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
        return;
      }
      case 'apis': {
        const representation = negotiate(req.headers.accept, ['object', 'discovery']);
        let body: unknown;
        if (representation.kind === 'discovery') {
          const doc = aggregatedDiscovery(this.served, representation.version);
          body = { ...doc, items: [...doc.items, analyticsDiscoveryItem()] };
        } else {
          const doc = apiGroupList(this.served);
          body = { ...doc, groups: [...doc.groups, analyticsGroup] };
        }
        return sendJson(res, 200, body, contentTypeOf(representation));
      }
      case 'group': {
        negotiate(req.headers.accept, ['object']);
        const doc = apiGroupDocument(this.served, route.group);
        if (!doc) throw notFoundPath();
        return sendJson(res, 200, doc);
      }
      case 'groupVersion':
        negotiate(req.headers.accept, ['object']);
        return sendJson(res, 200, apiResourceList(this.served, route.group, route.version));
      case 'openapi-v2':
        return sendJson(res, 200, openAPIv2(this.served, version));
      case 'openapi-v3':
        return sendJson(res, 200, openAPIv3Index(this.served, version));
      case 'openapi-v3-gv': {
        const doc = openAPIv3GroupVersion(this.served, route.group, route.version, version);
        if (!doc) throw notFoundPath();
        return sendJson(res, 200, doc);
      }
      default:
        throw notFoundPath();
    }
  }

  /** Every namespace's name (for analytics of callers with namespace-scoped rights only). */
  private async namespaceNames(): Promise<string[]> {
    const client = this.options.namespaceClient;
    if (!client) return [];
    const list = await client.listAll(Resources.namespaces);
    return list.items.map((n) => n.metadata?.name ?? '').filter(Boolean);
  }

  /** NamespaceLifecycle: no new objects in a namespace that does not exist or is being deleted. */
  private async checkNamespace(namespace: string): Promise<void> {
    const client = this.options.namespaceClient!;
    const known = this.namespaces.get(namespace);
    if (known && known > Date.now()) return;
    let ns: { metadata?: { deletionTimestamp?: unknown }; status?: { phase?: string } };
    try {
      ns = await client.get(Resources.namespaces, namespace);
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) {
        throw new HttpError(404, 'NotFound', `namespaces "${namespace}" not found`, {
          name: namespace,
          kind: 'namespaces',
        });
      }
      throw new HttpError(503, 'ServiceUnavailable', `cannot read namespace ${namespace}: ${errorMessage(err)}`, {
        retryAfterSeconds: 1,
      });
    }
    if (ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating') {
      throw new HttpError(
        403,
        'Forbidden',
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          causes: [
            {
              type: 'NamespaceTerminating',
              message: `namespace ${namespace} is terminating`,
              field: 'metadata.namespace',
            },
          ],
        },
      );
    }
    this.namespaces.set(namespace, Date.now() + 2_000);
  }
}
