// One self-contained report.html: Chart.js inlined, data embedded as JSON, no
// request at view time (a Content-Security-Policy forbids any). Server-side text goes
// through escapeHtml; the page script only ever sets textContent and draws on canvas.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Alert, ResourceSample } from './formats.js';
import type { HostReport, RunInputs, RunReport } from './merge-run.js';

let chartJs: string | undefined;

/** The Chart.js UMD build, read once from node_modules (its source map link removed). */
export function chartJsSource(): string {
  if (chartJs === undefined) {
    const require = createRequire(import.meta.url);
    // the package exports only its entry points; the UMD file sits next to the CJS one
    const file = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    chartJs = readFileSync(file, 'utf8').replace(/\/\/# sourceMappingURL=\S*/g, '');
  }
  return chartJs;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Markup that is already safe (built by `html` or escaped): passed through as is. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * The one way page markup is built: every interpolated value is escaped as HTML text
 * unless it is SafeHtml (the result of another `html` call); arrays are joined. So host
 * and YAML text (names, messages, step output) can only ever land as text.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += part(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

function part(v: unknown): string {
  if (v instanceof SafeHtml) return v.text;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(v);
}

/** JSON safe inside <script>: no "</script", no "<!--", no JS-breaking line separators. */
const SCRIPT_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

export function jsonForScript(value: unknown): string {
  // one pass over what can be megabytes of samples
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => SCRIPT_ESCAPES[c]);
}

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
  const rows = all.map((a) => html`<tr class="sev-row-${a.severity}">
<td class="mono">${fmtTime(a.at)}</td><td>${a.host}</td>
<td><span class="sev sev-${a.severity}">${a.severity}</span></td>
<td>${a.kind}</td><td>${a.phase ?? ''}</td><td>${a.message}</td></tr>`);
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
  return html`${failed.map((f) => html`<div class="card wide failure"><h4>Failed: ${f.phase} / ${f.step}</h4>
<pre class="output">${f.output || '(no output)'}</pre></div>`)}`;
}

function hostId(host: string): string {
  return host.replace(/[^A-Za-z0-9_-]/g, '_');
}

function hostSection(h: HostReport, index: number, open: boolean): SafeHtml {
  const warn = h.warnings.length ? html`<ul class="warnings">${h.warnings.map((w) => html`<li>${w}</li>`)}</ul>` : '';
  const chart = (kind: string, title: string) => html`<div class="chart-row"><h4>${title}</h4><div class="chart-box ${kind}" data-chart="${kind}"><canvas></canvas></div></div>`;
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
${chart('cpu', 'CPU %')}
${chart('mem', 'Memory (MB)')}
${chart('disk', 'Disk: free (GB) and throughput (KiB/s)')}
${chart('net', 'Network (KiB/s) and load')}
</div>
<div class="card wide">${phaseTable(h)}</div>
</div>
</details>`;
}

/** Column-wise samples: compact in the page, and what Chart.js wants per dataset. */
interface SeriesData {
  t: number[];
  cpu: number[];
  memUsed: number[];
  memAvail: number[];
  diskAvail: number[];
  rd: number[];
  wr: number[];
  rx: number[];
  tx: number[];
  load: number[];
}

function series(samples: readonly ResourceSample[], t0: number): SeriesData {
  const sorted = [...samples].sort((a, b) => a.t - b.t);
  const col = (f: (s: ResourceSample) => number) => sorted.map(f);
  return {
    t: col((s) => Math.round(s.t - t0) / 1000),
    cpu: col((s) => s.cpuPct),
    memUsed: col((s) => s.memUsedMb),
    memAvail: col((s) => s.memAvailableMb),
    diskAvail: col((s) => Math.round(s.diskAvailMb / 102.4) / 10),
    rd: col((s) => s.diskReadKbps),
    wr: col((s) => s.diskWriteKbps),
    rx: col((s) => s.netRxKbps),
    tx: col((s) => s.netTxKbps),
    load: col((s) => s.load1),
  };
}

/** The data the page script draws from; times are seconds since the run start. */
function pageData(report: RunReport, inputs: RunInputs) {
  const samplesByHost = new Map(inputs.hosts.map((h) => [h.host, h.resources] as const));
  const starts = report.hosts.flatMap((h) => [
    h.startedAt ? Date.parse(h.startedAt) : Infinity,
    ...(samplesByHost.get(h.host) ?? []).slice(0, 1).map((s) => s.t),
  ]);
  const t0 = Math.min(...starts.filter(Number.isFinite), Date.parse(report.startedAt ?? '') || Infinity);
  const base = Number.isFinite(t0) ? t0 : 0;
  const rel = (ms: number) => Math.round(ms - base) / 1000;
  return {
    runId: report.runId,
    t0: base,
    phaseNames: report.phaseNames,
    hosts: report.hosts.map((h) => ({
      host: h.host,
      status: h.status,
      thresholds: h.thresholds,
      phases: h.phases
        .filter((p) => p.startEpochS !== null && p.durationS !== null)
        .map((p) => ({
          name: p.name, status: p.status, start: rel(p.startEpochS! * 1000), dur: p.durationS!, est: p.estimateS,
          steps: p.steps.map((s) => ({ name: s.name, status: s.status, start: rel(s.startEpochS * 1000), dur: s.durationS })),
        })),
      alerts: h.alerts.map((a) => ({ kind: a.kind, severity: a.severity, x: rel(Date.parse(a.at)), value: a.value, message: a.message, phase: a.phase ?? null })),
      s: series(samplesByHost.get(h.host) ?? [], base),
    })),
  };
}

const CSS = `
:root{--bg:#f5f6f8;--card:#fff;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--ok:#16a34a;--changed:#2563eb;--failed:#dc2626;--skipped:#9ca3af;--warn:#d97706;--crit:#dc2626}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:linear-gradient(120deg,#1e293b,#334155);color:#f8fafc;padding:22px 32px 18px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600;letter-spacing:.2px}
header .brand{font-weight:400;color:#94a3b8;margin-right:6px}
header .sub{color:#cbd5e1;font-size:13px}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin-top:14px}
.kpi{background:rgba(255,255,255,.08);border:1px solid rgba(255,255,255,.12);border-radius:8px;padding:8px 14px;min-width:120px}
.kpi b{display:block;font-size:18px;font-weight:600}
.kpi span{font-size:12px;color:#cbd5e1}
main{padding:20px 32px 40px;max-width:1500px;margin:0 auto}
section{margin-bottom:26px}
h2{font-size:16px;margin:0 0 10px;font-weight:600}
h4{margin:0 0 6px;font-size:13px;font-weight:600;color:#374151}
table{border-collapse:collapse;width:100%;background:var(--card);border-radius:8px;overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.06)}
th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f9fafb;font-weight:600;font-size:12px;color:#4b5563;text-transform:uppercase;letter-spacing:.3px}
tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;white-space:nowrap}
.muted{color:var(--muted)}
.err{color:var(--failed)}
.chip{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;color:#fff;background:var(--skipped)}
.s-ok{background:var(--ok)}.s-changed{background:var(--changed)}.s-failed{background:var(--failed)}.s-unreachable{background:#7c3aed}
.s-interrupted{background:var(--warn)}.s-pending,.s-unknown{background:#cbd5e1;color:#334155}
.sev{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px;font-weight:600;white-space:nowrap;margin:1px 0}
.sev-warning{background:#fef3c7;color:#92400e}.sev-critical{background:#fee2e2;color:#991b1b}
.score{display:inline-block;min-width:44px;padding:1px 6px;border-radius:4px;font-weight:600;
background:linear-gradient(90deg,#dcfce7 calc(var(--p)*1%),#f3f4f6 0)}
.v-fast{color:var(--ok)}.v-slow{color:#92400e}.v-warn{color:var(--warn);font-weight:600}.v-crit{color:var(--crit);font-weight:700}.v-failed{color:var(--failed);font-style:italic}
details.host{background:var(--card);border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);margin-bottom:14px;padding:0 16px}
details.host>summary{cursor:pointer;padding:12px 0;display:flex;gap:12px;align-items:center;flex-wrap:wrap;list-style-position:outside}
details.host>summary::-webkit-details-marker{display:none}
details.host>summary::before{content:'\\25B8';color:var(--muted);width:12px;display:inline-block;transition:transform .15s}
details.host[open]>summary::before{transform:rotate(90deg)}
.host-name{font-weight:600;font-size:15px}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px;padding:4px 0 16px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fff;min-width:0}
.card.wide{grid-column:1/-1}
.card table{box-shadow:none}
.chart-box{position:relative;height:170px}
.chart-row{margin-top:10px}
.chart-row h4{margin:0 0 2px}
.readout{margin-top:8px;background:#f8fafc;border:1px solid var(--line);border-radius:6px;padding:5px 10px;font-size:12px;color:#334155;min-height:28px}
.failure{border-color:#fca5a5;background:#fef2f2}
.failure h4{color:#991b1b}
pre.output{margin:0;max-height:320px;overflow:auto;white-space:pre-wrap;word-break:break-word;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#fff;border:1px solid #fecaca;border-radius:6px;padding:8px}
.sw.band{background:rgba(71,85,105,0.25);border-left:1px solid rgba(71,85,105,0.6)}
.fleet .chart-box{height:auto}
ul.warnings{color:#92400e;font-size:12px;margin:0 0 8px}
.host-cell{white-space:nowrap;font-weight:600}
.host-cell a{color:#1d4ed8;text-decoration:none}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:11px;color:var(--muted);margin-top:4px;padding-left:8px}
.legend span{display:inline-flex;align-items:center;gap:5px}
.sw{display:inline-block;width:12px;height:10px;border-radius:2px}
.sw.est{border:1px dashed #94a3b8;background:transparent}
.sw.mark{width:3px;height:12px;background:var(--warn)}
footer{color:var(--muted);font-size:12px;text-align:center;padding:16px}
@media (max-width:900px){.grid{grid-template-columns:1fr}main,header{padding-left:14px;padding-right:14px}}
`;

/**
 * The page script. Written here as a function so tsc checks its syntax; it is put
 * in the page with toString(), so it must not use anything from this module.
 *
 * One colour per concept across every chart: green ok, blue changed, red failed (and
 * critical alerts), amber warnings, grey skipped; resource lines use violet, pink, teal
 * and slate, which mean nothing else. A host's charts share one time axis, pixel for
 * pixel (fixed axis widths), and a crosshair: pointing at one marks the same moment on
 * all of them and names the phase and step running then.
 */
function pageScript(DATA: any, ChartLib: any): void {
  const css = getComputedStyle(document.documentElement);
  const color = (name: string) => css.getPropertyValue(name).trim();
  const STATUS: Record<string, string> = {
    ok: color('--ok'), changed: color('--changed'), failed: color('--failed'), skipped: color('--skipped'), pending: '#cbd5e1',
  };
  const SEV: Record<string, string> = { warning: color('--warn'), critical: color('--crit') };
  const M = { violet: '#7c3aed', pink: '#db2777', teal: '#0f766e', slate: '#475569' };
  const LEFT_W = 128;
  const RIGHT_W = 60;
  ChartLib.defaults.font.family = getComputedStyle(document.body).fontFamily;
  ChartLib.defaults.font.size = 11;
  ChartLib.defaults.color = '#4b5563';
  ChartLib.defaults.animation = false;
  ChartLib.defaults.maintainAspectRatio = false;

  const clock = (s: number) => {
    const sign = s < 0 ? '-' : '';
    const a = Math.abs(Math.round(s));
    const h = Math.floor(a / 3600);
    const m = Math.floor((a % 3600) / 60);
    const sec = a % 60;
    return sign + (h ? h + ':' + String(m).padStart(2, '0') : String(m)) + ':' + String(sec).padStart(2, '0');
  };
  /** seconds as the axis and tooltips show them: sub-second runs in ms precision, long runs as m:ss */
  const secs = (s: number, span: number) => {
    if (span >= 120) return clock(s);
    const digits = span < 2 ? 3 : span < 20 ? 2 : 1;
    return String(Math.round(s * 10 ** digits) / 10 ** digits) + ' s';
  };
  const wall = (s: number) => new Date(DATA.t0 + s * 1000).toISOString().slice(11, 23) + 'Z';
  const dur = (s: number) => (s < 60 ? secs(s, s < 2 ? 1 : 60) : clock(s));
  const xAxis = (max: number | undefined) => {
    const span = max || 1;
    return {
      type: 'linear', min: 0, max,
      ticks: { callback: (v: number) => secs(v, span), maxTicksLimit: 10 },
      grid: { color: '#eef2f7' },
      title: { display: true, text: span >= 120 ? 'time since run start (m:ss)' : 'time since run start (seconds)' },
    };
  };
  const fixLeft = (sc: any) => { sc.width = LEFT_W; };
  const fixRight = (sc: any) => { sc.width = RIGHT_W; };

  // Phase bands and alert/threshold lines on the resource charts.
  const markers = {
    id: 'markers',
    beforeDatasetsDraw(chart: any, _args: unknown, opts: any) {
      const { ctx, chartArea: a, scales } = chart;
      if (!opts || !a || !opts.bands) return;
      ctx.save();
      opts.bands.forEach((b: any, i: number) => {
        const x1 = Math.max(a.left, scales.x.getPixelForValue(b.from));
        const x2 = Math.min(a.right, scales.x.getPixelForValue(b.to));
        if (x2 <= x1) return;
        ctx.fillStyle = b.failed ? 'rgba(220,38,38,0.13)' : i % 2 ? 'rgba(71,85,105,0.17)' : 'rgba(71,85,105,0.07)';
        ctx.fillRect(x1, a.top, x2 - x1, a.bottom - a.top);
        ctx.strokeStyle = 'rgba(71,85,105,0.55)';
        ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(x1 + 0.5, a.top); ctx.lineTo(x1 + 0.5, a.bottom); ctx.stroke();
        if (x2 - x1 > 24) {
          ctx.font = '600 10px ' + ChartLib.defaults.font.family;
          const text = String(b.label).slice(0, Math.max(1, Math.floor((x2 - x1 - 6) / 6)));
          ctx.fillStyle = 'rgba(255,255,255,0.85)';
          ctx.fillRect(x1 + 1, a.top, ctx.measureText(text).width + 6, 13);
          ctx.fillStyle = b.failed ? color('--failed') : '#334155';
          ctx.fillText(text, x1 + 4, a.top + 10);
        }
      });
      ctx.restore();
    },
    afterDatasetsDraw(chart: any, _args: unknown, opts: any) {
      const { ctx, chartArea: a, scales } = chart;
      if (!opts || !a) return;
      ctx.save();
      (opts.hlines || []).forEach((l: any) => {
        const scale = scales[l.axis || 'y'];
        if (!scale) return;
        const y = scale.getPixelForValue(l.y);
        if (y < a.top || y > a.bottom) return;
        ctx.strokeStyle = l.color; ctx.setLineDash([5, 4]); ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(a.left, y); ctx.lineTo(a.right, y); ctx.stroke();
        ctx.setLineDash([]); ctx.fillStyle = l.color; ctx.font = '10px ' + ChartLib.defaults.font.family;
        ctx.fillText(l.label, a.right - ctx.measureText(l.label).width - 4, y - 3);
      });
      (opts.vlines || []).forEach((l: any) => {
        const x = scales.x.getPixelForValue(l.x);
        if (x < a.left || x > a.right) return;
        ctx.strokeStyle = l.color; ctx.lineWidth = 2; ctx.setLineDash([]);
        ctx.beginPath(); ctx.moveTo(x, a.top); ctx.lineTo(x, a.bottom); ctx.stroke();
        ctx.fillStyle = l.color;
        ctx.beginPath(); ctx.moveTo(x - 5, a.top); ctx.lineTo(x + 5, a.top); ctx.lineTo(x, a.top + 7); ctx.closePath(); ctx.fill();
      });
      ctx.restore();
    },
  };

  // The shared crosshair of a host's charts (the group hangs on the chart itself: plugin
  // options are resolved and cached by Chart.js, so a changing value cannot live there).
  const crosshair = {
    id: 'crosshair',
    afterEvent(chart: any, args: any) {
      const g = chart.$crosshair;
      if (!g) return;
      const e = args.event;
      const a = chart.chartArea;
      if (e.type === 'mouseout') g.set(null);
      else if (e.type === 'mousemove' && a) g.set(e.x >= a.left && e.x <= a.right ? chart.scales.x.getValueForPixel(e.x) : null);
    },
    afterDraw(chart: any) {
      const g = chart.$crosshair;
      if (!g || g.x === null) return;
      const { ctx, chartArea: a, scales } = chart;
      const x = scales.x.getPixelForValue(g.x);
      if (x < a.left || x > a.right) return;
      ctx.save();
      ctx.strokeStyle = '#111827'; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
      ctx.beginPath(); ctx.moveTo(x + 0.5, a.top); ctx.lineTo(x + 0.5, a.bottom); ctx.stroke();
      ctx.restore();
    },
  };

  // Phase names inside the bars of the fleet timeline (colour there is the status).
  const barLabels = {
    id: 'barLabels',
    afterDatasetsDraw(chart: any, _args: unknown, opts: any) {
      if (!opts || !opts.enabled) return;
      const { ctx } = chart;
      ctx.save();
      ctx.font = '10px ' + ChartLib.defaults.font.family;
      chart.data.datasets.forEach((ds: any, i: number) => {
        chart.getDatasetMeta(i).data.forEach((el: any, j: number) => {
          const text = ds.data[j].p.name;
          const w = Math.abs(el.x - el.base);
          if (w < ctx.measureText(text).width + 6) return;
          ctx.fillStyle = '#fff';
          ctx.fillText(text, Math.min(el.x, el.base) + 3, el.y + 3.5);
        });
      });
      ctx.restore();
    },
  };
  ChartLib.register(markers, crosshair, barLabels);

  function alertPoints(h: any, kinds: string[], ys: (a: any) => number) {
    return h.alerts.filter((a: any) => kinds.indexOf(a.kind) >= 0).map((a: any) => ({ x: a.x, y: ys(a), alert: a }));
  }
  function alertDataset(points: any[], yAxisID = 'y') {
    return {
      type: 'scatter', label: 'alerts', data: points, yAxisID, order: -1,
      pointStyle: 'triangle', pointRadius: 7, pointHoverRadius: 9, borderWidth: 1,
      backgroundColor: points.map((p) => SEV[p.alert.severity]), borderColor: '#fff',
    };
  }
  const tooltipFor = (span: number) => ({
    callbacks: {
      title: (items: any[]) => (items.length ? '+' + secs(items[0].parsed.x, span) + '  (' + wall(items[0].parsed.x) + ')' : ''),
      label: (item: any) => (item.raw && item.raw.alert ? item.raw.alert.severity + ': ' + item.raw.alert.message
        : item.dataset.label + ': ' + item.formattedValue),
    },
  });
  const line = (label: string, data: number[], t: number[], col: string, extra: any = {}) => Object.assign({
    label, data: t.map((x, i) => ({ x, y: data[i] })), borderColor: col, backgroundColor: col + '26',
    pointRadius: t.length < 40 ? 2 : 0, borderWidth: 1.5, tension: 0.2,
  }, extra);

  function hostMax(h: any): number {
    let m = 0;
    h.phases.forEach((p: any) => { m = Math.max(m, p.start + p.dur); });
    if (h.s.t.length) m = Math.max(m, h.s.t[h.s.t.length - 1]);
    return m;
  }
  function bands(h: any) {
    return h.phases.map((p: any) => ({ from: p.start, to: p.start + p.dur, label: p.name, failed: p.status === 'failed' }));
  }
  function sevLines(h: any, kinds: string[]) {
    return h.alerts.filter((a: any) => kinds.indexOf(a.kind) >= 0).map((a: any) => ({ x: a.x, color: SEV[a.severity] }));
  }
  function emptyNote(box: HTMLElement, text: string) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = text;
    box.replaceChildren(p);
    box.style.height = 'auto';
  }
  /** Options every chart of a host shares: time axis, fixed axis widths, the crosshair. */
  function common(h: any, max: number | undefined, group: any, right: boolean, legend: boolean) {
    return {
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      layout: { padding: { right: right ? 0 : RIGHT_W } },
      plugins: {
        legend: legend ? { position: 'bottom', labels: { boxWidth: 12, filter: (i: any) => i.text !== 'alerts' } } : { display: false },
        tooltip: tooltipFor(max || 1),
        markers: { bands: bands(h), vlines: [], hlines: [] },
      },
      scales: { x: xAxis(max) },
    };
  }
  function merge(base: any, extra: any) {
    const out = Object.assign({}, base, extra);
    out.plugins = Object.assign({}, base.plugins, extra.plugins || {});
    out.scales = Object.assign({}, base.scales, extra.scales || {});
    return out;
  }

  function gantt(box: HTMLElement, h: any, max: number | undefined, group: any) {
    if (!h.phases.length) return emptyNote(box, 'No timing recorded for this host.');
    const labels = h.phases.map((p: any) => p.name);
    box.style.height = (labels.length * 24 + 70) + 'px';
    const minW = (max || 1) / 400;
    const phaseBars = h.phases.map((p: any) => ({ y: p.name, x: [p.start, p.start + Math.max(p.dur, minW)], p }));
    const stepBars: any[] = [];
    h.phases.forEach((p: any) => p.steps.forEach((s: any, i: number) => stepBars.push({ y: p.name, x: [s.start, s.start + Math.max(s.dur, minW)], s, i })));
    const estBars = h.phases.filter((p: any) => p.est).map((p: any) => ({ y: p.name, x: [p.start, p.start + p.est], p }));
    const base = common(h, max, group, false, false);
    return new ChartLib(box.querySelector('canvas'), {
      type: 'bar',
      data: {
        labels,
        datasets: [
          { label: 'estimate', data: estBars, backgroundColor: 'rgba(0,0,0,0)', borderColor: '#94a3b8', borderWidth: 1, borderDash: [3, 3], barPercentage: 0.95, categoryPercentage: 1, grouped: false, order: 3 },
          { label: 'phase', data: phaseBars, backgroundColor: phaseBars.map((b: any) => STATUS[b.p.status] + '40'), borderColor: phaseBars.map((b: any) => STATUS[b.p.status]), borderWidth: 1, barPercentage: 0.8, categoryPercentage: 1, grouped: false, order: 2 },
          { label: 'step', data: stepBars, backgroundColor: stepBars.map((b: any) => STATUS[b.s.status] + (b.i % 2 ? 'cc' : 'ff')), borderWidth: 0, barPercentage: 0.42, categoryPercentage: 1, grouped: false, order: 1 },
        ],
      },
      options: merge(base, {
        indexAxis: 'y',
        interaction: { mode: 'nearest', intersect: true },
        scales: { x: xAxis(max), y: { grid: { display: false }, afterFit: fixLeft, ticks: { callback: (_v: number, i: number) => String(labels[i]).slice(0, 18) } } },
        plugins: {
          markers: { vlines: sevLines(h, ['phase-duration']) },
          tooltip: {
            callbacks: {
              title: (items: any[]) => (items.length ? items[0].raw.y : ''),
              label: (item: any) => {
                const r = item.raw;
                if (r.s) return 'step ' + r.s.name + ': ' + r.s.status + ', ' + dur(r.s.dur);
                if (item.dataset.label === 'estimate') return 'estimate ' + dur(r.p.est);
                return 'phase: ' + r.p.status + ', ' + dur(r.p.dur) + (r.p.est ? ' (' + Math.round(100 * r.p.dur / r.p.est) + ' % of estimate)' : '');
              },
              footer: (items: any[]) => (items.length ? 'from +' + secs(items[0].raw.x[0], max || 1) + ' (' + wall(items[0].raw.x[0]) + ')' : ''),
            },
          },
        },
      }),
    });
  }

  function resourceChart(box: HTMLElement, h: any, max: number | undefined, group: any, spec: any) {
    const base = common(h, max, group, Boolean(spec.y1), spec.legend);
    const scales: any = { y: Object.assign({ min: 0, afterFit: fixLeft }, spec.y) };
    if (spec.y1) scales.y1 = Object.assign({ min: 0, position: 'right', grid: { drawOnChartArea: false }, afterFit: fixRight }, spec.y1);
    return new ChartLib(box.querySelector('canvas'), {
      type: 'line',
      data: { datasets: spec.datasets },
      options: merge(base, { scales, plugins: { markers: { bands: bands(h), vlines: spec.vlines || [], hlines: spec.hlines || [] } } }),
    });
  }

  const charts: Record<string, (box: HTMLElement, h: any, max: number | undefined, group: any) => unknown> = {
    gantt,
    cpu: (box, h, max, group) => resourceChart(box, h, max, group, {
      legend: false,
      datasets: [line('CPU %', h.s.cpu, h.s.t, M.violet, { fill: 'origin' }), alertDataset(alertPoints(h, ['cpu'], (a) => Math.min(100, a.value)))],
      y: { max: 100, title: { display: true, text: 'CPU %' } },
      vlines: sevLines(h, ['cpu']),
      hlines: [{ y: h.thresholds.cpuPct, color: SEV.warning, label: 'alert > ' + h.thresholds.cpuPct + ' %' }],
    }),
    mem: (box, h, max, group) => resourceChart(box, h, max, group, {
      legend: true,
      datasets: [line('used MB', h.s.memUsed, h.s.t, M.violet, { fill: 'origin' }), line('available MB', h.s.memAvail, h.s.t, M.pink), alertDataset(alertPoints(h, ['memory'], (a) => a.value))],
      y: { title: { display: true, text: 'MB' } },
      vlines: sevLines(h, ['memory']),
      hlines: [{ y: h.thresholds.memAvailableMb, color: SEV.warning, label: 'alert < ' + h.thresholds.memAvailableMb + ' MB available' }],
    }),
    disk: (box, h, max, group) => resourceChart(box, h, max, group, {
      legend: true,
      datasets: [
        line('free GB', h.s.diskAvail, h.s.t, M.slate, { yAxisID: 'y', borderWidth: 2 }),
        line('read KiB/s', h.s.rd, h.s.t, M.teal, { yAxisID: 'y1' }),
        line('write KiB/s', h.s.wr, h.s.t, M.pink, { yAxisID: 'y1' }),
        alertDataset(alertPoints(h, ['disk'], (a) => Math.round(a.value / 102.4) / 10), 'y'),
      ],
      y: { title: { display: true, text: 'free GB' } },
      y1: { title: { display: true, text: 'KiB/s' } },
      vlines: sevLines(h, ['disk']),
      hlines: [{ y: h.thresholds.diskFreeGb, color: SEV.warning, label: 'alert < ' + h.thresholds.diskFreeGb + ' GB free' }],
    }),
    net: (box, h, max, group) => resourceChart(box, h, max, group, {
      legend: true,
      datasets: [
        line('rx KiB/s', h.s.rx, h.s.t, M.teal, { fill: 'origin' }),
        line('tx KiB/s', h.s.tx, h.s.t, M.pink),
        line('load (1 min)', h.s.load, h.s.t, M.slate, { yAxisID: 'y1', borderDash: [4, 3] }),
      ],
      y: { title: { display: true, text: 'KiB/s' } },
      y1: { title: { display: true, text: 'load' } },
    }),
  };

  function fleet(box: HTMLElement) {
    const hosts = DATA.hosts.filter((h: any) => h.phases.length);
    if (!hosts.length) return emptyNote(box, 'No timing recorded.');
    box.style.height = (hosts.length * 26 + 110) + 'px';
    let max = 0;
    hosts.forEach((h: any) => { max = Math.max(max, hostMax(h)); });
    const minW = (max || 1) / 400;
    // colour is the status, as everywhere; the phase name is written in the bar
    const datasets = ['ok', 'changed', 'failed', 'skipped', 'pending'].map((status) => {
      const pts: any[] = [];
      hosts.forEach((h: any) => h.phases.forEach((p: any) => {
        if (p.status === status) pts.push({ y: h.host, x: [p.start, p.start + Math.max(p.dur, minW)], p });
      }));
      return { label: status, data: pts, backgroundColor: STATUS[status] + 'cc', borderColor: '#fff', borderWidth: 1, barPercentage: 0.7, categoryPercentage: 1, grouped: false };
    }).filter((d) => d.data.length);
    return new ChartLib(box.querySelector('canvas'), {
      type: 'bar',
      data: { labels: hosts.map((h: any) => h.host), datasets },
      options: {
        indexAxis: 'y',
        scales: { x: xAxis(max), y: { grid: { display: false }, afterFit: fixLeft } },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 12 } },
          barLabels: { enabled: true },
          tooltip: { callbacks: {
            title: (items: any[]) => (items.length ? items[0].raw.y : ''),
            label: (item: any) => 'phase ' + item.raw.p.name + ': ' + item.raw.p.status + ', ' + dur(item.raw.p.dur),
          } },
        },
      },
    });
  }

  /** What was going on at time x on host h: for the readout under the crosshair. */
  function describe(h: any, x: number, span: number): string {
    const parts = ['+' + secs(x, span) + ' (' + wall(x) + ')'];
    let phase: any = null;
    h.phases.forEach((p: any) => { if (p.start <= x && x <= p.start + p.dur) phase = p; });
    if (phase) {
      parts.push('phase ' + phase.name);
      let step: any = null;
      phase.steps.forEach((s: any) => { if (s.start <= x && x <= s.start + Math.max(s.dur, span / 400)) step = s; });
      if (step) parts.push('step ' + step.name + ' (' + step.status + ', ' + dur(step.dur) + ')');
    } else parts.push('no phase running');
    const t = h.s.t;
    if (t.length) {
      let k = 0;
      for (let i = 1; i < t.length; i++) if (Math.abs(t[i] - x) < Math.abs(t[k] - x)) k = i;
      parts.push('sample at +' + secs(t[k], span) + ': CPU ' + h.s.cpu[k] + ' %, available ' + h.s.memAvail[k] + ' MB, free ' + h.s.diskAvail[k] + ' GB, load ' + h.s.load[k]);
    }
    return parts.join(' · ');
  }

  const built = new Set<string>();
  function buildHost(el: HTMLElement) {
    const idx = Number(el.dataset.index);
    if (built.has(String(idx))) return;
    built.add(String(idx));
    const h = DATA.hosts[idx];
    const max = hostMax(h) || undefined;
    const readout = el.querySelector('.readout') as HTMLElement | null;
    const initial = readout ? readout.textContent : '';
    const group: any = {
      x: null, charts: [] as any[],
      set(x: number | null) {
        if (x === group.x) return;
        group.x = x;
        group.charts.forEach((c: any) => c.draw());
        if (readout) readout.textContent = x === null ? initial : describe(h, x, max || 1);
      },
    };
    el.querySelectorAll<HTMLElement>('.chart-box').forEach((box) => {
      const kind = box.dataset.chart as string;
      if (kind !== 'gantt' && !h.s.t.length) return emptyNote(box, 'No resource samples for this host.');
      const c: any = charts[kind](box, h, max, group);
      if (c) {
        c.$crosshair = group;
        group.charts.push(c);
      }
    });
  }

  fleet(document.getElementById('fleet') as HTMLElement);
  // charts of a host are drawn when its section is first opened: a 100-host report stays quick
  document.querySelectorAll<HTMLElement>('details.host').forEach((el) => {
    if ((el as HTMLDetailsElement).open) buildHost(el);
    el.addEventListener('toggle', () => { if ((el as HTMLDetailsElement).open) buildHost(el); });
  });
  (window as any).__reportReady = true;
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
    .filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(' · ');
  const title = `vps-provision report ${report.runId}`;
  // the scripts are trusted text of this module and of Chart.js, with the data escaped for <script>
  const scripts = new SafeHtml(`<script>${chartJsSource()}</script>
<script>
(${pageScript.toString()})(${jsonForScript(pageData(report, inputs))}, window.Chart);
</script>`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${title}</title>
<style>${new SafeHtml(CSS)}</style>
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
