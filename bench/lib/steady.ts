/**
 * The pure parts of the steady-load benchmark: the open-loop schedule, and how each submission's times
 * are split into client lag, queueing and service time, and into a backlog series. No services here, so
 * every figure the benchmark prints can be checked by a unit test.
 */
import { percentileOfSorted } from './percentile';

/**
 * Offsets (ms from t0) of an open-loop schedule: message i at i / rate seconds, for every i whose time
 * falls inside the window. Open loop means the schedule never waits for replies, so a slow system shows
 * up as latency and backlog instead of as a lower offered rate.
 */
export function openLoopSchedule(ratePerSecond: number, durationSeconds: number): number[] {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new Error(`rate must be a positive number of messages per second, got ${ratePerSecond}`);
  if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds)) throw new Error(`duration must be a positive number of seconds, got ${durationSeconds}`);
  const count = Math.ceil(ratePerSecond * durationSeconds - 1e-9);
  return Array.from({ length: count }, (_, i) => (i * 1000) / ratePerSecond);
}

/** Parses a list of rates such as `2,5,8` (messages per second); every entry must be a positive number. */
export function parseRates(text: string): number[] {
  const rates = text.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  if (rates.length === 0 || rates.some((r) => !(r > 0) || !Number.isFinite(r))) throw new Error(`BENCH_STEADY_RATES must be positive numbers separated by commas, got '${text}'`);
  return rates;
}

/** One scheduled submission and what became of it (epoch ms; client clock for the first three). */
export interface SteadyRecord {
  scheduledAt: number;
  /** When the POST began (first try); undefined if it never did. */
  postStartedAt?: number;
  postEndedAt?: number;
  accepted: boolean;
  /** Workflow time of the delivery's SUBMITTED entry: the worker ran its first workflow task. */
  startedAt?: number;
  sentAt?: number;
  infReceivedAt?: number;
  infRecordedAt?: number;
  busReceivedAt?: number;
  /** Workflow time of the `-> DELIVERED` entry. */
  deliveredAt?: number;
}

/** What a delivery's own timeline says, in the shape `DeliveryCheck` (bench/lib/courier-system.ts) gives it. */
export interface CheckedTimes {
  status?: string;
  deliveredAt?: number;
  stages?: { startedAt?: number; sentAt?: number; infReceivedAt?: number; infRecordedAt?: number; busReceivedAt?: number };
}

/** The workflow-side times of a record, from a delivery's check; only one DELIVERED when checked counts as delivered. */
export function workflowTimes(c: CheckedTimes | undefined): Pick<SteadyRecord, 'startedAt' | 'sentAt' | 'infReceivedAt' | 'infRecordedAt' | 'busReceivedAt' | 'deliveredAt'> {
  const st = c?.stages;
  return {
    ...(st?.startedAt !== undefined ? { startedAt: st.startedAt } : {}),
    ...(st?.sentAt !== undefined ? { sentAt: st.sentAt } : {}),
    ...(st?.infReceivedAt !== undefined ? { infReceivedAt: st.infReceivedAt } : {}),
    ...(st?.infRecordedAt !== undefined ? { infRecordedAt: st.infRecordedAt } : {}),
    ...(st?.busReceivedAt !== undefined ? { busReceivedAt: st.busReceivedAt } : {}),
    ...(c?.status === 'DELIVERED' && c.deliveredAt !== undefined ? { deliveredAt: c.deliveredAt } : {}),
  };
}

export interface LatencyStats {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (ms); NaN for every figure when there are no samples. */
export function latencyStats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  return { count: s.length, p50: percentileOfSorted(s, 50), p95: percentileOfSorted(s, 95), p99: percentileOfSorted(s, 99), max: s.length ? s[s.length - 1]! : NaN };
}

/**
 * Latency per message, from its scheduled time to DELIVERED, and the same time cut into parts that add
 * up to it: client lag (the load generator itself being late), the POST, queueing (POST began -> the
 * worker ran the workflow's first task) and service time (workflow started -> DELIVERED: build, send,
 * the peer, both polls, routing), which is itself cut into three stages that add up to it. The peer
 * often answers both acknowledgements before the poller's next pass, so the business ack can be
 * downloaded before the infrastructure ack is recorded: the routing of each ack is shown inside the
 * last stage rather than as a chain that would go negative.
 */
export function splitLatencies(records: readonly SteadyRecord[]): Record<string, LatencyStats> {
  const spans: Record<string, number[]> = {
    'scheduled -> DELIVERED (total)': [],
    'scheduled -> POST began (client lag)': [],
    'POST duration': [],
    'POST began -> workflow started (queueing for worker and server)': [],
    'workflow started -> DELIVERED (service time)': [],
    'service: started -> MESH send done (build + send)': [],
    'service: sent -> infrastructure ack downloaded (peer + MESH + poll)': [],
    'service: infrastructure ack downloaded -> DELIVERED (routing, business ack, signals)': [],
    'service, within the last: infrastructure ack downloaded -> recorded': [],
    'service, within the last: business ack downloaded -> DELIVERED': [],
  };
  const add = (k: string, a?: number, b?: number): void => {
    if (a !== undefined && b !== undefined) spans[k]!.push(b - a);
  };
  for (const r of records) {
    add('scheduled -> DELIVERED (total)', r.scheduledAt, r.deliveredAt);
    add('scheduled -> POST began (client lag)', r.scheduledAt, r.postStartedAt);
    add('POST duration', r.postStartedAt, r.postEndedAt);
    add('POST began -> workflow started (queueing for worker and server)', r.postStartedAt, r.startedAt);
    add('workflow started -> DELIVERED (service time)', r.startedAt, r.deliveredAt);
    add('service: started -> MESH send done (build + send)', r.startedAt, r.sentAt);
    add('service: sent -> infrastructure ack downloaded (peer + MESH + poll)', r.sentAt, r.infReceivedAt);
    add('service: infrastructure ack downloaded -> DELIVERED (routing, business ack, signals)', r.infReceivedAt, r.deliveredAt);
    add('service, within the last: infrastructure ack downloaded -> recorded', r.infReceivedAt, r.infRecordedAt);
    add('service, within the last: business ack downloaded -> DELIVERED', r.busReceivedAt, r.deliveredAt);
  }
  return Object.fromEntries(Object.entries(spans).map(([k, v]) => [k, latencyStats(v)]));
}

export interface BacklogPoint {
  /** Seconds since t0. */
  t: number;
  scheduled: number;
  posted: number;
  started: number;
  delivered: number;
  /** Scheduled by then and not yet DELIVERED: what the system (and the load generator) still owes. */
  inFlight: number;
}

/** The backlog every `stepMs` from t0 to `untilMs`, counted from each record's own times. */
export function backlogSeries(records: readonly SteadyRecord[], t0: number, untilMs: number, stepMs: number): BacklogPoint[] {
  if (!(stepMs > 0)) throw new Error('stepMs must be positive');
  const out: BacklogPoint[] = [];
  const by = (t: number, at?: number): boolean => at !== undefined && at <= t;
  for (let t = t0; ; t = Math.min(t + stepMs, untilMs)) {
    let scheduled = 0, posted = 0, started = 0, delivered = 0;
    for (const r of records) {
      if (by(t, r.scheduledAt)) scheduled++;
      if (by(t, r.postStartedAt)) posted++;
      if (by(t, r.startedAt)) started++;
      if (by(t, r.deliveredAt)) delivered++;
    }
    out.push({ t: Math.round((t - t0) / 100) / 10, scheduled, posted, started, delivered, inFlight: scheduled - delivered });
    if (t >= untilMs) return out;
  }
}

/** Least-squares slope of y over t, per minute (t in seconds); NaN with fewer than two distinct times. */
export function slopePerMinute(points: ReadonlyArray<{ t: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? NaN : (num / den) * 60;
}

/**
 * Whether the system kept up with the offered rate: over the second half of the window (after the
 * start-up transient) the backlog grew by less than 5 % of a minute's offered messages per minute, and
 * nothing was still undelivered when the drain ended. A system that falls behind builds a backlog that
 * grows in proportion to the shortfall, so the slope shows it even in a short window.
 */
export function keptUp(series: readonly BacklogPoint[], windowSeconds: number, ratePerSecond: number, notDeliveredAfterDrain: number): { keptUp: boolean; inFlightSlopePerMinuteSecondHalf: number; rule: string } {
  const half = series.filter((p) => p.t >= windowSeconds / 2 && p.t <= windowSeconds).map((p) => ({ t: p.t, y: p.inFlight }));
  const slope = slopePerMinute(half);
  const limit = 0.05 * ratePerSecond * 60;
  return {
    keptUp: notDeliveredAfterDrain === 0 && Number.isFinite(slope) && slope < limit,
    inFlightSlopePerMinuteSecondHalf: Math.round(slope * 10) / 10,
    rule: `in-flight slope over the window's second half < ${Math.round(limit * 10) / 10}/min (5 % of the offered rate) and 0 undelivered after the drain`,
  };
}
