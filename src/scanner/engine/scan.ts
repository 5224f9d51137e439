// Runs resolved rulesets: rules of a ruleset run concurrently (bounded), each rule at most once, and nothing a
// rule does can crash the scan: a thrown error becomes an `Errored` check.
import { errorMessage, logger } from '../../util/log.ts';
import { ObjectReadError, type ObjectSource } from '../objects/source.ts';
import type { ResolvedConfig, ResolvedRuleset } from './config.ts';
import { accepted, errored, skipped, type CheckResult, type ProviderResult, type RuleResult } from './result.ts';
import type { LiveCluster, Rule } from './rule.ts';

const log = logger('scanner');

export type ScanEvent =
  { type: 'start'; rules: number } | { type: 'rule'; ruleset: string; rule: string; done: number; total: number };

export interface ScanOptions {
  objects: ObjectSource;
  live: LiveCluster | undefined;
  signal?: AbortSignal;
  /** Rules run at once per ruleset (diki runs 5). */
  concurrency?: number;
  onEvent?: (event: ScanEvent) => void;
}

export const OFFLINE_REASON = 'The rule needs a live cluster; offline scans read only manifests.';

export async function runScan(resolved: ResolvedConfig, options: ScanOptions): Promise<ProviderResult[]> {
  const signal = options.signal ?? new AbortController().signal;
  const total = resolved.providers.reduce((n, p) => n + p.rulesets.reduce((m, r) => m + r.version.rules.length, 0), 0);
  options.onEvent?.({ type: 'start', rules: total });
  let done = 0;
  const results: ProviderResult[] = [];
  for (const provider of resolved.providers) {
    const rulesets = [];
    for (const ruleset of provider.rulesets) {
      const rules = await runRuleset(ruleset, options, signal, (rule) => {
        done += 1;
        options.onEvent?.({ type: 'rule', ruleset: ruleset.definition.id, rule, done, total });
      });
      rulesets.push({ id: ruleset.definition.id, name: ruleset.name, version: ruleset.version.version, rules });
    }
    results.push({
      id: provider.definition.id,
      name: provider.name,
      ...(provider.metadata ? { metadata: provider.metadata } : {}),
      rulesets,
    });
  }
  return results;
}

async function runRuleset(
  ruleset: ResolvedRuleset,
  options: ScanOptions,
  signal: AbortSignal,
  onDone: (ruleId: string) => void,
): Promise<RuleResult[]> {
  const rules = ruleset.version.rules;
  const results: RuleResult[] = new Array<RuleResult>(rules.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rules.length) {
      signal.throwIfAborted();
      const index = next++;
      const rule = rules[index]!;
      const checks = await runRule(rule, ruleset, options, signal);
      results[index] = {
        id: rule.id,
        name: rule.name,
        ...(rule.severity ? { severity: rule.severity } : {}),
        checks,
      };
      onDone(rule.id);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 5, rules.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

async function runRule(
  rule: Rule,
  ruleset: ResolvedRuleset,
  options: ScanOptions,
  signal: AbortSignal,
): Promise<CheckResult[]> {
  const option = ruleset.ruleOptions.get(rule.id);
  if (option?.skip?.enabled) return [accepted(option.skip.justification || 'Rule is accepted.')];
  if (rule.skip !== undefined) return [skipped(rule.skip)];
  if (rule.live && !options.live) return [skipped(OFFLINE_REASON)];
  try {
    return await rule.run({
      objects: options.objects,
      live: options.live,
      options: option?.args,
      rulesetArgs: ruleset.args,
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof ObjectReadError) return [errored(err.message, { kind: `${err.kind}List` })];
    log.warn({ ruleset: ruleset.definition.id, rule: rule.id, err: errorMessage(err) }, 'rule errored');
    return [errored(errorMessage(err))];
  }
}
