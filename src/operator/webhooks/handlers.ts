// The operator's admission decisions for the diki.gardener.cloud types (docs/adr/0014-diki-api.md, 0016):
// pure functions from an AdmissionRequest to an AdmissionResponse, the target cluster reached only through a
// ReferenceLookup.
//
// Mutating: ComplianceScan on CREATE (every ruleset at its latest version when none are named, the latest
// version, ConfigMap keys), ScheduledComplianceScan and ReportOutput on CREATE and UPDATE (the schema's
// defaults). Objects that do not match their schema are left alone: the validating side names their errors.
//
// Validating: validate.ts on CREATE and UPDATE (UPDATE adds immutability), then the references in the target
// (ConfigMaps and keys, ReportOutputs, reports-API name prefixes). On UPDATE an error the old object had too
// is not reported (validation ratcheting, as kube-apiserver does for CRD schemas), so a scan that became
// invalid by an operator upgrade can still get its finalizers and labels changed; an object being deleted is
// always allowed. References are looked up on CREATE, and on UPDATE of a ScheduledComplianceScan whose
// template changed.
import { isDeepStrictEqual } from 'node:util';
import Value from 'typebox/value';
import {
  ComplianceScanSchema,
  DIKI_GROUP,
  ReportOutputSchema,
  ScheduledComplianceScanSchema,
  type ComplianceScan,
  type ReportOutput,
  type ScheduledComplianceScan,
} from '../../api/diki/index.ts';
import {
  defaultComplianceScan,
  defaultReportOutput,
  defaultScheduledComplianceScan,
  validateComplianceScan,
  validateComplianceScanUpdate,
  validateReportOutput,
  validateReportOutputUpdate,
  validateScheduledComplianceScan,
  type DikiValidationContext,
  type RulesetCatalog,
} from '../../api/diki/validate.ts';
import type { FieldError } from '../../api/validation.ts';
import { errorMessage } from '../../util/log.ts';
import {
  allow,
  allowWithPatch,
  denyInternal,
  denyInvalid,
  type AdmissionRequest,
  type AdmissionResponse,
} from './admission.ts';
import { cachedLookup, referenceErrors, reportsAPIConflictErrors, type ReferenceLookup } from './references.ts';

export interface MutationContext {
  catalog: RulesetCatalog;
}

export interface ValidationContext extends DikiValidationContext {
  /** Reads of the target cluster; without it references are not checked. */
  lookup?: ReferenceLookup;
}

type DikiKind = 'ComplianceScan' | 'ScheduledComplianceScan' | 'ReportOutput';

function dikiKind(request: AdmissionRequest): DikiKind | undefined {
  if (request.kind.group !== DIKI_GROUP) return undefined;
  const kind = request.kind.kind;
  return kind === 'ComplianceScan' || kind === 'ScheduledComplianceScan' || kind === 'ReportOutput' ? kind : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON as kube-apiserver would send it (no undefined members), so a patch never carries them. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The mutating webhook: defaults as a JSONPatch. */
export function mutate(request: AdmissionRequest, context: MutationContext): AdmissionResponse {
  const { uid, object, operation } = request;
  const kind = dikiKind(request);
  if (!kind || !isObject(object) || (operation !== 'CREATE' && operation !== 'UPDATE')) return allow(uid);
  try {
    switch (kind) {
      case 'ComplianceScan':
        // The spec is immutable: defaults are written once, on create.
        if (operation !== 'CREATE' || !Value.Check(ComplianceScanSchema, object)) return allow(uid);
        return allowWithPatch(uid, object, plain(defaultComplianceScan(object, context.catalog)));
      case 'ScheduledComplianceScan':
        if (!Value.Check(ScheduledComplianceScanSchema, object)) return allow(uid);
        return allowWithPatch(uid, object, plain(defaultScheduledComplianceScan(object)));
      case 'ReportOutput':
        if (!Value.Check(ReportOutputSchema, object)) return allow(uid);
        return allowWithPatch(uid, object, plain(defaultReportOutput(object)));
    }
  } catch {
    // Defaulting an unusual object failed: leave it as it is; validation decides.
    return allow(uid);
  }
}

/** Drops the errors `old` has as well (same field, same message). */
function ratchet(errors: FieldError[], old: FieldError[]): FieldError[] {
  return errors.filter((e) => !old.some((o) => o.field === e.field && o.message === e.message));
}

const isDeleting = (object: unknown): boolean =>
  isObject(object) && isObject(object.metadata) && object.metadata.deletionTimestamp != null;

/** The validating webhook: validate.ts, immutability on update, references in the target. */
export async function validate(request: AdmissionRequest, context: ValidationContext): Promise<AdmissionResponse> {
  const { uid, object, oldObject, operation } = request;
  const kind = dikiKind(request);
  if (!kind || (operation !== 'CREATE' && operation !== 'UPDATE')) return allow(uid);
  const update = operation === 'UPDATE';
  if (update && isDeleting(object)) return allow(uid);
  const name =
    request.name ||
    (isObject(object) && isObject(object.metadata) && typeof object.metadata.name === 'string'
      ? object.metadata.name
      : '');
  const lookup = context.lookup ? cachedLookup(context.lookup) : undefined;
  let errors: FieldError[];
  try {
    switch (kind) {
      case 'ComplianceScan': {
        if (update) {
          errors = ratchet(
            validateComplianceScanUpdate(oldObject as ComplianceScan, object, context),
            validateComplianceScan(oldObject, context),
          );
          break;
        }
        errors = validateComplianceScan(object, context);
        if (lookup && Value.Check(ComplianceScanSchema, object)) {
          errors.push(...(await referenceErrors(object.spec, lookup, 'spec', errors)));
        }
        break;
      }
      case 'ScheduledComplianceScan': {
        errors = validateScheduledComplianceScan(object, context);
        if (update) errors = ratchet(errors, validateScheduledComplianceScan(oldObject, context));
        const template = (o: unknown) => (o as ScheduledComplianceScan | undefined)?.spec?.scanTemplate?.spec;
        const changed = !update || !isDeepStrictEqual(template(oldObject), template(object));
        if (lookup && changed && Value.Check(ScheduledComplianceScanSchema, object)) {
          errors.push(...(await referenceErrors(template(object), lookup, 'spec.scanTemplate.spec', errors)));
        }
        break;
      }
      case 'ReportOutput': {
        if (update) {
          errors = ratchet(
            validateReportOutputUpdate(oldObject as ReportOutput, object),
            validateReportOutput(oldObject),
          );
          break;
        }
        errors = validateReportOutput(object);
        if (lookup && errors.length === 0)
          errors.push(...(await reportsAPIConflictErrors(object as ReportOutput, lookup)));
        break;
      }
    }
  } catch (err) {
    return denyInternal(uid, `cannot validate ${kind} ${JSON.stringify(name)}: ${errorMessage(err)}`);
  }
  return errors.length > 0 ? denyInvalid(uid, request.kind, name, errors) : allow(uid);
}
