/**
 * `npm run bench -- cluster` (not CI): ITK3 Courier at scale on the local Temporal cluster (private
 * PostgreSQL, two server nodes, three workers). For each size in CLUSTER_BENCH_SIZES (10000,30000,100000)
 * it submits that many deliveries through the API with nobody answering, waits until every one waits
 * for its infrastructure acknowledgement, and measures: PostgreSQL bytes per waiting delivery (growth of
 * both Temporal databases), server and worker memory (RSS), p95 latency of every operator query of
 * docs/operations.md, and then, with the GP practice peer started, the time until every one is
 * DELIVERED. Stops at the first size that does not finish within the time budget
 * (CLUSTER_BENCH_BUDGET_MIN, 60) and says so.
 */
import { Client, Connection } from '@temporalio/client';
import { operatorQueries } from '../scripts/lib/operator-queries';
import { startClusterEnv, startFleet } from '../scripts/chaos/cluster-runs';
import { sleep, submitLoad, waitForStatus } from './lib/courier-system';
import { percentile } from './lib/percentile';
import { sampleProc } from './lib/proc';

/** Resident memory of a process in MiB (0 when it has gone), read as every other benchmark reads it. */
const rssMiB = (pid: number | undefined): number => Math.round((sampleProc(pid)?.rssBytes ?? 0) / 2 ** 20);

export async function runClusterBench(): Promise<object> {
  const sizes = (process.env.CLUSTER_BENCH_SIZES ?? '10000,30000,100000').split(',').map(Number);
  const budgetMs = Number(process.env.CLUSTER_BENCH_BUDGET_MIN ?? '60') * 60_000;
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
        const submitted = await submitLoad(fleet.system, size, 32, (n) => n % 5000 === 0 && log(`${size}: ${n} accepted`));
        const submitSeconds = (Date.now() - t0) / 1000;
        const waiting = await waitForStatus(fleet.system, 'AWAITING_INFRASTRUCTURE_ACK', size, budgetMs - (Date.now() - started), (n) => log(`${size}: ${n} waiting for acks`));
        const waitingSeconds = (Date.now() - t0) / 1000;
        if (waiting < size) {
          stoppedBecause = `${size}: only ${waiting} were waiting for acknowledgements when the budget ran out`;
          steps.push({ size, waiting, submitSeconds, stopped: stoppedBecause });
          break;
        }
        await sleep(5000);
        const bytesPerWaitingDelivery = Math.round((dbBytes() - before) / size);
        const memoryMiB = {
          temporalNodes: env.cluster.nodes.map((n) => rssMiB(n.process()?.pid)),
          workers: fleet.workerPids().map(rssMiB),
          api: rssMiB(fleet.system.apiPid()),
        };
        const queries: Record<string, number> = {};
        for (const q of operatorQueries()) {
          const times: number[] = [];
          for (let i = 0; i < 20; i++) {
            const t = process.hrtime.bigint();
            await client.workflow.count(q);
            times.push(Number(process.hrtime.bigint() - t) / 1e6);
          }
          queries[q] = Math.round(percentile(times, 95));
        }
        log(`${size}: ${bytesPerWaitingDelivery} PostgreSQL bytes per waiting delivery; memory ${JSON.stringify(memoryMiB)} MiB; slowest query p95 ${Math.max(...Object.values(queries))} ms`);
        const t1 = Date.now();
        fleet.startPeer();
        const delivered = await waitForStatus(fleet.system, 'DELIVERED', size, Math.max(60_000, budgetMs - (Date.now() - started)), (n) => log(`${size}: ${n} DELIVERED`));
        const drainSeconds = (Date.now() - t1) / 1000;
        steps.push({ size, submitSeconds, waitingSeconds, bytesPerWaitingDelivery, memoryMiB, queryP95Ms: queries, delivered, drainSeconds, submissions: submitted.length });
        if (delivered < size) {
          stoppedBecause = `${size}: ${delivered} DELIVERED when the budget ran out`;
          break;
        }
      } finally {
        await fleet.stop();
      }
    }
  } finally {
    await connection.close();
    await env.stop();
  }
  return { machine: 'see bench-results', nodes: 2, workers: 3, steps, stoppedBecause, minutes: Math.round((Date.now() - started) / 60_000) };
}
