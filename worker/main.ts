/** Worker process: config -> logger -> runtime -> connection -> worker (STYLE.md §2). */
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { ConfigError, loadConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { createMeshClient, createStore, createTemporalClient } from './compose';
import { createCourierWorker, ensureInboxPoller } from './worker';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'itk3-worker' });
  const levels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => logger[levels[level]](meta ?? {}, message)),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
  });
  const connection = await NativeConnection.connect({ address: config.env.TEMPORAL_ADDRESS });
  const client = await createTemporalClient(config);
  const worker = await createCourierWorker({ config, logger, store: createStore(config), mesh: createMeshClient(config), client, connection });
  await ensureInboxPoller(client, config);
  logger.info({ taskQueue: config.env.ITK3_TASK_QUEUE, namespace: config.env.TEMPORAL_NAMESPACE }, 'worker started');
  await worker.run();
  await connection.close();
  await client.connection.close();
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
