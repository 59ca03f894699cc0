/**
 * The reliability runs on a real Temporal cluster (scripts/lib/cluster.ts: private PostgreSQL, two
 * server nodes behind one balancer) with three worker processes on one task queue. Each run submits a
 * load through the API while a fault is injected, waits for every delivery and ends with the same verdict
 * as `npm run chaos` (bench/lib/courier-system.ts verifyRun: every delivery DELIVERED, no duplicate send
 * at the peer, no lost acknowledgement, inboxes empty, nothing quarantined, no worker crash by itself).
 * Used by the cluster suite (test/cluster) and runnable alone:
 *
 *   npm run chaos -- cluster            (every run; CLUSTER_CHAOS_COUNT documents each, default 200)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import {
  COURIER_MAILBOX,
  PRACTICE_MAILBOX,
  inboxCount,
  mapLimit,
  sleep,
  startCourierSystem,
  submitLoad,
  verdictLine,
  verifyRun,
  waitForStatus,
  type CourierSystem,
  type RunVerdict,
  type ServicesInfo,
  type Submitted,
} from '../../bench/lib/courier-system';
import { startCluster, type TemporalCluster } from '../lib/cluster';
import { REPO_ROOT, VENV_BIN, freePort, startMeshSandbox, type RunningService } from '../lib/services';
import { envNum, writeChaosResult } from './common';

export { envNum };

/** The cluster, a mesh-sandbox, and what a run needs to address them. */
export interface ClusterEnv {
  cluster: TemporalCluster;
  mesh: RunningService;
  services: ServicesInfo;
  stop(): Promise<void>;
}

export async function startClusterEnv(opts: { dir?: string; log?: (l: string) => void } = {}): Promise<ClusterEnv> {
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'itk3-cluster-'));
  const cluster = await startCluster({ dir, namespace: 'courier', retentionDays: 1, log: opts.log });
  let mesh: RunningService;
  try {
    mesh = await startMeshSandbox({ port: await freePort(), sharedKey: 'TestKey', storeMode: 'memory', logFile: path.join(dir, 'logs', 'mesh.log') });
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return {
    cluster,
    mesh,
    services: { temporalAddress: cluster.address, namespace: cluster.namespace, meshUrl: mesh.url, sharedKey: 'TestKey', dir },
    async stop() {
      await mesh.stop();
      await cluster.stop();
    },
  };
}

/**
 * ITK3 Courier with `workers` worker processes: the bench CourierSystem (its worker, the API, the peer)
 * plus more workers on the same task queue and environment, each with its own identity and metrics port.
 */
export interface FleetSystem {
  system: CourierSystem;
  /** Identities of every worker, the system's own first. */
  identities(): string[];
  metricsPorts: number[];
  /** Worker i (0 = the system's own): stop with the signal and start it again, waiting until it polls. */
  restartWorker(i: number, signal: NodeJS.Signals, downMs?: number): Promise<void>;
  /** Exits of the extra workers nobody asked for. */
  extraCrashes: number;
  /** Process ids of the running workers (for memory measurements). */
  workerPids(): number[];
  /** Activity executions per worker identity, from each worker's /metrics. */
  activityCountsFromMetrics(): Promise<Record<string, number>>;
  /** Starts the GP practice peer when the system was started without one. */
  startPeer(): void;
  stop(): Promise<void>;
}

export async function startFleet(services: ServicesInfo, label: string, workers: number, opts: { peer?: boolean; env?: Record<string, string> } = {}): Promise<FleetSystem> {
  const metricsPorts = await Promise.all(Array.from({ length: workers }, () => freePort()));
  const system = await startCourierSystem({
    services,
    label,
    pollInterval: '500ms',
    peerIntervalSeconds: opts.peer === false ? false : 0.3,
    env: { ...opts.env, ITK3_WORKER_METRICS_PORT: String(metricsPorts[0]) },
  });
  const extra: Array<{ identity: string; proc?: ChildProcess; expected: WeakSet<ChildProcess> }> = [];
  let stopping = false;
  let peer: ChildProcess | undefined;
  const fleet: FleetSystem = {
    system,
    metricsPorts,
    extraCrashes: 0,
    identities: () => [`${label}-worker-${system.workerStarts}`, ...extra.map((e) => e.identity)],
    workerPids: () => [system.workerPid(), ...extra.map((e) => (e.proc && e.proc.exitCode === null ? e.proc.pid : undefined))].filter((p): p is number => p !== undefined),
    async restartWorker(i, signal, downMs = 0) {
      if (i === 0) {
        await system.stopWorker(signal);
        if (downMs) await sleep(downMs);
        await system.startWorker();
        return;
      }
      const e = extra[i - 1]!;
      if (e.proc) {
        e.expected.add(e.proc);
        const exited = new Promise<void>((r) => e.proc!.once('exit', () => r()));
        e.proc.kill(signal);
        const t = setTimeout(() => e.proc?.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      if (downMs) await sleep(downMs);
      await startExtra(i - 1);
    },
    async activityCountsFromMetrics() {
      const out: Record<string, number> = {};
      for (const port of metricsPorts) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        for (const line of text.split('\n').filter((l) => l.startsWith('itk3_activity_executions_total{'))) {
          const identity = /worker_identity="([^"]+)"/.exec(line)?.[1] ?? '?';
          out[identity] = (out[identity] ?? 0) + Number(line.split(' ').pop());
        }
      }
      return out;
    },
    startPeer() {
      const scenarios = path.join(system.dir, 'scenarios.json');
      writeFileSync(scenarios, '{}');
      peer = spawn(
        path.join(VENV_BIN, 'python'),
        [
          path.join(REPO_ROOT, 'scripts', 'gp_practice_peer.py'),
          '--url', services.meshUrl, '--shared-key', services.sharedKey, '--mailbox', PRACTICE_MAILBOX,
          '--scenarios', scenarios,
          '--record', path.join(system.dir, 'peer-received.jsonl'),
          '--sent-record', path.join(system.dir, 'peer-sent.jsonl'),
          '--interval', '0.3',
        ],
        { stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' } },
      );
    },
    async stop() {
      stopping = true;
      peer?.kill('SIGTERM');
      await Promise.all(
        extra.map(async (e) => {
          if (!e.proc || e.proc.exitCode !== null || e.proc.signalCode !== null) return;
          const exited = new Promise<void>((r) => e.proc!.once('exit', () => r()));
          e.proc.kill('SIGTERM');
          await exited;
        }),
      );
      await system.stop();
    },
  };
  const startExtra = async (k: number): Promise<void> => {
    const e = extra[k]!;
    const proc = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'worker', 'main.js')], {
      env: { ...system.env, ITK3_WORKER_IDENTITY: e.identity, ITK3_WORKER_METRICS_PORT: String(metricsPorts[k + 1]) },
      stdio: 'ignore',
    });
    e.proc = proc;
    proc.once('exit', () => {
      if (!stopping && !e.expected.has(proc)) fleet.extraCrashes += 1;
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`worker ${e.identity} exited with code ${proc.exitCode} during start-up`);
      const tq = await system.client.workflowService
        .describeTaskQueue({ namespace: services.namespace, taskQueue: { name: system.taskQueue }, taskQueueType: 1 })
        .catch(() => undefined);
      if ((tq?.pollers ?? []).some((p) => p.identity === e.identity)) return;
      if (Date.now() > deadline) throw new Error(`worker ${e.identity} did not poll within 120 s`);
      await sleep(200);
    }
  };
  try {
    for (let k = 0; k < workers - 1; k++) {
      extra.push({ identity: `${label}-worker-${String.fromCharCode(98 + k)}`, expected: new WeakSet() });
      await startExtra(k);
    }
  } catch (err) {
    // As in startCourierSystem: nothing of a fleet that failed to start may outlive it.
    await fleet.stop().catch(() => undefined);
    throw err;
  }
  return fleet;
}

/** ActivityTaskStarted events per worker identity in the given deliveries' histories. */
export async function activityCountsFromHistories(system: CourierSystem, workflowIds: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const STARTED = temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED;
  await mapLimit(workflowIds, 8, async (id) => {
    const history = await system.client.workflow.getHandle(id).fetchHistory();
    for (const e of history.events ?? []) {
      const identity = e.eventType === STARTED ? e.activityTaskStartedEventAttributes?.identity : undefined;
      if (identity) out[identity] = (out[identity] ?? 0) + 1;
    }
  });
  return out;
}

/** Lets the peer and the poller finish answering and acknowledging what is in flight. */
async function drain(services: ServicesInfo): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const left = (await inboxCount(services, COURIER_MAILBOX).catch(() => 1)) + (await inboxCount(services, PRACTICE_MAILBOX).catch(() => 1));
    if (left === 0) return;
    await sleep(1000);
  }
}

export interface ClusterRunContext {
  env: ClusterEnv;
  fleet: FleetSystem;
  submittedCount(): number;
  log(line: string): void;
}

export interface ClusterRunOptions {
  name: string;
  count: number;
  concurrency?: number;
  workers?: number;
  /** Start without the GP practice peer; `during` starts it (fleet.startPeer) when acknowledgements may flow. */
  peerLater?: boolean;
  /** The fault, alongside the load; returns counts for the verdict line. */
  during(ctx: ClusterRunContext, load: Promise<Submitted[]>): Promise<Record<string, number>>;
  settleMs?: number;
  log?: (line: string) => void;
}

/** One run: load and fault, wait for every delivery, the verdict (also written to bench-results/). */
export async function runOnCluster(env: ClusterEnv, opts: ClusterRunOptions): Promise<RunVerdict> {
  const started = Date.now();
  const log = (line: string): void => (opts.log ?? ((l: string) => void process.stdout.write(`${l}\n`)))(`[${opts.name} ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);
  let fleet: FleetSystem | undefined;
  let verdict: RunVerdict;
  try {
    fleet = await startFleet(env.services, opts.name, opts.workers ?? 3, { peer: !opts.peerLater });
    const f = fleet;
    let accepted = 0;
    log(`submitting ${opts.count} documents through the API (${opts.concurrency ?? 8} at a time) to ${f.identities().length} workers`);
    const load = submitLoad(f.system, opts.count, opts.concurrency ?? 8, (n) => (accepted = n));
    const [submitted, faultCounts] = await Promise.all([load, opts.during({ env, fleet: f, submittedCount: () => accepted, log }, load)]);
    log(`load and fault done (${JSON.stringify(faultCounts)}); waiting for every delivery`);
    // Every fault is over by now, so deliveries move; five minutes without one more means they will not.
    const stallMs = 5 * 60_000;
    const reached = await waitForStatus(f.system, 'DELIVERED', submitted.length, opts.settleMs ?? 10 * 60_000, (n) => log(`${n}/${submitted.length} DELIVERED`), { stallMs });
    log(`${reached}/${submitted.length} DELIVERED; draining the inboxes, then verifying`);
    await drain(env.services);
    const extra = { ...faultCounts, workers: f.identities().length, extraWorkerCrashes: f.extraCrashes, seconds: Math.round((Date.now() - started) / 1000) };
    verdict = (await verifyRun(`cluster-${opts.name}`, f.system, env.services, submitted, extra)).verdict;
    if (f.extraCrashes) {
      verdict.pass = false;
      verdict.problems.push(`the other workers crashed ${f.extraCrashes} times by themselves`);
    }
    writeChaosResult(verdict.name, { messages: submitted.length, verdict });
  } catch (err) {
    verdict = { name: `cluster-${opts.name}`, pass: false, counts: {}, problems: [`the run itself failed: ${err instanceof Error ? err.message : String(err)}`] };
  } finally {
    await fleet?.stop().catch(() => undefined);
  }
  log(verdictLine(verdict));
  return verdict;
}

const at = async (ctx: ClusterRunContext, n: number): Promise<void> => {
  while (ctx.submittedCount() < n) await sleep(200);
};

/** The four cluster faults. Each takes the document count; the faults land in the middle of the load. */
export const CLUSTER_RUNS: Record<string, (count: number) => Omit<ClusterRunOptions, 'log'>> = {
  /** kill -9 one Temporal server node mid-run; its shards move to the other node; a supervisor restarts it. */
  'kill-temporal-node': (count) => ({
    name: 'kill-temporal-node',
    count,
    async during(ctx) {
      await at(ctx, Math.floor(count / 3));
      const downMs = envNum('CLUSTER_NODE_DOWN_S', 15) * 1000;
      ctx.log(`kill -9 Temporal node 1 at ${ctx.submittedCount()} submitted; restarting it after ${downMs} ms`);
      const t = Date.now();
      await ctx.env.cluster.killNode(1, { downMs });
      ctx.log(`Temporal node 1 SERVING again after ${Date.now() - t} ms`);
      return { temporalNodeKills: 1 };
    },
  }),
  /** Restart PostgreSQL (fast shutdown, start) mid-run: both nodes lose every connection at once. */
  'restart-postgres': (count) => ({
    name: 'restart-postgres',
    count,
    async during(ctx) {
      await at(ctx, Math.floor(count / 3));
      const downMs = envNum('CLUSTER_PG_DOWN_S', 5) * 1000;
      ctx.log(`restarting PostgreSQL at ${ctx.submittedCount()} submitted (down ${downMs} ms)`);
      const t = Date.now();
      await ctx.env.cluster.postgres.restart({ downMs });
      ctx.log(`PostgreSQL accepting connections again after ${Date.now() - t} ms`);
      return { postgresRestarts: 1 };
    },
  }),
  /** kill -9 a worker mid-run (twice, different workers); a supervisor starts it again. */
  'kill-worker': (count) => ({
    name: 'kill-worker',
    count,
    async during(ctx) {
      let kills = 0;
      for (const [fraction, worker] of [[1 / 3, 0], [2 / 3, 1]] as const) {
        await at(ctx, Math.floor(count * fraction));
        ctx.log(`kill -9 worker ${ctx.fleet.identities()[worker]} at ${ctx.submittedCount()} submitted`);
        await ctx.fleet.restartWorker(worker, 'SIGKILL', 1000);
        kills++;
      }
      return { workerKills: kills };
    },
  }),
  /**
   * Every worker restarted, one at a time, while every delivery waits for its acknowledgements: the peer
   * starts answering only after the last restart, so each acknowledgement meets a restarted fleet.
   */
  'rolling-restart': (count) => ({
    name: 'rolling-restart',
    count,
    peerLater: true,
    async during(ctx, load) {
      const submitted = await load;
      const waiting = await waitForStatus(ctx.fleet.system, 'AWAITING_INFRASTRUCTURE_ACK', submitted.length, 5 * 60_000);
      ctx.log(`${waiting}/${submitted.length} sent and waiting for acknowledgements; restarting every worker in turn`);
      const n = ctx.fleet.identities().length;
      for (let i = 0; i < n; i++) {
        await ctx.fleet.restartWorker(i, 'SIGTERM');
        ctx.log(`worker ${i + 1}/${n} restarted and polling`);
      }
      ctx.log('starting the GP practice peer: acknowledgements flow now');
      ctx.fleet.startPeer();
      return { workerRestarts: n, waitingForAcksAtRestart: waiting };
    },
  }),
};

if (require.main === module) {
  const names = process.argv.slice(2).filter((a) => a !== 'cluster');
  const chosen = names.length ? names : Object.keys(CLUSTER_RUNS);
  const count = envNum('CLUSTER_CHAOS_COUNT', 200);
  (async () => {
    const env = await startClusterEnv({ log: (l) => void process.stdout.write(`[cluster] ${l}\n`) });
    let pass = true;
    try {
      for (const name of chosen) {
        const make = CLUSTER_RUNS[name];
        if (!make) throw new Error(`unknown cluster run '${name}' (known: ${Object.keys(CLUSTER_RUNS).join(', ')})`);
        const v = await runOnCluster(env, make(count));
        pass &&= v.pass;
      }
    } finally {
      await env.stop();
    }
    process.exit(pass ? 0 : 1);
  })().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
