// The vocabulary of a scan, with diki's exact strings: check statuses in priority order, severities, targets.

export const statuses = ['Passed', 'Skipped', 'Accepted', 'Warning', 'Failed', 'Errored', 'Not Implemented'] as const;
export type Status = (typeof statuses)[number];

export const severities = ['Low', 'Medium', 'High'] as const;
export type Severity = (typeof severities)[number];

/** Position of a status in diki's ascending priority order (Passed lowest, Not Implemented highest). */
export function statusRank(status: Status): number {
  return statuses.indexOf(status);
}

export function isStatus(value: unknown): value is Status {
  return typeof value === 'string' && (statuses as readonly string[]).includes(value);
}

/** What a check looked at: kind, name, namespace, container, node, details... Flat string pairs, as in diki. */
export type Target = Record<string, string>;

export interface CheckResult {
  status: Status;
  message: string;
  target?: Target;
}

export interface RuleResult {
  id: string;
  name: string;
  severity?: Severity;
  checks: CheckResult[];
}

export interface RulesetResult {
  id: string;
  name: string;
  version: string;
  rules: RuleResult[];
}

export interface ProviderResult {
  id: string;
  name: string;
  metadata?: Record<string, string>;
  rulesets: RulesetResult[];
}

function check(status: Status) {
  return (message: string, target?: Target): CheckResult =>
    target && Object.keys(target).length > 0 ? { status, message, target } : { status, message };
}

export const passed = check('Passed');
export const skipped = check('Skipped');
export const accepted = check('Accepted');
export const warning = check('Warning');
export const failed = check('Failed');
export const errored = check('Errored');
export const notImplemented = check('Not Implemented');
