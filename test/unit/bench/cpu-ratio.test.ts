/** The end-to-end benchmark's CPU figures: the goal ratio leaves mesh-sandbox and the GP peer out. */
import { cpuBound, e2eGoalFigures, e2eSummaryLine, historyEventsComparison } from '../../../bench/lib/cpu-ratio';

// Shaped like a real run's cpuMsPerMessage (worker, api, temporal, and the two stand-ins).
const ours = { worker: 50, api: 6, temporal: 74, meshSandbox: 32, peer: 8 };
const before = { worker: 26, temporal: 51, meshSandbox: 0.2 };
const after = { worker: 24, temporal: 49, meshSandbox: 0.1 };

describe('cpuBound', () => {
  it('computes cpuRatio as baseline / courier with the stand-ins left out of both', () => {
    const r = cpuBound(ours, [before, after]);
    // Baseline: mean of (26 + 51) and (24 + 49) = 75; courier: 50 + 6 + 74 = 130; stand-ins 32 + 8 = 40.
    expect(r.baselineCpuMsPerMessage).toBe(75);
    expect(r.courierCpuMsPerMessage).toBe(130);
    expect(r.standInsCpuMsPerMessage).toBe(40);
    expect(r.cpuRatio).toBe(Math.round((75 / 130) * 1000) / 1000);
    expect(r.cpuRatioWithStandIns).toBe(Math.round((75 / 170) * 1000) / 1000);
    expect(r.maxRatioWithStandIns).toBe(Math.round((75 / 115) * 1000) / 1000);
  });

  it('does not move cpuRatio when only the stand-ins cost more', () => {
    const cheap = cpuBound(ours, [before, after]);
    const dear = cpuBound({ ...ours, meshSandbox: 500, peer: 300 }, [before, after]);
    expect(dear.cpuRatio).toBe(cheap.cpuRatio);
    expect(dear.courierCpuMsPerMessage).toBe(130);
    expect(dear.standInsCpuMsPerMessage).toBe(800);
    expect(dear.cpuRatioWithStandIns).toBeLessThan(cheap.cpuRatioWithStandIns);
  });

  it('moves cpuRatio with each of the courier’s own processes', () => {
    for (const name of ['worker', 'api', 'temporal'] as const) {
      const r = cpuBound({ ...ours, [name]: ours[name] + 20 }, [before, after]);
      expect(r.courierCpuMsPerMessage).toBe(150);
      expect(r.cpuRatio).toBe(0.5);
    }
  });

  it('reaches 1 when the courier costs what the baseline costs, whatever the stand-ins cost', () => {
    expect(cpuBound({ worker: 25, temporal: 50, meshSandbox: 40, peer: 10 }, [before, after]).cpuRatio).toBe(1);
  });

  it('refuses an empty list of baselines instead of dividing by zero', () => {
    expect(() => cpuBound(ours, [])).toThrow(/at least one baseline/);
  });
});

describe('historyEventsComparison', () => {
  it('compares ours with the baseline mean and says whether it is within baseline + 2', () => {
    expect(historyEventsComparison(25.4, [22, 22.2])).toEqual({ courier: 25.4, baseline: 22.1, difference: 3.3, withinBaselinePlus2: false });
    expect(historyEventsComparison(24, [22, 22.2])).toEqual({ courier: 24, baseline: 22.1, difference: 1.9, withinBaselinePlus2: true });
  });
});

describe('e2eSummaryLine', () => {
  it('names the throughput ratio, cpuRatio with both costs, and history events', () => {
    const line = e2eSummaryLine(1000, 0.488, cpuBound(ours, [before, after]), historyEventsComparison(25.4, [22, 22.2]));
    expect(line).toBe('e2e 1000: throughput ratio 0.488, cpuRatio 0.58 (courier 130 ms/msg vs baseline 75), history events 25.4 vs 22.1 (+3.3)');
  });

  it('says when there was no baseline to compare with', () => {
    expect(e2eSummaryLine(1000, NaN, undefined, undefined)).toBe('e2e 1000: throughput ratio n/a (no baseline)');
  });
});

describe('e2eGoalFigures (the head of the end-to-end result)', () => {
  const run = { messagesPerSecond: 10, cpuMsPerMessage: ours, historyEventsPerMessage: 25.4 };
  const baselineBefore = { messagesPerSecond: 22, cpuMsPerMessage: before, historyEventsPerMessage: 22 };
  const baselineAfter = { messagesPerSecond: 18, cpuMsPerMessage: after, historyEventsPerMessage: 22.2 };

  it('puts cpuRatio (stand-ins excluded) and history events beside the throughput ratio', () => {
    const g = e2eGoalFigures(1000, run, [baselineBefore, baselineAfter]);
    expect(g.throughputRatioToBaseline).toBe(0.5);
    expect(g.cpuRatio).toBe(cpuBound(ours, [before, after]).cpuRatio);
    expect(g.cpuRatio).toBe(0.577);
    expect(g.cpuBound?.cpuRatioWithStandIns).toBe(0.441);
    expect(g.historyEventsPerMessage).toEqual({ courier: 25.4, baseline: 22.1, difference: 3.3, withinBaselinePlus2: false });
    expect(g.summary).toBe('e2e 1000: throughput ratio 0.500, cpuRatio 0.58 (courier 130 ms/msg vs baseline 75), history events 25.4 vs 22.1 (+3.3)');
  });

  it('leaves the baseline figures out when no baseline ran', () => {
    const g = e2eGoalFigures(1000, run, []);
    expect(g.throughputRatioToBaseline).toBeNaN();
    expect(g).not.toHaveProperty('cpuRatio');
    expect(g).not.toHaveProperty('historyEventsPerMessage');
    expect(g.summary).toBe('e2e 1000: throughput ratio n/a (no baseline)');
  });
});
