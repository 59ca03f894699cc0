/**
 * The inbound end-to-end harness: the real worker with its inbox pollers, the real API (with
 * the quarantine routes), the GP practice peer, against the Temporal dev server and mesh-sandbox of the
 * jest global setup. Like courier-harness.ts, plus what inbound tests need to see the router's work:
 * the responses the peer sent (with their MESH ids), the signals in a delivery's history, the MESH
 * inboxes, the sandbox admin endpoints, and pollers that can be held back (flood) or run elsewhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import pino from 'pino';
import type { InboundHooks } from '../../activities/inbound';
import { CourierHttpClient } from '../../client/lib/http-client';
import { QuarantineHttpClient } from '../../client/lib/quarantine-client';
import { loadConfig, type AppConfig } from '../../config/env';
import { inboundSettings } from '../../config/inbound';
import { inboxPollerWorkflowId, type DeliveryState, type Itk3ResponseReceived, type MeshReportReceived } from '../../contracts';
import { MeshClient } from '../../mesh';
import { REPO_ROOT, VENV_BIN } from '../../scripts/lib/services';
import { createDataConverter, createMeshClient, createStore } from '../../worker/compose';
import { ensureInboxPollers } from '../../worker/inbound';
import { createCourierWorker, type CourierWorker } from '../../worker/worker';
import type { InboxPollerInput } from '../../workflows/inbox-poller';
import { eventually, type PeerRecord } from './courier-harness';
import { startLocalApi } from './local-api';
import { localCourierSetup, testServices } from './services';

export { eventually };

export interface PeerSent {
  meshMessageId: string;
  step: string;
  code: string | null;
  bundleIdentifier: string | null;
  workflowId: string;
  senderReference: string | null;
}

export interface SignalSeen {
  name: string;
  payload: unknown;
}

export interface InboundHarnessOptions {
  env?: Record<string, string>;
  /** Start the inbox pollers at once (default true). */
  pollers?: boolean;
  pollerOverrides?: Partial<InboxPollerInput>;
  /** Run a worker in this process (default true); false when a child process is the worker. */
  worker?: boolean;
  /** Run the GP practice peer (default true). */
  peer?: boolean;
  inboundHooks?: InboundHooks;
}

export interface InboundHarness {
  config: AppConfig;
  dir: string;
  services: ReturnType<typeof testServices>;
  /** The environment the config was loaded from (for a child-process worker). */
  envVars: Record<string, string>;
  temporal: Client;
  apiUrl: string;
  api: CourierHttpClient;
  operator: CourierHttpClient;
  quarantine: QuarantineHttpClient;
  meshAs(mailboxId: string): MeshClient;
  setScenario(senderReference: string, steps: string[]): void;
  peerRecords(): PeerRecord[];
  peerSent(): PeerSent[];
  startPollers(overrides?: Partial<InboxPollerInput>): Promise<string[]>;
  stopPollers(): Promise<void>;
  /** Submit the example consultation with this encounter id (the ITK3 SenderReference). */
  submit(encounterId: string, steps?: string[]): Promise<{ workflowId: string; documentId: string }>;
  state(workflowId: string): Promise<DeliveryState>;
  /** itk3Response / meshReport signals in the delivery's history, decoded. */
  signals(workflowId: string): Promise<SignalSeen[]>;
  responsesSignalled(workflowId: string): Promise<Itk3ResponseReceived[]>;
  reportsSignalled(workflowId: string): Promise<MeshReportReceived[]>;
  inbox(mailboxId: string): Promise<string[]>;
  /** Sandbox admin: put a REPORT into a mailbox's inbox (status "error" so code and linked id are set). */
  injectReport(opts: { mailboxId: string; code: string; description: string; linkedMessageId?: string; workflowId?: string }): Promise<string>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
    });
  } catch {
    // already installed in this jest worker by an earlier test file
  }
  runtimeInstalled = true;
}

const example = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples/consultation-report.json'), 'utf8')) as { documentId: string; encounter: { id: string } };

export async function startInboundHarness(opts: InboundHarnessOptions = {}): Promise<InboundHarness> {
  // The native runtime only where a worker runs here: an idle runtime would keep jest from exiting.
  if (opts.worker !== false) installQuietRuntime();
  const services = testServices();
  const { dir, tokens, env } = localCourierSetup('inbound');
  const envVars: Record<string, string> = { ...env, MESH_POLL_INTERVAL: '300ms', ITK3_QUARANTINE_REMATCH: '1s', LOG_LEVEL: 'error', ...opts.env };
  const config = loadConfig(envVars);
  const logger = pino({ level: config.env.LOG_LEVEL });
  const temporal = new Client({
    connection: await Connection.connect({ address: config.env.TEMPORAL_ADDRESS }),
    namespace: config.env.TEMPORAL_NAMESPACE,
    dataConverter: createDataConverter(config),
  });
  const store = createStore(config);

  let connection: NativeConnection | undefined;
  let worker: CourierWorker | undefined;
  let running: Promise<void> | undefined;
  if (opts.worker !== false) {
    connection = await NativeConnection.connect({ address: config.env.TEMPORAL_ADDRESS });
    worker = await createCourierWorker({ config, logger, store, mesh: createMeshClient(config), client: temporal, connection, notifiers: [], ...(opts.inboundHooks ? { inboundHooks: opts.inboundHooks } : {}) });
    running = worker.run();
  }
  const pollerIds = inboundSettings(config.env).mailboxes.map((m) => inboxPollerWorkflowId(m.mailboxId));
  const startPollers = (overrides: Partial<InboxPollerInput> = {}): Promise<string[]> => ensureInboxPollers(temporal, config, { ...opts.pollerOverrides, ...overrides });
  const stopPollers = async (): Promise<void> => {
    for (const id of pollerIds) await temporal.workflow.getHandle(id).terminate('test finished').catch(() => undefined);
  };
  // Pollers left running by an earlier test file (on a task queue nobody serves) would make the start a no-op.
  await stopPollers();
  if (opts.pollers !== false) await startPollers();

  const app = await startLocalApi({ config, client: temporal, logger, store, dir });
  const apiUrl = app.url;

  const scenarios = path.join(dir, 'scenarios.json');
  const record = path.join(dir, 'peer-received.jsonl');
  const sentRecord = path.join(dir, 'peer-sent.jsonl');
  const scenarioMap: Record<string, string[]> = {};
  writeFileSync(scenarios, '{}');
  let peer: ChildProcess | undefined;
  let peerErr = '';
  if (opts.peer !== false) {
    peer = spawn(
      path.join(VENV_BIN, 'python'),
      [path.join(REPO_ROOT, 'scripts', 'gp_practice_peer.py'), '--url', services.meshUrl, '--shared-key', services.meshSharedKey, '--scenarios', scenarios, '--record', record, '--sent-record', sentRecord, '--interval', '0.2'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    peer.stderr?.on('data', (d: Buffer) => (peerErr += d.toString()));
  }

  const meshClients = new Map<string, MeshClient>();
  const meshAs = (mailboxId: string): MeshClient => {
    let c = meshClients.get(mailboxId);
    if (!c) {
      c = new MeshClient({ baseUrl: services.meshUrl, mailboxId, password: 'password', sharedKey: services.meshSharedKey, maxRetries: 2 });
      meshClients.set(mailboxId, c);
    }
    return c;
  };
  const readJsonl = <T>(file: string): T[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T) : []);
  const operator = new CourierHttpClient({ baseUrl: apiUrl, token: tokens.operator });

  const signals = async (workflowId: string): Promise<SignalSeen[]> => {
    const out: SignalSeen[] = [];
    const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
    for (const e of history.events ?? []) {
      const a = e.workflowExecutionSignaledEventAttributes;
      if (!a?.signalName) continue;
      const [payload] = await decodeArrayFromPayloads(temporal.options.loadedDataConverter, a.input?.payloads);
      out.push({ name: a.signalName, payload });
    }
    return out;
  };

  const h: InboundHarness = {
    config,
    dir,
    services,
    envVars,
    temporal,
    apiUrl,
    api: new CourierHttpClient({ baseUrl: apiUrl, token: tokens.submitter }),
    operator,
    quarantine: new QuarantineHttpClient(apiUrl, fetch, { authorization: `Bearer ${tokens.operator}` }),
    meshAs,
    setScenario(ref, steps) {
      scenarioMap[ref] = steps;
      writeFileSync(scenarios, JSON.stringify(scenarioMap));
    },
    peerRecords: () => readJsonl<PeerRecord>(record),
    peerSent: () => readJsonl<PeerSent>(sentRecord),
    startPollers,
    stopPollers,
    async submit(encounterId, steps) {
      if (steps) h.setScenario(encounterId, steps);
      const documentId = randomUUID();
      const { workflowId } = await h.api.submit({ ...example, documentId, encounter: { ...example.encounter, id: encounterId } });
      return { workflowId, documentId };
    },
    state: (workflowId) => operator.status(workflowId),
    signals,
    async responsesSignalled(workflowId) {
      return (await signals(workflowId)).filter((s) => s.name === 'itk3Response').map((s) => s.payload as Itk3ResponseReceived);
    },
    async reportsSignalled(workflowId) {
      return (await signals(workflowId)).filter((s) => s.name === 'meshReport').map((s) => s.payload as MeshReportReceived);
    },
    inbox: (mailboxId) => meshAs(mailboxId).listInbox(),
    async injectReport(r) {
      const res = await fetch(`${services.meshUrl}/messageexchange/admin/report`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          mailbox_id: r.mailboxId,
          status: 'error',
          code: r.code,
          description: r.description,
          workflow_id: r.workflowId ?? 'GPCONNECT_SEND_DOCUMENT',
          ...(r.linkedMessageId ? { linked_message_id: r.linkedMessageId } : {}),
        }),
      });
      if (!res.ok) throw new Error(`sandbox admin report: ${res.status}`);
      return ((await res.json()) as { message_id: string }).message_id;
    },
    async stop() {
      peer?.kill('SIGTERM');
      await app.close();
      await stopPollers();
      worker?.shutdown();
      await running;
      await connection?.close();
      await temporal.connection.close();
      if (peerErr.trim()) process.stderr.write(`gp practice peer stderr:\n${peerErr}\n`);
    },
  };
  return h;
}
