/**
 * The ITK3 Courier worker process exactly as worker/main.ts wires it, plus Worker options from
 * BENCH_WORKER_OPTIONS (JSON, e.g. {"maxConcurrentWorkflowTaskExecutions":10}). For benchmark
 * experiments with settings worker/main.ts does not expose; the result names the options used.
 */
import { NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { loadConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { createMeshClient, createStore, createTemporalClient } from '../worker/compose';
import { installRuntime } from '../worker/runtime';
import { createCourierWorker, ensureInboxPoller } from '../worker/worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const workerOptions = JSON.parse(process.env.BENCH_WORKER_OPTIONS ?? '{}') as Partial<WorkerOptions>;
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'itk3-worker-tuned' });
  installRuntime({ logger });
  const connection = await NativeConnection.connect({ address: config.env.TEMPORAL_ADDRESS });
  const client = await createTemporalClient(config);
  const worker = await createCourierWorker({ config, logger, store: createStore(config), mesh: createMeshClient(config), client, connection, workerOptions });
  await ensureInboxPoller(client, config);
  logger.warn({ workerOptions }, 'tuned benchmark worker started');
  await worker.run();
  await connection.close();
  await client.connection.close();
}

main().catch((err) => {
  process.stderr.write(`tuned worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
