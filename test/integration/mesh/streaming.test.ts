/**
 * Large messages are streamed, never held whole: a message many chunks long is sent from a file and read
 * back with the streaming download. The test watches how the client touches the data: the body source is
 * asked for at most one chunk at a time (and, uncompressed, only as a stream straight to the socket), and
 * the download yields socket-sized pieces rather than a chunk or the message in one buffer. The bytes that
 * arrive are checked against a digest of the file. Memory figures (peak RSS against message size) are
 * measured by `npm run bench -- mesh`, not asserted here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileBodySource, type MeshBodySource } from '../../../mesh';
import { testServices } from '../../helpers/services';
import { COURIER, RECEIVER, meshClient, uniqueWorkflow } from './helpers';

jest.setTimeout(180_000);

const MB = 1024 * 1024;

function writeRandomFile(file: string, size: number): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  for (let written = 0; written < size; written += MB) {
    const piece = randomBytes(Math.min(MB, size - written));
    hash.update(piece);
    writeSync(fd, piece);
  }
  closeSync(fd);
  return hash.digest('hex');
}

interface Access {
  kind: 'read' | 'stream';
  offset: number;
  length: number;
}

/** The file as a body source that records every request the client makes of it. */
function watchedFileSource(file: string, size: number): { source: MeshBodySource; accesses: Access[] } {
  const inner = fileBodySource(file, size);
  const accesses: Access[] = [];
  const source: MeshBodySource = {
    size,
    read(offset, length) {
      accesses.push({ kind: 'read', offset, length });
      return inner.read(offset, length);
    },
    stream(offset, length): Readable {
      accesses.push({ kind: 'stream', offset, length });
      return inner.stream!(offset, length);
    },
  };
  return { source, accesses };
}

describe('large messages', () => {
  const dir = mkdtempSync(path.join(testServices().dir, 'large-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    { compress: false, size: 40 * MB + 123, chunkSize: 4 * MB },
    { compress: true, size: 24 * MB + 77, chunkSize: 4 * MB },
  ])('sends and receives $size bytes (compress $compress) a chunk at a time', async ({ compress, size, chunkSize }) => {
    const file = path.join(dir, `${compress ? 'gz' : 'raw'}.bin`);
    const digest = writeRandomFile(file, size);
    const { source, accesses } = watchedFileSource(file, size);
    const sender = meshClient(COURIER, { chunkSize, compress });
    const receiver = meshClient(RECEIVER, { downloadEncoding: 'identity' });

    const sent = await sender.sendMessage({ to: RECEIVER, workflowId: uniqueWorkflow('large'), body: source });
    const chunks = Math.ceil(size / chunkSize);
    expect(sent.totalChunks).toBe(chunks);
    // Each chunk's range asked for exactly once, in order, never more than a chunk.
    expect(accesses.map((a) => a.offset)).toEqual(Array.from({ length: chunks }, (_, i) => i * chunkSize));
    expect(Math.max(...accesses.map((a) => a.length))).toBe(chunkSize);
    expect(accesses.reduce((sum, a) => sum + a.length, 0)).toBe(size);
    // Uncompressed data goes from the file to the socket as a stream; gzip needs the chunk's bytes.
    expect(new Set(accesses.map((a) => a.kind))).toEqual(new Set([compress ? 'read' : 'stream']));

    const { metadata, body } = await receiver.downloadMessageStream(sent.messageId);
    const hash = createHash('sha256');
    let received = 0;
    let pieces = 0;
    let largestPiece = 0;
    for await (const part of body) {
      hash.update(part);
      received += part.byteLength;
      pieces += 1;
      largestPiece = Math.max(largestPiece, part.byteLength);
    }
    expect(metadata.totalChunks).toBe(chunks);
    expect(received).toBe(size);
    expect(hash.digest('hex')).toBe(digest);
    // Yielded as it arrives from the socket: no piece is a whole chunk, let alone the message.
    expect(largestPiece).toBeLessThan(chunkSize);
    expect(pieces).toBeGreaterThan(chunks);
    await receiver.acknowledgeMessage(sent.messageId);
  });
});
