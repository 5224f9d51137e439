// Rules and rulesets: how a check is declared. A rule reads objects from the scan's ObjectSource (shared by all
// rules), takes typed options validated at start-up, and returns check results; the engine handles skipping,
// acceptance of whole rules, offline mode and errors.
import type { Static, TSchema } from 'typebox';
import type { FieldError } from '../../api/validation.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { ObjectSource } from '../objects/source.ts';
import type { CheckResult, Severity } from './result.ts';
import type { ScanState } from './scan-state.ts';

/** What a live scan can do beyond reading objects; absent in offline (snapshot) scans. */
export interface LiveCluster {
  client: KubeClient;
  /** The provider's validated args (managedk8s: the ops pods' image, namespace and extra labels). */
  providerArgs?: Record<string, unknown>;
  /**
   * What rules share for the whole scan beyond object lists (kubelet configurations, ops pods), disposed when
   * the scan ends. Without it each rule keeps such state to itself and disposes it when it returns.
   */
  state?: ScanState;
}

export interface RuleContext<Options = unknown, RulesetArgs = unknown> {
  objects: ObjectSource;
  /** Present only when scanning a cluster's API; rules marked `live` never run without it. */
  live: LiveCluster | undefined;
  /** The rule's `ruleOptions[].args`, validated against its schema; undefined when none were given. */
  options: Options | undefined;
  /** The ruleset's `args` (e.g. `maxRetries`), validated against the ruleset version's schema. */
  rulesetArgs: RulesetArgs;
  signal: AbortSignal;
}

export interface Rule {
  id: string;
  name: string;
  severity?: Severity;
  /** Schema of `ruleOptions[].args`; a rule without one accepts no args. */
  options?: TSchema;
  /** Checks of the args beyond their schema (fields that come in pairs...), run after the schema passed. */
  validate?: (options: unknown, path: string) => FieldError[];
  /**
   * Why this rule never runs in this ruleset version (not applicable to the provider, organisational,
   * removed feature...): it reports one `Skipped` check with this text.
   */
  skip?: string;
  /** The rule needs the cluster's API beyond object lists (configz, exec, requests); offline it is Skipped. */
  live?: boolean;
  run(ctx: RuleContext): Promise<CheckResult[]> | CheckResult[];
}

export interface RuleSpec<S extends TSchema | undefined, A> {
  id: string;
  name: string;
  severity?: Severity;
  options?: S;
  validate?: (options: S extends TSchema ? Static<S> : never, path: string) => FieldError[];
  live?: boolean;
  run(ctx: RuleContext<S extends TSchema ? Static<S> : never, A>): Promise<CheckResult[]> | CheckResult[];
}

/** Declares a rule with options typed from its schema. */
export function defineRule<S extends TSchema | undefined = undefined, A = unknown>(spec: RuleSpec<S, A>): Rule {
  return spec as unknown as Rule;
}

/** A rule diki registers but nobody implemented for this provider yet: `Not Implemented`. */
export function notImplementedRule(id: string, name: string, severity?: Severity): Rule {
  return {
    id,
    name,
    ...(severity ? { severity } : {}),
    run: () => [{ status: 'Not Implemented', message: 'Rule is not implemented.' }],
  };
}

/** A rule that never runs here and says why (diki's skip rules). */
export function skipRule(id: string, name: string, severity: Severity | undefined, reason: string): Rule {
  return { id, name, ...(severity ? { severity } : {}), skip: reason, run: () => [] };
}

export interface RulesetVersion {
  version: string;
  rules: Rule[];
  /** Schema of the ruleset's `args`; defaults to none. */
  args?: TSchema;
}

export interface RulesetDefinition {
  id: string;
  name: string;
  /** Providers this ruleset runs on. */
  providers: string[];
  /** Newest first; the first is the default version. */
  versions: RulesetVersion[];
}
