// A scan report as one self-contained HTML page: a summary at a glance (per ruleset: rules and findings per
// status, a status bar), then every ruleset's rules with their checks and targets, with filtering by status and
// severity, free-text search, collapse/expand and a print stylesheet. Every value from the report is escaped.
import { severities, statusRank, type Status } from '../engine/result.ts';
import { version as argusVersion } from '../../util/version.ts';
import {
  badge,
  collapsible,
  displayOrder,
  esc,
  formatTime,
  legend,
  metadataValue,
  page,
  severityPill,
  statusBar,
  statusClass,
  targetTable,
  toolbar,
  zeroCounts,
  type TargetRow,
} from './html-style.ts';
import { summarizeRuleset, type Report, type ReportCheck, type ReportRule, type StatusCounts } from './report.ts';

/** The highest-priority status among a rule's checks, undefined when it has none. */
export function ruleWorst(checks: readonly { status: Status }[]): Status | undefined {
  let worst: Status | undefined;
  for (const c of checks) if (!worst || statusRank(c.status) > statusRank(worst)) worst = c.status;
  return worst;
}

/** Rules counted once each, under their worst status: what the status bars show. */
export function rulesByWorst(rules: readonly { checks: readonly { status: Status }[] }[]): StatusCounts {
  const counts = zeroCounts();
  for (const rule of rules) {
    const worst = ruleWorst(rule.checks);
    if (worst) counts[worst] += 1;
  }
  return counts;
}

/** Checks sorted so that problems come first, in the display order of statuses (stable otherwise). */
export function sortChecks<T extends { status: Status }>(checks: readonly T[]): T[] {
  return [...checks].sort((a, b) => displayOrder.indexOf(a.status) - displayOrder.indexOf(b.status));
}

export const logo = `<svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/><circle cx="12" cy="12" r="3.2" fill="currentColor"/></svg>`;

/** One check: its status, message and targets. `rows` defaults to the check's own targets. */
export function checkBlock(check: { status: Status; message: string }, rows: TargetRow[], note = ''): string {
  const count = rows.length === 0 ? '' : rows.length === 1 ? '1 target' : `${rows.length} targets`;
  const line = [note, count].filter(Boolean).join(' · ');
  return `<div class="check" data-status="${esc(check.status)}">${badge(check.status)}<div class="body"><p class="msg">${esc(check.message)}</p>${line ? `<div class="n">${esc(line)}</div>` : ''}${targetTable(rows)}</div></div>`;
}

/** A rule's collapsible header: status HTML, id, name, severity, and a short text (or `extra` HTML) at the side. */
export function ruleHeader(
  rule: { id: string; name: string; severity?: string | undefined },
  status: string,
  mini: string,
  extra?: string,
): string {
  return `${status}<span class="title"><span class="rid">${esc(rule.id)}</span><span class="name">${esc(rule.name)}</span></span><span class="side"><span class="sev-slot">${severityPill(rule.severity)}</span>${extra ?? `<span class="mini">${esc(mini)}</span>`}</span>`;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
}

export function checksSummary(checks: readonly ReportCheck[]): string {
  const findings = checks.reduce((sum, c) => sum + Math.max(1, c.targets?.length ?? 0), 0);
  return checks.length === 0 ? 'no checks' : `${plural(checks.length, 'check')} · ${plural(findings, 'finding')}`;
}

function ruleItem(rule: ReportRule, id: string): string {
  const statuses = [...new Set(rule.checks.map((c) => c.status))];
  const checks = sortChecks(rule.checks);
  const body =
    checks.length === 0
      ? '<p class="empty">No checks at or above the minimum status of the report.</p>'
      : checks
          .map((c) =>
            checkBlock(
              c,
              (c.targets ?? []).map((target) => ({ target })),
            ),
          )
          .join('');
  return collapsible({
    id: `${id}-body`,
    classes: 'rule',
    attributes: {
      id,
      'data-statuses': statuses.join('|'),
      'data-severity': rule.severity ?? 'None',
      'data-rule': rule.id,
    },
    header: ruleHeader(rule, badge(ruleWorst(rule.checks)), checksSummary(rule.checks)),
    body,
  });
}

/** The statuses and severities present, in display order, for the filter toolbar. */
export function presentFilters(rules: readonly { severity?: string | undefined; statuses: Status[] }[]): {
  statuses: Status[];
  severities: string[];
} {
  const seenStatuses = new Set(rules.flatMap((r) => r.statuses));
  const seenSeverities = new Set(rules.map((r) => r.severity ?? 'None'));
  const order = [...[...severities].reverse(), 'None'];
  return {
    statuses: displayOrder.filter((s) => seenStatuses.has(s)),
    severities: seenSeverities.size > 1 ? order.filter((s) => seenSeverities.has(s)) : [],
  };
}

function countsTable(rules: StatusCounts, findings: StatusCounts): string {
  const rows = displayOrder
    .filter((s) => rules[s] > 0 || findings[s] > 0)
    .map(
      (s) =>
        `<tr><td><span class="dot ${statusClass(s)}"></span>${esc(s)}</td><td>${rules[s].toLocaleString('en')}</td><td>${findings[s].toLocaleString('en')}</td></tr>`,
    )
    .join('');
  if (!rows) return '<p class="empty">No checks in this ruleset.</p>';
  return `<table class="counts"><thead><tr><th scope="col">Status</th><th scope="col">Rules</th><th scope="col">Findings</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function metaList(entries: [string, string][]): string {
  if (entries.length === 0) return '';
  return `<dl class="meta">${entries.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`;
}

/** The report's title: its cluster (or other identifying metadata) when it has one. */
export function reportTitle(metadata: Record<string, unknown> | undefined): string {
  for (const key of ['cluster', 'clusterName', 'shoot', 'name']) {
    const v = metadata?.[key];
    if (typeof v === 'string' && v) return v;
  }
  return 'Compliance scan';
}

export function renderHtml(report: Report): string {
  const rulesets = report.providers.flatMap((p, pi) =>
    p.rulesets.map((rs, ri) => ({ provider: p, ruleset: rs, anchor: `rs-${pi}-${ri}`, summary: summarizeRuleset(rs) })),
  );
  const allRules = rulesets.flatMap((r) => r.ruleset.rules);
  const totals = { rules: rulesByWorst(allRules), findings: zeroCounts() };
  for (const { summary } of rulesets) for (const s of displayOrder) totals.findings[s] += summary.findings[s];
  const title = reportTitle(report.metadata);

  const meta: [string, string][] = [['Scanned', formatTime(report.time)]];
  for (const [k, v] of Object.entries(report.metadata ?? {})) meta.push([k, metadataValue(v)]);
  meta.push(['Scanner version', report.dikiVersion]);
  if (report.minStatus) meta.push(['Minimum status', report.minStatus]);

  const tiles = [
    `<div class="tile"><div class="n">${allRules.length.toLocaleString('en')}</div><div class="l">rules</div><div class="s">${plural(rulesets.length, 'ruleset')}</div></div>`,
    ...displayOrder
      .filter((s) => totals.rules[s] > 0 || ['Failed', 'Errored', 'Warning', 'Passed'].includes(s))
      .map(
        (s) =>
          `<div class="tile ${statusClass(s)}" data-tile="${esc(s)}"><div class="n">${totals.rules[s].toLocaleString('en')}</div><div class="l">${esc(s)}</div><div class="s">${plural(totals.findings[s], 'finding')}</div></div>`,
      ),
  ].join('');

  const cards = rulesets
    .map(({ provider, ruleset, anchor, summary }) => {
      const byWorst = rulesByWorst(ruleset.rules);
      return `<article class="card" data-ruleset="${esc(ruleset.id)}" data-version="${esc(ruleset.version)}">
<h3><a href="#${anchor}">${esc(ruleset.name)}</a></h3>
<p class="id"><code>${esc(ruleset.id)}</code> ${esc(ruleset.version)} · ${esc(provider.name)} · ${plural(ruleset.rules.length, 'rule')}</p>
${statusBar(byWorst, `${ruleset.name}, rules by worst result`)}
${countsTable(byWorst, summary.findings)}
</article>`;
    })
    .join('\n');

  const filters = presentFilters(
    allRules.map((r) => ({ severity: r.severity, statuses: r.checks.map((c) => c.status) })),
  );

  let ruleCounter = 0;
  const sections = report.providers
    .map((provider, pi) => {
      const providerMeta = Object.entries(provider.metadata ?? {});
      const head =
        report.providers.length > 1 || providerMeta.length > 0
          ? `<div class="provider-head"><h2>${esc(provider.name)}<span class="sub">${esc(provider.id)}</span></h2></div>${metaList(providerMeta)}`
          : '';
      const body = provider.rulesets
        .map((ruleset, ri) => {
          const items = ruleset.rules.map((rule) => ruleItem(rule, `rule-${++ruleCounter}`)).join('\n');
          return `<section class="ruleset" id="rs-${pi}-${ri}" data-group aria-labelledby="rs-${pi}-${ri}-h">
<h3 id="rs-${pi}-${ri}-h">${esc(ruleset.name)}<span class="sub"><code>${esc(ruleset.id)}</code> ${esc(ruleset.version)}</span></h3>
<div class="rs-meta">${legend(rulesByWorst(ruleset.rules))}</div>
<div class="items">${items || '<p class="empty">This ruleset has no rules.</p>'}<p class="empty hidden no-print">No rules match the filters.</p></div>
</section>`;
        })
        .join('\n');
      return head + body;
    })
    .join('\n');

  const body = `<a class="skip-link" href="#rules">Skip to the rules</a>
<header class="top"><div class="wrap">
<div class="brand">${logo}Argus compliance report</div>
<h1>${esc(title)}</h1>
<p class="subtitle">${plural(rulesets.length, 'ruleset')} · ${plural(allRules.length, 'rule')} · ${plural(
    statusSum(totals.findings),
    'finding',
  )}</p>
${metaList(meta)}
</div></header>
<main class="wrap">
<section aria-labelledby="summary-h"><h2 id="summary-h">Summary<span class="sub">rules by their worst result</span></h2>
<div class="tiles">${tiles}</div>
<div class="cards">${cards || '<p class="empty">The report has no rulesets.</p>'}</div>
</section>
${toolbar({ ...filters, noun: 'rules' })}
<div id="rules">${sections}</div>
</main>
<footer class="wrap">Rendered by Argus ${esc(argusVersion)} from the report of ${esc(report.time)}. A rule counts under its worst result; a finding is one check of one target.</footer>`;
  return page({ title: `${title} · Argus compliance report`, body });
}

function statusSum(counts: StatusCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
