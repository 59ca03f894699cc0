import { gunzipSync } from 'node:zlib';
import { ErrorType } from '../../../contracts/errors';
import { MESH_ACCEPT, MeshClient, type MeshError, buildAuthorizationHeader, type MeshClientOptions } from '../../../mesh';
import { fakeFetch, json, networkError, type Route } from './fake-mesh';

const NOW = new Date(Date.UTC(2026, 5, 1, 12, 0, 0));
const PID_SUBJECT = 'Discharge summary for NHS 9434765919';

function client(routes: Route[], extra: Partial<MeshClientOptions> = {}) {
  const fake = fakeFetch(routes);
  const sleeps: number[] = [];
  let n = 0;
  const c = new MeshClient({
    baseUrl: 'https://mesh.example.nhs.uk',
    mailboxId: 'x26abc1',
    password: 'password',
    sharedKey: 'TestKey',
    fetch: fake.fetch,
    clock: () => NOW,
    nonce: () => `nonce-${++n}`,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    unknownOutcomeSettleMs: 5,
    ...extra,
  });
  return { c, calls: fake.calls, sleeps };
}

async function caught(p: Promise<unknown>): Promise<MeshError> {
  try {
    await p;
  } catch (err) {
    return err as MeshError;
  }
  throw new Error('expected a rejection');
}

describe('MeshClient request basics', () => {
  it('sends exactly the v2 Accept header and a fresh, valid token on every request', async () => {
    const { c, calls } = client([() => json(200, { messages: [] })]);
    await c.listInbox();
    await c.listInbox();
    expect(calls.map((x) => x.headers.accept)).toEqual([MESH_ACCEPT, MESH_ACCEPT]);
    const tokens = calls.map((x) => x.headers.authorization);
    expect(new Set(tokens).size).toBe(2);
    expect(tokens[0]).toBe(
      buildAuthorizationHeader({ mailboxId: 'X26ABC1', password: 'password', sharedKey: 'TestKey', nonce: 'nonce-1', nonceCount: 0, timestamp: NOW }),
    );
    expect(calls[0]!.path).toBe('/messageexchange/X26ABC1/inbox');
  });

  it('sends the handshake headers MESH requires', async () => {
    const { c, calls } = client([() => new Response(null, { status: 200 })], { clientVersion: 'itk3-courier/9.9' });
    await c.handshake();
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/messageexchange/X26ABC1' });
    expect(calls[0]!.headers).toMatchObject({ 'mex-clientversion': 'itk3-courier/9.9', 'mex-javaversion': 'N/A' });
    expect(calls[0]!.headers['mex-osname']).toBeTruthy();
    expect(calls[0]!.headers['mex-osversion']).toBeTruthy();
  });

  it('calls endpoint lookup without an Authorization header', async () => {
    const { c, calls } = client([() => json(200, { results: [{ mailbox_id: 'X26ABC2', mailbox_name: 'TESTMB2' }, { mailbox_id: 'X26ABC9' }] })]);
    expect(await c.lookupEndpoint('X26', 'GPFED_CONSULT_REPORT')).toEqual([{ mailboxId: 'X26ABC2', mailboxName: 'TESTMB2' }, { mailboxId: 'X26ABC9' }]);
    expect(calls[0]!.path).toBe('/messageexchange/endpointlookup/X26/GPFED_CONSULT_REPORT');
    expect(calls[0]!.headers.authorization).toBeUndefined();
  });

  it('reports every invalid option at once without echoing secret values', () => {
    let err: unknown;
    try {
      new MeshClient({ baseUrl: 'ftp://x', mailboxId: 'bad id!', password: '', sharedKey: 'SuperSecret', chunkSize: 0 });
    } catch (e) {
      err = e;
    }
    const e = err as { type: string; issues: Array<{ path: string }>; message: string };
    expect(e.type).toBe(ErrorType.CONFIG_INVALID);
    expect(e.issues.map((i) => i.path).sort()).toEqual(['baseUrl', 'chunkSize', 'mailboxId', 'password']);
    expect(JSON.stringify(e)).not.toContain('SuperSecret');
  });

  it('checks injected functions and objects too: a clock or sleep that is not a function is refused up front', () => {
    let err: unknown;
    try {
      new MeshClient({ baseUrl: 'https://mesh.example.nhs.uk', mailboxId: 'X26ABC1', password: 'p', sharedKey: 'k', clock: 'now' as never, sleep: 5 as never, logger: 'console' as never });
    } catch (e) {
      err = e;
    }
    expect((err as { type: string }).type).toBe(ErrorType.CONFIG_INVALID);
    expect((err as { issues: Array<{ path: string }> }).issues.map((i) => i.path).sort()).toEqual(['clock', 'logger', 'sleep']);
  });

  it('allows plain http only to loopback unless told otherwise', () => {
    const base = { mailboxId: 'X26ABC1', password: 'p', sharedKey: 'k' };
    expect(() => new MeshClient({ ...base, baseUrl: 'http://127.0.0.1:8700' })).not.toThrow();
    expect(() => new MeshClient({ ...base, baseUrl: 'http://mesh.internal:8700' })).toThrow(/baseUrl/);
    expect(() => new MeshClient({ ...base, baseUrl: 'http://mesh.internal:8700', allowPlainHttp: true })).not.toThrow();
  });
});

describe('retry decisions', () => {
  it('retries a GET after 503 with jittered exponential backoff', async () => {
    const { c, calls, sleeps } = client([(_, n) => (n <= 2 ? json(503, {}) : json(200, { messages: ['A'] }))], { retryBaseDelayMs: 100 });
    expect(await c.listInbox()).toEqual(['A']);
    expect(calls).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]); // random 0.5 × 100, × 200
  });

  it('honours Retry-After on 429', async () => {
    const { c, sleeps } = client([(_, n) => (n === 1 ? json(429, {}, { 'retry-after': '2' }) : json(200, { messages: [] }))]);
    await c.listInbox();
    expect(sleeps).toEqual([2000]);
  });

  it('leaves a Retry-After longer than maxRetryDelayMs to the caller', async () => {
    const { c, calls } = client([() => json(429, {}, { 'retry-after': '3600' })]);
    const err = await caught(c.listInbox());
    expect(err).toMatchObject({ type: ErrorType.MESH_RATE_LIMITED, retryable: true, retryAfterMs: 3_600_000 });
    expect(calls).toHaveLength(1);
  });

  it('retries network errors on safe operations up to maxRetries, then fails retryable', async () => {
    const { c, calls } = client([() => Promise.reject(networkError('ECONNRESET'))], { maxRetries: 2 });
    const err = await caught(c.acknowledgeMessage('ID1'));
    expect(err).toMatchObject({ type: ErrorType.MESH_NETWORK_ERROR, retryable: true, messageId: 'ID1' });
    expect(calls).toHaveLength(3);
  });

  it.each([
    [401, ErrorType.MESH_AUTH_FAILED],
    [403, ErrorType.MESH_AUTH_FAILED],
    [404, ErrorType.MESH_NOT_FOUND],
    [410, ErrorType.MESH_GONE],
    [423, ErrorType.MESH_LOCKED],
    [400, ErrorType.MESH_PROTOCOL_ERROR],
  ])('never retries HTTP %i (%s)', async (status, type) => {
    const { c, calls } = client([() => json(status, { detail: [{ event: '', code: '', msg: 'Invalid Authentication Token' }] })]);
    const err = await caught(c.trackMessage('ID1'));
    expect(err).toMatchObject({ type, retryable: false, httpStatus: status });
    expect(calls).toHaveLength(1);
  });

  it('reads the MESH error code of a 417 send failure (v2 and v1 bodies)', async () => {
    for (const body of [{ detail: [{ event: 'SEND', code: '12', msg: 'Unregistered to address' }] }, { errorEvent: 'SEND', errorCode: '12', errorDescription: 'x' }]) {
      const { c, calls } = client([() => json(417, body)]);
      const err = await caught(c.sendMessage({ to: 'X26ABC9', workflowId: 'WF', body: 'x', subject: PID_SUBJECT }));
      expect(err).toMatchObject({ type: ErrorType.MESH_SEND_REJECTED, retryable: false, meshErrorCode: '12', httpStatus: 417 });
      expect(err.message).toContain('Unregistered to address');
      expect(JSON.stringify(err)).not.toMatch(/9434765919|X26ABC9/);
      expect(calls).toHaveLength(1);
    }
  });
});

describe('first POST of a send', () => {
  const outboxEmpty: Route = (call) => (call.path.startsWith('/messageexchange/X26ABC1/outbox/rich') ? json(200, { messages: [], links: {} }) : undefined);

  it('is never repeated blindly after a 5xx: the outbox is searched first', async () => {
    const { c, calls } = client([
      outboxEmpty,
      (call, n) => (call.path === '/messageexchange/X26ABC1/outbox' ? (n === 1 ? json(502, {}) : json(202, { message_id: 'NEW' })) : undefined),
    ]);
    const res = await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', fileName: 'attempt-1.xml' });
    expect(res).toMatchObject({ messageId: 'NEW', recovered: false });
    const sequence = calls.map((x) => `${x.method} ${x.path.split('?')[0]}`);
    expect(sequence).toEqual([
      'POST /messageexchange/X26ABC1/outbox',
      'GET /messageexchange/X26ABC1/outbox/rich',
      'GET /messageexchange/X26ABC1/outbox/rich',
      'POST /messageexchange/X26ABC1/outbox',
    ]);
  });

  it('returns the message found by file name instead of sending again after a reset', async () => {
    const { c, calls } = client([
      (call) =>
        call.path.startsWith('/messageexchange/X26ABC1/outbox/rich')
          ? json(200, {
              messages: [
                { message_id: 'OTHER', recipient: 'X26ABC2', workflow_id: 'WF', local_id: 'X26', message_type: 'DATA', status: 'accepted' },
                { message_id: 'MINE', recipient: 'X26ABC2', workflow_id: 'WF', local_id: 'X26', message_type: 'DATA', status: 'accepted' },
                { message_id: 'WRONG_WF', recipient: 'X26ABC2', workflow_id: 'OTHER', local_id: 'X26', message_type: 'DATA', status: 'accepted' },
              ],
              links: {},
            })
          : undefined,
      (call) => {
        const m = /tracking\?messageID=(\w+)/.exec(call.path);
        return m ? json(200, { message_id: m[1], filename: m[1] === 'MINE' ? 'attempt-1.xml' : 'attempt-0.xml', status: 'accepted' }) : undefined;
      },
      (call) => (call.path === '/messageexchange/X26ABC1/outbox' ? Promise.reject(networkError('ECONNRESET')) : undefined),
    ]);
    const res = await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', localId: 'X26', fileName: 'attempt-1.xml' });
    expect(res).toMatchObject({ messageId: 'MINE', recovered: true });
    expect(calls.filter((x) => x.method === 'POST')).toHaveLength(1);
    expect(calls.some((x) => x.path.includes('WRONG_WF'))).toBe(false);
  });

  it('treats a timeout like a reset (outcome unknown), not like a refusal', async () => {
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    const { c, calls } = client([outboxEmpty, (call) => (call.path.endsWith('/outbox') ? Promise.reject(timeout) : undefined)], { maxRetries: 0 });
    const err = await caught(c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc' }));
    expect(err).toMatchObject({ type: ErrorType.MESH_SEND_OUTCOME_UNKNOWN, retryable: false });
    expect(calls.filter((x) => x.method === 'POST')).toHaveLength(1);
  });

  it('returns the first match without confirming the rest (file names are unique per attempt)', async () => {
    const { c, calls } = client([
      (call) =>
        call.path.includes('/outbox/rich')
          ? json(200, { messages: ['A', 'B', 'C'].map((id) => ({ message_id: id, recipient: 'X26ABC2', workflow_id: 'WF', status: 'accepted' })) })
          : undefined,
      (call) => (call.path.includes('tracking?') ? json(200, { message_id: 'A', filename: 'same.xml', status: 'accepted' }) : undefined),
      (call) => (call.path.endsWith('/outbox') ? json(500, {}) : undefined),
    ], { lookupConcurrency: 1 });
    const res = await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', fileName: 'same.xml', subject: PID_SUBJECT });
    expect(res).toMatchObject({ messageId: 'A', recovered: true });
    expect(calls.filter((x) => x.path.includes('tracking?'))).toHaveLength(1);
    expect(calls.filter((x) => x.method === 'POST')).toHaveLength(1);
  });

  it('falls back to the deprecated track-by-local-id only for unique local ids', async () => {
    const routes: Route[] = [
      (call) => (call.path.includes('/outbox/rich') ? json(404, {}) : undefined),
      (call) => (call.path.includes('/outbox/tracking/LOCAL-1') ? json(200, { messageId: 'FOUND', fileName: 'f.xml', status: 'Accepted' }) : undefined),
    ];
    const { c } = client(routes);
    const probe = { fileName: 'f.xml', to: 'X26ABC2', workflowId: 'WF', localId: 'LOCAL-1', sentAfter: NOW };
    expect(await c.findSentMessage(probe)).toEqual({ outcome: 'UNSUPPORTED' });
    expect(await c.findSentMessage({ ...probe, localIdIsUnique: true })).toEqual({ outcome: 'FOUND', messageId: 'FOUND', method: 'LOCAL_ID_TRACKING', status: 'accepted' });
  });

  it('sends again without a lookup when the connection was refused (nothing was sent)', async () => {
    const { c, calls } = client([(call, n) => (n === 1 ? Promise.reject(networkError('ECONNREFUSED')) : call.path.endsWith('/outbox') ? json(202, { message_id: 'M' }) : undefined)]);
    expect((await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc' })).messageId).toBe('M');
    expect(calls.map((x) => x.path)).toEqual(['/messageexchange/X26ABC1/outbox', '/messageexchange/X26ABC1/outbox']);
  });

  it('rejects bad headers before sending, naming fields but never their values', async () => {
    const { c, calls } = client([]);
    const err = await caught(c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', subject: `${PID_SUBJECT}\n`, localId: 'x'.repeat(301) }));
    expect(err).toMatchObject({ type: ErrorType.MESH_SEND_REJECTED, retryable: false });
    expect(err.issues.map((i) => i.path).sort()).toEqual(['localId', 'subject']);
    expect(JSON.stringify(err)).not.toMatch(/9434765919/);
    expect(calls).toHaveLength(0);
    expect((await caught(c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: '' }))).meshErrorCode).toBe('02');
  });
});

describe('chunked send', () => {
  it('splits the raw data, gzips each chunk on its own and uploads k:n in order', async () => {
    const { c, calls } = client(
      [(call) => (call.path.endsWith('/outbox') ? json(202, { message_id: 'CH' }) : call.path.includes('/outbox/CH/') ? json(202, null) : undefined)],
      { chunkSize: 1000, compress: true },
    );
    const body = Buffer.from(Array.from({ length: 2500 }, (_, i) => i % 251));
    const res = await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body, fileName: 'f.dat', localId: 'X26', subject: 's', contentType: 'application/xml' });
    expect(res.totalChunks).toBe(3);
    expect(calls.map((x) => [x.path, x.headers['mex-chunk-range'], x.headers['content-encoding']])).toEqual([
      ['/messageexchange/X26ABC1/outbox', '1:3', 'gzip'],
      ['/messageexchange/X26ABC1/outbox/CH/2', '2:3', 'gzip'],
      ['/messageexchange/X26ABC1/outbox/CH/3', '3:3', 'gzip'],
    ]);
    expect(Buffer.concat(calls.map((x) => gunzipSync(x.body!))).equals(body)).toBe(true);
    expect(calls[0]!.headers).toMatchObject({ 'mex-to': 'X26ABC2', 'mex-workflowid': 'WF', 'mex-filename': 'f.dat', 'mex-localid': 'X26', 'mex-subject': 's', 'mex-content-type': 'application/xml' });
    expect(calls[1]!.headers['mex-to']).toBeUndefined();
  });

  it('retries a failed chunk upload (chunks after the first are safe to repeat)', async () => {
    let chunk2 = 0;
    const { c, calls } = client(
      [(call) => (call.path.endsWith('/outbox') ? json(202, { message_id: 'CH' }) : call.path.endsWith('/CH/2') && ++chunk2 === 1 ? json(503, {}) : json(202, null))],
      { chunkSize: 2 },
    );
    await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'abcd' });
    expect(calls.map((x) => x.path.split('/').pop())).toEqual(['outbox', '2', '2']);
  });

  it('sends a single chunk with Mex-Chunk-Range 1:1 and no Content-Encoding when not compressing', async () => {
    const { c, calls } = client([() => json(202, { message_id: 'S' })]);
    await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'hello' });
    expect(calls[0]!.headers['mex-chunk-range']).toBe('1:1');
    expect(calls[0]!.headers['content-encoding']).toBeUndefined();
    expect(calls[0]!.headers['mex-filename']).toBe('nonce-1.dat');
    expect(calls[0]!.body!.toString()).toBe('hello');
  });
});

describe('inbox paging and download', () => {
  it('follows links.next across pages, ignoring repeats and stopping on a loop', async () => {
    const { c, calls } = client([
      (call) => {
        if (call.path === '/messageexchange/X26ABC1/inbox?max_results=10') return json(200, { messages: ['A', 'B'], links: { next: '/messageexchange/X26ABC1/inbox?max_results=10&continue_from=p2' } });
        if (call.path.endsWith('continue_from=p2')) return json(200, { messages: ['B', 'C'], links: { next: '/messageexchange/X26ABC1/inbox?max_results=10&continue_from=p2' } });
        return undefined;
      },
    ]);
    expect(await c.listInbox({ maxResults: 10 })).toEqual(['A', 'B', 'C']);
    expect(calls).toHaveLength(2);
  });

  it('fetches later chunks only as the stream is read, and stops on cancel', async () => {
    const { c, calls } = client([
      (call) => {
        if (call.path.endsWith('/inbox/M')) return new Response('ab', { status: 206, headers: { 'mex-chunk-range': '1:3' } });
        if (call.path.endsWith('/inbox/M/2')) return new Response('cd', { status: 206, headers: { 'mex-chunk-range': '2:3' } });
        return new Response('e', { status: 200, headers: { 'mex-chunk-range': '3:3' } });
      },
    ]);
    const unread = await c.downloadMessageStream('M');
    await unread.cancel();
    expect(calls).toHaveLength(1);
    const partly = await c.downloadMessageStream('M');
    for await (const part of partly.body) {
      expect(part.toString()).toBe('ab');
      break;
    }
    await partly.cancel();
    expect(calls).toHaveLength(2);
  });

  it('parses a REPORT download into its linked message and kind', async () => {
    const { c } = client([
      () =>
        new Response(null, {
          status: 200,
          headers: {
            'mex-messagetype': 'REPORT',
            'mex-messageid': 'R1',
            'mex-linkedmsgid': 'ORIG',
            'mex-statuscode': 'EPL-151',
            'mex-statusdescription': 'No mailbox matched',
            'mex-statussuccess': 'ERROR',
            'mex-statusevent': 'TRANSFER',
            'mex-workflowid': 'WF',
          },
        }),
    ]);
    const msg = await c.downloadMessage('R1');
    expect(msg).toMatchObject({
      messageId: 'R1',
      messageType: 'REPORT',
      workflowId: 'WF',
      report: { kind: 'ROUTING_ERROR', statusCode: 'EPL-151', linkedMessageId: 'ORIG', statusSuccess: 'ERROR', statusEvent: 'TRANSFER', statusDescription: 'No mailbox matched' },
    });
    expect(msg.body.length).toBe(0);
  });

  it('downloads chunks 2..n after a 206 and refuses a 200 that announces more chunks', async () => {
    const { c } = client([
      (call) => {
        if (call.path.endsWith('/inbox/M')) return new Response('ab', { status: 206, headers: { 'mex-chunk-range': '1:3', 'mex-messagetype': 'DATA' } });
        if (call.path.endsWith('/inbox/M/2')) return new Response('cd', { status: 206, headers: { 'mex-chunk-range': '2:3' } });
        if (call.path.endsWith('/inbox/M/3')) return new Response('e', { status: 200, headers: { 'mex-chunk-range': '3:3' } });
        if (call.path.endsWith('/inbox/BAD')) return new Response('x', { status: 200, headers: { 'mex-chunk-range': '1:2' } });
        return undefined;
      },
    ]);
    expect((await c.downloadMessage('M')).body.toString()).toBe('abcde');
    expect((await caught(c.downloadMessage('BAD'))).type).toBe(ErrorType.MESH_PROTOCOL_ERROR);
  });
});

describe('outbox lookup cost and robustness', () => {
  const candidates = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      message_id: `M${i}`,
      recipient: 'X26ABC2',
      workflow_id: 'WF',
      local_id: 'X26',
      message_type: 'DATA',
      // listed oldest first here, so the client must sort: M{n-1} is the newest
      sent_date: new Date(NOW.getTime() - (n - i) * 1000).toISOString().replace(/Z$/, ''),
    }));
  const richOutbox = (n: number): Route => (call) => (call.path.includes('/outbox/rich') ? json(200, { messages: candidates(n), links: {} }) : undefined);
  const tracking = (fileNameOf: (id: string) => string, fail: (id: string) => boolean = () => false): Route => (call) => {
    const m = /tracking\?messageID=(\w+)/.exec(call.path);
    if (!m) return undefined;
    return fail(m[1]!) ? json(503, {}) : json(200, { message_id: m[1], filename: fileNameOf(m[1]!), status: 'accepted' });
  };
  const tracked = (calls: Array<{ path: string }>): string[] => calls.flatMap((x) => /tracking\?messageID=(\w+)/.exec(x.path)?.[1] ?? []);
  const probe = { fileName: 'mine.xml', to: 'X26ABC2', workflowId: 'WF', localId: 'X26', sentAfter: new Date(NOW.getTime() - 60_000) };

  it('confirms candidates newest first and stops at the first match', async () => {
    const { c, calls } = client([richOutbox(50), tracking((id) => (id === 'M47' ? 'mine.xml' : `${id}.xml`))], { lookupConcurrency: 1 });
    expect(await c.findSentMessage(probe)).toEqual({ outcome: 'FOUND', messageId: 'M47', method: 'OUTBOX_RICH', status: 'accepted' });
    expect(tracked(calls)).toEqual(['M49', 'M48', 'M47']);
  });

  it('with a bound on MESH\'s clock, confirms the candidates just after it first', async () => {
    const { c, calls } = client([richOutbox(50), tracking((id) => (id === 'M21' ? 'mine.xml' : `${id}.xml`))], { lookupConcurrency: 1 });
    // M20 was sent 30 s before NOW: the search starts there and finds M21 second, not after 29 newer ones.
    const notBefore = new Date(NOW.getTime() - 30_000);
    expect(await c.findSentMessage({ ...probe, notBefore })).toMatchObject({ outcome: 'FOUND', messageId: 'M21' });
    expect(tracked(calls)).toEqual(['M20', 'M21']);
  });

  it('stops the other tracking calls in flight once one matches', async () => {
    const { c, calls } = client([richOutbox(50), tracking((id) => (id === 'M48' ? 'mine.xml' : `${id}.xml`))], { lookupConcurrency: 4 });
    expect(await c.findSentMessage(probe)).toMatchObject({ outcome: 'FOUND', messageId: 'M48' });
    expect(tracked(calls).length).toBeLessThanOrEqual(5);
  });

  it('skips a candidate whose tracking keeps failing and still finds the match', async () => {
    const { c, calls } = client([richOutbox(10), tracking((id) => (id === 'M5' ? 'mine.xml' : `${id}.xml`), (id) => id === 'M9')], { lookupConcurrency: 1, maxRetries: 2 });
    expect(await c.findSentMessage(probe)).toMatchObject({ outcome: 'FOUND', messageId: 'M5' });
    expect(tracked(calls)).toEqual(['M9', 'M9', 'M9', 'M8', 'M7', 'M6', 'M5']);
  });

  it('reports INCOMPLETE, not NOT_FOUND, when nothing matched and a candidate could not be checked', async () => {
    const { c } = client([richOutbox(5), tracking((id) => `${id}.xml`, (id) => id === 'M2')], { maxRetries: 1 });
    expect(await c.findSentMessage(probe)).toEqual({ outcome: 'INCOMPLETE', unchecked: 1, method: 'OUTBOX_RICH' });
  });

  it('does not post when a lookup before a resend was incomplete, and says the send may be retried', async () => {
    const { c, calls } = client([richOutbox(5), tracking((id) => `${id}.xml`, (id) => id === 'M2'), (call) => (call.path.endsWith('/outbox') ? json(202, { message_id: 'NEW' }) : undefined)], { maxRetries: 1 });
    const err = await caught(c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', localId: 'X26', fileName: 'mine.xml', lookupBeforeSend: { sentAfter: probe.sentAfter } }));
    expect(err).toMatchObject({ type: ErrorType.MESH_SEND_OUTCOME_UNKNOWN, retryable: true });
    expect(calls.filter((x) => x.method === 'POST')).toHaveLength(0);
  });

  it('narrows the window: lists from sentAfter minus lookupSkewMs and ignores older listed messages', async () => {
    const { c, calls } = client([richOutbox(20), tracking((id) => `${id}.xml`)], { lookupSkewMs: 5_000 });
    expect(await c.findSentMessage({ ...probe, sentAfter: new Date(NOW.getTime() - 5_000) })).toEqual({ outcome: 'NOT_FOUND', method: 'OUTBOX_RICH' });
    const rich = calls.find((x) => x.path.includes('/outbox/rich'))!;
    expect(decodeURIComponent(new URL(rich.path, 'http://x').searchParams.get('start_time')!)).toBe(new Date(NOW.getTime() - 10_000).toISOString().replace(/Z$/, ''));
    // the fake ignores start_time and lists 20 s of sends: only the 10 s inside the window are confirmed
    expect(tracked(calls).sort()).toEqual(['M10', 'M11', 'M12', 'M13', 'M14', 'M15', 'M16', 'M17', 'M18', 'M19']);
  });

  it('after an unknown outcome, the second look does not confirm again what the first ruled out', async () => {
    const { c, calls } = client([
      richOutbox(6),
      tracking((id) => `${id}.xml`),
      (call, n) => (call.path.endsWith('/outbox') ? (n === 1 ? json(502, {}) : json(202, { message_id: 'NEW' })) : undefined),
    ]);
    expect(await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', localId: 'X26', fileName: 'mine.xml' })).toMatchObject({ messageId: 'NEW' });
    expect(tracked(calls).sort()).toEqual(['M0', 'M1', 'M2', 'M3', 'M4', 'M5']);
  });

  const startTime = (calls: Array<{ path: string }>): string | null =>
    new URL(calls.find((x) => x.path.includes('/outbox/rich'))!.path, 'http://x').searchParams.get('start_time');
  const noZ = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '');

  it('after an unknown outcome, searches from its first POST on MESH\'s clock (Date header), not from a skew window', async () => {
    const meshNow = NOW.getTime() + 60_000; // MESH's clock runs a minute ahead of ours
    const date = { date: new Date(meshNow).toUTCString() };
    const { c, calls } = client([
      (call) => (call.path === '/messageexchange/X26ABC1' ? new Response(null, { status: 200, headers: date }) : undefined),
      (call) => (call.path.includes('/outbox/rich') ? json(200, { messages: [], links: {} }, date) : undefined),
      (call, n) => (call.path.endsWith('/outbox') ? (n === 2 ? json(502, {}, date) : json(202, { message_id: 'NEW' }, date)) : undefined),
    ]);
    await c.handshake();
    await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', fileName: 'f.xml' });
    expect(startTime(calls)).toBe(noZ(meshNow - 5_000));
  });

  it('reports how far a complete search reached, and a later attempt searches only from there', async () => {
    const listedAt = NOW.getTime() + 7_000;
    const progress: unknown[] = [];
    const { c, calls } = client([
      (call) => (call.path.includes('/outbox/rich') ? json(200, { messages: [], links: {} }, { date: new Date(listedAt).toUTCString() }) : undefined),
      (call) => (call.path.endsWith('/outbox') ? json(202, { message_id: 'NEW' }) : undefined),
    ]);
    const notBefore = new Date(NOW.getTime() - 30_000);
    await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', fileName: 'f.xml', lookupBeforeSend: { sentAfter: new Date(NOW.getTime() - 600_000), notBefore }, onProgress: (p) => progress.push(p) });
    expect(startTime(calls)).toBe(noZ(notBefore.getTime()));
    expect(progress).toContainEqual({ step: 'searched', notBefore: new Date(listedAt - 5_000).toISOString() });
  });

  it('tells, before its first POST, the earliest MESH time that POST can have reached MESH (when it has seen a Date)', async () => {
    const meshNow = NOW.getTime() + 60_000;
    const date = { date: new Date(meshNow).toUTCString() };
    const progress: unknown[] = [];
    const { c } = client([
      (call) => (call.path === '/messageexchange/X26ABC1' ? new Response(null, { status: 200, headers: date }) : undefined),
      (call) => (call.path.endsWith('/outbox') ? json(202, { message_id: 'NEW' }, date) : undefined),
    ]);
    // No MESH time seen yet: nothing to tell.
    await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', fileName: 'a.xml', onProgress: (p) => progress.push(p) });
    expect(progress[0]).toEqual({ step: 'posting-first-chunk' });
    progress.length = 0;
    await c.handshake();
    await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', fileName: 'b.xml', onProgress: (p) => progress.push(p) });
    expect(progress[0]).toEqual({ step: 'posting-first-chunk', notBefore: new Date(meshNow - 5_000).toISOString() });
  });

  it('confirms a message id an earlier attempt was given with one tracking call, without listing the outbox', async () => {
    const { c, calls } = client([tracking((id) => (id === 'KNOWN' ? 'mine.xml' : 'x'))]);
    const res = await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', fileName: 'mine.xml', lookupBeforeSend: { sentAfter: NOW, knownMessageId: 'KNOWN' } });
    expect(res).toMatchObject({ messageId: 'KNOWN', recovered: true });
    expect(calls.map((x) => x.path.split('?')[0])).toEqual(['/messageexchange/X26ABC1/outbox/tracking']);
  });
});

describe('the caller\'s abort signal (an attempt that was given up on never posts)', () => {
  const posted: Route = (call) => (call.path.endsWith('/outbox') ? json(202, { message_id: 'NEW' }) : undefined);

  it('never sends anything once the signal has aborted', async () => {
    const { c, calls } = client([posted]);
    const reason = new Error('activity timed out');
    const err = await caught(c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', signal: AbortSignal.abort(reason) }));
    expect(err).toBe(reason);
    expect(calls).toHaveLength(0);
  });

  it('does not post when the signal aborts during the lookup before a resend', async () => {
    const ac = new AbortController();
    const { c, calls } = client([
      (call) => {
        if (!call.path.includes('/outbox/rich')) return undefined;
        ac.abort(new Error('timed out meanwhile'));
        return json(200, { messages: [], links: {} });
      },
      posted,
    ]);
    const err = await caught(c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', fileName: 'f.xml', lookupBeforeSend: { sentAfter: NOW }, signal: ac.signal }));
    expect(err.message).toBe('timed out meanwhile');
    expect(calls.filter((x) => x.method === 'POST')).toHaveLength(0);
  });

  it('does not post again when the signal aborts while an unknown outcome is being resolved', async () => {
    const ac = new AbortController();
    const { c, calls } = client(
      [
        (call) => (call.path.includes('/outbox/rich') ? json(200, { messages: [], links: {} }) : undefined),
        (call, n) => (call.path.endsWith('/outbox') ? (n === 1 ? json(502, {}) : json(202, { message_id: 'NEW' })) : undefined),
      ],
      {
        sleep: async () => {
          ac.abort(new Error('given up'));
        },
      },
    );
    const err = await caught(c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'doc', signal: ac.signal }));
    expect(err.message).toBe('given up');
    expect(calls.filter((x) => x.method === 'POST')).toHaveLength(1);
  });

  it('aborts a request in flight with the signal\'s reason, not as a network error', async () => {
    const ac = new AbortController();
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
      });
    const c = new MeshClient({ baseUrl: 'https://mesh.example.nhs.uk', mailboxId: 'X26ABC1', password: 'p', sharedKey: 'k', fetch: hanging });
    const pending = caught(c.trackMessage('M1', { signal: ac.signal }));
    ac.abort(new Error('stop'));
    expect((await pending).message).toBe('stop');
  });

  it('reports each step of a chunked send through onProgress', async () => {
    const steps: string[] = [];
    const { c } = client([(call) => (call.path.endsWith('/outbox') ? json(202, { message_id: 'M' }) : call.path.includes('/outbox/M/') ? new Response(null, { status: 202 }) : undefined)], { chunkSize: 2 });
    await c.sendMessage({ to: 'X26ABC2', workflowId: 'WF', body: 'abcdef', onProgress: (p) => steps.push('chunk' in p ? `${p.step}:${p.chunk}` : p.step) });
    expect(steps).toEqual(['posting-first-chunk', 'first-chunk-accepted', 'chunk-uploaded:2', 'chunk-uploaded:3']);
  });
});
