// The visual language shared by the HTML renderings (report, diff, merged report): escaping, the page shell
// with inline CSS (light and dark, print), status badges and bars, and the small inline script for filtering,
// search and collapse/expand. Pages are self-contained: no external assets, they work offline and from file://.
import { statuses, type Status } from '../engine/result.ts';
import type { StatusCounts } from './report.ts';

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => htmlEscapes[c] ?? c);
}

/** Statuses in the order a reader wants them: problems first, then the rest, Not Implemented last. */
export const displayOrder: readonly Status[] = [
  'Failed',
  'Errored',
  'Warning',
  'Passed',
  'Accepted',
  'Skipped',
  'Not Implemented',
];

/** A CSS class name for a status (`Not Implemented` -> `not-implemented`). */
export function statusClass(status: Status): string {
  return status.toLowerCase().replace(/\s+/g, '-');
}

export function badge(status: Status | undefined, label?: string): string {
  if (!status) return `<span class="badge none">${esc(label ?? 'No checks')}</span>`;
  return `<span class="badge ${statusClass(status)}">${esc(label ?? status)}</span>`;
}

export function severityPill(severity: string | undefined): string {
  if (!severity) return '';
  return `<span class="sev ${esc(severity.toLowerCase())}" title="Severity ${esc(severity)}">${esc(severity)}</span>`;
}

export function zeroCounts(): StatusCounts {
  return Object.fromEntries(statuses.map((s) => [s, 0])) as StatusCounts;
}

/** A horizontal bar with one segment per status, widths proportional to the counts. */
export function statusBar(counts: StatusCounts, label: string, unit = 'rules'): string {
  const total = statuses.reduce((sum, s) => sum + counts[s], 0);
  const parts = displayOrder.filter((s) => counts[s] > 0);
  const describe = parts.map((s) => `${counts[s]} ${s}`).join(', ') || `no ${unit}`;
  const segments = parts
    .map((s) => {
      const pct = ((counts[s] / total) * 100).toFixed(3);
      return `<span class="seg ${statusClass(s)}" style="width:${pct}%" title="${esc(`${s}: ${counts[s]} ${unit}`)}"></span>`;
    })
    .join('');
  return `<div class="bar" role="img" aria-label="${esc(`${label}: ${describe}`)}">${segments}</div>`;
}

/** Counts of each status as small legend chips; statuses with zero are left out. */
export function legend(counts: StatusCounts): string {
  const items = displayOrder
    .filter((s) => counts[s] > 0)
    .map((s) => `<li><span class="dot ${statusClass(s)}"></span>${esc(s)} <b>${counts[s]}</b></li>`)
    .join('');
  return `<ul class="legend">${items}</ul>`;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
    .replace(/Z$/, ' UTC');
}

/** Metadata values are strings in reports from scans; anything else (from other tools) prints as JSON. */
export function metadataValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Target keys in reading order: the Kubernetes identity first, then the rest alphabetically. */
const keyOrder = ['kind', 'namespace', 'name', 'container', 'node'];
export function targetColumns(targets: readonly Record<string, string>[]): string[] {
  const keys = new Set<string>();
  for (const t of targets) for (const k of Object.keys(t)) keys.add(k);
  return [...keys].sort((a, b) => {
    const ia = keyOrder.indexOf(a);
    const ib = keyOrder.indexOf(b);
    if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    return a.localeCompare(b);
  });
}

export interface TargetRow {
  target: Record<string, string>;
  /** Extra leading cells, e.g. the cluster a merged target came from. */
  lead?: { column: string; value: string }[];
}

/** A compact table of targets; long ones scroll inside their own box. */
export function targetTable(rows: TargetRow[]): string {
  if (rows.length === 0) return '';
  const leadColumns = rows[0]?.lead?.map((l) => l.column) ?? [];
  const columns = targetColumns(rows.map((r) => r.target));
  const head = [...leadColumns, ...columns].map((c) => `<th scope="col">${esc(c)}</th>`).join('');
  const body = rows
    .map((r) => {
      const lead = (r.lead ?? []).map((l) => `<td class="lead">${esc(l.value)}</td>`).join('');
      const cells = columns
        .map((c) => {
          const v = r.target[c] ?? '';
          return v.length > 48 ? `<td class="long">${esc(v)}</td>` : `<td>${esc(v)}</td>`;
        })
        .join('');
      return `<tr>${lead}${cells}</tr>`;
    })
    .join('');
  const count = rows.length === 1 ? '1 target' : `${rows.length} targets`;
  return `<div class="targets" tabindex="0" role="region" aria-label="${esc(count)}"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

export interface PageOptions {
  title: string;
  /** Trusted HTML built with `esc`. */
  body: string;
  /** What the filtered items are called in the live count ("rules", "changes"). */
  noun?: string;
}

/** The whole page: head, inline CSS, body and the script. */
export function page({ title, body, noun = 'rules' }: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="argus">
<title>${esc(title)}</title>
<style>${css}</style>
</head>
<body data-noun="${esc(noun)}">
${body}
<script>${script}</script>
</body>
</html>
`;
}

/** The filter toolbar: search, status and severity toggles, expand/collapse, and a live count. */
export function toolbar(options: { statuses: readonly Status[]; severities: readonly string[]; noun: string }): string {
  const statusButtons = options.statuses
    .map(
      (s) =>
        `<button type="button" class="chip ${statusClass(s)}" data-filter="status" data-value="${esc(s)}" aria-pressed="true"><span class="dot ${statusClass(s)}"></span>${esc(s)}</button>`,
    )
    .join('');
  const severityButtons = options.severities
    .map(
      (s) =>
        `<button type="button" class="chip" data-filter="severity" data-value="${esc(s)}" aria-pressed="true">${esc(s)}</button>`,
    )
    .join('');
  return `<div class="toolbar" role="search" aria-label="Filter ${esc(options.noun)}">
<div class="search"><label for="q" class="visually-hidden">Search ${esc(options.noun)}</label><svg aria-hidden="true" viewBox="0 0 20 20" width="16" height="16"><circle cx="8.5" cy="8.5" r="5.5" fill="none" stroke="currentColor" stroke-width="2"/><path d="M13 13l4.5 4.5" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg><input id="q" type="search" placeholder="Search rule ids, names, messages, targets" autocomplete="off" spellcheck="false"></div>
<div class="filters">
<div class="group" role="group" aria-label="Status">${statusButtons}</div>
${severityButtons ? `<div class="group" role="group" aria-label="Severity"><span class="group-label" aria-hidden="true">Severity</span>${severityButtons}</div>` : ''}
<div class="group actions"><button type="button" class="link" data-action="problems">Problems only</button><button type="button" class="link" data-action="reset">Reset</button><button type="button" class="link" data-action="expand">Expand all</button><button type="button" class="link" data-action="collapse">Collapse all</button></div>
</div>
<p class="count" id="count" role="status" aria-live="polite"></p>
</div>`;
}

/**
 * A collapsible item (a rule, a diff entry): a heading with a button that toggles the body. The markup is
 * readable with the script off (everything shown) and in print (everything expanded).
 */
export function collapsible(options: {
  id: string;
  classes?: string;
  attributes: Record<string, string>;
  header: string;
  body: string;
}): string {
  const attrs = Object.entries(options.attributes)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
  return `<article class="item ${options.classes ?? ''}"${attrs}>
<h4 class="item-head"><button type="button" class="toggle" aria-expanded="false" aria-controls="${esc(options.id)}">${options.header}<svg class="chev" aria-hidden="true" viewBox="0 0 20 20" width="16" height="16"><path d="M7 5l5 5-5 5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg></button></h4>
<div class="item-body" id="${esc(options.id)}">${options.body}</div>
</article>`;
}

const css = `
:root{color-scheme:light dark;
--bg:#f6f7f9;--panel:#fff;--panel-2:#f1f3f6;--text:#161b26;--muted:#5d6679;--faint:#8a93a6;--line:#e3e6ec;--line-2:#d4d9e1;
--accent:#3b5bdb;--focus:#4c6ef5;--shadow:0 1px 2px rgba(16,24,40,.06),0 1px 3px rgba(16,24,40,.08);
--failed:#d92d20;--failed-bg:#fef3f2;--errored:#c11574;--errored-bg:#fdf2fa;--warning:#b54708;--warning-bg:#fffaeb;--warning-bar:#f79009;
--passed:#067647;--passed-bg:#ecfdf3;--passed-bar:#17b26a;--accepted:#175cd3;--accepted-bg:#eff8ff;--accepted-bar:#2e90fa;
--skipped:#475467;--skipped-bg:#f2f4f7;--skipped-bar:#98a2b3;--ni:#6941c6;--ni-bg:#f4f3ff;--ni-bar:#bdb4fe;
--added:#067647;--added-bg:#ecfdf3;--removed:#b42318;--removed-bg:#fef3f2;
--mono:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;
--sans:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
@media (prefers-color-scheme:dark){:root{
--bg:#0c111d;--panel:#141a29;--panel-2:#1b2335;--text:#e6e9f0;--muted:#a1aabb;--faint:#737d91;--line:#262f42;--line-2:#323d54;
--accent:#8ea2ff;--focus:#8ea2ff;--shadow:0 1px 2px rgba(0,0,0,.4);
--failed:#ff8a80;--failed-bg:#3a1518;--errored:#f472c0;--errored-bg:#37142b;--warning:#fdb022;--warning-bg:#35260b;--warning-bar:#f79009;
--passed:#5fd99a;--passed-bg:#0f2a1d;--passed-bar:#17b26a;--accepted:#84caff;--accepted-bg:#0f2440;--accepted-bar:#2e90fa;
--skipped:#b3bccb;--skipped-bg:#232b3b;--skipped-bar:#667085;--ni:#c3b5fd;--ni-bg:#241c42;--ni-bar:#7a5af8;
--added:#5fd99a;--added-bg:#0f2a1d;--removed:#ff8a80;--removed-bg:#3a1518}}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 var(--sans);overflow-wrap:anywhere}
.wrap{max-width:1200px;margin:0 auto;padding:0 24px}
code,.mono{font-family:var(--mono);font-size:.9em}
a{color:var(--accent)}
:focus-visible{outline:2px solid var(--focus);outline-offset:2px;border-radius:4px}
.visually-hidden{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.skip-link{position:absolute;left:-999px;top:8px;background:var(--panel);padding:8px 12px;border-radius:6px;z-index:10}
.skip-link:focus{left:8px}
header.top{background:var(--panel);border-bottom:1px solid var(--line);padding:28px 0 24px}
.brand{display:flex;align-items:center;gap:8px;color:var(--muted);font-size:13px;font-weight:600;letter-spacing:.06em;text-transform:uppercase}
.brand svg{color:var(--accent)}
h1{font-size:28px;line-height:1.2;margin:6px 0 4px;letter-spacing:-.01em}
.subtitle{color:var(--muted);margin:0}
dl.meta{display:flex;flex-wrap:wrap;gap:8px 28px;margin:18px 0 0}
dl.meta div{min-width:0}
dl.meta dt{color:var(--faint);font-size:12px}
dl.meta dd{margin:0;font-weight:500}
main{padding:24px 0 64px}
h2{font-size:20px;margin:32px 0 12px;letter-spacing:-.005em}
h2 .sub,h3 .sub{color:var(--muted);font-weight:400;font-size:.8em;margin-left:6px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(124px,1fr));gap:12px;margin:8px 0 20px}
.tile{background:var(--panel);border:1px solid var(--line);border-radius:12px;padding:14px 16px;box-shadow:var(--shadow);border-top:4px solid var(--line-2)}
.tile .n{font-size:28px;font-weight:700;line-height:1.1;font-variant-numeric:tabular-nums}
.tile .l{color:var(--muted);font-size:13px}
.tile .s{color:var(--faint);font-size:12px}
.tile.failed{border-top-color:var(--failed)}.tile.failed .n{color:var(--failed)}
.tile.errored{border-top-color:var(--errored)}.tile.errored .n{color:var(--errored)}
.tile.warning{border-top-color:var(--warning-bar)}.tile.warning .n{color:var(--warning)}
.tile.passed{border-top-color:var(--passed-bar)}.tile.passed .n{color:var(--passed)}
.tile.accepted{border-top-color:var(--accepted-bar)}.tile.accepted .n{color:var(--accepted)}
.tile.skipped{border-top-color:var(--skipped-bar)}.tile.skipped .n{color:var(--skipped)}
.tile.not-implemented{border-top-color:var(--ni-bar)}.tile.not-implemented .n{color:var(--ni)}
.tile.added{border-top-color:var(--added)}.tile.added .n{color:var(--added)}
.tile.removed{border-top-color:var(--removed)}.tile.removed .n{color:var(--removed)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:12px;padding:18px 20px;box-shadow:var(--shadow);min-width:0}
.card h3{margin:0;font-size:16px;line-height:1.3}
.card h3 a{color:inherit;text-decoration:none}.card h3 a:hover{text-decoration:underline}
.card .id{color:var(--muted);font-size:13px;margin:2px 0 12px}
.bar{display:flex;height:12px;border-radius:999px;overflow:hidden;background:var(--panel-2);margin:8px 0 10px}
.bar .seg{display:block;height:100%;min-width:3px}
.bar .seg+.seg{box-shadow:-2px 0 0 var(--panel)}
.seg.failed,.dot.failed{background:var(--failed)}.seg.errored,.dot.errored{background:var(--errored)}
.seg.warning,.dot.warning{background:var(--warning-bar)}.seg.passed,.dot.passed{background:var(--passed-bar)}
.seg.accepted,.dot.accepted{background:var(--accepted-bar)}.seg.skipped,.dot.skipped{background:var(--skipped-bar)}
.seg.not-implemented,.dot.not-implemented{background:repeating-linear-gradient(135deg,var(--ni-bar) 0 4px,transparent 4px 7px),var(--ni-bg)}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px;flex:none}
.legend{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px;color:var(--muted)}
.legend b{color:var(--text);font-variant-numeric:tabular-nums;font-weight:600}
table.counts{width:100%;border-collapse:collapse;font-size:13px;margin-top:12px;font-variant-numeric:tabular-nums}
table.counts th,table.counts td{padding:4px 6px;text-align:right;border-bottom:1px solid var(--line)}
table.counts th:first-child,table.counts td:first-child{text-align:left}
table.counts thead th{color:var(--faint);font-weight:500;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
table.counts tr.zero td{color:var(--faint)}
.toolbar{position:sticky;top:0;z-index:5;background:color-mix(in srgb,var(--bg) 92%,transparent);backdrop-filter:blur(8px);-webkit-backdrop-filter:blur(8px);padding:12px 0 8px;margin:24px 0 4px;border-bottom:1px solid var(--line)}
.search{position:relative;max-width:560px}
.search svg{position:absolute;left:12px;top:50%;transform:translateY(-50%);color:var(--faint)}
.search input{width:100%;font:inherit;padding:9px 12px 9px 36px;border:1px solid var(--line-2);border-radius:10px;background:var(--panel);color:var(--text)}
.search input:focus{outline:2px solid var(--focus);outline-offset:0;border-color:transparent}
.filters{display:flex;flex-wrap:wrap;gap:8px 16px;margin-top:10px;align-items:center}
.group{display:flex;flex-wrap:wrap;gap:6px;align-items:center}
.group-label{color:var(--faint);font-size:12px;text-transform:uppercase;letter-spacing:.05em;margin-right:2px}
.chip{font:inherit;font-size:13px;display:inline-flex;align-items:center;padding:3px 10px;border-radius:999px;border:1px solid var(--line-2);background:var(--panel);color:var(--text);cursor:pointer}
.chip[aria-pressed="false"]{opacity:.5;text-decoration:line-through;background:transparent}
.chip:hover{border-color:var(--faint)}
.actions{margin-left:auto}
button.link{font:inherit;font-size:13px;background:none;border:0;color:var(--accent);cursor:pointer;padding:3px 4px}
button.link:hover{text-decoration:underline}
.count{margin:8px 0 0;color:var(--muted);font-size:13px;min-height:1.5em}
section.ruleset{margin-top:28px;scroll-margin-top:140px}
section.ruleset>h3{font-size:18px;margin:0 0 2px}
section.ruleset>.rs-meta{color:var(--muted);font-size:13px;margin:0 0 12px;display:flex;flex-wrap:wrap;gap:4px 16px;align-items:center}
.provider-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 12px}
.items{background:var(--panel);border:1px solid var(--line);border-radius:12px;box-shadow:var(--shadow);overflow:hidden}
.item+.item{border-top:1px solid var(--line)}
.item-head{margin:0;font-size:inherit;font-weight:inherit}
.toggle{all:unset;box-sizing:border-box;display:grid;grid-template-columns:auto minmax(0,1fr) auto auto;grid-template-areas:"badge title side chev";gap:4px 12px;align-items:center;width:100%;padding:11px 16px;cursor:pointer}
.toggle>.badge,.toggle>.badges{grid-area:badge}.toggle>.title{grid-area:title}.toggle>.side{grid-area:side;display:flex;gap:10px;align-items:center}.toggle>.chev{grid-area:chev}
.toggle:hover{background:var(--panel-2)}
.toggle:focus-visible{outline:2px solid var(--focus);outline-offset:-2px;border-radius:0}
.toggle .title{min-width:0;display:flex;gap:2px 12px;align-items:baseline}
.toggle .rid{font-family:var(--mono);font-size:13px;color:var(--muted);white-space:nowrap;flex:none;min-width:8ch}
.toggle .name{min-width:0}
.toggle .name{font-weight:500}
.toggle .mini{color:var(--faint);font-size:12px;white-space:nowrap;font-variant-numeric:tabular-nums;min-width:150px;text-align:right}
.toggle .side .sev-slot{min-width:74px;display:flex;justify-content:center}
.toggle>.badge{min-width:112px}
.chev{color:var(--faint);transition:transform .15s}
.toggle[aria-expanded="true"] .chev{transform:rotate(90deg)}
.js .item:not(.open) .item-body{display:none}
.item-body{padding:4px 16px 16px 16px;border-top:1px dashed var(--line)}
.badge{display:inline-block;font-size:12px;font-weight:600;line-height:1;padding:5px 8px;border-radius:6px;white-space:nowrap;min-width:70px;text-align:center}
.badge.failed{color:var(--failed);background:var(--failed-bg)}
.badge.errored{color:var(--errored);background:var(--errored-bg)}
.badge.warning{color:var(--warning);background:var(--warning-bg)}
.badge.passed{color:var(--passed);background:var(--passed-bg)}
.badge.accepted{color:var(--accepted);background:var(--accepted-bg)}
.badge.skipped{color:var(--skipped);background:var(--skipped-bg)}
.badge.not-implemented{color:var(--ni);background:var(--ni-bg)}
.badge.none{color:var(--faint);background:var(--panel-2)}
.badge.added{color:var(--added);background:var(--added-bg)}
.badge.removed{color:var(--removed);background:var(--removed-bg)}
.sev{font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.05em;padding:2px 7px;border-radius:999px;border:1px solid currentColor;white-space:nowrap}
.sev.high{color:var(--failed)}.sev.medium{color:var(--warning)}.sev.low{color:var(--skipped)}
.check{display:grid;grid-template-columns:auto minmax(0,1fr);gap:6px 12px;padding:12px 0 4px;align-items:start}
.check>.badge{min-width:112px}
.check>.badges{display:flex;flex-direction:column;gap:4px}
.check>.badges .badge{min-width:112px}
.check+.check{border-top:1px solid var(--line)}
.check .msg{margin:0;white-space:pre-wrap}
.check .body{min-width:0}
.check .n{color:var(--faint);font-size:12px}
.targets{margin-top:8px;max-height:360px;overflow:auto;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
.targets table{border-collapse:collapse;width:100%;font-family:var(--mono);font-size:12.5px}
.targets th{position:sticky;top:0;background:var(--panel-2);text-align:left;font-family:var(--sans);font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;padding:6px 10px;border-bottom:1px solid var(--line)}
.targets th,.targets td{white-space:nowrap}
.targets td{padding:5px 10px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:normal}
.targets td.long{white-space:normal;overflow-wrap:anywhere;min-width:28ch}
.targets tr:last-child td{border-bottom:0}
.targets td.lead{font-family:var(--sans);font-weight:600}
.empty{padding:14px 16px;color:var(--muted);font-style:italic}
.hidden{display:none!important}
.matrix-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:12px;background:var(--panel);box-shadow:var(--shadow)}
table.matrix{border-collapse:collapse;width:100%;font-size:13px}
table.matrix th,table.matrix td{padding:8px 12px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
table.matrix thead th{background:var(--panel-2);font-size:12px;color:var(--muted);font-weight:600}
table.matrix tbody tr:last-child td,table.matrix tbody tr:last-child th{border-bottom:0}
table.matrix td .bar{margin:4px 0;min-width:120px}
.cluster-cells{display:flex;flex-wrap:wrap;gap:4px 14px}
.cluster-cell{display:inline-flex;align-items:center;gap:6px;font-size:12px;color:var(--muted)}
.cluster-cell .badge{min-width:0}
.mini{color:var(--faint);font-size:12px}
.muted{color:var(--faint)}
.dot.none{background:var(--line-2)}
table.matrix th[scope=row]{font-weight:500;min-width:200px}
table.matrix th[scope=row] a{color:inherit;text-decoration:none}
table.matrix th[scope=row] .mini{font-weight:400}
.diff-sign{font-family:var(--mono);font-weight:700;width:1.2em;display:inline-block;text-align:center}
footer{color:var(--faint);font-size:12px;padding:24px 0 40px;border-top:1px solid var(--line)}
@media (max-width:640px){
.tiles{grid-template-columns:repeat(auto-fit,minmax(100px,1fr));gap:8px}
.tile{padding:10px 12px}
.tile .n{font-size:22px}
.wrap{padding:0 14px}
h1{font-size:22px}
.cards{grid-template-columns:minmax(0,1fr)}
.toggle{grid-template-columns:auto minmax(0,1fr) auto;grid-template-areas:"badge side chev" "title title chev";gap:6px 10px;padding:10px 12px}
.toggle>.badge{min-width:0}
.toggle>.side{justify-self:start}
.toggle .mini{min-width:0;text-align:left}
.toggle .side .sev-slot{min-width:0}
.toggle .title{flex-wrap:wrap}
.toggle .rid{min-width:0}
.item-body{padding:4px 12px 12px}
.check{grid-template-columns:minmax(0,1fr)}
.check>.badge{justify-self:start;min-width:0}
.check>.badges{flex-direction:row}
.check>.badges .badge{min-width:0}
.toolbar{position:static;backdrop-filter:none;-webkit-backdrop-filter:none}
.actions{margin-left:0}
.badge{min-width:0}
}
@media print{
:root{--bg:#fff;--panel:#fff;--panel-2:#f3f4f6;--text:#000;--muted:#333;--faint:#555;--line:#ccc;--line-2:#bbb;--shadow:none}
body{font-size:11pt;background:#fff}
.toolbar,.skip-link,.chev,.no-print{display:none!important}
.js .item .item-body,.item-body{display:block!important}
.item{break-inside:avoid-page}
.items,.card,.tile{box-shadow:none}
.targets{max-height:none;overflow:visible}
.targets th{position:static}
.targets th,.targets td{white-space:normal;overflow-wrap:anywhere}
header.top{border:0;padding-top:0}
a{color:inherit;text-decoration:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
`;

// The page script: no framework, no network. Filters hide items by their data attributes; search matches
// every term against the item's own text (id, name) and its checks' messages and target rows.
const script = `
(function(){
document.documentElement.classList.add('js');
var $=function(s,r){return Array.prototype.slice.call((r||document).querySelectorAll(s))};
var items=$('.item');
var index=items.map(function(el){
  var head=(el.querySelector('.item-head')||el).textContent.toLowerCase();
  var checks=$('.check',el).map(function(c){
    var msg=(c.querySelector('.msg')||c).textContent.toLowerCase();
    var rows=$('.targets tbody tr',c).map(function(tr){return {el:tr,text:tr.textContent.toLowerCase()}});
    return {el:c,status:c.getAttribute('data-status')||'',msg:msg,rows:rows};
  });
  return {el:el,head:head,checks:checks,statuses:(el.getAttribute('data-statuses')||'').split('|').filter(Boolean),severity:el.getAttribute('data-severity')||''};
});
var input=document.getElementById('q');
var count=document.getElementById('count');
var chips=$('.chip[data-filter]');
function pressed(kind){return chips.filter(function(c){return c.getAttribute('data-filter')===kind&&c.getAttribute('aria-pressed')==='true'}).map(function(c){return c.getAttribute('data-value')})}
function all(kind){return chips.filter(function(c){return c.getAttribute('data-filter')===kind}).length}
function has(text,terms){for(var i=0;i<terms.length;i++){if(text.indexOf(terms[i])<0)return false}return true}
function apply(){
  var terms=(input&&input.value||'').toLowerCase().split(/\\s+/).filter(Boolean);
  var st=pressed('status'),sv=pressed('severity');
  var allStatuses=st.length===all('status'),allSeverities=sv.length===all('severity');
  var shown=0;
  index.forEach(function(it){
    var ok=allSeverities||sv.indexOf(it.severity||'None')>=0;
    var anyCheck=false;
    if(ok){
      it.checks.forEach(function(c){
        var statusOk=allStatuses||st.indexOf(c.status)>=0;
        var visibleRows=0;
        var textOk=terms.length===0||has(it.head+' '+c.msg,terms);
        c.rows.forEach(function(r){var rowOk=textOk||has(it.head+' '+c.msg+' '+r.text,terms);r.el.classList.toggle('hidden',!rowOk);if(rowOk)visibleRows++});
        var checkOk=statusOk&&(textOk||visibleRows>0);
        c.el.classList.toggle('hidden',!checkOk);
        if(checkOk)anyCheck=true;
      });
      if(it.checks.length===0)anyCheck=allStatuses&&(terms.length===0||has(it.head,terms));
    }
    var visible=ok&&anyCheck;
    it.el.classList.toggle('hidden',!visible);
    if(visible)shown++;
  });
  $('[data-group]').forEach(function(g){
    var any=$('.item',g).some(function(el){return !el.classList.contains('hidden')});
    var empty=g.querySelector('.empty');
    if(empty)empty.classList.toggle('hidden',any);
  });
  var noun=document.body.getAttribute('data-noun')||'rules';
  if(count)count.textContent=shown===items.length?'Showing all '+items.length+' '+noun:'Showing '+shown+' of '+items.length+' '+noun;
}
function setOpen(el,open){el.classList.toggle('open',open);var b=el.querySelector('.toggle');if(b)b.setAttribute('aria-expanded',String(open))}
document.addEventListener('click',function(e){
  var t=e.target.closest?e.target.closest('button'):null;if(!t)return;
  if(t.classList.contains('toggle')){var it=t.closest('.item');setOpen(it,!it.classList.contains('open'));return}
  if(t.hasAttribute('data-filter')){t.setAttribute('aria-pressed',t.getAttribute('aria-pressed')==='true'?'false':'true');apply();return}
  var a=t.getAttribute('data-action');
  if(a==='expand')items.forEach(function(el){if(!el.classList.contains('hidden'))setOpen(el,true)});
  if(a==='collapse')items.forEach(function(el){setOpen(el,false)});
  if(a==='reset'){chips.forEach(function(c){c.setAttribute('aria-pressed','true')});if(input)input.value='';apply()}
  if(a==='problems'){chips.forEach(function(c){if(c.getAttribute('data-filter')==='status'){var v=c.getAttribute('data-value');c.setAttribute('aria-pressed',String(v==='Failed'||v==='Errored'||v==='Warning'))}});apply()}
});
var timer;
if(input)input.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(apply,80)});
if(location.hash){var target=document.getElementById(location.hash.slice(1));if(target&&target.classList.contains('item'))setOpen(target,true)}
apply();
})();
`;
