import { randomBytes } from 'node:crypto';
import { ErrorType } from '../../../contracts/errors';
import { type MeshError } from '../../../mesh';
import { testServices } from '../../helpers/services';
import { startFaultProxy, type FaultProxy, type FaultRule } from './fault-proxy';
import { COURIER, RECEIVER, inboxIdsWithFileName, meshClient, uniqueFileName, uniqueWorkflow } from './helpers';

jest.setTimeout(60_000);

const FIRST_POST = /^\/messageexchange\/X26ABC1\/outbox$/;
const CHUNK_POST = /^\/messageexchange\/X26ABC1\/outbox\/[^/]+\/\d+$/;

describe('a send whose outcome is unknown is never duplicated', () => {
  let proxy: FaultProxy | undefined;
  const receiver = meshClient(RECEIVER);
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  async function courierVia(rules: FaultRule[], overrides = {}) {
    proxy = await startFaultProxy(testServices().meshUrl, rules);
    return meshClient(COURIER, { baseUrl: proxy.url, unknownOutcomeSettleMs: 50, ...overrides });
  }
  const posts = (): number => proxy!.log.filter((e) => e.method === 'POST' && FIRST_POST.test(e.path)).length;
  const forwardedPosts = (): number => proxy!.log.filter((e) => e.forwarded && e.method === 'POST' && FIRST_POST.test(e.path)).length;

  it('finds the message instead of resending when the first POST response is lost', async () => {
    const courier = await courierVia([{ method: 'POST', path: FIRST_POST, faults: ['drop-response'] }]);
    const wf = uniqueWorkflow('unknown');
    const fileName = uniqueFileName('lost-response');
    const sent = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'clinical document', localId: 'X26', subject: 'NHS 9434765919', fileName });
    expect(sent.recovered).toBe(true);
    expect(posts()).toBe(1);
    const delivered = await inboxIdsWithFileName(receiver, wf, fileName);
    expect(delivered).toEqual([sent.messageId]);
    expect((await receiver.downloadMessage(sent.messageId)).body.toString()).toBe('clinical document');
    await receiver.acknowledgeMessage(sent.messageId);
  });

  it('sends again, exactly once, when the lost request never reached MESH', async () => {
    const courier = await courierVia([{ method: 'POST', path: FIRST_POST, faults: ['drop-request'] }]);
    const wf = uniqueWorkflow('unknown');
    const fileName = uniqueFileName('lost-request');
    const sent = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'second try', localId: 'X26', fileName });
    expect(sent.recovered).toBe(false);
    expect(posts()).toBe(2);
    expect(forwardedPosts()).toBe(1);
    expect(await inboxIdsWithFileName(receiver, wf, fileName)).toEqual([sent.messageId]);
    await receiver.acknowledgeMessage(sent.messageId);
  });

  it('resumes a chunked send whose first POST response was lost, and a lost last-chunk response', async () => {
    const courier = await courierVia(
      [
        { method: 'POST', path: FIRST_POST, faults: ['drop-response'] },
        { method: 'POST', path: CHUNK_POST, faults: ['pass', 'drop-response'] },
      ],
      { chunkSize: 1000, compress: true },
    );
    const body = randomBytes(3000);
    const wf = uniqueWorkflow('unknown');
    const fileName = uniqueFileName('lost-chunked');
    const sent = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body, localId: 'X26', fileName });
    expect(sent).toMatchObject({ recovered: true, totalChunks: 3 });
    expect(posts()).toBe(1);
    // chunk 2 once, chunk 3 twice: the retry of the last chunk met 423 (already finalised) and counted as done
    expect(proxy!.log.filter((e) => CHUNK_POST.test(e.path)).map((e) => e.path.split('/').pop())).toEqual(['2', '3', '3']);
    expect(await inboxIdsWithFileName(receiver, wf, fileName)).toEqual([sent.messageId]);
    expect((await receiver.downloadMessage(sent.messageId)).body.equals(body)).toBe(true);
    await receiver.acknowledgeMessage(sent.messageId);
  });

  it('gives up with MESH_SEND_OUTCOME_UNKNOWN, without resending, when the outbox cannot be searched', async () => {
    const courier = await courierVia([
      { method: 'POST', path: FIRST_POST, faults: ['drop-response'] },
      { method: 'GET', path: /\/outbox\/rich$/, faults: ['not-found', 'not-found', 'not-found'] },
    ]);
    const wf = uniqueWorkflow('unknown');
    const fileName = uniqueFileName('unsearchable');
    let error: MeshError | undefined;
    try {
      await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'doc', localId: 'X26', subject: 'NHS 9434765919', fileName });
    } catch (err) {
      error = err as MeshError;
    }
    expect(error?.type).toBe(ErrorType.MESH_SEND_OUTCOME_UNKNOWN);
    expect(error?.retryable).toBe(false);
    expect(error?.message).not.toMatch(/9434765919|X26ABC2/);
    expect(posts()).toBe(1);
    const delivered = await inboxIdsWithFileName(receiver, wf, fileName);
    expect(delivered).toHaveLength(1);
    await receiver.acknowledgeMessage(delivered[0]!);
  });

  it('does not send again when a retried attempt looks the message up first (e.g. after a worker crash)', async () => {
    const courier = await courierVia([]);
    const wf = uniqueWorkflow('unknown');
    const fileName = uniqueFileName('crash');
    const startedAt = new Date();
    const first = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'once', localId: 'X26', fileName });
    const again = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'once', localId: 'X26', fileName, lookupBeforeSend: { sentAfter: startedAt } });
    expect(again).toMatchObject({ messageId: first.messageId, recovered: true });
    expect(posts()).toBe(1);
    const other = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'new attempt', localId: 'X26', fileName: uniqueFileName('crash'), lookupBeforeSend: { sentAfter: startedAt } });
    expect(other.recovered).toBe(false);
    expect(posts()).toBe(2);
    for (const id of [first.messageId, other.messageId]) await receiver.acknowledgeMessage(id);
  });
  it('finds its message among other sends newest first, skipping a candidate whose tracking keeps failing', async () => {
    const courier = await courierVia([], { lookupConcurrency: 1, maxRetries: 2 });
    const wf = uniqueWorkflow('lookup');
    const startedAt = new Date();
    const send = (fileName: string) => courier.sendMessage({ to: RECEIVER, workflowId: wf, body: fileName, localId: 'X26', fileName });
    const older = await send(uniqueFileName('older'));
    const mine = await send(uniqueFileName('mine'));
    const newer = [await send(uniqueFileName('newer')), await send(uniqueFileName('newer'))];
    const newest = await send(uniqueFileName('newest'));
    // MESH will not track the newest candidate at all (three tries, all 5xx): it is skipped, not fatal.
    proxy!.rules.push({ method: 'GET', path: /\/outbox\/tracking$/, faults: ['server-error', 'server-error', 'server-error'] });
    const again = await courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'x', localId: 'X26', fileName: mine.fileName, lookupBeforeSend: { sentAfter: startedAt } });
    expect(again).toMatchObject({ messageId: mine.messageId, recovered: true });
    // Newest first: three failed tries of the newest, then the two newer ones, then ours; never the older one.
    const tracking = proxy!.log.filter((e) => e.path.endsWith('/outbox/tracking'));
    expect(tracking.map((e) => e.fault)).toEqual(['server-error', 'server-error', 'server-error', 'pass', 'pass', 'pass']);
    expect(posts()).toBe(5);
    for (const m of [older, mine, ...newer, newest]) await receiver.acknowledgeMessage(m.messageId);
  });

  it('never posts once the caller\'s signal aborts during the lookup before a resend', async () => {
    const courier = await courierVia([{ method: 'GET', path: /\/outbox\/rich$/, faults: ['slow'] }]);
    const wf = uniqueWorkflow('abort');
    const fileName = uniqueFileName('aborted');
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error('the activity was timed out')), 300);
    const sending = courier.sendMessage({ to: RECEIVER, workflowId: wf, body: 'doc', localId: 'X26', fileName, lookupBeforeSend: { sentAfter: new Date() }, signal: stop.signal });
    await expect(sending).rejects.toThrow('the activity was timed out');
    await new Promise((r) => setTimeout(r, 2_500)); // past the slow answer: nothing follows it
    expect(posts()).toBe(0);
    expect(await inboxIdsWithFileName(receiver, wf, fileName)).toEqual([]);
  });
});
