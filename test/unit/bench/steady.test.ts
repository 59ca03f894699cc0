/** The steady-load benchmark's pure parts: the open-loop schedule, the latency split and the backlog. */
import { backlogSeries, keptUp, latencyStats, openLoopSchedule, parseRates, slopePerMinute, splitLatencies, workflowTimes, type SteadyRecord } from '../../../bench/lib/steady';

describe('openLoopSchedule', () => {
  it('schedules message i at i / rate seconds for every time inside the window', () => {
    expect(openLoopSchedule(2, 3)).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    expect(openLoopSchedule(8, 600)).toHaveLength(4800);
    expect(openLoopSchedule(8, 600).at(-1)).toBe(599_875);
  });

  it('keeps a message whose time falls inside a window that is not a whole number of intervals', () => {
    // 1/s for 2.5 s: at 0, 1 and 2 s.
    expect(openLoopSchedule(1, 2.5)).toEqual([0, 1000, 2000]);
    // 3/s for 0.5 s: 0, 333 ms (666 ms is outside).
    expect(openLoopSchedule(3, 0.5)).toHaveLength(2);
  });

  it('refuses a rate or duration that is not a positive number', () => {
    expect(() => openLoopSchedule(0, 10)).toThrow(/rate/);
    expect(() => openLoopSchedule(Number.NaN, 10)).toThrow(/rate/);
    expect(() => openLoopSchedule(2, -1)).toThrow(/duration/);
  });
});

describe('parseRates', () => {
  it('reads a comma-separated list and refuses anything that is not a positive number', () => {
    expect(parseRates('2,5,8')).toEqual([2, 5, 8]);
    expect(parseRates(' 0.5 , 1 ')).toEqual([0.5, 1]);
    expect(() => parseRates('2,x')).toThrow(/BENCH_STEADY_RATES/);
    expect(() => parseRates('0')).toThrow(/BENCH_STEADY_RATES/);
    expect(() => parseRates('')).toThrow(/BENCH_STEADY_RATES/);
  });
});

/** A delivery whose parts take the given ms, scheduled at `at`. */
function record(at: number, p: { lag: number; post: number; queue: number; send: number; inf: number; route: number; bus: number; done: number }): SteadyRecord {
  const postStartedAt = at + p.lag;
  const startedAt = postStartedAt + p.queue;
  const sentAt = startedAt + p.send;
  const infReceivedAt = sentAt + p.inf;
  const infRecordedAt = infReceivedAt + p.route;
  const busReceivedAt = infRecordedAt + p.bus;
  return { scheduledAt: at, postStartedAt, postEndedAt: postStartedAt + p.post, accepted: true, startedAt, sentAt, infReceivedAt, infRecordedAt, busReceivedAt, deliveredAt: busReceivedAt + p.done };
}

describe('splitLatencies', () => {
  it('cuts scheduled -> DELIVERED into client lag, queueing and service time, which add up to it', () => {
    const records = Array.from({ length: 20 }, (_, i) => record(i * 500, { lag: i, post: 30, queue: 100 * (i + 1), send: 400, inf: 1500, route: 50, bus: 10, done: 40 }));
    const l = splitLatencies(records);
    // Nearest rank over 20: p50 is the 10th, p95 the 19th, p99 the 20th.
    expect(l['scheduled -> POST began (client lag)']).toEqual({ count: 20, p50: 9, p95: 18, p99: 19, max: 19 });
    expect(l['POST duration']!.p50).toBe(30);
    expect(l['POST began -> workflow started (queueing for worker and server)']).toEqual({ count: 20, p50: 1000, p95: 1900, p99: 2000, max: 2000 });
    expect(l['workflow started -> DELIVERED (service time)']!.p99).toBe(2000);
    expect(l['service: sent -> infrastructure ack downloaded (peer + MESH + poll)']!.p50).toBe(1500);
    // 50 (routing) + 10 (business ack) + 40 (recorded): the three service stages add up to the service time.
    expect(l['service: infrastructure ack downloaded -> DELIVERED (routing, business ack, signals)']!.p50).toBe(100);
    expect(l['service, within the last: infrastructure ack downloaded -> recorded']!.p50).toBe(50);
    expect(l['service, within the last: business ack downloaded -> DELIVERED']!.p50).toBe(40);
    // Message 10 (the p50 of each part): 9 + 1000 + 2000.
    expect(l['scheduled -> DELIVERED (total)']).toEqual({ count: 20, p50: 3009, p95: 3918, p99: 4019, max: 4019 });
  });

  it('keeps every stage non-negative when the business ack is downloaded before the infrastructure ack is recorded', () => {
    // Both acks downloaded in one poller pass at 3000; the infrastructure ack recorded at 3200, DELIVERED at 3300.
    const r: SteadyRecord = { scheduledAt: 0, postStartedAt: 0, postEndedAt: 20, accepted: true, startedAt: 100, sentAt: 1000, infReceivedAt: 3000, infRecordedAt: 3200, busReceivedAt: 3000, deliveredAt: 3300 };
    const l = splitLatencies([r]);
    for (const [name, stats] of Object.entries(l)) expect([name, stats.p50 >= 0]).toEqual([name, true]);
    expect(l['service: infrastructure ack downloaded -> DELIVERED (routing, business ack, signals)']!.p50).toBe(300);
  });

  it('leaves a message that was never DELIVERED out of the delivered spans but keeps its client lag', () => {
    const r: SteadyRecord = { scheduledAt: 0, postStartedAt: 5, postEndedAt: 40, accepted: true, startedAt: 300 };
    const l = splitLatencies([r]);
    expect(l['scheduled -> DELIVERED (total)']!.count).toBe(0);
    expect(l['scheduled -> DELIVERED (total)']!.p50).toBeNaN();
    expect(l['scheduled -> POST began (client lag)']!.p50).toBe(5);
    expect(l['POST began -> workflow started (queueing for worker and server)']!.p50).toBe(295);
  });
});

describe('latencyStats', () => {
  it('uses nearest rank and counts the samples', () => {
    expect(latencyStats([5, 1, 4, 2, 3])).toEqual({ count: 5, p50: 3, p95: 5, p99: 5, max: 5 });
  });
});

describe('backlogSeries', () => {
  it('counts scheduled, posted, started and DELIVERED by each step, in flight being scheduled minus DELIVERED', () => {
    const t0 = 1_000_000;
    const recs: SteadyRecord[] = [
      { scheduledAt: t0, postStartedAt: t0 + 10, accepted: true, startedAt: t0 + 1000, deliveredAt: t0 + 4000 },
      { scheduledAt: t0 + 2000, postStartedAt: t0 + 2010, accepted: true, startedAt: t0 + 6000, deliveredAt: t0 + 9000 },
      { scheduledAt: t0 + 4000, postStartedAt: t0 + 4010, accepted: false },
    ];
    expect(backlogSeries(recs, t0, t0 + 10_000, 5000)).toEqual([
      { t: 0, scheduled: 1, posted: 0, started: 0, delivered: 0, inFlight: 1 },
      { t: 5, scheduled: 3, posted: 3, started: 1, delivered: 1, inFlight: 2 },
      { t: 10, scheduled: 3, posted: 3, started: 2, delivered: 2, inFlight: 1 },
    ]);
  });

  it('ends with a point at the end time even when it is not a whole step', () => {
    const s = backlogSeries([], 0, 7000, 5000);
    expect(s.map((p) => p.t)).toEqual([0, 5, 7]);
  });
});

describe('slopePerMinute and keptUp', () => {
  it('fits the backlog growth per minute', () => {
    expect(slopePerMinute([{ t: 0, y: 0 }, { t: 30, y: 1 }, { t: 60, y: 2 }])).toBeCloseTo(2);
    expect(slopePerMinute([{ t: 0, y: 3 }])).toBeNaN();
  });

  /** A system delivering `served` of every `rate` messages per second, with a 3 s service time. */
  function run(rate: number, served: number, windowSeconds: number): SteadyRecord[] {
    return openLoopSchedule(rate, windowSeconds).map((off, i) => {
      const delivered = (i * 1000) / served + 3000;
      return { scheduledAt: off, postStartedAt: off, accepted: true, deliveredAt: delivered };
    });
  }

  it('says a system that serves the offered rate kept up', () => {
    const recs = run(5, 5, 120);
    const k = keptUp(backlogSeries(recs, 0, 130_000, 5000), 120, 5, 0);
    expect(k.keptUp).toBe(true);
    expect(Math.abs(k.inFlightSlopePerMinuteSecondHalf)).toBeLessThan(1);
  });

  it('says a system that serves less than the offered rate did not, from the growing backlog', () => {
    // 5/s offered, 4/s served: the backlog grows by about 60 a minute.
    const recs = run(5, 4, 120);
    const k = keptUp(backlogSeries(recs, 0, 120_000, 5000), 120, 5, 0);
    expect(k.keptUp).toBe(false);
    expect(k.inFlightSlopePerMinuteSecondHalf).toBeGreaterThan(50);
  });

  it('says a system that left deliveries undelivered after the drain did not keep up', () => {
    const recs = run(5, 5, 120);
    expect(keptUp(backlogSeries(recs, 0, 130_000, 5000), 120, 5, 3).keptUp).toBe(false);
  });
});

describe('workflowTimes', () => {
  const stages = { startedAt: 10, sentAt: 20, infReceivedAt: 30, infRecordedAt: 35, busReceivedAt: 32 };

  it('takes each stage a delivery\'s timeline gives, and its DELIVERED time when it was DELIVERED', () => {
    expect(workflowTimes({ status: 'DELIVERED', deliveredAt: 40, stages })).toEqual({ ...stages, deliveredAt: 40 });
  });

  it('does not count a delivery as delivered unless it was DELIVERED when checked', () => {
    expect(workflowTimes({ status: 'AWAITING_BUSINESS_ACK', deliveredAt: 40, stages })).not.toHaveProperty('deliveredAt');
  });

  it('leaves out what the timeline did not reach, and gives nothing for an unchecked delivery', () => {
    expect(workflowTimes({ status: 'SENDING', stages: { startedAt: 10 } })).toEqual({ startedAt: 10 });
    expect(workflowTimes(undefined)).toEqual({});
  });
});
