// report.html in a real headless Chromium: the charts render, nothing is fetched
// from any network address, no console errors. A screenshot goes to test-output/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../../src/monitor/script-files.js';
import { buildReport, type BuiltReport } from '../../src/report/build-report.js';
import { syntheticRun, writeRunFolder } from '../../src/report/synthetic-run.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

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
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => (window as unknown as { __reportReady?: boolean }).__reportReady === true, null, { timeout: 15_000 });
  return { page, requests, problems };
}

/** Per canvas: its size and how many of its pixels were painted. */
async function canvases(page: Page): Promise<Array<{ w: number; h: number; painted: number }>> {
  return page.evaluate(() => Array.from(document.querySelectorAll('canvas')).map((c) => {
    const w = c.width;
    const h = c.height;
    if (!w || !h) return { w, h, painted: 0 };
    const data = c.getContext('2d')!.getImageData(0, 0, w, h).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
    return { w, h, painted };
  }));
}

const chartCount = (page: Page) => page.evaluate(() => Object.keys((window as unknown as { Chart: { instances: object } }).Chart.instances).length);

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
        const C = (window as unknown as { Chart: { instances: Record<string, { canvas: HTMLCanvasElement; data: { labels: string[] } }> } }).Chart;
        return Object.values(C.instances).filter((c) => c.canvas.closest('[data-chart="gantt"]')).map((c) => c.data.labels.length);
      });
      expect(ganttLabels).toEqual(report.hosts.map((h) => h.phases.filter((p) => p.durationS !== null).length));

      const out = join(packageRoot(), 'test-output');
      mkdirSync(out, { recursive: true });
      await page.screenshot({ path: join(out, 'report-html-render.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('with hosts folded, draws a host\'s charts when it is opened', async () => {
    const many = join(dir, 'many');
    await writeRunFolder(many, syntheticRun({ hosts: 12, seed: 3, runId: '20261128T040000Z-c3d4' }));
    const b = await buildReport(many);
    const { page, requests, problems } = await open(b.files.reportHtml);
    try {
      expect(await chartCount(page)).toBe(1); // 12 hosts: folded by default
      await page.locator('details.host summary').nth(4).click();
      await page.waitForFunction(() => Object.keys((window as unknown as { Chart: { instances: object } }).Chart.instances).length === 6, null, { timeout: 5000 });
      const painted = (await canvases(page)).filter((c) => c.painted > 0);
      expect(painted).toHaveLength(6);
      expect(requests).toHaveLength(1);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
