// A scan report as OSCAL Assessment Results (JSON, OSCAL 1.1.3): metadata, an import-ap pointing at a
// back-matter resource that describes the scan (Argus has no separate assessment plan), and one result with
//   - local-definitions.inventory-items: one per distinct target (its keys as props),
//   - observations: one per finding (check x target; checks without targets give one), method TEST,
//     the target as subject, the diki status and rule as props,
//   - findings: one per rule, targeting objective `<ruleset>_<version>_<rule>`, related to the rule's
//     observations, with status satisfied / not-satisfied:
//       any Failed                 -> not-satisfied, reason fail
//       else any Errored or Warning -> not-satisfied, reason other
//       else any Passed or Accepted -> satisfied, reason pass (other when something was Accepted)
//       else (only Skipped / Not Implemented, or no checks) -> not-satisfied, reason other: not assessed
// UUIDs are random (crypto.randomUUID); props outside the OSCAL core carry the Argus namespace.
import { randomUUID } from 'node:crypto';
import { version as argusVersion } from '../../util/version.ts';
import type { Status } from '../engine/result.ts';
import { targetName } from './sarif.ts';
import type { Report, ReportRule } from './report.ts';

export const OSCAL_VERSION = '1.1.3';
export const ARGUS_NS = 'https://argus.io/ns/oscal';

export interface OscalProp {
  name: string;
  value: string;
  ns?: string;
  remarks?: string;
}

export interface OscalObservation {
  uuid: string;
  title: string;
  description: string;
  props: OscalProp[];
  methods: string[];
  types: string[];
  subjects?: { 'subject-uuid': string; type: string; title?: string }[];
  collected: string;
  remarks?: string;
}

export interface OscalFinding {
  uuid: string;
  title: string;
  description: string;
  props: OscalProp[];
  target: {
    type: 'objective-id';
    'target-id': string;
    title: string;
    status: { state: 'satisfied' | 'not-satisfied'; reason: 'pass' | 'fail' | 'other'; remarks?: string };
  };
  'related-observations'?: { 'observation-uuid': string }[];
}

export interface OscalAssessmentResults {
  'assessment-results': {
    uuid: string;
    metadata: {
      title: string;
      'last-modified': string;
      version: string;
      'oscal-version': string;
      props?: OscalProp[];
    };
    'import-ap': { href: string; remarks?: string };
    results: {
      uuid: string;
      title: string;
      description: string;
      start: string;
      end: string;
      props?: OscalProp[];
      'local-definitions'?: {
        'inventory-items': { uuid: string; description: string; props: OscalProp[] }[];
      };
      'reviewed-controls': { 'control-selections': { description: string; 'include-all': Record<string, never> }[] };
      observations?: OscalObservation[];
      findings?: OscalFinding[];
    }[];
    'back-matter': { resources: { uuid: string; title: string; description: string; props?: OscalProp[] }[] };
  };
}

/** OSCAL tokens: a letter or underscore, then letters, digits, `.`, `-`, `_`. */
export function oscalToken(text: string): string {
  const token = text.replace(/[^\p{L}\p{N}._-]+/gu, '_');
  return /^[\p{L}_]/u.test(token) ? token : `_${token}`;
}

/** Prop values must not start or end with whitespace and must not be empty. */
function prop(name: string, value: string, ns = ARGUS_NS): OscalProp | undefined {
  const v = value.trim();
  if (!v) return undefined;
  return { name: oscalToken(name), value: v, ns };
}

function props(...list: (OscalProp | undefined)[]): OscalProp[] {
  return list.filter((p): p is OscalProp => p !== undefined);
}

/** OSCAL date-times need a time zone; reports written by diki and Argus have one. */
function dateTime(time: string): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return new Date(0).toISOString();
  return /([zZ]|[+-]\d\d:\d\d)$/.test(time) ? time : date.toISOString();
}

export function findingStatus(rule: ReportRule): OscalFinding['target']['status'] {
  const has = (s: Status): boolean => rule.checks.some((c) => c.status === s);
  if (has('Failed')) return { state: 'not-satisfied', reason: 'fail' };
  if (has('Errored') || has('Warning'))
    return {
      state: 'not-satisfied',
      reason: 'other',
      remarks: has('Errored') ? 'The rule could not be evaluated for every target.' : 'The rule reported warnings.',
    };
  if (has('Passed') || has('Accepted'))
    return has('Accepted')
      ? { state: 'satisfied', reason: 'other', remarks: 'Satisfied with accepted exceptions (see observations).' }
      : { state: 'satisfied', reason: 'pass' };
  return {
    state: 'not-satisfied',
    reason: 'other',
    remarks: 'Not assessed: the rule was skipped or is not implemented.',
  };
}

export function toOscal(report: Report): OscalAssessmentResults {
  const time = dateTime(report.time);
  const cluster = typeof report.metadata?.cluster === 'string' ? report.metadata.cluster : undefined;
  const planUuid = randomUUID();
  const inventory = new Map<string, { uuid: string; description: string; props: OscalProp[] }>();
  const observations: OscalObservation[] = [];
  const findings: OscalFinding[] = [];
  const rulesetNames: string[] = [];

  for (const provider of report.providers)
    for (const ruleset of provider.rulesets) {
      rulesetNames.push(`${ruleset.name} (${ruleset.id} ${ruleset.version})`);
      for (const rule of ruleset.rules) {
        const ruleProps = props(
          prop('provider', provider.id),
          prop('ruleset', ruleset.id),
          prop('ruleset-version', ruleset.version),
          prop('rule', rule.id),
          rule.severity ? prop('severity', rule.severity) : undefined,
        );
        const related: string[] = [];
        for (const check of rule.checks) {
          const targets: (Record<string, string> | undefined)[] =
            check.targets && check.targets.length > 0 ? check.targets : [undefined];
          for (const target of targets) {
            let subject: { 'subject-uuid': string; type: string; title: string } | undefined;
            if (target) {
              const name = targetName(target);
              let item = inventory.get(name);
              if (!item) {
                item = {
                  uuid: randomUUID(),
                  description: name,
                  props: props(...Object.entries(target).map(([k, v]) => prop(k, v))),
                };
                inventory.set(name, item);
              }
              subject = { 'subject-uuid': item.uuid, type: 'inventory-item', title: name };
            }
            const uuid = randomUUID();
            related.push(uuid);
            observations.push({
              uuid,
              title: `${ruleset.id} ${ruleset.version} ${rule.id}: ${check.status}`,
              description: check.message || check.status,
              props: props(...ruleProps, prop('status', check.status)),
              methods: ['TEST'],
              types: ['finding'],
              ...(subject ? { subjects: [subject] } : {}),
              collected: time,
            });
          }
        }
        findings.push({
          uuid: randomUUID(),
          title: `${rule.id}: ${rule.name}`,
          description: `${ruleset.name} ${ruleset.version}, rule ${rule.id}: ${rule.name}`,
          props: ruleProps,
          target: {
            type: 'objective-id',
            'target-id': oscalToken(`${ruleset.id}_${ruleset.version}_${rule.id}`),
            title: rule.name,
            status: findingStatus(rule),
          },
          ...(related.length > 0 ? { 'related-observations': related.map((u) => ({ 'observation-uuid': u })) } : {}),
        });
      }
    }

  const metadataProps = props(
    ...Object.entries(report.metadata ?? {}).map(([k, v]) => prop(k, typeof v === 'string' ? v : JSON.stringify(v))),
    prop('scanner-version', report.dikiVersion),
    report.minStatus ? prop('min-status', report.minStatus) : undefined,
  );
  return {
    'assessment-results': {
      uuid: randomUUID(),
      metadata: {
        title: cluster ? `Argus compliance scan of ${cluster}` : 'Argus compliance scan',
        'last-modified': time,
        version: argusVersion,
        'oscal-version': OSCAL_VERSION,
        ...(metadataProps.length > 0 ? { props: metadataProps } : {}),
      },
      'import-ap': {
        href: `#${planUuid}`,
        remarks: 'Argus scans run rulesets rather than a separate assessment plan; the referenced resource names them.',
      },
      results: [
        {
          uuid: randomUUID(),
          title: cluster ? `Compliance scan of ${cluster}` : 'Compliance scan',
          description: `Automated scan with ${rulesetNames.join(', ') || 'no rulesets'}.`,
          start: time,
          end: time,
          ...(inventory.size > 0 ? { 'local-definitions': { 'inventory-items': [...inventory.values()] } } : {}),
          'reviewed-controls': {
            'control-selections': [{ description: 'Every rule of the scanned rulesets.', 'include-all': {} }],
          },
          ...(observations.length > 0 ? { observations } : {}),
          ...(findings.length > 0 ? { findings } : {}),
        },
      ],
      'back-matter': {
        resources: [
          {
            uuid: planUuid,
            title: 'Argus scan configuration',
            description: `Rulesets: ${rulesetNames.join('; ') || 'none'}.`,
          },
        ],
      },
    },
  };
}

export function renderOscal(report: Report): string {
  return `${JSON.stringify(toOscal(report), null, 2)}\n`;
}
