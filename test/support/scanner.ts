// Helpers for scanner tests: scan a testbed control plane (or a snapshot) with chosen rulesets and options, and
// find the status a rule gave to one object. Tests share a control plane, so they look up checks by target
// (their own namespace or uniquely named cluster objects) rather than counting whole-rule results.
import type { RuleOption, ScanConfig } from '../../src/scanner/engine/config.ts';
import type { Status, Target } from '../../src/scanner/engine/result.ts';
import type { Report, ReportCheck } from '../../src/scanner/report/report.ts';
import { scan } from '../../src/scanner/scanner.ts';
import type { ControlPlane } from '../testbed/controlplane.ts';

export interface RulesetChoice {
  id: string;
  version?: string;
  ruleOptions?: RuleOption[];
  args?: unknown;
}

export function scanConfig(rulesets: RulesetChoice[]): ScanConfig {
  return {
    providers: [
      {
        id: 'managedk8s',
        rulesets: rulesets.map((r) => ({
          id: r.id,
          ...(r.version ? { version: r.version } : {}),
          ...(r.ruleOptions ? { ruleOptions: r.ruleOptions } : {}),
          ...(r.args !== undefined ? { args: r.args } : {}),
        })),
      },
    ],
  };
}

/** Scans the control plane live, or the snapshot at `snapshot` when given. */
export async function scanTestbed(
  cp: ControlPlane | undefined,
  rulesets: RulesetChoice[],
  options: { snapshot?: string; kubeconfig?: string } = {},
): Promise<Report> {
  return scan({
    config: scanConfig(rulesets),
    ...(options.snapshot ? { snapshot: options.snapshot } : { kubeconfig: options.kubeconfig ?? cp?.kubeconfigPath }),
  });
}

/** The checks of one rule (first ruleset that has it, or the named one). */
export function ruleChecks(report: Report, ruleId: string, rulesetId?: string): ReportCheck[] {
  for (const provider of report.providers)
    for (const ruleset of provider.rulesets) {
      if (rulesetId && ruleset.id !== rulesetId) continue;
      const rule = ruleset.rules.find((r) => r.id === ruleId);
      if (rule) return rule.checks;
    }
  throw new Error(`rule ${ruleId} is not in the report`);
}

const matches = (target: Target, wanted: Partial<Target>): boolean =>
  Object.entries(wanted).every(([k, v]) => target[k] === v);

/** Every (status, message) a rule reported for targets matching `wanted` (e.g. {namespace: ns, name: 'web'}). */
export function findingsFor(
  report: Report,
  ruleId: string,
  wanted: Partial<Target>,
  rulesetId?: string,
): { status: Status; message: string; target: Target }[] {
  const found = [];
  for (const check of ruleChecks(report, ruleId, rulesetId))
    for (const target of check.targets ?? [])
      if (matches(target, wanted)) found.push({ status: check.status, message: check.message, target });
  return found;
}

/** The distinct statuses a rule gave to targets matching `wanted`, sorted. */
export function statusesFor(report: Report, ruleId: string, wanted: Partial<Target>, rulesetId?: string): Status[] {
  return [...new Set(findingsFor(report, ruleId, wanted, rulesetId).map((f) => f.status))].sort();
}
