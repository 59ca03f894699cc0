/**
 * Builds the configured workers of one process (and starts the MESH inbox poller). Used by worker/main.ts and by the
 * end-to-end tests, so the tests run the real wiring.
 */
import type { Client } from '@temporalio/client';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import os from 'node:os';
import { createActivities } from '../activities';
import type { InboundHooks } from '../activities/inbound';
import { notifiersFromConfig, type Notifier } from '../activities/notify';
import type { AppConfig } from '../config/env';
import type { MeshClient } from '../mesh';
import type { ContentStore } from '../store/content-store';
import { inboundTaskQueue } from '../contracts/ids';
import { activityConfig, createDataConverter } from './compose';
import { createInboxClients, ensureInboxPollers, rematchDelays } from './inbound';
import { createWorkerMetrics, type WorkerMetrics } from './metrics';
import { workflowSource, type WorkflowSource } from './workflow-bundle';

/**
 * Workflows kept in this worker's sticky cache. The SDK default follows the V8 heap limit, so it would
 * change with the host. A delivery is busy between submission and its acknowledgements and otherwise
 * waits hours for them; one that was evicted is replayed from its short history (about 20 events) when an
 * acknowledgement arrives. The cache must hold the deliveries in flight at once: a cache no bigger than a
 * burst of submissions (plus the poller) thrashes its LRU and costs worker and server CPU on every
 * delivery (BENCHMARKS.md has the measurements). Memory once full is bounded.
 */
export const MAX_CACHED_WORKFLOWS = 2000;

export interface CourierWorkerDeps {
  config: AppConfig;
  logger: Logger;
  store: ContentStore;
  mesh: MeshClient;
  client: Client;
  connection: NativeConnection;
  workerOptions?: Partial<WorkerOptions>;
  /** Test seams of inbound routing (e.g. crash between hand-over and MESH acknowledgement). */
  inboundHooks?: InboundHooks;
  /** Escalation channels; by default those configured (webhook, e-mail). */
  notifiers?: readonly Notifier[];
  /** Worker metrics (activity executions per identity, inbox lag); created when omitted. */
  metrics?: WorkerMetrics;
  /** Where the workflow code comes from; by default the prebuilt bundle when fresh (worker/workflow-bundle.ts). */
  workflows?: WorkflowSource;
}

/**
 * Two Temporal workers run and stopped as one: the delivery worker (every workflow and activity, on
 * ITK3_TASK_QUEUE) and the inbound worker (the MESH inbox activities, on `inboundTaskQueue` of it). Each
 * has its own activity slots, so an inbox pass never waits for a slot behind a backlog of sends.
 */
export interface CourierWorker {
  readonly delivery: Worker;
  readonly inbound: Worker;
  readonly options: { identity: string; taskQueue: string; inboundTaskQueue: string };
  /** Runs both until they are shut down. When one stops or fails, the other is shut down too; a failure is thrown. */
  run(): Promise<void>;
  /** Shuts both down (in-flight tasks finish, as with Worker.shutdown). */
  shutdown(): void;
}

/**
 * Inbound activity slots per worker process: one poll pass (or handshake) per configured mailbox at a
 * time, with room for the retry of a pass whose worker died while its timeout runs out.
 */
const INBOUND_ACTIVITY_SLOTS = 10;

export async function createCourierWorker(deps: CourierWorkerDeps): Promise<CourierWorker> {
  const metrics = deps.metrics ?? createWorkerMetrics();
  const activities = createActivities({
    config: activityConfig(deps.config),
    store: deps.store,
    mesh: deps.mesh,
    temporal: deps.client,
    logger: deps.logger,
    notifiers: deps.notifiers ?? notifiersFromConfig(deps.config.env),
    onNotified: (channel, kind, outcome) => metrics.notifications.inc({ channel, kind, outcome }),
    inboxes: createInboxClients(deps.config, deps.mesh),
    rematchDelaysMs: rematchDelays(deps.config),
    ...(deps.inboundHooks ? { inboundHooks: deps.inboundHooks } : {}),
  });
  const identity = deps.config.env.ITK3_WORKER_IDENTITY ?? `${process.pid}@${os.hostname()}`;
  const workflows = deps.workflows ?? workflowSource();
  deps.logger.info({ workflowCode: 'workflowBundle' in workflows ? 'prebuilt bundle' : 'bundled at start-up' }, 'workflow code');
  const common = {
    connection: deps.connection,
    namespace: deps.config.env.TEMPORAL_NAMESPACE,
    activities,
    dataConverter: createDataConverter(deps.config),
    identity,
    interceptors: { activity: [metrics.interceptor(identity)] },
  };
  const taskQueue = deps.config.env.ITK3_TASK_QUEUE;
  const delivery = await Worker.create({
    ...common,
    taskQueue,
    ...('workflowBundle' in workflows ? { workflowBundle: workflows.workflowBundle } : { workflowsPath: workflows.workflowsPath }),
    maxCachedWorkflows: MAX_CACHED_WORKFLOWS,
    ...deps.workerOptions,
  });
  // Activities only: the poller workflow itself runs on the delivery task queue like every workflow.
  // Two activity pollers, not the default five: a pass at a time per mailbox, so more would only add idle
  // long polls for the server to hold.
  const inbound = await Worker.create({ ...common, taskQueue: inboundTaskQueue(taskQueue), maxConcurrentActivityTaskExecutions: INBOUND_ACTIVITY_SLOTS, maxConcurrentActivityTaskPolls: 2 });
  const both = [delivery, inbound];
  const shutdown = (): void => {
    for (const w of both) {
      if (w.getState() === 'RUNNING') w.shutdown();
    }
  };
  return {
    delivery,
    inbound,
    options: { identity, taskQueue, inboundTaskQueue: inboundTaskQueue(taskQueue) },
    async run() {
      // Half a worker would leave deliveries or acknowledgements unserved while looking alive: when one
      // stops, for whatever reason, the other is shut down too.
      const runs = both.map((w) => w.run().finally(shutdown));
      const outcomes = await Promise.allSettled(runs);
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
  };
}

/** One durable poller per configured mailbox (MESH_MAILBOX_ID and MESH_MAILBOXES); starting again is a no-op. */
export async function ensureInboxPoller(client: Client, config: AppConfig): Promise<void> {
  await ensureInboxPollers(client, config);
}
