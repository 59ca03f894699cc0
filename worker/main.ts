/** Worker process: config -> logger -> runtime -> connection -> worker. */
import net from 'node:net';
import { loadConfigOrExit } from '../config/env';
import { createLogger } from '../config/logger';
import { connectAtStartup, createMeshClient, createNativeConnection, createStore, createWorkerClient } from './compose';
import { createWorkerMetrics, serveMetrics } from './metrics';
import { installRuntime } from './runtime';
import { createCourierWorker, ensureInboxPoller } from './worker';

/** How long the worker waits for its start-up MESH handshake before taking tasks anyway. */
const HANDSHAKE_WAIT_MS = 5_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.env.LOG_LEVEL, name: 'itk3-worker' });
  // The SDK's Prometheus exporter listens on an internal loopback port; our /metrics passes it through
  // together with our own metrics, so each worker is one scrape target.
  const metricsPort = config.env.ITK3_WORKER_METRICS_PORT;
  const sdkMetricsAddress = metricsPort ? `127.0.0.1:${await freePort()}` : undefined;
  installRuntime({ logger, ...(sdkMetricsAddress ? { prometheusBindAddress: sdkMetricsAddress } : {}) });
  const metrics = createWorkerMetrics();
  const metricsServer = metricsPort
    ? await serveMetrics({ host: config.env.ITK3_METRICS_HOST, port: metricsPort, registries: [metrics.registry], sdkMetricsUrl: `http://${sdkMetricsAddress}/metrics` })
    : undefined;
  const connection = await connectAtStartup(config, logger, () => createNativeConnection(config));
  const client = createWorkerClient(config, connection);
  const mesh = createMeshClient(config);
  // MESH asks for a handshake at start-up. It also gives the client MESH's clock (the Date header) before
  // the first send, so a send killed during its first POST leaves its retry a tight search bound. It runs
  // while the worker is created and is waited for (a few seconds at most) before the worker takes tasks;
  // an unreachable MESH must not hold the worker up (sends and polls retry on their own).
  const handshake = mesh.handshake().catch((err: unknown) => logger.warn({ errorType: (err as { type?: string }).type ?? 'UNKNOWN' }, 'MESH handshake at start-up failed; continuing'));
  const worker = await createCourierWorker({ config, logger, store: createStore(config), mesh, client, connection, metrics });
  await ensureInboxPoller(client, config);
  await Promise.race([handshake, new Promise((resolve) => setTimeout(resolve, HANDSHAKE_WAIT_MS).unref())]);
  logger.info({ taskQueue: config.env.ITK3_TASK_QUEUE, inboundTaskQueue: worker.options.inboundTaskQueue, namespace: config.env.TEMPORAL_NAMESPACE, identity: worker.options.identity, metricsPort }, 'worker started');
  await worker.run();
  await metricsServer?.close();
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
