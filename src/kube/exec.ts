// Runs a command in a container through the API server's pods/exec subresource, as `kubectl exec` does:
// a WebSocket with the channel protocol v5.channel.k8s.io (falling back to v4.channel.k8s.io), where each
// binary message starts with its channel (0 stdin, 1 stdout, 2 stderr, 3 status; v5 adds 255 <channel>,
// which closes a stream) and the status channel carries a metav1.Status: Success, or Failure with reason
// NonZeroExitCode and a cause ExitCode holding the exit code. See docs/adr/0009-testbed-kubelet-api.md.
import { WebSocket, type RawData } from 'ws';
import { ApiError, type KubeClient, type Status } from './client.ts';
import { Resources } from './resources.ts';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

export interface ExecOptions {
  namespace: string;
  pod: string;
  /** Default: the pod's only container (the API server rejects the request when there are several). */
  container?: string;
  /** argv; no shell is involved unless it is `['sh', '-c', '...']`. */
  command: string[];
  /** Written to the command's stdin, which is then closed (the close needs v5.channel.k8s.io). */
  stdin?: string | Buffer;
  signal?: AbortSignal;
  /** Time for the whole command, connection included (default 60 s); then the stream is closed. */
  timeoutMs?: number;
  /** Subprotocols offered, in order of preference (default EXEC_PROTOCOLS: v5, then v4). */
  protocols?: readonly string[];
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** The command's exit code (0 on success). */
  exitCode: number;
}

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;

/**
 * Runs `command` in a container and returns its output and exit code. A non-zero exit code is a result, not
 * an error; the API server's refusals (pod not found, forbidden, ...) throw an ApiError with their code, and
 * a broken stream, a timeout or an abort throw an Error.
 */
export async function exec(client: KubeClient, options: ExecOptions): Promise<ExecResult> {
  const { namespace, pod, container, command, stdin, signal, timeoutMs = 60_000, protocols = EXEC_PROTOCOLS } = options;
  if (command.length === 0) throw new Error('exec needs a command');
  const path = client.path(Resources.pods, { namespace, name: pod, subresource: 'exec' });
  const url = new URL(client.server + path);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  for (const arg of command) url.searchParams.append('command', arg);
  if (container) url.searchParams.set('container', container);
  if (stdin !== undefined) url.searchParams.set('stdin', 'true');
  url.searchParams.set('stdout', 'true');
  url.searchParams.set('stderr', 'true');
  const what = `exec in ${namespace}/${pod}${container ? `/${container}` : ''}`;
  signal?.throwIfAborted();
  const { headers, tls } = await client.connectionOptions();

  return new Promise<ExecResult>((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const status: Buffer[] = [];
    let settled = false;
    const ws = new WebSocket(url, [...protocols], {
      ...tls,
      headers,
      perMessageDeflate: false,
      followRedirects: false,
      handshakeTimeout: timeoutMs,
    });
    const finish = (err: Error | undefined, result?: ExecResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (ws.readyState !== ws.CLOSED) ws.terminate();
      if (err) reject(err);
      else resolve(result as ExecResult);
    };
    const timer = setTimeout(() => finish(new Error(`${what}: timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => finish(signal?.reason instanceof Error ? signal.reason : new Error(`${what}: aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });

    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => undefined);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        finish(new ApiError(res.statusCode ?? 500, parseStatus(text), what));
      });
    });
    ws.on('error', (err) => finish(new Error(`${what}: ${err.message}`, { cause: err })));
    ws.on('open', () => {
      if (stdin === undefined) return;
      ws.send(Buffer.concat([Buffer.from([STDIN]), Buffer.from(stdin)]));
      if (ws.protocol === EXEC_PROTOCOLS[0]) ws.send(Buffer.from([CLOSE, STDIN]));
    });
    ws.on('message', (data: RawData) => {
      const message = toBuffer(data);
      if (message.length === 0) return;
      const body = message.subarray(1);
      if (message[0] === STDOUT) stdout.push(body);
      else if (message[0] === STDERR) stderr.push(body);
      else if (message[0] === STATUS) status.push(body);
    });
    ws.on('close', () => {
      const text = Buffer.concat(status).toString();
      if (!text) return finish(new Error(`${what}: the stream ended without a status`));
      let exitCode: number;
      try {
        exitCode = exitCodeOf(parseStatus(text), what);
      } catch (err) {
        return finish(err as Error);
      }
      finish(undefined, {
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        exitCode,
      });
    });
  });
}

/** The exit code a status-channel Status reports; other failures throw an ApiError. */
export function exitCodeOf(status: Status, context = 'exec'): number {
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  throw new ApiError(status.code ?? 500, status, context);
}

function parseStatus(text: string): Status {
  try {
    const parsed = JSON.parse(text) as Status;
    if (typeof parsed === 'object' && parsed !== null && (parsed.kind === 'Status' || parsed.status)) return parsed;
  } catch {
    // not JSON: a plain-text error, such as the kubelet's
  }
  return { message: text.trim().slice(0, 500) };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
