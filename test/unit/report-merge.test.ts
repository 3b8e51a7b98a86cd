import { DEFAULT_THRESHOLDS, type ResourceSample, type RunJson, type TimingRow } from '../../src/report/formats.js';
import {
  mergeHosts,
  performanceScore,
  summarizeResources,
  variancePct,
  type HostRunInput,
} from '../../src/report/merge-hosts.js';
import { syntheticRun } from '../support/synthetic-run.js';

const RUN = '20261128T022100Z-a1b2';
const T0 = Date.parse('2026-11-28T02:21:00.000Z') / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();

function row(
  host: string,
  phase: string,
  step: string,
  start: number,
  dur: number,
  status: TimingRow['status'] = 'changed',
): TimingRow {
  return {
    timestamp: iso(T0 + start + dur),
    runId: RUN,
    host,
    phase,
    step,
    startEpochS: T0 + start,
    durationS: dur,
    status,
  };
}

function sample(host: string, at: number, over: Partial<ResourceSample> = {}): ResourceSample {
  return {
    timestamp: iso(T0 + at),
    t: (T0 + at) * 1000,
    host,
    cpuPct: 50,
    memUsedMb: 1000,
    memAvailableMb: 3000,
    diskAvailMb: 40_000,
    diskReadKbps: 10,
    diskWriteKbps: 100,
    netRxKbps: 1000,
    netTxKbps: 20,
    load1: 1,
    procs: 100,
    ...over,
  };
}

function runJson(host: string, over: Partial<RunJson> = {}): RunJson {
  return {
    runId: RUN,
    host,
    address: '203.0.113.10',
    startedAt: iso(T0),
    endedAt: iso(T0 + 200),
    status: 'ok',
    phases: [
      { name: 'prep', estimateS: 100, critical: true, status: 'changed', startedAt: iso(T0), durationMs: 120_500 },
      { name: 'tools', estimateS: 50, critical: false, status: 'ok', startedAt: iso(T0 + 121), durationMs: 40_200 },
      { name: 'extra', estimateS: 30, critical: false, status: 'skipped', reason: 'checkpoint: done before' },
    ],
    thresholds: DEFAULT_THRESHOLDS,
    alerts: [],
    ...over,
  };
}

/** Host a: 200 s run, prep 120 s (2 steps), tools 40 s. */
function hostA(): HostRunInput {
  return {
    host: 'a',
    run: runJson('a'),
    timing: [
      row('a', 'prep', 'one', 0, 70),
      row('a', 'prep', 'two', 70, 50),
      row('a', 'prep', '', 0, 120),
      row('a', 'tools', 'three', 121, 40, 'ok'),
      row('a', 'tools', '', 121, 40, 'ok'),
    ],
    controllerTiming: [
      row('a', 'prep', 'one', 0, 70.2),
      row('a', 'prep', 'two', 70, 50.1),
      row('a', 'prep', '', 0, 120.5),
      row('a', 'tools', 'three', 121, 40.1, 'ok'),
      row('a', 'tools', '', 121, 40.2, 'ok'),
    ],
    resources: [
      sample('a', 10, { cpuPct: 20 }),
      sample('a', 20, { cpuPct: 80, memAvailableMb: 2000 }),
      sample('a', 30, { cpuPct: 50 }),
    ],
  };
}

describe('score and variance', () => {
  it.each([
    [900, 900, 100],
    [900, 1200, 75],
    [900, 600, 100],
    [100, 300, 33.3],
    [0, 100, null],
    [100, 0, null],
    [100, null, null],
  ])('target %p s, actual %p s -> %p', (target, actual, score) => {
    expect(performanceScore(target, actual)).toBe(score);
  });
  it.each([
    [120, 100, 20],
    [80, 100, -20],
    [100, 0, null],
    [null, 100, null],
    [125, 100, 25],
  ])('actual %p, estimate %p -> %p %', (a, e, v) => {
    expect(variancePct(a, e)).toBe(v);
  });
});

describe('mergeHosts', () => {
  it('merges one host: phases, variance, laptop join, score', () => {
    const report = mergeHosts({ runId: RUN, hosts: [hostA()] }, { generatedAt: '2026-11-28T03:00:00.000Z' });
    const h = report.hosts[0];
    expect(h.status).toBe('ok');
    expect(h.durationS).toBe(200);
    // skipped phases do not count in the target
    expect(h.targetS).toBe(150);
    expect(h.score).toBe(75);
    expect(
      h.phases.map((p) => [p.name, p.status, p.durationS, p.estimateS, p.variancePct, p.controllerDurationS]),
    ).toEqual([
      ['prep', 'changed', 120, 100, 20, 120.5],
      ['tools', 'ok', 40, 50, -20, 40.2],
      ['extra', 'skipped', null, 30, null, null],
    ]);
    expect(h.phases[0].steps).toEqual([
      { name: 'one', status: 'changed', startEpochS: T0, durationS: 70, controllerDurationS: 70.2 },
      { name: 'two', status: 'changed', startEpochS: T0 + 70, durationS: 50, controllerDurationS: 50.1 },
    ]);
    expect(h.phases[2].reason).toBe('checkpoint: done before');
    expect(h.resources).toMatchObject({
      samples: 3,
      intervalS: 10,
      peak: { cpuPct: 80 },
      min: { memAvailableMb: 2000, cpuPct: 20 },
      average: { cpuPct: 50 },
    });
    expect(report).toMatchObject({
      schemaVersion: 1,
      runId: RUN,
      generatedAt: '2026-11-28T03:00:00.000Z',
      startedAt: iso(T0),
      endedAt: iso(T0 + 200),
      durationS: 200,
    });
  });

  it('merges several hosts with different outcomes', () => {
    const b: HostRunInput = {
      ...hostA(),
      host: 'b',
      run: runJson('b', {
        status: 'failed',
        error: 'phase tools failed',
        endedAt: iso(T0 + 400),
        phases: [
          { name: 'prep', estimateS: 100, critical: true, status: 'changed' },
          { name: 'tools', estimateS: 50, critical: false, status: 'failed', reason: 'exit 100' },
        ],
      }),
      timing: [
        row('b', 'prep', '', 0, 250),
        row('b', 'tools', 'three', 251, 30, 'failed'),
        row('b', 'tools', '', 251, 30, 'failed'),
      ],
      controllerTiming: [],
      resources: [sample('b', 10, { memAvailableMb: 300 })],
    };
    const c: HostRunInput = {
      host: 'c',
      run: runJson('c', { status: 'unreachable', error: 'connect timeout', endedAt: iso(T0 + 5), phases: [] }),
      timing: [],
      controllerTiming: [],
      resources: [],
    };
    const report = mergeHosts({ runId: RUN, hosts: [c, b, hostA()] });
    expect(report.hosts.map((h) => [h.host, h.status, h.score, h.error])).toEqual([
      ['a', 'ok', 75, undefined],
      ['b', 'failed', null, 'phase tools failed'],
      ['c', 'unreachable', null, 'connect timeout'],
    ]);
    expect(report.summary.byStatus).toEqual({ ok: 1, failed: 1, unreachable: 1, interrupted: 0, unknown: 0 });
    expect(report.summary.meanScore).toBe(75);
    expect(report.endedAt).toBe(iso(T0 + 400));
    // b: prep 250 s of a 100 s estimate is critical; memory 300 MB is a warning
    const bAlerts = report.hosts[1].alerts.map((a) => [a.kind, a.severity, a.phase]);
    expect(bAlerts).toEqual(
      expect.arrayContaining([
        ['phase-duration', 'critical', 'prep'],
        ['memory', 'warning', 'prep'],
      ]),
    );
    expect(report.summary.alerts).toEqual({ warning: 1, critical: 1 });
    expect(report.hosts[2].resources.samples).toBe(0);
    expect(report.phaseNames).toEqual(['prep', 'tools', 'extra']);
  });

  it('works without run.json (derived from timing) and says so', () => {
    const a = hostA();
    delete a.run;
    const h = mergeHosts({ runId: RUN, hosts: [a] }).hosts[0];
    expect(h.status).toBe('unknown');
    expect(h.durationS).toBe(161.2); // the laptop saw the last phase end 0.2 s later
    expect(h.phases.map((p) => [p.name, p.durationS, p.estimateS, p.variancePct])).toEqual([
      ['prep', 120, null, null],
      ['tools', 40, null, null],
    ]);
    expect(h.score).toBeNull();
    expect(h.warnings).toEqual(['a: no run.json; status, estimates and score unknown']);
  });

  it('sums a phase resumed after a dropped connection and joins repeated steps in order', () => {
    const a = hostA();
    a.timing.push(row('a', 'prep', 'two', 125, 10), row('a', 'prep', '', 125, 10));
    a.controllerTiming.push(row('a', 'prep', 'two', 125, 10.4));
    const p = mergeHosts({ runId: RUN, hosts: [a] }).hosts[0].phases[0];
    expect(p.durationS).toBe(130);
    expect(p.steps.map((s) => [s.name, s.durationS, s.controllerDurationS])).toEqual([
      ['one', 70, 70.2],
      ['two', 50, 50.1],
      ['two', 10, 10.4],
    ]);
  });

  it('keeps live alerts the data does not reproduce, drops those it does', () => {
    const a = hostA();
    a.resources.push(sample('a', 40, { memAvailableMb: 100 }));
    const live = [
      {
        host: 'a',
        kind: 'memory' as const,
        severity: 'critical' as const,
        at: iso(T0 + 45),
        message: 'live: memory',
        value: 120,
        threshold: 500,
      },
      {
        host: 'a',
        kind: 'disk' as const,
        severity: 'warning' as const,
        at: iso(T0 + 100),
        message: 'live: disk',
        value: 4000,
        threshold: 5120,
      },
    ];
    a.run = runJson('a', { alerts: live });
    const alerts = mergeHosts({ runId: RUN, hosts: [a] }).hosts[0].alerts;
    expect(alerts.map((x) => [x.kind, x.message.startsWith('live') ? 'live' : 'computed'])).toEqual([
      ['memory', 'computed'],
      ['disk', 'live'],
    ]);
  });

  it('is deterministic for the same inputs', () => {
    const inputs = syntheticRun({ hosts: 4, failures: { 1: 'desktop' }, lowMemory: [2] });
    const a = mergeHosts(inputs, { generatedAt: 'x' });
    const b = mergeHosts(inputs, { generatedAt: 'x' });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.hosts).toHaveLength(4);
    expect(a.hosts[1].status).toBe('failed');
    expect(a.hosts[1].phases.find((p) => p.name === 'rdp')?.status).toBe('skipped');
    expect(a.hosts[2].alerts.some((x) => x.kind === 'memory')).toBe(true);
    for (const h of a.hosts)
      expect(
        h.phases.filter((p) => p.status !== 'skipped').every((p) => p.durationS !== null && p.variancePct !== null),
      ).toBe(true);
  });
});

describe('summarizeResources', () => {
  it('is empty without samples', () => {
    expect(summarizeResources([])).toEqual({
      samples: 0,
      intervalS: null,
      firstAt: null,
      lastAt: null,
      peak: null,
      min: null,
      average: null,
    });
  });
  it('peaks, lows and means of every metric', () => {
    const s = summarizeResources([
      sample('x', 0, { netRxKbps: 10, procs: 90 }),
      sample('x', 10, { netRxKbps: 30, procs: 110 }),
    ]);
    expect(s.peak).toMatchObject({ netRxKbps: 30, procs: 110 });
    expect(s.min).toMatchObject({ netRxKbps: 10, procs: 90 });
    expect(s.average).toMatchObject({ netRxKbps: 20, procs: 100 });
    expect(s.firstAt).toBe(iso(T0));
    expect(s.lastAt).toBe(iso(T0 + 10));
  });
});
