/**
 * Runs the real ITK3 Courier wiring (worker with its inbox poller, HTTP API) against the Temporal dev
 * server and mesh-sandbox started by the jest global setup, plus the GP practice peer (NHS England's
 * Python mesh-client) as a child process. Each harness has its own task queue, store and peer files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig, type AppConfig } from '../../config/env';
import { createLogger } from '../../config/logger';
import type { Notifier } from '../../activities/notify/types';
import { CourierHttpClient } from '../../client/lib/http-client';
import { createFleetMetrics } from '../../client/api/fleet-metrics';
import type { WorkerMetrics } from '../../worker/metrics';
import { inboxPollerWorkflowId } from '../../contracts';
import { createDataConverter, createMeshClient, createStore } from '../../worker/compose';
import { createCourierWorker, ensureInboxPoller, type CourierWorker } from '../../worker/worker';
import { REPO_ROOT, VENV_BIN } from '../../scripts/lib/services';
import { startLocalApi } from './local-api';
import { localCourierSetup, testServices } from './services';

export interface PeerRecord {
  messageHeaderId: string;
  senderReference?: string;
  documentId?: string;
  meshMessageId: string;
}

export interface Harness {
  config: AppConfig;
  /** The API as a submitter (submit and read). */
  api: CourierHttpClient;
  /** The API as an operator (everything, including the operator actions). */
  operator: CourierHttpClient;
  apiUrl: string;
  tokens: { operator: string; submitter: string };
  temporal: Client;
  /** Response codes the GP practice sends for a SenderReference (encounter id); [] = silent. */
  setScenario(senderReference: string, codes: string[]): void;
  peerRecords(): PeerRecord[];
  stop(): Promise<void>;
}

let runtimeInstalled = false;
/** Keep the SDK's own INFO lines out of test output; the native runtime is one per process. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this jest worker by an earlier test file
  }
  runtimeInstalled = true;
}

export interface HarnessOptions {
  /** Where the harness's pino logger writes (default stdout), e.g. to inspect audit lines. */
  logDestination?: pino.DestinationStream;
  /** Escalation channels for the worker (default: those configured by the overrides). */
  notifiers?: readonly Notifier[];
  /** The worker's metrics (activity executions, inbox lag), to scrape in a test. */
  workerMetrics?: WorkerMetrics;
}

export async function startHarness(overrides: Record<string, string> = {}, options: HarnessOptions = {}): Promise<Harness> {
  installQuietRuntime();
  const services = testServices();
  const { dir, tokens, env } = localCourierSetup('harness');
  const config = loadConfig({ ...env, MESH_POLL_INTERVAL: '500ms', LOG_LEVEL: 'warn', ...overrides });
  const logger = options.logDestination ? createLogger({ level: config.env.LOG_LEVEL, destination: options.logDestination }) : pino({ level: config.env.LOG_LEVEL });
  const connection = await NativeConnection.connect({ address: config.env.TEMPORAL_ADDRESS });
  // The same payload codec as the worker and the API: the history on the server holds ciphertext only.
  const temporal = new Client({ connection: await Connection.connect({ address: config.env.TEMPORAL_ADDRESS }), namespace: config.env.TEMPORAL_NAMESPACE, dataConverter: createDataConverter(config) });
  const store = createStore(config);
  const worker: CourierWorker = await createCourierWorker({ config, logger, store, mesh: createMeshClient(config), client: temporal, connection, ...(options.notifiers ? { notifiers: options.notifiers } : {}), ...(options.workerMetrics ? { metrics: options.workerMetrics } : {}) });
  const running = worker.run();
  // A poller left running by an earlier test (on a task queue nobody serves any more) would make
  // ensureInboxPoller a no-op: each harness starts from its own poller.
  await temporal.workflow.getHandle(inboxPollerWorkflowId(config.env.MESH_MAILBOX_ID)).terminate('superseded by a new test harness').catch(() => undefined);
  await ensureInboxPoller(temporal, config);

  const fleet = createFleetMetrics(temporal, { cacheMs: 0 });
  const app = await startLocalApi({ config, client: temporal, logger, store, dir, metrics: () => fleet.metrics() });
  const port = app.port;

  const scenarios = path.join(dir, 'scenarios.json');
  const record = path.join(dir, 'peer-received.jsonl');
  const scenarioMap: Record<string, string[]> = {};
  writeFileSync(scenarios, '{}');
  const peer: ChildProcess = spawn(
    path.join(VENV_BIN, 'python'),
    [path.join(REPO_ROOT, 'scripts', 'gp_practice_peer.py'), '--url', services.meshUrl, '--shared-key', services.meshSharedKey, '--scenarios', scenarios, '--record', record, '--interval', '0.3'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let peerErr = '';
  peer.stderr?.on('data', (d: Buffer) => (peerErr += d.toString()));

  return {
    config,
    api: new CourierHttpClient({ baseUrl: `http://127.0.0.1:${port}`, token: tokens.submitter }),
    operator: new CourierHttpClient({ baseUrl: `http://127.0.0.1:${port}`, token: tokens.operator }),
    apiUrl: `http://127.0.0.1:${port}`,
    tokens,
    temporal,
    setScenario(ref, codes) {
      scenarioMap[ref] = codes;
      // Atomic replace: the peer re-reads this file on every pass and must never see it half written.
      writeFileSync(`${scenarios}.tmp`, JSON.stringify(scenarioMap));
      renameSync(`${scenarios}.tmp`, scenarios);
    },
    peerRecords() {
      if (!existsSync(record)) return [];
      return readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as PeerRecord);
    },
    async stop() {
      peer.kill('SIGTERM');
      await app.close();
      await temporal.workflow.getHandle(inboxPollerWorkflowId(config.env.MESH_MAILBOX_ID)).terminate('test finished').catch(() => undefined);
      worker.shutdown();
      await running;
      await connection.close();
      await temporal.connection.close();
      if (peerErr.trim()) process.stderr.write(`gp practice peer stderr:\n${peerErr}\n`);
    },
  };
}

/** Polls `probe` until it returns a value, or fails with the last value seen. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
