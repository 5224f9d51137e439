// What the report exporter writes to a ComplianceScan's status besides the outputs: one summary per ruleset of
// the report (`status.rulesets`, GEP-0063's shape) and the totals over them (`status.summary`). Pure.
import { scanSummary, type RulesetSummary, type ScanSummary } from '../api/diki/compliancescan.ts';
import { summarizeRuleset, type Report, type ReportRuleset } from '../scanner/report/report.ts';

/**
 * The status summary of one ruleset: rules by status, where a rule counts under every status one of its checks
 * has (diki's counting), and the rules with a failed, errored or warning check. `Not Implemented` has no
 * counter in the API. Lists are left out when empty.
 */
export function rulesetStatus(ruleset: ReportRuleset): RulesetSummary {
  const s = summarizeRuleset(ruleset);
  const rules: NonNullable<NonNullable<RulesetSummary['results']>['rules']> = {};
  if (s.failed.length > 0) rules.failed = s.failed;
  if (s.errored.length > 0) rules.errored = s.errored;
  if (s.warning.length > 0) rules.warning = s.warning;
  return {
    id: ruleset.id,
    version: ruleset.version,
    results: {
      summary: {
        passed: s.rules.Passed,
        failed: s.rules.Failed,
        warning: s.rules.Warning,
        errored: s.rules.Errored,
        skipped: s.rules.Skipped,
        accepted: s.rules.Accepted,
      },
      rules,
    },
  };
}

/** `status.rulesets` of a report: every ruleset of every provider, in report order. */
export function rulesetStatuses(report: Report): RulesetSummary[] {
  return report.providers.flatMap((provider) => provider.rulesets.map(rulesetStatus));
}

/** `status.rulesets` and `status.summary` of a report (ADR 0014: the summary accompanies the rulesets). */
export function reportStatus(report: Report): { rulesets: RulesetSummary[]; summary: ScanSummary } {
  const rulesets = rulesetStatuses(report);
  return { rulesets, summary: scanSummary(rulesets) };
}
