// report.html: one self-contained page (Chart.js inlined, data embedded as JSON, no
// request at view time: a Content-Security-Policy forbids any). This module is the
// markup, built with the escaping `html` template; the style sheet, the page script
// and the chart table live in ./page/.
import type { Alert } from './formats.js';
import { html, jsonForScript, SafeHtml } from './html.js';
import type { HostReport, RunInputs, RunReport } from './merge-hosts.js';
import { RESOURCE_CHARTS } from './page/chart-table.js';
import { chartJsSource, pageCss, pageScriptSource } from './page/page-assets.js';
import { pageData } from './page/page-data.js';

/** "4 min 05 s", "12.3 s", "1 h 02 min", "0.043 s". */
export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s < 1) return `${Math.round(s * 1000) / 1000} s`;
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min ${String(sec).padStart(2, '0')} s`;
}

const fmtTime = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');
const fmtNum = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? '–' : `${v}${unit}`);
const fmtPct = (v: number | null) => (v === null ? '–' : `${v > 0 ? '+' : ''}${v} %`);

function chip(status: string): SafeHtml {
  return html`<span class="chip s-${status}">${status}</span>`;
}

function alertCounts(alerts: readonly Alert[]): SafeHtml {
  const c = alerts.filter((a) => a.severity === 'critical').length;
  const w = alerts.length - c;
  if (!alerts.length) return html`<span class="muted">no alerts</span>`;
  return html`${c ? html`<span class="sev sev-critical">${c} critical</span> ` : ''}${w ? html`<span class="sev sev-warning">${w} warning</span>` : ''}`;
}

/** Colour of a variance: only a phase that completed is "fast" (green) or "slow". */
export function varianceClass(v: number | null, status: string, warnPct = 50, critPct = 100): string {
  if (v === null) return '';
  if (status === 'failed') return 'v-failed';
  return v > critPct ? 'v-crit' : v > warnPct ? 'v-warn' : v > 0 ? 'v-slow' : 'v-fast';
}

function summaryTable(report: RunReport): SafeHtml {
  const rows = report.hosts.map((h) => {
    const r = h.resources;
    return html`<tr>
<td class="host-cell"><a href="#host-${hostId(h.host)}">${h.host}</a></td>
<td class="muted">${h.address ?? '–'}</td>
<td>${chip(h.status)}</td>
<td class="num">${formatDuration(h.durationS)}</td>
<td class="num">${formatDuration(h.targetS)}</td>
<td class="num">${h.score === null ? '–' : html`<span class="score" style="--p:${h.score}">${h.score}</span>`}</td>
<td>${alertCounts(h.alerts)}</td>
<td class="num">${fmtNum(r.peak?.cpuPct, ' %')}</td>
<td class="num">${fmtNum(r.min?.memAvailableMb, ' MB')}</td>
<td class="num">${r.min ? `${Math.round(r.min.diskAvailMb / 102.4) / 10} GB` : '–'}</td>
<td class="err">${h.error ?? ''}</td>
</tr>`;
  });
  return html`<table class="summary"><thead><tr>
<th>Host</th><th>Address</th><th>Status</th><th class="num">Duration</th><th class="num">Target</th><th class="num">Score</th>
<th>Alerts</th><th class="num">Peak CPU</th><th class="num">Min available memory</th><th class="num">Min free disk</th><th>Error</th>
</tr></thead><tbody>${rows}</tbody></table>`;
}

function alertsTable(report: RunReport): SafeHtml {
  const all = report.hosts.flatMap((h) => h.alerts).sort((a, b) => a.at.localeCompare(b.at));
  if (!all.length) return html`<p class="muted">No alerts.</p>`;
  const rows = all.map(
    (a) => html`<tr class="sev-row-${a.severity}">
<td class="mono">${fmtTime(a.at)}</td><td>${a.host}</td>
<td><span class="sev sev-${a.severity}">${a.severity}</span></td>
<td>${a.kind}</td><td>${a.phase ?? ''}</td><td>${a.message}</td></tr>`,
  );
  return html`<table class="alerts"><thead><tr><th>Time (UTC)</th><th>Host</th><th>Severity</th><th>Kind</th><th>Phase</th><th>Message</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

function phaseTable(h: HostReport): SafeHtml {
  const th = h.thresholds;
  const rows = h.phases.map((p) => {
    const vc = varianceClass(p.variancePct, p.status, th.phaseWarningPct - 100, th.phaseCriticalPct - 100);
    return html`<tr>
<td>${p.name}${p.critical ? html` <span class="muted" title="critical: a failure stops the later phases">●</span>` : ''}</td>
<td>${chip(p.status)}</td>
<td class="num">${formatDuration(p.durationS)}</td>
<td class="num">${formatDuration(p.estimateS)}</td>
<td class="num ${vc}"${p.status === 'failed' ? html` title="the phase failed: its time is not a measure of its speed"` : ''}>${fmtPct(p.variancePct)}${p.status === 'failed' && p.variancePct !== null ? ' (failed)' : ''}</td>
<td class="num muted">${formatDuration(p.controllerDurationS)}</td>
<td class="num muted">${p.steps.length}</td>
<td class="muted">${p.reason ?? ''}</td></tr>`;
  });
  return html`<table class="phases"><thead><tr><th>Phase</th><th>Status</th><th class="num">Duration</th><th class="num">Estimate</th>
<th class="num">Variance</th><th class="num" title="measured on the laptop">Laptop</th><th class="num">Steps</th><th>Reason</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

/** The failed steps of a host with the tail of their output (as the host printed it). */
function failures(h: HostReport): SafeHtml {
  const failed = h.phases.flatMap((p) => (p.failedSteps ?? []).map((f) => ({ phase: p.name, ...f })));
  if (!failed.length) return html``;
  return html`${failed.map(
    (f) => html`<div class="card wide failure"><h4>Failed: ${f.phase} / ${f.step}</h4>
<pre class="output">${f.output || '(no output)'}</pre></div>`,
  )}`;
}

function hostId(host: string): string {
  return host.replace(/[^A-Za-z0-9_-]/g, '_');
}

function hostSection(h: HostReport, index: number, open: boolean): SafeHtml {
  const warn = h.warnings.length ? html`<ul class="warnings">${h.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : '';
  const chart = (kind: string, title: string) =>
    html`<div class="chart-row"><h4>${title}</h4><div class="chart-box ${kind}" data-chart="${kind}"><canvas></canvas></div></div>`;
  return html`<details class="host" id="host-${hostId(h.host)}" data-index="${index}"${open ? html` open` : ''}>
<summary><span class="host-name">${h.host}</span> ${chip(h.status)}
<span class="muted">${formatDuration(h.durationS)}</span>
${h.score === null ? '' : html`<span class="muted">score ${h.score}</span>`}
${alertCounts(h.alerts)}</summary>
${h.error ? html`<p class="err">${h.error}</p>` : ''}${warn}
<div class="grid">
${failures(h)}
<div class="card wide timeline">
${chart('gantt', 'Timeline: phases and steps')}
<div class="legend"><span><i class="sw s-ok"></i>ok</span><span><i class="sw s-changed"></i>changed</span><span><i class="sw s-failed"></i>failed</span>
<span>wide pale bar: phase · narrow bars: its steps</span><span><i class="sw est"></i>estimate</span><span><i class="sw mark"></i>alert (amber warning, red critical)</span>
<span><i class="sw band"></i>shaded band: a phase (name on top)</span></div>
<div class="readout" aria-live="polite">Point at any chart: the same moment is marked on all of them, with the step running then.</div>
${RESOURCE_CHARTS.map((c) => chart(c.id, c.title))}
</div>
<div class="card wide">${phaseTable(h)}</div>
</div>
</details>`;
}

export interface RenderOptions {
  /** open every host section (and draw its charts) at load; default: when 8 hosts or fewer */
  openHosts?: boolean;
}

/** The whole report page. */
export function renderHtml(report: RunReport, inputs: RunInputs, opts: RenderOptions = {}): string {
  const open = opts.openHosts ?? report.hosts.length <= 8;
  const s = report.summary;
  const statusKpis = (Object.entries(s.byStatus) as [string, number][])
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(' · ');
  const title = `vps-provision report ${report.runId}`;
  // the scripts are trusted text of this module and of Chart.js, with the data escaped for <script>
  const scripts = new SafeHtml(`<script>${chartJsSource()}</script>
<script>
(${pageScriptSource()})(${jsonForScript(pageData(report, inputs))}, window.Chart);
</script>`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${title}</title>
<style>${new SafeHtml(pageCss())}</style>
</head>
<body>
<header>
<h1><span class="brand">vps-provision</span> run ${report.runId}</h1>
<div class="sub">${fmtTime(report.startedAt)} → ${fmtTime(report.endedAt)} · generated ${fmtTime(report.generatedAt)}</div>
<div class="kpis">
<div class="kpi"><b>${formatDuration(report.durationS)}</b><span>wall time</span></div>
<div class="kpi"><b>${s.hosts}</b><span>${statusKpis || 'hosts'}</span></div>
<div class="kpi"><b>${s.meanScore ?? '–'}</b><span>mean score (100 = on budget)</span></div>
<div class="kpi"><b>${s.alerts.critical} / ${s.alerts.warning}</b><span>critical / warning alerts</span></div>
</div>
</header>
<main>
<section><h2>Hosts</h2>${summaryTable(report)}</section>
<section class="fleet"><h2>Fleet timeline</h2><div class="card"><div class="chart-box" id="fleet"><canvas></canvas></div>
<div class="legend"><span>colour: <i class="sw s-ok"></i>ok <i class="sw s-changed"></i>changed <i class="sw s-failed"></i>failed <i class="sw s-skipped"></i>skipped</span><span>phase names in the bars; point at a bar for details</span></div></div></section>
<section><h2>Alerts</h2>${alertsTable(report)}</section>
<section><h2>Per host</h2>
${report.hosts.map((h, i) => hostSection(h, i, open))}
</section>
</main>
<footer>vps-provision · score = min(100, 100 × sum of estimates / actual duration) · MB = MiB, KiB/s = 1024 bytes per second · colours: green ok, blue changed, red failed or critical, amber warning, grey skipped</footer>
${scripts}
</body>
</html>
`.text;
}
