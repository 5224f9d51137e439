// Findings added and removed between two scan reports, as JSON and as HTML in the report's visual language.
//
// A finding is one check of one target: provider, ruleset, version, rule, status, message and target (a check
// without targets is one finding without a target). Two findings are the same when all of these are equal
// (target keys in any order); the rule's name and severity are carried along but are not part of the identity.
// Every status is compared the same way, so a target that went from Failed to Passed shows as a removed Failed
// finding and an added Passed finding. Findings are counted as a multiset: a finding present twice in the new
// report and once in the old one is added once.
//
// JSON shape (`ReportDiff`):
//   {
//     "kind": "ReportDiff",
//     "old": {"time": "...", "dikiVersion": "...", "metadata": {...}},   // metadata only when the report has it
//     "new": {"time": "...", "dikiVersion": "...", "metadata": {...}},
//     "summary": {"added": {"Failed": 3, "Passed": 1, ...}, "removed": {...}, "unchanged": 120},  // every status
//     "added":   [Finding, ...],   // in the order of the new report
//     "removed": [Finding, ...]    // in the order of the old report
//   }
//   Finding: {"provider", "ruleset", "version", "rule", "ruleName", "severity"?, "status", "message", "target"?}
import { statuses, type Severity, type Status } from '../engine/result.ts';
import {
  badge,
  collapsible,
  displayOrder,
  esc,
  formatTime,
  metadataValue,
  page,
  statusClass,
  targetTable,
  toolbar,
  zeroCounts,
} from './html-style.ts';
import { logo, presentFilters, reportTitle, ruleHeader } from './html.ts';
import type { Report, StatusCounts } from './report.ts';

export interface Finding {
  provider: string;
  ruleset: string;
  version: string;
  rule: string;
  ruleName: string;
  severity?: Severity;
  status: Status;
  message: string;
  target?: Record<string, string>;
}

export interface ReportSide {
  time: string;
  dikiVersion: string;
  metadata?: Record<string, unknown>;
}

export interface ReportDiff {
  kind: 'ReportDiff';
  old: ReportSide;
  new: ReportSide;
  summary: { added: StatusCounts; removed: StatusCounts; unchanged: number };
  added: Finding[];
  removed: Finding[];
}

/** Every finding of a report, in report order. */
export function findings(report: Report): Finding[] {
  const out: Finding[] = [];
  for (const p of report.providers)
    for (const rs of p.rulesets)
      for (const r of rs.rules)
        for (const c of r.checks) {
          const base: Finding = {
            provider: p.id,
            ruleset: rs.id,
            version: rs.version,
            rule: r.id,
            ruleName: r.name,
            ...(r.severity ? { severity: r.severity } : {}),
            status: c.status,
            message: c.message,
          };
          if (!c.targets || c.targets.length === 0) out.push(base);
          else for (const target of c.targets) out.push({ ...base, target });
        }
  return out;
}

/** The identity of a finding: everything but the rule's name and severity, target keys sorted. */
export function findingKey(f: Finding): string {
  const target = f.target ? Object.entries(f.target).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : null;
  return JSON.stringify([f.provider, f.ruleset, f.version, f.rule, f.status, f.message, target]);
}

function side(report: Report): ReportSide {
  return {
    time: report.time,
    dikiVersion: report.dikiVersion,
    ...(report.metadata ? { metadata: report.metadata } : {}),
  };
}

export function diffReports(oldReport: Report, newReport: Report): ReportDiff {
  const oldFindings = findings(oldReport);
  const newFindings = findings(newReport);
  const remaining = new Map<string, number>();
  for (const f of oldFindings) {
    const key = findingKey(f);
    remaining.set(key, (remaining.get(key) ?? 0) + 1);
  }
  const added: Finding[] = [];
  let unchanged = 0;
  for (const f of newFindings) {
    const key = findingKey(f);
    const n = remaining.get(key) ?? 0;
    if (n > 0) {
      remaining.set(key, n - 1);
      unchanged += 1;
    } else added.push(f);
  }
  const removed: Finding[] = [];
  for (const f of oldFindings) {
    const key = findingKey(f);
    const n = remaining.get(key) ?? 0;
    if (n > 0) {
      remaining.set(key, n - 1);
      removed.push(f);
    }
  }
  const count = (list: Finding[]): StatusCounts => {
    const counts = zeroCounts();
    for (const f of list) counts[f.status] += 1;
    return counts;
  };
  return {
    kind: 'ReportDiff',
    old: side(oldReport),
    new: side(newReport),
    summary: { added: count(added), removed: count(removed), unchanged },
    added,
    removed,
  };
}

type Change = 'added' | 'removed';

interface RuleChanges {
  rule: string;
  ruleName: string;
  severity?: Severity | undefined;
  /** (change, status, message) groups with their targets, in first-seen order. */
  groups: Map<string, { change: Change; status: Status; message: string; targets: Record<string, string>[] }>;
  added: number;
  removed: number;
}

interface RulesetChanges {
  provider: string;
  ruleset: string;
  version: string;
  rules: Map<string, RuleChanges>;
}

function group(diff: ReportDiff): RulesetChanges[] {
  const rulesets = new Map<string, RulesetChanges>();
  const take = (f: Finding, change: Change): void => {
    const rsKey = JSON.stringify([f.provider, f.ruleset, f.version]);
    let rs = rulesets.get(rsKey);
    if (!rs) {
      rs = { provider: f.provider, ruleset: f.ruleset, version: f.version, rules: new Map() };
      rulesets.set(rsKey, rs);
    }
    let rule = rs.rules.get(f.rule);
    if (!rule) {
      rule = { rule: f.rule, ruleName: f.ruleName, severity: f.severity, groups: new Map(), added: 0, removed: 0 };
      rs.rules.set(f.rule, rule);
    }
    rule[change] += 1;
    const gKey = JSON.stringify([change, f.status, f.message]);
    let g = rule.groups.get(gKey);
    if (!g) {
      g = { change, status: f.status, message: f.message, targets: [] };
      rule.groups.set(gKey, g);
    }
    if (f.target) g.targets.push(f.target);
  };
  for (const f of diff.added) take(f, 'added');
  for (const f of diff.removed) take(f, 'removed');
  return [...rulesets.values()];
}

const signed = (sign: string, n: number): string => (n === 0 ? '–' : `${sign}${n.toLocaleString('en')}`);

function changeBadge(change: Change): string {
  return `<span class="badge ${change}"><span class="diff-sign" aria-hidden="true">${change === 'added' ? '+' : '−'}</span>${change === 'added' ? 'Added' : 'Removed'}</span>`;
}

function describeSide(name: string, s: ReportSide): string {
  const meta = Object.entries(s.metadata ?? {})
    .map(([k, v]) => `${k}=${metadataValue(v)}`)
    .join(', ');
  return `<div><dt>${esc(name)}</dt><dd>${esc(formatTime(s.time))}${meta ? ` · ${esc(meta)}` : ''}</dd></div>`;
}

export function renderDiffHtml(diff: ReportDiff): string {
  const oldTitle = reportTitle(diff.old.metadata);
  const newTitle = reportTitle(diff.new.metadata);
  const title = oldTitle === newTitle ? oldTitle : `${oldTitle} → ${newTitle}`;
  const total = (c: StatusCounts): number => statuses.reduce((sum, s) => sum + c[s], 0);
  const problems = (c: StatusCounts): number => c.Failed + c.Errored + c.Warning;
  const addedTotal = total(diff.summary.added);
  const removedTotal = total(diff.summary.removed);

  const tiles = [
    `<div class="tile added" data-tile="added"><div class="n">${addedTotal.toLocaleString('en')}</div><div class="l">findings added</div><div class="s">${problems(diff.summary.added).toLocaleString('en')} failed, errored or warning</div></div>`,
    `<div class="tile removed" data-tile="removed"><div class="n">${removedTotal.toLocaleString('en')}</div><div class="l">findings removed</div><div class="s">${problems(diff.summary.removed).toLocaleString('en')} failed, errored or warning</div></div>`,
    `<div class="tile" data-tile="unchanged"><div class="n">${diff.summary.unchanged.toLocaleString('en')}</div><div class="l">findings unchanged</div></div>`,
  ].join('');
  const rows = displayOrder
    .filter((s) => diff.summary.added[s] > 0 || diff.summary.removed[s] > 0)
    .map(
      (s) =>
        `<tr><td><span class="dot ${statusClass(s)}"></span>${esc(s)}</td><td>${signed('+', diff.summary.added[s])}</td><td>${signed('−', diff.summary.removed[s])}</td></tr>`,
    )
    .join('');
  const countsTable = rows
    ? `<div class="card"><table class="counts"><thead><tr><th scope="col">Status</th><th scope="col">Added</th><th scope="col">Removed</th></tr></thead><tbody>${rows}</tbody></table></div>`
    : '';

  const groups = group(diff);
  const allRules = groups.flatMap((g) => [...g.rules.values()]);
  const filters = presentFilters(
    allRules.map((r) => ({ severity: r.severity, statuses: [...r.groups.values()].map((g) => g.status) })),
  );
  let counter = 0;
  const sections = groups
    .map((rs, i) => {
      const items = [...rs.rules.values()]
        .map((rule) => {
          const id = `change-${++counter}`;
          const sorted = [...rule.groups.values()].sort(
            (a, b) =>
              (a.change === b.change ? 0 : a.change === 'added' ? -1 : 1) ||
              displayOrder.indexOf(a.status) - displayOrder.indexOf(b.status),
          );
          const body = sorted
            .map((g) => {
              const n = g.targets.length;
              return `<div class="check" data-status="${esc(g.status)}" data-change="${g.change}"><div class="badges">${changeBadge(g.change)} ${badge(g.status)}</div><div class="body"><p class="msg">${esc(g.message)}</p>${n ? `<div class="n">${n === 1 ? '1 target' : `${n} targets`}</div>` : ''}${targetTable(g.targets.map((target) => ({ target })))}</div></div>`;
            })
            .join('');
          const counts = [rule.added ? `+${rule.added}` : '', rule.removed ? `−${rule.removed}` : '']
            .filter(Boolean)
            .join(' ');
          const lead =
            rule.added && rule.removed
              ? '<span class="badge none">Changed</span>'
              : changeBadge(rule.added ? 'added' : 'removed');
          return collapsible({
            id: `${id}-body`,
            classes: 'rule',
            attributes: {
              id,
              'data-statuses': [...new Set(sorted.map((g) => g.status))].join('|'),
              'data-severity': rule.severity ?? 'None',
              'data-rule': rule.rule,
            },
            header: ruleHeader(
              { id: rule.rule, name: rule.ruleName, severity: rule.severity },
              lead,
              `${counts} findings`,
            ),
            body,
          });
        })
        .join('\n');
      return `<section class="ruleset" id="rs-${i}" data-group aria-labelledby="rs-${i}-h">
<h3 id="rs-${i}-h"><code>${esc(rs.ruleset)}</code><span class="sub">${esc(rs.version)} · ${esc(rs.provider)}</span></h3>
<div class="items">${items}<p class="empty hidden no-print">No changes match the filters.</p></div>
</section>`;
    })
    .join('\n');

  const body = `<a class="skip-link" href="#changes">Skip to the changes</a>
<header class="top"><div class="wrap">
<div class="brand">${logo}Argus report diff</div>
<h1>${esc(title)}</h1>
<p class="subtitle">+${addedTotal.toLocaleString('en')} added · −${removedTotal.toLocaleString('en')} removed · ${diff.summary.unchanged.toLocaleString('en')} unchanged</p>
<dl class="meta">${describeSide('Old report', diff.old)}${describeSide('New report', diff.new)}</dl>
</div></header>
<main class="wrap">
<section aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>
<div class="tiles">${tiles}</div>
${countsTable}
</section>
${groups.length > 0 ? toolbar({ ...filters, noun: 'changed rules' }) : ''}
<div id="changes">${sections || '<p class="empty">The two reports have the same findings.</p>'}</div>
</main>
<footer class="wrap">A finding is one check of one target; it is added or removed when its provider, ruleset, version, rule, status, message or target differs.</footer>`;
  return page({ title: `${title} · Argus report diff`, body, noun: 'changed rules' });
}
