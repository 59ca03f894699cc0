/**
 * A forged actor arriving by update is visible as such. Temporal's frontend accepts an update from anyone
 * who can reach it, naming any actor; the API attaches a token binding its authenticated principal to the
 * workflow and update. The workflow records the verified principal (whatever name the payload claims),
 * and marks every update without a valid token as unverified: in the timeline, the state and the update's
 * answer (the warning line is the activity's, tested with the activities).
 */
import { abandonUpdate, changeDeadlinesUpdate, resendUpdate } from '../../workflows/definitions';
import { issueInputActorToken } from '../../activities/actor-token';
import { TEST_ACTOR_KEYS, actorToken, runFlow, useTimeSkippingServer } from './support';

jest.setTimeout(60_000);

const server = useTimeSkippingServer();

describe('operator update actors', () => {
  it('records the principal of a valid token, even when the payload claims another name', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      const token = actorToken('ops.jones', f.handle.workflowId, 'changeDeadlines');
      const answer = await f.handle.executeUpdate(changeDeadlinesUpdate, { args: [{ actor: 'chief.executive', reason: 'longer wait agreed', deadlines: { businessAckMs: 3 * 86_400_000 }, actorToken: token }] });
      expect(answer).toMatchObject({ action: 'changeDeadlines', actor: 'ops.jones', actorVerified: true });
      const s = await f.state();
      expect(s.timeline.at(-1)).toMatchObject({ kind: 'OPERATOR', actor: 'ops.jones', actorVerified: true, reason: 'longer wait agreed' });
      expect(s.timeline.at(-1)!.detail).toMatch(/^deadlines changed/);
      expect(s.unverifiedActions).toBeUndefined();
    });
  });

  it('records the operator an update typed into the Web UI was stamped for by the codec server, for that exact input only', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      const namespace = server.env.namespace ?? 'default';
      // What the codec server makes of a form input for a signed-in operator: the principal as actor, and a
      // token bound to the namespace and this input (the UI sends no workflow id or update name).
      const stamped = (input: Record<string, unknown>) => ({ ...input, actorToken: issueInputActorToken(TEST_ACTOR_KEYS, { principal: 'ops.jones', namespace, input }) });
      const first = stamped({ actor: 'ops.jones', reason: 'longer wait agreed', deadlines: { businessAckMs: 3 * 86_400_000 } });
      await expect(f.handle.executeUpdate(changeDeadlinesUpdate, { args: [first as never] })).resolves.toMatchObject({ actor: 'ops.jones', actorVerified: true });
      // The same token on an input changed after it was stamped proves nothing.
      const changed = { ...stamped({ actor: 'ops.jones', reason: 'longer wait agreed', deadlines: { businessAckMs: 3 * 86_400_000 } }), deadlines: { businessAckMs: 9 * 86_400_000 } };
      await expect(f.handle.executeUpdate(changeDeadlinesUpdate, { args: [changed as never] })).resolves.toMatchObject({ actor: 'ops.jones', actorVerified: false });
      const s = await f.state();
      expect(s.unverifiedActions).toEqual([{ at: expect.any(String), update: 'changeDeadlines', claimedActor: 'ops.jones', reason: 'invalid token: issued for another input' }]);
    });
  });

  it('marks an update without a token as unverified in the timeline, the state and the answer, and still applies it', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20006', 1);
      await f.waitFor((x) => x.status === 'AWAITING_CORRECTION', 'AWAITING_CORRECTION');
      const answer = await f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: 'typed into the Temporal CLI' }] });
      expect(answer).toMatchObject({ action: 'abandon', status: 'ABANDONED', actor: 'ops.jones', actorVerified: false });
      const s = await f.state();
      const entry = s.timeline.find((t) => t.kind === 'OPERATOR')!;
      expect(entry).toMatchObject({ actor: 'ops.jones', actorVerified: false, detail: "unverified actor 'ops.jones' (no valid token): abandoned" });
      expect(s.unverifiedActions).toEqual([{ at: expect.any(String), update: 'abandon', claimedActor: 'ops.jones', reason: 'no valid token' }]);
    });
  });

  it.each([
    ['signed with another key', (wf: string) => actorToken('ops.jones', wf, 'resend').replace(/\.[^.]+$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 'invalid token: bad signature'],
    ['issued for another workflow', () => actorToken('ops.jones', 'send-document-someone-else-v1', 'resend'), 'invalid token: issued for another workflow'],
    ['issued for another update', (wf: string) => actorToken('ops.jones', wf, 'abandon'), 'invalid token: issued for another update'],
    ['expired', (wf: string) => actorToken('ops.jones', wf, 'resend', { ttlMs: -1000 }), 'invalid token: expired'],
    ['not a token at all', () => 'ops.jones-says-so', 'invalid token: not an actor token'],
  ])('marks a token %s as unverified, naming why', async (_name, make, reason) => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20006', 1);
      await f.waitFor((x) => x.status === 'AWAITING_CORRECTION', 'AWAITING_CORRECTION');
      const answer = await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'mallory', reason: 'resend it', actorToken: make(f.handle.workflowId) }] });
      expect(answer).toMatchObject({ action: 'resend', actor: 'mallory', actorVerified: false });
      const s = await f.state();
      expect(s.timeline.filter((t) => t.kind === 'OPERATOR').at(-1)).toMatchObject({ actor: 'mallory', actorVerified: false, detail: `unverified actor 'mallory' (${reason}): resend as attempt 2` });
      expect(s.unverifiedActions).toEqual([expect.objectContaining({ update: 'resend', claimedActor: 'mallory', reason })]);
      expect(s.attempts[1]).toMatchObject({ attempt: 2 });
    });
  });
});
