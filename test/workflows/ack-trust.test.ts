/**
 * Trust in acknowledgements inside the delivery workflow: conflicting acknowledgements reach a person
 * (ACK_CONFLICT, GPCM-SD-094), a response whose sender is not the attempt's recipient never moves the
 * status (the workflow's own check behind the inbound router's), and an operator's reroute from the
 * quarantine is applied deliberately and shows who, why and from which entry. Time-skipping server;
 * deadlines 4 h / 48 h, reminders every 24 h, replacement window 24 h (support.ts).
 */
import { abandonUpdate, acknowledgeEscalationUpdate, meshReportSignal, resendUpdate } from '../../workflows/definitions';
import { escalationKinds, meshReport, refusalOf, runFlow, until, useTimeSkippingServer } from './support';

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const server = useTimeSkippingServer();
/** The practice of sendInput(): recipient ODS A12345; with mailbox routing its mailbox is X26ABC2. */
const PRACTICE = { senderMailbox: 'X26ABC2', senderOds: 'A12345' };
const mailboxRouting = { sendRouting: { routing: 'mailbox' as const, recipientMailbox: 'X26ABC2' } };

describe('conflicting acknowledgements reach a person', () => {
  it('20013, 30001, then 30002: leaves DELIVERED for AWAITING_OPERATOR, escalates naming both codes, reminds, and never closes unseen', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, mailboxRouting, async (f) => {
      await f.respond('20013', 1, PRACTICE);
      await f.waitFor((s) => s.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      await f.respond('30001', 1, PRACTICE);
      await f.waitFor((s) => s.status === 'DELIVERED', 'DELIVERED');
      await f.respond('30002', 1, PRACTICE);
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'conflict');
      expect(s).toMatchObject({ escalated: true, waitingFor: 'OPERATOR', outcomeCode: '30002', rejectedRoutes: ['A12345'] });
      expect(s.waitingUntil).toBeUndefined();
      // The earlier positive stays on the attempt; the contradiction is in the timeline, with its sender.
      expect(s.attempts[0]!.businessAck).toMatchObject({ code: '30001' });
      const open = s.escalations.find((e) => !e.resolvedAt)!;
      expect(open).toMatchObject({ key: 'ACK_CONFLICT:1:business', status: 'AWAITING_OPERATOR', code: '30002' });
      expect(open.reason).toContain('30001');
      expect(open.reason).toContain('30002');
      expect(open.reason).toContain('GPCM-SD-094');
      expect(s.timeline).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'RESPONSE', code: '30002', senderMailbox: 'X26ABC2', senderOds: 'A12345', detail: expect.stringContaining('contradicts the earlier business positive acknowledgement 30001') }),
          expect.objectContaining({ kind: 'STATE', detail: expect.stringContaining('DELIVERED -> AWAITING_OPERATOR (ACK_CONFLICT)') }),
        ]),
      );

      // Well past the replacement window: still open, reminded, waiting for a person.
      await server.env.sleep(50 * HOUR);
      const later = await f.waitFor((x) => x.escalations.some((e) => e.reminders >= 2), 'reminders');
      expect(later.status).toBe('AWAITING_OPERATOR');
      expect((await f.handle.describe()).status.name).toBe('RUNNING');

      // The person can act: a resend to the same practice needs the override; abandoning ends it.
      expect((await refusalOf(f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops', reason: 'check' }] }))).type).toBe('BUSINESS_REJECTION_NOT_OVERRIDDEN');
      await f.handle.executeUpdate(acknowledgeEscalationUpdate, { args: [{ actor: 'ops', note: 'calling the practice' }] });
      await f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops', reason: 'the practice confirmed it holds the document' }] });
      expect(await f.handle.result()).toMatchObject({ status: 'ABANDONED', finalCode: '30002' });
    });
    const conflict = recorded.escalations.filter((e) => e.reason.includes('conflicting'));
    expect(conflict.map((e) => e.kind)).toEqual(expect.arrayContaining(['RAISED', 'REMINDER']));
    expect(conflict[0]).toMatchObject({ kind: 'RAISED', state: 'AWAITING_OPERATOR', code: '30002' });
  });

  it('20009 after 20013 is a conflict too: AWAITING_OPERATOR, escalation naming both', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, mailboxRouting, async (f) => {
      await f.respond('20013', 1, PRACTICE);
      await f.waitFor((s) => s.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      await f.respond('20009', 1, PRACTICE);
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'conflict');
      const open = s.escalations.find((e) => !e.resolvedAt)!;
      expect(open).toMatchObject({ key: 'ACK_CONFLICT:1:infrastructure', code: '20009' });
      expect(open.reason).toMatch(/20013.*20009/);
      // An infrastructure-level conflict is not a business rejection of the route.
      expect(s.rejectedRoutes).toEqual([]);
      // A 30001 that follows is recorded and changes nothing: a person decides now.
      await f.respond('30001', 1, PRACTICE);
      const after = await f.waitFor((x) => !!x.attempts[0]!.businessAck, '30001 recorded');
      expect(after.status).toBe('AWAITING_OPERATOR');
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_OPERATOR:20009']);
  });

  it('the same pair reordered in transit (30002, then 30001) is a conflict too: REJECTED does not close at its decision window', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, mailboxRouting, async (f) => {
      await f.respond('30002', 1, PRACTICE);
      await f.waitFor((s) => s.status === 'REJECTED', 'REJECTED');
      await f.respond('30001', 1, PRACTICE);
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'conflict');
      expect(s.escalations.find((e) => !e.resolvedAt)).toMatchObject({ key: 'ACK_CONFLICT:1:business', reason: expect.stringMatching(/30002.*30001/) });
      await server.env.sleep(8 * 24 * HOUR);
      expect((await f.handle.describe()).status.name).toBe('RUNNING');
      expect((await f.state()).status).toBe('AWAITING_OPERATOR');
    });
    expect(escalationKinds(recorded).slice(0, 3)).toEqual(['RAISED:REJECTED:30002', 'RESOLVED:REJECTED:30002', 'RAISED:AWAITING_OPERATOR:30001']);
  });

  it('an identical repeat (same code, new response id) stays a quiet duplicate', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, mailboxRouting, async (f) => {
      await f.respond('30001', 1, PRACTICE);
      await f.waitFor((s) => s.status === 'DELIVERED', 'DELIVERED');
      await f.respond('30001', 1, PRACTICE);
      const s = await f.waitFor((x) => x.timeline.at(-1)!.detail.includes('recorded only'), 'repeat recorded');
      expect(s.status).toBe('DELIVERED');
      expect(s.escalated).toBe(false);
    });
    expect(recorded.escalations).toEqual([]);
  });

  it('a negative after a positive for an older attempt escalates without moving the current attempt', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, mailboxRouting, async (f) => {
      await f.respond('20013', 1, PRACTICE);
      await server.env.sleep(49 * HOUR);
      await f.waitFor((s) => s.escalations.some((e) => e.key === 'NO_BUSINESS_ACK:1'), 'business deadline');
      await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops', reason: 'no business ack' }] });
      await f.sentAttempt(2);
      await f.respond('20009', 1, PRACTICE);
      const s = await f.waitFor((x) => x.escalations.some((e) => e.key === 'ACK_CONFLICT:1:infrastructure'), 'conflict on attempt 1');
      expect(s.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
      expect(s.escalations.find((e) => e.key === 'ACK_CONFLICT:1:infrastructure')!.reason).toContain('status unchanged');
      // The notification is an activity after the state change the query saw: wait for it.
      await until(async () => (f.recorded.escalations.some((e) => e.code === '20009') ? true : undefined), 'the conflict notified');
    });
    expect(recorded.escalations.some((e) => e.kind === 'RAISED' && e.code === '20009')).toBe(true);
  });
});

describe('only the practice the attempt went to can move it', () => {
  it.each([
    ['an unrelated mailbox', { senderMailbox: 'X26ABC3', senderOds: 'A12345' }],
    ['the right mailbox but another ODS code', { senderMailbox: 'X26ABC2', senderOds: 'X27' }],
    ['no sender facts at all', {}],
    ['an unrelated mailbox claiming an operator decision without naming the operator or the entry', { senderMailbox: 'X26ABC3', senderOds: 'A12345', correlatedBy: 'OPERATOR' as const }],
  ])('records a 30001 from %s and changes nothing; the practice itself then delivers it', async (_what, sender) => {
    await runFlow(server.env, server.workflowBundle, mailboxRouting, async (f) => {
      const forged = await f.respond('30001', 1, sender);
      const s = await f.waitFor((x) => x.timeline.some((e) => e.code === '30001'), 'forged response recorded');
      expect(s.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
      expect(s.attempts[0]!.businessAck).toBeUndefined();
      expect(s.timeline.at(-1)).toMatchObject({ kind: 'RESPONSE', detail: expect.stringContaining('not from the practice attempt 1 went to') });
      expect(s.attempts[0]).toMatchObject({ routing: 'mailbox', recipientMailbox: 'X26ABC2' });

      await f.respond('30002', 1, sender);
      await f.waitFor((x) => x.timeline.filter((e) => e.detail.includes('not from the practice')).length === 2, 'forged rejection recorded');
      expect((await f.state()).status).toBe('AWAITING_INFRASTRUCTURE_ACK');

      await f.respond('30001', 1, PRACTICE);
      const d = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      expect(d.attempts[0]!.businessAck).toMatchObject({ code: '30001', senderMailbox: 'X26ABC2', senderOds: 'A12345' });
      expect(d.attempts[0]!.businessAck!.responseId).not.toBe(forged.responseId);
      expect(d.timeline.filter((e) => e.kind === 'RESPONSE').at(-1)).toMatchObject({ senderMailbox: 'X26ABC2', senderOds: 'A12345', detail: expect.stringContaining('from X26ABC2 (ODS A12345)') });
    });
  });

  it('GPPROVIDER: keeps the mailbox MESH tracking reported on the attempt, and refuses any other mailbox afterwards', async () => {
    await runFlow(server.env, server.workflowBundle, { sendRouting: { routing: 'gpprovider' } }, async (f) => {
      await f.respond('20013', 1, { ...PRACTICE, recipientMailbox: 'X26ABC2' });
      const s = await f.waitFor((x) => x.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      expect(s.attempts[0]!.recipientMailbox).toBe('X26ABC2');
      // Learned once: a later claim of another mailbox does not replace it.
      await f.respond('30001', 1, { senderMailbox: 'X26ABC3', senderOds: 'A12345', recipientMailbox: 'X26ABC3' });
      const after = await f.waitFor((x) => x.timeline.some((e) => e.detail.includes('not from the practice')), 'refused');
      expect(after.status).toBe('AWAITING_BUSINESS_ACK');
      expect(after.attempts[0]!.recipientMailbox).toBe('X26ABC2');
    });
  });

  it('an operator reroute of a mismatched response is applied, recorded as the operator decision with reason and quarantine id', async () => {
    await runFlow(server.env, server.workflowBundle, mailboxRouting, async (f) => {
      await f.respond('30001', 1, {
        senderMailbox: 'X26ABC9',
        senderOds: 'A12345',
        correlatedBy: 'OPERATOR',
        quarantineId: 'inbound-quarantine-X26ABC1-Q1',
        reroutedBy: 'ops-alice',
        rerouteReason: 'the practice moved to a new mailbox; confirmed by phone',
      });
      const s = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      const ops = s.timeline.filter((e) => e.kind === 'OPERATOR');
      expect(ops).toEqual([
        expect.objectContaining({ actor: 'ops-alice', reason: 'the practice moved to a new mailbox; confirmed by phone', quarantineId: 'inbound-quarantine-X26ABC1-Q1', detail: expect.stringContaining('rerouted here from inbound-quarantine-X26ABC1-Q1') }),
        expect.objectContaining({ actor: 'ops-alice', quarantineId: 'inbound-quarantine-X26ABC1-Q1', detail: expect.stringContaining('applied by operator decision although sender mailbox X26ABC9') }),
      ]);
    });
  });

  it('an operator reroute of a MESH report shows in the timeline with the operator, reason and quarantine id', async () => {
    await runFlow(server.env, server.workflowBundle, mailboxRouting, async (f) => {
      await f.sentAttempt(1);
      const mesh = (await f.state()).attempts[0]!.meshMessageId!;
      await f.handle.signal(meshReportSignal, { ...meshReport(mesh, 'ROUTING_ERROR', 'EPL-153'), quarantineId: 'inbound-quarantine-X26ABC1-R1', reroutedBy: 'ops-bob', rerouteReason: 'report for our message' });
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'report applied');
      expect(s.timeline.find((e) => e.kind === 'OPERATOR')).toMatchObject({ actor: 'ops-bob', reason: 'report for our message', quarantineId: 'inbound-quarantine-X26ABC1-R1', code: 'EPL-153' });
    });
  });
});
