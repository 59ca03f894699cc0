/**
 * Inbound MESH downloads are bounded before they are buffered or inflated: a real gzip bomb (512 MiB of
 * zeros in about half a megabyte) served by a local MESH stand-in over HTTP is decoded only to just past
 * the decoded limit, never in full, and ends in the quarantine as OVERSIZED with its headers and a
 * bounded prefix, then is acknowledged. A body over the limit as sent (declared or streamed) is refused
 * the same way, through the real undici transport and through an injected fetch.
 */
import http from 'node:http';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { routeInboxMessage, type RouterDeps } from '../../../activities/inbound';
import type { StoredInboundMessage } from '../../../contracts/inbound';
import { MeshClient, OVERSIZE_PREFIX_BYTES } from '../../../mesh';
import { ACK_WORKFLOW, FakeTemporal, MAILBOX_CHECKS, silentLogger, tempStore, type Event } from '../inbound/fakes';
import { fakeFetch } from './fake-mesh';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const LIMITS = { maxCompressedBytes: 1 * MiB, maxBytes: 8 * MiB };

/** `size` bytes of zeros, gzipped a block at a time (the bomb is never held uncompressed). */
async function gzipBomb(size: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (b: Buffer) => out.push(b));
  const block = Buffer.alloc(MiB);
  for (let written = 0; written < size; written += block.length) {
    if (!gzip.write(block)) await once(gzip, 'drain');
  }
  gzip.end();
  await once(gzip, 'end');
  return Buffer.concat(out);
}

interface Served {
  body: Buffer;
  gzip: boolean;
  /** Send Content-Length (else chunked). */
  sized: boolean;
}

/** A MESH stand-in: GET inbox/{id} answers with the served body and mex headers; PUT acknowledges. */
async function fakeMeshServer(messages: Map<string, Served>): Promise<{ url: string; acked: string[]; close(): Promise<void> }> {
  const acked: string[] = [];
  const server = http.createServer((req, res) => {
    const m = /^\/messageexchange\/X26ABC1\/inbox\/([A-Z0-9]+)(\/status\/acknowledged)?$/.exec(req.url ?? '');
    const served = m ? messages.get(m[1]!) : undefined;
    if (!m || !served) return void res.writeHead(404).end();
    if (m[2]) {
      acked.push(m[1]!);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId: m[1] }));
    }
    res.writeHead(200, {
      'mex-messageid': m[1]!,
      'mex-messagetype': 'DATA',
      'mex-workflowid': ACK_WORKFLOW,
      'mex-from': 'X26ABC2',
      'mex-to': 'X26ABC1',
      'content-type': 'application/xml',
      ...(served.gzip ? { 'content-encoding': 'gzip' } : {}),
      ...(served.sized ? { 'content-length': String(served.body.length) } : {}),
    });
    // Written in pieces, as a network would deliver it; a client that stops reading closes the socket.
    let offset = 0;
    const pump = (): void => {
      while (offset < served.body.length) {
        const piece = served.body.subarray(offset, offset + 64 * 1024);
        offset += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => undefined);
    pump();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    acked,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function routerDeps() {
  const events: Event[] = [];
  const temporal = new FakeTemporal(events);
  const store = tempStore();
  const deps: RouterDeps = { temporal, store, logger: silentLogger, now: () => new Date('2026-01-01T10:00:00Z'), rematchDelaysMs: [1000], checks: MAILBOX_CHECKS };
  return { temporal, store, deps };
}

/** Peak growth of resident memory while `fn` runs, sampled every 5 ms. */
async function peakRssGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

describe('inbound download limits', () => {
  let bomb: Buffer;
  beforeAll(async () => {
    bomb = await gzipBomb(512 * MiB);
  });

  it.each([
    ['streamed (no Content-Length)', false],
    ['with its Content-Length', true],
  ])('never inflates a gzip bomb %s: decoding stops past the limit and the message is quarantined OVERSIZED', async (_name, sized) => {
    expect(bomb.length).toBeLessThan(LIMITS.maxCompressedBytes);
    const messages = new Map([['BOMB0001', { body: bomb, gzip: true, sized }]]);
    const mesh = await fakeMeshServer(messages);
    try {
      const client = new MeshClient({ baseUrl: mesh.url, mailboxId: 'X26ABC1', password: 'p', sharedKey: 'k', downloadLimits: LIMITS, maxRetries: 0 });
      const { temporal, store, deps } = routerDeps();
      const { result: outcome, growth } = await peakRssGrowth(() => routeInboxMessage(deps, client, 'BOMB0001'));

      expect(outcome).toBe('quarantined');
      // 512 MiB inflated in full would show here; the limit is 8 MiB plus at most a block in flight.
      expect(growth).toBeLessThan(128 * MiB);
      const entry = temporal.quarantines.get('inbound-quarantine-X26ABC1-BOMB0001') ?? [...temporal.quarantines.values()][0]!;
      expect(entry.input.reason).toBe('OVERSIZED');
      expect(entry.input.detail).toMatch(/^over the inbound limit of 8388608 bytes decoded \(read \d+/);
      const read = Number(/read (\d+)/.exec(entry.input.detail)![1]);
      expect(read).toBeGreaterThan(LIMITS.maxBytes);
      expect(read).toBeLessThan(LIMITS.maxBytes + 2 * MiB);
      const stored = JSON.parse((await store.get(entry.input.contentRef)).toString('utf8')) as StoredInboundMessage;
      expect(stored.headers['mex-workflowid']).toBe(ACK_WORKFLOW);
      expect(Buffer.from(stored.bodyBase64, 'base64').length).toBe(OVERSIZE_PREFIX_BYTES);
      expect(mesh.acked).toEqual(['BOMB0001']);
    } finally {
      await mesh.close();
    }
  });

  it('stops reading a body over the limit as sent, whether declared or streamed, and keeps a bounded prefix', async () => {
    const big = Buffer.alloc(3 * MiB, 0x41);
    const messages = new Map([
      ['PLAINSIZED', { body: big, gzip: false, sized: true }],
      ['PLAINCHUNKED', { body: big, gzip: false, sized: false }],
    ]);
    const mesh = await fakeMeshServer(messages);
    try {
      const client = new MeshClient({ baseUrl: mesh.url, mailboxId: 'X26ABC1', password: 'p', sharedKey: 'k', downloadLimits: LIMITS, maxRetries: 0 });
      const declared = await client.downloadMessage('PLAINSIZED');
      expect(declared.oversize).toMatchObject({ limit: 'compressed', limitBytes: MiB, declaredBytes: 3 * MiB });
      expect(declared.oversize!.bytesRead).toBeLessThanOrEqual(MiB);
      expect(declared.body.length).toBe(OVERSIZE_PREFIX_BYTES);
      const streamed = await client.downloadMessage('PLAINCHUNKED');
      expect(streamed.oversize).toMatchObject({ limit: 'compressed', limitBytes: MiB });
      expect(streamed.oversize!.bytesRead).toBeGreaterThan(MiB);
      expect(streamed.oversize!.bytesRead).toBeLessThan(MiB + 256 * 1024);
      expect(streamed.body.length).toBe(OVERSIZE_PREFIX_BYTES);
    } finally {
      await mesh.close();
    }
  });

  it('applies the same limits with an injected fetch (which decodes before the client reads)', async () => {
    const big = Buffer.alloc(9 * MiB, 0x42);
    const { fetch } = fakeFetch([
      () =>
        new Response(new Blob([big]).stream(), {
          status: 200,
          headers: { 'mex-messagetype': 'DATA', 'mex-workflowid': ACK_WORKFLOW, 'mex-messageid': 'FETCHED1' },
        }),
    ]);
    const client = new MeshClient({ baseUrl: 'https://mesh.example.nhs.uk', mailboxId: 'X26ABC1', password: 'p', sharedKey: 'k', fetch, downloadLimits: { maxCompressedBytes: 16 * MiB, maxBytes: 2 * MiB }, maxRetries: 0 });
    const msg = await client.downloadMessage('FETCHED1');
    expect(msg.oversize).toMatchObject({ limit: 'decoded', limitBytes: 2 * MiB });
    expect(msg.body.length).toBe(OVERSIZE_PREFIX_BYTES);
  });

  it('reads a message within the limits in full, as before', async () => {
    const xml = Buffer.from('<Bundle xmlns="http://hl7.org/fhir"/>');
    const messages = new Map([['SMALL1', { body: xml, gzip: false, sized: true }]]);
    const mesh = await fakeMeshServer(messages);
    try {
      const client = new MeshClient({ baseUrl: mesh.url, mailboxId: 'X26ABC1', password: 'p', sharedKey: 'k', downloadLimits: LIMITS });
      const msg = await client.downloadMessage('SMALL1');
      expect(msg.oversize).toBeUndefined();
      expect(msg.body.equals(xml)).toBe(true);
    } finally {
      await mesh.close();
    }
  });
});
