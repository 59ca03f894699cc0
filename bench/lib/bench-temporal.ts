/**
 * Which Temporal the end-to-end benchmark runs on: BENCH_TEMPORAL=dev (the default, a Temporal dev
 * server) or BENCH_TEMPORAL=cluster (the local cluster: private PostgreSQL and two Temporal server
 * nodes behind one balancer, as `npm run bench -- cluster` uses).
 */
import { z } from 'zod';
import { startClusterEnv } from '../../scripts/chaos/cluster-runs';
import { pinnedPostgresMajor, type TemporalCluster } from '../../scripts/lib/cluster';
import type { BenchServices } from './courier-system';
import { processGroup, processTree, type ProcSource } from './proc';

const BenchTemporalSchema = z.enum(['dev', 'cluster']);
export type BenchTemporal = z.infer<typeof BenchTemporalSchema>;

/** BENCH_TEMPORAL, checked before anything starts; unset means the dev server. */
export function benchTemporal(env: NodeJS.ProcessEnv = process.env): BenchTemporal {
  const raw = env.BENCH_TEMPORAL;
  if (raw === undefined) return 'dev';
  const parsed = BenchTemporalSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`BENCH_TEMPORAL must be 'dev' (a Temporal dev server, the default) or 'cluster' (PostgreSQL and two Temporal nodes); got '${raw}'`);
  return parsed.data;
}

/**
 * The cluster and a mesh-sandbox as a benchmark sees them. The Temporal server's CPU is the sum of both
 * nodes' processes (each node reported beside the total); PostgreSQL is its own figure, the postmaster
 * and every backend it forks, so a delivery's cost on the cluster includes its database as the dev
 * server's includes SQLite.
 */
export async function startClusterServices(log: (line: string) => void): Promise<BenchServices> {
  const env = await startClusterEnv({ log });
  const { nodes } = env.cluster;
  return {
    ...env.services,
    mesh: env.mesh,
    temporalServer: {
      kind: 'cluster',
      about:
        `Temporal cluster: ${nodes.length} server nodes (temporal-server) on PostgreSQL ${pinnedPostgresMajor()}. ` +
        `CPU "temporal" is the sum of the nodes' processes (per node under processes.temporal.members and temporalCpuMsPerMessageByNode); ` +
        `"postgres" is the postmaster and every backend it forked; the TCP balancer in front of the frontends runs inside the bench process and is not counted`,
    },
    temporalProcesses: () => clusterProcesses(env.cluster),
    temporalMetricsUrls: () => nodes.map((n) => `http://127.0.0.1:${n.metricsPort}/metrics`),
    stop: () => env.stop(),
  };
}

/** The cluster's processes to measure: every node under "temporal" (a group), PostgreSQL's tree under "postgres". */
export function clusterProcesses(cluster: { nodes: ReadonlyArray<Pick<TemporalCluster['nodes'][number], 'index' | 'process'>>; postgres: Pick<TemporalCluster['postgres'], 'process'> }): Record<string, ProcSource> {
  return {
    // Read at each sample: a node or the database restarted keeps its name.
    temporal: processGroup(Object.fromEntries(cluster.nodes.map((n) => [`node${n.index}`, () => n.process()?.pid]))),
    postgres: processTree(() => cluster.postgres.process()?.pid),
  };
}
