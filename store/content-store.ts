/**
 * The encrypted content store: where clinical content lives while workflows carry only a claim check
 * (`ContentRef`: key, sha256, size). Local files by default, AES-256-GCM with a key id in each file so
 * that keys can rotate while old content stays readable. Writes are atomic (temp file, fsync, rename).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { CourierError, ErrorType, type ContentRef } from '../contracts';
import { KnownDirs } from './known-dirs';

const MAGIC = Buffer.from('ITK3S1');

export interface ContentStore {
  put(kind: string, content: Uint8Array): Promise<ContentRef>;
  get(ref: ContentRef): Promise<Buffer>;
}

export class EncryptedFileStore implements ContentStore {
  private readonly dirs = new KnownDirs();

  constructor(
    private readonly dir: string,
    private readonly keys: ReadonlyMap<string, Buffer>,
    private readonly activeKeyId: string,
  ) {
    if (!keys.has(activeKeyId)) throw new Error(`store key ${activeKeyId} is not among the configured keys`);
  }

  async put(kind: string, content: Uint8Array): Promise<ContentRef> {
    if (!/^[a-z0-9-]+$/.test(kind)) throw new Error(`invalid content kind ${kind}`);
    const key = `${kind}/${randomUUID()}`;
    const iv = randomBytes(12);
    const keyId = Buffer.from(this.activeKeyId, 'utf8');
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKeyId)!, iv);
    const header = Buffer.concat([MAGIC, Buffer.from([keyId.length]), keyId, iv]);
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(content), cipher.final()]);
    const file = this.fileOf(key);
    const tmp = `${file}.${process.pid}.tmp`;
    const sealed = Buffer.concat([header, cipher.getAuthTag(), body]);
    await this.dirs.writeIn(path.dirname(file), async () => {
      const handle = await open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(sealed);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    });
    return { key, sha256: createHash('sha256').update(content).digest('hex'), size: content.byteLength };
  }

  async get(ref: ContentRef): Promise<Buffer> {
    let raw: Buffer;
    try {
      raw = await readFile(this.fileOf(ref.key));
    } catch (err) {
      throw new CourierError(ErrorType.STORE_NOT_FOUND, `content ${ref.key} not found`, [], false);
    }
    if (!raw.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new CourierError(ErrorType.STORE_INTEGRITY, `content ${ref.key} is not an ITK3 Courier store file`);
    }
    const idLen = raw[MAGIC.length] ?? 0;
    const idStart = MAGIC.length + 1;
    const keyId = raw.subarray(idStart, idStart + idLen).toString('utf8');
    const ivStart = idStart + idLen;
    const header = raw.subarray(0, ivStart + 12);
    const tag = raw.subarray(ivStart + 12, ivStart + 28);
    const key = this.keys.get(keyId);
    if (!key) throw new CourierError(ErrorType.STORE_INTEGRITY, `content ${ref.key} needs store key ${keyId}, which is not configured`);
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(ivStart, ivStart + 12));
    decipher.setAAD(header);
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(raw.subarray(ivStart + 28)), decipher.final()]);
    } catch {
      throw new CourierError(ErrorType.STORE_INTEGRITY, `content ${ref.key} failed authentication`);
    }
    if (createHash('sha256').update(plain).digest('hex') !== ref.sha256) {
      throw new CourierError(ErrorType.STORE_INTEGRITY, `content ${ref.key} does not match its sha256`);
    }
    return plain;
  }

  private fileOf(key: string): string {
    if (!/^[a-z0-9-]+\/[0-9a-f-]{36}$/.test(key)) {
      throw new CourierError(ErrorType.STORE_NOT_FOUND, 'malformed content key');
    }
    return path.join(this.dir, `${key}.bin`);
  }
}
