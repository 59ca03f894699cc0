/**
 * The sendMeshMessage activity around a real MeshClient with a scripted network, because
 * two live attempts of one send each posted once a worker outlived its timeout: it heartbeats while it works, an attempt that Temporal has timed out or cancelled (or that
 * reaches its own deadline) never posts, and a retry reuses the message id its predecessor heartbeated.
 */
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, localDeadlineMs, type ActivityConfig, type StoredMessage } from '../../../activities';
import type { InboundTemporal } from '../../../activities/inbound';
import { SentMessageIndex } from '../../../activities/sent-index';
import { createLogger } from '../../../config/logger';
import type { ContentRef } from '../../../contracts';
import { MeshClient } from '../../../mesh';
import type { ContentStore } from '../../../store/content-store';
import { json } from './fake-mesh';

const REF = { key: 'itk3-message/1', sha256: 'a'.repeat(64), size: 1 } as unknown as ContentRef;
const stored: StoredMessage = {
  xml: '<Bundle/>',
  mesh: { to: 'X26ABC2', workflowId: 'GPFED_CONSULT_REPORT', subject: 'NHS 9434765919', localId: 'X26', fileName: 'attempt-1.xml', contentType: 'application/fhir+xml' },
};
const store: ContentStore = { put: () => Promise.reject(new Error('unused')), get: async () => Buffer.from(JSON.stringify(stored)) };
const input = { messageRef: REF, messageHeaderId: '6f1c1f0e-8d4b-4c37-9a51-2f0b7d0c9a11', attempt: 1 };

interface Call {
  method: string;
  path: string;
}

/** A fetch whose answers are scripted per call; `hang` waits until the request's own signal aborts. */
function network(answer: (call: Call) => Response | 'hang' | undefined) {
  const calls: Call[] = [];
  const impl = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const u = new URL(String(url));
    const call = { method: init?.method ?? 'GET', path: `${u.pathname}${u.search}` };
    calls.push(call);
    const a = answer(call);
    if (a === 'hang') {
      return new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    }
    return a ?? json(599, {});
  };
  return { fetch: impl as typeof fetch, calls };
}

const meshOver = (fetchImpl: typeof fetch): MeshClient =>
  new MeshClient({ baseUrl: 'http://127.0.0.1:1', mailboxId: 'X26ABC1', password: 'p', sharedKey: 'k', fetch: fetchImpl, unknownOutcomeSettleMs: 1, retryBaseDelayMs: 1 });

/** The real activity over a scripted network; `over` swaps the stored message or the deployment's profile and routing. */
function sendActivity(
  fetchImpl: typeof fetch,
  sentIndex?: SentMessageIndex,
  meshClient?: MeshClient,
  over: { message?: StoredMessage; profile?: ActivityConfig['profile']; routing?: ActivityConfig['routing'] } = {},
) {
  const mesh = meshClient ?? meshOver(fetchImpl);
  const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const routing = over.routing ?? { mode: 'mailbox', mailboxId: 'X26ABC2' };
  return createActivities({
    config: { profile: over.profile ?? '1.x', routing, maxMessageBytes: 1_000_000, namespace: 'default', taskQueue: 'q', senderMailboxes: ['X26ABC1'] },
    store: over.message ? { ...store, get: async () => Buffer.from(JSON.stringify(over.message)) } : store,
    mesh,
    temporal: {} as Client,
    logger,
    inboundPort: {} as InboundTemporal,
    ...(sentIndex ? { sentIndex } : {}),
  }).sendMeshMessage;
}

const posts = (calls: Call[]) => calls.filter((c) => c.method === 'POST' && c.path.endsWith('/outbox')).length;

describe('sendMeshMessage activity', () => {
  it('heartbeats while a lookup is stuck, and once timed out by the server never posts', async () => {
    const net = network((c) => (c.path.includes('/outbox/rich') ? 'hang' : c.path.endsWith('/outbox') ? json(202, { message_id: 'NEW' }) : undefined));
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 3_000, startToCloseTimeoutMs: 300_000, scheduledTimestampMs: Date.now() - 60_000 });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => {
      beats.push(d);
      // Two heartbeats from the timer while the listing hangs; the server answers the second with "timed out".
      if (beats.length === 4) env.cancel('TIMED_OUT');
    });
    const started = Date.now();
    await expect(env.run(sendActivity(net.fetch), input)).rejects.toMatchObject({ name: 'CancelledFailure' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500); // the interval heartbeats (every 1 s here) kept it alive
    expect(beats).toEqual([{ step: 'starting' }, { step: 'looking-up' }, { step: 'looking-up' }, { step: 'looking-up' }]);
    expect(JSON.stringify(beats)).not.toMatch(/9434765919|X26ABC2/);
    expect(posts(net.calls)).toBe(0);
  });

  it('stops itself before its start-to-close deadline, so it cannot post while the next attempt runs', async () => {
    expect(localDeadlineMs(300_000)).toBe(270_000);
    const net = network((c) => (c.path.includes('/outbox/rich') ? 'hang' : c.path.endsWith('/outbox') ? json(202, { message_id: 'NEW' }) : undefined));
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 400, scheduledTimestampMs: Date.now() });
    await expect(env.run(sendActivity(net.fetch), input)).rejects.toMatchObject({ type: 'MESH_NETWORK_ERROR', nonRetryable: false });
    expect(posts(net.calls)).toBe(0);
  });

  it('heartbeats the MESH message id, and a retry confirms that id with one call instead of searching the outbox', async () => {
    const first = network((c) => (c.path.endsWith('/outbox') ? json(202, { message_id: 'M-1' }) : undefined));
    const env1 = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000 });
    const beats: unknown[] = [];
    env1.on('heartbeat', (d: unknown) => beats.push(d));
    expect(await env1.run(sendActivity(first.fetch), input)).toMatchObject({ meshMessageId: 'M-1' });
    const last = beats.at(-1);
    expect(last).toEqual({ step: 'first-chunk-accepted', messageId: 'M-1' });

    // The worker died before reporting completion: attempt 2 sees attempt 1's last heartbeat.
    const second = network((c) => (c.path.includes('/tracking?messageID=M-1') ? json(200, { message_id: 'M-1', filename: 'attempt-1.xml', status: 'accepted' }) : undefined));
    const env2 = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, heartbeatDetails: last, scheduledTimestampMs: Date.now() - 60_000 });
    expect(await env2.run(sendActivity(second.fetch), input)).toMatchObject({ meshMessageId: 'M-1' });
    expect(second.calls.map((c) => c.method + ' ' + c.path.split('?')[0])).toEqual(['GET /messageexchange/X26ABC1/outbox/tracking']);
  });
  it('carries how far a search reached in its heartbeat, and the next attempt searches only from there', async () => {
    const listedAt = Math.floor(Date.now() / 1000) * 1000 - 60_000; // a minute ago, in whole seconds like a Date header
    const first = network((c) =>
      c.path.includes('/outbox/rich') ? json(200, { messages: [], links: {} }, { date: new Date(listedAt).toUTCString() }) : c.path.endsWith('/outbox') ? 'hang' : undefined,
    );
    const env1 = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, scheduledTimestampMs: Date.now() - 600_000 });
    const beats: Array<Record<string, unknown>> = [];
    env1.on('heartbeat', (d: Record<string, unknown>) => {
      beats.push(d);
      if (d.step === 'posting-first-chunk') env1.cancel('TIMED_OUT');
    });
    await expect(env1.run(sendActivity(first.fetch), input)).rejects.toMatchObject({ name: 'CancelledFailure' });
    const notBefore = new Date(listedAt - 5_000).toISOString();
    expect(beats.at(-1)).toEqual({ step: 'posting-first-chunk', notBefore });

    const second = network((c) => (c.path.includes('/outbox/rich') ? json(200, { messages: [], links: {} }) : c.path.endsWith('/outbox') ? json(202, { message_id: 'M-2' }) : undefined));
    const env2 = new MockActivityEnvironment({ attempt: 3, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, scheduledTimestampMs: Date.now() - 600_000, heartbeatDetails: beats.at(-1) });
    expect(await env2.run(sendActivity(second.fetch), input)).toMatchObject({ meshMessageId: 'M-2' });
    const rich = second.calls.find((c) => c.path.includes('/outbox/rich'))!;
    expect(new URL(rich.path, 'http://x').searchParams.get('start_time')).toBe(notBefore.replace(/Z$/, ''));
  });

  it('remembers which delivery sent the ITK3 message, so its responses are routed without a visibility query', async () => {
    const index = new SentMessageIndex();
    const net = network((c) => (c.path.endsWith('/outbox') ? json(202, { message_id: 'M-9' }) : undefined));
    const env = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, workflowExecution: { workflowId: 'delivery-7', runId: 'r' } });
    await env.run(sendActivity(net.fetch, index), input);
    expect(index.workflowOf(input.messageHeaderId)).toBe('delivery-7');
  });

  it('records who may answer: the recipient mailbox (mailbox routing) and ODS, in the sent index and the result', async () => {
    const index = new SentMessageIndex();
    const net = network((c) => (c.path.endsWith('/outbox') ? json(202, { message_id: 'M-10' }) : undefined));
    const withOds: StoredMessage = { ...stored, routing: 'mailbox', recipientOds: 'X26' };
    const activity = sendActivity(net.fetch, index, undefined, { message: withOds });
    const env = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, workflowExecution: { workflowId: 'delivery-8', runId: 'r' } });
    expect(await env.run(activity, input)).toMatchObject({ meshMessageId: 'M-10', routing: 'mailbox', recipientMailbox: 'X26ABC2' });
    expect(index.entryOf(input.messageHeaderId)).toEqual({ workflowId: 'delivery-8', recipientMailbox: 'X26ABC2', recipientOds: 'X26', meshMessageId: 'M-10' });
  });

  it('never keeps a GPPROVIDER address (it holds patient identifiers) as a recipient mailbox', async () => {
    const index = new SentMessageIndex();
    const net = network((c) => (c.path.endsWith('/outbox') ? json(202, { message_id: 'M-11' }) : undefined));
    const gp: StoredMessage = { ...stored, mesh: { ...stored.mesh, to: 'GPPROVIDER_9990000018_09011957_Testpatient' }, routing: 'gpprovider', recipientOds: 'X26' };
    const activity = sendActivity(net.fetch, index, undefined, { message: gp, profile: '2.x', routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY' } });
    const env = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, workflowExecution: { workflowId: 'delivery-9', runId: 'r' } });
    const result = await env.run(activity, input);
    expect(result).toMatchObject({ routing: 'gpprovider' });
    expect(JSON.stringify(result)).not.toContain('9990000018');
    expect(JSON.stringify(index.entryOf(input.messageHeaderId))).not.toContain('9990000018');
  });

  it('heartbeats, before a first POST, the MESH time it cannot predate; killed during it, the retry searches only from there', async () => {
    const meshNow = Math.floor(Date.now() / 1000) * 1000 + 90_000; // MESH's clock, whole seconds, ahead of ours
    const date = { date: new Date(meshNow).toUTCString() };
    const first = network((c) => (c.path === '/messageexchange/X26ABC1' ? new Response(null, { status: 200, headers: date }) : c.path.endsWith('/outbox') ? 'hang' : undefined));
    const mesh = meshOver(first.fetch);
    await mesh.handshake(); // the worker's client has talked to MESH before (handshake, inbox polls)
    const env1 = new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000 });
    const beats: Array<Record<string, unknown>> = [];
    env1.on('heartbeat', (d: Record<string, unknown>) => {
      beats.push(d);
      if (d.step === 'posting-first-chunk') env1.cancel('TIMED_OUT'); // the worker dies during the POST
    });
    await expect(env1.run(sendActivity(first.fetch, undefined, mesh), input)).rejects.toMatchObject({ name: 'CancelledFailure' });
    const notBefore = beats.at(-1)!.notBefore as string;
    // In the first heartbeat already (the one the SDK sends at once), and kept through the POST.
    expect(beats[0]).toEqual({ step: 'starting', notBefore });
    expect(beats.at(-1)).toEqual({ step: 'posting-first-chunk', notBefore });
    // Our clock and MESH's differ by 90 s here: the bound is MESH's time at the POST (to within the
    // Date header's second and this test's run time), less the 5 s margin.
    expect(Math.abs(Date.parse(notBefore) - (meshNow - 5_000))).toBeLessThan(2_000);

    const second = network((c) => (c.path.includes('/outbox/rich') ? json(200, { messages: [], links: {} }) : c.path.endsWith('/outbox') ? json(202, { message_id: 'M-2' }) : undefined));
    const env2 = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, scheduledTimestampMs: Date.now() - 600_000, heartbeatDetails: beats.at(-1) });
    expect(await env2.run(sendActivity(second.fetch), input)).toMatchObject({ meshMessageId: 'M-2' });
    const rich = second.calls.find((c) => c.path.includes('/outbox/rich'))!;
    expect(new URL(rich.path, 'http://x').searchParams.get('start_time')).toBe(notBefore.replace(/Z$/, ''));
  });

  it('claims no bound on a retry that inherited none: an earlier try may have posted before it started', async () => {
    const date = { date: new Date().toUTCString() };
    const net = network((c) => (c.path === '/messageexchange/X26ABC1' ? new Response(null, { status: 200, headers: date }) : c.path.includes('/outbox/rich') ? 'hang' : undefined));
    const mesh = meshOver(net.fetch);
    await mesh.handshake();
    expect(mesh.meshClockBound()).toBeDefined();
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, scheduledTimestampMs: Date.now() - 60_000 });
    const beats: Array<Record<string, unknown>> = [];
    env.on('heartbeat', (d: Record<string, unknown>) => {
      beats.push(d);
      env.cancel('TIMED_OUT');
    });
    await expect(env.run(sendActivity(net.fetch, undefined, mesh), input)).rejects.toMatchObject({ name: 'CancelledFailure' });
    expect(beats[0]).toEqual({ step: 'starting' });
    expect(posts(net.calls)).toBe(0);
  });
});
