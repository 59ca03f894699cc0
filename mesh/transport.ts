import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip as gunzipCb } from 'node:zlib';
import { request as undiciRequest, type Dispatcher } from 'undici';

/**
 * The HTTP exchange the MESH client needs, over either undici's `request` (the default: no body copies,
 * no transparent decoding, so `Content-Encoding` is handled here exactly once) or an injected `fetch`
 * (whose Fetch semantics already decode `Content-Encoding`).
 */
export interface WireRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body?: WireBody;
  signal: AbortSignal;
}

/** A request body: bytes, or a stream of exactly `length` bytes (sent with that Content-Length). */
export type WireBody = Uint8Array | { length: number; stream: () => Readable };

export interface WireResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Map<string, string>;
  /** The body decoded by `Content-Encoding`; iterate at most once. */
  body: AsyncIterable<Buffer>;
  /** Discard the body (keeps the connection reusable where possible). */
  dump(): Promise<void>;
  /**
   * Bytes of the body read off the wire so far, before `Content-Encoding` decoding. Absent when the
   * transport cannot see them (Fetch decodes before the caller reads).
   */
  wireBytesRead?(): number;
}

export type Transport = (req: WireRequest) => Promise<WireResponse>;

export function undiciTransport(dispatcher?: Dispatcher): Transport {
  return async (req) => {
    const headers = { ...req.headers };
    let body: Uint8Array | Readable | undefined;
    if (req.body instanceof Uint8Array) {
      body = req.body;
    } else if (req.body) {
      body = req.body.stream();
      headers['Content-Length'] = String(req.body.length);
    }
    const res = await undiciRequest(req.url, {
      method: req.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: req.signal,
      ...(dispatcher ? { dispatcher } : {}),
    });
    const map = new Map<string, string>();
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) map.set(k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v);
    }
    const raw = res.body;
    // Counted as the bytes leave the socket, before gunzip: a caller bounds what is read off the wire
    // and, separately, what decoding produces from it.
    let wireBytes = 0;
    return {
      status: res.statusCode,
      headers: map,
      body: decodeBody(raw, map, (n) => (wireBytes += n)),
      dump: async () => {
        await raw.dump().catch(() => undefined);
      },
      wireBytesRead: () => wireBytes,
    };
  };
}

export function fetchTransport(fetchImpl: typeof fetch, dispatcher?: Dispatcher): Transport {
  return async (req) => {
    const init: Record<string, unknown> = { method: req.method, headers: req.headers, signal: req.signal };
    if (req.body instanceof Uint8Array) {
      init.body = req.body;
    } else if (req.body) {
      init.body = Readable.toWeb(req.body.stream());
      init.duplex = 'half';
    }
    if (dispatcher) init.dispatcher = dispatcher;
    const res = await fetchImpl(req.url, init as RequestInit);
    const map = new Map<string, string>();
    res.headers.forEach((v, k) => map.set(k.toLowerCase(), v));
    const stream = res.body;
    async function* iterate(): AsyncGenerator<Buffer> {
      if (!stream) return;
      // Fetch has already removed any Content-Encoding (Fetch standard, "HTTP-network fetch").
      for await (const part of stream as unknown as AsyncIterable<Uint8Array>) {
        yield Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
      }
    }
    return {
      status: res.status,
      headers: map,
      body: iterate(),
      dump: async () => {
        await stream?.cancel().catch(() => undefined);
      },
    };
  };
}

const gunzipOnce = promisify(gunzipCb);
/** A gzip body up to this size (Content-Length) is decoded in one call rather than as a stream. */
export const ONE_SHOT_GZIP_BYTES = 64 * 1024;
/** ... as long as it expands to no more than this; a larger one is streamed after all (memory stays flat). */
export const ONE_SHOT_GZIP_MAX_OUTPUT = 4 * 1024 * 1024;

/** gunzip by `Content-Encoding` (MESH only uses gzip); anything else passes through untouched. */
async function* decodeBody(raw: Readable, headers: Map<string, string>, onWire: (bytes: number) => void = () => undefined): AsyncGenerator<Buffer> {
  const wire = counting(raw, onWire);
  const encoding = (headers.get('content-encoding') ?? '').trim().toLowerCase();
  if ((encoding !== 'gzip' && encoding !== 'x-gzip') || headers.get('content-length') === '0') {
    yield* wire;
    return;
  }
  // Small messages (the common case: an ITK3 response, a 10 KB document) in one zlib call: a gunzip stream
  // with its 256 KiB output buffer cost twice the client CPU of the whole small-message exchange (profiled).
  const length = Number(headers.get('content-length') ?? Number.NaN);
  if (Number.isInteger(length) && length > 0 && length <= ONE_SHOT_GZIP_BYTES) {
    const parts: Buffer[] = [];
    for await (const part of wire) parts.push(part);
    const compressed = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    try {
      yield await gunzipOnce(compressed, { maxOutputLength: ONE_SHOT_GZIP_MAX_OUTPUT });
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') throw err;
    }
    yield* streamGunzip(Readable.from([compressed]), Readable.from([]));
    return;
  }
  yield* streamGunzip(wire, raw);
}

/** The pieces of `raw` as they are read, each counted first. */
async function* counting(raw: Readable, onWire: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const part of raw as AsyncIterable<Buffer>) {
    onWire(part.byteLength);
    yield part;
  }
}

/** gunzip `source` as it is consumed; `raw` (the socket body behind it) is destroyed when iteration stops. */
async function* streamGunzip(source: AsyncIterable<Buffer>, raw: Readable): AsyncGenerator<Buffer> {
  // Each write to a zlib stream is a thread-pool round trip, so it is fed large pieces and gives large
  // outputs: far less CPU per byte than socket-sized pieces (BENCHMARKS.md, "MESH client").
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  // One block in flight ahead of the consumer (Readable.from defaults to 16): what is read off the wire
  // stays within a block or two of what the caller has taken, so its size limits hold.
  const feeding = pipeline(Readable.from(coalesce(source, 1024 * 1024), { highWaterMark: 1 }), gunzip);
  feeding.catch(() => undefined); // surfaced through the iteration below
  try {
    for await (const part of gunzip as AsyncIterable<Buffer>) yield part;
    await feeding;
  } finally {
    if (!gunzip.destroyed) gunzip.destroy();
    if (!raw.destroyed) raw.destroy();
  }
}

/** Join small pieces into blocks of at least `min` bytes (the last one may be shorter). */
async function* coalesce(source: AsyncIterable<Buffer>, min: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const piece of source) {
    pending.push(piece);
    size += piece.byteLength;
    if (size >= min) {
      yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
}

/** Read a whole body into one string, stopping at `cap` bytes. */
export async function readText(res: WireResponse, cap: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of res.body) {
    parts.push(part);
    size += part.byteLength;
    if (size >= cap) break;
  }
  if (size >= cap) await res.dump();
  return Buffer.concat(parts).subarray(0, cap).toString('utf8');
}
