/**
 * A Courier worker in its own process, for the crash test (test/e2e/inbound-crash.test.ts): the real
 * wiring (worker/worker.ts) from the environment it is given. With ITK3_TEST_CRASH_BEFORE_ACK set to a
 * file path, the first ITK3 response it routes is handed to its delivery workflow (the signal is in
 * history) and then the process SIGKILLs itself before the MESH acknowledgement; the MESH message id is
 * written to that file first. Run with `node -r test/integration/api/swc-register.js`.
 */
import { writeFileSync } from 'node:fs';
import { DefaultLogger, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '../../config/env';
import { createMeshClient, createNativeConnection, createStore, createWorkerClient } from '../../worker/compose';
import { createCourierWorker } from '../../worker/worker';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
  });
  const logger = pino({ level: config.env.LOG_LEVEL });
  const crashFile = process.env.ITK3_TEST_CRASH_BEFORE_ACK;
  const connection = await createNativeConnection(config);
  const client = createWorkerClient(config, connection);
  const worker = await createCourierWorker({
    config,
    logger,
    store: createStore(config),
    mesh: createMeshClient(config),
    client,
    connection,
    notifiers: [],
    ...(crashFile
      ? {
          inboundHooks: {
            beforeAcknowledge: ({ meshMessageId, outcome }) => {
              if (outcome !== 'routed') return;
              writeFileSync(crashFile, meshMessageId);
              process.kill(process.pid, 'SIGKILL');
            },
          },
        }
      : {}),
  });
  process.stdout.write('worker ready\n');
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker process failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
