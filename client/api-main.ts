/** API process: config -> logger -> Temporal client -> HTTP server. */
import { ConfigError, loadConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { activityConfig, createStore, createTemporalClient, defaultDeadlines } from '../worker/compose';
import { buildApi } from './api';

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
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'itk3-api' });
  const client = await createTemporalClient(config);
  const app = buildApi({
    client,
    logger,
    store: createStore(config),
    activity: activityConfig(config),
    deadlines: defaultDeadlines(config),
  });
  await app.listen({ host: config.env.ITK3_API_HOST, port: config.env.ITK3_API_PORT });
  const stop = async (): Promise<void> => {
    await app.close();
    await client.connection.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err) => {
  process.stderr.write(`API failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
