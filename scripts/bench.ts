// `./dev bench [--cold] [NAME...]`: runs the benchmark modules under bench/ (every one, or those whose
// name contains one of NAME), prints a table per benchmark and writes each report as JSON to
// bench/results/<name>-<timestamp>.json. Benchmarks measure; they never assert (tests do that).
import { globSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Benchmark, Report } from '../bench/lib/benchmark.ts';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')));
const names = args.filter((a) => !a.startsWith('--'));
if (process.env.ARGUS_BENCH_COLD === '1') flags.add('--cold');

// Ctrl-C and SIGTERM end through process.exit, so that the exit hooks of the testbed kill the control
// planes and remove their files (a plain signal death skips them).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping control planes\n`);
    process.exit(130);
  });
}

const files = globSync('bench/*.ts', { cwd: root })
  .sort()
  .filter((file) => names.length === 0 || names.some((n) => basename(file, '.ts').includes(n)));
if (files.length === 0) {
  process.stderr.write(`no benchmark under bench/ matches ${names.join(' ')}\n`);
  process.exit(2);
}

const resultsDir = join(root, 'bench', 'results');
const host = {
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryBytes: totalmem(),
};
let failed = 0;

for (const file of files) {
  const module = (await import(pathToFileURL(join(root, file)).href)) as { default?: Benchmark };
  const bench = module.default;
  if (!bench?.run) {
    process.stderr.write(`bench: ${file} has no default export with run(); skipped\n`);
    continue;
  }
  process.stderr.write(`bench: ${bench.name}: ${bench.description}\n`);
  const startedAt = new Date();
  const started = performance.now();
  let report: Report | undefined;
  let error: string | undefined;
  try {
    report = await bench.run({ flags, log: (line) => process.stderr.write(`bench: ${bench.name}: ${line}\n`) });
  } catch (err) {
    failed++;
    error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`bench: ${bench.name} failed: ${error}\n`);
  }
  const seconds = (performance.now() - started) / 1000;
  if (report) process.stdout.write(`${table(report)}\n`);
  mkdirSync(resultsDir, { recursive: true });
  const stamp = startedAt
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
  const out = join(resultsDir, `${bench.name}-${stamp}.json`);
  const result = {
    name: bench.name,
    description: bench.description,
    startedAt: startedAt.toISOString(),
    seconds,
    flags: [...flags],
    host,
    ...(report ?? {}),
    ...(error ? { error } : {}),
  };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`bench: ${bench.name} took ${seconds.toFixed(0)} s; wrote ${out.slice(root.length + 1)}\n`);
}
process.exit(failed ? 1 : 0);

function table(report: Report): string {
  const width = Math.max(26, ...report.sections.flatMap((s) => s.rows.map((r) => r.label.length))) + 2;
  const lines: string[] = [];
  for (const section of report.sections) {
    lines.push(section.title);
    for (const row of section.rows) lines.push(`  ${row.label.padEnd(width)}${row.text}`);
  }
  for (const note of report.notes ?? []) lines.push(`note: ${note}`);
  return lines.join('\n');
}
