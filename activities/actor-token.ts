/**
 * Actor tokens for operator updates. Temporal's frontend is reachable by more than the API (the Web UI,
 * the Temporal CLI, any client holding a connection), and an update names its actor in its payload, so a
 * name alone proves nothing. The API, which has authenticated the caller, attaches a short-lived token:
 * an HMAC-SHA256 over (principal, workflow id, update name, expiry, nonce) with a key from ITK3_ACTOR_KEYS
 * (key ids, so keys can rotate: the first signs, every key verifies). The delivery workflow has an
 * activity verify it (node crypto is not available in the workflow sandbox) and records the verified
 * principal; anything else is recorded as an unverified actor. Node-only and dependency-free, so the
 * codec server can issue tokens too.
 *
 * An update typed into the Temporal Web UI reaches us only through the codec server's `/encode`, which
 * knows the signed-in operator and the namespace but not the workflow or the update name (the UI sends
 * neither). Its tokens therefore bind (principal, namespace, digest of the exact input) instead: the
 * input cannot be changed, nor the token moved to another input, without failing verification.
 *
 * Format: `v1.<keyId>.<base64url(JSON payload)>.<base64url(HMAC of "v1.<keyId>.<payload>")>`.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from '../config/env';

/** How long a token is accepted after it is issued; the update is handled within seconds of being sent. */
export const ACTOR_TOKEN_TTL_MS = 2 * 60_000;
/** Longest token accepted (a bound on what is parsed). */
const MAX_TOKEN_LENGTH = 2048;

export interface ActorTokenClaims {
  /** The authenticated principal (token name, client-certificate CN, session user). */
  principal: string;
  workflowId: string;
  /** The update's wire name, e.g. `abandon`. */
  update: string;
}

/** What the codec server binds a Web UI update's token to (it cannot know the workflow or update name). */
export interface InputActorTokenClaims {
  principal: string;
  namespace: string;
  /** The update's input as it will reach the workflow, `actorToken` aside (see `actionInputDigest`). */
  input: Record<string, unknown>;
}

interface Payload {
  p: string;
  /** Workflow id and update name, for tokens the API issues. */
  w?: string;
  u?: string;
  /** Namespace and input digest, for tokens the codec server issues. */
  ns?: string;
  d?: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  n: string;
}

/** JSON with object keys sorted at every level, so equal inputs give equal text whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** SHA-256 (base64url) of an update input's canonical JSON, leaving out the token that carries it. */
export function actionInputDigest(input: Record<string, unknown>): string {
  const { actorToken: _token, ...rest } = input;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('base64url');
}

const mac = (key: Buffer, signed: string): Buffer => createHmac('sha256', key).update(signed, 'utf8').digest();

function sign(keys: KeyRing, bound: Omit<Payload, 'exp' | 'n'>, opts: { now?: number; ttlMs?: number }): string {
  const key = keys.keys.get(keys.activeKeyId);
  if (!key) throw new Error('the actor key ring has no active key');
  const payload: Payload = { ...bound, exp: (opts.now ?? Date.now()) + (opts.ttlMs ?? ACTOR_TOKEN_TTL_MS), n: randomBytes(9).toString('base64url') };
  const signed = `v1.${keys.activeKeyId}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
  return `${signed}.${mac(key, signed).toString('base64url')}`;
}

/** A token binding `claims` until `now + ttlMs`, signed with the ring's active key. */
export function issueActorToken(keys: KeyRing, claims: ActorTokenClaims, opts: { now?: number; ttlMs?: number } = {}): string {
  return sign(keys, { p: claims.principal, w: claims.workflowId, u: claims.update }, opts);
}

/** A token for an update input encoded by the codec server for a signed-in operator. */
export function issueInputActorToken(keys: KeyRing, claims: InputActorTokenClaims, opts: { now?: number; ttlMs?: number } = {}): string {
  return sign(keys, { p: claims.principal, ns: claims.namespace, d: actionInputDigest(claims.input) }, opts);
}

export type ActorTokenCheck = { valid: true; principal: string } | { valid: false; reason: string };

/**
 * Checks a token against the workflow and update it arrives with, at `now` (the workflow's time when the
 * update was handled); a codec-issued token against the namespace and the input it arrives with. Reasons
 * name the rule that failed, never the token.
 */
export function verifyActorToken(
  keys: KeyRing,
  token: string,
  expected: { workflowId: string; update: string; now: number; namespace?: string; input?: unknown },
): ActorTokenCheck {
  if (token.length > MAX_TOKEN_LENGTH) return { valid: false, reason: 'token too long' };
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') return { valid: false, reason: 'not an actor token' };
  const [version, keyId, body, signature] = parts as [string, string, string, string];
  const key = keys.keys.get(keyId);
  if (!key) return { valid: false, reason: 'unknown signing key' };
  const expectedMac = mac(key, `${version}.${keyId}.${body}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expectedMac.length || !timingSafeEqual(given, expectedMac)) return { valid: false, reason: 'bad signature' };
  let payload: Partial<Payload>;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<Payload>;
  } catch {
    return { valid: false, reason: 'unreadable payload' };
  }
  if (typeof payload.p !== 'string' || payload.p === '' || typeof payload.exp !== 'number') return { valid: false, reason: 'unreadable payload' };
  if (payload.d !== undefined) {
    if (payload.ns !== expected.namespace) return { valid: false, reason: 'issued for another namespace' };
    const input = expected.input;
    if (typeof input !== 'object' || input === null || Array.isArray(input) || actionInputDigest(input as Record<string, unknown>) !== payload.d) {
      return { valid: false, reason: 'issued for another input' };
    }
    // The principal is who the input must name: the codec server wrote it there.
    if ((input as Record<string, unknown>).actor !== payload.p) return { valid: false, reason: 'issued for another actor' };
  } else {
    if (payload.w !== expected.workflowId) return { valid: false, reason: 'issued for another workflow' };
    if (payload.u !== expected.update) return { valid: false, reason: 'issued for another update' };
  }
  if (payload.exp < expected.now) return { valid: false, reason: 'expired' };
  return { valid: true, principal: payload.p };
}
