// The scan report in diki's JSON format: providers -> rulesets -> rules -> checks, where checks of a rule with
// the same status and message are merged and their targets collected. Reports written by diki load here too.
import Type, { type Static } from 'typebox';
import { readFile } from 'node:fs/promises';
import { oneOf, parse, ValidationError } from '../../api/validation.ts';
import { severities, statuses, statusRank, type ProviderResult, type Status } from '../engine/result.ts';
import { version as argusVersion } from '../../util/version.ts';

const StatusSchema = oneOf(statuses);
const TargetSchema = Type.Record(Type.String(), Type.String());

const CheckSchema = Type.Object({
  status: StatusSchema,
  message: Type.String(),
  targets: Type.Optional(Type.Array(TargetSchema)),
});
const RuleSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  severity: Type.Optional(oneOf(severities)),
  checks: Type.Array(CheckSchema),
});
const RulesetSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  rules: Type.Array(RuleSchema),
});
const ProviderSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
  rulesets: Type.Array(RulesetSchema),
});
export const ReportSchema = Type.Object({
  time: Type.String(),
  minStatus: Type.Optional(StatusSchema),
  dikiVersion: Type.String(),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  providers: Type.Array(ProviderSchema),
});

export type Report = Static<typeof ReportSchema>;
export type ReportProvider = Static<typeof ProviderSchema>;
export type ReportRuleset = Static<typeof RulesetSchema>;
export type ReportRule = Static<typeof RuleSchema>;
export type ReportCheck = Static<typeof CheckSchema>;

export interface ReportOptions {
  minStatus?: Status | undefined;
  metadata?: Record<string, unknown> | undefined;
  time?: Date;
}

/** Builds a report from scan results: checks below minStatus dropped, equal status+message merged in order. */
export function buildReport(results: ProviderResult[], options: ReportOptions = {}): Report {
  const min = options.minStatus ? statusRank(options.minStatus) : 0;
  return {
    time: (options.time ?? new Date()).toISOString(),
    ...(options.minStatus ? { minStatus: options.minStatus } : {}),
    dikiVersion: argusVersion,
    ...(options.metadata && Object.keys(options.metadata).length > 0 ? { metadata: options.metadata } : {}),
    providers: results.map((provider) => ({
      id: provider.id,
      name: provider.name,
      ...(provider.metadata ? { metadata: provider.metadata } : {}),
      rulesets: provider.rulesets.map((ruleset) => ({
        id: ruleset.id,
        name: ruleset.name,
        version: ruleset.version,
        rules: ruleset.rules.map((rule) => {
          const merged = new Map<string, ReportCheck>();
          for (const check of rule.checks) {
            if (statusRank(check.status) < min) continue;
            const key = `${check.status}\0${check.message}`;
            let entry = merged.get(key);
            if (!entry) {
              entry = { status: check.status, message: check.message };
              merged.set(key, entry);
            }
            if (check.target && Object.keys(check.target).length > 0) (entry.targets ??= []).push(check.target);
          }
          return {
            id: rule.id,
            name: rule.name,
            ...(rule.severity ? { severity: rule.severity } : {}),
            checks: [...merged.values()],
          };
        }),
      })),
    })),
  };
}

/** Raises a report's minStatus, dropping checks below it; lowering it is a no-op (the checks are gone). */
export function withMinStatus(report: Report, minStatus: Status): Report {
  if (report.minStatus && statusRank(minStatus) <= statusRank(report.minStatus)) return report;
  const min = statusRank(minStatus);
  return {
    ...report,
    minStatus,
    providers: report.providers.map((p) => ({
      ...p,
      rulesets: p.rulesets.map((rs) => ({
        ...rs,
        rules: rs.rules.map((r) => ({ ...r, checks: r.checks.filter((c) => statusRank(c.status) >= min) })),
      })),
    })),
  };
}

/** Validates parsed JSON as a report; errors name the field. */
export function parseReport(value: unknown, source = 'report'): Report {
  return parse(ReportSchema, value, `${source} is not a scan report`);
}

export async function readReport(path: string): Promise<Report> {
  const text = await readFile(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${path} is not JSON`, [{ field: '', message: (err as Error).message }]);
  }
  return parseReport(value, path);
}

export type StatusCounts = Record<Status, number>;

export interface RulesetSummary {
  id: string;
  version: string;
  /** Rules that have at least one check of each status (diki's counting: a rule may count under several). */
  rules: StatusCounts;
  /** Checks (merged targets counted one by one) per status. */
  findings: StatusCounts;
  /** The rules with at least one check of the status. */
  failed: { id: string; name: string }[];
  errored: { id: string; name: string }[];
  warning: { id: string; name: string }[];
}

const zeroCounts = (): StatusCounts => Object.fromEntries(statuses.map((s) => [s, 0])) as StatusCounts;

export function summarizeRuleset(ruleset: ReportRuleset): RulesetSummary {
  const summary: RulesetSummary = {
    id: ruleset.id,
    version: ruleset.version,
    rules: zeroCounts(),
    findings: zeroCounts(),
    failed: [],
    errored: [],
    warning: [],
  };
  for (const rule of ruleset.rules) {
    const seen = new Set<Status>();
    for (const check of rule.checks) {
      summary.findings[check.status] += Math.max(1, check.targets?.length ?? 0);
      seen.add(check.status);
    }
    for (const status of seen) summary.rules[status] += 1;
    const ref = { id: rule.id, name: rule.name };
    if (seen.has('Failed')) summary.failed.push(ref);
    if (seen.has('Errored')) summary.errored.push(ref);
    if (seen.has('Warning')) summary.warning.push(ref);
  }
  return summary;
}

/** The highest status any check of the report has; drives `--fail-on`. */
export function worstStatus(report: Report): Status | undefined {
  let worst: Status | undefined;
  for (const p of report.providers)
    for (const rs of p.rulesets)
      for (const r of rs.rules)
        for (const c of r.checks) if (!worst || statusRank(c.status) > statusRank(worst)) worst = c.status;
  return worst;
}
