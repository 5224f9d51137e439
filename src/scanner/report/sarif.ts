// A scan report as SARIF 2.1.0: one run whose tool.driver lists the scan's rules (ids `<ruleset>/<version>/<rule>`)
// and whose results are the non-passing findings (one result per target). Levels: Failed and Errored -> error,
// Warning -> warning, everything else -> note; Accepted results carry an external suppression with the check's
// message as the justification, so viewers hide them by default. Targets become logical locations.
import { createHash } from 'node:crypto';
import { version as argusVersion } from '../../util/version.ts';
import type { Status } from '../engine/result.ts';
import type { Report } from './report.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

export type SarifLevel = 'error' | 'warning' | 'note' | 'none';

export function sarifLevel(status: Status): SarifLevel {
  if (status === 'Failed' || status === 'Errored') return 'error';
  if (status === 'Warning') return 'warning';
  return 'note';
}

const severityLevel = { High: 'error', Medium: 'warning', Low: 'note' } as const;
/** GitHub code scanning reads `security-severity` (0-10) to rank security results. */
const securitySeverity = { High: '8.0', Medium: '5.5', Low: '3.0' } as const;

export interface SarifLogicalLocation {
  name: string;
  fullyQualifiedName: string;
  kind: string;
  properties?: Record<string, string>;
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations?: { logicalLocations: SarifLogicalLocation[] }[];
  partialFingerprints: Record<string, string>;
  suppressions?: { kind: 'external'; status: 'accepted'; justification: string }[];
  properties: Record<string, unknown>;
}

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  defaultConfiguration: { level: SarifLevel };
  properties: Record<string, unknown>;
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: {
    tool: { driver: { name: string; version: string; rules: SarifRule[] } };
    invocations: { executionSuccessful: boolean; endTimeUtc: string }[];
    automationDetails?: { id: string };
    properties: Record<string, unknown>;
    results: SarifResult[];
  }[];
}

/** `kind=Pod/namespace=shop/name=web/container=app`: a target as one unambiguous name. */
export function targetName(target: Record<string, string>): string {
  const order = ['kind', 'namespace', 'name', 'container'];
  const keys = Object.keys(target).sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : a > b ? 1 : 0);
  });
  return keys.map((k) => `${k}=${target[k]}`).join('/');
}

function logicalLocation(target: Record<string, string>): SarifLogicalLocation {
  return {
    name: target.name ?? targetName(target),
    fullyQualifiedName: targetName(target),
    kind: 'resource',
    properties: { ...target },
  };
}

export function toSarif(report: Report): SarifLog {
  const rules: SarifRule[] = [];
  const results: SarifResult[] = [];
  const ruleIndex = new Map<string, number>();
  for (const provider of report.providers)
    for (const ruleset of provider.rulesets)
      for (const rule of ruleset.rules) {
        const id = `${ruleset.id}/${ruleset.version}/${rule.id}`;
        let index = ruleIndex.get(id);
        if (index === undefined) {
          index = rules.length;
          ruleIndex.set(id, index);
          rules.push({
            id,
            name: rule.id,
            shortDescription: { text: rule.name },
            fullDescription: { text: `${ruleset.name} ${ruleset.version}, rule ${rule.id}: ${rule.name}` },
            defaultConfiguration: { level: rule.severity ? severityLevel[rule.severity] : 'warning' },
            properties: {
              provider: provider.id,
              ruleset: ruleset.id,
              rulesetVersion: ruleset.version,
              ...(rule.severity
                ? { severity: rule.severity, 'security-severity': securitySeverity[rule.severity] }
                : {}),
              tags: ['security', 'compliance', ruleset.id],
            },
          });
        }
        for (const check of rule.checks) {
          if (check.status === 'Passed') continue;
          const targets: (Record<string, string> | undefined)[] =
            check.targets && check.targets.length > 0 ? check.targets : [undefined];
          for (const target of targets) {
            const fingerprint = createHash('sha256')
              .update(JSON.stringify([provider.id, id, check.status, check.message, target ? targetName(target) : '']))
              .digest('hex');
            results.push({
              ruleId: id,
              ruleIndex: index,
              level: sarifLevel(check.status),
              message: { text: target ? `${check.message} (${targetName(target)})` : check.message },
              ...(target ? { locations: [{ logicalLocations: [logicalLocation(target)] }] } : {}),
              partialFingerprints: { 'argusFinding/v1': fingerprint },
              ...(check.status === 'Accepted'
                ? {
                    suppressions: [
                      { kind: 'external' as const, status: 'accepted' as const, justification: check.message },
                    ],
                  }
                : {}),
              properties: { status: check.status, provider: provider.id, ...(target ? { target } : {}) },
            });
          }
        }
      }
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'argus',
            version: argusVersion,
            rules,
          },
        },
        invocations: [{ executionSuccessful: true, endTimeUtc: utc(report.time) }],
        ...(typeof report.metadata?.cluster === 'string'
          ? { automationDetails: { id: `argus/${report.metadata.cluster}/` } }
          : {}),
        properties: {
          dikiVersion: report.dikiVersion,
          ...(report.minStatus ? { minStatus: report.minStatus } : {}),
          ...(report.metadata ? { metadata: report.metadata } : {}),
        },
        results,
      },
    ],
  };
}

/** SARIF times are UTC; diki reports may carry an offset. */
function utc(time: string): string {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? time : date.toISOString();
}

export function renderSarif(report: Report): string {
  return `${JSON.stringify(toSarif(report), null, 2)}\n`;
}
