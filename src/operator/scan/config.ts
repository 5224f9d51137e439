// The scanner configuration of a scan's Job (diki format): per ruleset the options of the ConfigMaps the scan
// references on the target, merged over the operator's defaults (--default-options, itself a diki configuration):
// ruleset args key by key, rule options replaced per ruleID. Validated by the scanner's own resolveConfig
// before any Job exists, so a bad option fails the scan at once with its field path.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ComplianceScan, RulesetSelection } from '../../api/diki/compliancescan.ts';
import { defaultComplianceScanSpec } from '../../api/diki/validate.ts';
import { ValidationError } from '../../api/validation.ts';
import { isNotFound, type KubeClient } from '../../kube/client.ts';
import { Resources, type KubeObject } from '../../kube/resources.ts';
import {
  readConfigText,
  resolveConfig,
  type Catalog,
  type RuleOption,
  type RulesetConfig,
  type ScanConfig,
} from '../../scanner/engine/config.ts';

const PROVIDER = 'managedk8s';

/** The scan cannot run as configured; `reason` goes to the scan's Failed condition. */
export class ScanConfigError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'ScanConfigError';
    this.reason = reason;
  }
}

/** Reads and checks a --default-options file: a diki configuration whose first provider is managedk8s. */
export function loadDefaultOptions(path: string, catalog: Catalog): ScanConfig {
  const raw = readConfigText(readFileSync(path, 'utf8'), path);
  resolveConfig(raw, catalog, path);
  const config = raw as ScanConfig;
  if (config.providers.length !== 1 || config.providers[0]!.id !== PROVIDER) {
    throw new Error(`${path}: providers: expected exactly one provider, ${PROVIDER}`);
  }
  return config;
}

export interface ScannerConfigInput {
  scan: ComplianceScan;
  /** Reads the option ConfigMaps. */
  target: KubeClient;
  catalog: Catalog;
  defaults?: ScanConfig | undefined;
  /** Where the Job mounts the target's kubeconfig. */
  kubeconfigPath: string;
  /** The image of the scanner's ops pods (the operator's image unless the defaults name one). */
  opsPodImage: string;
}

/** The configuration the scan's Job runs; throws ScanConfigError for a missing ConfigMap or invalid options. */
export async function scannerConfig(input: ScannerConfigInput): Promise<ScanConfig> {
  const { scan, catalog, defaults } = input;
  const spec = defaultComplianceScanSpec(scan.spec, catalog);
  const defaultProvider = defaults?.providers[0];
  const rulesets: RulesetConfig[] = [];
  for (const [i, selection] of (spec.rulesets ?? []).entries()) {
    const base = defaultProvider?.rulesets.find(
      (r) => r.id === selection.id && (r.version === undefined || r.version === selection.version),
    );
    const args = await optionValue(input.target, selection, 'ruleset', `spec.rulesets[${i}]`);
    const rules = await optionValue(input.target, selection, 'rules', `spec.rulesets[${i}]`);
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      throw new ScanConfigError(
        'InvalidConfiguration',
        `spec.rulesets[${i}].options.ruleset: the ConfigMap value must be a YAML mapping of ruleset args`,
      );
    }
    if (rules !== undefined && !Array.isArray(rules)) {
      throw new ScanConfigError(
        'InvalidConfiguration',
        `spec.rulesets[${i}].options.rules: the ConfigMap value must be a YAML list of rule options`,
      );
    }
    const mergedArgs = mergeArgs(base?.args, args);
    const ruleOptions = mergeRuleOptions(base?.ruleOptions, rules as RuleOption[] | undefined);
    rulesets.push({
      id: selection.id,
      ...(selection.version ? { version: selection.version } : {}),
      ...(mergedArgs !== undefined ? { args: mergedArgs } : {}),
      ...(ruleOptions.length > 0 ? { ruleOptions } : {}),
    });
  }
  const providerArgs = {
    ...(isObject(defaultProvider?.args) ? defaultProvider.args : {}),
    kubeconfigPath: input.kubeconfigPath,
  } as Record<string, unknown>;
  providerArgs.opsPodImage ??= input.opsPodImage;
  const config: ScanConfig = {
    providers: [
      {
        id: PROVIDER,
        ...(defaultProvider?.name ? { name: defaultProvider.name } : {}),
        ...(defaultProvider?.metadata ? { metadata: defaultProvider.metadata } : {}),
        args: providerArgs,
        rulesets,
      },
    ],
    metadata: {
      ...defaults?.metadata,
      complianceScan: { name: scan.metadata?.name, uid: scan.metadata?.uid },
    },
    ...(defaults?.output ? { output: defaults.output } : {}),
  };
  try {
    resolveConfig(config, catalog, 'scanner configuration');
  } catch (err) {
    if (err instanceof ValidationError) {
      const fields = err.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
      throw new ScanConfigError('InvalidConfiguration', `the rule options do not validate: ${fields}`);
    }
    throw err;
  }
  return config;
}

/** The parsed value of a ruleset's `ruleset` or `rules` option ConfigMap key, or undefined when none is set. */
async function optionValue(
  target: KubeClient,
  selection: RulesetSelection,
  kind: 'ruleset' | 'rules',
  at: string,
): Promise<unknown> {
  const ref = selection.options?.[kind]?.configMapRef;
  if (!ref) return undefined;
  const namespace = ref.namespace ?? 'kube-system';
  const key = ref.key ?? (kind === 'ruleset' ? selection.id : `${selection.id}-rules`);
  const field = `${at}.options.${kind}.configMapRef`;
  let configMap: (KubeObject & { data?: Record<string, string> }) | undefined;
  try {
    configMap = await target.get(Resources.configMaps, ref.name, namespace);
  } catch (err) {
    if (isNotFound(err)) {
      throw new ScanConfigError('ConfigMapNotFound', `${field}: ConfigMap ${namespace}/${ref.name} not found`);
    }
    throw err;
  }
  const text = configMap.data?.[key];
  if (text === undefined) {
    throw new ScanConfigError(
      'ConfigMapKeyNotFound',
      `${field}.key: ConfigMap ${namespace}/${ref.name} has no key ${key}`,
    );
  }
  try {
    return parseYaml(text) ?? undefined;
  } catch (err) {
    throw new ScanConfigError(
      'InvalidConfiguration',
      `${field}: key ${key} of ConfigMap ${namespace}/${ref.name} is not valid YAML: ${(err as Error).message}`,
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Ruleset args: the user's keys over the defaults'. */
export function mergeArgs(defaults: unknown, user: unknown): unknown {
  if (user === undefined) return defaults;
  if (!isObject(defaults)) return user;
  return { ...defaults, ...(user as Record<string, unknown>) };
}

/** Rule options: the defaults', each replaced by the user's option for the same rule; the user's others added. */
export function mergeRuleOptions(defaults: RuleOption[] = [], user: RuleOption[] = []): RuleOption[] {
  const byRule = new Map<string, RuleOption>();
  for (const option of defaults) byRule.set(option.ruleID, option);
  for (const option of user) byRule.set(option?.ruleID, option);
  return [...byRule.values()];
}
