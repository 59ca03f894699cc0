/**
 * Worker process for the end-to-end baseline (bench/baseline-workflows.ts), run as a child process like
 * the ITK3 Courier worker, so both are measured the same way from outside. The acknowledgement signals
 * come from outside the workflow, as the inbox poller's do: here the send activity sends them.
 * Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, BASELINE_TASK_QUEUE.
 */
import { randomBytes } from 'node:crypto';
import { heartbeat } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { baselineAckSignal, baselineAcksSignal, type BaselineSendInput } from './baseline-workflows';

/** Filler that does not compress, as the delivery's encrypted payloads do not. */
const filler = (bytes: number): string | undefined => (bytes > 0 ? randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes) : undefined);

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.BASELINE_TASK_QUEUE;
  if (!taskQueue) throw new Error('BASELINE_TASK_QUEUE is required');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  // Signals go through the worker's own native connection, as the courier's worker sends its own: the
  // baseline is the same shape built the same way, so plumbing is never the difference between them.
  const client = new Client({ connection, namespace });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    identity: process.env.BASELINE_IDENTITY ?? `baseline-${process.pid}`,
    workflowsPath: require.resolve('./baseline-workflows'),
    activities: {
      baselineBuild: async ({ payloadBytes }: { payloadBytes: number }) => filler(payloadBytes) ?? 'built',
      baselineSend: async ({ workflowId, batchedAcks, heartbeat: beat, payloadBytes }: BaselineSendInput) => {
        if (beat) {
          heartbeat({ step: 'posted' });
          // The delivery's send heartbeats and then spends a few milliseconds on MESH: long enough for the
          // heartbeat to reach the server, which a send that returned at once might not give it.
          await new Promise((r) => setTimeout(r, 5));
        }
        setImmediate(() => {
          const handle = client.workflow.getHandle(workflowId);
          const signalled = batchedAcks
            ? handle.signal(baselineAcksSignal, ['infrastructure', 'business'], filler(payloadBytes))
            : handle.signal(baselineAckSignal, 'infrastructure', filler(payloadBytes)).then(() => handle.signal(baselineAckSignal, 'business', filler(payloadBytes)));
          void signalled.catch((err: unknown) => process.stderr.write(`baseline signal failed: ${String(err)}\n`));
        });
        return filler(payloadBytes) ?? 'sent';
      },
    },
  });
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
