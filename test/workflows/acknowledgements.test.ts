/**
 * The positive path and its timing: acknowledgements before, after and out of their deadlines, repeated,
 * and for older attempts. Time-skipping server; deadlines 4 h / 48 h, reminders every 24 h (support.ts).
 */
import { ALL_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { acknowledgeEscalationUpdate, resendUpdate, timelineQuery, waitingQuery } from '../../workflows/definitions';
import { escalationKinds, kinds, refusalOf, runFlow, until, useTimeSkippingServer } from './support';

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const server = useTimeSkippingServer();

describe('acknowledgements', () => {
  it('delivers when the infrastructure ack and then the business ack arrive before their deadlines', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      const sent = await f.waitFor((s) => s.status === 'AWAITING_INFRASTRUCTURE_ACK', 'sent');
      const sentAt = Date.parse(sent.attempts[0]!.sentAt!);
      // Deadline measured from the MESH send time.
      expect(Date.parse(sent.waitingUntil!)).toBe(sentAt + 4 * HOUR);
      expect(sent.waitingFor).toBe('INFRASTRUCTURE_ACK');

      await server.env.sleep(HOUR);
      await f.respond('20013', 1);
      const awaitingBusiness = await f.waitFor((s) => s.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      expect(Date.parse(awaitingBusiness.waitingUntil!)).toBe(sentAt + 48 * HOUR);

      await server.env.sleep(10 * HOUR);
      await f.respond('30001', 1);
      const s = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      expect(s.escalated).toBe(false);
      expect(s.waitingFor).toBe('REPLACEMENT_WINDOW');
      expect(s.outcomeCode).toBe('30001');
      expect(s.attempts).toHaveLength(1);
      expect(s.attempts[0]).toMatchObject({ reason: 'INITIAL', infrastructureAck: { code: '20013' }, businessAck: { code: '30001' } });
      expect(s.attempts[0]!.lateAck).toBeUndefined();
      expect(kinds(s)).toEqual(['SUBMITTED', 'BUILT', 'SENT', 'STATE', 'RESPONSE', 'STATE', 'RESPONSE', 'STATE']);
      expect(await f.handle.query(timelineQuery)).toEqual(s.timeline);

      // Search attributes are current and hold no patient data (only ids, states and ODS codes).
      const attrs = (await f.handle.describe()).typedSearchAttributes;
      const get = (name: string) => attrs.get(ALL_SEARCH_ATTRIBUTES.find((k) => k.name === name)! as never);
      expect(get('DeliveryStatus')).toBe('DELIVERED');
      expect(get('WaitingFor')).toBe('REPLACEMENT_WINDOW');
      expect(get('Itk3MessageId')).toBe(s.attempts[0]!.messageHeaderId);
      expect(get('Itk3MessageIds')).toEqual([s.attempts[0]!.messageHeaderId]);
      expect(get('MeshMessageId')).toBe(s.attempts[0]!.meshMessageId);
      expect(get('RecipientOds')).toBe('A12345');
      expect(get('SenderOds')).toBe('X26');
      expect(get('Escalated')).toBe(false);
      expect(get('AttemptCount')).toBe(1);
      expect((get('AckDeadline') as Date).toISOString()).toBe(s.waitingUntil);

      // After the replacement window the workflow returns its outcome as a status.
      expect(await f.handle.result()).toEqual({ status: 'DELIVERED', attempts: 1, finalCode: '30001' });
    });
    expect(recorded.escalations).toEqual([]);
    expect(recorded.sent).toHaveLength(1);
  });

  it('treats a business ack that arrives before the infrastructure ack as technical success', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('30001', 1);
      const s = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      expect(s.attempts[0]!.infrastructureSuccessImplied).toBe(true);
      expect(s.timeline.some((t) => t.detail.includes('technical success implied'))).toBe(true);

      // The infrastructure ack that follows is recorded on the attempt and changes nothing.
      await f.respond('20013', 1);
      const after = await f.waitFor((x) => !!x.attempts[0]!.infrastructureAck, '20013 recorded');
      expect(after.status).toBe('DELIVERED');
      expect(after.timeline.at(-1)).toMatchObject({ kind: 'RESPONSE', code: '20013', detail: expect.stringContaining('no change in DELIVERED') });
    });
    expect(recorded.escalations).toEqual([]);
  });

  it('ignores a duplicate acknowledgement (same response id): no state change, no new timeline entry', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      const first = await f.respond('20013', 1);
      const once = await f.waitFor((s) => s.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      await f.handle.signal('itk3Response', first); // MESH redelivery of the very same response
      await f.handle.signal('itk3Response', first);
      await f.respond('30001', 1);
      const s = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      const responses = s.timeline.filter((t) => t.kind === 'RESPONSE');
      expect(responses.map((t) => t.code)).toEqual(['20013', '30001']);
      expect(s.timeline.slice(0, once.timeline.length)).toEqual(once.timeline);
    });
  });

  it('escalates once when no infrastructure ack arrives by the deadline, keeps waiting, and reminds until acknowledged', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      await server.env.sleep(4 * HOUR + 60_000);
      // Escalated, then MESH outbox tracking asked once (it says accepted: keep waiting).
      const escalated = await f.waitFor((s) => s.escalated && s.timeline.some((t) => t.kind === 'MESH_TRACKING'), 'escalation and MESH tracking');
      expect(escalated.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
      expect(escalated.waitingFor).toBe('INFRASTRUCTURE_ACK');
      expect(escalated.escalations).toHaveLength(1);
      expect(escalated.escalations[0]).toMatchObject({ key: 'NO_INFRASTRUCTURE_ACK:1', reminders: 0 });
      expect(kinds(escalated).slice(-3)).toEqual(['DEADLINE', 'ESCALATION', 'MESH_TRACKING']);
      expect((await f.handle.describe()).status.name).toBe('RUNNING');

      await server.env.sleep(2 * 24 * HOUR + 60_000);
      const reminded = await f.waitFor((s) => s.escalations[0]!.reminders === 2, 'two reminders');
      expect(reminded.timeline.filter((t) => t.kind === 'REMINDER')).toHaveLength(2);

      const waiting = await f.handle.query(waitingQuery);
      expect(waiting).toMatchObject({ status: 'AWAITING_INFRASTRUCTURE_ACK', waitingFor: 'INFRASTRUCTURE_ACK', escalated: true, escalation: { id: escalated.escalations[0]!.id } });

      const ack = await f.handle.executeUpdate(acknowledgeEscalationUpdate, { args: [{ actor: 'ops.jones', note: 'calling the practice' }] });
      expect(ack.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
      await server.env.sleep(3 * 24 * HOUR);
      const quiet = await f.state();
      expect(quiet.escalations[0]!.reminders).toBe(2);
      expect(quiet.escalations[0]!.acknowledged).toMatchObject({ actor: 'ops.jones', note: 'calling the practice' });
      expect(quiet.timeline.at(-1)).toMatchObject({ kind: 'OPERATOR', actor: 'ops.jones', reason: 'calling the practice' });

      // A second acknowledgement is refused by the validator.
      const refused = await refusalOf(f.handle.executeUpdate(acknowledgeEscalationUpdate, { args: [{ actor: 'ops.smith', note: 'me too' }] }));
      expect(refused).toMatchObject({ type: 'ESCALATION_ALREADY_ACKNOWLEDGED', message: 'the escalation was already acknowledged by ops.jones' });
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK', 'REMINDER:AWAITING_INFRASTRUCTURE_ACK', 'REMINDER:AWAITING_INFRASTRUCTURE_ACK']);
    expect(new Set(recorded.escalations.map((e) => e.escalationId)).size).toBe(1);
  });

  it('reconciles a late ack after the escalation: records it late, resolves the escalation, then escalates the business deadline once', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      await server.env.sleep(50 * HOUR); // past both deadlines; only the infrastructure one applies while waiting for it
      await f.waitFor((s) => s.escalations.length === 1, 'escalation');
      await f.respond('20013', 1);
      const s = await f.waitFor((x) => x.escalations.length === 2, 'business deadline escalation');
      expect(s.status).toBe('AWAITING_BUSINESS_ACK');
      expect(s.attempts[0]!.lateAck).toBe(true);
      const [inf, bus] = s.escalations;
      expect(inf).toMatchObject({ key: 'NO_INFRASTRUCTURE_ACK:1', resolution: 'late infrastructure acknowledgement 20013 reconciled' });
      expect(inf!.resolvedAt).toBeDefined();
      expect(bus).toMatchObject({ key: 'NO_BUSINESS_ACK:1', status: 'AWAITING_BUSINESS_ACK' });
      expect(s.timeline.find((t) => t.kind === 'RESPONSE')!.detail).toContain('late');

      await f.respond('30001', 1);
      const done = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      expect(done.escalated).toBe(false);
      expect(done.escalations.every((e) => e.resolvedAt)).toBe(true);
      expect(kinds(done).filter((k) => ['DEADLINE', 'ESCALATION', 'RESOLVED', 'REMINDER'].includes(k))).toEqual([
        'DEADLINE',
        'ESCALATION',
        'REMINDER',
        'RESOLVED',
        'DEADLINE',
        'ESCALATION',
        'RESOLVED',
      ]);
      // The notification of the last resolution is an activity after the state change the query saw:
      // wait for it before the flow ends (CI caught the flow ending first once).
      await until(async () => (f.recorded.escalations.length >= 5 ? true : undefined), 'the last resolution notified');
    });
    expect(escalationKinds(recorded)).toEqual([
      'RAISED:AWAITING_INFRASTRUCTURE_ACK',
      'REMINDER:AWAITING_INFRASTRUCTURE_ACK',
      'RESOLVED:AWAITING_INFRASTRUCTURE_ACK',
      'RAISED:AWAITING_BUSINESS_ACK',
      'RESOLVED:AWAITING_BUSINESS_ACK',
    ]);
  });

  it('records a response to an older attempt without moving the current one', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      await server.env.sleep(4 * HOUR + 60_000);
      await f.waitFor((s) => s.escalated, 'escalation');
      await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'no ack in 4 hours' }] });
      const second = await f.sentAttempt(2);
      const first = (await f.state()).attempts[0]!.messageHeaderId;
      expect(second).not.toBe(first);

      await f.respond('20013', 1);
      await f.respond('30001', 1);
      const s = await f.waitFor((x) => !!x.attempts[0]!.businessAck, 'older acks recorded');
      expect(s.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
      expect(s.currentAttempt).toBe(2);
      expect(s.timeline.slice(-2).map((t) => t.detail)).toEqual([
        expect.stringContaining('for attempt 1, not the current attempt 2; recorded only'),
        expect.stringContaining('for attempt 1, not the current attempt 2; recorded only'),
      ]);

      // Both attempts stay findable by the inbound router.
      const attrs = (await f.handle.describe()).typedSearchAttributes;
      expect(attrs.get(ALL_SEARCH_ATTRIBUTES.find((k) => k.name === 'Itk3MessageIds')! as never)).toEqual([first, second]);
      expect(attrs.get(ALL_SEARCH_ATTRIBUTES.find((k) => k.name === 'Itk3MessageId')! as never)).toBe(second);

      await f.respond('20013', 2);
      await f.respond('30001', 2);
      await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
    });
    expect(recorded.sent.map((x) => x.attempt)).toEqual([1, 2]);
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK', 'RESOLVED:AWAITING_INFRASTRUCTURE_ACK']);
  });

  it('accepts acks out of order across levels and ignores a second ack of the same level', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20013', 1);
      await f.waitFor((s) => s.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      await f.respond('20013', 1); // a different response id: a second infrastructure ack
      const s = await f.waitFor((x) => x.timeline.filter((t) => t.kind === 'RESPONSE').length === 2, 'second ack recorded');
      expect(s.status).toBe('AWAITING_BUSINESS_ACK');
      expect(s.timeline.at(-1)!.detail).toContain('a second infrastructure acknowledgement for this attempt; recorded only');
    });
  });
});
