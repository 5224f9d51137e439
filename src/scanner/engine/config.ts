// The scanner's configuration file, in diki's format so configs move between the two:
//   providers: [{id, name, metadata, args, rulesets: [{id, name, version, args, ruleOptions: [{ruleID, skip, args}]}]}]
//   metadata: {...}
//   output: {minStatus}
// Validated once at start-up: every error names the path of the bad field.
import Type, { type Static, type TSchema } from 'typebox';
import { parse as parseYaml } from 'yaml';
import { oneOf, schemaErrors, ValidationError, type FieldError } from '../../api/validation.ts';
import { statuses } from './result.ts';
import type { Rule, RulesetDefinition, RulesetVersion } from './rule.ts';

const RuleOptionSchema = Type.Object(
  {
    ruleID: Type.String({ minLength: 1 }),
    skip: Type.Optional(
      Type.Object(
        { enabled: Type.Optional(Type.Boolean()), justification: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
    ),
    args: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

const RulesetConfigSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    name: Type.Optional(Type.String()),
    version: Type.Optional(Type.String()),
    args: Type.Optional(Type.Unknown()),
    ruleOptions: Type.Optional(Type.Array(RuleOptionSchema)),
  },
  { additionalProperties: false },
);

const ProviderConfigSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    name: Type.Optional(Type.String()),
    metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
    args: Type.Optional(Type.Unknown()),
    rulesets: Type.Array(RulesetConfigSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const ScanConfigSchema = Type.Object(
  {
    providers: Type.Array(ProviderConfigSchema, { minItems: 1 }),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    output: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(Type.String()),
          minStatus: Type.Optional(oneOf(statuses)),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ScanConfig = Static<typeof ScanConfigSchema>;
export type ProviderConfig = Static<typeof ProviderConfigSchema>;
export type RulesetConfig = Static<typeof RulesetConfigSchema>;
export type RuleOption = Static<typeof RuleOptionSchema>;

/** What a provider contributes to config validation. */
export interface ProviderDefinition {
  id: string;
  name: string;
  /** Schema of the provider's `args`. */
  args: TSchema;
}

export interface Catalog {
  providers: ProviderDefinition[];
  rulesets: RulesetDefinition[];
}

/** A ruleset resolved against the catalog: the version to run and each rule's validated option. */
export interface ResolvedRuleset {
  definition: RulesetDefinition;
  version: RulesetVersion;
  name: string;
  args: unknown;
  ruleOptions: Map<string, RuleOption>;
}

export interface ResolvedProvider {
  definition: ProviderDefinition;
  name: string;
  metadata: Record<string, string> | undefined;
  args: Record<string, unknown>;
  rulesets: ResolvedRuleset[];
}

export interface ResolvedConfig {
  config: ScanConfig;
  providers: ResolvedProvider[];
}

/** Parses YAML or JSON text; syntax errors carry the line. */
export function readConfigText(text: string, source: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ValidationError(`${source} is not valid YAML`, [{ field: '', message: (err as Error).message }]);
  }
}

/**
 * Validates a configuration against the catalog of providers and rulesets: structure, known providers,
 * rulesets and versions, provider and ruleset args, rule IDs and each rule's option args. Throws one
 * ValidationError listing every problem.
 */
export function resolveConfig(raw: unknown, catalog: Catalog, source = 'configuration'): ResolvedConfig {
  const structural = schemaErrors(ScanConfigSchema, raw);
  if (structural.length > 0) throw new ValidationError(`invalid ${source}`, structural);
  const config = raw as ScanConfig;
  const errors: FieldError[] = [];
  const providers: ResolvedProvider[] = [];

  config.providers.forEach((providerConfig, p) => {
    const path = `providers[${p}]`;
    const definition = catalog.providers.find((d) => d.id === providerConfig.id);
    if (!definition) {
      errors.push({
        field: `${path}.id`,
        message: `unknown provider "${providerConfig.id}" (known: ${catalog.providers.map((d) => d.id).join(', ')})`,
      });
      return;
    }
    const args = providerConfig.args ?? {};
    errors.push(...schemaErrors(definition.args, args, `${path}.args`));
    const rulesets: ResolvedRuleset[] = [];
    const seen = new Set<string>();
    providerConfig.rulesets.forEach((rulesetConfig, r) => {
      const rpath = `${path}.rulesets[${r}]`;
      const resolved = resolveRuleset(rulesetConfig, providerConfig.id, catalog, rpath, errors);
      if (!resolved) return;
      const key = `${resolved.definition.id}@${resolved.version.version}`;
      if (seen.has(key)) errors.push({ field: `${rpath}.id`, message: `duplicate ruleset ${key}` });
      seen.add(key);
      rulesets.push(resolved);
    });
    providers.push({
      definition,
      name: providerConfig.name ?? definition.name,
      metadata: providerConfig.metadata,
      args: args as Record<string, unknown>,
      rulesets,
    });
  });

  if (errors.length > 0) throw new ValidationError(`invalid ${source}`, errors);
  return { config, providers };
}

function resolveRuleset(
  config: RulesetConfig,
  providerId: string,
  catalog: Catalog,
  path: string,
  errors: FieldError[],
): ResolvedRuleset | undefined {
  const definition = catalog.rulesets.find((d) => d.id === config.id && d.providers.includes(providerId));
  if (!definition) {
    const known = catalog.rulesets.filter((d) => d.providers.includes(providerId)).map((d) => d.id);
    errors.push({
      field: `${path}.id`,
      message: `unknown ruleset "${config.id}" for provider ${providerId} (known: ${known.join(', ')})`,
    });
    return undefined;
  }
  const version = config.version
    ? definition.versions.find((v) => v.version === config.version)
    : definition.versions[0];
  if (!version) {
    errors.push({
      field: `${path}.version`,
      message: `unknown version "${config.version}" of ${definition.id} (known: ${definition.versions.map((v) => v.version).join(', ')})`,
    });
    return undefined;
  }
  const args = config.args ?? {};
  if (version.args) errors.push(...schemaErrors(version.args, args, `${path}.args`));
  else if (config.args !== undefined && !isEmptyObject(config.args))
    errors.push({ field: `${path}.args`, message: `${definition.id} ${version.version} takes no args` });

  const ruleOptions = new Map<string, RuleOption>();
  (config.ruleOptions ?? []).forEach((option, i) => {
    const opath = `${path}.ruleOptions[${i}]`;
    const rule: Rule | undefined = version.rules.find((candidate) => candidate.id === option.ruleID);
    if (!rule) {
      errors.push({
        field: `${opath}.ruleID`,
        message: `unknown rule "${option.ruleID}" in ${definition.id} ${version.version}`,
      });
      return;
    }
    if (ruleOptions.has(option.ruleID)) {
      errors.push({ field: `${opath}.ruleID`, message: `duplicate options for rule ${option.ruleID}` });
      return;
    }
    if (option.args !== undefined) {
      if (rule.options) {
        const schema = schemaErrors(rule.options, option.args, `${opath}.args`);
        errors.push(...schema);
        if (schema.length === 0 && rule.validate) errors.push(...rule.validate(option.args, `${opath}.args`));
      } else if (!isEmptyObject(option.args))
        errors.push({ field: `${opath}.args`, message: `rule ${rule.id} takes no args` });
    }
    ruleOptions.set(option.ruleID, option);
  });
  return { definition, version, name: config.name ?? definition.name, args, ruleOptions };
}

const isEmptyObject = (value: unknown): boolean =>
  value === null || (typeof value === 'object' && Object.keys(value).length === 0);

/** The configuration used when none is given: one provider with the chosen rulesets at their newest versions. */
export function defaultConfig(
  providerId: string,
  rulesets: { id: string; version?: string | undefined }[],
  args: Record<string, unknown> = {},
): ScanConfig {
  return {
    providers: [
      {
        id: providerId,
        args,
        rulesets: rulesets.map((r) => (r.version ? { id: r.id, version: r.version } : { id: r.id })),
      },
    ],
  };
}
