/**
 * `npm run bench -- cluster` (not CI): ITK3 Courier at scale on the local Temporal cluster (private
 * PostgreSQL, two server nodes, three workers). For each size in CLUSTER_BENCH_SIZES (10000,30000,100000)
 * it submits that many deliveries through the API with nobody answering, waits until every one waits
 * for its infrastructure acknowledgement, and measures: PostgreSQL bytes per waiting delivery (growth of
 * both Temporal databases), server and worker memory (RSS), p95 latency of every operator query of
 * docs/operations.md, and then, with the GP practice peer started, the time until every one is
 * DELIVERED. Stops at the first size that does not finish within the time budget
 * (CLUSTER_BENCH_BUDGET_MIN, 60; CLUSTER_BENCH_DRAIN_RESERVE_MIN of it kept for the drain) and says so,
 * with the figures of how far it got. Operator queries are sampled paced, and any the frontends
 * throttled are counted, so a rate-limit retry is not mistaken for a slow query.
 */
import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { visibilityThrottled } from '../scripts/lib/cluster';
import { operatorQueries } from '../scripts/lib/operator-queries';
import { startClusterEnv, startFleet } from '../scripts/chaos/cluster-runs';
import { sleep, submitLoad, waitForStatus } from './lib/courier-system';
import { percentile } from './lib/percentile';
import { sampleProc } from './lib/proc';

/** Resident memory of a process in MiB (0 when it has gone), read as every other benchmark reads it. */
const rssMiB = (pid: number | undefined): number => Math.round((sampleProc(pid)?.rssBytes ?? 0) / 2 ** 20);
/** The 1, 5 and 15-minute load averages: the machine is shared, so every figure carries the load it was taken at. */
const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' ');
/** Samples per operator query, and the pause after each (20 a second, under the frontends' visibility limit). */
const QUERY_SAMPLES = 20;
const QUERY_GAP_MS = 50;

export async function runClusterBench(): Promise<object> {
  const sizes = (process.env.CLUSTER_BENCH_SIZES ?? '10000,30000,100000').split(',').map(Number);
  const budgetMs = Number(process.env.CLUSTER_BENCH_BUDGET_MIN ?? '60') * 60_000;
  // Time kept back from the waiting phase for the drain, so a run that cannot get every delivery waiting
  // within the budget still measures how fast the waiting ones drain.
  const drainReserveMs = Number(process.env.CLUSTER_BENCH_DRAIN_RESERVE_MIN ?? '0') * 60_000;
  const started = Date.now();
  const log = (l: string): void => void process.stdout.write(`[cluster-bench ${Math.round((Date.now() - started) / 1000)}s] ${l}\n`);
  const env = await startClusterEnv({ log });
  const dbBytes = (): number => Number(env.cluster.postgres.query("SELECT sum(pg_database_size(datname)) FROM pg_database WHERE datname IN ('temporal', 'temporal_visibility')")[0]);
  const connection = await Connection.connect({ address: env.cluster.address });
  const client = new Client({ connection, namespace: env.services.namespace });
  const steps: object[] = [];
  let stoppedBecause = 'every size finished';
  try {
    for (const size of sizes) {
      const left = budgetMs - (Date.now() - started);
      if (left <= 0) {
        stoppedBecause = `the ${budgetMs / 60_000}-minute budget ran out before ${size}`;
        break;
      }
      const fleet = await startFleet(env.services, `bench-${size}`, 3, { peer: false });
      try {
        const before = dbBytes();
        const t0 = Date.now();
        // Submission stops where the waiting phase's time ends, so a size too big for the budget cannot
        // run the benchmark past it: the figures are then those of as many as were submitted.
        const waitingEnds = started + budgetMs - drainReserveMs;
        const submitted = await submitLoad(fleet.system, size, 32, (n) => n % 1000 === 0 && log(`${size}: ${n} accepted (load ${load()})`), waitingEnds);
        const submitSeconds = (Date.now() - t0) / 1000;
        if (submitted.length < size) log(`${size}: submission stopped at ${submitted.length} when the waiting phase's time ran out`);
        const waiting = await waitForStatus(fleet.system, 'AWAITING_INFRASTRUCTURE_ACK', submitted.length, waitingEnds - Date.now(), (n) => log(`${size}: ${n} waiting for acks (load ${load()})`));
        const waitingSeconds = (Date.now() - t0) / 1000;
        // Figures are taken even when not every delivery got as far as waiting, so a stopped run still says
        // how far it went and what it cost on the way.
        await sleep(5000);
        const dbBytesNow = dbBytes();
        const bytesPerWaitingDelivery = waiting > 0 ? Math.round((dbBytesNow - before) / waiting) : null;
        const memoryMiB = {
          temporalNodes: env.cluster.nodes.map((n) => rssMiB(n.process()?.pid)),
          workers: fleet.workerPids().map(rssMiB),
          api: rssMiB(fleet.system.apiPid()),
        };
        const queries: Record<string, number> = {};
        const throttledBefore = await visibilityThrottled(env.cluster);
        for (const q of operatorQueries()) {
          const times: number[] = [];
          for (let i = 0; i < QUERY_SAMPLES; i++) {
            const t = process.hrtime.bigint();
            await client.workflow.count(q);
            times.push(Number(process.hrtime.bigint() - t) / 1e6);
            // Paced well below the frontends' visibility rate limit, so a sample is the query's own time.
            await sleep(QUERY_GAP_MS);
          }
          queries[q] = Math.round(percentile(times, 95));
        }
        const queriesThrottled = (await visibilityThrottled(env.cluster)) - throttledBefore;
        const loadAtMeasure = load();
        log(`${size}: ${waiting} waiting; ${bytesPerWaitingDelivery} PostgreSQL bytes per waiting delivery (${Math.round(dbBytesNow / 2 ** 20)} MiB in both databases); memory ${JSON.stringify(memoryMiB)} MiB; slowest query p95 ${Math.max(...Object.values(queries))} ms, ${queriesThrottled} throttled; load ${loadAtMeasure}`);
        const measured = { size, submitSeconds, waiting, waitingSeconds, bytesPerWaitingDelivery, databaseMiB: Math.round(dbBytesNow / 2 ** 20), memoryMiB, queryP95Ms: queries, querySamples: QUERY_SAMPLES, queriesThrottled, loadAverage: loadAtMeasure };
        // When not all got as far as waiting, the drain is timed for as many as were waiting (the rest
        // are still sending, and are acknowledged as soon as they have sent).
        const drainTarget = waiting;
        const t1 = Date.now();
        fleet.startPeer();
        const delivered = await waitForStatus(fleet.system, 'DELIVERED', drainTarget, Math.max(60_000, budgetMs - (Date.now() - started)), (n) => log(`${size}: ${n} DELIVERED (load ${load()})`));
        const drainSeconds = (Date.now() - t1) / 1000;
        const step = { ...measured, submissions: submitted.length, drainTarget, delivered, drainSeconds, loadAverageAfterDrain: load() };
        log(`${size}: ${delivered} DELIVERED ${drainSeconds} s after the peer started; load ${load()}`);
        if (waiting < size || delivered < drainTarget) {
          stoppedBecause = waiting < size
            ? `${size}: only ${waiting} were waiting for acknowledgements (${submitted.length} submitted) when the waiting phase's time ran out`
            : `${size}: ${delivered} of ${drainTarget} DELIVERED when the budget ran out`;
          steps.push({ ...step, stopped: stoppedBecause });
          break;
        }
        steps.push(step);
      } finally {
        await fleet.stop();
      }
    }
  } finally {
    await connection.close();
    await env.stop();
  }
  return { machine: `${os.cpus().length} cores, shared (load average with every figure)`, nodes: 2, workers: 3, steps, stoppedBecause, minutes: Math.round((Date.now() - started) / 60_000) };
}
