/**
 * Durable idempotency keys for `POST /v1/documents`: key -> (body hash, workflow id), kept as one small
 * file per key beside the content store (a volume every API replica already shares). The record is
 * written with O_EXCL *before* the workflow starts, so two racing requests with the same key and
 * different bodies cannot both start a delivery; a crash after the reservation is healed by the retry,
 * because starting the (deterministically named) workflow again is itself idempotent. Files hold hashes
 * and the workflow id only: no patient data, and the key itself is stored hashed.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { KnownDirs } from '../../store/known-dirs';

export interface IdempotencyRecord {
  bodySha256: string;
  workflowId: string;
  createdAt: string;
}

export type Reservation = { outcome: 'new' | 'same'; record: IdempotencyRecord } | { outcome: 'conflict'; record: IdempotencyRecord };

/** The Idempotency-Key header: printable ASCII, 1-255 characters (draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** JSON with object keys sorted, so the same body always hashes the same whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export class IdempotencyStore {
  private readonly dirs = new KnownDirs();

  constructor(private readonly dir: string) {}

  private fileOf(key: string): string {
    return path.join(this.dir, `${sha256Hex(key)}.json`);
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.fileOf(key), 'utf8')) as IdempotencyRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Gives a claim back (the request that made it was refused), so the key is free again. */
  async release(key: string): Promise<void> {
    await rm(this.fileOf(key), { force: true });
  }

  /** Claims `key` for this body and workflow, or tells what it was already claimed for. */
  async reserve(key: string, bodySha256: string, workflowId: string, now = new Date()): Promise<Reservation> {
    const record: IdempotencyRecord = { bodySha256, workflowId, createdAt: now.toISOString() };
    try {
      await this.dirs.writeIn(this.dir, async () => {
        const handle = await open(this.fileOf(key), 'wx', 0o600);
        try {
          await handle.writeFile(JSON.stringify(record));
          await handle.sync();
        } finally {
          await handle.close();
        }
      });
      return { outcome: 'new', record };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // Another request holds the key; its file may still be being written.
    for (let i = 0; i < 50; i++) {
      const existing = await this.get(key).catch(() => undefined);
      if (existing?.bodySha256) {
        return existing.bodySha256 === bodySha256 ? { outcome: 'same', record: existing } : { outcome: 'conflict', record: existing };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('idempotency record unreadable');
  }
}
