/**
 * The ITK3 Courier worker process exactly as worker/main.ts wires it, plus Worker options from
 * BENCH_WORKER_OPTIONS (JSON, e.g. {"maxConcurrentWorkflowTaskExecutions":10}) and the inbox poller's
 * per-pass routing concurrency from BENCH_POLLER_CONCURRENCY. For benchmark experiments with settings
 * worker/main.ts does not expose; the result names the settings used.
 */
import type { WorkerOptions } from '@temporalio/worker';
import { loadConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { createMeshClient, createNativeConnection, createStore, createWorkerClient } from '../worker/compose';
import { createWorkerMetrics } from '../worker/metrics';
import { installRuntime } from '../worker/runtime';
import { ensureInboxPollers } from '../worker/inbound';
import { createCourierWorker } from '../worker/worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const workerOptions = JSON.parse(process.env.BENCH_WORKER_OPTIONS ?? '{}') as Partial<WorkerOptions>;
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'itk3-worker-tuned' });
  installRuntime({ logger });
  const connection = await createNativeConnection(config);
  // As worker/main.ts: the Client on the worker's native connection, the worker's metrics, and the MESH
  // handshake before tasks are taken (so only the Worker options differ from the real worker).
  const client = createWorkerClient(config, connection);
  const mesh = createMeshClient(config);
  const handshake = mesh.handshake().catch((err: unknown) => logger.warn({ errorType: (err as { type?: string }).type ?? 'UNKNOWN' }, 'MESH handshake at start-up failed; continuing'));
  const worker = await createCourierWorker({ config, logger, store: createStore(config), mesh, client, connection, metrics: createWorkerMetrics(), workerOptions });
  const concurrency = process.env.BENCH_POLLER_CONCURRENCY ? Number(process.env.BENCH_POLLER_CONCURRENCY) : undefined;
  await ensureInboxPollers(client, config, concurrency ? { concurrency } : {});
  await handshake;
  logger.warn({ workerOptions, pollerConcurrency: concurrency }, 'tuned benchmark worker started');
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`tuned worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
