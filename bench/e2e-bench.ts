/**
 * End-to-end throughput: N consultation reports submitted through the HTTP API, built, sent through
 * mesh-sandbox, answered by the GP practice peer (NHS England's mesh-client: infrastructure ack 20013,
 * then business ack 30001), routed back by the inbox poller, DELIVERED. The worker and the API run as
 * child processes (dist/worker/main.js, dist/client/api/api-main.js), so their memory and CPU are measured
 * from outside.
 *
 * Baseline in the same run, on the same Temporal dev server, before and after ours: a minimal workflow
 * with the same number of activities (2), signals (2) and timers (2) and no ITK3, MESH, store or codec
 * work, its worker also a child process. Our throughput is reported as a ratio to the mean of the two.
 * So is CPU per delivered message, as cpuRatio (baseline / ours), counting only the courier's own
 * processes (worker, API, Temporal) and leaving out mesh-sandbox and the GP peer, which stand in for
 * NHS MESH and the practice; and history events per delivery, ours against the baseline's mean.
 *
 * Timing: submit time = when the first try of POST /v1/documents began (client clock); delivered time =
 * the workflow time of its `-> DELIVERED` timeline entry; throughput = N / (last delivered - first
 * submitted). Latency percentiles are per message. The MESH poll interval of the worker and of the peer
 * are stated in the result, since both add to the latency.
 *
 * The delivery workflow stays open after DELIVERED for the replacement window (24 h by default), as in
 * production; history events are counted at the DELIVERED point.
 *
 * Environment: BENCH_E2E_COUNT (default 1000), BENCH_POLL_MS (worker poll interval, default 1000),
 * BENCH_PEER_INTERVAL (peer poll interval in s, default 0.2), BENCH_SUBMIT_CONCURRENCY (default 32),
 * BENCH_CPU_PROF=1 (write V8 CPU profiles of the worker and the API and summarise them), BENCH_WAITING_COUNT
 * (default 10000) and BENCH_WAITING_HOLD_S (default 60) for the waiting benchmark. BENCH_TEMPORAL=cluster
 * runs e2e, baselines included, on the local Temporal cluster (bench/lib/bench-temporal.ts says how its CPU is counted).
 * Each run reports the server's calls per message (`serverRequestsPerMessage`, from its own metrics);
 * BENCH_REQUESTS_DETAIL=1 keys them by service and namespace as well, to find who makes a call.
 *
 * BENCH_WARMUP=N runs N workflows through each worker (the courier's and each baseline's) before its
 * measured run, unmeasured, and reports what they cost apiece (`warmUp`): how much of a cold run's figure
 * is its first minutes' (bench/lib/warm-up.ts). Off by default.
 *
 * BENCH_OURS=0 runs the baseline alone, three times: plain, with BENCH_BASELINE_UPSERTS search-attribute
 * upserts (default 3), plain again; or, with BENCH_BASELINE_PACE=R, as a burst, started at R workflows a
 * second, and as a burst again (what a longer run costs the same work). BENCH_PACED_BASELINE=1 adds to an
 * e2e run a third baseline started at the courier's measured rate (`pacedBaseline`, with the courier's
 * cpuRatio against it); the cpuRatio of record is always against the two burst baselines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { REPO_ROOT } from '../scripts/lib/services';
import { MAX_CACHED_WORKFLOWS } from '../worker/worker';
import type { BaselineShape } from './baseline-workflows';
import { deliveryStartOptions } from './baseline-attributes';
import { summariseCpuProfile } from './cpuprofile-summary';
import { readRequestCounts, requestsPerMessage, type RequestCounts } from './lib/server-requests';
import {
  COURIER_MAILBOX,
  PRACTICE_MAILBOX,
  countByStatus,
  inboxCount,
  mapLimit,
  sleep,
  startCourierSystem,
  submitLoad,
  verifyRun,
  waitForStatus,
  type BenchServices,
  type DeliveryCheck,
  type Services,
  type Submitted,
} from './lib/courier-system';
import { cpuBound, e2eGoalFigures } from './lib/cpu-ratio';
import { WARM_UP_SETTLE_MS, warmUpCount } from './lib/warm-up';
import { percentileOfSorted as pct } from './lib/percentile';
import { splitLatencies, workflowTimes, type SteadyRecord } from './lib/steady';
import { ProcSampler, cpuSecondsOf, threadSplit, threadTicks, type ProcSource } from './lib/proc';

const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;
const envNum = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

function latencyStats(latencies: number[]): { p50: number; p95: number; p99: number; max: number } {
  const s = [...latencies].sort((a, b) => a - b);
  return { p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), max: s[s.length - 1] ?? NaN };
}

function servicePids(s: BenchServices): Record<string, ProcSource> {
  return { ...s.temporalProcesses(), meshSandbox: () => s.mesh.process.pid };
}

/** CPU ms per workflow (or delivery) of each process, from its CPU seconds over `n` of them. */
const cpuMsPer = (procs: Record<string, { cpuSeconds: number }>, n: number): Record<string, number> =>
  Object.fromEntries(Object.entries(procs).map(([k, v]) => [k, round((v.cpuSeconds * 1000) / n, 2)]));

/** A cluster's Temporal CPU per message node by node (their sum is cpuMsPerMessage.temporal); nothing on a single server. */
function temporalCpuByNode(procs: ReturnType<ProcSampler['stop']>, n: number): { temporalCpuMsPerMessageByNode?: Record<string, number> } {
  const members = procs.temporal?.members;
  return members ? { temporalCpuMsPerMessageByNode: cpuMsPer(members, n) } : {};
}

// ---------------------------------------------------------------------------------------------------
// Baseline

/** The worker's CPU per message by thread (bench/lib/proc.ts threadSplit), since `before`. */
function workerThreads(pid: number | undefined, before: ReturnType<typeof threadTicks>, n: number): Record<string, number> | undefined {
  if (!pid) return undefined;
  const split = threadSplit(pid, before, threadTicks(pid));
  return Object.fromEntries(Object.entries(split).map(([k, v]) => [k === 'busiestOther' ? 'workflowThread' : k, round((v * 1000) / n, 2)]));
}

/**
 * The server's calls per message over a measured window (the bench's own polling of counts included, on
 * both sides alike): where a delivery's server CPU goes, against the baseline's.
 */
async function serverRequests(s: BenchServices, before: RequestCounts | undefined, n: number): Promise<RequestCounts | undefined> {
  const after = await readRequestCounts(s.temporalMetricsUrls());
  return before && after ? requestsPerMessage(before, after, n) : undefined;
}

/**
 * BENCH_NODE_ARGS: Node flags (space-separated, e.g. `--max-semi-space-size=64`) for every worker and API
 * process the bench starts, the baselines' included. NODE_OPTIONS would not do: those processes get an
 * environment of their own, so it reaches only the bench process.
 */
const nodeArgs = (): string[] => (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

/** A history's size as the server stores it (protobuf): what every event, payload and summary adds to the store. */
const historyBytes = (h: temporal.api.history.v1.IHistory): number => temporal.api.history.v1.History.encode(h).finish().length;

/**
 * `pacePerSecond`: start the baseline's workflows at this steady rate instead of all at once (0, the
 * default). An experiment only: it prices what spreading the same work over a longer run costs, as the
 * MESH stand-ins do to the courier's burst; the cpuRatio of record always uses the burst.
 */
export async function runBaseline(s: BenchServices, n: number, concurrency: number, shape: BaselineShape | number = 0, warmUp = 0, pacePerSecond = 0) {
  const taskQueue = `bench-baseline-${randomUUID().slice(0, 8)}`;
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TEMPORAL_ADDRESS: s.temporalAddress, TEMPORAL_NAMESPACE: s.namespace, BASELINE_TASK_QUEUE: taskQueue };
  const worker: ChildProcess = spawn(process.execPath, [...nodeArgs(), path.join(REPO_ROOT, 'dist', 'bench', 'baseline-worker.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(path.join(s.dir, 'baseline-worker.log'), { flags: 'a' });
  worker.stdout?.pipe(out);
  worker.stderr?.pipe(out);
  const connection = await Connection.connect({ address: s.temporalAddress });
  const client = new Client({ connection, namespace: s.namespace });
  try {
    for (let i = 0; ; i++) {
      const tq = await connection.workflowService.describeTaskQueue({ namespace: s.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
      if ((tq.pollers ?? []).length > 0) break;
      if (worker.exitCode !== null || i > 600) throw new Error('baseline worker did not start');
      await sleep(200);
    }
    const startOne = async (id: string): Promise<void> => {
      const delivery = typeof shape === 'object' && shape.deliverySearchAttributes ? deliveryStartOptions(id, shape.deliverySearchAttributes) : {};
      await client.workflow.start('baselineDeliveryWorkflow', { workflowId: id, taskQueue, args: [id, shape], ...delivery });
    };
    const q = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'`;
    const completed = async (count: number, deadline: number): Promise<void> => {
      while ((await client.workflow.count(q)).count < count) {
        if (Date.now() > deadline) throw new Error('baseline did not complete in time');
        await sleep(1000);
      }
    };
    let warm: Record<string, number> | undefined;
    if (warmUp > 0) {
      const warmSampler = new ProcSampler({ worker: () => worker.pid, ...servicePids(s) });
      await mapLimit(Array.from({ length: warmUp }, (_, i) => i), concurrency, () => startOne(`baseline-warm-${randomUUID()}`));
      await completed(warmUp, Date.now() + Math.max(600_000, warmUp * 500));
      warm = cpuMsPer(warmSampler.stop(), warmUp);
      await sleep(WARM_UP_SETTLE_MS);
    }
    const sampler = new ProcSampler({ worker: () => worker.pid, ...servicePids(s) });
    const requests0 = await readRequestCounts(s.temporalMetricsUrls());
    const threads0 = threadTicks(worker.pid);
    const started = new Map<string, number>();
    const t0 = Date.now();
    await mapLimit(Array.from({ length: n }, (_, i) => i), concurrency, async (i) => {
      if (pacePerSecond > 0) await sleep(Math.max(0, t0 + (i * 1000) / pacePerSecond - Date.now()));
      const id = `baseline-${randomUUID()}`;
      const at = Date.now();
      await startOne(id);
      started.set(id, at);
    });
    const submitSeconds = (Date.now() - t0) / 1000;
    await completed(warmUp + n, Date.now() + Math.max(600_000, n * 500));
    const procs = sampler.stop();
    const threads = workerThreads(worker.pid, threads0, n);
    const requests = await serverRequests(s, requests0, n);
    const latencies: number[] = [];
    let lastClose = t0;
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'`, pageSize: 1000 })) {
      const close = wf.closeTime?.getTime();
      const start = started.get(wf.workflowId);
      if (close === undefined || start === undefined) continue;
      latencies.push(close - start);
      lastClose = Math.max(lastClose, close);
    }
    const seconds = (lastClose - t0) / 1000;
    const sample = [...started.keys()].slice(0, 10);
    let events = 0;
    let bytes = 0;
    for (const id of sample) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      events += history.events?.length ?? 0;
      bytes += historyBytes(history);
    }
    return {
      messages: n,
      ...(warm ? { warmUp: { workflows: warmUp, cpuMsPerWorkflow: warm } } : {}),
      ...(typeof shape === 'number' ? (shape ? { searchAttributeUpserts: shape } : {}) : { shape }),
      ...(pacePerSecond > 0 ? { pacedPerSecond: pacePerSecond } : {}),
      submitSeconds: round(submitSeconds, 2),
      seconds: round(seconds, 2),
      messagesPerSecond: round(n / seconds, 2),
      latencyMs: latencyStats(latencies),
      historyEventsPerMessage: round(events / sample.length),
      historyBytesPerMessage: Math.round(bytes / sample.length),
      cpuMsPerMessage: cpuMsPer(procs, n),
      ...temporalCpuByNode(procs, n),
      ...(requests ? { serverRequestsPerMessage: requests } : {}),
      ...(threads ? { workerThreadsCpuMsPerMessage: threads } : {}),
      processes: procs,
    };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.once('exit', r)));
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// ITK3 Courier end to end

async function historyBreakdown(client: Client, ids: string[], deliveredOnly: boolean) {
  let total = 0;
  let bytes = 0;
  const byType = new Map<string, number>();
  const bytesByType = new Map<string, number>();
  let sequence: string[] = [];
  for (const id of ids) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    total += events.length;
    bytes += historyBytes(history);
    for (const e of events) {
      let t = String(temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? e.eventType).replace(/^EVENT_TYPE_/, '');
      const timeout = e.workflowTaskTimedOutEventAttributes?.timeoutType;
      if (timeout) t += ` (${String(temporal.api.enums.v1.TimeoutType[timeout]).replace(/^TIMEOUT_TYPE_/, '')})`;
      byType.set(t, (byType.get(t) ?? 0) + 1);
      // Bytes by type (timeouts folded): which events make a delivery's history bigger than the baseline's.
      const kind = t.replace(/ \(.*\)$/, '');
      bytesByType.set(kind, (bytesByType.get(kind) ?? 0) + temporal.api.history.v1.HistoryEvent.encode(e).finish().length);
    }
    if (!sequence.length) sequence = events.map((e) => String(temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? e.eventType).replace(/^EVENT_TYPE_/, ''));
  }
  const per = (x: number): number => round(x / Math.max(ids.length, 1), 1);
  return {
    sampled: ids.length,
    atDeliveredPoint: deliveredOnly,
    eventsPerMessage: per(total),
    bytesPerMessage: Math.round(bytes / Math.max(ids.length, 1)),
    byType: Object.fromEntries([...byType].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, per(v)])),
    bytesByType: Object.fromEntries([...bytesByType].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v / Math.max(ids.length, 1))])),
    firstSampleInOrder: sequence.join(' '),
  };
}

/**
 * Where the time between submission and DELIVERED goes, per message (p50/p95 of each stage): the steady
 * suite's split (bench/lib/steady.ts), whose stages add up and never go negative. In a burst the
 * submission time is when the POST began, so there is no client lag to show.
 */
function stageBreakdown(submitted: readonly Submitted[], checks: Map<string, DeliveryCheck>) {
  const records: SteadyRecord[] = submitted.map((sub) => ({ scheduledAt: sub.submittedAt, postStartedAt: sub.submittedAt, accepted: true, ...workflowTimes(checks.get(sub.workflowId)) }));
  const burst = (k: string): boolean => k !== 'scheduled -> POST began (client lag)' && k !== 'POST duration';
  return Object.fromEntries(Object.entries(splitLatencies(records)).filter(([k]) => burst(k)).map(([k, v]) => [k, { p50: v.p50, p95: v.p95 }]));
}

/** Time of the visibility queries the inbox router makes per response, with the run's workflows in the store. */
async function visibilityQueryCost(client: Client, s: BenchServices) {
  const queries = {
    'Itk3MessageIds = <id> (routing, KeywordList)': () => `Itk3MessageIds = '${randomUUID()}' AND WorkflowType != 'inboundQuarantineWorkflow'`,
    'MeshMessageId = <id> (reports)': () => `MeshMessageId = '${randomUUID().replace(/-/g, '')}' AND WorkflowType != 'inboundQuarantineWorkflow'`,
    'SenderReference = <ref> (second key)': () => `SenderReference = 'none-${randomUUID()}' AND WorkflowType != 'inboundQuarantineWorkflow'`,
  };
  const rows = (await client.workflow.count()).count;
  const out: Record<string, unknown> = { workflowsInStore: rows };
  for (const [name, q] of Object.entries(queries)) {
    const times: number[] = [];
    const cpu0 = cpuSecondsOf(s.temporalProcesses());
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      for await (const _ of client.workflow.list({ query: q(), pageSize: 20 })) break;
      times.push(performance.now() - t);
    }
    const cpu1 = cpuSecondsOf(s.temporalProcesses());
    out[name] = { ...latencyStats(times.map((x) => round(x, 1))), serverCpuMsPerQuery: round(((cpu1 - cpu0) * 1000) / 20, 1) };
  }
  return out;
}

async function runOurs(s: BenchServices, n: number, opts: { pollMs: number; peerInterval: number; concurrency: number; cpuProf: boolean; warmUp: number; workerOptions?: Record<string, unknown>; pollerConcurrency?: number }) {
  const profDir = path.join(s.dir, `cpu-prof-${randomUUID().slice(0, 8)}`);
  const apiProfDir = `${profDir}-api`;
  const system = await startCourierSystem({
    services: s,
    label: 'e2e',
    pollInterval: `${opts.pollMs}ms`,
    peerIntervalSeconds: opts.peerInterval,
    workerNodeArgs: [...nodeArgs(), ...(opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])],
    apiNodeArgs: [...nodeArgs(), ...(opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${apiProfDir}`] : [])],
    ...(opts.workerOptions ? { workerOptions: opts.workerOptions } : {}),
    ...(opts.pollerConcurrency ? { pollerConcurrency: opts.pollerConcurrency } : {}),
  });
  try {
    // What the system costs with nothing to do (the inbox poller's passes), before any load.
    const idle = new ProcSampler({ worker: system.workerPid, ...servicePids(s) });
    await sleep(15_000);
    const idleProcs = idle.stop();
    const idleCpuMsPerSecond = Object.fromEntries(Object.entries(idleProcs).map(([k, v]) => [k, round((v.cpuSeconds * 1000) / 15, 1)]));
    let warm: Record<string, number> | undefined;
    if (opts.warmUp > 0) {
      log(`warm-up: ${opts.warmUp} deliveries, not measured`);
      const warmSampler = new ProcSampler({ worker: system.workerPid, api: system.apiPid, peer: system.peerPid, ...servicePids(s) });
      await submitLoad(system, opts.warmUp, opts.concurrency);
      const warmed = await waitForStatus(system, 'DELIVERED', opts.warmUp, Math.max(900_000, opts.warmUp * 600));
      if (warmed < opts.warmUp) throw new Error(`warm-up: only ${warmed}/${opts.warmUp} DELIVERED`);
      warm = cpuMsPer(warmSampler.stop(), opts.warmUp);
      await sleep(WARM_UP_SETTLE_MS);
    }
    // The peer's responses to the warm-up are not this run's.
    const peerSentBefore = system.peerSent().filter((x) => x.bundleIdentifier).length;
    const sampler = new ProcSampler({ worker: system.workerPid, api: system.apiPid, peer: system.peerPid, ...servicePids(s) });
    const requests0 = await readRequestCounts(s.temporalMetricsUrls());
    const threads0 = threadTicks(system.workerPid());
    // Where messages queue: the practice's inbox (waiting for the peer) and ours (waiting for the poller).
    const backlog = { practice: [] as number[], courier: [] as number[] };
    let sampling = true;
    const backlogSampler = (async () => {
      while (sampling) {
        backlog.practice.push(await inboxCount(s, PRACTICE_MAILBOX).catch(() => 0));
        backlog.courier.push(await inboxCount(s, COURIER_MAILBOX).catch(() => 0));
        await sleep(5000);
      }
    })();
    const t0 = Date.now();
    const submitted = await submitLoad(system, n, opts.concurrency, (k) => k % 500 === 0 && log(`submitted ${k}/${n}`));
    const submitSeconds = (Date.now() - t0) / 1000;
    log(`all ${n} submitted in ${round(submitSeconds)} s; waiting for DELIVERED`);
    // The count includes the warm-up's deliveries, DELIVERED before the window opened.
    const reached = (await waitForStatus(system, 'DELIVERED', opts.warmUp + n, Math.max(900_000, n * 600), (k) => log(`delivered ${k - opts.warmUp}/${n}`))) - opts.warmUp;
    const procs = sampler.stop();
    const threads = workerThreads(system.workerPid(), threads0, n);
    const requests = await serverRequests(s, requests0, n);
    sampling = false;
    await backlogSampler;
    const backlogStats = (xs: number[]) => ({ mean: round(xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1)), max: Math.max(0, ...xs) });
    if (reached < n) log(`only ${reached}/${n} DELIVERED before the timeout`);
    const { verdict, checks } = await verifyRun('e2e-bench', system, s, submitted, {}, { peerSentBefore });
    const latencies: number[] = [];
    let lastDelivered = t0;
    for (const sub of submitted) {
      const at = checks.get(sub.workflowId)?.deliveredAt;
      if (at === undefined) continue;
      latencies.push(at - sub.submittedAt);
      lastDelivered = Math.max(lastDelivered, at);
    }
    const seconds = (lastDelivered - t0) / 1000;
    const history = await historyBreakdown(system.client, submitted.slice(0, 20).map((x) => x.workflowId), true);
    const stages = stageBreakdown(submitted, checks);
    const visibility = await visibilityQueryCost(system.client, s);
    let profile: object | undefined;
    let apiProfile: object | undefined;
    if (opts.cpuProf) {
      // Profiles are written on a clean exit. The worker's first file is its main thread (the activities).
      await system.stopWorker('SIGTERM');
      await system.stopApi();
      const summary = (dir: string): object => {
        const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
        return files.length ? { file: path.join(dir, files[0]!), ...summariseCpuProfile(path.join(dir, files[0]!), 25) } : { error: 'no profile written' };
      };
      profile = summary(profDir);
      apiProfile = summary(apiProfDir);
    }
    const cpuPerMessage = cpuMsPer(procs, n);
    return {
      messages: n,
      ...(warm ? { warmUp: { deliveries: opts.warmUp, cpuMsPerDelivery: warm } } : {}),
      submitSeconds: round(submitSeconds, 2),
      seconds: round(seconds, 2),
      messagesPerSecond: round(n / seconds, 2),
      latencyMs: latencyStats(latencies),
      pollIntervalMs: opts.pollMs,
      peerPollIntervalMs: opts.peerInterval * 1000,
      workerPeakRssMiB: procs.worker?.peakRssMiB,
      historyEvents: history,
      stagesMs: stages,
      inboxBacklogEvery5s: { practiceInboxWaitingForPeer: backlogStats(backlog.practice), courierInboxWaitingForPoller: backlogStats(backlog.courier) },
      visibilityQueryAfterRun: visibility,
      processes: procs,
      cpuMsPerMessage: cpuPerMessage,
      ...temporalCpuByNode(procs, n),
      ...(requests ? { serverRequestsPerMessage: requests } : {}),
      ...(threads ? { workerThreadsCpuMsPerMessage: threads } : {}),
      idleCpuMsPerSecond,
      ...(opts.workerOptions ? { workerOptions: opts.workerOptions } : {}),
      ...(opts.pollerConcurrency ? { pollerConcurrency: opts.pollerConcurrency } : {}),
      verdict,
      ...(profile ? { workerCpuProfile: profile } : {}),
      ...(apiProfile ? { apiCpuProfile: apiProfile } : {}),
    };
  } finally {
    await system.stop();
  }
}

export async function runE2eBench(s: BenchServices, opts: { count?: number } = {}): Promise<object> {
  const n = opts.count ?? envNum('BENCH_E2E_COUNT', 1000);
  const pollMs = envNum('BENCH_POLL_MS', 1000);
  const peerInterval = envNum('BENCH_PEER_INTERVAL', 0.2);
  const concurrency = envNum('BENCH_SUBMIT_CONCURRENCY', 32);
  const cpuProf = process.env.BENCH_CPU_PROF === '1';
  const warmUp = warmUpCount();
  const withBaseline = process.env.BENCH_BASELINE !== '0';
  const withOurs = process.env.BENCH_OURS !== '0';
  const upserts = envNum('BENCH_BASELINE_UPSERTS', 0);
  const workerOptions = process.env.BENCH_WORKER_OPTIONS ? (JSON.parse(process.env.BENCH_WORKER_OPTIONS) as Record<string, unknown>) : undefined;
  const pollerConcurrency = process.env.BENCH_POLLER_CONCURRENCY ? Number(process.env.BENCH_POLLER_CONCURRENCY) : undefined;
  // The command line as it was run, so a recorded result names the Temporal it ran on.
  const on = s.temporalServer.kind === 'cluster' ? 'BENCH_TEMPORAL=cluster ' : '';
  const command = `${on}BENCH_E2E_COUNT=${n}${warmUp ? ` BENCH_WARMUP=${warmUp}` : ''} BENCH_POLL_MS=${pollMs} BENCH_PEER_INTERVAL=${peerInterval}${cpuProf ? ' BENCH_CPU_PROF=1' : ''}${withBaseline ? '' : ' BENCH_BASELINE=0'}${workerOptions ? ` BENCH_WORKER_OPTIONS='${JSON.stringify(workerOptions)}'` : ''}${pollerConcurrency ? ` BENCH_POLLER_CONCURRENCY=${pollerConcurrency}` : ''}${nodeArgs().length ? ` BENCH_NODE_ARGS='${nodeArgs().join(' ')}'` : ''}${process.env.BENCH_PACED_BASELINE === '1' ? ' BENCH_PACED_BASELINE=1' : ''} npm run bench -- e2e`;
  log(`e2e: ${command}`);
  if (!withOurs) {
    // Experiment: the baseline alone, three times, the middle run varied: started at BENCH_BASELINE_PACE
    // workflows a second if given (against bursts), otherwise with search-attribute upserts (against plain).
    const pace = envNum('BENCH_BASELINE_PACE', 0);
    const first = await runBaseline(s, n, concurrency);
    const middle = pace > 0 ? await runBaseline(s, n, concurrency, 0, 0, pace) : await runBaseline(s, n, concurrency, upserts || 3);
    const again = await runBaseline(s, n, concurrency);
    const [setting, runs] = pace > 0 ? [`BENCH_BASELINE_PACE=${pace}`, { burst: first, paced: middle, burstAgain: again }] : [`BENCH_BASELINE_UPSERTS=${upserts || 3}`, { plain: first, withUpserts: middle, plainAgain: again }];
    return { command: `${on}BENCH_OURS=0 ${setting} BENCH_E2E_COUNT=${n} npm run bench -- e2e`, temporal: s.temporalServer, machineLoadAverage: os.loadavg().map((x) => round(x, 2)), ...runs };
  }
  const before = withBaseline ? await runBaseline(s, n, concurrency, 0, warmUp) : undefined;
  log(`e2e: ITK3 Courier, ${n} messages`);
  const ours = await runOurs(s, n, { pollMs, peerInterval, concurrency, cpuProf, warmUp, ...(workerOptions ? { workerOptions } : {}), ...(pollerConcurrency ? { pollerConcurrency } : {}) });
  const after = withBaseline ? await runBaseline(s, n, concurrency, 0, warmUp) : undefined;
  const baselines = before && after ? [before, after] : [];
  // Experiment (BENCH_PACED_BASELINE=1): the baseline once more, its starts spread over as long as the
  // courier's run took. The MESH stand-ins stretch the courier's run, and work spread thin is dearer per
  // workflow than a burst's; this prices that part of the gap. cpuRatio stays the burst's.
  const paced = withBaseline && process.env.BENCH_PACED_BASELINE === '1' ? await runBaseline(s, n, concurrency, 0, 0, ours.messagesPerSecond) : undefined;
  const goal = e2eGoalFigures(n, { ...ours, historyEventsPerMessage: ours.historyEvents.eventsPerMessage }, baselines);
  const againstPaced = paced ? cpuBound(ours.cpuMsPerMessage, [paced.cpuMsPerMessage]).cpuRatio : undefined;
  if (againstPaced !== undefined) goal.summary += `; against a baseline paced like the courier ${againstPaced.toFixed(2)}`;
  return {
    command,
    // The goal figures first: throughput, the courier's own CPU per message (stand-ins excluded)
    // against the baseline's as cpuRatio, and history events per delivery against the baseline's.
    ...goal,
    temporal: s.temporalServer,
    machineLoadAverage: os.loadavg().map((x) => round(x, 2)),
    ...(before ? { baselineBefore: before } : {}),
    itk3Courier: ours,
    ...(after ? { baselineAfter: after } : {}),
    ...(paced ? { pacedBaseline: { ...paced, cpuRatioAgainstIt: againstPaced } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Many deliveries waiting for acknowledgements at once (the GP practice is silent)

function fileMiB(file: string): number {
  let total = 0;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      total += statSync(f).size;
    } catch {
      // not there
    }
  }
  return total / 2 ** 20;
}

export async function runWaitingBench(s: Services, opts: { count?: number } = {}): Promise<object> {
  const n = opts.count ?? envNum('BENCH_WAITING_COUNT', 10_000);
  const holdSeconds = envNum('BENCH_WAITING_HOLD_S', 60);
  const concurrency = envNum('BENCH_SUBMIT_CONCURRENCY', 32);
  const system = await startCourierSystem({ services: s, label: 'waiting', pollInterval: '2s', peerIntervalSeconds: false });
  try {
    await sleep(3000);
    const sampler = new ProcSampler({ worker: system.workerPid, ...servicePids(s) }, 1000);
    const idleRss = sampler.rssMiB('worker');
    const dbBefore = fileMiB(s.dbFile);
    const checkpoints: Array<{ waiting: number; submitted: number; workerRssMiB: number; elapsedS: number }> = [];
    const t0 = Date.now();
    let submittedSoFar = 0;
    const step = Math.max(Math.floor(n / 10), 1);
    let nextStep = step;
    const submitting = submitLoad(system, n, concurrency, (k) => (submittedSoFar = k));
    let submitError: unknown;
    void submitting.catch((err: unknown) => (submitError = err));
    // One checkpoint each time another tenth of the deliveries is waiting for its acknowledgement.
    const deadline = Date.now() + Math.max(3_600_000, n * 400);
    let reached = 0;
    while (reached < n && Date.now() < deadline && !submitError) {
      await sleep(5000);
      reached = await countByStatus(system, 'AWAITING_INFRASTRUCTURE_ACK').catch(() => reached);
      if (reached >= nextStep || reached >= n) {
        checkpoints.push({ waiting: reached, submitted: submittedSoFar, workerRssMiB: round(sampler.rssMiB('worker')), elapsedS: round((Date.now() - t0) / 1000) });
        log(`waiting: ${submittedSoFar}/${n} submitted, ${reached} waiting, worker RSS ${round(sampler.rssMiB('worker'))} MiB`);
        while (nextStep <= reached) nextStep += step;
      }
    }
    if (submitError) throw submitError;
    await submitting;
    const allWaitingRss = sampler.rssMiB('worker');
    log(`waiting: all ${reached} waiting; holding ${holdSeconds} s`);
    const hold: number[] = [];
    for (let i = 0; i < holdSeconds; i += 5) {
      await sleep(5000);
      hold.push(round(sampler.rssMiB('worker')));
    }
    const procs = sampler.stop();
    const cache = MAX_CACHED_WORKFLOWS;
    // Growth between the checkpoint nearest to a full cache and the end: memory per waiting message once the cache is full.
    const afterCache = checkpoints.find((c) => c.waiting >= cache * 1.5) ?? checkpoints[0];
    const last = checkpoints[checkpoints.length - 1]!;
    const marginalKiB = afterCache && last.waiting > afterCache.waiting ? round(((last.workerRssMiB - afterCache.workerRssMiB) * 1024) / (last.waiting - afterCache.waiting), 2) : NaN;
    const dbAfter = fileMiB(s.dbFile);
    return {
      command: `BENCH_WAITING_COUNT=${n} BENCH_WAITING_HOLD_S=${holdSeconds} npm run bench -- waiting`,
      messages: n,
      waiting: reached,
      maxCachedWorkflows: { value: cache, how: 'set in worker/worker.ts (MAX_CACHED_WORKFLOWS)' },
      workerRssMiB: {
        idle: round(idleRss),
        allWaiting: round(allWaitingRss),
        peak: procs.worker?.peakRssMiB,
        duringHoldEvery5s: hold,
      },
      checkpoints,
      memoryPerWaitingMessageKiB: {
        average: round(((allWaitingRss - idleRss) * 1024) / n, 2),
        marginalOnceCacheFull: marginalKiB,
        between: afterCache ? `${afterCache.waiting} and ${last.waiting} waiting` : 'n/a',
      },
      temporalSqliteMiB: { before: round(dbBefore), after: round(dbAfter), perWaitingMessageKiB: round(((dbAfter - dbBefore) * 1024) / n, 2) },
      processes: procs,
      submitSeconds: round((Date.now() - t0) / 1000),
    };
  } finally {
    await system.stop();
  }
}
