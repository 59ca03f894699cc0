/**
 * The buildAndSendItk3Message activity (build and send of one attempt as one activity) over a real
 * MeshClient with a scripted network and an in-memory content store. What it must keep from the two
 * activities it replaces: a retry never posts a different message for an attempt that may have reached
 * MESH (the first try's stored build, named in its first heartbeat, is what every retry posts), and a
 * build that cannot succeed fails the same way as `buildItk3Message`.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type StoredMessage } from '../../../activities';
import type { InboundTemporal } from '../../../activities/inbound';
import { createLogger } from '../../../config/logger';
import { CourierError, ErrorType, type ContentRef } from '../../../contracts';
import { MeshClient } from '../../../mesh';
import type { ContentStore } from '../../../store/content-store';
import { PATIENTS, submission } from '../../fixtures/itk3/submissions';
import { fakeFetch, json, type RecordedCall } from './fake-mesh';

const IDS = { messageHeaderId: '6f1c1f0e-8d4b-4c37-9a51-2f0b7d0c9a11', bundleIdentifier: '0b8f2d4e-6a1c-4e3b-9d5f-7c2a1e0b3d4f' };

/** A content store in memory that counts what is put, so a test can tell whether a build ran. */
function memoryStore() {
  const items = new Map<string, Buffer>();
  const puts: string[] = [];
  let n = 0;
  const refOf = (key: string, content: Buffer): ContentRef => ({ key, sha256: createHash('sha256').update(content).digest('hex'), size: content.byteLength });
  const store: ContentStore = {
    async put(kind, content) {
      const key = `${kind}/${++n}`;
      items.set(key, Buffer.from(content));
      puts.push(kind);
      return refOf(key, Buffer.from(content));
    },
    async get(ref) {
      const item = items.get(ref.key);
      if (!item) throw new CourierError(ErrorType.STORE_NOT_FOUND, `content ${ref.key} not found`, [], false);
      return item;
    },
  };
  /** Puts content without counting it as a build's put. */
  const seed = (key: string, content: unknown): ContentRef => {
    const bytes = Buffer.from(JSON.stringify(content));
    items.set(key, bytes);
    return refOf(key, bytes);
  };
  const read = async (ref: ContentRef): Promise<StoredMessage> => JSON.parse((await store.get(ref)).toString('utf8')) as StoredMessage;
  return { store, puts, seed, read };
}

function activitiesOver(store: ContentStore, fetchImpl: typeof fetch, maxMessageBytes = 1_000_000) {
  const mesh = new MeshClient({ baseUrl: 'http://127.0.0.1:1', mailboxId: 'Y12345OT001', password: 'p', sharedKey: 'k', fetch: fetchImpl, unknownOutcomeSettleMs: 1, retryBaseDelayMs: 1 });
  const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
  return createActivities({
    config: { profile: '1.x', routing: { mode: 'mailbox', mailboxId: 'A99999OT001' }, maxMessageBytes, namespace: 'default', taskQueue: 'q', senderMailboxes: ['Y12345OT001'] },
    store,
    mesh,
    temporal: {} as Client,
    logger,
    inboundPort: {} as InboundTemporal,
  });
}

/** A stored message with bytes no build makes (`marker` in the XML), so a test can tell that these were posted. */
const storedMessage = (marker: string): StoredMessage => ({
  xml: `<Bundle xmlns="http://hl7.org/fhir"><id value="${marker}"/></Bundle>`,
  mesh: { to: 'A99999OT001', workflowId: 'GPFED_CONSULT_REPORT', subject: 'synthetic', localId: 'Y12345', fileName: `${IDS.bundleIdentifier}.xml`, contentType: 'application/fhir+xml' },
  routing: 'mailbox',
  recipientOds: 'A99999',
});

const isPost = (c: RecordedCall): boolean => c.method === 'POST' && c.path.endsWith('/outbox');
const acceptPosts = (id: string) => (c: RecordedCall) => (isPost(c) ? json(202, { message_id: id }) : undefined);
const emptySearch = (c: RecordedCall) => (c.path.includes('/outbox/rich') ? json(200, { messages: [], links: {} }) : undefined);
const firstTry = () => new MockActivityEnvironment({ attempt: 1, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000 });

describe('buildAndSendItk3Message activity', () => {
  it('builds, stores and posts the message once, and returns what build and send returned', async () => {
    const mem = memoryStore();
    const submissionRef = mem.seed('submission/1', submission());
    const net = fakeFetch([acceptPosts('M-1')]);
    const result = await firstTry().run(activitiesOver(mem.store, net.fetch).buildAndSendItk3Message, { submissionRef, attempt: 1, ...IDS });

    expect(net.calls.filter(isPost)).toHaveLength(1);
    expect(mem.puts).toEqual(['itk3-message']);
    const stored = await mem.read({ key: 'itk3-message/1', sha256: 'x', size: 0 });
    expect(net.calls.find(isPost)!.body!.toString('utf8')).toBe(stored.xml);
    expect(result).toEqual({
      sizeBytes: Buffer.byteLength(stored.xml, 'utf8'),
      meshWorkflowId: stored.mesh.workflowId,
      meshMessageId: 'M-1',
      sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      routing: 'mailbox',
      recipientMailbox: 'A99999OT001',
    });
    expect(stored.mesh.workflowId).toMatch(/^GP/);
  });

  it('names the stored message in its first heartbeat, before anything is posted, and keeps it in every later one', async () => {
    const mem = memoryStore();
    const submissionRef = mem.seed('submission/1', submission());
    const beats: Array<Record<string, unknown>> = [];
    let beatsAtPost: Array<Record<string, unknown>> | undefined;
    const net = fakeFetch([
      (c) => {
        if (isPost(c)) beatsAtPost = [...beats];
        return undefined;
      },
      acceptPosts('M-1'),
    ]);
    const env = firstTry();
    env.on('heartbeat', (d: Record<string, unknown>) => beats.push(d));
    await env.run(activitiesOver(mem.store, net.fetch).buildAndSendItk3Message, { submissionRef, attempt: 1, ...IDS });

    const built = await mem.store.put('probe', Buffer.from('')); // the next key tells which one the build used
    const messageRef = { key: 'itk3-message/1', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: expect.any(Number) };
    expect(built.key).toBe('probe/2');
    // The first heartbeat names it, and so does every one sent before the first POST reached the network.
    expect(beatsAtPost![0]).toEqual({ step: 'starting', messageRef });
    for (const beat of beatsAtPost!) expect(beat).toMatchObject({ messageRef });
    expect(beats.length).toBeGreaterThan(1);
    for (const beat of beats) expect(beat).toMatchObject({ messageRef });
    // Ids and a digest only: nothing of the patient, nor the address, reaches history through the heartbeat.
    // (The patient's own values, not a pattern: a sha256 in hex can hold ten digits in a row.)
    const text = JSON.stringify(beats);
    for (const value of [PATIENTS.ada.nhsNumber, PATIENTS.ada.givenName, PATIENTS.ada.familyName, PATIENTS.ada.birthDate, 'A99999OT001']) expect(text).not.toContain(value);
  });

  it('on a retry whose heartbeat names a stored message, posts exactly those bytes and builds nothing', async () => {
    const mem = memoryStore();
    // No submission in the store (a rebuild would fail), and bytes no build makes: the retry must post these.
    const earlier = storedMessage('built-by-the-first-try');
    const messageRef = mem.seed('itk3-message/first-try', earlier);
    const net = fakeFetch([emptySearch, acceptPosts('M-2')]);
    const env = new MockActivityEnvironment({
      attempt: 2,
      heartbeatTimeoutMs: 30_000,
      startToCloseTimeoutMs: 300_000,
      scheduledTimestampMs: Date.now() - 60_000,
      heartbeatDetails: { step: 'starting', messageRef },
    });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const missing = { key: 'submission/gone', sha256: 'b'.repeat(64), size: 1 };
    const result = await env.run(activitiesOver(mem.store, net.fetch).buildAndSendItk3Message, { submissionRef: missing, attempt: 1, ...IDS });

    expect(mem.puts).toEqual([]);
    // A retry still looks for the file name before it posts, in case the first try's post went through.
    expect(net.calls.some((c) => c.path.includes('/outbox/rich'))).toBe(true);
    expect(net.calls.filter(isPost).map((c) => c.body!.toString('utf8'))).toEqual([earlier.xml]);
    expect(result).toMatchObject({ sizeBytes: Buffer.byteLength(earlier.xml, 'utf8'), meshWorkflowId: 'GPFED_CONSULT_REPORT', meshMessageId: 'M-2', routing: 'mailbox' });
    expect(beats[0]).toEqual({ step: 'starting', messageRef });
  });

  it('posts the message the API built for a first attempt, on every try, reading no submission and building nothing', async () => {
    const mem = memoryStore();
    const prebuilt = storedMessage('built-by-the-api');
    const messageRef = mem.seed('itk3-message/api', prebuilt);
    // No submission in the store: reading or building it would fail the attempt.
    const missing = { key: 'submission/gone', sha256: 'b'.repeat(64), size: 1 };
    const input = { submissionRef: missing, attempt: 1, ...IDS, messageRef };
    const beats: unknown[] = [];
    const first = firstTry();
    first.on('heartbeat', (d: unknown) => beats.push(d));
    const net = fakeFetch([acceptPosts('M-1')]);
    const result = await first.run(activitiesOver(mem.store, net.fetch).buildAndSendItk3Message, input);
    expect(mem.puts).toEqual([]);
    expect(net.calls.filter(isPost).map((c) => c.body!.toString('utf8'))).toEqual([prebuilt.xml]);
    expect(result).toMatchObject({ sizeBytes: Buffer.byteLength(prebuilt.xml, 'utf8'), meshWorkflowId: 'GPFED_CONSULT_REPORT', meshMessageId: 'M-1', recipientMailbox: 'A99999OT001' });
    // Named in the first heartbeat too, as a build's would be.
    expect(beats[0]).toMatchObject({ step: 'starting', messageRef });

    // A retry whose first try never heartbeated (the worker died at once) posts the same bytes.
    const again = fakeFetch([emptySearch, acceptPosts('M-2')]);
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 30_000, startToCloseTimeoutMs: 300_000, scheduledTimestampMs: Date.now() - 60_000 });
    await retry.run(activitiesOver(mem.store, again.fetch).buildAndSendItk3Message, input);
    expect(again.calls.filter(isPost).map((c) => c.body!.toString('utf8'))).toEqual([prebuilt.xml]);
    expect(mem.puts).toEqual([]);
  });

  it('fails a build that cannot succeed for good, with the same failure as buildItk3Message, and posts nothing', async () => {
    const cases = [
      { name: 'too large', content: submission(), maxMessageBytes: 1_000 },
      { name: 'not a submission', content: { ...submission(), patient: undefined }, maxMessageBytes: 1_000_000 },
    ];
    for (const c of cases) {
      const mem = memoryStore();
      const submissionRef = mem.seed('submission/1', c.content);
      const net = fakeFetch([acceptPosts('M-1')]);
      const activities = activitiesOver(mem.store, net.fetch, c.maxMessageBytes);
      const input = { submissionRef, attempt: 1, ...IDS };
      const failureOf = async (run: Promise<unknown>) => {
        const err = (await run.then(() => undefined, (e: unknown) => e)) as { name?: string; type?: string; nonRetryable?: boolean } | undefined;
        return { name: err?.name, type: err?.type, nonRetryable: err?.nonRetryable };
      };
      const viaBuild = await failureOf(firstTry().run(activities.buildItk3Message, input));
      const merged = await failureOf(firstTry().run(activities.buildAndSendItk3Message, input));
      expect(viaBuild.name).toBeDefined();
      expect({ case: c.name, ...merged }).toEqual({ case: c.name, ...viaBuild });
      expect(net.calls).toEqual([]);
    }
    const tooLarge = memoryStore();
    const run = firstTry().run(activitiesOver(tooLarge.store, fakeFetch([]).fetch, 1_000).buildAndSendItk3Message, { submissionRef: tooLarge.seed('s/1', submission()), attempt: 1, ...IDS });
    await expect(run).rejects.toMatchObject({ type: ErrorType.ITK3_BUILD_REJECTED, nonRetryable: true });
  });

  it('fails for good, as SUBMISSION_INVALID with paths and rules, when the stored submission is not JSON or no longer a valid submission', async () => {
    const patient = PATIENTS.ada;
    const cases: Array<{ name: string; bytes: Buffer; path: string }> = [
      { name: 'not JSON', bytes: Buffer.from('{"documentId": '), path: 'submissionRef' },
      { name: 'no NHS number', bytes: Buffer.from(JSON.stringify({ ...submission(), patient: { ...submission().patient, nhsNumber: undefined } })), path: 'patient.nhsNumber' },
    ];
    for (const c of cases) {
      for (const name of ['buildItk3Message', 'buildAndSendItk3Message'] as const) {
        const mem = memoryStore();
        const submissionRef = await mem.store.put('submission', c.bytes);
        const net = fakeFetch([acceptPosts('M-1')]);
        const err = (await firstTry()
          .run(activitiesOver(mem.store, net.fetch)[name], { submissionRef, attempt: 1, ...IDS })
          .then(() => undefined, (e: unknown) => e)) as { type?: string; nonRetryable?: boolean; details?: unknown[]; message?: string } | undefined;
        // Not retried: an operator corrects the submission (the workflow escalates a non-retryable send failure).
        expect({ case: c.name, name, type: err?.type, nonRetryable: err?.nonRetryable }).toEqual({ case: c.name, name, type: ErrorType.SUBMISSION_INVALID, nonRetryable: true });
        const issues = (err?.details?.[0] ?? []) as Array<{ path?: string }>;
        expect(issues.map((i) => i.path)).toContain(c.path);
        const said = JSON.stringify({ message: err?.message, details: err?.details });
        for (const value of [patient.nhsNumber, patient.familyName, patient.birthDate]) expect(said).not.toContain(value);
        expect(net.calls).toEqual([]);
      }
    }
  });
});
