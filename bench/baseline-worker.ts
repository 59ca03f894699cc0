/**
 * Worker process for the end-to-end baseline (bench/baseline-workflows.ts), run as a child process like
 * the ITK3 Courier worker, so both are measured the same way from outside. The acknowledgement signals
 * come from outside the workflow, as the inbox poller's do: here the send activity sends them.
 * Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, BASELINE_TASK_QUEUE.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { baselineAckSignal } from './baseline-workflows';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.BASELINE_TASK_QUEUE;
  if (!taskQueue) throw new Error('BASELINE_TASK_QUEUE is required');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const client = new Client({ connection: await Connection.connect({ address }), namespace });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    identity: process.env.BASELINE_IDENTITY ?? `baseline-${process.pid}`,
    workflowsPath: require.resolve('./baseline-workflows'),
    activities: {
      baselineBuild: async () => 'built',
      baselineSend: async ({ workflowId }: { workflowId: string }) => {
        setImmediate(() => {
          const handle = client.workflow.getHandle(workflowId);
          void handle
            .signal(baselineAckSignal, 'infrastructure')
            .then(() => handle.signal(baselineAckSignal, 'business'))
            .catch((err: unknown) => process.stderr.write(`baseline signal failed: ${String(err)}\n`));
        });
        return 'sent';
      },
    },
  });
  await worker.run();
  await connection.close();
  await client.connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
