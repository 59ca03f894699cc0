/**
 * The inbound size limits against the real mesh-sandbox: a gzip bomb (128 MiB of zeros, about 130 KB as
 * sent) posted to our mailbox with `Content-Encoding: gzip` is served gzipped by the sandbox; the real
 * MeshClient decodes it only to just past the decoded limit, and the router quarantines it as OVERSIZED
 * with its headers and a bounded prefix, then acknowledges it on the sandbox.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import pino from 'pino';
import { routeInboxMessage } from '../../../activities/inbound';
import { buildAuthorizationHeader, MeshClient, OVERSIZE_PREFIX_BYTES } from '../../../mesh';
import { testServices } from '../../helpers/services';
import { FakeTemporal, tempStore, ACK_WORKFLOW, MAILBOX_CHECKS } from '../../unit/inbound/fakes';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

async function gzipBomb(size: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (b: Buffer) => out.push(b));
  const block = Buffer.alloc(MiB);
  for (let written = 0; written < size; written += block.length) if (!gzip.write(block)) await once(gzip, 'drain');
  gzip.end();
  await once(gzip, 'end');
  return Buffer.concat(out);
}

/** POST already-gzipped bytes as a message from X26ABC2 to X26ABC1, the way a hostile sender could. */
async function postRaw(meshUrl: string, sharedKey: string, body: Buffer): Promise<string> {
  const authorization = buildAuthorizationHeader({ mailboxId: 'X26ABC2', password: 'password', sharedKey, nonce: randomUUID(), nonceCount: 1, timestamp: new Date() });
  const res = await fetch(`${meshUrl}/messageexchange/X26ABC2/outbox`, {
    method: 'POST',
    headers: {
      authorization,
      accept: 'application/vnd.mesh.v2+json',
      'content-type': 'application/octet-stream',
      'content-encoding': 'gzip',
      'mex-from': 'X26ABC2',
      'mex-to': 'X26ABC1',
      'mex-workflowid': ACK_WORKFLOW,
      'mex-filename': `bomb-${randomUUID()}.xml`,
    },
    body,
  });
  if (res.status !== 202) throw new Error(`sandbox refused the upload: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { message_id: string }).message_id;
}

describe('inbound size limits against mesh-sandbox', () => {
  it('quarantines a gzip bomb as OVERSIZED without inflating it, and acknowledges it', async () => {
    const services = testServices();
    const bomb = await gzipBomb(128 * MiB);
    const id = await postRaw(services.meshUrl, services.meshSharedKey, bomb);
    const client = new MeshClient({ baseUrl: services.meshUrl, mailboxId: 'X26ABC1', password: 'password', sharedKey: services.meshSharedKey, downloadLimits: { maxCompressedBytes: MiB, maxBytes: 8 * MiB } });
    const temporal = new FakeTemporal([]);
    const store = tempStore();
    const before = process.memoryUsage().rss;
    const outcome = await routeInboxMessage({ temporal, store, logger: pino({ level: 'silent' }), now: () => new Date(), rematchDelaysMs: [], checks: MAILBOX_CHECKS }, client, id);
    expect(outcome).toBe('quarantined');
    expect(process.memoryUsage().rss - before).toBeLessThan(96 * MiB);
    const [entry] = [...temporal.quarantines.values()];
    expect(entry!.input).toMatchObject({ reason: 'OVERSIZED', meshMessageId: id, meshWorkflowId: ACK_WORKFLOW });
    expect(entry!.input.detail).toMatch(/^over the inbound limit of 8388608 bytes decoded/);
    const stored = JSON.parse((await store.get(entry!.input.contentRef)).toString('utf8')) as { headers: Record<string, string>; bodyBase64: string };
    expect(stored.headers['mex-from']).toBe('X26ABC2');
    expect(Buffer.from(stored.bodyBase64, 'base64').length).toBe(OVERSIZE_PREFIX_BYTES);
    // Acknowledged: the sandbox no longer lists it.
    expect(await client.listInbox()).not.toContain(id);
  });
});
