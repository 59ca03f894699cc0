import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { readText, undiciTransport, type WireResponse } from '../../../mesh/transport';

describe('undici transport', () => {
  let server: http.Server;
  let base: string;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: Buffer }> = [];
  const payload = Buffer.from('<Bundle>'.repeat(5000));

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(parts) });
        switch (req.url ?? '') {
          case '/gzip':
            res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(payload));
            break;
          case '/two-members':
            res.writeHead(200, { 'content-encoding': 'gzip' }).end(Buffer.concat([gzipSync('first;'), gzipSync('second')]));
            break;
          case '/empty-gzip':
            res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': '0' }).end();
            break;
          case '/corrupt':
            res.writeHead(200, { 'content-encoding': 'gzip' }).end(Buffer.from('not gzip at all'));
            break;
          default:
            res.writeHead(200, { 'x-multi': ['a', 'b'] }).end(payload);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const send = (path: string, body?: Parameters<ReturnType<typeof undiciTransport>>[0]['body']): Promise<WireResponse> =>
    undiciTransport()({ method: body ? 'POST' : 'GET', url: `${base}${path}`, headers: {}, ...(body ? { body } : {}), signal: AbortSignal.timeout(5000) });

  it('decodes gzip by Content-Encoding, including multi-member streams', async () => {
    expect(await readText(await send('/gzip'), 1e6)).toBe(payload.toString());
    expect(await readText(await send('/two-members'), 1e6)).toBe('first;second');
  });

  it('treats an empty gzip-labelled body (a REPORT) as empty', async () => {
    expect(await readText(await send('/empty-gzip'), 1e6)).toBe('');
  });

  it('fails loudly on a corrupt gzip body', async () => {
    await expect(readText(await send('/corrupt'), 1e6)).rejects.toThrow();
  });

  it('passes identity bodies through and joins repeated headers', async () => {
    const res = await send('/plain');
    expect(res.headers.get('x-multi')).toBe('a, b');
    expect(await readText(res, 1e6)).toBe(payload.toString());
  });

  it('streams a sized body with its Content-Length (no chunked encoding)', async () => {
    const res = await send('/plain', { length: 6, stream: () => Readable.from([Buffer.from('abc'), Buffer.from('def')]) });
    await res.dump();
    const last = received[received.length - 1]!;
    expect(last.headers['content-length']).toBe('6');
    expect(last.headers['transfer-encoding']).toBeUndefined();
    expect(last.body.toString()).toBe('abcdef');
  });
});
