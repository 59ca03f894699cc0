/**
 * The codec server authenticates before it reads a body, and reads no more than its body limit: an
 * anonymous 60 MB upload is answered 401 while the client is still sending, and an operator's body over
 * the limit is refused with 413 whether it declares its length or streams it chunked.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Authenticator } from '../../../client/auth';
import { AesGcmPayloadCodec } from '../../../payload-codec/aes-gcm-codec';
import { buildCodecServer } from '../../../codec/codec-server';
import { parseKeyRing } from '../../../config/env';

const OPERATOR = 'operator-secret-0123456789';
const LIMIT = 256 * 1024;

let app: FastifyInstance;
let port: number;
beforeAll(async () => {
  app = buildCodecServer({
    codec: new AesGcmPayloadCodec(parseKeyRing(`k1:${randomBytes(32).toString('base64')}`)),
    auth: new Authenticator([{ name: 'alice', role: 'operator', secret: OPERATOR }]),
    allowedOrigins: [],
    logger: pino({ level: 'silent' }),
    bodyLimitBytes: LIMIT,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  app.server.closeAllConnections();
  await app.close();
});

/**
 * POST `declared` bytes (or chunked when undefined) but send only `sent` of them, then wait for the
 * answer: a server that reads the whole body first never answers.
 */
function partialPost(opts: { headers: Record<string, string>; declared?: number; sent: number }): Promise<{ status: number; bytesSentBeforeAnswer: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const req = http.request({ host: '127.0.0.1', port, path: '/decode', method: 'POST', headers: { 'content-type': 'application/json', ...(opts.declared !== undefined ? { 'content-length': String(opts.declared) } : {}), ...opts.headers } });
    const timer = setTimeout(() => reject(new Error(`no answer after sending ${sent} bytes`)), 5000);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve({ status: res.statusCode ?? 0, bytesSentBeforeAnswer: sent });
      req.destroy();
    });
    req.on('error', (err) => {
      // The server may close the connection after answering; only an error before an answer counts.
      if (!req.destroyed || sent === 0) reject(err);
    });
    const piece = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (sent < opts.sent) {
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

describe('codec server bounds', () => {
  it('answers an anonymous 60 MB upload with 401 before the body has been sent', async () => {
    const r = await partialPost({ headers: {}, declared: 60 * 1024 * 1024, sent: 1024 * 1024 });
    expect(r.status).toBe(401);
    expect(r.bytesSentBeforeAnswer).toBeLessThan(60 * 1024 * 1024);
  });

  it('answers a non-operator token with 401 before reading, too', async () => {
    const r = await partialPost({ headers: { authorization: 'Bearer not-the-operator-secret' }, declared: 60 * 1024 * 1024, sent: 1024 * 1024 });
    expect(r.status).toBe(401);
  });

  it('refuses an operator body whose declared length is over the limit with 413, unread', async () => {
    const r = await partialPost({ headers: { authorization: `Bearer ${OPERATOR}` }, declared: LIMIT + 1, sent: 64 * 1024 });
    expect(r.status).toBe(413);
  });

  it('refuses a chunked operator body once it passes the limit with 413', async () => {
    const r = await partialPost({ headers: { authorization: `Bearer ${OPERATOR}` }, sent: LIMIT * 4 });
    expect(r.status).toBe(413);
  });

  it('refuses an operator token in the query string with 400', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/decode?token=${OPERATOR}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads":[]}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('CREDENTIAL_IN_QUERY');
  });

  it('still decodes what an operator sends within the limit', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/encode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR}` },
      body: JSON.stringify({ payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hi"').toString('base64') }] }),
    });
    expect(res.status).toBe(200);
    const encoded = (await res.json()) as { payloads: unknown[] };
    const back = await fetch(`http://127.0.0.1:${port}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR}` }, body: JSON.stringify(encoded) });
    const decoded = (await back.json()) as { payloads: Array<{ data: string }> };
    expect(Buffer.from(decoded.payloads[0]!.data, 'base64').toString()).toBe('"hi"');
  });
});
