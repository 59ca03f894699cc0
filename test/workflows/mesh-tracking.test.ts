/**
 * No infrastructure ack by its deadline (GPCM-SD-095): besides escalating, the workflow asks MESH outbox
 * tracking once about the overdue attempt (trackMeshMessage). Undeliverable, expired or error: escalated
 * with MESH's code, as for a MESH REPORT. Accepted or acknowledged, or no answer: it keeps waiting as before.
 * Time-skipping server; infrastructure deadline 4 h, reminders every 24 h (support.ts).
 */
import { ApplicationFailure } from '@temporalio/common';
import { resendUpdate } from '../../workflows/definitions';
import { escalationKinds, runFlow, until, useTimeSkippingServer } from './support';

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const server = useTimeSkippingServer();

describe('MESH tracking after the infrastructure-ack deadline', () => {
  it.each([
    ['undeliverable', '14', '14'],
    ['expired', undefined, 'EXPIRED'],
    ['error', 'EPL-153', 'EPL-153'],
  ])('escalates with the MESH code when tracking says %s', async (status, statusCode, code) => {
    const recorded = await runFlow(
      server.env,
      server.workflowBundle,
      { tracking: () => ({ status, ...(statusCode ? { statusCode } : {}), statusDescription: 'Message not collected by recipient' }) },
      async (f) => {
        await f.sentAttempt(1);
        await server.env.sleep(4 * HOUR + 60_000);
        const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'AWAITING_OPERATOR');
        expect(s.waitingFor).toBe('OPERATOR');
        expect(s.outcomeCode).toBe(code);
        // The no-ack escalation went out first (GPCM-SD-095), then was superseded by the MESH one.
        expect(s.escalations.map((e) => [e.key, e.code, e.resolvedAt ? 'resolved' : 'open'])).toEqual([
          ['NO_INFRASTRUCTURE_ACK:1', undefined, 'resolved'],
          ['MESH_TRACKING:1', code, 'open'],
        ]);
        expect(s.escalations[1]!.reason).toContain(`MESH could not deliver attempt 1 (${code}): outbox tracking says ${status}`);
        const tracking = s.timeline.filter((t) => t.kind === 'MESH_TRACKING');
        expect(tracking).toEqual([expect.objectContaining({ attempt: 1, detail: expect.stringContaining(`attempt 1 is ${status}`) })]);
        expect(tracking[0]!.detail).not.toContain('still waiting');
        expect(f.recorded.tracked).toEqual([{ meshMessageId: s.attempts[0]!.meshMessageId, attempt: 1 }]);
        // From here the operator actions of any MESH failure apply.
        await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'mailbox fixed by the practice' }] });
        await f.sentAttempt(2);
      },
    );
    expect(escalationKinds(recorded)).toEqual([
      'RAISED:AWAITING_INFRASTRUCTURE_ACK',
      'RESOLVED:AWAITING_INFRASTRUCTURE_ACK',
      `RAISED:AWAITING_OPERATOR:${code}`,
      `RESOLVED:AWAITING_OPERATOR:${code}`,
    ]);
  });

  it.each(['accepted', 'acknowledged'])('keeps waiting when tracking says %s, and a late ack still delivers', async (status) => {
    const recorded = await runFlow(server.env, server.workflowBundle, { tracking: () => ({ status, statusEvent: 'TRANSFER' }) }, async (f) => {
      await f.sentAttempt(1);
      await server.env.sleep(4 * HOUR + 60_000);
      const s = await f.waitFor((x) => x.timeline.some((t) => t.kind === 'MESH_TRACKING'), 'tracking recorded');
      expect(s.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
      expect(s.waitingFor).toBe('INFRASTRUCTURE_ACK');
      expect(s.escalations.map((e) => [e.key, e.resolvedAt ? 'resolved' : 'open'])).toEqual([['NO_INFRASTRUCTURE_ACK:1', 'open']]);
      expect(s.timeline.at(-1)).toMatchObject({ kind: 'MESH_TRACKING', detail: expect.stringContaining(`attempt 1 is ${status}; still waiting`) });
      // Asked once, not polled: a day later (a reminder) there is still one tracking call.
      await server.env.sleep(24 * HOUR + 60_000);
      await f.waitFor((x) => x.escalations[0]!.reminders === 1, 'reminder');
      expect(f.recorded.tracked).toHaveLength(1);
      await f.respond('20013', 1);
      await f.respond('30001', 1);
      const done = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      expect(done.attempts[0]!.lateAck).toBe(true);
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK', 'REMINDER:AWAITING_INFRASTRUCTURE_ACK', 'RESOLVED:AWAITING_INFRASTRUCTURE_ACK']);
  });

  it('lets an infrastructure ack that arrives while MESH is asked win over an undeliverable answer', async () => {
    let answer: (v: { status: string; statusCode: string }) => void = () => undefined;
    const pending = new Promise<{ status: string; statusCode: string }>((resolve) => (answer = resolve));
    const recorded = await runFlow(server.env, server.workflowBundle, { tracking: () => pending }, async (f) => {
      try {
        await f.sentAttempt(1);
        // Just past the deadline: the tracking call then starts and stays open while the ack arrives.
        await server.env.sleep(4 * HOUR + 1_000);
        await f.waitFor((x) => x.escalated, 'escalation');
        const deadline = Date.now() + 15_000;
        while (f.recorded.tracked.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(f.recorded.tracked.length).toBeGreaterThan(0);
        await f.respond('20013', 1);
      } finally {
        // Always answer, so that the worker can shut down even if an expectation above failed.
        answer({ status: 'undeliverable', statusCode: '14' });
      }
      const s = await f.waitFor((x) => x.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      expect(s.attempts[0]!.lateAck).toBe(true);
      expect(s.timeline.find((t) => t.kind === 'MESH_TRACKING')!.detail).toContain('attempt 1 is undeliverable (14); still waiting');
      // The resolution's notification is an activity after the state change the query saw: wait for it
      // before the flow ends (a loaded machine showed the flow ending first).
      await until(async () => (f.recorded.escalations.length >= 2 ? true : undefined), 'the resolution notified');
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK', 'RESOLVED:AWAITING_INFRASTRUCTURE_ACK']);
  });

  it('keeps waiting when MESH tracking gives no answer', async () => {
    const recorded = await runFlow(
      server.env,
      server.workflowBundle,
      {
        tracking: () => {
          throw ApplicationFailure.create({ type: 'MESH_NOT_FOUND', message: 'MESH does not know the message', nonRetryable: true });
        },
      },
      async (f) => {
        await f.sentAttempt(1);
        await server.env.sleep(4 * HOUR + 60_000);
        const s = await f.waitFor((x) => x.timeline.some((t) => t.kind === 'MESH_TRACKING'), 'tracking recorded');
        expect(s.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
        expect(s.timeline.at(-1)!.detail).toContain('gave no answer (MESH_NOT_FOUND); still waiting');
      },
    );
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK']);
  });

  it('does not ask MESH tracking when the business ack is overdue (MESH has delivered by then)', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20013', 1);
      await f.waitFor((x) => x.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      await server.env.sleep(48 * HOUR + 60_000);
      await f.waitFor((x) => x.escalated, 'escalation');
    });
    expect(recorded.tracked).toEqual([]);
  });
});
