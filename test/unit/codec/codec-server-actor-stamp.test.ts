/**
 * Updates typed into the Web UI are encoded by the codec server on their way to Temporal. For a signed-in
 * operator it writes the principal into `actor` (whatever was typed) and adds a token bound to the
 * namespace and the exact input; the verifyActorToken rules then accept that input and nothing else.
 * Other payloads the UI encodes (workflow inputs, signals) pass through as they came.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Authenticator } from '../../../client/auth';
import { AesGcmPayloadCodec } from '../../../payload-codec/aes-gcm-codec';
import { buildCodecServer } from '../../../codec/codec-server';
import { verifyActorToken } from '../../../activities/actor-token';
import { parseKeyRing } from '../../../config/env';

const OPERATOR = 'operator-secret-0123456789';
const codec = new AesGcmPayloadCodec(parseKeyRing(`k1:${randomBytes(32).toString('base64')}`));
const actorKeys = parseKeyRing(`a1:${randomBytes(32).toString('base64')}`);
const auth = new Authenticator([{ name: 'ops.jones', role: 'operator', secret: OPERATOR }]);

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const uiPayload = (value: unknown, encoding = 'json/plain') => ({ metadata: { encoding: b64(encoding) }, data: b64(JSON.stringify(value)) });

let app: FastifyInstance;
let unkeyed: FastifyInstance;
beforeAll(async () => {
  // A real listener: fastify's inject depends on an ESM-only module the test runner does not load.
  app = buildCodecServer({ codec, auth, allowedOrigins: [], logger: pino({ level: 'silent' }), actorKeys });
  unkeyed = buildCodecServer({ codec, auth, allowedOrigins: [], logger: pino({ level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  await unkeyed.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await unkeyed.close();
});
const urlOf = (server: FastifyInstance): string => `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;

async function encodeThenDecode(server: FastifyInstance, payloads: unknown[], headers: Record<string, string> = { authorization: `Bearer ${OPERATOR}`, 'x-namespace': 'default' }) {
  const enc = await fetch(`${urlOf(server)}/encode`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ payloads }) });
  if (enc.status !== 200) return { status: enc.status, values: [] as Array<Record<string, unknown>> };
  const encoded = ((await enc.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> }).payloads;
  const decoded = await codec.decode(encoded.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])), data: Buffer.from(p.data, 'base64') })));
  return { status: 200, values: decoded.map((p) => JSON.parse(Buffer.from(p.data!).toString('utf8')) as Record<string, unknown>) };
}

describe('the codec server stamps operator updates typed into the Web UI', () => {
  it('replaces a typed actor with the signed-in principal and adds a token that verifies for exactly that input', async () => {
    const { values } = await encodeThenDecode(app, [uiPayload({ actor: 'chief.executive', reason: 'practice fixed its mailbox' })]);
    const input = values[0]!;
    expect(input.actor).toBe('ops.jones');
    expect(input.reason).toBe('practice fixed its mailbox');
    const token = input.actorToken as string;
    expect(typeof token).toBe('string');
    const at = { workflowId: 'send-document-any-v1', update: 'resend', now: Date.now(), namespace: 'default' };
    expect(verifyActorToken(actorKeys, token, { ...at, input })).toEqual({ valid: true, principal: 'ops.jones' });
    // The same token on a changed input, in another namespace, or naming someone else, does not verify.
    expect(verifyActorToken(actorKeys, token, { ...at, input: { ...input, reason: 'something else' } })).toEqual({ valid: false, reason: 'issued for another input' });
    expect(verifyActorToken(actorKeys, token, { ...at, input: { ...input, overrideBusinessRejection: true } })).toEqual({ valid: false, reason: 'issued for another input' });
    expect(verifyActorToken(actorKeys, token, { ...at, input: { ...input, actor: 'chief.executive' } })).toEqual({ valid: false, reason: 'issued for another input' });
    expect(verifyActorToken(actorKeys, token, { ...at, namespace: 'other', input })).toEqual({ valid: false, reason: 'issued for another namespace' });
    expect(verifyActorToken(actorKeys, token, { ...at, input: undefined })).toEqual({ valid: false, reason: 'issued for another input' });
    expect(verifyActorToken(actorKeys, token, { ...at, now: Date.now() + 10 * 60_000, input })).toEqual({ valid: false, reason: 'expired' });
  });

  it('adds the actor when none was typed, and stamps acknowledgeEscalation inputs (note) too', async () => {
    const { values } = await encodeThenDecode(app, [uiPayload({ reason: 'stop' }), uiPayload({ note: 'taking it' })]);
    expect(values.map((v) => v.actor)).toEqual(['ops.jones', 'ops.jones']);
    expect(values.every((v) => typeof v.actorToken === 'string')).toBe(true);
  });

  it('replaces a token typed into the form instead of passing it on', async () => {
    const { values } = await encodeThenDecode(app, [uiPayload({ reason: 'x', actorToken: 'v1.a1.forged.sig' })]);
    expect(values[0]!.actorToken).not.toBe('v1.a1.forged.sig');
  });

  it('passes other payloads through untouched: no reason or note, not an object, not plain JSON', async () => {
    const others = [{ documentId: 'abc' }, ['reason'], 'reason', 42];
    const { values } = await encodeThenDecode(app, others.map((v) => uiPayload(v)));
    expect(values).toEqual(others);
  });

  it('stamps nothing without actor keys, and encodes nothing for someone not signed in', async () => {
    const { values } = await encodeThenDecode(unkeyed, [uiPayload({ actor: 'chief.executive', reason: 'x' })]);
    expect(values[0]).toEqual({ actor: 'chief.executive', reason: 'x' });
    expect((await encodeThenDecode(app, [uiPayload({ reason: 'x' })], { 'x-namespace': 'default' })).status).toBe(401);
  });
});
