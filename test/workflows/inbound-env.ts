/**
 * A real Temporal dev server (loopback, in memory) for the inbound workflow tests, with the workflow code
 * bundled once per file. The time-skipping test server hung now and then on long sleeps and does not
 * support updates well, so these tests use short real durations.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { freePort, startTemporal, type RunningService } from '../../scripts/lib/services';

export interface InboundTestEnv {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundleWithSourceMap;
  server: RunningService;
  worker(taskQueue: string, activities: object): Promise<Worker>;
  teardown(): Promise<void>;
}

export async function startInboundTestEnv(): Promise<InboundTestEnv> {
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
    });
  } catch {
    // installed by an earlier file in this jest worker
  }
  const port = await freePort();
  const server = await startTemporal({ port, namespace: 'inbound-workflows', retentionDays: 1 });
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: `127.0.0.1:${port}`, namespace: 'inbound-workflows' });
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('ERROR') });
  return {
    env,
    bundle,
    server,
    worker: (taskQueue, activities) => Worker.create({ connection: env.nativeConnection, namespace: 'inbound-workflows', taskQueue, workflowBundle: bundle, activities }),
    async teardown() {
      await env.teardown();
      await server.stop();
    },
  };
}

/**
 * The per-file set-up of the inbound workflow tests: one dev server for the file, started before its
 * tests and stopped after them. Call at the top level; the returned object stands for that environment
 * inside the tests.
 */
export function useInboundTestEnv(): InboundTestEnv {
  let current: InboundTestEnv | undefined;
  beforeAll(async () => {
    current = await startInboundTestEnv();
  });
  afterAll(async () => {
    await current?.teardown();
  });
  const now = (): InboundTestEnv => {
    if (!current) throw new Error('the inbound test environment exists only while the tests of its file run');
    return current;
  };
  return {
    get env() {
      return now().env;
    },
    get bundle() {
      return now().bundle;
    },
    get server() {
      return now().server;
    },
    worker: (taskQueue, activities) => now().worker(taskQueue, activities),
    teardown: () => now().teardown(),
  };
}

export async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
