import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ONE_SHOT_GZIP_BYTES, ONE_SHOT_GZIP_MAX_OUTPUT, readText, undiciTransport, type WireResponse } from '../../../mesh/transport';

describe('undici transport', () => {
  let server: http.Server;
  let base: string;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: Buffer }> = [];
  const payload = Buffer.from('<Bundle>'.repeat(5000));
  // Small on the wire and 1 MiB decoded: one piece when decoded in one call (a stream gives 256 KiB pieces).
  const mebibyte = Buffer.from('<Bundle>'.repeat(128 * 1024));
  // Small on the wire, larger than the one-shot limit once decoded: must still come out whole, streamed.
  const expands = Buffer.alloc(ONE_SHOT_GZIP_MAX_OUTPUT * 2 + 3, 'a');
  const sized = (res: http.ServerResponse, body: Buffer): void => void res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(body.length) }).end(body);

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
          case '/gzip-sized':
            sized(res, gzipSync(mebibyte));
            break;
          case '/expands-sized':
            sized(res, gzipSync(expands));
            break;
          case '/corrupt-sized':
            sized(res, Buffer.from('not gzip at all'));
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

  it('decodes a small gzip body with a Content-Length in one piece, and streams one that expands past the limit', async () => {
    expect(gzipSync(mebibyte).length).toBeLessThanOrEqual(ONE_SHOT_GZIP_BYTES);
    const parts: Buffer[] = [];
    for await (const part of (await send('/gzip-sized')).body) parts.push(part);
    expect(parts).toHaveLength(1);
    expect(parts[0]!.equals(mebibyte)).toBe(true);

    expect(gzipSync(expands).length).toBeLessThanOrEqual(ONE_SHOT_GZIP_BYTES);
    const big: Buffer[] = [];
    for await (const part of (await send('/expands-sized')).body) big.push(part);
    expect(big.length).toBeGreaterThan(1);
    expect(Buffer.concat(big).equals(expands)).toBe(true);
    await expect(readText(await send('/corrupt-sized'), 1e6)).rejects.toThrow();
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
