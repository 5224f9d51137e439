// Watch responses: one JSON object per line (`{"type":"ADDED","object":{...}}`) on a chunked response,
// as kube-apiserver streams them. ERROR events carry a Status; the stream ends when the store ends the
// watch, after `timeoutSeconds` (default: a random 30-60 minutes, as kube-apiserver's min-request-timeout),
// when the client goes away or when the server shuts down.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject, Watch, WatchEvent } from '../storage/types.ts';
import { failure } from './status.ts';

export interface WatchStreamOptions {
  /** How an object of an ADDED/MODIFIED/DELETED event is sent (the object, a Table, metadata only). */
  encode(object: KubeObject, first: boolean): unknown;
  /** How a BOOKMARK's object is sent. */
  encodeBookmark(object: KubeObject): unknown;
  timeoutSeconds?: number;
  contentType: string;
  /** Called once the stream is over. */
  onEnd?: () => void;
}

export const defaultWatchTimeoutSeconds = (): number => 1800 + Math.floor(Math.random() * 1800);

export function errorEventObject(event: Extract<WatchEvent, { type: 'ERROR' }>) {
  return failure(event.error.code, event.error.reason, event.error.message);
}

/**
 * Encoded lines of events whose object goes out as it is, shared by every watch the event reaches: the
 * store's change feed hands one parsed object to all of its watches, so it is serialised once, not once
 * per watch. Entries go with the object.
 */
const sharedLines = new WeakMap<KubeObject, Map<string, Buffer>>();

/** One line of the stream: `{"type":..., "object":...}` and a newline. */
export function eventLine(type: string, object: KubeObject, encoded: unknown): Buffer | string {
  if (encoded !== object) return `${JSON.stringify({ type, object: encoded })}\n`;
  let lines = sharedLines.get(object);
  if (!lines) sharedLines.set(object, (lines = new Map<string, Buffer>()));
  let line = lines.get(type);
  if (!line) lines.set(type, (line = Buffer.from(`${JSON.stringify({ type, object })}\n`)));
  return line;
}

/** Streams `watch` to `res` until it ends; resolves when the response is finished. */
export async function streamWatch(
  _req: IncomingMessage,
  res: ServerResponse,
  watch: Watch,
  options: WatchStreamOptions,
): Promise<void> {
  res.writeHead(200, {
    'content-type': options.contentType,
    'cache-control': 'no-cache, private',
    'transfer-encoding': 'chunked',
  });
  res.flushHeaders();
  // The response closes when the client goes away (the request's own 'close' only says its body was read).
  const close = (): void => watch.close();
  res.once('close', close);
  const timeout = setTimeout(close, (options.timeoutSeconds ?? defaultWatchTimeoutSeconds()) * 1000);
  timeout.unref();
  let first = true;
  try {
    for await (const event of watch) {
      if (res.destroyed) break;
      let line: Buffer | string;
      if (event.type === 'ERROR') line = `${JSON.stringify({ type: 'ERROR', object: errorEventObject(event) })}\n`;
      else if (event.type === 'BOOKMARK') {
        line = `${JSON.stringify({ type: 'BOOKMARK', object: options.encodeBookmark(event.object) })}\n`;
      } else {
        line = eventLine(event.type, event.object, options.encode(event.object, first));
        first = false;
      }
      if (!res.write(line)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
    }
  } finally {
    clearTimeout(timeout);
    res.off('close', close);
    watch.close();
    if (!res.writableEnded && !res.destroyed) res.end();
    options.onEnd?.();
  }
}
