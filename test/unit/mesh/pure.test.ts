import fc from 'fast-check';
import { Agent, ProxyAgent } from 'undici';
import { ErrorType } from '../../../contracts/errors';
import { classifyReport, classifyStatus, createMeshDispatcher, meshTlsOptions, parseChunkRange, parseRetryAfter, planChunks } from '../../../mesh';
import { extractMeshErrorCode, isDefinitelyNotSent } from '../../../mesh/errors';
import { parseInboundMetadata } from '../../../mesh/inbound';

describe('REPORT classification', () => {
  it.each([
    ['14', 'NON_DELIVERY'],
    ['EPL-150', 'ROUTING_ERROR'],
    ['EPL-151', 'ROUTING_ERROR'],
    ['EPL-152', 'ROUTING_ERROR'],
    ['EPL-153', 'ROUTING_ERROR'],
    ['epl-154', 'ROUTING_ERROR'],
    ['EPL-155', 'OTHER'],
    ['12', 'OTHER'],
    [undefined, 'OTHER'],
  ])('code %s is %s', (code, kind) => {
    expect(classifyReport(code)).toBe(kind);
  });

  it('reads report headers and falls back to the requested id', () => {
    const meta = parseInboundMetadata('REQ', { 'mex-messagetype': 'report', 'mex-statuscode': '14', 'mex-linkedmsgid': 'ORIG' }, undefined);
    expect(meta).toMatchObject({ messageId: 'REQ', messageType: 'REPORT', totalChunks: 1, report: { kind: 'NON_DELIVERY', statusCode: '14', linkedMessageId: 'ORIG' } });
    expect(parseInboundMetadata('X', { 'mex-messagetype': 'PING' }, undefined)).toEqual({ error: 'unknown Mex-MessageType' });
  });

  it('takes the chunk count from Mex-Chunk-Range or Mex-Total-Chunks', () => {
    expect(parseInboundMetadata('X', { 'mex-chunk-range': '1:4' }, undefined)).toMatchObject({ totalChunks: 4 });
    expect(parseInboundMetadata('X', { 'mex-total-chunks': '3' }, undefined)).toMatchObject({ totalChunks: 3 });
    expect(parseChunkRange('2:1')).toBeUndefined();
    expect(parseChunkRange(' 2 : 5 ')).toEqual({ chunk: 2, total: 5 });
  });
});

describe('chunk plan', () => {
  it('covers the data exactly, in order, each chunk at most chunkSize', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1, max: 3_000_000 }), (size, rawChunk) => {
        const chunkSize = Math.max(rawChunk, Math.ceil(size / 2000)); // keep plans small enough to check quickly
        const plan = planChunks(size, chunkSize);
        expect(plan.length).toBe(Math.max(1, Math.ceil(size / chunkSize)));
        let offset = 0;
        plan.forEach((p, i) => {
          expect(p.number).toBe(i + 1);
          expect(p.offset).toBe(offset);
          expect(p.length).toBeLessThanOrEqual(chunkSize);
          if (size > 0) expect(p.length).toBeGreaterThan(0);
          offset += p.length;
        });
        expect(offset).toBe(size);
      }),
    );
  });
});

describe('error classification', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('extracts only codes, never free text, from error bodies', () => {
    expect(extractMeshErrorCode({ detail: [{ code: '12', msg: 'Unregistered' }] })).toBe('12');
    expect(extractMeshErrorCode({ errorCode: 'EPL-151' })).toBe('EPL-151');
    expect(extractMeshErrorCode({ detail: 'InvalidHeaderChunks' })).toBe('InvalidHeaderChunks');
    expect(extractMeshErrorCode({ detail: 'Subject NHS 9434765919 is bad' })).toBeUndefined();
  });

  it('gives one retry decision per status', () => {
    expect(classifyStatus(403, 'listInbox')).toEqual({ type: ErrorType.MESH_AUTH_FAILED, retryable: false });
    expect(classifyStatus(429, 'listInbox')).toEqual({ type: ErrorType.MESH_RATE_LIMITED, retryable: true });
    expect(classifyStatus(504, 'sendChunk')).toEqual({ type: ErrorType.MESH_SERVER_ERROR, retryable: true });
    expect(classifyStatus(417, 'sendMessage')).toEqual({ type: ErrorType.MESH_SEND_REJECTED, retryable: false });
    expect(classifyStatus(422, 'sendMessage')).toEqual({ type: ErrorType.MESH_SEND_REJECTED, retryable: false });
    expect(classifyStatus(417, 'listInbox')).toEqual({ type: ErrorType.MESH_PROTOCOL_ERROR, retryable: false });
  });

  it('counts only pre-connection failures as definitely not sent', () => {
    const wrap = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
    expect(isDefinitelyNotSent(wrap('ECONNREFUSED'))).toBe(true);
    expect(isDefinitelyNotSent(wrap('UND_ERR_CONNECT_TIMEOUT'))).toBe(true);
    expect(isDefinitelyNotSent(wrap('ECONNRESET'))).toBe(false);
    expect(isDefinitelyNotSent(wrap('UND_ERR_SOCKET'))).toBe(false);
    expect(isDefinitelyNotSent(new Error('timeout'))).toBe(false);
  });
});

describe('dispatcher construction', () => {
  const files: Record<string, string> = { '/c.pem': 'CERT', '/k.pem': 'KEY', '/ca.pem': 'CA' };
  const read = (p: string): Buffer => Buffer.from(files[p] ?? '');

  it('loads the client certificate, key and CA, and always verifies the server', () => {
    expect(meshTlsOptions({ certFile: '/c.pem', keyFile: '/k.pem', caFile: '/ca.pem', passphrase: 'pp' }, read)).toEqual({
      cert: Buffer.from('CERT'),
      key: Buffer.from('KEY'),
      ca: Buffer.from('CA'),
      passphrase: 'pp',
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
    });
  });

  it('refuses a certificate without its key', () => {
    expect(() => meshTlsOptions({ certFile: '/c.pem' }, read)).toThrow(/both/);
  });

  it('builds an Agent directly and a ProxyAgent when a proxy is configured', async () => {
    const direct = createMeshDispatcher({ certFile: '/c.pem', keyFile: '/k.pem' }, read);
    const proxied = createMeshDispatcher({ proxyUrl: 'http://user:p%40ss@proxy.example:3128', caFile: '/ca.pem' }, read);
    expect(direct).toBeInstanceOf(Agent);
    expect(proxied).toBeInstanceOf(ProxyAgent);
    await Promise.all([direct.close(), proxied.close()]);
  });
});
