// The HTTPS server of the operator's admission webhooks. Paths: POST /mutate (defaulting) and POST /validate
// (validation), each for all three diki kinds (the handler reads the kind from the review), GET /healthz.
// Bodies over the limit get 413, anything that is not an AdmissionReview v1 with a request 400. The serving
// certificate can be swapped while serving (setCertificate): new connections use the new one.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage, logger } from '../../util/log.ts';
import { counter, exponentialBuckets, histogram } from '../../util/metrics.ts';
import { denyInternal, reviewOf, reviewProblem, type AdmissionRequest, type AdmissionResponse } from './admission.ts';

const log = logger('admission-webhooks');

// controller-runtime's webhook metrics (same names, so existing dashboards work), and the denials by kind.
const requestsTotal = counter(
  'controller_runtime_webhook_requests_total',
  'Admission webhook requests by path and HTTP status code.',
  ['webhook', 'code'],
);
const latency = histogram(
  'controller_runtime_webhook_latency_seconds',
  'Admission webhook request latency by path.',
  ['webhook'],
  exponentialBuckets(0.001, 2, 14),
);
const denials = counter(
  'argus_operator_admission_denials_total',
  'Admission requests denied, by webhook path, kind and status code (422 invalid, 500 target unreachable).',
  ['webhook', 'kind', 'code'],
);

export const MUTATE_PATH = '/mutate';
export const VALIDATE_PATH = '/validate';
export const HEALTHZ_PATH = '/healthz';

/**
 * Default body limit: kube-apiserver admits objects up to 3 MiB, and a review of an update carries the object
 * and the old object, JSON-encoded.
 */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface ServingCertificate {
  /** PEM certificate (chain). */
  cert: string;
  /** PEM private key. */
  key: string;
}

export interface AdmissionHandlers {
  mutate(request: AdmissionRequest): AdmissionResponse | Promise<AdmissionResponse>;
  validate(request: AdmissionRequest): AdmissionResponse | Promise<AdmissionResponse>;
}

export interface AdmissionServerOptions {
  handlers: AdmissionHandlers;
  certificate: ServingCertificate;
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on; default all (0.0.0.0). */
  host?: string;
  maxBodyBytes?: number;
}

class HttpError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export class AdmissionServer {
  private readonly options: AdmissionServerOptions;
  private readonly server: Server;
  private certificate: ServingCertificate;
  port = 0;

  constructor(options: AdmissionServerOptions) {
    this.options = options;
    this.certificate = options.certificate;
    this.server = createServer(
      {
        cert: options.certificate.cert,
        key: options.certificate.key,
        keepAliveTimeout: 120_000,
        headersTimeout: 30_000,
      },
      (req, res) => void this.serve(req, res),
    );
    this.server.on('tlsClientError', (err) => log.debug({ err: errorMessage(err) }, 'TLS handshake failed'));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    log.info({ port: this.port }, 'admission webhooks listening');
    return this.port;
  }

  /** The serving certificate in use. */
  get servingCertificate(): ServingCertificate {
    return this.certificate;
  }

  /** Serves new connections with `certificate`; throws (keeping the old one) when cert and key do not match. */
  setCertificate(certificate: ServingCertificate): void {
    if (certificate.cert === this.certificate.cert && certificate.key === this.certificate.key) return;
    this.server.setSecureContext({ cert: certificate.cert, key: certificate.key });
    this.certificate = certificate;
    log.info('serving certificate replaced');
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const force = setTimeout(() => {
      this.server.closeAllConnections();
    }, 1000);
    force.unref();
    await closed;
    clearTimeout(force);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    if (path === MUTATE_PATH || path === VALIDATE_PATH) {
      const started = performance.now();
      res.once('finish', () => {
        requestsTotal.inc({ webhook: path, code: String(res.statusCode) });
        latency.observe({ webhook: path }, (performance.now() - started) / 1000);
      });
    }
    try {
      if (path === HEALTHZ_PATH) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} not allowed`);
        return send(res, 200, 'ok', 'text/plain');
      }
      const handler =
        path === MUTATE_PATH
          ? this.options.handlers.mutate.bind(this.options.handlers)
          : path === VALIDATE_PATH
            ? this.options.handlers.validate.bind(this.options.handlers)
            : undefined;
      if (!handler) throw new HttpError(404, `no webhook at ${path}`);
      if (req.method !== 'POST') throw new HttpError(405, `${req.method} not allowed; use POST`);
      const body = await readBody(req, this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
      let review: unknown;
      try {
        review = JSON.parse(body.toString('utf8')) as unknown;
      } catch (err) {
        throw new HttpError(400, `the body is not JSON: ${errorMessage(err)}`);
      }
      const problem = reviewProblem(review);
      if (problem) throw new HttpError(400, problem);
      const request = (review as { request: AdmissionRequest }).request;
      let response: AdmissionResponse;
      try {
        response = await handler(request);
      } catch (err) {
        log.error({ err: errorMessage(err), path, uid: request.uid }, 'admission handler failed');
        response = denyInternal(request.uid, `admission handler failed: ${errorMessage(err)}`);
      }
      if (!response.allowed) {
        denials.inc({ webhook: path, kind: request.kind.kind, code: String(response.status?.code ?? '') });
        log.info(
          { path, kind: request.kind.kind, name: request.name, operation: request.operation, status: response.status },
          'admission request denied',
        );
      }
      send(res, 200, JSON.stringify(reviewOf(response)), 'application/json');
    } catch (err) {
      const code = err instanceof HttpError ? err.code : 500;
      if (code === 413) res.setHeader('connection', 'close');
      send(res, code, `${errorMessage(err)}\n`, 'text/plain');
    }
  }
}

function send(res: ServerResponse, code: number, body: string, contentType: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The body, or a 413 HttpError once it passes `limit` (the rest is read and dropped). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) return tooLarge();
      chunks.push(chunk);
    };
    function tooLarge(): void {
      req.removeListener('data', onData);
      req.resume();
      reject(new HttpError(413, `the body exceeds ${limit} bytes`));
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return tooLarge();
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
