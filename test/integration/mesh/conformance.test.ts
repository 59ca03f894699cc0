import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ErrorType } from '../../../contracts/errors';
import { type MeshError } from '../../../mesh';
import { COURIER, GP, RECEIVER, admin, meshClient, uniqueFileName, uniqueWorkflow } from './helpers';

jest.setTimeout(60_000);

async function expectMeshError(p: Promise<unknown>, type: string): Promise<MeshError> {
  try {
    await p;
  } catch (err) {
    expect((err as MeshError).type).toBe(type);
    return err as MeshError;
  }
  throw new Error(`expected ${type}`);
}

describe('MeshClient against mesh-sandbox', () => {
  const courier = meshClient(COURIER);
  const receiver = meshClient(RECEIVER);

  it('handshakes with valid credentials', async () => {
    await expect(courier.handshake()).resolves.toBeUndefined();
  });

  it('fails auth with a wrong password, shared key or mailbox, and does not retry', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls += 1;
      return fetch(input, init);
    };
    const e1 = await expectMeshError(meshClient(COURIER, { password: 'wrong', fetch: counting }).handshake(), ErrorType.MESH_AUTH_FAILED);
    expect(e1).toMatchObject({ httpStatus: 403, retryable: false });
    expect(calls).toBe(1);
    await expectMeshError(meshClient(COURIER, { sharedKey: 'NotTheKey' }).listInbox(), ErrorType.MESH_AUTH_FAILED);
    await expectMeshError(meshClient('X26NOPE9').handshake(), ErrorType.MESH_AUTH_FAILED);
    await expectMeshError(meshClient(COURIER, { password: 'wrong' }).sendMessage({ to: RECEIVER, workflowId: 'WF', body: 'x' }), ErrorType.MESH_AUTH_FAILED);
  });

  it('sends a single-chunk message and the recipient downloads it byte for byte with its metadata', async () => {
    const wf = uniqueWorkflow('single');
    const body = randomBytes(10 * 1024);
    const fileName = uniqueFileName('single');
    const sent = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body, subject: 'conformance single', localId: 'X26', fileName, contentType: 'application/fhir+json' });
    expect(sent).toMatchObject({ fileName, recovered: false, totalChunks: 1 });
    expect(await receiver.listInbox({ workflowFilter: wf })).toEqual([sent.messageId]);
    const msg = await receiver.downloadMessage(sent.messageId);
    expect(msg.body.equals(body)).toBe(true);
    expect(msg).toMatchObject({
      messageId: sent.messageId,
      messageType: 'DATA',
      workflowId: wf,
      from: COURIER,
      to: RECEIVER,
      subject: 'conformance single',
      localId: 'X26',
      fileName,
      contentType: 'application/fhir+json',
    });
    expect(msg.report).toBeUndefined();
    expect(msg.headers['mex-messageid']).toBe(sent.messageId);
    await receiver.acknowledgeMessage(sent.messageId);
    expect(await receiver.listInbox({ workflowFilter: wf })).toEqual([]);
    await receiver.acknowledgeMessage(sent.messageId); // idempotent
  });

  it('sends a chunked, compressed message and downloads all chunks gunzipped', async () => {
    const wf = uniqueWorkflow('chunked');
    const client = meshClient(COURIER, { chunkSize: 64 * 1024, compress: true });
    const body = Buffer.concat([randomBytes(100 * 1024), Buffer.alloc(150 * 1024, 'a')]); // 250 KiB → 4 chunks
    const sent = await client.sendMessage({ to: RECEIVER, workflowId: wf, body, fileName: uniqueFileName('chunked') });
    expect(sent.totalChunks).toBe(4);
    const details = (await (await admin('GET', `/messageexchange/admin/message/${sent.messageId}`)).json()) as { metadata?: { content_encoding?: string } };
    expect(JSON.stringify(details)).toContain('gzip');
    const msg = await receiver.downloadMessage(sent.messageId);
    expect(msg.headers['mex-chunk-range']).toBe('1:4');
    expect(msg.body.equals(body)).toBe(true);
    await receiver.acknowledgeMessage(sent.messageId);
  });

  it('streams a chunked download chunk by chunk', async () => {
    const wf = uniqueWorkflow('stream');
    const body = randomBytes(35_000);
    const sent = await meshClient(COURIER, { chunkSize: 10_000 }).sendMessage({ to: RECEIVER, workflowId: wf, body });
    const stream = await receiver.downloadMessageStream(sent.messageId);
    expect(stream.metadata.totalChunks).toBe(4);
    const parts: Buffer[] = [];
    for await (const p of stream.body) parts.push(p);
    expect(Buffer.concat(parts).equals(body)).toBe(true);
    await receiver.acknowledgeMessage(sent.messageId);
  });

  it('rejects an unknown recipient with MESH code 12 and never retries it', async () => {
    const err = await expectMeshError(courier.sendMessage({ to: 'X26NOPE9', workflowId: 'WF', body: 'x', subject: 'NHS 9434765919' }), ErrorType.MESH_SEND_REJECTED);
    expect(err).toMatchObject({ httpStatus: 417, retryable: false });
    expect(err.message).not.toMatch(/X26NOPE9|9434765919/);
  });

  it('tracks a sent message by id through accepted and acknowledged, and 404s an unknown id', async () => {
    const wf = uniqueWorkflow('track');
    const fileName = uniqueFileName('track');
    const sent = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'track me', localId: 'X26', fileName });
    expect(await courier.trackMessage(sent.messageId)).toMatchObject({
      message_id: sent.messageId,
      local_id: 'X26',
      workflow_id: wf,
      filename: fileName,
      recipient: RECEIVER,
      recipient_ods_code: 'X27',
      status: 'accepted',
      status_success: true,
    });
    await receiver.acknowledgeMessage(sent.messageId);
    expect((await courier.trackMessage(sent.messageId)).status).toBe('acknowledged');
    await expectMeshError(courier.trackMessage('0123456789ABCDEF0123456789ABCDEF'), ErrorType.MESH_NOT_FOUND);
    // Tracking is for the sender only: the sandbox answers 404 (not 403) to anyone else.
    await expectMeshError(receiver.trackMessage(sent.messageId), ErrorType.MESH_NOT_FOUND);
  });

  it('looks up endpoints by ODS code and workflow', async () => {
    expect(await courier.lookupEndpoint('X26', 'TEST_WORKFLOW')).toEqual([{ mailboxId: GP, mailboxName: 'TESTMB2' }]);
    expect(await courier.lookupEndpoint('X27', 'TEST_WORKFLOW_ACK')).toEqual([{ mailboxId: RECEIVER, mailboxName: 'TESTMB3' }]);
    expect(await courier.lookupEndpoint('X99', 'TEST_WORKFLOW')).toEqual([]);
  });

  it('404s a download of an unknown message and 410s one marked failed', async () => {
    await expectMeshError(receiver.downloadMessage('0123456789ABCDEF0123456789ABCDEF'), ErrorType.MESH_NOT_FOUND);
    const sent = await courier.sendMessage({ to: RECEIVER, workflowId: uniqueWorkflow('gone'), body: 'expire me' });
    await admin('POST', `/messageexchange/admin/message/${sent.messageId}/event`, {
      status: 'error',
      code: '14',
      event: 'TRANSFER',
      description: 'Message not collected by recipient after 5 days',
    });
    const err = await expectMeshError(receiver.downloadMessage(sent.messageId), ErrorType.MESH_GONE);
    expect(err.retryable).toBe(false);
    const t = await courier.trackMessage(sent.messageId);
    expect(t.status_success).toBe(false);
  });

  it('parses a non-delivery report (code 14) and a GP routing error report (EPL-153) in the sender inbox', async () => {
    // X26ABC3 plays the sender here: reports land in the sender's inbox, and only this suite reads X26ABC3.
    const wf = uniqueWorkflow('ndr');
    const sent = await meshClient(RECEIVER).sendMessage({ to: COURIER, workflowId: wf, body: 'undeliverable' });
    const reportIds: string[] = [];
    for (const [code, description] of [
      ['14', 'Message not collected by recipient after 5 days'],
      ['EPL-153', 'NHS number not found'],
    ] as const) {
      const res = await admin('POST', '/messageexchange/admin/report', {
        mailbox_id: RECEIVER,
        status: 'error',
        code,
        description,
        workflow_id: wf,
        linked_message_id: sent.messageId,
      });
      reportIds.push(((await res.json()) as { message_id: string }).message_id);
    }
    expect((await receiver.listInbox({ workflowFilter: wf })).sort()).toEqual([...reportIds].sort());
    const ndr = await receiver.downloadMessage(reportIds[0]!);
    expect(ndr.messageType).toBe('REPORT');
    expect(ndr.body.length).toBe(0);
    expect(ndr.report).toEqual({
      kind: 'NON_DELIVERY',
      statusCode: '14',
      statusDescription: 'Message not collected by recipient after 5 days',
      statusEvent: 'TRANSFER',
      statusSuccess: 'ERROR',
      linkedMessageId: sent.messageId,
    });
    const routing = await receiver.downloadMessage(reportIds[1]!);
    expect(routing.report).toMatchObject({ kind: 'ROUTING_ERROR', statusCode: 'EPL-153', linkedMessageId: sent.messageId });
    for (const id of reportIds) await receiver.acknowledgeMessage(id);
    expect(await receiver.listInbox({ workflowFilter: wf })).toEqual([]);
  });

  it('filters the inbox by workflow (equals, not-equals, begins-with, contains)', async () => {
    const wf = uniqueWorkflow('filter');
    const a = await courier.sendMessage({ to: RECEIVER, workflowId: `${wf}_ACK`, body: 'ack' });
    const b = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'doc' });
    expect(await receiver.listInbox({ workflowFilter: `${wf}_ACK` })).toEqual([a.messageId]);
    expect(await receiver.listInbox({ workflowFilter: `${wf}*` })).toEqual([a.messageId, b.messageId]);
    expect(await receiver.listInbox({ workflowFilter: `*${wf.slice(7)}_ACK*` })).toEqual([a.messageId]);
    expect(await receiver.listInbox({ workflowFilter: `!${wf}_ACK` })).not.toContain(a.messageId);
    for (const id of [a.messageId, b.messageId]) await receiver.acknowledgeMessage(id);
  });

  it('puts gzip on the wire when compressing and the recipient gets the original bytes', async () => {
    const body = Buffer.alloc(50_000, 'z');
    const seen: number[] = [];
    const spy: typeof fetch = (input, init) => {
      if (init?.body instanceof Uint8Array) {
        seen.push(init.body.byteLength);
        expect(gunzipSync(init.body).equals(body)).toBe(true);
      }
      return fetch(input, init);
    };
    const sent = await meshClient(COURIER, { compress: true, fetch: spy }).sendMessage({ to: RECEIVER, workflowId: uniqueWorkflow('gz'), body });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeLessThan(1000);
    expect((await receiver.downloadMessage(sent.messageId)).body.equals(body)).toBe(true);
    await receiver.acknowledgeMessage(sent.messageId);
  });

  it('accepts a string body as UTF-8', async () => {
    const text = 'Übergabe – résumé ✓';
    const sent = await courier.sendMessage({ to: RECEIVER, workflowId: uniqueWorkflow('utf8'), body: text });
    expect((await receiver.downloadMessage(sent.messageId)).body.toString('utf8')).toBe(text);
    await receiver.acknowledgeMessage(sent.messageId);
  });
});
