import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ErrorType } from '../../../contracts/errors';
import { MeshError } from '../../../mesh';
import { COURIER, GP, SPARE, admin, meshClient, uniqueFileName } from './helpers';

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
  const gp = meshClient(GP);

  it('handshakes with valid credentials', async () => {
    await expect(courier.handshake()).resolves.toBeUndefined();
  });

  it('fails auth with a wrong password, shared key or mailbox, and does not retry', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls += 1;
      return fetch(input, init);
    };
    const wrongPassword = meshClient(COURIER, { password: 'wrong', fetch: counting });
    const e1 = await expectMeshError(wrongPassword.handshake(), ErrorType.MESH_AUTH_FAILED);
    expect(e1.httpStatus).toBe(403);
    expect(e1.retryable).toBe(false);
    expect(calls).toBe(1);
    await expectMeshError(meshClient(COURIER, { sharedKey: 'NotTheKey' }).listInbox(), ErrorType.MESH_AUTH_FAILED);
    await expectMeshError(meshClient('X26NOPE9').handshake(), ErrorType.MESH_AUTH_FAILED);
  });

  it('sends a single-chunk message and the recipient downloads it byte for byte with its metadata', async () => {
    const body = randomBytes(10 * 1024);
    const fileName = uniqueFileName('single');
    const sent = await courier.sendMessage({
      to: GP,
      workflowId: 'TEST_WORKFLOW',
      body,
      subject: 'conformance single',
      localId: 'X26',
      fileName,
      contentType: 'application/fhir+json',
    });
    expect(sent).toMatchObject({ fileName, recovered: false, totalChunks: 1 });
    expect(await gp.listInbox()).toContain(sent.messageId);
    const msg = await gp.downloadMessage(sent.messageId);
    expect(msg.body.equals(body)).toBe(true);
    expect(msg).toMatchObject({
      messageId: sent.messageId,
      messageType: 'DATA',
      workflowId: 'TEST_WORKFLOW',
      from: COURIER,
      to: GP,
      subject: 'conformance single',
      localId: 'X26',
      fileName,
      contentType: 'application/fhir+json',
    });
    expect(msg.report).toBeUndefined();
    expect(msg.headers['mex-messageid']).toBe(sent.messageId);
    await gp.acknowledgeMessage(sent.messageId);
    expect(await gp.listInbox()).not.toContain(sent.messageId);
    await gp.acknowledgeMessage(sent.messageId); // idempotent
  });

  it('sends a chunked, compressed message and downloads all chunks gunzipped', async () => {
    const client = meshClient(COURIER, { chunkSize: 64 * 1024, compress: true });
    const body = Buffer.concat([randomBytes(100 * 1024), Buffer.alloc(150 * 1024, 'a')]); // 250 KiB → 4 chunks
    const sent = await client.sendMessage({ to: GP, workflowId: 'TEST_WORKFLOW', body, fileName: uniqueFileName('chunked') });
    expect(sent.totalChunks).toBe(4);
    const details = (await (await admin('GET', `/messageexchange/admin/message/${sent.messageId}`)).json()) as Record<string, unknown>;
    expect(JSON.stringify(details)).toContain('gzip');
    const msg = await gp.downloadMessage(sent.messageId);
    expect(msg.headers['mex-chunk-range']).toBe('1:4');
    expect(msg.body.equals(body)).toBe(true);
    await gp.acknowledgeMessage(sent.messageId);
  });

  it('streams a chunked download chunk by chunk', async () => {
    const client = meshClient(COURIER, { chunkSize: 10_000 });
    const body = randomBytes(35_000);
    const sent = await client.sendMessage({ to: GP, workflowId: 'TEST_WORKFLOW', body, fileName: uniqueFileName('stream') });
    const stream = await gp.downloadMessageStream(sent.messageId);
    expect(stream.metadata.totalChunks).toBe(4);
    const parts: Buffer[] = [];
    for await (const p of stream.body) parts.push(p);
    expect(Buffer.concat(parts).equals(body)).toBe(true);
    await gp.acknowledgeMessage(sent.messageId);
  });

  it('rejects an unknown recipient with MESH code 12 and never retries it', async () => {
    const err = await expectMeshError(
      courier.sendMessage({ to: 'X26NOPE9', workflowId: 'TEST_WORKFLOW', body: 'x' }),
      ErrorType.MESH_SEND_REJECTED,
    );
    expect(err.httpStatus).toBe(417);
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain('X26NOPE9');
  });

  it('tracks a sent message by id, and 404s an unknown id', async () => {
    const fileName = uniqueFileName('track');
    const sent = await courier.sendMessage({ to: GP, workflowId: 'TEST_WORKFLOW', body: 'track me', localId: 'X26', fileName });
    const t = await courier.trackMessage(sent.messageId);
    expect(t).toMatchObject({ message_id: sent.messageId, local_id: 'X26', workflow_id: 'TEST_WORKFLOW', filename: fileName, recipient: GP, status: 'accepted' });
    await gp.acknowledgeMessage(sent.messageId);
    expect((await courier.trackMessage(sent.messageId)).status).toBe('acknowledged');
    await expectMeshError(courier.trackMessage('0123456789ABCDEF0123456789ABCDEF'), ErrorType.MESH_NOT_FOUND);
  });

  it('looks up endpoints by ODS code and workflow', async () => {
    expect(await courier.lookupEndpoint('X26', 'TEST_WORKFLOW')).toEqual([{ mailboxId: GP, mailboxName: expect.any(String) }]);
    expect(await courier.lookupEndpoint('X27', 'TEST_WORKFLOW_ACK')).toEqual([{ mailboxId: SPARE, mailboxName: expect.any(String) }]);
    expect(await courier.lookupEndpoint('X99', 'TEST_WORKFLOW')).toEqual([]);
  });

  it('404s a download of an unknown message and 410s one marked failed', async () => {
    await expectMeshError(gp.downloadMessage('0123456789ABCDEF0123456789ABCDEF'), ErrorType.MESH_NOT_FOUND);
    const sent = await courier.sendMessage({ to: GP, workflowId: 'TEST_WORKFLOW', body: 'expire me', fileName: uniqueFileName('gone') });
    await admin('POST', `/messageexchange/admin/message/${sent.messageId}/event`, {
      status: 'error',
      code: '14',
      event: 'TRANSFER',
      description: 'Message not collected by recipient after 5 days',
    });
    const err = await expectMeshError(gp.downloadMessage(sent.messageId), ErrorType.MESH_GONE);
    expect(err.retryable).toBe(false);
  });

  it('parses a non-delivery report (code 14) and a GP routing error report (EPL-153)', async () => {
    const sent = await courier.sendMessage({ to: GP, workflowId: 'TEST_WORKFLOW', body: 'undeliverable', fileName: uniqueFileName('ndr') });
    const reportIds: string[] = [];
    for (const [code, description] of [
      ['14', 'Message not collected by recipient after 5 days'],
      ['EPL-153', 'NHS number not found'],
    ] as const) {
      const res = await admin('POST', '/messageexchange/admin/report', {
        mailbox_id: COURIER,
        status: 'error',
        code,
        description,
        workflow_id: 'TEST_WORKFLOW',
        linked_message_id: sent.messageId,
      });
      reportIds.push(((await res.json()) as { message_id: string }).message_id);
    }
    const inbox = await courier.listInbox();
    expect(inbox).toEqual(expect.arrayContaining(reportIds));
    const ndr = await courier.downloadMessage(reportIds[0]!);
    expect(ndr.messageType).toBe('REPORT');
    expect(ndr.body.length).toBe(0);
    expect(ndr.report).toMatchObject({ kind: 'NON_DELIVERY', statusCode: '14', linkedMessageId: sent.messageId, statusSuccess: 'ERROR', statusEvent: 'TRANSFER' });
    const routing = await courier.downloadMessage(reportIds[1]!);
    expect(routing.report).toMatchObject({ kind: 'ROUTING_ERROR', statusCode: 'EPL-153', linkedMessageId: sent.messageId });
    for (const id of reportIds) await courier.acknowledgeMessage(id);
    expect(await courier.listInbox()).not.toEqual(expect.arrayContaining([reportIds[0]]));
  });

  it('filters the inbox by workflow', async () => {
    const ack = await gp.sendMessage({ to: SPARE, workflowId: 'TEST_WORKFLOW_ACK', body: 'ack', fileName: uniqueFileName('wf') });
    const spare = meshClient(SPARE);
    expect(await spare.listInbox({ workflowFilter: 'TEST_WORKFLOW_ACK' })).toContain(ack.messageId);
    expect(await spare.listInbox({ workflowFilter: '!TEST_WORKFLOW_ACK' })).not.toContain(ack.messageId);
    expect(await spare.listInbox({ workflowFilter: '*_ACK*' })).toContain(ack.messageId);
    await spare.acknowledgeMessage(ack.messageId);
  });

  it('sends gzip on the wire when compressing', async () => {
    const client = meshClient(COURIER, { compress: true });
    const body = Buffer.alloc(50_000, 'z');
    const seen: number[] = [];
    const spy: typeof fetch = (input, init) => {
      if (init?.body instanceof Uint8Array) {
        seen.push(init.body.byteLength);
        expect(gunzipSync(init.body).equals(body)).toBe(true);
      }
      return fetch(input, init);
    };
    const sent = await meshClient(COURIER, { compress: true, fetch: spy }).sendMessage({ to: GP, workflowId: 'TEST_WORKFLOW', body, fileName: uniqueFileName('gz') });
    expect(seen[0]).toBeLessThan(1000);
    expect((await gp.downloadMessage(sent.messageId)).body.equals(body)).toBe(true);
    await gp.acknowledgeMessage(sent.messageId);
    void client;
  });
});
