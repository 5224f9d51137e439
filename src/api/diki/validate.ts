// What the operator's admission webhooks check of the diki types beyond what kube-apiserver checks with the CRD
// schema, and their defaulting. Every error names its field as Kubernetes does (`spec.rulesets[0].version`).
// The scanner's catalog and the Argus version come in as arguments: src/api is a ground and imports no wing.
import { isDeepStrictEqual } from 'node:util';
import Value from 'typebox/value';
import { dns1123LabelErrors, dns1123SubdomainErrors, validateObjectMeta } from '../meta.ts';
import { schemaErrors, type FieldError } from '../validation.ts';
import {
  ComplianceScanSchema,
  type ComplianceScan,
  type ComplianceScanSpec,
  type RulesetSelection,
} from './compliancescan.ts';
import { OUTPUT_TYPES, ReportOutputSchema, type Output, type ReportOutput } from './reportoutput.ts';
import {
  ScheduledComplianceScanSchema,
  type ScheduledComplianceScan,
  type ScheduledComplianceScanSpec,
} from './scheduledcompliancescan.ts';
import { scheduleProblem, shortestIntervalSeconds, timeZoneProblem } from './schedule.ts';

/** What the scanner provides: ruleset ids and their versions, newest first (src/scanner/catalog.ts fits). */
export interface RulesetCatalog {
  rulesets: readonly { id: string; versions: readonly { version: string }[] }[];
}

export interface DikiValidationContext {
  catalog: RulesetCatalog;
  /** The Argus version of this image (package.json), which is the scanner version `spec.dikiVersion` names. */
  argusVersion: string;
  /** "Now", for the interval between scheduled times; default the current time. */
  now?: Date;
}

const q = (value: unknown): string => JSON.stringify(value);
const invalid = (field: string, value: unknown, why: string): FieldError => ({
  field,
  message: `Invalid value: ${q(value)}: ${why}`,
});
const unsupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  field,
  message: `Unsupported value: ${q(value)}: supported values: ${supported.map(q).join(', ')}`,
});

// --- dikiVersion -----------------------------------------------------------------------------------------------

/** The `spec.dikiVersion` values this image runs: its Argus version and that version's minor, e.g. 0.1.0 and 0.1. */
export function supportedDikiVersions(argusVersion: string): string[] {
  const [major, minor] = argusVersion.split(/[.+-]/);
  return [...new Set([argusVersion, `${major}.${minor}`])];
}

/** Whether `dikiVersion` (with or without a leading `v`) names the scanner of this image. */
export function dikiVersionSupported(dikiVersion: string, argusVersion: string): boolean {
  return supportedDikiVersions(argusVersion).includes(dikiVersion.replace(/^v/, ''));
}

// --- ComplianceScan --------------------------------------------------------------------------------------------

/** A ConfigMap key (`[-._a-zA-Z0-9]+`, at most 253 characters). */
const configMapKeyRe = /^[-._a-zA-Z0-9]+$/;

/** The checks of a ComplianceScan spec (also a ScheduledComplianceScan's template) beyond the schema. */
export function complianceScanSpecErrors(
  spec: ComplianceScanSpec | undefined,
  context: DikiValidationContext,
  base = 'spec',
): FieldError[] {
  const errors: FieldError[] = [];
  if (!spec) return errors;
  if (spec.dikiVersion !== undefined && spec.dikiVersion !== '') {
    if (!dikiVersionSupported(spec.dikiVersion, context.argusVersion)) {
      errors.push({
        field: `${base}.dikiVersion`,
        message:
          `Unsupported value: ${q(spec.dikiVersion)}: this operator runs argus ${context.argusVersion}; supported ` +
          `values: ${supportedDikiVersions(context.argusVersion).map(q).join(', ')} (a leading v is allowed) or empty`,
      });
    }
  }
  const known = context.catalog.rulesets;
  const seen = new Set<string>();
  (spec.rulesets ?? []).forEach((ruleset, i) => {
    const at = `${base}.rulesets[${i}]`;
    const definition = known.find((r) => r.id === ruleset.id);
    if (!definition) {
      errors.push(
        unsupported(
          `${at}.id`,
          ruleset.id,
          known.map((r) => r.id),
        ),
      );
    } else if (ruleset.version !== undefined && !definition.versions.some((v) => v.version === ruleset.version)) {
      errors.push(
        unsupported(
          `${at}.version`,
          ruleset.version,
          definition.versions.map((v) => v.version),
        ),
      );
    }
    const key = `${ruleset.id}@${ruleset.version ?? definition?.versions[0]?.version ?? ''}`;
    if (seen.has(key)) errors.push({ field: at, message: `Duplicate value: ${q(key)}` });
    seen.add(key);
    for (const kind of ['ruleset', 'rules'] as const) {
      const ref = ruleset.options?.[kind]?.configMapRef;
      if (!ref) continue;
      const refAt = `${at}.options.${kind}.configMapRef`;
      for (const e of dns1123SubdomainErrors(ref.name)) errors.push(invalid(`${refAt}.name`, ref.name, e));
      if (ref.namespace !== undefined) {
        for (const e of dns1123LabelErrors(ref.namespace)) errors.push(invalid(`${refAt}.namespace`, ref.namespace, e));
      }
      if (ref.key !== undefined && (ref.key.length > 253 || !configMapKeyRe.test(ref.key))) {
        errors.push(
          invalid(
            `${refAt}.key`,
            ref.key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
          ),
        );
      }
    }
  });
  const outputs = new Set<string>();
  (spec.outputs ?? []).forEach((output, i) => {
    const at = `${base}.outputs[${i}].name`;
    for (const e of dns1123SubdomainErrors(output.name)) errors.push(invalid(at, output.name, e));
    if (outputs.has(output.name)) errors.push({ field: at, message: `Duplicate value: ${q(output.name)}` });
    outputs.add(output.name);
  });
  return errors;
}

/** Schema, metadata and spec checks of a ComplianceScan on create. */
export function validateComplianceScan(object: unknown, context: DikiValidationContext): FieldError[] {
  const errors = objectErrors(ComplianceScanSchema, object, 'ComplianceScan');
  if (errors.length > 0) return errors;
  return complianceScanSpecErrors((object as ComplianceScan).spec, context);
}

/** On update: everything of create, and an unchanged spec. */
export function validateComplianceScanUpdate(
  oldObject: ComplianceScan,
  object: unknown,
  context: DikiValidationContext,
): FieldError[] {
  const errors = validateComplianceScan(object, context);
  if (!isDeepStrictEqual(oldObject.spec ?? {}, (object as ComplianceScan).spec ?? {})) errors.push(immutableSpec());
  return errors;
}

// --- ScheduledComplianceScan -----------------------------------------------------------------------------------

/** Longest name: children are `<name>-<unix seconds>` and carry the name as a label value (63 characters). */
export const MAX_SCHEDULED_SCAN_NAME_LENGTH = 63;

export function scheduledComplianceScanSpecErrors(
  spec: ScheduledComplianceScanSpec | undefined,
  context: DikiValidationContext,
): FieldError[] {
  const errors: FieldError[] = [];
  if (!spec) return errors;
  let scheduleValid = false;
  if (spec.schedule !== undefined) {
    const problem = scheduleProblem(spec.schedule);
    if (problem) errors.push(invalid('spec.schedule', spec.schedule, problem));
    else scheduleValid = true;
  }
  let zoneValid = true;
  if (spec.timeZone !== undefined) {
    const problem = timeZoneProblem(spec.timeZone);
    if (problem) {
      zoneValid = false;
      errors.push(invalid('spec.timeZone', spec.timeZone, problem));
    }
  }
  if (scheduleValid && zoneValid && spec.schedule !== undefined && (spec.maxJitterSeconds ?? 0) > 0) {
    const interval = shortestIntervalSeconds(spec.schedule, spec.timeZone, context.now ?? new Date());
    if (interval !== undefined && spec.maxJitterSeconds! >= interval) {
      errors.push(
        invalid(
          'spec.maxJitterSeconds',
          spec.maxJitterSeconds,
          `must be less than the ${interval}s between two scheduled scans`,
        ),
      );
    }
  }
  errors.push(...complianceScanSpecErrors(spec.scanTemplate?.spec, context, 'spec.scanTemplate.spec'));
  return errors;
}

export function validateScheduledComplianceScan(object: unknown, context: DikiValidationContext): FieldError[] {
  const errors = objectErrors(ScheduledComplianceScanSchema, object, 'ScheduledComplianceScan');
  if (errors.length > 0) return errors;
  const scan = object as ScheduledComplianceScan;
  const name = scan.metadata?.name ?? '';
  if (name.length > MAX_SCHEDULED_SCAN_NAME_LENGTH) {
    errors.push(invalid('metadata.name', name, `must be no more than ${MAX_SCHEDULED_SCAN_NAME_LENGTH} characters`));
  }
  errors.push(...scheduledComplianceScanSpecErrors(scan.spec, context));
  return errors;
}

// --- ReportOutput ----------------------------------------------------------------------------------------------

/** A name prefix to which a DNS-1123 subdomain name is appended. */
const namePrefixRe = /^[a-z0-9]([-a-z0-9.]*)?$/;
/** The output types the runner exports to (openSearch is in the schema only). */
export const SUPPORTED_OUTPUTS = ['configMap', 'postgresql', 'webhook', 'reportsAPI'] as const;
const sqlTableRe = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

export function outputErrors(output: Output | undefined, base = 'spec.output'): FieldError[] {
  const errors: FieldError[] = [];
  if (!output) return errors;
  const set = OUTPUT_TYPES.filter((t) => output[t] !== undefined);
  if (set.length !== 1) {
    errors.push({
      field: base,
      message:
        set.length === 0
          ? `Required value: exactly one of ${OUTPUT_TYPES.join(', ')} must be set`
          : `Forbidden: exactly one of ${OUTPUT_TYPES.join(', ')} must be set, found ${set.join(', ')}`,
    });
  }
  const prefix = (field: string, value: string | undefined, max: number): void => {
    if (value === undefined) return;
    if (!namePrefixRe.test(value) || value.length > max) {
      errors.push(
        invalid(
          field,
          value,
          `must be lower case alphanumeric characters, '-' or '.', start with an alphanumeric character and have at most ${max} characters`,
        ),
      );
    }
  };
  if (output.configMap) {
    const at = `${base}.configMap`;
    const ns = output.configMap.namespace;
    if (ns !== undefined) for (const e of dns1123LabelErrors(ns)) errors.push(invalid(`${at}.namespace`, ns, e));
    prefix(`${at}.namePrefix`, output.configMap.namePrefix, 190);
  }
  if (output.reportsAPI) prefix(`${base}.reportsAPI.namePrefix`, output.reportsAPI.namePrefix, 190);
  const urlOutputs = [
    ['postgresql', output.postgresql, ['postgres:', 'postgresql:']],
    ['openSearch', output.openSearch, ['https:', 'http:']],
    ['webhook', output.webhook, ['https:']],
  ] as const;
  for (const [type, settings, schemes] of urlOutputs) {
    if (!settings) continue;
    const at = `${base}.${type}`;
    let url: URL | undefined;
    try {
      url = new URL(settings.url);
    } catch {
      errors.push(invalid(`${at}.url`, settings.url, 'must be an absolute URL'));
    }
    if (url) {
      if (!(schemes as readonly string[]).includes(url.protocol)) {
        errors.push(
          invalid(`${at}.url`, settings.url, `scheme must be ${schemes.map((s) => s.slice(0, -1)).join(' or ')}`),
        );
      }
      if (url.username || url.password) {
        errors.push(invalid(`${at}.url`, '<redacted>', 'must not contain credentials; use credentialsRef'));
      }
      const tlsEnabled = settings.tls?.enabled;
      if (type !== 'postgresql' && tlsEnabled !== undefined && tlsEnabled !== (url.protocol === 'https:')) {
        errors.push(invalid(`${at}.tls.enabled`, tlsEnabled, `contradicts the ${url.protocol.slice(0, -1)} URL`));
      }
    }
    const ref = settings.credentialsRef;
    if (ref) {
      if (ref.apiVersion !== undefined && ref.apiVersion !== 'v1') {
        errors.push(unsupported(`${at}.credentialsRef.apiVersion`, ref.apiVersion, ['v1']));
      }
      if (ref.kind !== undefined && ref.kind !== 'Secret') {
        errors.push(unsupported(`${at}.credentialsRef.kind`, ref.kind, ['Secret']));
      }
      for (const e of dns1123SubdomainErrors(ref.name)) errors.push(invalid(`${at}.credentialsRef.name`, ref.name, e));
      for (const e of dns1123LabelErrors(ref.namespace)) {
        errors.push(invalid(`${at}.credentialsRef.namespace`, ref.namespace, e));
      }
    }
    const ca = settings.tls?.caSecretRef;
    if (ca) {
      for (const e of dns1123SubdomainErrors(ca.name)) errors.push(invalid(`${at}.tls.caSecretRef.name`, ca.name, e));
      for (const e of dns1123LabelErrors(ca.namespace)) {
        errors.push(invalid(`${at}.tls.caSecretRef.namespace`, ca.namespace, e));
      }
    }
  }
  if (output.openSearch) {
    // In the GEP's schema (kept, so manifests written for it still parse), but no exporter exists yet: refuse
    // it here rather than fail every scan that names it.
    errors.push({
      field: `${base}.openSearch`,
      message: `Unsupported value: this operator does not export to OpenSearch; supported outputs: ${SUPPORTED_OUTPUTS.join(', ')}`,
    });
  }
  if (output.postgresql && !sqlTableRe.test(output.postgresql.table)) {
    errors.push(
      invalid(
        `${base}.postgresql.table`,
        output.postgresql.table,
        'must be an SQL identifier, optionally schema-qualified',
      ),
    );
  }
  return errors;
}

export function validateReportOutput(object: unknown): FieldError[] {
  const errors = objectErrors(ReportOutputSchema, object, 'ReportOutput');
  if (errors.length > 0) return errors;
  return outputErrors((object as ReportOutput).spec.output);
}

export function validateReportOutputUpdate(oldObject: ReportOutput, object: unknown): FieldError[] {
  const errors = validateReportOutput(object);
  if (!isDeepStrictEqual(oldObject.spec, (object as ReportOutput).spec)) errors.push(immutableSpec());
  return errors;
}

// --- Defaulting ------------------------------------------------------------------------------------------------

/**
 * A ComplianceScan spec with the GEP's defaults: every ruleset of the catalog at its latest version when none
 * are named, the latest version of a named ruleset, ConfigMap keys `<rulesetID>` and `<rulesetID>-rules`, and
 * the schema's defaults (namespace kube-system, optional false). Unknown rulesets stay as they are (validation
 * names them).
 */
export function defaultComplianceScanSpec(
  spec: ComplianceScanSpec | undefined,
  catalog: RulesetCatalog,
): ComplianceScanSpec {
  const out = structuredClone(spec ?? {});
  if (!out.rulesets || out.rulesets.length === 0) {
    out.rulesets = catalog.rulesets.map((r) => ({ id: r.id, version: r.versions[0]!.version }));
  }
  out.rulesets = out.rulesets.map((r): RulesetSelection => {
    const latest = catalog.rulesets.find((d) => d.id === r.id)?.versions[0]?.version;
    const ruleset = { ...r, ...(r.version === undefined && latest !== undefined ? { version: latest } : {}) };
    for (const [kind, key] of [
      ['ruleset', r.id],
      ['rules', `${r.id}-rules`],
    ] as const) {
      const ref = ruleset.options?.[kind]?.configMapRef;
      if (ref) ref.key ??= key;
    }
    return ruleset;
  });
  out.outputs = out.outputs?.map((o) => ({ ...o }));
  return Value.Default(ComplianceScanSchema.properties.spec, out) as ComplianceScanSpec;
}

/** A ComplianceScan with its defaults (as the mutating webhook applies them on create). */
export function defaultComplianceScan(scan: ComplianceScan, catalog: RulesetCatalog): ComplianceScan {
  return { ...scan, spec: defaultComplianceScanSpec(scan.spec, catalog) };
}

/**
 * A ScheduledComplianceScan with the schema's defaults (schedule, history limits, suspend, jitter). The template
 * keeps an empty ruleset list empty, so each scan runs the rulesets of the operator version that creates it; the
 * child ComplianceScan is defaulted when it is created.
 */
export function defaultScheduledComplianceScan(scan: ScheduledComplianceScan): ScheduledComplianceScan {
  return Value.Default(ScheduledComplianceScanSchema, structuredClone(scan)) as ScheduledComplianceScan;
}

/** A ReportOutput with the schema's defaults (ConfigMap namespace and prefix, reports API version, Secret refs). */
export function defaultReportOutput(output: ReportOutput): ReportOutput {
  return Value.Default(ReportOutputSchema, structuredClone(output)) as ReportOutput;
}

// --- Shared ----------------------------------------------------------------------------------------------------

function immutableSpec(): FieldError {
  return { field: 'spec', message: 'Invalid value: spec is immutable' };
}

/** apiVersion/kind, metadata (cluster-scoped) and the schema, with field paths. */
function objectErrors(schema: Parameters<typeof schemaErrors>[0], object: unknown, kind: string): FieldError[] {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    return [{ field: '', message: `must be a ${kind} object` }];
  }
  const o = object as Record<string, unknown>;
  const errors: FieldError[] = [];
  const apiVersion = 'diki.gardener.cloud/v1alpha1';
  if (o.apiVersion !== undefined && o.apiVersion !== apiVersion) {
    errors.push(invalid('apiVersion', o.apiVersion, `must be ${apiVersion}`));
  }
  if (o.kind !== undefined && o.kind !== kind) errors.push(invalid('kind', o.kind, `must be ${kind}`));
  errors.push(...validateObjectMeta(o.metadata, { namespaced: false }));
  errors.push(...schemaErrors(schema, object).filter((e) => e.field !== 'metadata'));
  return errors;
}
