/** The payload codec: round trip, key id in metadata, rotation, tamper detection, pass-through. */
import { randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmPayloadCodec, ENCODING_ENCRYPTED, METADATA_KEY_ID } from '../../../payload-codec/aes-gcm-codec';
import { parseKeyRing } from '../../../config/env';

const k1 = `k1:${randomBytes(32).toString('base64')}`;
const k2 = `k2:${randomBytes(32).toString('base64')}`;
const patient = { nhsNumber: '9990000018', familyName: 'Testpatient' };
const text = (b?: Uint8Array | null): string => Buffer.from(b ?? []).toString();

describe('AES-256-GCM payload codec', () => {
  it('encrypts the whole payload, names the key, and decrypts it back', async () => {
    const codec = new AesGcmPayloadCodec(parseKeyRing(k1));
    const plain = defaultPayloadConverter.toPayload(patient);
    const [sealed] = await codec.encode([plain]);
    expect(text(sealed!.metadata![METADATA_ENCODING_KEY])).toBe(ENCODING_ENCRYPTED);
    expect(text(sealed!.metadata![METADATA_KEY_ID])).toBe('k1');
    expect(Buffer.from(sealed!.data!).includes('9990000018')).toBe(false);
    expect(Buffer.from(sealed!.data!).includes('json/plain')).toBe(false);
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(patient);
  });

  it('uses a fresh IV every time', async () => {
    const codec = new AesGcmPayloadCodec(parseKeyRing(k1));
    const p = defaultPayloadConverter.toPayload(patient);
    const [a, b] = await codec.encode([p, p]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('reads payloads sealed under an old key after rotation, and seals new ones under the new key', async () => {
    const [old] = await new AesGcmPayloadCodec(parseKeyRing(k1)).encode([defaultPayloadConverter.toPayload(patient)]);
    const rotated = new AesGcmPayloadCodec(parseKeyRing(`${k2},${k1}`));
    expect(defaultPayloadConverter.fromPayload((await rotated.decode([old!]))[0]!)).toEqual(patient);
    expect(text((await rotated.encode([defaultPayloadConverter.toPayload(1)]))[0]!.metadata![METADATA_KEY_ID])).toBe('k2');
    await expect(new AesGcmPayloadCodec(parseKeyRing(k2)).decode([old!])).rejects.toThrow("unknown codec key id 'k1'");
  });

  it('refuses a tampered payload or a relabelled key id', async () => {
    const ring = parseKeyRing(`${k1},${k2}`);
    const codec = new AesGcmPayloadCodec(ring);
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(patient)]);
    const flipped: Payload = { ...sealed!, data: Buffer.from(sealed!.data!).map((v, i) => (i === 20 ? v ^ 1 : v)) };
    await expect(codec.decode([flipped])).rejects.toThrow('failed authentication');
    const relabelled: Payload = { ...sealed!, metadata: { ...sealed!.metadata, [METADATA_KEY_ID]: Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow('failed authentication');
  });

  it('passes through payloads that were never encrypted', async () => {
    const plain = defaultPayloadConverter.toPayload({ hello: 'world' });
    expect((await new AesGcmPayloadCodec(parseKeyRing(k1)).decode([plain]))[0]).toBe(plain);
  });
});
