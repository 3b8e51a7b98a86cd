import {
  classifyChange,
  compareRuns,
  runTrend,
  trendOf,
  pickLatestComparable,
  isCompletedRun,
} from '../../src/report/compare-runs.js';
import type { HostReport, PhaseReport, RunReport } from '../../src/report/merge-hosts.js';
import { DEFAULT_THRESHOLDS } from '../../src/report/formats.js';

describe('classifyChange', () => {
  const durations: Array<[string, number, number, 'regression' | 'accepted' | 'improved', number]> = [
    ['25 % slower is a regression', 100, 125, 'regression', 25],
    ['15 % slower is accepted', 100, 115, 'accepted', 15],
    ['exactly 20 % slower is accepted', 100, 120, 'accepted', 20],
    ['20.1 % slower is a regression', 1000, 1201, 'regression', 20.1],
    ['same is accepted', 60, 60, 'accepted', 0],
    ['10 % faster is accepted (noise band)', 100, 90, 'accepted', -10],
    ['25 % faster is improved', 100, 75, 'improved', -25],
    ['float noise at the line: 0.3 s vs 0.36 s', 0.3, 0.36, 'accepted', 20],
  ];
  it.each(durations)('duration: %s', (_n, base, cur, verdict, pct) => {
    expect(classifyChange(base, cur)).toEqual({ baseline: base, current: cur, variancePct: pct, verdict });
  });

  const throughputs: Array<[string, number, number, 'regression' | 'accepted' | 'improved']> = [
    ['25 % less throughput is a regression', 400, 300, 'regression'],
    ['15 % less is accepted', 400, 340, 'accepted'],
    ['30 % more is improved', 400, 520, 'improved'],
  ];
  it.each(throughputs)('throughput: %s', (_n, base, cur, verdict) => {
    expect(classifyChange(base, cur, { higherIsBetter: true }).verdict).toBe(verdict);
  });

  it.each([
    ['0.01 s -> 0.02 s is noise under the 1 s floor', 0.01, 0.02, 1, 'accepted'],
    ['2 s -> 4 s passes both rules', 2, 4, 1, 'regression'],
    ['100 s -> 100.9 s passes neither', 100, 100.9, 1, 'accepted'],
    ['100 s -> 130 s passes both', 100, 130, 1, 'regression'],
    ['exactly the floor is within it', 1, 2, 1, 'accepted'],
    ['0 s -> 0.5 s under the floor', 0, 0.5, 1, 'accepted'],
    ['10 s -> 5 s is improved', 10, 5, 1, 'improved'],
    ['3 s -> 2.5 s: 17 % and under the floor', 3, 2.5, 1, 'accepted'],
    ['floor 0: every % counts', 0.01, 0.02, 0, 'regression'],
  ] as const)('absolute floor: %s', (_n, base, cur, minDelta, verdict) => {
    expect(classifyChange(base, cur, { minDelta }).verdict).toBe(verdict);
  });

  it('honours another tolerance', () => {
    expect(classifyChange(100, 112, { tolerancePct: 10 }).verdict).toBe('regression');
  });

  it('handles a zero baseline', () => {
    expect(classifyChange(0, 0)).toMatchObject({ variancePct: null, verdict: 'accepted' });
    expect(classifyChange(0, 5)).toMatchObject({ variancePct: null, verdict: 'regression' });
    expect(classifyChange(0, 5, { higherIsBetter: true })).toMatchObject({ verdict: 'improved' });
  });
});

function phase(name: string, durationS: number | null, status: PhaseReport['status'] = 'changed'): PhaseReport {
  return {
    name,
    status,
    critical: false,
    estimateS: 100,
    durationS,
    controllerDurationS: durationS,
    variancePct: null,
    startedAt: null,
    startEpochS: null,
    steps: [],
  };
}

function host(name: string, phases: PhaseReport[], status: HostReport['status'] = 'ok'): HostReport {
  const durationS = phases.reduce((s, p) => s + (p.durationS ?? 0), 0);
  return {
    host: name,
    address: null,
    status,
    startedAt: null,
    endedAt: null,
    durationS,
    targetS: 0,
    score: null,
    phases,
    resources: { samples: 0, intervalS: null, firstAt: null, lastAt: null, peak: null, min: null, average: null },
    alerts: [],
    thresholds: DEFAULT_THRESHOLDS,
    warnings: [],
  };
}

function report(runId: string, startedAt: string, hosts: HostReport[]): RunReport {
  return {
    schemaVersion: 1,
    runId,
    generatedAt: startedAt,
    startedAt,
    endedAt: startedAt,
    durationS: null,
    phaseNames: ['prep', 'desktop', 'verify'],
    summary: {
      hosts: hosts.length,
      byStatus: { ok: hosts.length, failed: 0, unreachable: 0, interrupted: 0, unknown: 0 },
      alerts: { warning: 0, critical: 0 },
      meanScore: null,
    },
    hosts,
  };
}

describe('compareRuns', () => {
  const baseline = report('base', '2026-11-01T00:00:00Z', [
    host('d1', [phase('prep', 100), phase('desktop', 200), phase('verify', 50)]),
    host('d2', [phase('prep', 100), phase('desktop', 200), phase('verify', 50)]),
  ]);

  it('per phase and total: a 25 % slower phase is a regression, 15 % accepted', () => {
    const run = report('new', '2026-11-02T00:00:00Z', [
      host('d1', [phase('prep', 125), phase('desktop', 230), phase('verify', 40)]),
      host('d2', [phase('prep', 125), phase('desktop', 230), phase('verify', 30)]),
    ]);
    const c = compareRuns(baseline, run);
    expect(c.phases.map((p) => [p.name, p.variancePct, p.verdict])).toEqual([
      ['prep', 25, 'regression'],
      ['desktop', 15, 'accepted'],
      ['verify', -30, 'improved'],
    ]);
    // total 350 -> 390: +11.4 %
    expect(c.total).toMatchObject({ baseline: 350, current: 390, variancePct: 11.4, verdict: 'accepted' });
    expect(c.hosts.map((h) => [h.name, h.verdict])).toEqual([
      ['d1', 'accepted'],
      ['d2', 'accepted'],
    ]);
    expect(c.regressions).toBe(1);
    expect(c.hasRegression).toBe(true);
  });

  it('no regression when all within 20 %', () => {
    const run = report('same', '2026-11-02T00:00:00Z', [
      host('d1', [phase('prep', 110), phase('desktop', 190), phase('verify', 55)]),
    ]);
    const c = compareRuns(baseline, run);
    expect(c.hasRegression).toBe(false);
    expect(c.phases.every((p) => p.verdict === 'accepted')).toBe(true);
  });

  it('ignores failed and skipped phases and reports what could not be matched', () => {
    const run = report('partial', '2026-11-02T00:00:00Z', [
      host('d9', [phase('prep', 100), phase('desktop', 900, 'failed'), phase('verify', null, 'skipped')], 'failed'),
    ]);
    const c = compareRuns(baseline, run);
    expect(c.phases.map((p) => p.name)).toEqual(['prep']);
    expect(c.total).toBeNull();
    expect(c.hosts).toEqual([]);
    expect(c.unmatched).toEqual([
      'phase desktop: not completed in partial',
      'phase verify: not completed in partial',
      'total: no host finished ok in partial',
    ]);
  });
});

describe('trend', () => {
  it('orders runs by start and gives change and last verdict per phase', () => {
    const mk = (id: string, day: number, prep: number) =>
      report(id, `2026-11-0${day}T00:00:00Z`, [host('d1', [phase('prep', prep), phase('desktop', 200)])]);
    const t = runTrend([mk('r3', 3, 150), mk('r1', 1, 100), mk('r2', 2, 110)]);
    expect(t.labels).toEqual(['r1', 'r2', 'r3']);
    const prep = t.series.find((s) => s.name === 'prep')!;
    expect(prep).toEqual({ name: 'prep', values: [100, 110, 150], changePct: 50, lastVerdict: 'regression' });
    expect(t.series.find((s) => s.name === 'total')).toMatchObject({
      values: [300, 310, 350],
      lastVerdict: 'accepted',
    });
    expect(t.series.find((s) => s.name === 'verify')).toEqual({
      name: 'verify',
      values: [null, null, null],
      changePct: null,
      lastVerdict: null,
    });
  });

  it('works for throughputs (benchmarks)', () => {
    const t = trendOf(['a', 'b'], new Map([['cpu', [400, 300]]]), { higherIsBetter: true });
    expect(t.series[0]).toMatchObject({ changePct: -25, lastVerdict: 'regression' });
  });
});

describe('the default run to compare with', () => {
  const base = report('20261101T100000Z-0001', '2026-11-01T10:00:00Z', [
    host('a', [phase('prep', 100), phase('desktop', 200), phase('verify', 10)]),
  ]);
  const noop = report('20261103T100000Z-0003', '2026-11-03T10:00:00Z', [
    host('a', [phase('prep', 0.1, 'skipped'), phase('desktop', 0.1, 'skipped'), phase('verify', 0.1, 'skipped')]),
  ]);
  const other = {
    ...report('20261104T100000Z-0004', '2026-11-04T10:00:00Z', [host('a', [phase('rdp', 5)])]),
    phaseNames: ['rdp'],
  };
  const failed = report('20261105T100000Z-0005', '2026-11-05T10:00:00Z', [
    host('a', [phase('prep', 5, 'failed')], 'failed'),
  ]);
  const good = report('20261102T100000Z-0002', '2026-11-02T10:00:00Z', [
    host('a', [phase('prep', 110), phase('desktop', 190), phase('verify', 10)]),
  ]);

  it('passes over all-skipped no-ops, runs of other phases and failed runs', () => {
    expect(isCompletedRun(noop)).toBe(false);
    expect(isCompletedRun(failed)).toBe(false);
    expect(pickLatestComparable(base, [failed, other, noop, good, base])?.runId).toBe(good.runId);
    expect(pickLatestComparable(base, [base, noop])).toBeUndefined();
  });

  it('the comparison and the trend carry their unit and the floor', () => {
    const cmp = compareRuns(base, good);
    expect(cmp).toMatchObject({ unit: 's', minDeltaS: 1, tolerancePct: 20 });
    expect(runTrend([base, good]).unit).toBe('s');
  });
});
