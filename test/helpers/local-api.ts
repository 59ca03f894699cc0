import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { buildApi } from '../../client/api/api';
import { Authenticator } from '../../client/auth';
import { IdempotencyStore } from '../../client/api/idempotency';
import { deadlineBoundsFromEnv } from '../../config/deadlines';
import type { AppConfig } from '../../config/env';
import type { ContentStore } from '../../store/content-store';
import { activityConfig, defaultDeadlines } from '../../worker/compose';

/** The courier's HTTP API on a free loopback port, configured as the worker is; `close()` stops it. */
export async function startLocalApi(opts: {
  config: AppConfig;
  client: Client;
  logger: Logger;
  store: ContentStore;
  dir: string;
  metrics?: () => Promise<string>;
}): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const app = buildApi({
    client: opts.client,
    logger: opts.logger,
    auth: new Authenticator(opts.config.apiTokens, opts.config.clientCertRoles),
    store: opts.store,
    idempotency: new IdempotencyStore(path.join(opts.dir, 'idempotency')),
    activity: activityConfig(opts.config),
    deadlines: defaultDeadlines(opts.config),
    deadlineBounds: deadlineBoundsFromEnv(opts.config.env),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, port, close: () => app.close() };
}
