/** The typed client library: what it sends (auth, idempotency, query strings) and how it reports errors. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as lib from '../../../client/lib';
import { ConsultationHttpClient } from '../../../client/lib/consultation-client';
import { CourierApiError, CourierHttpClient } from '../../../client/lib/http-client';
import { QuarantineHttpClient } from '../../../client/lib/quarantine-client';

function fakeFetch(status: number, body: unknown) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fn = (async (url: URL | string, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return new Response(body === undefined ? '' : JSON.stringify(body), { status });
  }) as typeof fetch;
  return { fn, calls };
}

describe('CourierHttpClient', () => {
  it('sends the bearer token and the Idempotency-Key', async () => {
    const f = fakeFetch(202, { workflowId: 'w', created: true, statusUrl: '/v1/documents/w' });
    const c = new CourierHttpClient({ baseUrl: 'http://api.test', token: 'tok', fetch: f.fn });
    await c.submit({ any: 'body' }, { idempotencyKey: 'k-1' });
    const headers = f.calls[0]!.init.headers as Record<string, string>;
    expect(headers.authorization).toBe('Bearer tok');
    expect(headers['idempotency-key']).toBe('k-1');
    expect(f.calls[0]!.init.method).toBe('POST');
  });

  it('builds list query strings, booleans and status lists included', async () => {
    const f = fakeFetch(200, { items: [] });
    const c = new CourierHttpClient({ baseUrl: 'http://api.test', fetch: f.fn });
    await c.list({ recipientOds: 'X26', escalated: true, status: 'DELIVERED,REJECTED', pageSize: 10 });
    expect(f.calls[0]!.url).toBe('http://api.test/v1/documents?recipientOds=X26&escalated=true&status=DELIVERED%2CREJECTED&pageSize=10');
  });

  it('maps operator actions onto their URLs', async () => {
    const f = fakeFetch(200, { action: 'acknowledgeEscalation' });
    const c = new CourierHttpClient({ baseUrl: 'http://api.test', fetch: f.fn });
    await c.acknowledgeEscalation('send-document-a-v1', { note: 'on it' });
    await c.changeDeadlines('send-document-a-v1', { reason: 'r', deadlines: { businessAckMs: '1d' } });
    expect(f.calls.map((x) => x.url)).toEqual([
      'http://api.test/v1/documents/send-document-a-v1/actions/acknowledge-escalation',
      'http://api.test/v1/documents/send-document-a-v1/actions/change-deadlines',
    ]);
  });

  it('throws one error class with status, code and issues', async () => {
    const f = fakeFetch(409, { error: 'ACTION_NOT_ALLOWED', message: 'no open escalation', issues: [{ message: 'x' }], refusal: 'NO_OPEN_ESCALATION' });
    const c = new CourierHttpClient({ baseUrl: 'http://api.test', fetch: f.fn });
    const err = await c.abandon('w', { reason: 'r' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CourierApiError);
    expect(err).toMatchObject({ status: 409, error: 'ACTION_NOT_ALLOWED', message: 'no open escalation', issues: [{ message: 'x' }], refusal: 'NO_OPEN_ESCALATION' });
  });

  it('follows every page with listAll', async () => {
    let n = 0;
    const fn = (async () => new Response(JSON.stringify(n++ === 0 ? { items: [{ workflowId: 'a' }], nextCursor: 'c1' } : { items: [{ workflowId: 'b' }] }))) as unknown as typeof fetch;
    const ids: string[] = [];
    for await (const i of new CourierHttpClient({ baseUrl: 'http://api.test', fetch: fn }).listAll()) ids.push(i.workflowId);
    expect(ids).toEqual(['a', 'b']);
  });
});

describe('ConsultationHttpClient and QuarantineHttpClient (one request helper with CourierHttpClient)', () => {
  it('send the headers they were given and a JSON body, with no timeout of their own', async () => {
    const f = fakeFetch(202, { accepted: true });
    const c = new ConsultationHttpClient('http://api.test', f.fn, { authorization: 'Bearer tok' });
    await c.event('Y12345', 'c/1', { type: 'finalised' } as never);
    expect(f.calls[0]!.url).toBe('http://api.test/v1/consultations/Y12345/c%2F1/events');
    expect(f.calls[0]!.init).toMatchObject({ method: 'POST', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' }, body: '{"type":"finalised"}' });
    expect(f.calls[0]!.init.signal).toBeUndefined();

    const q = fakeFetch(200, { items: [] });
    await new QuarantineHttpClient('http://api.test', q.fn, { authorization: 'Bearer tok' }).list({ status: 'OPEN', limit: 5 });
    expect(q.calls[0]!.url).toBe('http://api.test/v1/quarantine?status=OPEN&limit=5');
    expect(q.calls[0]!.init).toMatchObject({ method: 'GET', headers: { authorization: 'Bearer tok' }, body: undefined });
    expect((q.calls[0]!.init.headers as Record<string, string>)['content-type']).toBeUndefined();
  });

  it('CourierHttpClient keeps its accept header and its timeout', async () => {
    const f = fakeFetch(200, { workflowId: 'w' });
    await new CourierHttpClient({ baseUrl: 'http://api.test', fetch: f.fn }).status('w');
    expect((f.calls[0]!.init.headers as Record<string, string>).accept).toBe('application/json');
    expect(f.calls[0]!.init.signal).toBeInstanceOf(AbortSignal);
  });

  it('throw CourierApiError with the status, code, message and issues of an error answer', async () => {
    const body = { error: 'NOT_FOUND', message: 'no such item', issues: [{ path: 'id', message: 'unknown' }] };
    const c = await new ConsultationHttpClient('http://api.test', fakeFetch(404, body).fn).show('Y12345', 'c1').catch((e: unknown) => e);
    const q = await new QuarantineHttpClient('http://api.test', fakeFetch(404, body).fn).show('q1').catch((e: unknown) => e);
    for (const err of [c, q]) {
      expect(err).toBeInstanceOf(CourierApiError);
      expect(err).toMatchObject({ status: 404, error: 'NOT_FOUND', message: 'no such item', issues: body.issues });
    }
  });

  it('throw CourierApiError, not a JSON syntax error, when a proxy answers with something that is not JSON', async () => {
    const html = (async () => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' })) as typeof fetch;
    const err = await new QuarantineHttpClient('http://api.test', html).show('q1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CourierApiError);
    expect(err).toMatchObject({ status: 502, error: 'HTTP_ERROR', message: 'Bad Gateway' });
  });
});

describe('the package entry point', () => {
  it('exports the client library from package.json main/exports', () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { main: string; types: string; exports: Record<string, { default: string; types: string }> };
    expect(pkg.main).toBe('dist/client/lib/index.js');
    expect(pkg.exports['.']!.default).toBe('./dist/client/lib/index.js');
    expect(pkg.exports['.']!.types).toBe('./dist/client/lib/index.d.ts');
    expect(typeof lib.CourierHttpClient).toBe('function');
    expect(typeof lib.verifyWebhookSignature).toBe('function');
    expect(lib.SubmissionSchema).toBeDefined();
    expect(lib.ListQuerySchema).toBeDefined();
  });
});
