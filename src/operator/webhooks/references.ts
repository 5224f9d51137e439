// What the validating webhook checks in the target cluster: the option ConfigMaps a scan (or a scheduled scan's
// template) names exist and hold their keys, its ReportOutputs exist, and no two reports-API ReportOutputs write
// reports of the same names. Direct GETs with a short timeout: admission is rare, and a cache would make the
// answer depend on how far a watch has come.
import {
  DEFAULT_REPORTS_API_NAME_PREFIX,
  DIKI_GROUP,
  DIKI_VERSION,
  REPORTS_API_VERSIONS,
  type ComplianceScanSpec,
  type ReportOutput,
} from '../../api/diki/index.ts';
import type { FieldError } from '../../api/validation.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isNotFound } from '../../kube/client.ts';
import { Resources, type KubeList, type ResourceType } from '../../kube/resources.ts';

/** Namespace of an option ConfigMap reference without one (the schema's default). */
export const DEFAULT_OPTIONS_NAMESPACE = 'kube-system';

export const reportOutputResource: ResourceType = {
  group: DIKI_GROUP,
  version: DIKI_VERSION,
  resource: 'reportoutputs',
  kind: 'ReportOutput',
  namespaced: false,
};

interface ConfigMapData {
  data?: Record<string, string>;
}

/** Reads of the target cluster the checks need; undefined means "does not exist", a throw "cannot tell". */
export interface ReferenceLookup {
  configMap(namespace: string, name: string): Promise<ConfigMapData | undefined>;
  reportOutput(name: string): Promise<ReportOutput | undefined>;
  reportOutputs(): Promise<ReportOutput[]>;
}

/** Lookups through `client` (the target cluster), each request bounded by `timeoutMs`. */
export function clientLookup(client: KubeClient, timeoutMs = 3_000): ReferenceLookup {
  const get = async <T>(rt: ResourceType, name: string, namespace?: string): Promise<T | undefined> => {
    try {
      return await client.request<T>('GET', client.path(rt, { namespace, name }), { timeoutMs });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    configMap: (namespace, name) => get<ConfigMapData>(Resources.configMaps, name, namespace),
    reportOutput: (name) => get<ReportOutput>(reportOutputResource, name),
    reportOutputs: async () =>
      (await client.request<KubeList<ReportOutput>>('GET', client.path(reportOutputResource), { timeoutMs })).items,
  };
}

/** `lookup` with each answer kept (for one admission request: a ConfigMap named twice is read once). */
export function cachedLookup(lookup: ReferenceLookup): ReferenceLookup {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) cache.set(key, (p = read()));
    return p;
  };
  return {
    configMap: (namespace, name) => once(`cm/${namespace}/${name}`, () => lookup.configMap(namespace, name)),
    reportOutput: (name) => once(`ro/${name}`, () => lookup.reportOutput(name)),
    reportOutputs: () => once('ro', () => lookup.reportOutputs()),
  };
}

const q = (value: unknown): string => JSON.stringify(value);

/**
 * The references of a ComplianceScan spec (at `base`: `spec` or `spec.scanTemplate.spec`) that do not resolve.
 * References whose fields already have an error in `known` are not looked up.
 */
export async function referenceErrors(
  spec: ComplianceScanSpec | undefined,
  lookup: ReferenceLookup,
  base = 'spec',
  known: readonly FieldError[] = [],
): Promise<FieldError[]> {
  const flagged = (path: string): boolean => known.some((e) => e.field === path || e.field.startsWith(`${path}.`));
  const checks: Promise<FieldError | undefined>[] = [];
  (spec?.rulesets ?? []).forEach((ruleset, i) => {
    for (const [kind, defaultKey] of [
      ['ruleset', ruleset.id],
      ['rules', `${ruleset.id}-rules`],
    ] as const) {
      const ref = ruleset.options?.[kind]?.configMapRef;
      const at = `${base}.rulesets[${i}].options.${kind}.configMapRef`;
      if (!ref || flagged(at)) continue;
      const namespace = ref.namespace || DEFAULT_OPTIONS_NAMESPACE;
      const key = ref.key || defaultKey;
      checks.push(
        lookup.configMap(namespace, ref.name).then((configMap): FieldError | undefined => {
          if (!configMap) {
            return {
              field: `${at}.name`,
              message: `Not found: ${q(ref.name)}: ConfigMap ${namespace}/${ref.name} does not exist`,
            };
          }
          // Options are YAML text: only `data` counts.
          if (configMap.data?.[key] === undefined) {
            return {
              field: `${at}.key`,
              message: `Not found: ${q(key)}: ConfigMap ${namespace}/${ref.name} has no such key`,
            };
          }
          return undefined;
        }),
      );
    }
  });
  (spec?.outputs ?? []).forEach((output, i) => {
    const at = `${base}.outputs[${i}].name`;
    if (flagged(at)) return;
    checks.push(
      lookup
        .reportOutput(output.name)
        .then((found): FieldError | undefined =>
          found
            ? undefined
            : { field: at, message: `Not found: ${q(output.name)}: ReportOutput ${output.name} does not exist` },
        ),
    );
  });
  return (await Promise.all(checks)).filter((e) => e !== undefined);
}

/** The reports-API name prefix and report type of a ReportOutput, with the schema's defaults; undefined for others. */
function reportsAPITarget(output: ReportOutput): { namePrefix: string; apiVersion: string } | undefined {
  const reportsAPI = output.spec?.output?.reportsAPI;
  if (!reportsAPI) return undefined;
  return {
    namePrefix: reportsAPI.namePrefix ?? DEFAULT_REPORTS_API_NAME_PREFIX,
    apiVersion: reportsAPI.apiVersion ?? REPORTS_API_VERSIONS[0],
  };
}

/**
 * A reports-API ReportOutput whose reports (same report type and name prefix) another ReportOutput already
 * writes: both would overwrite each other's reports. (Two creates at the same moment can both pass.)
 */
export async function reportsAPIConflictErrors(output: ReportOutput, lookup: ReferenceLookup): Promise<FieldError[]> {
  const target = reportsAPITarget(output);
  if (!target) return [];
  const name = output.metadata?.name;
  const other = (await lookup.reportOutputs()).find((o) => {
    if (o.metadata?.name === name) return false;
    const t = reportsAPITarget(o);
    return t?.namePrefix === target.namePrefix && t.apiVersion === target.apiVersion;
  });
  if (!other) return [];
  return [
    {
      field: 'spec.output.reportsAPI.namePrefix',
      message:
        `Duplicate value: ${q(target.namePrefix)}: ReportOutput ${q(other.metadata?.name)} already writes ` +
        `${target.apiVersion} reports with this name prefix`,
    },
  ];
}
