/**
 * The two Temporal workers of a courier worker process (worker/worker.ts createCourierWorker): one on the
 * delivery task queue, one on its inbound task queue. Both poll, and they stop together: a process left
 * with one of them would look alive while deliveries or acknowledgements went unserved.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '../../../config/env';
import { inboundTaskQueue } from '../../../contracts/ids';
import { createDataConverter, createMeshClient, createStore } from '../../../worker/compose';
import { createCourierWorker } from '../../../worker/worker';
import { localCourierSetup } from '../../helpers/services';

jest.setTimeout(120_000);

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed by an earlier test file in this jest worker
  }
});

async function pollers(connection: Pick<Connection, 'workflowService'>, namespace: string, taskQueue: string, taskQueueType: 1 | 2): Promise<string[]> {
  const tq = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType });
  return (tq.pollers ?? []).map((p) => p.identity ?? '');
}

describe('a courier worker process', () => {
  it('polls the delivery and the inbound task queues, and when one of its workers stops, the other stops too', async () => {
    const { env } = localCourierSetup('courier-worker');
    const config = loadConfig({ ...env, LOG_LEVEL: 'warn', ITK3_WORKER_IDENTITY: 'two-queues-worker' });
    const taskQueue = config.env.ITK3_TASK_QUEUE;
    const connection = await NativeConnection.connect({ address: config.env.TEMPORAL_ADDRESS });
    const client = new Client({ connection: await Connection.connect({ address: config.env.TEMPORAL_ADDRESS }), namespace: config.env.TEMPORAL_NAMESPACE, dataConverter: createDataConverter(config) });
    try {
      const worker = await createCourierWorker({ config, logger: pino({ level: 'warn' }), store: createStore(config), mesh: createMeshClient(config), client, connection, notifiers: [] });
      expect(worker.options).toEqual({ identity: 'two-queues-worker', taskQueue: taskQueue, inboundTaskQueue: inboundTaskQueue(taskQueue) });
      const running = worker.run();

      const ns = config.env.TEMPORAL_NAMESPACE;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const workflowPollers = await pollers(client.connection, ns, taskQueue, 1);
        const inboundActivityPollers = await pollers(client.connection, ns, inboundTaskQueue(taskQueue), 2);
        if (workflowPollers.includes('two-queues-worker') && inboundActivityPollers.includes('two-queues-worker')) break;
        if (Date.now() > deadline) throw new Error(`not polling both queues: ${JSON.stringify({ workflowPollers, inboundActivityPollers })}`);
        await new Promise((r) => setTimeout(r, 200));
      }

      // Only the inbound worker is told to stop: the whole process's worker ends, the delivery one with it.
      worker.inbound.shutdown();
      await running;
      expect(worker.inbound.getState()).toBe('STOPPED');
      expect(worker.delivery.getState()).toBe('STOPPED');
    } finally {
      await connection.close();
      await client.connection.close();
    }
  });
});
