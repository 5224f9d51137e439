// The one structured logger of Argus: JSON lines on stderr (pino), one child per component.
import { pino, type Logger } from 'pino';

export type { Logger };

const level = process.env.ARGUS_LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info');

export const rootLogger: Logger = pino(
  { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
  pino.destination({ dest: 2, sync: true }),
);

export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}

/** The message of anything thrown, for logs and CLI errors. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
