// `argus scan`: run compliance rulesets against a cluster (or a snapshot of one) and write reports.
import { readFile, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { ValidationError } from '../api/validation.ts';
import { catalog } from '../scanner/catalog.ts';
import { defaultConfig, readConfigText, type ScanConfig } from '../scanner/engine/config.ts';
import { statuses, statusRank, type Status } from '../scanner/engine/result.ts';
import { SnapshotError } from '../scanner/objects/snapshot.ts';
import { outputFormats } from '../scanner/report/formats.ts';
import { summarizeRuleset, worstStatus, type Report } from '../scanner/report/report.ts';
import type { ScanEvent } from '../scanner/engine/scan.ts';
import { ClusterUnreachableError, KubeconfigError, scan } from '../scanner/scanner.ts';
import { errorMessage } from '../util/log.ts';

/** Exit codes, for CI gates. */
export const ExitCode = { ok: 0, failOn: 1, usage: 2, unreachable: 3 } as const;

interface ScanFlags {
  kubeconfig?: string;
  context?: string;
  snapshot?: string;
  config?: string;
  ruleset: string[];
  output: string[];
  minStatus?: string;
  failOn?: string;
  metadata: string[];
  progress?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerScan(program: Command): void {
  const formats = Object.keys(outputFormats).join(', ');
  program
    .command('scan')
    .description('run compliance rulesets against a cluster or a snapshot of one and write reports')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option('--snapshot <path>', 'scan offline: a directory of manifests or a `kubectl get -o yaml` dump')
    .option('--config <file>', 'scanner configuration in diki format (providers, rulesets, ruleOptions)')
    .option(
      '--ruleset <id[@version]>',
      'ruleset to run, repeatable (default: all at their newest version)',
      collect,
      [],
    )
    .option('--output <format=path>', `write a report, repeatable; formats: ${formats}; path - is stdout`, collect, [])
    .addOption(new Option('--min-status <status>', 'leave checks below this status out of reports').choices(statuses))
    .addOption(
      new Option('--fail-on <status>', 'exit 1 when a check has this status or a higher one').choices(statuses),
    )
    .option('--metadata <key=value>', 'report metadata, repeatable (e.g. cluster=prod-eu1)', collect, [])
    .option('--no-progress', 'no progress line even on a terminal')
    .addHelpText(
      'after',
      `
Rulesets: ${catalog.rulesets.map((r) => `${r.id} (${r.versions.map((v) => v.version).join(', ')})`).join('; ')}

Exit codes: 0 scan done, 1 a check reached --fail-on, 2 bad flags or configuration, 3 cluster unreachable.

Examples:
  argus scan --context prod --output html=report.html --output json=report.json
  argus scan --ruleset disa-kubernetes-stig@v2r5 --fail-on Failed        # CI gate
  argus scan --config scan.yaml --output sarif=argus.sarif --min-status Warning
  kubectl get all,ns,netpol,sc,roles,clusterroles -A -o yaml > dump.yaml
  argus scan --snapshot dump.yaml --ruleset security-hardened-k8s --output junit=-`,
    )
    .action(async (flags: ScanFlags) => {
      process.exitCode = await runScanCommand(flags);
    });
}

async function runScanCommand(flags: ScanFlags): Promise<number> {
  let config: ScanConfig;
  let outputs: { format: keyof typeof outputFormats; path: string }[];
  try {
    outputs = flags.output.map(parseOutput);
    config = flags.config ? await configFromFile(flags.config, flags.ruleset) : configFromFlags(flags.ruleset);
  } catch (err) {
    return usage(err);
  }
  const metadata: Record<string, string> = {};
  for (const pair of flags.metadata) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return usage(new Error(`--metadata ${pair}: expected key=value`));
    metadata[pair.slice(0, eq)] = pair.slice(eq + 1);
  }

  const progress = flags.progress !== false && process.stderr.isTTY ? new Progress() : undefined;
  const abort = new AbortController();
  const onSignal = (): void => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  let report: Report;
  try {
    report = await scan({
      config,
      configSource: flags.config ?? 'configuration',
      snapshot: flags.snapshot,
      kubeconfig: flags.kubeconfig,
      context: flags.context,
      minStatus: flags.minStatus as Status | undefined,
      metadata,
      signal: abort.signal,
      ...(progress ? { onEvent: (e) => progress.event(e), onRead: (r) => progress.read(r.kind, r.objects) } : {}),
    });
  } catch (err) {
    progress?.clear();
    if (err instanceof ClusterUnreachableError) {
      process.stderr.write(`argus scan: ${err.message}\n`);
      return ExitCode.unreachable;
    }
    if (err instanceof ValidationError || err instanceof SnapshotError || err instanceof KubeconfigError)
      return usage(err);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
  }
  progress?.clear();

  for (const { format, path } of outputs) {
    const text = outputFormats[format].render(report);
    if (path === '-') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    else await writeFile(path, text, { mode: 0o600 });
  }
  if (!outputs.some((o) => o.path === '-')) process.stdout.write(textSummary(report));

  if (flags.failOn) {
    const worst = worstStatus(report);
    if (worst && statusRank(worst) >= statusRank(flags.failOn as Status)) return ExitCode.failOn;
  }
  return ExitCode.ok;
}

function usage(err: unknown): number {
  process.stderr.write(`argus scan: ${errorMessage(err)}\n`);
  return ExitCode.usage;
}

function parseOutput(spec: string): { format: keyof typeof outputFormats; path: string } {
  const eq = spec.indexOf('=');
  const format = eq < 0 ? spec : spec.slice(0, eq);
  const path = eq < 0 ? '-' : spec.slice(eq + 1);
  if (!Object.hasOwn(outputFormats, format))
    throw new Error(`--output ${spec}: unknown format "${format}" (known: ${Object.keys(outputFormats).join(', ')})`);
  if (!path) throw new Error(`--output ${spec}: missing path after "="`);
  return { format: format as keyof typeof outputFormats, path };
}

function parseRulesetFlag(flag: string): { id: string; version?: string } {
  const [id = '', version] = flag.split('@');
  const definition = catalog.rulesets.find((r) => r.id === id);
  if (!definition)
    throw new Error(`--ruleset ${flag}: unknown ruleset (known: ${catalog.rulesets.map((r) => r.id).join(', ')})`);
  if (version !== undefined && !definition.versions.some((v) => v.version === version))
    throw new Error(
      `--ruleset ${flag}: unknown version (known: ${definition.versions.map((v) => v.version).join(', ')})`,
    );
  return version === undefined ? { id } : { id, version };
}

function configFromFlags(rulesetFlags: string[]): ScanConfig {
  const rulesets =
    rulesetFlags.length > 0 ? rulesetFlags.map(parseRulesetFlag) : catalog.rulesets.map((r) => ({ id: r.id }));
  return defaultConfig('managedk8s', rulesets);
}

/** A config file, optionally narrowed to the rulesets named by --ruleset. */
async function configFromFile(path: string, rulesetFlags: string[]): Promise<ScanConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read --config ${path}: ${errorMessage(err)}`, { cause: err });
  }
  const config = readConfigText(text, path) as ScanConfig;
  if (rulesetFlags.length === 0 || !Array.isArray(config?.providers)) return config;
  const wanted = rulesetFlags.map(parseRulesetFlag);
  for (const provider of config.providers) {
    if (!Array.isArray(provider.rulesets)) continue;
    provider.rulesets = provider.rulesets.filter((r) =>
      wanted.some((w) => w.id === r.id && (w.version === undefined || w.version === r.version)),
    );
  }
  return config;
}

function textSummary(report: Report): string {
  const lines: string[] = [];
  for (const provider of report.providers) {
    for (const ruleset of provider.rulesets) {
      const summary = summarizeRuleset(ruleset);
      const counts = statuses
        .filter((s) => summary.rules[s] > 0)
        .map((s) => `${summary.rules[s]} ${s}`)
        .join(', ');
      lines.push(`${ruleset.id} ${ruleset.version}: ${ruleset.rules.length} rules: ${counts || 'no checks'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One updating line on a terminal: rules done of total, objects read. */
class Progress {
  #rules = { done: 0, total: 0 };
  #objects = new Map<string, number>();
  #last = 0;

  event(e: ScanEvent): void {
    if (e.type === 'start') this.#rules.total = e.rules;
    else this.#rules = { done: e.done, total: e.total };
    this.#draw(e.type === 'rule' && e.done === e.total);
  }

  read(kind: string, objects: number): void {
    this.#objects.set(kind, objects);
    this.#draw(false);
  }

  #draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    const objects = [...this.#objects.values()].reduce((a, b) => a + b, 0);
    process.stderr.write(
      `\r\x1b[2Kscanning: ${this.#rules.done}/${this.#rules.total} rules, ${objects.toLocaleString('en')} objects read`,
    );
  }

  clear(): void {
    process.stderr.write('\r\x1b[2K');
  }
}
