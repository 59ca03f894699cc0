/** A ContentStore in memory for tests that need no encryption or disk: sequential keys, real sha256. */
import { createHash } from 'node:crypto';
import type { ContentRef } from '../../contracts';
import { CourierError } from '../../contracts/errors';
import type { ContentStore } from '../../store/content-store';

export class MemoryStore implements ContentStore {
  readonly items = new Map<string, Buffer>();
  async put(kind: string, content: Uint8Array): Promise<ContentRef> {
    const key = `${kind}/${this.items.size + 1}`;
    this.items.set(key, Buffer.from(content));
    return { key, sha256: createHash('sha256').update(content).digest('hex'), size: content.byteLength };
  }
  async get(ref: ContentRef): Promise<Buffer> {
    const item = this.items.get(ref.key);
    if (!item) throw new CourierError('STORE_NOT_FOUND', `content ${ref.key} not found`);
    return item;
  }
}
