/**
 * The dev server as the scripts start it keeps its copy of the search attributes: a workflow's upserts and
 * their visibility writes do not re-read them from SQLite each time (start-dev's own default does, about
 * 16 reads per delivery), and every attribute is usable as soon as the server is handed over.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { encodeUnifiedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal as proto } from '@temporalio/proto';
import { DeliveryStatusKey, SenderReferenceKey, firstAttemptSearchAttributes } from '../../../contracts/search-attributes';
import { freePort, startTemporal, type RunningService } from '../../../scripts/lib/services';
import { parseRequestCounts } from '../../../bench/lib/server-requests';

jest.setTimeout(120_000);

/** Reads of the search attributes' store: the cluster metadata and the namespace record. */
async function attributeReads(metricsUrl: string): Promise<number> {
  const { persistence } = parseRequestCounts([await (await fetch(metricsUrl)).text()]);
  return (persistence.GetCurrentClusterMetadata ?? 0) + (persistence.GetNamespace ?? 0);
}

describe('the dev server and its search attributes', () => {
  let temporal: RunningService | undefined;
  let connection: Connection | undefined;

  afterAll(async () => {
    await connection?.close();
    await temporal?.stop();
  });

  it('accepts every attribute at once and does not read them again for each upsert', async () => {
    const metricsPort = await freePort();
    const namespace = 'courier-attributes';
    // On a file, as `npm run up` and the benchmarks run it.
    const dbFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'attributes-')), 'temporal.sqlite');
    temporal = await startTemporal({ port: await freePort(), namespace, retentionDays: 1, metricsPort, dbFile });
    connection = await Connection.connect({ address: temporal.url });
    const client = new Client({ connection, namespace });
    const service = connection.workflowService;
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const taskQueue = `attributes-${randomUUID()}`;

    // One workflow as a delivery starts and moves on: started with its attributes, then its one workflow
    // task answered (by hand, as a worker would) with an upsert of DeliveryStatus and completion.
    const deliver = async (): Promise<void> => {
      await client.workflow.start('sendDocumentWorkflow', {
        workflowId: `attributes-${randomUUID()}`,
        taskQueue,
        args: [],
        typedSearchAttributes: [
          ...firstAttemptSearchAttributes({ recipientOds: 'A12345', senderOds: 'RXA', messageHeaderId: randomUUID() }),
          { key: SenderReferenceKey, value: 'digest' },
        ],
      });
      // A long poll needs a deadline of its own.
      const task = await connection!.withDeadline(Date.now() + 30_000, () => service.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'attribute-test' }));
      await service.respondWorkflowTaskCompleted({
        namespace,
        taskToken: task.taskToken,
        identity: 'attribute-test',
        commands: [
          {
            commandType: proto.api.enums.v1.CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            upsertWorkflowSearchAttributesCommandAttributes: { searchAttributes: { indexedFields: encodeUnifiedSearchAttributes(undefined, [{ key: DeliveryStatusKey, value: 'DELIVERED' }]) } },
          },
          { commandType: proto.api.enums.v1.CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: {} },
        ],
      });
    };
    await deliver();
    await new Promise((r) => setTimeout(r, 3_000));
    const before = await attributeReads(metricsUrl);
    for (let i = 0; i < 20; i++) await deliver();
    // Let the visibility writes happen: each one reads the attributes too.
    const q = `RecipientOds = 'A12345' AND SenderReference = 'digest' AND DeliveryStatus = 'DELIVERED' AND ExecutionStatus = 'Completed'`;
    for (let i = 0; i < 100 && (await client.workflow.count(q)).count < 21; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await client.workflow.count(q)).count).toBe(21);
    // The server publishes its counters every second or so.
    await new Promise((r) => setTimeout(r, 3_000));
    const reads = (await attributeReads(metricsUrl)) - before;
    // start-dev's default made 229 reads for these 20 workflows; a periodic refresh may make a few.
    expect(reads).toBeLessThan(10);
  });
});
