/** API process: config -> logger -> Temporal client (with the payload codec) -> HTTP server. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DeadlineConfigError, deadlineBoundsFromEnv, loadDeadlinePolicy } from '../../config/deadlines';
import { ConfigError, loadConfig } from '../../config/env';
import { createLogger } from '../../config/logger';
import { activityConfig, connectAtStartup, createStore, createTemporalClient, defaultDeadlines } from '../../worker/compose';
import { buildApi } from './api';
import { ConsultationConfigError, consultationSettingsFromEnv } from './consultation-routes';
import { Authenticator } from '../auth';
import { createFleetMetrics } from './fleet-metrics';
import { IdempotencyStore } from './idempotency';

async function main(): Promise<void> {
  let config;
  let deadlinePolicy;
  let consultation;
  try {
    config = loadConfig();
    // Reminder interval, replacement and decision windows, per-recipient overrides (config/deadlines.ts);
    // an empty value means unset, as in loadConfig.
    deadlinePolicy = loadDeadlinePolicy(defaultDeadlines(config), Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== '')));
    consultation = consultationSettingsFromEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof DeadlineConfigError || err instanceof ConsultationConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const env = config.env;
  const logger = createLogger({ level: env.LOG_LEVEL, name: 'itk3-api' });
  const auth = new Authenticator(config.apiTokens, config.clientCertRoles);
  if (auth.empty) logger.warn('no ITK3_API_TOKENS and no client certificate roles configured: every /v1 request will be refused');
  const client = await connectAtStartup(config, logger, (ms) => createTemporalClient(config, ms));
  const fleet = createFleetMetrics(client);
  const app = buildApi({
    client,
    logger,
    auth,
    store: createStore(config),
    idempotency: new IdempotencyStore(path.join(path.resolve(env.STORE_DIR), 'idempotency')),
    activity: activityConfig(config),
    deadlines: defaultDeadlines(config),
    deadlinePolicy,
    deadlineBounds: deadlineBoundsFromEnv(env),
    consultation,
    metrics: () => fleet.metrics(),
    ...(env.ITK3_API_TLS_CERT && env.ITK3_API_TLS_KEY
      ? { https: { cert: readFileSync(env.ITK3_API_TLS_CERT), key: readFileSync(env.ITK3_API_TLS_KEY), ...(env.ITK3_API_TLS_CA ? { ca: readFileSync(env.ITK3_API_TLS_CA) } : {}) } }
      : {}),
  });
  await app.listen({ host: env.ITK3_API_HOST, port: env.ITK3_API_PORT });
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
