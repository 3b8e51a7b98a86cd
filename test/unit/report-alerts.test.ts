import {
  PhaseAlertTracker,
  ResourceAlertTracker,
  phaseAt,
  phaseDurationAlerts,
  phaseDurationSeverity,
  resourceAlerts,
} from '../../src/report/alerts.js';
import { DEFAULT_THRESHOLDS, type ResourceSample } from '../../src/report/formats.js';

const T0 = Date.parse('2026-11-28T02:21:00.000Z');

/** Samples every intervalS from T0 with the given overrides per sample. */
function samples(values: Array<Partial<ResourceSample>>, intervalS = 10): ResourceSample[] {
  return values.map((v, i) => ({
    timestamp: new Date(T0 + i * intervalS * 1000).toISOString(),
    t: T0 + i * intervalS * 1000,
    host: 'h',
    cpuPct: 10,
    memUsedMb: 1000,
    memAvailableMb: 3000,
    diskAvailMb: 50_000,
    diskReadKbps: 0,
    diskWriteKbps: 0,
    netRxKbps: 0,
    netTxKbps: 0,
    load1: 0.1,
    procs: 90,
    ...v,
  }));
}

const cpu = (...pcts: number[]) => samples(pcts.map((cpuPct) => ({ cpuPct })));
const mem = (...mbs: number[]) => samples(mbs.map((memAvailableMb) => ({ memAvailableMb })));
const disk = (...gbs: number[]) => samples(gbs.map((gb) => ({ diskAvailMb: gb * 1024 })));

describe('memory and disk alerts', () => {
  const cases: Array<[string, ResourceSample[], Array<[string, 'warning' | 'critical', number]>]> = [
    ['none above the threshold', mem(3000, 600, 501, 500), []],
    ['warning below 500 MB', mem(3000, 499, 450), [['memory', 'warning', 499]]],
    ['critical below half', mem(3000, 240), [['memory', 'critical', 240]]],
    [
      'warning, then critical once worse',
      mem(3000, 400, 200, 100, 220),
      [
        ['memory', 'warning', 400],
        ['memory', 'critical', 200],
      ],
    ],
    ['one episode while hovering at the line', mem(490, 510, 495, 520, 480), [['memory', 'warning', 490]]],
    [
      'a new episode after recovering by 10 %',
      mem(490, 560, 480),
      [
        ['memory', 'warning', 490],
        ['memory', 'warning', 480],
      ],
    ],
    ['disk warning below 5 GB', disk(50, 6, 4.9), [['disk', 'warning', 4.9 * 1024]]],
    ['disk critical below 2.5 GB', disk(50, 2), [['disk', 'critical', 2048]]],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    const got = resourceAlerts('h', input, DEFAULT_THRESHOLDS).map((a) => [a.kind, a.severity, a.value]);
    expect(got).toEqual(expected.map(([k, s, v]) => [k, s, Math.round(v * 10) / 10]));
  });

  it('says what and where, with the threshold', () => {
    const [a] = resourceAlerts('droplet-7', mem(3000, 312), DEFAULT_THRESHOLDS, [
      { phase: 'desktop', startMs: T0, endMs: T0 + 60_000 },
    ]);
    expect(a).toEqual({
      host: 'droplet-7',
      kind: 'memory',
      severity: 'warning',
      at: '2026-11-28T02:21:10.000Z',
      message: 'available memory 312 MB is below 500 MB',
      phase: 'desktop',
      value: 312,
      threshold: 500,
    });
  });

  it('uses configured thresholds', () => {
    const th = { ...DEFAULT_THRESHOLDS, memAvailableMb: 4000, diskFreeGb: 100 };
    const kinds = resourceAlerts('h', samples([{}]), th).map((a) => a.kind);
    expect(kinds).toEqual(['memory', 'disk']);
  });
});

describe('CPU sustained alert', () => {
  const th = { ...DEFAULT_THRESHOLDS, cpuSustainedS: 30 };
  const cases: Array<[string, number[], number | null]> = [
    // samples 10 s apart; a sample covers the 10 s before it
    ['never above 95 %', [50, 95, 95, 95, 95, 95], null],
    ['above for 20 s only', [50, 99, 99, 50, 99, 99], null],
    ['above for 30 s: alert at the third busy sample', [50, 99, 98, 97, 99], 3],
    ['streak broken then long again', [50, 99, 99, 10, 99, 99, 99], 6],
    ['first sample busy counts from itself', [99, 99, 99, 99], 3],
  ];
  it.each(cases)('%s', (_name, pcts, index) => {
    const alerts = resourceAlerts('h', cpu(...pcts), th).filter((a) => a.kind === 'cpu');
    if (index === null) expect(alerts).toEqual([]);
    else {
      expect(alerts).toHaveLength(1);
      expect(alerts[0].at).toBe(new Date(T0 + index * 10_000).toISOString());
      expect(alerts[0].severity).toBe('warning');
      expect(alerts[0].threshold).toBe(95);
    }
  });

  it('raises one alert per streak however long', () => {
    const alerts = resourceAlerts('h', cpu(50, ...Array(50).fill(100)), th).filter((a) => a.kind === 'cpu');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].message).toBe('CPU above 95 % for 30 s (mean 100 %)');
  });

  it('a gap in the samples longer than the window breaks the streak', () => {
    const s = cpu(50, 99, 99, 99, 99);
    s[3].t += 60_000;
    s[4].t += 60_000;
    expect(resourceAlerts('h', s, th).filter((a) => a.kind === 'cpu')).toEqual([]);
  });

  it('gives the same alerts fed live, sample by sample', () => {
    const input = [...cpu(50, 99, 99, 99, 99, 10), ...mem(3000, 200)].map((s, i) => ({ ...s, t: T0 + i * 10_000 }));
    const tracker = new ResourceAlertTracker('h', th);
    const live = input.flatMap((s) => tracker.push(s));
    expect(live).toEqual(resourceAlerts('h', input, th));
    expect(live.map((a) => a.kind)).toEqual(['cpu', 'memory']);
  });
});

describe('phase duration alerts', () => {
  const cases: Array<[number, number, 'warning' | 'critical' | undefined]> = [
    [100, 100, undefined],
    [100, 150, undefined], // "over 150 %": exactly 150 is not over
    [100, 150.5, 'warning'],
    [100, 200, 'warning'],
    [100, 201, 'critical'],
    [60, 125, 'critical'],
    [0, 500, undefined], // no estimate, no alert
  ];
  it.each(cases)('estimate %p s, took %p s -> %p', (est, took, sev) => {
    expect(phaseDurationSeverity(est, took, DEFAULT_THRESHOLDS)).toBe(sev);
  });

  it('one alert per phase, timed when the line was crossed', () => {
    const alerts = phaseDurationAlerts(
      'h',
      [
        { phase: 'desktop', estimateS: 270, durationS: 600, startMs: T0 },
        { phase: 'rdp', estimateS: 60, durationS: 100, startMs: T0 + 600_000 },
        { phase: 'user', estimateS: 30, durationS: 31 },
      ],
      DEFAULT_THRESHOLDS,
    );
    expect(alerts).toEqual([
      {
        host: 'h',
        kind: 'phase-duration',
        severity: 'critical',
        at: new Date(T0 + 540_000).toISOString(),
        phase: 'desktop',
        message: 'phase desktop took 600 s, 222 % of its 270 s estimate (over 200 %)',
        value: 600,
        threshold: 540,
      },
      {
        host: 'h',
        kind: 'phase-duration',
        severity: 'warning',
        at: new Date(T0 + 690_000).toISOString(),
        phase: 'rdp',
        message: 'phase rdp took 100 s, 167 % of its 60 s estimate (over 150 %)',
        value: 100,
        threshold: 90,
      },
    ]);
  });
});

describe('phaseAt', () => {
  const w = [
    { phase: 'a', startMs: 0, endMs: 100 },
    { phase: 'b', startMs: 100, endMs: 200 },
  ];
  it.each([
    [50, 'a'],
    [100, 'b'],
    [150, 'b'],
    [250, undefined],
    [-1, undefined],
  ])('%p -> %p', (t, p) => {
    expect(phaseAt(w, t as number)).toBe(p);
  });
});

describe('PhaseAlertTracker (live)', () => {
  it('raises the warning, then the critical alert, each once', () => {
    const tr = new PhaseAlertTracker('h', DEFAULT_THRESHOLDS);
    const at = (s: number) => tr.check('rdp', 60, T0, T0 + s * 1000).map((a) => [a.severity, a.at]);
    expect(at(80)).toEqual([]);
    expect(at(95)).toEqual([['warning', new Date(T0 + 90_000).toISOString()]]);
    expect(at(100)).toEqual([]);
    expect(at(130)).toEqual([['critical', new Date(T0 + 120_000).toISOString()]]);
    expect(at(500)).toEqual([]);
  });
});
