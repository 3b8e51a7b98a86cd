// The script of report.html. It is put in the page with Function.prototype.toString()
// (tsc compiles it like any module; the page gets the compiled function), so the
// function must not use anything from outside itself at run time: only types are
// imported. The data arrive as its first argument, Chart.js (inlined) as its second.
//
// One colour per concept across every chart: green ok, blue changed, red failed (and
// critical alerts), amber warnings, grey skipped; resource lines use violet, pink, teal
// and slate, which mean nothing else. A host's charts share one time axis, pixel for
// pixel (fixed axis widths), and a crosshair: pointing at one marks the same moment on
// all of them and names the phase and step running then. The page only ever sets
// textContent and draws on canvas.
import type {
  BarElement,
  Chart,
  ChartConfiguration,
  ChartDataset,
  ChartEvent,
  ChartType,
  Plugin,
  Scale,
  TooltipItem,
} from 'chart.js';
import type { ChartLine, ResourceChart } from './chart-table.js';
import type { PageAlert, PageData, PageHost, PagePhase, PageStep } from './page-data.js';

/** Phase bands, alert lines (vlines) and threshold lines (hlines) on a chart. */
interface MarkerOptions {
  bands: { from: number; to: number; label: string; failed: boolean }[];
  vlines: { x: number; color: string }[];
  hlines: { y: number; color: string; label: string; axis?: string }[];
}

declare module 'chart.js' {
  // the type parameter must be declared as Chart.js declares it, even unused
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface PluginOptionsByType<TType extends ChartType> {
    markers?: Partial<MarkerOptions>;
    barLabels?: { enabled: boolean };
  }
}

/** The crosshair shared by the charts of one host. */
interface CrosshairGroup {
  x: number | null;
  charts: Chart[];
  set(x: number | null): void;
}
/** The group hangs on the chart itself: plugin options are resolved and cached by Chart.js. */
type CrosshairChart = Chart & { $crosshair?: CrosshairGroup };

/** A bar of a timeline: a category (y) and a span (x), with what it stands for. */
interface SpanPoint {
  y: string;
  x: [number, number];
  p: PagePhase;
  s?: PageStep;
  i?: number;
}
/** An alert drawn as a triangle. */
interface AlertPoint {
  x: number;
  y: number;
  alert: PageAlert;
}

export function pageScript(DATA: PageData, ChartLib: typeof Chart): void {
  const css = getComputedStyle(document.documentElement);
  const color = (name: string) => css.getPropertyValue(name).trim();
  const STATUS: Record<string, string> = {
    ok: color('--ok'),
    changed: color('--changed'),
    failed: color('--failed'),
    skipped: color('--skipped'),
    pending: '#cbd5e1',
  };
  const SEV: Record<string, string> = { warning: color('--warn'), critical: color('--crit') };
  const M: Record<ChartLine['colour'], string> = {
    violet: '#7c3aed',
    pink: '#db2777',
    teal: '#0f766e',
    slate: '#475569',
  };
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
  /** MiB as GiB with one decimal, as the disk chart and the readout show free space */
  const gib = (mb: number) => Math.round(mb / 102.4) / 10;
  const xAxis = (max: number | undefined) => {
    const span = max || 1;
    return {
      type: 'linear' as const,
      min: 0,
      max,
      ticks: { callback: (v: number | string) => secs(Number(v), span), maxTicksLimit: 10 },
      grid: { color: '#eef2f7' },
      title: { display: true, text: span >= 120 ? 'time since run start (m:ss)' : 'time since run start (seconds)' },
    };
  };
  const fixLeft = (sc: Scale) => {
    sc.width = LEFT_W;
  };
  const fixRight = (sc: Scale) => {
    sc.width = RIGHT_W;
  };

  // Phase bands and alert/threshold lines on the resource charts.
  const markers: Plugin = {
    id: 'markers',
    beforeDatasetsDraw(chart, _args, opts: Partial<MarkerOptions>) {
      const { ctx, chartArea: a, scales } = chart;
      if (!opts || !a || !opts.bands) return;
      ctx.save();
      opts.bands.forEach((b, i) => {
        const x1 = Math.max(a.left, scales.x!.getPixelForValue(b.from));
        const x2 = Math.min(a.right, scales.x!.getPixelForValue(b.to));
        if (x2 <= x1) return;
        ctx.fillStyle = b.failed ? 'rgba(220,38,38,0.13)' : i % 2 ? 'rgba(71,85,105,0.17)' : 'rgba(71,85,105,0.07)';
        ctx.fillRect(x1, a.top, x2 - x1, a.bottom - a.top);
        ctx.strokeStyle = 'rgba(71,85,105,0.55)';
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x1 + 0.5, a.top);
        ctx.lineTo(x1 + 0.5, a.bottom);
        ctx.stroke();
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
    afterDatasetsDraw(chart, _args, opts: Partial<MarkerOptions>) {
      const { ctx, chartArea: a, scales } = chart;
      if (!opts || !a) return;
      ctx.save();
      (opts.hlines || []).forEach((l) => {
        const scale = scales[l.axis || 'y'];
        if (!scale) return;
        const y = scale.getPixelForValue(l.y);
        if (y < a.top || y > a.bottom) return;
        ctx.strokeStyle = l.color;
        ctx.setLineDash([5, 4]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(a.left, y);
        ctx.lineTo(a.right, y);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = l.color;
        ctx.font = '10px ' + ChartLib.defaults.font.family;
        ctx.fillText(l.label, a.right - ctx.measureText(l.label).width - 4, y - 3);
      });
      (opts.vlines || []).forEach((l) => {
        const x = scales.x!.getPixelForValue(l.x);
        if (x < a.left || x > a.right) return;
        ctx.strokeStyle = l.color;
        ctx.lineWidth = 2;
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.moveTo(x, a.top);
        ctx.lineTo(x, a.bottom);
        ctx.stroke();
        ctx.fillStyle = l.color;
        ctx.beginPath();
        ctx.moveTo(x - 5, a.top);
        ctx.lineTo(x + 5, a.top);
        ctx.lineTo(x, a.top + 7);
        ctx.closePath();
        ctx.fill();
      });
      ctx.restore();
    },
  };

  // The shared crosshair of a host's charts.
  const crosshair: Plugin = {
    id: 'crosshair',
    afterEvent(chart: CrosshairChart, args: { event: ChartEvent }) {
      const g = chart.$crosshair;
      if (!g) return;
      const e = args.event;
      const a = chart.chartArea;
      if (e.type === 'mouseout') g.set(null);
      else if (e.type === 'mousemove' && a && e.x !== null)
        g.set(e.x >= a.left && e.x <= a.right ? (chart.scales.x!.getValueForPixel(e.x) ?? null) : null);
    },
    afterDraw(chart: CrosshairChart) {
      const g = chart.$crosshair;
      if (!g || g.x === null) return;
      const { ctx, chartArea: a, scales } = chart;
      const x = scales.x!.getPixelForValue(g.x);
      if (x < a.left || x > a.right) return;
      ctx.save();
      ctx.strokeStyle = '#111827';
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(x + 0.5, a.top);
      ctx.lineTo(x + 0.5, a.bottom);
      ctx.stroke();
      ctx.restore();
    },
  };

  // Phase names inside the bars of the fleet timeline (colour there is the status).
  const barLabels: Plugin = {
    id: 'barLabels',
    afterDatasetsDraw(chart, _args, opts: { enabled?: boolean }) {
      if (!opts || !opts.enabled) return;
      const { ctx } = chart;
      ctx.save();
      ctx.font = '10px ' + ChartLib.defaults.font.family;
      chart.data.datasets.forEach((ds, i) => {
        chart.getDatasetMeta(i).data.forEach((el, j) => {
          const bar = el as unknown as BarElement & { base: number };
          const text = (ds.data[j] as unknown as SpanPoint).p.name;
          const w = Math.abs(bar.x - bar.base);
          if (w < ctx.measureText(text).width + 6) return;
          ctx.fillStyle = '#fff';
          ctx.fillText(text, Math.min(bar.x, bar.base) + 3, bar.y + 3.5);
        });
      });
      ctx.restore();
    },
  };
  ChartLib.register(markers, crosshair, barLabels);

  const alertDataset = (points: AlertPoint[]) => ({
    type: 'scatter' as const,
    label: 'alerts',
    data: points,
    yAxisID: 'y',
    order: -1,
    pointStyle: 'triangle' as const,
    pointRadius: 7,
    pointHoverRadius: 9,
    borderWidth: 1,
    backgroundColor: points.map((p) => SEV[p.alert.severity]!),
    borderColor: '#fff',
  });
  const tooltipFor = (span: number) => ({
    callbacks: {
      title: (items: TooltipItem<ChartType>[]) =>
        items.length
          ? '+' + secs(items[0]!.parsed.x as number, span) + '  (' + wall(items[0]!.parsed.x as number) + ')'
          : '',
      label: (item: TooltipItem<ChartType>) => {
        const raw = item.raw as Partial<AlertPoint> | undefined;
        return raw && raw.alert
          ? raw.alert.severity + ': ' + raw.alert.message
          : item.dataset.label + ': ' + item.formattedValue;
      },
    },
  });

  function hostMax(h: PageHost): number {
    let m = 0;
    h.phases.forEach((p) => {
      m = Math.max(m, p.start + p.dur);
    });
    if (h.s.t.length) m = Math.max(m, h.s.t[h.s.t.length - 1]!);
    return m;
  }
  const bands = (h: PageHost) =>
    h.phases.map((p) => ({ from: p.start, to: p.start + p.dur, label: p.name, failed: p.status === 'failed' }));
  const alertsOf = (h: PageHost, kind: string) => h.alerts.filter((a) => a.kind === kind);
  function emptyNote(box: HTMLElement, text: string): undefined {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = text;
    box.replaceChildren(p);
    box.style.height = 'auto';
    return undefined;
  }
  const canvasOf = (box: HTMLElement) => box.querySelector('canvas')!;

  /** A host's timeline: a pale bar per phase, its steps as narrow bars, estimates dashed. */
  function gantt(box: HTMLElement, h: PageHost, max: number | undefined): Chart | undefined {
    if (!h.phases.length) return emptyNote(box, 'No timing recorded for this host.');
    const labels = h.phases.map((p) => p.name);
    box.style.height = labels.length * 24 + 70 + 'px';
    const minW = (max || 1) / 400;
    const phaseBars: SpanPoint[] = h.phases.map((p) => ({
      y: p.name,
      x: [p.start, p.start + Math.max(p.dur, minW)],
      p,
    }));
    const stepBars: SpanPoint[] = [];
    h.phases.forEach((p) =>
      p.steps.forEach((s, i) => stepBars.push({ y: p.name, x: [s.start, s.start + Math.max(s.dur, minW)], p, s, i })),
    );
    const estBars: SpanPoint[] = h.phases
      .filter((p) => p.est)
      .map((p) => ({ y: p.name, x: [p.start, p.start + p.est!], p }));
    const config: ChartConfiguration<'bar', SpanPoint[], string> = {
      type: 'bar',
      data: {
        labels,
        datasets: [
          {
            label: 'estimate',
            data: estBars,
            backgroundColor: 'rgba(0,0,0,0)',
            borderColor: '#94a3b8',
            borderWidth: 1,
            borderDash: [3, 3],
            barPercentage: 0.95,
            categoryPercentage: 1,
            grouped: false,
            order: 3,
          } as ChartDataset<'bar', SpanPoint[]>,
          {
            label: 'phase',
            data: phaseBars,
            backgroundColor: phaseBars.map((b) => STATUS[b.p.status] + '40'),
            borderColor: phaseBars.map((b) => STATUS[b.p.status]!),
            borderWidth: 1,
            barPercentage: 0.8,
            categoryPercentage: 1,
            grouped: false,
            order: 2,
          },
          {
            label: 'step',
            data: stepBars,
            backgroundColor: stepBars.map((b) => STATUS[b.s!.status] + (b.i! % 2 ? 'cc' : 'ff')),
            borderWidth: 0,
            barPercentage: 0.42,
            categoryPercentage: 1,
            grouped: false,
            order: 1,
          },
        ],
      },
      options: {
        indexAxis: 'y',
        interaction: { mode: 'nearest', intersect: true },
        layout: { padding: { right: RIGHT_W } },
        scales: {
          x: xAxis(max),
          y: {
            grid: { display: false },
            afterFit: fixLeft,
            ticks: { callback: (_v, i) => String(labels[i]).slice(0, 18) },
          },
        },
        plugins: {
          legend: { display: false },
          // no phase bands here: the bars are the phases
          markers: { vlines: alertsOf(h, 'phase-duration').map((a) => ({ x: a.x, color: SEV[a.severity]! })) },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? (items[0]!.raw as SpanPoint).y : ''),
              label: (item) => {
                const r = item.raw as SpanPoint;
                if (r.s) return 'step ' + r.s.name + ': ' + r.s.status + ', ' + dur(r.s.dur);
                if (item.dataset.label === 'estimate') return 'estimate ' + dur(r.p.est!);
                return (
                  'phase: ' +
                  r.p.status +
                  ', ' +
                  dur(r.p.dur) +
                  (r.p.est ? ' (' + Math.round((100 * r.p.dur) / r.p.est) + ' % of estimate)' : '')
                );
              },
              footer: (items) =>
                items.length
                  ? 'from +' +
                    secs((items[0]!.raw as SpanPoint).x[0], max || 1) +
                    ' (' +
                    wall((items[0]!.raw as SpanPoint).x[0]) +
                    ')'
                  : '',
            },
          },
        },
      },
    };
    return new ChartLib(canvasOf(box), config) as unknown as Chart;
  }

  /** One entry of the chart table, drawn for one host. */
  function resourceChart(box: HTMLElement, h: PageHost, max: number | undefined, spec: ResourceChart): Chart {
    const t = h.s.t;
    const datasets: ChartDataset<'line' | 'scatter', { x: number; y: number }[]>[] = spec.lines.map((l) => {
      const values = h.s[l.metric] ?? [];
      return {
        label: l.label,
        data: t.map((x, i) => ({ x, y: l.gib ? gib(values[i]!) : values[i]! })),
        borderColor: M[l.colour],
        backgroundColor: M[l.colour] + '26',
        pointRadius: t.length < 40 ? 2 : 0,
        borderWidth: l.width ?? 1.5,
        tension: 0.2,
        yAxisID: l.right ? 'y1' : 'y',
        ...(l.fill ? { fill: 'origin' } : {}),
        ...(l.dash ? { borderDash: l.dash } : {}),
      };
    });
    const marks: Partial<MarkerOptions> = { bands: bands(h), vlines: [], hlines: [] };
    const al = spec.alert;
    if (al) {
      const alerts = alertsOf(h, al.kind);
      const cap = spec.y.max ?? Infinity;
      datasets.push(
        alertDataset(alerts.map((a) => ({ x: a.x, y: Math.min(cap, al.gib ? gib(a.value) : a.value), alert: a }))),
      );
      marks.vlines = alerts.map((a) => ({ x: a.x, color: SEV[a.severity]! }));
      const limit = h.thresholds[al.threshold];
      marks.hlines = [{ y: limit, color: SEV.warning!, label: al.label.replace('{}', String(limit)) }];
    }
    const scales: Record<string, object> = {
      x: xAxis(max),
      y: {
        min: 0,
        afterFit: fixLeft,
        ...(spec.y.max === undefined ? {} : { max: spec.y.max }),
        title: { display: true, text: spec.y.title },
      },
    };
    if (spec.y1)
      scales.y1 = {
        min: 0,
        position: 'right',
        grid: { drawOnChartArea: false },
        afterFit: fixRight,
        title: { display: true, text: spec.y1.title },
      };
    const config = {
      type: 'line',
      data: { datasets },
      options: {
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        layout: { padding: { right: spec.y1 ? 0 : RIGHT_W } },
        scales,
        plugins: {
          legend: spec.legend
            ? { position: 'bottom', labels: { boxWidth: 12, filter: (i: { text: string }) => i.text !== 'alerts' } }
            : { display: false },
          tooltip: tooltipFor(max || 1),
          markers: marks,
        },
      },
    } as unknown as ChartConfiguration<'line'>;
    return new ChartLib(canvasOf(box), config) as unknown as Chart;
  }

  /** Every host on one time axis, a bar per phase coloured by its status. */
  function fleet(box: HTMLElement): Chart | undefined {
    const hosts = DATA.hosts.filter((h) => h.phases.length);
    if (!hosts.length) return emptyNote(box, 'No timing recorded.');
    box.style.height = hosts.length * 26 + 110 + 'px';
    let max = 0;
    hosts.forEach((h) => {
      max = Math.max(max, hostMax(h));
    });
    const minW = (max || 1) / 400;
    // colour is the status, as everywhere; the phase name is written in the bar
    const datasets = ['ok', 'changed', 'failed', 'skipped', 'pending']
      .map((status) => {
        const pts: SpanPoint[] = [];
        hosts.forEach((h) =>
          h.phases.forEach((p) => {
            if (p.status === status) pts.push({ y: h.host, x: [p.start, p.start + Math.max(p.dur, minW)], p });
          }),
        );
        return {
          label: status,
          data: pts,
          backgroundColor: STATUS[status] + 'cc',
          borderColor: '#fff',
          borderWidth: 1,
          barPercentage: 0.7,
          categoryPercentage: 1,
          grouped: false,
        };
      })
      .filter((d) => d.data.length);
    const config: ChartConfiguration<'bar', SpanPoint[], string> = {
      type: 'bar',
      data: { labels: hosts.map((h) => h.host), datasets },
      options: {
        indexAxis: 'y',
        scales: { x: xAxis(max), y: { grid: { display: false }, afterFit: fixLeft } },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 12 } },
          barLabels: { enabled: true },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? (items[0]!.raw as SpanPoint).y : ''),
              label: (item) => {
                const p = (item.raw as SpanPoint).p;
                return 'phase ' + p.name + ': ' + p.status + ', ' + dur(p.dur);
              },
            },
          },
        },
      },
    };
    return new ChartLib(canvasOf(box), config) as unknown as Chart;
  }

  /** What was going on at time x on host h: for the readout under the crosshair. */
  function describe(h: PageHost, x: number, span: number): string {
    const parts = ['+' + secs(x, span) + ' (' + wall(x) + ')'];
    let phase: PagePhase | null = null;
    h.phases.forEach((p) => {
      if (p.start <= x && x <= p.start + p.dur) phase = p;
    });
    if (phase) {
      const ph: PagePhase = phase;
      parts.push('phase ' + ph.name);
      let step: PageStep | null = null;
      ph.steps.forEach((s) => {
        if (s.start <= x && x <= s.start + Math.max(s.dur, span / 400)) step = s;
      });
      if (step) {
        const st: PageStep = step;
        parts.push('step ' + st.name + ' (' + st.status + ', ' + dur(st.dur) + ')');
      }
    } else parts.push('no phase running');
    const t = h.s.t;
    if (t.length) {
      let k = 0;
      for (let i = 1; i < t.length; i++) if (Math.abs(t[i]! - x) < Math.abs(t[k]! - x)) k = i;
      const at = (m: 'cpuPct' | 'memAvailableMb' | 'diskAvailMb' | 'load1') => h.s[m]![k]!;
      parts.push(
        'sample at +' +
          secs(t[k]!, span) +
          ': CPU ' +
          at('cpuPct') +
          ' %, available ' +
          at('memAvailableMb') +
          ' MB, free ' +
          gib(at('diskAvailMb')) +
          ' GB, load ' +
          at('load1'),
      );
    }
    return parts.join(' · ');
  }

  const built = new Set<number>();
  function buildHost(el: HTMLElement) {
    const idx = Number(el.dataset.index);
    if (built.has(idx)) return;
    built.add(idx);
    const h = DATA.hosts[idx]!;
    const max = hostMax(h) || undefined;
    const readout = el.querySelector<HTMLElement>('.readout');
    const initial = readout ? readout.textContent : '';
    const group: CrosshairGroup = {
      x: null,
      charts: [],
      set(x) {
        if (x === group.x) return;
        group.x = x;
        group.charts.forEach((c) => c.draw());
        if (readout) readout.textContent = x === null ? initial : describe(h, x, max || 1);
      },
    };
    el.querySelectorAll<HTMLElement>('.chart-box').forEach((box) => {
      const kind = box.dataset.chart;
      let c: CrosshairChart | undefined;
      if (kind === 'gantt') c = gantt(box, h, max);
      else if (!h.s.t.length) return emptyNote(box, 'No resource samples for this host.');
      else {
        const spec = DATA.charts.find((s) => s.id === kind);
        if (spec) c = resourceChart(box, h, max, spec);
      }
      if (c) {
        c.$crosshair = group;
        group.charts.push(c);
      }
      return undefined;
    });
  }

  fleet(document.getElementById('fleet')!);
  // charts of a host are drawn when its section is first opened: a 100-host report stays quick
  document.querySelectorAll<HTMLDetailsElement>('details.host').forEach((el) => {
    if (el.open) buildHost(el);
    el.addEventListener('toggle', () => {
      if (el.open) buildHost(el);
    });
  });
  (window as unknown as { __reportReady?: boolean }).__reportReady = true;
}
