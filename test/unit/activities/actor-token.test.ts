/**
 * Actor tokens (activities/actor-token.ts) and the `verifyActorToken` activity: a token verifies only for
 * the workflow, update and time it was issued for, under a key of the ring (rotation: an old key still
 * verifies, an unknown one does not); every unverified actor leaves a warning line with the claimed name
 * and the reason, never the token.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createActivities, type ActivityConfig } from '../../../activities';
import { ACTOR_TOKEN_TTL_MS, actionInputDigest, issueActorToken, issueInputActorToken, verifyActorToken } from '../../../activities/actor-token';
import { parseKeyRing } from '../../../config/env';
import { createLogger } from '../../../config/logger';
import type { ContentStore } from '../../../store/content-store';
import type { MeshClient } from '../../../mesh';
import type { Client } from '@temporalio/client';

const key = (): string => randomBytes(32).toString('base64');
const oldKey = key();
const ring = parseKeyRing(`k2:${key()},k1:${oldKey}`);
const oldRing = parseKeyRing(`k1:${oldKey}`);
const NOW = 1_800_000_000_000;
const claims = { principal: 'ops.jones', workflowId: 'send-document-abc-v1', update: 'abandon' };

describe('actor tokens', () => {
  it('verify for the workflow, update and time they were issued for, and name the principal', () => {
    const token = issueActorToken(ring, claims, { now: NOW });
    expect(token.split('.')[1]).toBe('k2');
    expect(verifyActorToken(ring, token, { workflowId: claims.workflowId, update: 'abandon', now: NOW + ACTOR_TOKEN_TTL_MS - 1 })).toEqual({ valid: true, principal: 'ops.jones' });
  });

  it('refuse another workflow, another update, an expired token, a changed payload, a foreign key and garbage', () => {
    const token = issueActorToken(ring, claims, { now: NOW });
    const at = { workflowId: claims.workflowId, update: 'abandon', now: NOW };
    expect(verifyActorToken(ring, token, { ...at, workflowId: 'send-document-other-v1' })).toEqual({ valid: false, reason: 'issued for another workflow' });
    expect(verifyActorToken(ring, token, { ...at, update: 'resend' })).toEqual({ valid: false, reason: 'issued for another update' });
    expect(verifyActorToken(ring, token, { ...at, now: NOW + ACTOR_TOKEN_TTL_MS + 1 })).toEqual({ valid: false, reason: 'expired' });
    const [v, k, body, mac] = token.split('.') as [string, string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), p: 'chief.executive' })).toString('base64url');
    expect(verifyActorToken(ring, `${v}.${k}.${forged}.${mac}`, at)).toEqual({ valid: false, reason: 'bad signature' });
    expect(verifyActorToken(parseKeyRing(`k2:${key()}`), token, at)).toEqual({ valid: false, reason: 'bad signature' });
    expect(verifyActorToken(oldRing, token, at)).toEqual({ valid: false, reason: 'unknown signing key' });
    expect(verifyActorToken(ring, 'ops.jones', at)).toEqual({ valid: false, reason: 'not an actor token' });
    expect(verifyActorToken(ring, 'x'.repeat(5000), at)).toEqual({ valid: false, reason: 'token too long' });
  });

  it('keep verifying under a rotated-out key that is still in the ring', () => {
    const token = issueActorToken(oldRing, claims, { now: NOW });
    expect(verifyActorToken(ring, token, { workflowId: claims.workflowId, update: 'abandon', now: NOW })).toEqual({ valid: true, principal: 'ops.jones' });
  });
});

describe('tokens the codec server issues for Web UI updates', () => {
  const input = { actor: 'ops.jones', reason: 'practice fixed its mailbox', overrideBusinessRejection: false };
  const at = { workflowId: 'send-document-abc-v1', update: 'resend', now: NOW, namespace: 'default' };

  it('verify for the namespace and exact input, whatever the key order, on any workflow and update', () => {
    const token = issueInputActorToken(ring, { principal: 'ops.jones', namespace: 'default', input }, { now: NOW });
    const reordered = { overrideBusinessRejection: false, reason: input.reason, actor: 'ops.jones', actorToken: token };
    expect(verifyActorToken(ring, token, { ...at, input: reordered })).toEqual({ valid: true, principal: 'ops.jones' });
    expect(verifyActorToken(ring, token, { ...at, update: 'abandon', input: reordered })).toEqual({ valid: true, principal: 'ops.jones' });
  });

  it('refuse another namespace, a changed input, no input, an input naming someone else, and an API token checked as one', () => {
    const token = issueInputActorToken(ring, { principal: 'ops.jones', namespace: 'default', input }, { now: NOW });
    expect(verifyActorToken(ring, token, { ...at, namespace: 'prod', input })).toEqual({ valid: false, reason: 'issued for another namespace' });
    expect(verifyActorToken(ring, token, { ...at, input: { ...input, overrideBusinessRejection: true } })).toEqual({ valid: false, reason: 'issued for another input' });
    expect(verifyActorToken(ring, token, { ...at })).toEqual({ valid: false, reason: 'issued for another input' });
    const forOther = issueInputActorToken(ring, { principal: 'ops.jones', namespace: 'default', input: { ...input, actor: 'ops.smith' } }, { now: NOW });
    expect(verifyActorToken(ring, forOther, { ...at, input: { ...input, actor: 'ops.smith' } })).toEqual({ valid: false, reason: 'issued for another actor' });
    // An API token has no input binding: it still needs its own workflow and update.
    const api = issueActorToken(ring, claims, { now: NOW });
    expect(verifyActorToken(ring, api, { ...at, input })).toEqual({ valid: false, reason: 'issued for another update' });
  });

  it('digest the input without its token, with keys in any order', () => {
    expect(actionInputDigest({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: 'x' } })).toBe(actionInputDigest({ a: { c: 'x', d: [1, { e: 3, f: 2 }] }, b: 1, actorToken: 't' }));
    expect(actionInputDigest({ a: 1 })).not.toBe(actionInputDigest({ a: '1' }));
  });
});

describe('the verifyActorToken activity', () => {
  function activities(actorKeys?: ActivityConfig['actorKeys']) {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
    const config: ActivityConfig = { ...(actorKeys ? { actorKeys } : {}), profile: '2.x', routing: { mode: 'mailbox', mailboxId: 'X26ABC2' }, maxMessageBytes: 1e6, namespace: 'n', taskQueue: 'q', senderMailboxes: ['X26ABC1'] };
    const acts = createActivities({ config, store: {} as ContentStore, mesh: { mailbox: 'X26ABC1' } as unknown as MeshClient, temporal: {} as Client, logger });
    return { acts, lines };
  }

  it('answers the verified principal and logs nothing', async () => {
    const { acts, lines } = activities(ring);
    const token = issueActorToken(ring, claims);
    await expect(acts.verifyActorToken({ token, claimedActor: 'anyone', workflowId: claims.workflowId, update: 'abandon', at: Date.now() })).resolves.toEqual({ verified: true, principal: 'ops.jones' });
    expect(lines).toEqual([]);
  });

  it('checks a codec-issued token against the namespace and input the workflow passes', async () => {
    const { acts } = activities(ring);
    const input = { actor: 'ops.jones', reason: 'stop' };
    const token = issueInputActorToken(ring, { principal: 'ops.jones', namespace: 'n', input });
    const base = { token, claimedActor: 'ops.jones', workflowId: claims.workflowId, update: 'abandon', at: Date.now() };
    await expect(acts.verifyActorToken({ ...base, namespace: 'n', input: { ...input, actorToken: token } })).resolves.toEqual({ verified: true, principal: 'ops.jones' });
    await expect(acts.verifyActorToken({ ...base, namespace: 'n', input: { ...input, reason: 'other' } })).resolves.toEqual({ verified: false, reason: 'invalid token: issued for another input' });
  });

  it.each([
    ['no token', undefined, ring, 'no valid token'],
    ['a forged token', 'v1.k2.e30.AAAA', ring, 'invalid token: bad signature'],
    ['no keys configured', 'v1.k2.e30.AAAA', undefined, 'invalid token: no actor keys configured'],
  ])('logs a warning naming the claimed actor and the reason for %s, never the token', async (_name, token, keys, reason) => {
    const { acts, lines } = activities(keys);
    const result = await acts.verifyActorToken({ ...(token ? { token } : {}), claimedActor: 'mallory', workflowId: claims.workflowId, update: 'abandon', at: Date.now() });
    expect(result).toEqual({ verified: false, reason });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 40, msg: 'unverified actor on an operator update', claimedActor: 'mallory', update: 'abandon', workflowId: claims.workflowId, reason });
    if (token) expect(lines[0]).not.toContain(token);
  });
});
