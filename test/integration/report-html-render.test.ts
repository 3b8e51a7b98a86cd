// report.html in a real headless Chromium: the charts render, nothing is fetched
// from any network address, no console errors. A screenshot goes to test-output/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../../src/monitor/script-files.js';
import { buildReport, type BuiltReport } from '../../src/report/build-report.js';
import { syntheticRun, writeRunFolder } from '../support/synthetic-run.js';
import type { RunInputs } from '../../src/report/merge-hosts.js';

/** A synthetic run squeezed `factor` times (a run of checks that all passed lasts < 1 s). */
function squeeze(inputs: RunInputs, factor: number): RunInputs {
  const t0 = Date.parse('2026-11-28T02:21:00.000Z');
  const ms = (t: number) => t0 + (t - t0) / factor;
  const iso = (s: string) => new Date(ms(Date.parse(s))).toISOString();
  for (const h of inputs.hosts) {
    for (const r of [...h.timing, ...h.controllerTiming]) {
      r.startEpochS = ms(r.startEpochS * 1000) / 1000;
      r.durationS /= factor;
      r.timestamp = iso(r.timestamp);
    }
    for (const s of h.resources) {
      s.t = ms(s.t);
      s.timestamp = new Date(s.t).toISOString();
    }
    const run = h.run!;
    run.startedAt = iso(run.startedAt);
    if (run.endedAt) run.endedAt = iso(run.endedAt);
    for (const p of run.phases) {
      if (p.startedAt) p.startedAt = iso(p.startedAt);
      if (p.durationMs) p.durationMs /= factor;
    }
  }
  return inputs;
}

/** Tick labels of the time axis of every chart on the page. */
const tickLabels = (page: Page) =>
  page.evaluate(() => {
    const C = (
      window as unknown as { Chart: { instances: Record<string, { scales: { x: { ticks: { label: string }[] } } }> } }
    ).Chart;
    return Object.values(C.instances).map((c) => c.scales.x.ticks.map((t) => String(t.label)));
  });

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vps-report-html-'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Watched {
  page: Page;
  requests: string[];
  problems: string[];
}

async function open(file: string): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (window as unknown as { __reportReady?: boolean }).__reportReady === true, null, {
    timeout: 15_000,
  });
  return { page, requests, problems };
}

/** Per canvas: its size and how many of its pixels were painted. */
async function canvases(page: Page): Promise<Array<{ w: number; h: number; painted: number }>> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('canvas')).map((c) => {
      const w = c.width;
      const h = c.height;
      if (!w || !h) return { w, h, painted: 0 };
      const data = c.getContext('2d')!.getImageData(0, 0, w, h).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
      return { w, h, painted };
    }),
  );
}

const chartCount = (page: Page) =>
  page.evaluate(() => Object.keys((window as unknown as { Chart: { instances: object } }).Chart.instances).length);

describe('report.html in headless Chromium', () => {
  let built: BuiltReport;

  beforeAll(async () => {
    const runDir = join(dir, '20261128T022100Z-a1b2');
    await writeRunFolder(runDir, syntheticRun({ hosts: 3, failures: { 2: 'rdp' }, lowMemory: [1], seed: 7 }));
    built = await buildReport(runDir);
  });

  it('draws every chart, fetches nothing, logs no error', async () => {
    const { page, requests, problems } = await open(built.files.reportHtml);
    try {
      // fleet timeline + 5 charts per host, all hosts open
      expect(await chartCount(page)).toBe(1 + 3 * 5);
      const drawn = await canvases(page);
      expect(drawn).toHaveLength(16);
      for (const c of drawn) {
        expect(c.w).toBeGreaterThan(100);
        expect(c.h).toBeGreaterThan(100);
        expect(c.painted / (c.w * c.h)).toBeGreaterThan(0.02);
      }
      // the one request is the page itself: no network address, no other file
      expect(requests).toEqual([pathToFileURL(built.files.reportHtml).href]);
      expect(problems).toEqual([]);

      // the model is on the page: summary rows, alert rows, phases on the timeline
      const report = built.report;
      expect(await page.locator('table.summary tbody tr').count()).toBe(3);
      expect(await page.locator('table.summary tbody tr').nth(2).locator('.chip').innerText()).toBe('failed');
      const alerts = report.hosts.reduce((s, h) => s + h.alerts.length, 0);
      expect(alerts).toBeGreaterThan(0);
      expect(await page.locator('table.alerts tbody tr').count()).toBe(alerts);
      const ganttLabels = await page.evaluate(() => {
        const C = (
          window as unknown as {
            Chart: { instances: Record<string, { canvas: HTMLCanvasElement; data: { labels: string[] } }> };
          }
        ).Chart;
        return Object.values(C.instances)
          .filter((c) => c.canvas.closest('[data-chart="gantt"]'))
          .map((c) => c.data.labels.length);
      });
      expect(ganttLabels).toEqual(report.hosts.map((h) => h.phases.filter((p) => p.durationS !== null).length));

      // the failed step's output is on the page, as text
      const failure = page.locator('details.host').nth(2).locator('.failure');
      expect(await failure.locator('h4').innerText()).toBe('Failed: rdp / Start xrdp');
      expect(await failure.locator('pre').innerText()).toContain(
        'E: Unable to locate package rdp-<script>alert(1)</script>',
      );
      // a failed phase's variance is not green
      const rdpRow = page.locator('details.host').nth(2).locator('table.phases tr', { hasText: 'rdp' }).first();
      const varianceColor = await rdpRow
        .locator('td')
        .nth(4)
        .evaluate((td) => getComputedStyle(td).color);
      expect(varianceColor).toBe('rgb(220, 38, 38)');
      // one meaning per colour: the fleet timeline is coloured by status, as the host timelines
      const fleetColors = await page.evaluate(() => {
        const C = (
          window as unknown as {
            Chart: {
              instances: Record<string, { canvas: HTMLCanvasElement; data: { datasets: { label: string }[] } }>;
            };
          }
        ).Chart;
        return Object.values(C.instances)
          .find((c) => c.canvas.closest('#fleet'))!
          .data.datasets.map((d) => d.label)
          .sort();
      });
      expect(fleetColors).toEqual(['changed', 'failed', 'ok']);
      // a host's charts share one time axis pixel for pixel, and one crosshair
      const host = page.locator('details.host').nth(1);
      await host.locator('[data-chart="mem"]').scrollIntoViewIfNeeded();
      const areas = await host.evaluate((el) => {
        const C = (
          window as unknown as {
            Chart: {
              getChart: (c: HTMLCanvasElement) => {
                chartArea: { left: number; right: number };
                scales: { x: { max: number } };
              };
            };
          }
        ).Chart;
        return Array.from(el.querySelectorAll('canvas')).map((c) => {
          const ch = C.getChart(c);
          return [
            Math.round(c.getBoundingClientRect().left + ch.chartArea.left),
            Math.round(c.getBoundingClientRect().left + ch.chartArea.right),
            ch.scales.x.max,
          ];
        });
      });
      expect(areas).toHaveLength(5);
      expect(new Set(areas.map((a) => a.join(','))).size).toBe(1);
      const mem = await host.locator('[data-chart="mem"] canvas').boundingBox();
      const x = mem!.x + areas[0]![0]! - mem!.x + (areas[0]![1]! - areas[0]![0]!) * 0.5;
      await page.mouse.move(x, mem!.y + mem!.height / 2);
      const readout = await host.locator('.readout').innerText();
      expect(readout).toMatch(
        /^\+\d+:\d\d \(\d\d:\d\d:\d\d\.\d{3}Z\) · phase [\w-]+ · step .+ · sample at \+\d+:\d\d: CPU [\d.]+ %/,
      );
      // the crosshair is drawn on the other charts at the same x: a dark pixel column there
      const cpuCanvas = host.locator('[data-chart="cpu"] canvas');
      const dark = await cpuCanvas.evaluate((c: HTMLCanvasElement, px: number) => {
        const r = c.getBoundingClientRect();
        const scale = c.width / r.width;
        const col = Math.round((px - r.left) * scale);
        const d = c.getContext('2d')!.getImageData(col - 1, 0, 3, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
          if (d[i]! < 60 && d[i + 1]! < 60 && d[i + 2]! < 60 && d[i + 3]! > 200) n++;
        return n;
      }, x);
      expect(dark).toBeGreaterThan(20);

      const out = join(packageRoot(), 'test-output');
      mkdirSync(out, { recursive: true });
      await page.screenshot({ path: join(out, 'report-html-render.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('a sub-second run gets readable ticks, not 0:00 everywhere', async () => {
    const runDir = join(dir, '20261128T050000Z-e5f6');
    await writeRunFolder(runDir, squeeze(syntheticRun({ hosts: 2, seed: 5, runId: '20261128T050000Z-e5f6' }), 3000));
    const b = await buildReport(runDir);
    expect(b.report.durationS).toBeLessThan(1);
    const { page, problems } = await open(b.files.reportHtml);
    try {
      const ticks = await tickLabels(page);
      expect(ticks).toHaveLength(1 + 2 * 5);
      for (const labels of ticks) {
        expect(labels.length).toBeGreaterThan(3);
        expect(new Set(labels).size).toBe(labels.length); // every tick tells a different time
        for (const l of labels) expect(l).toMatch(/^\d+(\.\d+)? s$/);
      }
      expect(problems).toEqual([]);
      const out = join(packageRoot(), 'test-output');
      mkdirSync(out, { recursive: true });
      await page.screenshot({ path: join(out, 'report-html-render-subsecond.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it("with hosts folded, draws a host's charts when it is opened", async () => {
    const many = join(dir, 'many');
    await writeRunFolder(many, syntheticRun({ hosts: 12, seed: 3, runId: '20261128T040000Z-c3d4' }));
    const b = await buildReport(many);
    const { page, requests, problems } = await open(b.files.reportHtml);
    try {
      expect(await chartCount(page)).toBe(1); // 12 hosts: folded by default
      await page.locator('details.host summary').nth(4).click();
      await page.waitForFunction(
        () => Object.keys((window as unknown as { Chart: { instances: object } }).Chart.instances).length === 6,
        null,
        { timeout: 5000 },
      );
      const painted = (await canvases(page)).filter((c) => c.painted > 0);
      expect(painted).toHaveLength(6);
      expect(requests).toHaveLength(1);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
