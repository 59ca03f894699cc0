/**
 * The payload codec: every payload that reaches Temporal (workflow and activity inputs and results,
 * signals, queries, updates, memos, failure details) is encrypted with AES-256-GCM before it leaves the
 * process, so the server's history holds ciphertext only. The whole serialized Payload
 * proto is encrypted (its metadata too, so even the encoding is hidden); the key id travels in the
 * metadata so several keys can be configured and histories written under an old key stay readable after
 * rotation. Layout of `data`: 12-byte IV | ciphertext | 16-byte tag; the key id is bound as AAD.
 *
 * Installed alike on the worker, the Temporal client of the API and CLI, the test harness and the codec
 * server (pattern of temporalio/samples-typescript `encryption/`).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { KeyRing } from '../config/env';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PayloadProto = temporal.api.common.v1.Payload;

const text = (b?: Uint8Array | null): string => Buffer.from(b ?? []).toString('utf8');

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {
    for (const [id, key] of ring.keys) {
      if (key.length !== 32) throw new Error(`codec key ${id} is not 32 bytes`);
    }
    if (!ring.keys.has(ring.activeKeyId)) throw new Error(`codec key ${ring.activeKeyId} is not among the configured keys`);
  }

  /** Key ids this codec can decrypt. */
  get keyIds(): string[] {
    return [...this.ring.keys.keys()];
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.seal(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.open(p));
  }

  seal(payload: Payload): Payload {
    const keyId = this.ring.activeKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.ring.keys.get(keyId)!, iv);
    cipher.setAAD(Buffer.from(keyId, 'utf8'));
    const body = Buffer.concat([cipher.update(PayloadProto.encode(payload).finish()), cipher.final()]);
    return {
      metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: Buffer.from(keyId) },
      data: Buffer.concat([iv, body, cipher.getAuthTag()]),
    };
  }

  open(payload: Payload): Payload {
    // Not ours (e.g. written before the codec was installed): pass it through unchanged.
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCODING_ENCRYPTED) return payload;
    const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
    const key = this.ring.keys.get(keyId);
    if (!key) throw new ValueError(`payload encrypted with unknown codec key id '${keyId}'`);
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new ValueError(`payload failed authentication under codec key '${keyId}'`);
    }
    return PayloadProto.decode(plain);
  }
}

/** The one data converter of ITK3 Courier: give it to every Client, Worker, test environment and replay. */
export function courierDataConverter(ring: KeyRing): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(ring)] };
}
