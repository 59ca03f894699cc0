/**
 * A MESH message that cannot be downloaded (410 gone, 404, a chunk that fails on the wire) is
 * never acknowledged blindly. A poll pass (the real `pollMeshInbox` activity, real MeshClient, real
 * mesh-sandbox, real Temporal) reports it and leaves it in the inbox; the next pass, once it can be read,
 * routes it (here: to the quarantine) and acknowledges it, and says the failure has recovered.
 * The listing is wrapped so that the test controls which ids a pass sees and when the sandbox fails them.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createInboundActivities, type InboxMesh } from '../../activities/inbound';
import type { PollMeshInboxInput, PollMeshInboxResult } from '../../contracts';
import { quarantineWorkflowId } from '../../contracts/inbound';
import { MeshClient } from '../../mesh';
import { createStore } from '../../worker/compose';
import { eventually, startInboundHarness, type InboundHarness } from '../helpers/inbound-harness';

jest.setTimeout(120_000);

let h: InboundHarness;
beforeAll(async () => {
  // A worker for the quarantine entries, but no pollers: this test drives the passes itself.
  h = await startInboundHarness({ pollers: false, peer: false });
});
afterAll(async () => {
  await h?.stop();
});

const admin = async (path: string, body?: unknown): Promise<Record<string, unknown>> => {
  const res = await fetch(`${h.services.meshUrl}/messageexchange/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`admin ${path}: ${res.status}`);
  const text = await res.text();
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
};
const statusOf = async (id: string): Promise<string> => String((await admin(`/message/${id}`)).status).toLowerCase();

function passRunner(mesh: MeshClient, visible: () => string[], afterList: (ids: string[]) => Promise<void> = async () => undefined) {
  // Only the ids of this test, so other files' leftovers in X26ABC1 do not matter.
  const inbox: InboxMesh = {
    mailbox: mesh.mailbox,
    listInbox: async () => {
      const listed = new Set(await mesh.listInbox());
      const ids = visible().filter((id) => listed.has(id) || id.startsWith('NOSUCH'));
      await afterList(ids);
      return ids;
    },
    downloadMessage: (id) => mesh.downloadMessage(id),
    acknowledgeMessage: (id) => mesh.acknowledgeMessage(id),
    handshake: () => mesh.handshake(),
  };
  const acts = createInboundActivities({
    temporal: h.temporal,
    taskQueue: h.config.env.ITK3_TASK_QUEUE,
    store: createStore(h.config),
    logger: pino({ level: 'silent' }),
    inboxes: new Map([[mesh.mailbox, inbox]]),
    rematchDelaysMs: [],
    checks: { routing: { mode: 'mailbox', mailboxId: 'X26ABC2' } },
  });
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR', () => undefined) });
  return (input: Omit<PollMeshInboxInput, 'mailboxId'>) => env.run(acts.pollMeshInbox, { mailboxId: mesh.mailbox, ...input }) as Promise<PollMeshInboxResult>;
}

async function sendMalformed(opts: { chunkSize?: number; size?: number } = {}): Promise<string> {
  const sender = opts.chunkSize ? new MeshClient({ baseUrl: h.services.meshUrl, mailboxId: 'X26ABC2', password: 'password', sharedKey: h.services.meshSharedKey, chunkSize: opts.chunkSize }) : h.meshAs('X26ABC2');
  const body = Buffer.from(`<Bundle>${'x'.repeat(opts.size ?? 10)}`);
  return (await sender.sendMessage({ to: 'X26ABC1', workflowId: 'GPCONNECT_SEND_DOCUMENT_ACK', body })).messageId;
}

it('410 gone: reported, not acknowledged, retried; once readable, routed and acknowledged', async () => {
  const id = await sendMalformed();
  let breakIt = true;
  const pass = passRunner(h.meshAs('X26ABC1'), () => [id], async (ids) => {
    // Listed, then gone before the download: MESH answers 410.
    if (breakIt && ids.includes(id)) await admin(`/message/${id}/event`, { status: 'error', code: '14', event: 'TRANSFER', description: 'gone' });
  });

  const first = await pass({});
  expect(first.failed).toEqual([{ meshMessageId: id, errorType: 'MESH_GONE', httpStatus: 410 }]);
  expect(first.quarantined).toBe(0);
  expect(await statusOf(id)).not.toBe('acknowledged');
  await expect(h.quarantine.show(quarantineWorkflowId('X26ABC1', id))).rejects.toMatchObject({ status: 404 });

  breakIt = false;
  await admin(`/message/${id}/event`, { status: 'accepted' });
  const second = await pass({ knownFailures: [id] });
  expect(second).toMatchObject({ failed: [], quarantined: 1, recovered: [id] });
  expect(await statusOf(id)).toBe('acknowledged');
  const entry = await eventually(() => h.quarantine.show(quarantineWorkflowId('X26ABC1', id)).catch(() => undefined), 30_000, 'the quarantine entry');
  expect(entry.reason).toBe('MALFORMED');
});

it('404 for a listed id: reported; gone from a later complete listing, it counts as recovered', async () => {
  const ghost = `NOSUCH${randomUUID().replace(/-/g, '').toUpperCase()}`;
  let visible = [ghost];
  const pass = passRunner(h.meshAs('X26ABC1'), () => visible);
  const first = await pass({});
  expect(first.failed).toEqual([{ meshMessageId: ghost, errorType: 'MESH_NOT_FOUND', httpStatus: 404 }]);
  visible = [];
  const second = await pass({ knownFailures: [ghost] });
  expect(second).toMatchObject({ listed: 0, failed: [], recovered: [ghost] });
});

it('a chunk that fails on the wire: the whole message is left for the next pass, never half-read and acknowledged', async () => {
  const id = await sendMalformed({ chunkSize: 1024, size: 3000 });
  let failChunk = true;
  const flaky: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (failChunk && url.endsWith(`/inbox/${id}/2`)) throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    return fetch(input, init);
  };
  const mesh = new MeshClient({ baseUrl: h.services.meshUrl, mailboxId: 'X26ABC1', password: 'password', sharedKey: h.services.meshSharedKey, fetch: flaky, maxRetries: 0 });
  const pass = passRunner(mesh, () => [id]);

  const first = await pass({});
  expect(first.failed).toEqual([{ meshMessageId: id, errorType: 'MESH_NETWORK_ERROR' }]);
  expect(await statusOf(id)).not.toBe('acknowledged');

  failChunk = false;
  const second = await pass({ knownFailures: [id] });
  expect(second).toMatchObject({ failed: [], quarantined: 1, recovered: [id] });
  const entry = await eventually(() => h.quarantine.show(quarantineWorkflowId('X26ABC1', id), true).catch(() => undefined), 30_000, 'the quarantine entry');
  // All three chunks were kept, in order.
  expect(entry.content?.body).toBe(`<Bundle>${'x'.repeat(3000)}`);
});
