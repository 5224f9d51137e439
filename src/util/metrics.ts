// The one Prometheus registry of a process. Every component registers its metrics here so that
// `/metrics` of any role shows them all; metric objects are created once per name (get-or-create),
// so several controllers in one process share the same families with different labels.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

function getOrCreate<T>(name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return getOrCreate(name, () => new Counter({ name, help, labelNames, registers: [registry] }));
}

export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  return getOrCreate(name, () => new Gauge({ name, help, labelNames, registers: [registry] }));
}

export function histogram<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): Histogram<L> {
  return getOrCreate(name, () => new Histogram({ name, help, labelNames, buckets, registers: [registry] }));
}

/** Exponential buckets from `start`, each `factor` times the previous, `count` in all. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}
