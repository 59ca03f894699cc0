import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/**
 * Where the bytes of an outgoing message come from. A `MeshBodySource` is read one chunk at a time, so
 * a large message (e.g. from the content store or a file) is never held in memory whole by the client;
 * a chunk may be read again when its upload is retried.
 */
export interface MeshBodySource {
  /** Total uncompressed size in bytes. */
  readonly size: number;
  /** Read exactly `length` bytes from `offset` (never past `size`). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: a fresh stream of exactly `length` bytes from `offset`. When present, uncompressed chunks
   * are streamed to MESH without being read into memory (called again for a retry).
   */
  stream?(offset: number, length: number): Readable;
}

export type MeshBody = Uint8Array | string | MeshBodySource;

export function isBodySource(body: MeshBody): body is MeshBodySource {
  return typeof body === 'object' && !(body instanceof Uint8Array) && typeof (body as MeshBodySource).read === 'function';
}

/** In-memory bytes as a source; slices are views, not copies. Strings are UTF-8 encoded once. */
export function bytesBodySource(body: Uint8Array | string): MeshBodySource {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return {
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** A file read chunk by chunk (each read opens, reads and closes, so no handle outlives a call). */
export function fileBodySource(path: string, size: number): MeshBodySource {
  return {
    size,
    stream: (offset, length) => createReadStream(path, { start: offset, end: offset + length - 1, highWaterMark: 256 * 1024 }),
    async read(offset, length) {
      const handle = await open(path, 'r');
      try {
        const buffer = Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) throw new Error('file is shorter than the declared size');
          filled += bytesRead;
        }
        return buffer;
      } finally {
        await handle.close();
      }
    },
  };
}

/**
 * The chunk plan (MESH API v2 "Send chunked message"): split the uncompressed
 * data into `ceil(size / chunkSize)` ordered ranges (at least one), each compressed on its own.
 */
export function planChunks(size: number, chunkSize: number): Array<{ number: number; offset: number; length: number }> {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError('chunkSize must be a positive integer');
  const total = Math.max(1, Math.ceil(size / chunkSize));
  const plan: Array<{ number: number; offset: number; length: number }> = [];
  for (let i = 0; i < total; i += 1) {
    const offset = i * chunkSize;
    plan.push({ number: i + 1, offset, length: Math.min(chunkSize, size - offset) });
  }
  return plan;
}
