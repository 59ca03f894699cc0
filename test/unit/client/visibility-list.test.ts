/**
 * Listing through visibility one execution at a time: an entry whose memo cannot be decoded with the
 * configured codec keys is listed (id, status, search attributes) and marked, never fails the listing,
 * and is logged by workflow id and key id only.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { AesGcmPayloadCodec, courierDataConverter } from '../../../payload-codec/aes-gcm-codec';
import { parseKeyRing } from '../../../config/env';
import { UNDECODABLE_MESSAGE } from '../../../client/lib/api-schemas';
import { listExecutions } from '../../../client/api/visibility-list';

const ours = parseKeyRing(`live:${randomBytes(32).toString('base64')},older:${randomBytes(32).toString('base64')}`);
const retired = new AesGcmPayloadCodec(parseKeyRing(`retired:${randomBytes(32).toString('base64')}`));
const ourCodec = new AesGcmPayloadCodec(ours);
const Info = temporal.api.workflow.v1.WorkflowExecutionInfo;
const RUNNING = temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;

/** A visibility record as the server returns it (decoded from the wire, so 64-bit fields are Longs). */
function record(workflowId: string, memo?: Record<string, Payload>): temporal.api.workflow.v1.WorkflowExecutionInfo {
  const message = Info.create({
    execution: { workflowId, runId: `run-${workflowId}` },
    type: { name: 'inboundQuarantineWorkflow' },
    status: RUNNING,
    startTime: { seconds: Long.fromNumber(1_796_000_000) },
    historyLength: Long.fromNumber(3),
    ...(memo ? { memo: { fields: memo } } : {}),
  });
  return Info.decode(Info.encode(message).finish());
}

const sealed = async (codec: AesGcmPayloadCodec, value: unknown): Promise<Payload> => (await codec.encode([defaultPayloadConverter.toPayload(value)]))[0]!;

function fakeClient(pages: temporal.api.workflow.v1.WorkflowExecutionInfo[][]) {
  const listWorkflowExecutions = jest.fn(async (req: { nextPageToken?: Uint8Array | null }) => {
    const i = req.nextPageToken && req.nextPageToken.length > 0 ? req.nextPageToken[0]! : 0;
    return { executions: pages[i] ?? [], nextPageToken: i + 1 < pages.length ? Buffer.from([i + 1]) : Buffer.alloc(0) };
  });
  const client = { workflowService: { listWorkflowExecutions }, options: { namespace: 'courier', loadedDataConverter: loadDataConverter(courierDataConverter(ours)) } };
  return { client: client as unknown as Pick<Client, 'workflowService' | 'options'>, listWorkflowExecutions };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('listExecutions', () => {
  it('lists every entry across pages, marking the one written under a retired key instead of failing', async () => {
    const { client } = fakeClient([
      [record('inbound-quarantine-A', { reason: await sealed(ourCodec, 'MALFORMED') }), record('inbound-quarantine-B', { reason: await sealed(retired, 'MALFORMED') })],
      [record('inbound-quarantine-C')],
    ]);
    const warn = jest.fn();
    const listed = await all(listExecutions(client, { query: 'q', pageSize: 2, limit: 100 }, { warn }));

    expect(listed.map((l) => l.info.workflowId)).toEqual(['inbound-quarantine-A', 'inbound-quarantine-B', 'inbound-quarantine-C']);
    expect(listed[0]).toMatchObject({ info: { memo: { reason: 'MALFORMED' } } });
    expect(listed[0]!.undecodable).toBeUndefined();
    expect(listed[1]!.undecodable).toEqual({ message: UNDECODABLE_MESSAGE, keyIds: ['retired'] });
    // Everything that is not in the memo is still there.
    expect(listed[1]!.info).toMatchObject({ workflowId: 'inbound-quarantine-B', runId: 'run-inbound-quarantine-B', type: 'inboundQuarantineWorkflow', status: { name: 'RUNNING' }, historyLength: 3 });
    expect(listed[1]!.info.memo).toBeUndefined();
    expect(listed[1]!.info.startTime.toISOString()).toBe(new Date(1_796_000_000_000).toISOString());
    expect(listed[2]!.undecodable).toBeUndefined();

    expect(warn).toHaveBeenCalledTimes(1);
    const [fields, message] = warn.mock.calls[0] as [Record<string, unknown>, string];
    expect(message).toContain(UNDECODABLE_MESSAGE);
    expect(fields).toMatchObject({ workflowId: 'inbound-quarantine-B', keyIds: ['retired'], configuredKeyIds: ['live', 'older'] });
  });

  it('never logs what a payload holds, even when it decrypts but does not parse', async () => {
    // Decrypts under our key, but is not the JSON it claims to be: the parser's error would quote it.
    const broken = await ourCodec.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{nhsNumber: 9990000018 not json') }]);
    const { client } = fakeClient([[record('inbound-quarantine-D', { reason: broken[0]! })]]);
    const warn = jest.fn();
    const listed = await all(listExecutions(client, { query: 'q', pageSize: 10, limit: 10 }, { warn }));

    expect(listed).toHaveLength(1);
    expect(listed[0]!.undecodable).toEqual({ message: UNDECODABLE_MESSAGE, keyIds: ['live'] });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls)).toContain('inbound-quarantine-D');
    expect(JSON.stringify(warn.mock.calls)).not.toContain('9990000018');
  });

  it('stops at the limit without fetching another page', async () => {
    const { client, listWorkflowExecutions } = fakeClient([[record('w1'), record('w2')], [record('w3')]]);
    const listed = await all(listExecutions(client, { query: 'q', pageSize: 2, limit: 2 }, { warn: jest.fn() }));
    expect(listed.map((l) => l.info.workflowId)).toEqual(['w1', 'w2']);
    expect(listWorkflowExecutions).toHaveBeenCalledTimes(1);
  });
});
