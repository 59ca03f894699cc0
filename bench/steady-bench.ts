/**
 * Steady load: ITK3 Courier under an open-loop load at a fixed rate, for a window, at each of several
 * rates. Message i is scheduled at t0 + i / rate and posted through the API at that time whether or not
 * earlier ones have been answered, so a system that cannot keep up shows a growing backlog and growing
 * latency instead of a lower offered rate (which is what a closed loop, or a burst, would show).
 *
 * Each rate runs on a fresh courier system (worker, API, GP practice peer) against the suite's Temporal
 * dev server and mesh-sandbox, with a settle between. Per rate: messages scheduled / posted / accepted /
 * DELIVERED, the achieved submit rate, latency from the scheduled time to DELIVERED (nearest-rank p50,
 * p95, p99) and that time cut into client lag, POST, queueing (POST began -> workflow started) and
 * service time (workflow started -> DELIVERED, with its stages), the backlog every 5 s counted from each
 * delivery's own times, whether the system kept up, CPU per delivered message of each process, and the
 * same verdict as the end-to-end run (nothing lost, nothing duplicated).
 *
 * After the window the run waits a bounded drain for the deliveries still in flight and reports how
 * many were still not DELIVERED when it ended.
 *
 * Environment: BENCH_STEADY_RATES (messages per second, default 2,5,8), BENCH_STEADY_MINUTES (window
 * per rate, default 10), BENCH_STEADY_DRAIN_S (bound on the drain, default 180), BENCH_STEADY_SETTLE_S
 * (pause before each rate, default 15), BENCH_POLL_MS (worker MESH poll interval, default 1000),
 * BENCH_PEER_INTERVAL (peer poll interval in s, default 0.2).
 */
import os from 'node:os';
import { STAND_INS } from './lib/cpu-ratio';
import { sleep, startCourierSystem, submitPaced, verifyRun, waitForStatus, type Services, type Submitted } from './lib/courier-system';
import { ProcSampler } from './lib/proc';
import { backlogSeries, keptUp, openLoopSchedule, parseRates, splitLatencies, workflowTimes, type SteadyRecord } from './lib/steady';

const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;
const envNum = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

interface SteadyOptions {
  rate: number;
  windowSeconds: number;
  drainSeconds: number;
  pollMs: number;
  peerInterval: number;
}

async function runRate(s: Services, o: SteadyOptions) {
  const system = await startCourierSystem({ services: s, label: `steady-${o.rate}`, pollInterval: `${o.pollMs}ms`, peerIntervalSeconds: o.peerInterval });
  try {
    const schedule = openLoopSchedule(o.rate, o.windowSeconds);
    const sampler = new ProcSampler({
      worker: system.workerPid,
      api: system.apiPid,
      peer: system.peerPid,
      temporal: () => s.temporal.process.pid,
      meshSandbox: () => s.mesh.process.pid,
    });
    // A short lead so the first message is not late because the schedule was being built.
    const t0 = Date.now() + 200;
    const windowEnd = t0 + o.windowSeconds * 1000;
    const every = Math.max(1, Math.round(o.rate * 60));
    log(`steady ${o.rate}/s: ${schedule.length} messages over ${o.windowSeconds} s`);
    const paced = await submitPaced(system, schedule, { t0, onEach: (k) => k % every === 0 && log(`steady ${o.rate}/s: ${k}/${schedule.length} posted`) });
    const accepted = paced.filter((p) => p.workflowId !== undefined);
    const drainDeadline = windowEnd + o.drainSeconds * 1000;
    const reached = await waitForStatus(system, 'DELIVERED', accepted.length, Math.max(0, drainDeadline - Date.now()), (k) => log(`steady ${o.rate}/s: ${k}/${accepted.length} DELIVERED`));
    const drainEnded = Date.now();
    const procs = sampler.stop();
    const submitted: Submitted[] = accepted.map((p) => ({ workflowId: p.workflowId!, documentId: p.documentId, submittedAt: p.postStartedAt, tries: p.tries ?? 1 }));
    const { verdict, checks } = await verifyRun(`steady-${o.rate}`, system, s, submitted);

    const records: SteadyRecord[] = paced.map((p) => ({
      scheduledAt: p.scheduledAt,
      postStartedAt: p.postStartedAt,
      ...(p.postEndedAt !== undefined ? { postEndedAt: p.postEndedAt } : {}),
      accepted: p.workflowId !== undefined,
      ...workflowTimes(p.workflowId ? checks.get(p.workflowId) : undefined),
    }));
    const delivered = records.filter((r) => r.deliveredAt !== undefined).length;
    const deliveredByDrainEnd = records.filter((r) => r.deliveredAt !== undefined && r.deliveredAt <= drainEnded).length;
    const notDeliveredAfterDrain = accepted.length - deliveredByDrainEnd;
    const series = backlogSeries(records, t0, drainEnded, 5000);
    const atWindowEnd = backlogSeries(records, t0, windowEnd, o.windowSeconds * 1000).at(-1)!;
    const starts = paced.map((p) => p.postStartedAt);
    const span = (Math.max(...starts) - Math.min(...starts)) / 1000;
    const cpuMsPerMessage = Object.fromEntries(Object.entries(procs).map(([k, v]) => [k, round((v.cpuSeconds * 1000) / Math.max(delivered, 1), 2)]));
    const courierOwn = Object.entries(cpuMsPerMessage).reduce((t, [k, v]) => (STAND_INS.includes(k) ? t : t + v), 0);
    const measuredSeconds = (drainEnded - t0) / 1000;
    const kept = keptUp(series, o.windowSeconds, o.rate, notDeliveredAfterDrain);
    if (reached < accepted.length) log(`steady ${o.rate}/s: ${accepted.length - reached} not DELIVERED when the drain ended`);
    return {
      ratePerSecond: o.rate,
      windowSeconds: o.windowSeconds,
      messages: {
        scheduled: schedule.length,
        posted: paced.length,
        accepted: accepted.length,
        refusedOrFailed: paced.length - accepted.length,
        delivered,
        notDeliveredAfterDrain,
      },
      achievedSubmitRatePerSecond: paced.length > 1 && span > 0 ? round((paced.length - 1) / span, 3) : NaN,
      pollIntervalMs: o.pollMs,
      peerPollIntervalMs: o.peerInterval * 1000,
      latencyMs: splitLatencies(records),
      keptUp: {
        ...kept,
        inFlightAtWindowEnd: atWindowEnd.inFlight,
        postedAtWindowEnd: atWindowEnd.posted,
        deliveredAtWindowEnd: atWindowEnd.delivered,
        drainSeconds: round((drainEnded - windowEnd) / 1000),
        drainBoundSeconds: o.drainSeconds,
      },
      backlogEvery5s: series,
      cpuMsPerMessage,
      courierOwnCpuMsPerMessage: round(courierOwn, 1),
      cpuMsPerSecond: Object.fromEntries(Object.entries(procs).map(([k, v]) => [k, round((v.cpuSeconds * 1000) / measuredSeconds, 1)])),
      processes: procs,
      submitErrors: paced.filter((p) => p.error).slice(0, 5).map((p) => p.error),
      verdict,
    };
  } finally {
    await system.stop();
  }
}

type RateResult = Awaited<ReturnType<typeof runRate>>;

const secs = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(1) : 'n/a');

export function steadySummaryLine(r: RateResult): string {
  const total = r.latencyMs['scheduled -> DELIVERED (total)']!;
  const queue = r.latencyMs['POST began -> workflow started (queueing for worker and server)']!;
  const service = r.latencyMs['workflow started -> DELIVERED (service time)']!;
  return (
    `steady ${r.ratePerSecond}/s: ${r.messages.delivered}/${r.messages.scheduled} DELIVERED, ${r.messages.notDeliveredAfterDrain} left after drain, ` +
    `submit->DELIVERED p50/p95/p99 ${secs(total.p50)}/${secs(total.p95)}/${secs(total.p99)} s (queueing p50 ${secs(queue.p50)} s, service p50 ${secs(service.p50)} s), ` +
    `${r.keptUp.keptUp ? 'kept up' : 'did NOT keep up'}, courier ${Math.round(r.courierOwnCpuMsPerMessage)} ms CPU/msg, verdict ${r.verdict.pass ? 'PASS' : 'FAIL'}`
  );
}

export async function runSteadyBench(s: Services): Promise<object> {
  const ratesText = process.env.BENCH_STEADY_RATES ?? '2,5,8';
  const rates = parseRates(ratesText);
  const minutes = envNum('BENCH_STEADY_MINUTES', 10);
  const drainSeconds = envNum('BENCH_STEADY_DRAIN_S', 180);
  const settleSeconds = envNum('BENCH_STEADY_SETTLE_S', 15);
  const pollMs = envNum('BENCH_POLL_MS', 1000);
  const peerInterval = envNum('BENCH_PEER_INTERVAL', 0.2);
  for (const [name, v] of Object.entries({ BENCH_STEADY_MINUTES: minutes, BENCH_STEADY_DRAIN_S: drainSeconds, BENCH_STEADY_SETTLE_S: settleSeconds, BENCH_POLL_MS: pollMs, BENCH_PEER_INTERVAL: peerInterval })) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got '${process.env[name]}'`);
  }
  const command = `BENCH_STEADY_RATES=${rates.join(',')} BENCH_STEADY_MINUTES=${minutes} BENCH_STEADY_DRAIN_S=${drainSeconds} BENCH_STEADY_SETTLE_S=${settleSeconds} BENCH_POLL_MS=${pollMs} BENCH_PEER_INTERVAL=${peerInterval} npm run bench -- steady`;
  log(`steady: ${command}`);
  const results: RateResult[] = [];
  for (const rate of rates) {
    // Let the previous system's tail (its poller, the server's timers and visibility writes) die down.
    await sleep(settleSeconds * 1000);
    results.push(await runRate(s, { rate, windowSeconds: minutes * 60, drainSeconds, pollMs, peerInterval }));
  }
  return {
    command,
    summary: results.map(steadySummaryLine).join('\n'),
    machineLoadAverage: os.loadavg().map((x) => round(x, 2)),
    pollIntervalMs: pollMs,
    peerPollIntervalMs: peerInterval * 1000,
    latencyPercentiles: 'nearest rank (bench/lib/percentile.ts); times in ms; scheduled/POST times on the client clock, workflow times from each delivery timeline (same machine)',
    rates: results,
  };
}
