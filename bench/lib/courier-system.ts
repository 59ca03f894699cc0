/**
 * The whole of ITK3 Courier as separate processes, the way it runs in production: the worker
 * (dist/worker/main.js) and the HTTP API (dist/client/api/api-main.js) as child processes configured by
 * environment variables, plus the GP practice peer (NHS England's mesh-client). Used by the benchmarks
 * (worker memory and CPU are measured from outside the process) and by the chaos scripts (the worker is
 * killed with SIGKILL and started again; the Temporal dev server is restarted on the same SQLite file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { courierDataConverter } from '../../payload-codec/aes-gcm-codec';
import { loadConfig } from '../../config/env';
import { inboxPollerWorkflowId, type DeliveryState, type SubmissionInput } from '../../contracts';
import { MeshClient } from '../../mesh';
import { REPO_ROOT, VENV_BIN, freePort, startMeshSandbox, startTemporal, stopChild, type RunningService } from '../../scripts/lib/services';
import { stateQuery } from '../../workflows/definitions';
import type { ProcSource } from './proc';

export const COURIER_MAILBOX = 'X26ABC1';
export const PRACTICE_MAILBOX = 'X26ABC2';
const DIST = path.join(REPO_ROOT, 'dist');

export interface ServicesInfo {
  temporalAddress: string;
  namespace: string;
  meshUrl: string;
  sharedKey: string;
  dir: string;
}

/** Which Temporal a benchmark ran on, stated in its result. */
export interface TemporalDescription {
  kind: 'dev-server' | 'cluster';
  /** What it is and how its CPU is counted. */
  about: string;
}

/** What a benchmark needs of the services it runs on: addresses, which Temporal, and what to measure. */
export interface BenchServices extends ServicesInfo {
  mesh: RunningService;
  temporalServer: TemporalDescription;
  /** The Temporal server's processes (and its database's, when that runs apart), for ProcSampler. */
  temporalProcesses(): Record<string, ProcSource>;
  /** Where the Temporal server's Prometheus metrics are read (one per node), for bench/lib/server-requests.ts. */
  temporalMetricsUrls(): string[];
  stop(): Promise<void>;
}

/** A Temporal dev server (SQLite file in `dir`) and a mesh-sandbox (memory store) on free loopback ports. */
export interface Services extends BenchServices {
  temporal: RunningService;
  temporalPort: number;
  dbFile: string;
  /** Stop the dev server (SIGTERM, or SIGKILL when `hard`) and start it again on the same port and file. */
  restartTemporal(opts?: { hard?: boolean; downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function startServices(dir: string, namespace = 'courier-bench'): Promise<Services> {
  mkdirSync(dir, { recursive: true });
  const temporalPort = await freePort();
  const meshPort = await freePort();
  const metricsPort = await freePort();
  const dbFile = path.join(dir, 'temporal.sqlite');
  const temporalOpts = { port: temporalPort, namespace, retentionDays: 1, dbFile, logFile: path.join(dir, 'temporal.log'), metricsPort };
  const [temporal, mesh] = await Promise.all([
    startTemporal(temporalOpts),
    startMeshSandbox({ port: meshPort, sharedKey: 'TestKey', storeMode: 'memory', logFile: path.join(dir, 'mesh.log') }),
  ]);
  track(temporal.process);
  track(mesh.process);
  const services: Services = {
    temporalAddress: temporal.url,
    namespace,
    meshUrl: mesh.url,
    sharedKey: 'TestKey',
    dir,
    temporal,
    mesh,
    temporalPort,
    dbFile,
    temporalServer: { kind: 'dev-server', about: 'Temporal dev server (temporal server start-dev), SQLite file in WAL mode, one process' },
    // Read at each sample: a restart replaces the process.
    temporalProcesses: () => ({ temporal: () => services.temporal.process.pid }),
    temporalMetricsUrls: () => [`http://127.0.0.1:${metricsPort}/metrics`],
    async restartTemporal(opts = {}) {
      const old = services.temporal;
      if (opts.hard) {
        const exited = new Promise<void>((resolve) => old.process.once('exit', () => resolve()));
        old.process.kill('SIGKILL');
        await exited;
      } else {
        await old.stop();
      }
      if (opts.downMs) await sleep(opts.downMs);
      // The port may linger for a moment after the process has gone.
      for (let i = 0; ; i++) {
        try {
          services.temporal = await startTemporal(temporalOpts);
          track(services.temporal.process);
          return;
        } catch (err) {
          if (i >= 20) throw err;
          await sleep(500);
        }
      }
    },
    async stop() {
      await services.mesh.stop();
      await services.temporal.stop();
    },
  };
  return services;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every process started here; killed if this process exits without stopping them (e.g. Ctrl-C). */
const children = new Set<ChildProcess>();
function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

export interface PeerRecord {
  messageHeaderId?: string;
  senderReference?: string;
  documentId?: string;
  meshMessageId: string;
}

export interface PeerSentRecord {
  meshMessageId: string;
  step: string;
  code?: string | null;
  bundleIdentifier?: string | null;
}

export interface SystemOptions {
  services: ServicesInfo;
  /** Where the worker reaches MESH (e.g. a fault proxy); default the sandbox itself. */
  workerMeshUrl?: string;
  /** MESH inbox poll interval of the worker (stated with every latency figure). */
  pollInterval?: string;
  /** GP practice peer poll interval in seconds; false = no peer (nobody answers: deliveries wait for acks). */
  peerIntervalSeconds?: number | false;
  /** Extra environment for the worker (and the API). */
  env?: Record<string, string>;
  /** Extra node flags for the worker (e.g. --cpu-prof). */
  workerNodeArgs?: string[];
  /** Extra node flags for the API (e.g. --cpu-prof). */
  apiNodeArgs?: string[];
  /** Worker options the production entry does not expose: runs bench/tuned-worker.ts instead of worker/main.ts. */
  workerOptions?: Record<string, unknown>;
  /** Inbox poller routing concurrency per pass (default 4 in activities/inbound.ts); also runs the tuned entry. */
  pollerConcurrency?: number;
  /** Label for directories and the task queue. */
  label: string;
}

export interface CourierSystem {
  env: Record<string, string>;
  taskQueue: string;
  apiUrl: string;
  dir: string;
  /** Temporal client with the payload codec (for queries and results). */
  client: Client;
  workerPid(): number | undefined;
  apiPid(): number | undefined;
  peerPid(): number | undefined;
  /** Exits of the worker that nobody asked for (a crash). */
  unexpectedWorkerExits: Array<{ code: number | null; signal: string | null; at: string }>;
  workerStarts: number;
  startWorker(): Promise<void>;
  /** SIGKILL (default) or SIGTERM the worker and wait until it has gone. */
  stopWorker(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM the API and wait until it has gone (a CPU profile is written on its clean exit). */
  stopApi(): Promise<void>;
  submit(doc: SubmissionInput): Promise<{ workflowId: string; status: number; tries: number }>;
  peerRecords(): PeerRecord[];
  peerSent(): PeerSentRecord[];
  stop(): Promise<void>;
}

function child(name: string, cmd: string, args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const proc = track(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const out = createWriteStream(logFile, { flags: 'a' });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  proc.on('error', (err) => process.stderr.write(`${name} failed to start: ${err.message}\n`));
  return proc;
}

const waitExit = (proc: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> => stopChild(proc, signal, 15_000);

/** The environment both processes read (config/env.ts), with keys made for this run only. */
function systemEnv(opts: SystemOptions, dir: string, taskQueue: string, apiPort: number, tokens: { submitter: string; operator: string }): Record<string, string> {
  const s = opts.services;
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ITK3_MODE: 'local',
    TEMPORAL_ADDRESS: s.temporalAddress,
    TEMPORAL_NAMESPACE: s.namespace,
    ITK3_TASK_QUEUE: taskQueue,
    MESH_URL: opts.workerMeshUrl ?? s.meshUrl,
    MESH_SHARED_KEY: s.sharedKey,
    MESH_MAILBOX_ID: COURIER_MAILBOX,
    ITK3_RECIPIENT_MAILBOX: PRACTICE_MAILBOX,
    MESH_POLL_INTERVAL: opts.pollInterval ?? '200ms',
    STORE_DIR: path.join(dir, 'store'),
    STORE_KEYS: `bench1:${randomBytes(32).toString('base64')}`,
    ITK3_CODEC_KEYS: `codec1:${randomBytes(32).toString('base64')}`,
    ITK3_API_TOKENS: `svc-bench:submitter:${tokens.submitter},ops-bench:operator:${tokens.operator}`,
    ITK3_API_HOST: '127.0.0.1',
    ITK3_API_PORT: String(apiPort),
    // Long enough that no deadline fires during a run: a run measures delivery, not escalation.
    ITK3_INF_ACK_TIMEOUT: '4h',
    ITK3_BUS_ACK_TIMEOUT: '2d',
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
}

export async function startCourierSystem(opts: SystemOptions): Promise<CourierSystem> {
  const dir = path.join(opts.services.dir, `${opts.label}-${randomUUID().slice(0, 8)}`);
  mkdirSync(dir, { recursive: true });
  const taskQueue = `${opts.label}-${randomUUID().slice(0, 8)}`;
  const apiPort = await freePort();
  const tokens = { submitter: randomBytes(24).toString('base64url'), operator: randomBytes(24).toString('base64url') };
  const env = systemEnv(opts, dir, taskQueue, apiPort, tokens);
  const config = loadConfig(env);
  const connection = await Connection.connect({ address: opts.services.temporalAddress });
  const client = new Client({ connection, namespace: opts.services.namespace, dataConverter: courierDataConverter(config.codecKeys) });
  let apiUrl = `http://127.0.0.1:${env.ITK3_API_PORT!}`;

  let worker: ChildProcess | undefined;
  const others: { api?: ChildProcess; peer?: ChildProcess } = {};
  let stopping = false;
  const unexpectedWorkerExits: CourierSystem['unexpectedWorkerExits'] = [];
  const peerRecordFile = path.join(dir, 'peer-received.jsonl');
  const peerSentFile = path.join(dir, 'peer-sent.jsonl');
  const expectedExit = new WeakSet<ChildProcess>();

  const system: CourierSystem = {
    env,
    taskQueue,
    get apiUrl() {
      return apiUrl;
    },
    dir,
    client,
    workerPid: () => (worker && worker.exitCode === null && worker.signalCode === null ? worker.pid : undefined),
    apiPid: () => others.api?.pid,
    peerPid: () => others.peer?.pid,
    unexpectedWorkerExits,
    workerStarts: 0,

    async startWorker() {
      system.workerStarts += 1;
      const identity = `${opts.label}-worker-${system.workerStarts}`;
      const isTuned = opts.workerOptions !== undefined || opts.pollerConcurrency !== undefined;
      const entry = isTuned ? path.join(DIST, 'bench', 'tuned-worker.js') : path.join(DIST, 'worker', 'main.js');
      const tuned: Record<string, string> = {
        ...(opts.workerOptions ? { BENCH_WORKER_OPTIONS: JSON.stringify(opts.workerOptions) } : {}),
        ...(opts.pollerConcurrency ? { BENCH_POLLER_CONCURRENCY: String(opts.pollerConcurrency) } : {}),
      };
      const proc = child('worker', process.execPath, [...(opts.workerNodeArgs ?? []), entry], { ...env, ...tuned, ITK3_WORKER_IDENTITY: identity }, path.join(dir, 'worker.log'));
      worker = proc;
      proc.once('exit', (code, signal) => {
        if (!stopping && !expectedExit.has(proc)) unexpectedWorkerExits.push({ code, signal, at: new Date().toISOString() });
      });
      // Ready when this worker (by identity) polls the task queue.
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (proc.exitCode !== null) {
          await sleep(300); // what it wrote last may still be in the pipe
          throw new Error(`worker exited with code ${proc.exitCode} during start-up: ${logTail(path.join(dir, 'worker.log'))}`);
        }
        const tq = await connection.workflowService
          .describeTaskQueue({ namespace: opts.services.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 })
          .catch(() => undefined);
        if ((tq?.pollers ?? []).some((p) => p.identity === identity)) return;
        if (Date.now() > deadline) throw new Error('worker did not start polling within 120 s');
        await sleep(200);
      }
    },

    async stopWorker(signal = 'SIGKILL') {
      if (!worker) return;
      expectedExit.add(worker);
      await waitExit(worker, signal);
    },

    stopApi: () => waitExit(others.api, 'SIGTERM'),

    async submit(doc) {
      const body = JSON.stringify(doc);
      // The same key on every try: a retry after a lost answer finds the workflow the first try started.
      const key = `bench-${String(doc.documentId)}-v${String(doc.version ?? 1)}`;
      const deadline = Date.now() + 300_000;
      for (let tries = 1; ; tries++) {
        let status = 0;
        let text = '';
        try {
          const res = await fetch(`${apiUrl}/v1/documents`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.submitter}`, 'idempotency-key': key },
            body,
            signal: AbortSignal.timeout(30_000),
          });
          status = res.status;
          text = await res.text();
          if (status === 202) return { workflowId: (JSON.parse(text) as { workflowId: string }).workflowId, status, tries };
          if (status < 500) throw new Error(`submission refused: HTTP ${status} ${text.slice(0, 300)}`);
        } catch (err) {
          if (status >= 400 && status < 500) throw err;
        }
        // 5xx or no answer (e.g. Temporal restarting): try again with the same key.
        if (Date.now() > deadline) throw new Error(`submission not accepted within 300 s (last HTTP ${status} ${text.slice(0, 200)})`);
        await sleep(Math.min(2000, 100 * tries));
      }
    },

    peerRecords: () => readJsonl<PeerRecord>(peerRecordFile),
    peerSent: () => readJsonl<PeerSentRecord>(peerSentFile),

    async stop() {
      stopping = true;
      await waitExit(others.peer, 'SIGTERM');
      await waitExit(others.api, 'SIGTERM');
      await waitExit(worker, 'SIGTERM');
      // The poller's workflow id is per mailbox, not per task queue: end ours, or the next system on this
      // server would find it running (conflict policy USE_EXISTING) on a task queue nobody polls.
      const poller = client.workflow.getHandle(inboxPollerWorkflowId(env.MESH_MAILBOX_ID!));
      const described = await poller.describe().catch(() => undefined);
      if (described?.taskQueue === taskQueue && described.status.name === 'RUNNING') await poller.terminate('benchmark system stopped').catch(() => undefined);
      await connection.close();
    },
  };

  const startApi = async (): Promise<'started' | 'port taken'> => {
    const log = path.join(dir, 'api.log');
    const api = child('api', process.execPath, [...(opts.apiNodeArgs ?? []), path.join(DIST, 'client', 'api', 'api-main.js')], env, log);
    others.api = api;
    const apiDeadline = Date.now() + 60_000;
    // Each check is bounded: whatever holds the port might accept and never answer.
    while (!(await fetch(`${apiUrl}/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok).catch(() => false))) {
      if (api.exitCode !== null) {
        await sleep(300); // what it wrote last may still be in the pipe
        const tail = logTail(log);
        if (tail.includes('EADDRINUSE')) return 'port taken';
        throw new Error(`API exited with code ${api.exitCode}: ${tail}`);
      }
      if (Date.now() > apiDeadline) throw new Error(`API did not answer /health within 60 s: ${logTail(log)}`);
      await sleep(200);
    }
    return 'started';
  };
  try {
    await system.startWorker();
    // A port found free can be taken before the API binds it (an outgoing connection of any process may
    // be given it): try another, a few times, rather than fail the run.
    for (let tries = 1; (await startApi()) === 'port taken'; tries++) {
      if (tries === 3) throw new Error(`API could not bind a port in ${tries} tries: ${logTail(path.join(dir, 'api.log'))}`);
      const port = await freePort();
      env.ITK3_API_PORT = String(port);
      apiUrl = `http://127.0.0.1:${port}`;
    }
  } catch (err) {
    // Stop what did start: a worker left running keeps the inbox poller (one per mailbox, on its own task
    // queue) and would take the next system's acknowledgements, which that system then never sees.
    await system.stop().catch(() => undefined);
    throw err;
  }
  if (opts.peerIntervalSeconds !== false) {
    const scenarios = path.join(dir, 'scenarios.json');
    writeFileSync(scenarios, '{}');
    others.peer = child(
      'gp-practice-peer',
      path.join(VENV_BIN, 'python'),
      [
        path.join(REPO_ROOT, 'scripts', 'gp_practice_peer.py'),
        '--url', opts.services.meshUrl,
        '--shared-key', opts.services.sharedKey,
        '--mailbox', PRACTICE_MAILBOX,
        '--scenarios', scenarios,
        '--record', peerRecordFile,
        '--sent-record', peerSentFile,
        '--interval', String(opts.peerIntervalSeconds ?? 0.2),
      ],
      { PATH: env.PATH!, HOME: env.HOME! },
      path.join(dir, 'peer.log'),
    );
  }
  return system;
}

/** The last lines of a process's log, for an error message that says why without a second look. */
export function logTail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const tail = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  return `${file}:\n${tail || '(empty)'}`;
}

function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return []; // a line being written at this moment
      }
    });
}

// ---------------------------------------------------------------------------------------------------
// Load: synthetic submissions, submitted through the API

let exampleCache: SubmissionInput | undefined;
/** A synthetic submission (patient 999 000 0018, a test-range NHS number) with a fresh document id. */
export function syntheticSubmission(i: number): SubmissionInput {
  exampleCache ??= JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', 'consultation-report.json'), 'utf8')) as SubmissionInput;
  const example = exampleCache;
  return { ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: `load-${i}-${randomUUID().slice(0, 8)}` } };
}

export async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T, index: number) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) {
        const index = i++;
        await fn(items[index]!, index);
      }
    }),
  );
}

export interface Submitted {
  workflowId: string;
  documentId: string;
  /** Epoch ms when the first try of the submission began. */
  submittedAt: number;
  tries: number;
}

/** Submits `count` synthetic documents through the API, `concurrency` at a time. */
/** Submits `count` through the API, `concurrency` at a time; with `until` (epoch ms), none is started after it. */
export async function submitLoad(system: CourierSystem, count: number, concurrency = 32, onEach?: (n: number) => void, until?: number): Promise<Submitted[]> {
  const out: Submitted[] = [];
  await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      if (until !== undefined && Date.now() >= until) return;
      const doc = syntheticSubmission(i);
      const submittedAt = Date.now();
      const r = await system.submit(doc);
      out.push({ workflowId: r.workflowId, documentId: String(doc.documentId), submittedAt, tries: r.tries });
      onEach?.(out.length);
    },
  );
  return out;
}

export interface PacedSubmission {
  index: number;
  documentId: string;
  /** Epoch ms the schedule gave this submission. */
  scheduledAt: number;
  /** Epoch ms the first try of the POST began, and when the last try ended. */
  postStartedAt: number;
  postEndedAt?: number;
  workflowId?: string;
  tries?: number;
  error?: string;
}

/**
 * Open-loop load: submission i is posted at t0 + offsetsMs[i] whether or not earlier ones have been
 * answered, so the offered rate does not fall when the system slows down (a closed loop would hide the
 * backlog by waiting). A submission that fails is recorded with its error instead of stopping the load.
 */
export async function submitPaced(system: CourierSystem, offsetsMs: readonly number[], opts: { t0?: number; onEach?: (posted: number) => void } = {}): Promise<PacedSubmission[]> {
  const t0 = opts.t0 ?? Date.now();
  const out: PacedSubmission[] = [];
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < offsetsMs.length; i++) {
    const scheduledAt = t0 + offsetsMs[i]!;
    const wait = scheduledAt - Date.now();
    if (wait > 0) await sleep(wait);
    const doc = syntheticSubmission(i);
    const rec: PacedSubmission = { index: i, documentId: String(doc.documentId), scheduledAt, postStartedAt: Date.now() };
    out.push(rec);
    opts.onEach?.(out.length);
    inFlight.push(
      system.submit(doc).then(
        (r) => {
          rec.postEndedAt = Date.now();
          rec.workflowId = r.workflowId;
          rec.tries = r.tries;
        },
        (err: unknown) => {
          rec.postEndedAt = Date.now();
          rec.error = err instanceof Error ? err.message : String(err);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return out;
}

/** Count of deliveries of this system in one DeliveryStatus (visibility; eventually consistent). */
export async function countByStatus(system: CourierSystem, status: string): Promise<number> {
  const q = `TaskQueue = '${system.taskQueue}' AND WorkflowType = 'sendDocumentWorkflow' AND DeliveryStatus = '${status}'`;
  return (await system.client.workflow.count(q)).count;
}

/**
 * Waits until `count` deliveries have `status`, or `timeoutMs` has passed, or (with `stallMs`) the count
 * has not grown for that long: a run that has stopped moving ends in minutes rather than at its timeout.
 */
export async function waitForStatus(
  system: CourierSystem,
  status: string,
  count: number,
  timeoutMs: number,
  progress?: (n: number) => void,
  opts: { stallMs?: number } = {},
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  let lastReport = 0;
  let lastGrowth = Date.now();
  for (;;) {
    const before = n;
    n = await countByStatus(system, status).catch(() => n);
    if (n > before) lastGrowth = Date.now();
    if (progress && Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      progress(n);
    }
    if (n >= count || Date.now() > deadline) return n;
    if (opts.stallMs !== undefined && Date.now() - lastGrowth > opts.stallMs) return n;
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------------
// Verification: final states, duplicates at the peer, lost acknowledgements

export interface DeliveryCheck {
  workflowId: string;
  status?: string;
  attempts?: number;
  /** When the workflow recorded DELIVERED (workflow time, epoch ms). */
  deliveredAt?: number;
  /** Stage times of the current attempt (epoch ms): workflow start, MESH send done, each ack downloaded by the poller and recorded by the workflow. */
  stages?: { startedAt?: number; sentAt?: number; infReceivedAt?: number; infRecordedAt?: number; busReceivedAt?: number; busRecordedAt?: number };
  responseIds: string[];
  infrastructureAck: boolean;
  businessAck: boolean;
  error?: string;
}

/** Queries every delivery's state (worker replays closed ones), `concurrency` at a time. */
export async function checkDeliveries(system: CourierSystem, workflowIds: readonly string[], concurrency = 8): Promise<Map<string, DeliveryCheck>> {
  const out = new Map<string, DeliveryCheck>();
  await mapLimit(workflowIds, concurrency, async (workflowId) => {
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      try {
        const state = (await system.client.workflow.getHandle(workflowId).query(stateQuery)) as DeliveryState;
        const delivered = state.timeline.find((e) => e.kind === 'STATE' && e.detail.includes('-> DELIVERED'));
        const responseIds = state.attempts.flatMap((a) => [a.infrastructureAck?.responseId, a.businessAck?.responseId].filter((x): x is string => !!x));
        const current = state.attempts[state.currentAttempt - 1];
        const at = (kind: string, prefix?: string): number | undefined => {
          const e = state.timeline.find((x) => x.kind === kind && (!prefix || x.detail.startsWith(prefix)));
          return e ? Date.parse(e.at) : undefined;
        };
        const ms = (iso?: string): number | undefined => (iso ? Date.parse(iso) : undefined);
        const stages = {
          startedAt: at('SUBMITTED'),
          sentAt: ms(current?.sentAt),
          infReceivedAt: ms(current?.infrastructureAck?.receivedAt),
          infRecordedAt: at('RESPONSE', 'infrastructure '),
          busReceivedAt: ms(current?.businessAck?.receivedAt),
          busRecordedAt: at('RESPONSE', 'business '),
        };
        out.set(workflowId, {
          stages,
          workflowId,
          status: state.status,
          attempts: state.attempts.length,
          ...(delivered ? { deliveredAt: Date.parse(delivered.at) } : {}),
          responseIds,
          infrastructureAck: !!current?.infrastructureAck,
          businessAck: !!current?.businessAck,
        });
        return;
      } catch (err) {
        last = err;
        await sleep(1000);
      }
    }
    out.set(workflowId, { workflowId, responseIds: [], infrastructureAck: false, businessAck: false, error: String(last) });
  });
  return out;
}

/** Messages still waiting in a mailbox of the sandbox (read straight from the sandbox, not through a proxy). */
export async function inboxCount(services: ServicesInfo, mailbox: string): Promise<number> {
  const mesh = new MeshClient({ baseUrl: services.meshUrl, mailboxId: mailbox, password: 'password', sharedKey: services.sharedKey });
  return (await mesh.listInbox()).length;
}

export async function quarantineCount(system: CourierSystem): Promise<number> {
  return (await system.client.workflow.count(`TaskQueue = '${system.taskQueue}' AND WorkflowType = 'inboundQuarantineWorkflow'`)).count;
}

export interface RunVerdict {
  name: string;
  pass: boolean;
  counts: Record<string, number>;
  problems: string[];
}

/**
 * The verdict every reliability script ends with: each submission in its expected final state, no
 * document received twice by the peer, no acknowledgement the peer sent missing from its delivery,
 * both inboxes empty, nothing quarantined, and the worker never crashed by itself.
 */
export async function verifyRun(
  name: string,
  system: CourierSystem,
  services: ServicesInfo,
  submitted: readonly Submitted[],
  extra: Record<string, number> = {},
  /** Responses the peer had sent before this run's first submission (for deliveries not in it, e.g. a warm-up). */
  opts: { peerSentBefore?: number } = {},
): Promise<{ verdict: RunVerdict; checks: Map<string, DeliveryCheck> }> {
  const checks = await checkDeliveries(system, submitted.map((s) => s.workflowId));
  const problems: string[] = [];
  const byStatus = new Map<string, number>();
  for (const c of checks.values()) byStatus.set(c.status ?? 'UNKNOWN', (byStatus.get(c.status ?? 'UNKNOWN') ?? 0) + 1);
  const delivered = byStatus.get('DELIVERED') ?? 0;
  const notDelivered = [...checks.values()].filter((c) => c.status !== 'DELIVERED');
  if (notDelivered.length) problems.push(`${notDelivered.length} not DELIVERED: ${[...byStatus].map(([k, v]) => `${k}=${v}`).join(' ')} e.g. ${notDelivered.slice(0, 3).map((c) => c.workflowId).join(', ')}`);
  const extraAttempts = [...checks.values()].filter((c) => (c.attempts ?? 0) > 1).length;
  if (extraAttempts) problems.push(`${extraAttempts} deliveries needed more than one attempt`);

  const ours = new Set(submitted.map((s) => s.documentId));
  const received = system.peerRecords().filter((r) => r.documentId && ours.has(r.documentId));
  const perDoc = new Map<string, number>();
  for (const r of received) perDoc.set(r.documentId!, (perDoc.get(r.documentId!) ?? 0) + 1);
  const duplicates = [...perDoc.values()].filter((n) => n > 1).reduce((a, n) => a + n - 1, 0);
  const neverReceived = [...ours].filter((d) => !perDoc.has(d)).length;
  if (duplicates) problems.push(`${duplicates} duplicate sends reached the peer (${[...perDoc].filter(([, n]) => n > 1).length} documents)`);
  if (neverReceived) problems.push(`${neverReceived} documents never reached the peer`);

  // Acknowledgements: the peer answers every message it receives with two responses, each of which must
  // reach that delivery as a signal (a redelivered one arrives twice and is deduplicated by the workflow).
  const sent = system.peerSent().filter((s) => s.bundleIdentifier).slice(opts.peerSentBefore ?? 0);
  const signals = await signalCounts(system, submitted.map((s) => s.workflowId));
  let unsignalled = 0;
  let redeliveredAcks = 0;
  for (const sub of submitted) {
    const expected = 2 * (perDoc.get(sub.documentId) ?? 0);
    const got = signals.get(sub.workflowId) ?? 0;
    if (got < expected) unsignalled += expected - got;
    else redeliveredAcks += got - expected;
  }
  // Responses still waiting in the courier's mailbox are not lost, only not routed yet (a run that stopped early).
  const courierInbox = await inboxCount(services, COURIER_MAILBOX).catch(() => -1);
  const acksNotYetRouted = Math.min(unsignalled, Math.max(courierInbox, 0));
  const lostAcks = unsignalled - acksNotYetRouted;
  if (lostAcks) problems.push(`${lostAcks} acknowledgements the peer sent never reached their delivery and are not waiting in ${COURIER_MAILBOX}`);
  if (sent.length !== 2 * received.length) problems.push(`the peer sent ${sent.length} responses for ${received.length} messages (expected two each)`);
  const missingAcks = [...checks.values()].filter((c) => c.status === 'DELIVERED' && (!c.infrastructureAck || !c.businessAck)).length;
  if (missingAcks) problems.push(`${missingAcks} delivered without both acknowledgements recorded`);

  const practiceInbox = await inboxCount(services, PRACTICE_MAILBOX).catch(() => -1);
  if (courierInbox !== 0) problems.push(`${courierInbox} messages left unacknowledged in ${COURIER_MAILBOX}`);
  if (practiceInbox !== 0) problems.push(`${practiceInbox} messages left in ${PRACTICE_MAILBOX}`);
  const quarantined = await quarantineCount(system).catch(() => -1);
  if (quarantined !== 0) problems.push(`${quarantined} inbound messages quarantined`);
  if (system.unexpectedWorkerExits.length) problems.push(`the worker crashed ${system.unexpectedWorkerExits.length} times by itself`);

  const sendSeconds = [...checks.values()].map((c) => (c.stages?.sentAt && c.stages.startedAt ? (c.stages.sentAt - c.stages.startedAt) / 1000 : 0));
  const counts = {
    submitted: submitted.length,
    delivered,
    duplicateSendsAtPeer: duplicates,
    documentsNeverReceived: neverReceived,
    acksSentByPeer: sent.length,
    lostAcks,
    acksNotYetRouted,
    ackRedeliveriesDeduplicated: redeliveredAcks,
    deliveredWithoutBothAcks: missingAcks,
    extraAttempts,
    leftInCourierInbox: courierInbox,
    leftInPracticeInbox: practiceInbox,
    quarantined,
    workerCrashes: system.unexpectedWorkerExits.length,
    submissionRetries: submitted.reduce((a, s) => a + s.tries - 1, 0),
    slowestSendSeconds: Math.round(Math.max(0, ...sendSeconds)),
    ...extra,
  };
  return { verdict: { name, pass: problems.length === 0, counts, problems }, checks };
}

/** WorkflowExecutionSignaled events per delivery (each routed ITK3 Response or MESH report is one). */
async function signalCounts(system: CourierSystem, workflowIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const SIGNALED = temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED;
  await mapLimit(workflowIds, 8, async (id) => {
    for (let i = 0; i < 3; i++) {
      try {
        const history = await system.client.workflow.getHandle(id).fetchHistory();
        out.set(id, (history.events ?? []).filter((e) => e.eventType === SIGNALED).length);
        return;
      } catch {
        await sleep(1000);
      }
    }
  });
  return out;
}

export function verdictLine(v: RunVerdict): string {
  return `VERDICT ${v.name}: ${v.pass ? 'PASS' : 'FAIL'} ${Object.entries(v.counts).map(([k, n]) => `${k}=${n}`).join(' ')}${v.problems.length ? `\n  problems: ${v.problems.join('; ')}` : ''}`;
}
