// What a benchmark module under bench/ exports (as its default export) and the helpers they share.
// scripts/bench.ts runs the modules, prints their reports as tables and writes them to bench/results/.

export interface BenchContext {
  /** Command-line flags (`--cold`, ...) given to `./dev bench`. */
  flags: ReadonlySet<string>;
  /** Progress lines on stderr; the report itself is printed by the runner. */
  log: (line: string) => void;
}

export interface Row {
  label: string;
  /** The human-readable cell, e.g. "median 4.1 s  min 3.9 s  max 4.5 s". */
  text: string;
  /** The same numbers for the JSON result (seconds, events/s, bytes, ...). */
  values?: Record<string, unknown>;
}

export interface Section {
  title: string;
  rows: Row[];
}

export interface Report {
  sections: Section[];
  /** Anything worth keeping next to the table: versions, parameters, notes. */
  notes?: string[];
}

export interface Benchmark {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Report>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Seconds with one decimal below 100 s, whole seconds above: "4.1 s", "240 s". */
export const secs = (s: number): string => `${s < 100 ? s.toFixed(1) : s.toFixed(0)} s`;

export const ms = (s: number): string => `${Math.round(s * 1000) || 0} ms`;

/** A rate with thousands separators: "12,345". */
export const rate = (n: number): string => Math.round(n).toLocaleString('en-US');

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** Seconds since `started` (a performance.now() value). */
export const since = (started: number): number => (performance.now() - started) / 1000;

/** Rejects with a clear message when `promise` takes longer than `seconds`, so a benchmark stays bounded. */
export async function within<T>(what: string, seconds: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task` for each of `items` with at most `limit` in flight; the first failure rejects. */
export async function pool<I>(items: I[], limit: number, task: (item: I) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      try {
        await task(items[next++]!);
      } catch (err) {
        next = items.length; // the other workers stop after their current item
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Samples the resident set size of this process until stopped; returns the peak seen. */
export function rssSampler(intervalMs = 50): { peak(): number; stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), intervalMs);
  timer.unref();
  return {
    peak: () => Math.max(peak, process.memoryUsage.rss()),
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}
