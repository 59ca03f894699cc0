/**
 * Memory stays flat in message size: a message several times larger than the bound is sent from a file
 * (uncompressed chunks streamed from disk, compressed chunks one at a time) and read back with the
 * streaming download, while the jest worker's RSS is sampled.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileBodySource } from '../../../mesh';
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

function sampleRss(): { stop(): number } {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss()) - start;
    },
  };
}

describe('large messages', () => {
  const dir = mkdtempSync(path.join(testServices().dir, 'large-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    // Warm up module loading, JIT, buffer pools and connections, so the samples measure the message only.
    const file = path.join(dir, 'warm.bin');
    writeRandomFile(file, 12 * MB);
    const wf = uniqueWorkflow('warm');
    const sent = await meshClient(COURIER, { chunkSize: 8 * MB }).sendMessage({ to: RECEIVER, workflowId: wf, body: fileBodySource(file, 12 * MB) });
    const receiver = meshClient(RECEIVER, { downloadEncoding: 'identity' });
    for await (const _ of (await receiver.downloadMessageStream(sent.messageId)).body) {
      // drain
    }
    await receiver.acknowledgeMessage(sent.messageId);
  });

  it.each([
    { compress: false, size: 96 * MB, chunkSize: 8 * MB, bound: 40 * MB },
    { compress: true, size: 48 * MB, chunkSize: 8 * MB, bound: 40 * MB },
  ])('sends and receives $size bytes (compress $compress) without holding the message in memory', async ({ compress, size, chunkSize, bound }) => {
    const file = path.join(dir, `${compress ? 'gz' : 'raw'}.bin`);
    const digest = writeRandomFile(file, size);
    const wf = uniqueWorkflow('large');
    const sender = meshClient(COURIER, { chunkSize, compress });
    const receiver = meshClient(RECEIVER, { downloadEncoding: 'identity' });

    const sending = sampleRss();
    const sent = await sender.sendMessage({ to: RECEIVER, workflowId: wf, body: fileBodySource(file, size) });
    const sendGrowth = sending.stop();
    expect(sent.totalChunks).toBe(Math.ceil(size / chunkSize));

    const receiving = sampleRss();
    const { metadata, body } = await receiver.downloadMessageStream(sent.messageId);
    const hash = createHash('sha256');
    let received = 0;
    for await (const part of body) {
      hash.update(part);
      received += part.byteLength;
    }
    const receiveGrowth = receiving.stop();
    expect(metadata.totalChunks).toBe(sent.totalChunks);
    expect(received).toBe(size);
    expect(hash.digest('hex')).toBe(digest);
    await receiver.acknowledgeMessage(sent.messageId);

     
    console.log(`size ${size / MB} MiB compress=${compress}: RSS growth send ${(sendGrowth / MB).toFixed(1)} MiB, receive ${(receiveGrowth / MB).toFixed(1)} MiB`);
    expect(sendGrowth).toBeLessThan(bound);
    expect(receiveGrowth).toBeLessThan(bound);
  });
});
