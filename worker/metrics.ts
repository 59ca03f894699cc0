/**
 * Worker metrics for Prometheus. One scrape target per worker process: `/metrics` answers the Temporal
 * SDK's runtime metrics (served by Core on an internal loopback port and passed through) followed by
 * ours: activity executions per type, outcome and worker identity (how work spreads across workers),
 * and inbox lag (seconds since the MESH inbox poller last completed a pass).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { Counter, Gauge, Registry } from 'prom-client';

export interface WorkerMetrics {
  registry: Registry;
  activityExecutions: Counter<'activity_type' | 'outcome' | 'worker_identity'>;
  lastInboxPoll: Gauge;
  /** Escalation notifications by channel (log, webhook, email), kind and outcome (sent, failed). */
  notifications: Counter<'channel' | 'kind' | 'outcome'>;
  /** Counts every activity execution and marks completed inbox polls. */
  interceptor(identity: string): ActivityInterceptorsFactory;
}

export function createWorkerMetrics(now: () => number = Date.now): WorkerMetrics {
  const registry = new Registry();
  const activityExecutions = new Counter({
    name: 'itk3_activity_executions_total',
    help: 'Activity executions finished by this worker, by activity type and outcome',
    labelNames: ['activity_type', 'outcome', 'worker_identity'] as const,
    registers: [registry],
  });
  const lastInboxPoll = new Gauge({
    name: 'itk3_inbox_last_poll_timestamp_seconds',
    help: 'When this worker last completed a MESH inbox pass (Unix time)',
    registers: [registry],
  });
  const notifications = new Counter({
    name: 'itk3_escalation_notifications_total',
    help: 'Escalation notifications by channel, kind (RAISED, REMINDER, RESOLVED) and outcome (sent, failed)',
    labelNames: ['channel', 'kind', 'outcome'] as const,
    registers: [registry],
  });
  let lastPollMs: number | undefined;
  new Gauge({
    name: 'itk3_inbox_lag_seconds',
    help: 'Seconds since this worker last completed a MESH inbox pass (absent before the first pass)',
    registers: [registry],
    collect() {
      if (lastPollMs !== undefined) this.set((now() - lastPollMs) / 1000);
    },
  });
  return {
    registry,
    activityExecutions,
    lastInboxPoll,
    notifications,
    interceptor: (identity) => (ctx) => ({
      inbound: {
        async execute(input, next) {
          const type = ctx.info.activityType;
          try {
            const result = await next(input);
            activityExecutions.inc({ activity_type: type, outcome: 'completed', worker_identity: identity });
            if (type === 'pollMeshInbox') {
              lastPollMs = now();
              lastInboxPoll.set(lastPollMs / 1000);
            }
            return result;
          } catch (err) {
            activityExecutions.inc({ activity_type: type, outcome: 'failed', worker_identity: identity });
            throw err;
          }
        },
      },
    }),
  };
}

/**
 * Serves `/metrics` (SDK metrics from `sdkMetricsUrl`, then `registries`) and `/health`.
 * Returns the bound port (0 asks the OS for a free one).
 */
export async function serveMetrics(opts: {
  host: string;
  port: number;
  registries: Registry[];
  sdkMetricsUrl?: string;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      const parts: string[] = [];
      if (opts.sdkMetricsUrl) {
        try {
          const sdk = await fetch(opts.sdkMetricsUrl, { signal: AbortSignal.timeout(5_000) });
          parts.push(await sdk.text());
        } catch {
          parts.push('# Temporal SDK metrics unavailable\n');
        }
      }
      for (const r of opts.registries) parts.push(await r.metrics());
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(parts.join('\n'));
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
