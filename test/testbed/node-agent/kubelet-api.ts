// The node agent's kubelet API, the part that kube-apiserver proxies to and that compliance rules use:
// HTTPS on the node's InternalIP (see kubelet-net.ts) with a serving certificate from the cluster CA,
// client certificates verified against the same CA, authentication and authorization following the
// agent's KubeletConfiguration (anonymous, Webhook or AlwaysAllow), and
//   GET /healthz, /configz ({"kubeletconfig": ...}), /pods, /containerLogs/<ns>/<pod>/<container>
//   /exec/<ns>/<pod>/<container>?command=...&input=1&output=1&error=1  (WebSocket: v5.channel.k8s.io, v4)
// Exec runs the command in the container's mount namespace (and, for hostPID pods, the node's PID
// namespace) with the container's environment. The Node declares the ExtendWebSocketsToKubelet feature, so
// kube-apiserver passes WebSocket upgrades straight through instead of translating them to SPDY
// (docs/adr/0009-testbed-kubelet-api.md); SPDY requests are answered 400.
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorMessage, type Logger } from '../../../src/util/log.ts';
import { issueCertificate, type CertificateAuthority } from '../../../src/util/pki.ts';
import { waitFor } from '../../../src/util/time.ts';
import type { HostTools } from './host.ts';
import type { KubeletConfig } from './kubelet-config.ts';
import { kubeletAddress, type KubeletAddress } from './kubelet-net.ts';

/** What the kubelet API reads from its agent. */
export interface KubeletBackend {
  nodeName: string;
  /** The KubeletConfiguration that /configz shows and that authentication and authorization follow. */
  config(): KubeletConfig;
  pods(): V1Pod[];
  /** Throws when the pod or container has not run on this node. */
  logs(namespace: string, pod: string, container: string): string;
  /** The running container to exec in; a string says why there is none. */
  execTarget(namespace: string, pod: string, container: string): ExecTarget | string;
}

/** A running container as exec needs it. */
export interface ExecTarget {
  /** The container's process on the machine. */
  pid: number;
  /** Enter the process's PID namespace too (hostPID pods run in the node's). */
  pidNamespace: boolean;
  env: Record<string, string>;
  /** True once the container's mounts are set up (its command has started). */
  ready(): boolean;
}

const V5 = 'v5.channel.k8s.io';
const V4 = 'v4.channel.k8s.io';
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;

interface User {
  name: string;
  groups: string[];
}

export class KubeletServer {
  readonly address: string;
  readonly port: number;
  /** The machine-side network link of the node's namespace. */
  readonly link: string;
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: pickProtocol });
  private readonly backend: KubeletBackend;
  private readonly tools: HostTools;
  private readonly log: Logger;
  private readonly sockets = new Set<Duplex>();

  private constructor(
    backend: KubeletBackend,
    tools: HostTools,
    log: Logger,
    where: KubeletAddress,
    tls: { key: string; cert: string; ca: string },
  ) {
    this.backend = backend;
    this.tools = tools;
    this.log = log;
    this.address = where.address;
    this.port = where.port;
    this.link = where.link;
    // Client certificates are asked for but not required: without one a request is anonymous.
    this.server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.warn({ err: errorMessage(err), url: req.url }, 'kubelet API request failed');
        if (!res.headersSent) reply(res, 500, errorMessage(err));
        else res.destroy();
      });
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.server.on('secureConnection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('tlsClientError', () => undefined);
  }

  /** Serves the kubelet API on a new non-loopback address, with a serving certificate from `ca`. */
  static async start(
    backend: KubeletBackend,
    ca: CertificateAuthority,
    tools: HostTools,
    log: Logger,
  ): Promise<KubeletServer> {
    const where = await kubeletAddress(tools);
    try {
      const serving = await issueCertificate(ca, {
        commonName: `system:node:${backend.nodeName}`,
        organizations: ['system:nodes'],
        hosts: [where.address, backend.nodeName],
        usage: 'server',
      });
      const server = new KubeletServer(backend, tools, log, where, {
        key: serving.keyPem,
        cert: serving.certPem,
        ca: ca.certPem,
      });
      await new Promise<void>((resolve, reject) => {
        server.server.once('error', reject);
        server.server.listen(where.handle, () => resolve());
      });
      return server;
    } catch (err) {
      where.handle.close();
      throw err;
    }
  }

  /** Stops serving, ends open connections and with the socket the node's network namespace. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- Authentication and authorization, as the kubelet's --authentication-* / --authorization-mode -----

  private authenticate(req: IncomingMessage): User | 'unauthorized' {
    const socket = req.socket as TLSSocket;
    if (socket.authorized) {
      const subject = socket.getPeerCertificate().subject as unknown as Record<string, string | string[]> | undefined;
      const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
      return { name: list(subject?.CN)[0] ?? '', groups: [...list(subject?.O), 'system:authenticated'] };
    }
    const anonymous = record(record(this.backend.config().authentication).anonymous).enabled === true;
    return anonymous ? { name: 'system:anonymous', groups: ['system:unauthenticated'] } : 'unauthorized';
  }

  /** Undefined when allowed, else the kubelet's Forbidden message. */
  private authorize(user: User, method: string, path: string): string | undefined {
    const mode = record(this.backend.config().authorization).mode;
    if (mode === 'AlwaysAllow') return undefined;
    // Webhook: a SubjectAccessReview for nodes/<subresource>; the API server's kubelet client and
    // system:masters are allowed, as with the default RBAC of a cluster.
    if (user.name === 'kube-apiserver-kubelet-client' || user.groups.includes('system:masters')) return undefined;
    const first = path.split('/')[1] ?? '';
    const subresource = { stats: 'stats', metrics: 'metrics', logs: 'log', healthz: 'healthz' }[first] ?? 'proxy';
    const verb = method === 'GET' || method === 'HEAD' ? 'get' : 'create';
    return `Forbidden (user=${user.name}, verb=${verb}, resource=nodes, subresource(s)=[${subresource}])`;
  }

  private check(req: IncomingMessage, path: string): { code: number; message: string } | undefined {
    const user = this.authenticate(req);
    if (user === 'unauthorized') return { code: 401, message: 'Unauthorized' };
    const forbidden = this.authorize(user, req.method ?? 'GET', path);
    return forbidden ? { code: 403, message: forbidden } : undefined;
  }

  // --- Plain requests -----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const denied = this.check(req, url.pathname);
    if (denied) return reply(res, denied.code, denied.message);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const [first, ...rest] = parts;
    if (req.method !== 'GET' && req.method !== 'HEAD' && first !== 'exec') {
      return reply(res, 405, `${req.method} is not supported by the testbed kubelet`);
    }
    switch (first) {
      case 'healthz':
        return reply(res, 200, 'ok');
      case 'configz':
        return json(res, 200, { kubeletconfig: this.backend.config() });
      case 'pods':
        return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: this.backend.pods() });
      case 'containerLogs': {
        const [namespace, pod, container] = rest;
        if (!namespace || !pod || !container || rest.length !== 3) return reply(res, 404, 'page not found');
        let text: string;
        try {
          text = this.backend.logs(namespace, pod, container);
        } catch (err) {
          return reply(res, 404, errorMessage(err));
        }
        const tail = Number(url.searchParams.get('tailLines') ?? NaN);
        if (Number.isInteger(tail) && tail >= 0) {
          const lines = text.split('\n');
          if (lines.at(-1) === '') lines.pop();
          text = lines.slice(Math.max(0, lines.length - tail)).join('\n') + (tail > 0 && lines.length ? '\n' : '');
        }
        const limit = Number(url.searchParams.get('limitBytes') ?? NaN);
        if (Number.isInteger(limit) && limit > 0) text = Buffer.from(text).subarray(0, limit).toString();
        return reply(res, 200, text);
      }
      case 'exec':
        return reply(res, 400, 'Upgrade request required');
      default:
        return reply(res, 404, '404 page not found');
    }
  }

  // --- Exec over WebSocket --------------------------------------------------------------------------------

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const fail = (code: number, message: string): void => {
      const body = `${message}\n`;
      socket.end(
        `HTTP/1.1 ${code} ${statusText(code)}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const denied = this.check(req, url.pathname);
    if (denied) return fail(denied.code, denied.message);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const [first, namespace, pod, container] = parts;
    if (first !== 'exec' || !namespace || !pod || !container || parts.length !== 4) {
      return fail(404, `${url.pathname}: the testbed kubelet streams exec only`);
    }
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return fail(400, 'the testbed kubelet speaks WebSocket (v5.channel.k8s.io, v4.channel.k8s.io), not SPDY');
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(V5) && !offered.includes(V4)) {
      return fail(400, `requested protocol(s) are not supported: ${offered.join(', ')}; supports ${V5}, ${V4}`);
    }
    const command = url.searchParams.getAll('command');
    if (command.length === 0) return fail(400, 'you must specify at least 1 command');
    // kube-apiserver asks with input/output/error=1; stdin/stdout/stderr as on the API server work too.
    const flag = (...names: string[]): boolean =>
      names.some((name) => ['1', 'true'].includes(url.searchParams.get(name) ?? ''));
    const streams = {
      stdin: flag('input', 'stdin'),
      stdout: flag('output', 'stdout'),
      stderr: flag('error', 'stderr'),
    };
    if (!streams.stdin && !streams.stdout && !streams.stderr) {
      return fail(400, 'you must specify at least 1 of stdin, stdout, stderr');
    }
    const target = this.backend.execTarget(namespace, pod, container);
    if (typeof target === 'string') return fail(404, target);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      void this.exec(ws, target, command, streams).catch((err: unknown) => {
        this.log.warn({ err: errorMessage(err), pod: `${namespace}/${pod}` }, 'exec failed');
        ws.terminate();
      });
    });
  }

  private async exec(
    ws: WebSocket,
    target: ExecTarget,
    command: string[],
    streams: { stdin: boolean; stdout: boolean; stderr: boolean },
  ): Promise<void> {
    const v5 = ws.protocol === V5;
    const send = (channel: number, data: Buffer): void => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
    };
    const sendStatus = (status: Record<string, unknown>): void => {
      send(STATUS, Buffer.from(JSON.stringify({ metadata: {}, ...status })));
      ws.close(1000);
    };
    // As the kubelet: an empty frame on the lowest writable channel says the streams are set up.
    send(streams.stdout ? STDOUT : streams.stderr ? STDERR : STATUS, Buffer.alloc(0));
    try {
      await waitFor('the container to start', () => target.ready(), { timeoutMs: 10_000, intervalMs: 20 });
    } catch {
      return sendStatus({ status: 'Failure', message: 'container is not running', reason: 'InternalError', code: 500 });
    }
    const { setpriv, nsenter } = this.tools;
    // The inner setpriv kills the command when nsenter (which forks when it enters a PID namespace) dies.
    const child = spawn(
      setpriv,
      [
        '--pdeathsig',
        'KILL',
        '--',
        nsenter,
        '-t',
        String(target.pid),
        '-m',
        ...(target.pidNamespace ? ['-p'] : []),
        '--wd',
        '--',
        setpriv,
        '--pdeathsig',
        'KILL',
        '--',
        ...command,
      ],
      { stdio: [streams.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: target.env },
    );
    child.stdout?.on('data', (d: Buffer) => streams.stdout && send(STDOUT, d));
    child.stderr?.on('data', (d: Buffer) => streams.stderr && send(STDERR, d));
    child.stdin?.on('error', () => undefined);
    ws.on('message', (data: Buffer) => {
      if (data.length === 0) return;
      if (v5 && data[0] === CLOSE && data[1] === STDIN) child.stdin?.end();
      else if (data[0] === STDIN) child.stdin?.write(data.subarray(1));
    });
    ws.once('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const { code, error } = await new Promise<{ code: number; error?: string }>((resolve) => {
      child.once('error', (err) => resolve({ code: -1, error: err.message }));
      child.once('close', (exitCode, signal) =>
        resolve({ code: exitCode ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0) }),
      );
    });
    if (error !== undefined) {
      return sendStatus({ status: 'Failure', message: error, reason: 'InternalError', code: 500 });
    }
    if (code === 0) return sendStatus({ status: 'Success' });
    sendStatus({
      status: 'Failure',
      message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
    });
  }
}

function pickProtocol(protocols: Set<string>): string | false {
  return protocols.has(V5) ? V5 : protocols.has(V4) ? V4 : false;
}

function reply(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(code === 200 ? text : `${text}\n`);
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function statusText(code: number): string {
  return { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[code] ?? 'Error';
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}
