// Reports of several clusters merged into one, distinct by a metadata key (`cluster`, say), as JSON and HTML.
//
// Each input report is identified by the value of the key in its metadata (or, when the report has none, in
// its first provider that has it); a missing or repeated value is an error naming the report. Providers,
// rulesets (by id and version), rules and checks (by status and message) are unioned in first-seen order, and
// each check keeps the targets per report, so the merged report says which cluster had which finding.
//
// JSON shape (`MergedReport`):
//   {
//     "kind": "MergedReport",
//     "time": "...",                // the newest input report's time
//     "distinctBy": "cluster",
//     "minStatus": "Warning",       // the highest minStatus of the inputs, when any has one
//     "dikiVersion": "...",         // the version of the Argus that merged them
//     "reports": [{"id": "prod-eu1", "time", "dikiVersion", "minStatus"?, "metadata"?}, ...],
//     "providers": [{"id", "name", "metadata": {"<report id>": {...}},
//       "rulesets": [{"id", "name", "version", "reports": ["<report id>", ...],   // reports that ran it
//         "rules": [{"id", "name", "severity"?,
//           "checks": [{"status", "message", "targets": {"<report id>": [{...}, ...]}}]}]}]}]
//   }
//   A check's `targets` has a key for each report that had the check (an empty list when it had no targets).
import { ValidationError } from '../../api/validation.ts';
import { version as argusVersion } from '../../util/version.ts';
import { statusRank, type Severity, type Status, type Target } from '../engine/result.ts';
import {
  badge,
  collapsible,
  displayOrder,
  esc,
  formatTime,
  metadataValue,
  page,
  statusBar,
  statusClass,
  toolbar,
  zeroCounts,
} from './html-style.ts';
import { checkBlock, logo, presentFilters, ruleHeader, rulesByWorst, ruleWorst, sortChecks } from './html.ts';
import type { Report, StatusCounts } from './report.ts';

export interface MergedCheck {
  status: Status;
  message: string;
  targets: Record<string, Target[]>;
}

export interface MergedRule {
  id: string;
  name: string;
  severity?: Severity;
  checks: MergedCheck[];
}

export interface MergedRuleset {
  id: string;
  name: string;
  version: string;
  reports: string[];
  rules: MergedRule[];
}

export interface MergedProvider {
  id: string;
  name: string;
  metadata: Record<string, Record<string, string>>;
  rulesets: MergedRuleset[];
}

export interface MergedReportSource {
  id: string;
  time: string;
  dikiVersion: string;
  minStatus?: Status;
  metadata?: Record<string, unknown>;
}

export interface MergedReport {
  kind: 'MergedReport';
  time: string;
  distinctBy: string;
  minStatus?: Status;
  dikiVersion: string;
  reports: MergedReportSource[];
  providers: MergedProvider[];
}

/** The report's value of the distinct-by key: its own metadata first, then its providers'. */
function distinctValue(report: Report, key: string): string | undefined {
  const own = report.metadata?.[key];
  if (typeof own === 'string' && own !== '') return own;
  if (typeof own === 'number' || typeof own === 'boolean') return String(own);
  for (const p of report.providers) {
    const v = p.metadata?.[key];
    if (v) return v;
  }
  return undefined;
}

/**
 * Merges reports of several clusters. `names` name the inputs in errors (file paths); they default to
 * `report #1`, `report #2`...
 */
export function mergeReports(reports: Report[], distinctBy: string, names: string[] = []): MergedReport {
  if (!distinctBy)
    throw new ValidationError('cannot merge reports', [{ field: 'distinctBy', message: 'a metadata key is required' }]);
  if (reports.length === 0) throw new ValidationError('cannot merge reports', [{ field: '', message: 'no reports' }]);
  const nameOf = (i: number): string => names[i] ?? `report #${i + 1}`;
  const ids: string[] = [];
  const seen = new Map<string, number>();
  reports.forEach((report, i) => {
    const id = distinctValue(report, distinctBy);
    if (id === undefined)
      throw new ValidationError(`${nameOf(i)} cannot be merged`, [
        {
          field: `metadata.${distinctBy}`,
          message: `required by --distinct-by ${distinctBy} (not in the report's or its providers' metadata)`,
        },
      ]);
    const first = seen.get(id);
    if (first !== undefined)
      throw new ValidationError(`${nameOf(i)} cannot be merged`, [
        {
          field: `metadata.${distinctBy}`,
          message: `"${id}" is also the value in ${nameOf(first)}; each report needs its own`,
        },
      ]);
    seen.set(id, i);
    ids.push(id);
  });

  const providers = new Map<string, MergedProvider>();
  const rulesetIndex = new Map<string, MergedRuleset>();
  const ruleIndex = new Map<string, MergedRule>();
  const checkIndex = new Map<string, MergedCheck>();
  reports.forEach((report, i) => {
    const rid = ids[i] ?? '';
    for (const p of report.providers) {
      let provider = providers.get(p.id);
      if (!provider) {
        provider = { id: p.id, name: p.name, metadata: {}, rulesets: [] };
        providers.set(p.id, provider);
      }
      if (p.metadata) provider.metadata[rid] = p.metadata;
      for (const rs of p.rulesets) {
        const rsKey = JSON.stringify([p.id, rs.id, rs.version]);
        let ruleset = rulesetIndex.get(rsKey);
        if (!ruleset) {
          ruleset = { id: rs.id, name: rs.name, version: rs.version, reports: [], rules: [] };
          rulesetIndex.set(rsKey, ruleset);
          provider.rulesets.push(ruleset);
        }
        if (!ruleset.reports.includes(rid)) ruleset.reports.push(rid);
        for (const r of rs.rules) {
          const rKey = JSON.stringify([rsKey, r.id]);
          let rule = ruleIndex.get(rKey);
          if (!rule) {
            rule = { id: r.id, name: r.name, ...(r.severity ? { severity: r.severity } : {}), checks: [] };
            ruleIndex.set(rKey, rule);
            ruleset.rules.push(rule);
          }
          for (const c of r.checks) {
            const cKey = JSON.stringify([rKey, c.status, c.message]);
            let check = checkIndex.get(cKey);
            if (!check) {
              check = { status: c.status, message: c.message, targets: {} };
              checkIndex.set(cKey, check);
              rule.checks.push(check);
            }
            (check.targets[rid] ??= []).push(...(c.targets ?? []));
          }
        }
      }
    }
  });

  let minStatus: Status | undefined;
  for (const r of reports)
    if (r.minStatus && (!minStatus || statusRank(r.minStatus) > statusRank(minStatus))) minStatus = r.minStatus;
  const newest = reports.reduce((a, b) => (Date.parse(b.time) > Date.parse(a.time) ? b : a));
  return {
    kind: 'MergedReport',
    time: newest.time,
    distinctBy,
    ...(minStatus ? { minStatus } : {}),
    dikiVersion: argusVersion,
    reports: reports.map((r, i) => ({
      id: ids[i] ?? '',
      time: r.time,
      dikiVersion: r.dikiVersion,
      ...(r.minStatus ? { minStatus: r.minStatus } : {}),
      ...(r.metadata ? { metadata: r.metadata } : {}),
    })),
    providers: [...providers.values()],
  };
}

/** A merged rule's checks as seen by one report. */
function checksOf(rule: MergedRule, report: string): { status: Status }[] {
  return rule.checks.filter((c) => Object.hasOwn(c.targets, report));
}

function clusterDot(report: string, status: Status | undefined): string {
  const label = status ?? 'no checks';
  return `<span class="cluster-cell" title="${esc(`${report}: ${label}`)}"><span class="dot ${status ? statusClass(status) : 'none'}" aria-hidden="true"></span>${esc(report)}<span class="visually-hidden">: ${esc(label)}</span></span>`;
}

export function renderMergedHtml(merged: MergedReport): string {
  const reportIds = merged.reports.map((r) => r.id);
  const rulesets = merged.providers.flatMap((p, pi) =>
    p.rulesets.map((rs, ri) => ({ provider: p, ruleset: rs, anchor: `rs-${pi}-${ri}` })),
  );
  const allRules = rulesets.flatMap((r) => r.ruleset.rules);

  // Per report: rules by worst status over every ruleset.
  const perReport = reportIds.map((id) => {
    const counts = zeroCounts();
    for (const { ruleset } of rulesets) {
      const c = rulesByWorst(ruleset.rules.map((r) => ({ checks: checksOf(r, id) })));
      for (const s of displayOrder) counts[s] += c[s];
    }
    return { id, counts };
  });
  const tiles = perReport
    .map(({ id, counts }) => {
      const worst = (['Failed', 'Errored', 'Warning', 'Passed'] as const).find((s) => counts[s] > 0);
      const problems = (['Errored', 'Warning'] as const)
        .filter((s) => counts[s] > 0)
        .map((s) => `${counts[s]} ${s.toLowerCase()}`)
        .join(', ');
      return `<div class="tile ${worst ? statusClass(worst) : ''}" data-tile="${esc(id)}"><div class="n">${counts.Failed.toLocaleString('en')}</div><div class="l">${esc(id)}: failed rules</div><div class="s">${esc(problems || 'no errors or warnings')}</div></div>`;
    })
    .join('');

  const head = reportIds.map((id) => `<th scope="col">${esc(id)}</th>`).join('');
  const matrixRows = rulesets
    .map(({ provider, ruleset, anchor }) => {
      const cells = reportIds
        .map((id) => {
          if (!ruleset.reports.includes(id)) return '<td class="muted">not scanned</td>';
          const counts: StatusCounts = rulesByWorst(ruleset.rules.map((r) => ({ checks: checksOf(r, id) })));
          const text = displayOrder
            .filter((s) => counts[s] > 0 && ['Failed', 'Errored', 'Warning'].includes(s))
            .map((s) => `${counts[s]} ${s.toLowerCase()}`)
            .join(', ');
          return `<td>${statusBar(counts, `${id}, ${ruleset.name}`)}<span class="mini">${esc(text || 'no problems')}</span></td>`;
        })
        .join('');
      return `<tr><th scope="row"><a href="#${anchor}">${esc(ruleset.name)}</a><div class="mini"><code>${esc(ruleset.id)}</code> ${esc(ruleset.version)} · ${esc(provider.name)}</div></th>${cells}</tr>`;
    })
    .join('');

  const filters = presentFilters(
    allRules.map((r) => ({ severity: r.severity, statuses: r.checks.map((c) => c.status) })),
  );
  let counter = 0;
  const sections = rulesets
    .map(({ ruleset, anchor }) => {
      const items = ruleset.rules
        .map((rule) => {
          const id = `rule-${++counter}`;
          const dots = ruleset.reports.map((r) => clusterDot(r, ruleWorst(checksOf(rule, r)))).join('');
          const body =
            sortChecks(rule.checks)
              .map((c) => {
                const rows = Object.entries(c.targets).flatMap(([report, targets]) =>
                  targets.map((target) => ({ target, lead: [{ column: merged.distinctBy, value: report }] })),
                );
                return checkBlock(c, rows, `in ${Object.keys(c.targets).join(', ')}`);
              })
              .join('') || '<p class="empty">No checks.</p>';
          return collapsible({
            id: `${id}-body`,
            classes: 'rule',
            attributes: {
              id,
              'data-statuses': [...new Set(rule.checks.map((c) => c.status))].join('|'),
              'data-severity': rule.severity ?? 'None',
              'data-rule': rule.id,
            },
            header: ruleHeader(rule, badge(ruleWorst(rule.checks)), '', `<span class="cluster-cells">${dots}</span>`),
            body,
          });
        })
        .join('\n');
      return `<section class="ruleset" id="${anchor}" data-group aria-labelledby="${anchor}-h">
<h3 id="${anchor}-h">${esc(ruleset.name)}<span class="sub"><code>${esc(ruleset.id)}</code> ${esc(ruleset.version)}</span></h3>
<div class="items">${items || '<p class="empty">This ruleset has no rules.</p>'}<p class="empty hidden no-print">No rules match the filters.</p></div>
</section>`;
    })
    .join('\n');

  const meta = merged.reports
    .map((r) => {
      const extra = Object.entries(r.metadata ?? {})
        .filter(([k]) => k !== merged.distinctBy)
        .map(([k, v]) => `${k}=${metadataValue(v)}`)
        .join(', ');
      return `<div><dt>${esc(r.id)}</dt><dd>${esc(formatTime(r.time))}${extra ? ` · ${esc(extra)}` : ''}</dd></div>`;
    })
    .join('');
  const title = `${reportIds.length} ${merged.distinctBy === 'cluster' ? 'clusters' : `reports by ${merged.distinctBy}`}`;
  const body = `<a class="skip-link" href="#rules">Skip to the rules</a>
<header class="top"><div class="wrap">
<div class="brand">${logo}Argus merged compliance report</div>
<h1>${esc(title)}</h1>
<p class="subtitle">${esc(reportIds.join(' · '))}</p>
<dl class="meta">${meta}</dl>
</div></header>
<main class="wrap">
<section aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>
<div class="tiles">${tiles}</div>
<div class="matrix-wrap" tabindex="0" role="region" aria-label="Rulesets by ${esc(merged.distinctBy)}"><table class="matrix"><thead><tr><th scope="col">Ruleset</th>${head}</tr></thead><tbody>${matrixRows}</tbody></table></div>
</section>
${toolbar({ ...filters, noun: 'rules' })}
<div id="rules">${sections}</div>
</main>
<footer class="wrap">Merged by Argus ${esc(argusVersion)}, distinct by metadata <code>${esc(merged.distinctBy)}</code>. A rule counts under its worst result in each ${esc(merged.distinctBy)}.</footer>`;
  return page({ title: `${title} · Argus merged compliance report`, body });
}
