import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { buildReport, readReportJson } from '../../src/report/build-report.js';
import { DEFAULT_THRESHOLDS, MERGED_TIMING_COLUMNS, RESOURCE_COLUMNS, parseRunJson } from '../../src/report/formats.js';
import { loadRun, loadRunTexts, HOST_FILES, type HostTexts } from '../../src/report/load-run.js';
import { mergeHosts } from '../../src/report/merge-hosts.js';
import { escapeHtml, html, jsonForScript } from '../../src/report/html.js';
import { formatDuration, renderHtml, varianceClass } from '../../src/report/render-html.js';
import { parseResourcesCsv } from '../../src/report/parse-csv.js';
import { RESOURCE_CHARTS, type ResourceChart } from '../../src/report/page/chart-table.js';
import { pageData } from '../../src/report/page/page-data.js';
import { syntheticRun, writeRunFolder } from '../support/synthetic-run.js';
import { parse } from 'csv-parse/sync';

describe('run.json and thresholds', () => {
  const good = () => ({
    runId: 'r',
    host: 'h',
    address: '203.0.113.1',
    startedAt: '2026-11-28T02:21:00.000Z',
    endedAt: '2026-11-28T02:40:00.000Z',
    status: 'ok',
    phases: [{ name: 'rdp', estimateS: 60, critical: true, status: 'ok', durationMs: 1000 }],
    thresholds: DEFAULT_THRESHOLDS,
    alerts: [],
  });

  it('accepts a valid file', () => {
    expect(parseRunJson(JSON.stringify(good()), 'run.json').phases[0].name).toBe('rdp');
  });

  it.each([
    ['broken JSON', '{"runId": ', /^x\/run\.json: not valid JSON/],
    ['a wrong status', JSON.stringify({ ...good(), status: 'great' }), /^x\/run\.json: status: /],
    ['a bad time', JSON.stringify({ ...good(), startedAt: 'noon' }), /^x\/run\.json: startedAt: expected an ISO-8601/],
    ['a bad phase', JSON.stringify({ ...good(), phases: [{ name: 'rdp' }] }), /^x\/run\.json: phases\.0\.estimateS: /],
    ['an unknown threshold', JSON.stringify({ ...good(), thresholds: { cpu: 1 } }), /^x\/run\.json: thresholds: /],
  ])('rejects %s naming the file and the field', (_n, text, message) => {
    let err: unknown;
    try {
      parseRunJson(text, 'x/run.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(message);
    expect((err as ConfigError).file).toBe('x/run.json');
  });

  it('resolves partial thresholds over the SPEC defaults', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({
      memAvailableMb: 500,
      diskFreeGb: 5,
      cpuPct: 95,
      cpuSustainedS: 60,
      phaseWarningPct: 150,
      phaseCriticalPct: 200,
    });
  });
});

describe('HTML safety', () => {
  it('escapes text and makes JSON safe inside a script element', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const json = jsonForScript({ s: '</script><!-- \u2028' });
    expect(json).not.toMatch(/<|>|\u2028/);
    expect(JSON.parse(json)).toEqual({ s: '</script><!-- \u2028' });
  });

  it.each([
    [0.0434, '0.043 s'],
    [0.5, '0.5 s'],
    [5.04, '5 s'],
    [59.96, '60 s'],
    [61, '1 min 01 s'],
    [3725, '1 h 02 min'],
    [null, '–'],
  ])('formatDuration(%p) = %p', (s, text) => {
    expect(formatDuration(s)).toBe(text);
  });

  it('no value from the inputs reaches the page unescaped', () => {
    const evil = '<img src=x onerror=alert(1)></script><script>alert(2)</script>';
    const inputs = syntheticRun({ hosts: 2, failures: { 0: 'desktop' } });
    inputs.hosts[0].host = evil;
    inputs.hosts[0].run!.host = evil;
    inputs.hosts[0].run!.error = evil;
    inputs.hosts[0].run!.address = evil;
    inputs.hosts[0].run!.phases[2].reason = evil;
    inputs.hosts[0].run!.phases[2].failedSteps = [{ step: evil, output: evil }];
    inputs.hosts[0].warnings = [evil];
    inputs.hosts[0].timing[0]!.step = evil;
    const html = renderHtml(mergeHosts(inputs), inputs);
    expect(html).toContain('<pre class="output">&lt;img src=x');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>alert(2)');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // exactly the two script elements of the page itself
    expect(html.match(/<script>/g)).toHaveLength(2);
    expect(html).toContain("default-src 'none'");
  });
});

describe('page markup', () => {
  it('html`` escapes every value unless it is markup built the same way', () => {
    const name = '<b>"x" & \'y\'</b>';
    expect(html`<td title="${name}">${name}</td>`.text).toBe(
      '<td title="&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;">&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;</td>',
    );
    expect(html`<ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`.text).toBe('<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>');
    expect(html`${null}${undefined}${false}${0}`.text).toBe('0');
  });

  it('the chart table drives the cards of a host and the samples sent to the page', () => {
    const inputs = syntheticRun({ hosts: 1 });
    const report = mergeHosts(inputs);
    const page = renderHtml(report, inputs);
    const cards = [...page.matchAll(/<h4>([^<]*)<\/h4><div class="chart-box (\w+)" data-chart="(\w+)"/g)].map((m) => [
      m[3],
      m[1],
    ]);
    expect(cards).toEqual([['gantt', 'Timeline: phases and steps'], ...RESOURCE_CHARTS.map((c) => [c.id, c.title])]);
    // a new entry naming a metric no chart drew before: one more card, its samples on the page
    const procs: ResourceChart = {
      id: 'procs',
      title: 'Processes',
      legend: false,
      lines: [{ label: 'processes', metric: 'procs', colour: 'teal' }],
      y: { title: 'count' },
    };
    const data = pageData(report, inputs, [...RESOURCE_CHARTS, procs]);
    expect(data.charts.map((c) => c.id)).toEqual([...RESOURCE_CHARTS.map((c) => c.id), 'procs']);
    expect(data.hosts[0]!.s.procs).toEqual(
      [...inputs.hosts[0]!.resources].sort((a, b) => a.t - b.t).map((r) => r.procs),
    );
    expect(pageData(report, inputs).hosts[0]!.s.procs).toBeUndefined();
  });

  it.each([
    [-30, 'ok', 'v-fast'],
    [30, 'changed', 'v-slow'],
    [80, 'ok', 'v-warn'],
    [150, 'ok', 'v-crit'],
    [-30, 'failed', 'v-failed'],
    [150, 'failed', 'v-failed'],
    [null, 'failed', ''],
  ] as const)('variance %p of a phase %s is drawn as %p (a failed phase is never green)', (v, status, cls) => {
    expect(varianceClass(v, status)).toBe(cls);
  });
});

describe('write, load and build a report folder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vps-report-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes timing.csv with the laptop durations joined, resources.csv of all hosts, report.json and report.html', async () => {
    const inputs = syntheticRun({ hosts: 3, failures: { 2: 'rdp' } });
    await writeRunFolder(dir, inputs);
    const { report, files } = await buildReport(dir, { generatedAt: '2026-11-28T03:00:00.000Z' });

    const timing = parse(readFileSync(files.timingCsv, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(timing[0])).toEqual([...MERGED_TIMING_COLUMNS]);
    expect(timing).toHaveLength(inputs.hosts.reduce((s, h) => s + h.timing.length, 0));
    const src = inputs.hosts[1];
    const step = src.timing[0];
    const ctl = src.controllerTiming.find((r) => r.phase === step.phase && r.step === step.step)!;
    const merged = timing.find((r) => r.host === src.host && r.phase === step.phase && r.step === step.step)!;
    expect(Number(merged.duration_s)).toBeCloseTo(step.durationS, 3);
    expect(Number(merged.controller_duration_s)).toBeCloseTo(ctl.durationS, 3);

    const res = parseResourcesCsv(readFileSync(files.resourcesCsv, 'utf8'), files.resourcesCsv);
    expect(res.rows).toHaveLength(inputs.hosts.reduce((s, h) => s + h.resources.length, 0));
    expect(new Set(res.rows.map((r) => r.host))).toEqual(new Set(['droplet-1', 'droplet-2', 'droplet-3']));
    expect(readFileSync(files.resourcesCsv, 'utf8').split('\n')[0]).toBe(RESOURCE_COLUMNS.join(','));

    const json = await readReportJson(files.reportJson);
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    expect(json.hosts.map((h) => h.status)).toEqual(['ok', 'ok', 'failed']);
    expect(json.hosts[0].phases[0]).toEqual(
      expect.objectContaining({
        name: 'system-prep',
        estimateS: 120,
        durationS: expect.any(Number),
        variancePct: expect.any(Number),
      }),
    );
    expect(json.hosts[0].resources.peak).toEqual(expect.objectContaining({ cpuPct: expect.any(Number) }));
    expect(readFileSync(files.reportHtml, 'utf8')).toMatch(/^<!doctype html>/);
  });

  it('joins a laptop row without a droplet twin as its own row', async () => {
    const inputs = syntheticRun({ hosts: 1 });
    const h = inputs.hosts[0];
    h.timing = h.timing.filter((r) => r.phase !== 'verify');
    await writeRunFolder(dir, inputs);
    const { files } = await buildReport(dir);
    const rows = parse(readFileSync(files.timingCsv, 'utf8'), { columns: true }) as Record<string, string>[];
    const verify = rows.filter((r) => r.phase === 'verify');
    expect(verify.length).toBeGreaterThan(0);
    expect(verify.every((r) => r.duration_s === '' && Number(r.controller_duration_s) > 0)).toBe(true);
  });

  it('loads a host with missing files, with warnings', async () => {
    await writeRunFolder(dir, syntheticRun({ hosts: 2 }));
    unlinkSync(join(dir, 'droplet-2', 'resources.csv'));
    const inputs = await loadRun(dir);
    expect(inputs.runId).toBe('20261128T022100Z-a1b2');
    expect(inputs.hosts[1].resources).toEqual([]);
    expect(inputs.hosts[1].warnings).toEqual([`${join(dir, 'droplet-2', 'resources.csv')}: missing`]);
  });

  it('a damaged row is skipped with a warning naming the file and line', async () => {
    await writeRunFolder(dir, syntheticRun({ hosts: 2 }));
    const file = join(dir, 'droplet-1', 'timing.csv');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[3] = lines[3].replace(/,(ok|changed)$/, ',exploded');
    writeFileSync(file, lines.join('\n'));
    const inputs = await loadRun(dir);
    const h1 = inputs.hosts.find((h) => h.host === 'droplet-1')!;
    expect(h1.timing.length).toBe(lines.filter(Boolean).length - 2);
    expect(h1.warnings).toEqual([expect.stringContaining(`${file}:4: column status`)]);
  });

  it("one host's broken files never sink the report: the others are whole, the broken one says why", async () => {
    await writeRunFolder(dir, syntheticRun({ hosts: 3 }));
    const bad = join(dir, 'droplet-2');
    writeFileSync(join(bad, 'run.json'), '{"runId": 3');
    writeFileSync(join(bad, 'timing.csv'), 'no,header,here\n1,2,3\n');
    writeFileSync(join(bad, 'resources.csv'), '"never closed\n');
    const built = await buildReport(dir, { generatedAt: '2026-11-28T03:00:00.000Z' });
    expect(built.report.hosts.map((h) => h.host)).toEqual(['droplet-1', 'droplet-2', 'droplet-3']);
    const [one, two, three] = built.report.hosts;
    for (const h of [one!, three!]) {
      expect(h.status).toBe('ok');
      expect(h.warnings).toEqual([]);
    }
    expect(two!.status).toBe('unknown'); // no run.json left, the laptop's timing still draws it
    expect(two!.warnings.join('\n')).toMatch(/run\.json: not valid JSON.*ignored/);
    expect(two!.warnings.join('\n')).toMatch(/timing\.csv:1: header lacks column "timestamp".*file ignored/);
    expect(two!.warnings.join('\n')).toMatch(/resources\.csv.*not valid CSV/);
    expect(existsSync(built.files.reportHtml)).toBe(true);
  });

  it('a run.json written for another host or run is ignored with a warning', async () => {
    const run = syntheticRun({ hosts: 2 });
    await writeRunFolder(dir, run);
    const other = JSON.parse(readFileSync(join(dir, 'droplet-1', 'run.json'), 'utf8')) as { host: string };
    writeFileSync(join(dir, 'droplet-2', 'run.json'), JSON.stringify(other));
    const inputs = await loadRun(dir);
    expect(inputs.hosts[1]!.run).toBeUndefined();
    expect(inputs.hosts[1]!.warnings!.join('\n')).toMatch(/written for host "droplet-1".*ignored/);
  });

  it('a run built from the texts it just wrote loads as the same folder read back', async () => {
    await writeRunFolder(dir, syntheticRun({ hosts: 3 }));
    unlinkSync(join(dir, 'droplet-3', 'resources.csv'));
    writeFileSync(join(dir, 'droplet-2', 'run.json'), '{"runId": 3');
    const read = (host: string, f: string) =>
      existsSync(join(dir, host, f)) ? readFileSync(join(dir, host, f), 'utf8') : undefined;
    const texts = new Map<string, HostTexts>(
      ['droplet-3', 'droplet-1', 'droplet-2'].map((h) => [
        h,
        {
          run: read(h, HOST_FILES.run),
          timing: read(h, HOST_FILES.timing),
          controllerTiming: read(h, HOST_FILES.controllerTiming),
          resources: read(h, HOST_FILES.resources),
        },
      ]),
    );
    expect(loadRunTexts(dir, texts)).toEqual(await loadRun(dir));
    expect(() => loadRunTexts(dir, new Map())).toThrow(/no host folders/);
  });

  it('an empty run folder is a clear error', async () => {
    await expect(loadRun(dir)).rejects.toThrow(/no host folders/);
    await expect(loadRun(join(dir, 'nope'))).rejects.toThrow(/cannot read the run folder/);
  });

  it('readReportJson refuses something else', async () => {
    const f = join(dir, 'x.json');
    writeFileSync(f, '{"a":1}');
    await expect(readReportJson(f)).rejects.toThrow(/not a vps-provision report\.json/);
  });
});
