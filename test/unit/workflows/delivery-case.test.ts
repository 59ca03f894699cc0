/**
 * Every delivery rule against the pure delivery case (workflows/delivery-case.ts): no Temporal server,
 * no clock, ids from a counter. The workflow tests (test/workflows) keep the end-to-end behaviour; these
 * pin each rule on its own, so a broken rule fails here in milliseconds and names itself.
 */
import type { ContentRef, DeliveryDeadlines, Itk3ResponseReceived, MeshReportReceived, SendDocumentInput, SenderAction } from '../../../contracts';
import { SenderActionSchema } from '../../../contracts/itk3-response';
import { classifyResponseCode } from '../../../itk3/response-codes';
import { DeliveryCase, type Actor, type CaseEvent, type Effect } from '../../../workflows/delivery-case';
import { RESPONSE_RULES, eventForAction, nextStatus } from '../../../workflows/delivery-machine';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const DOC = '5b0c4b0e-7a44-4bb4-9b47-3c5a8a2b1f01';
const REF: ContentRef = { key: 'submission/one', sha256: 'a'.repeat(64), size: 100 };
const OTHER_REF: ContentRef = { key: 'submission/corrected', sha256: 'b'.repeat(64), size: 120 };
const DEADLINES: DeliveryDeadlines = { infrastructureAckMs: 10 * MIN, businessAckMs: 2 * HOUR, reminderIntervalMs: HOUR, replacementWindowMs: DAY, decisionWindowMs: 7 * DAY };
const MAILBOX = 'B82001OT001';
const RECIPIENT = 'B82001';
const iso = (ms: number): string => new Date(ms).toISOString();
const ops: Actor = { actor: 'ops.jones', verified: true };

interface Built {
  c: DeliveryCase;
  /** Applies at `now` (default: the last time used + 1 s) and returns the effects. */
  at(event: CaseEvent, now?: number): Effect[];
  now(): number;
}

function newCase(over: Partial<SendDocumentInput> = {}, opts: { conflictEscalates?: boolean } = {}): Built {
  let n = 0;
  let clock = T0;
  const input: SendDocumentInput = { documentId: DOC, version: 1, senderOds: 'A12345', recipientOds: RECIPIENT, submissionRef: REF, deadlines: DEADLINES, submittedAt: iso(T0), ...over };
  const c = new DeliveryCase(input, `send-document-${DOC}-v${input.version}`, { newId: () => `id-${++n}`, ackConflictEscalates: () => opts.conflictEscalates ?? true });
  return {
    c,
    at: (event, now) => {
      clock = now ?? clock + SEC;
      return c.apply(event, clock);
    },
    now: () => clock,
  };
}

/** Started and sent at T0 + 1 s, by mailbox routing to MAILBOX. */
function sentCase(over: Partial<SendDocumentInput> = {}, opts: { conflictEscalates?: boolean; routing?: 'mailbox' | 'gpprovider' | 'none' } = {}): Built {
  const b = newCase(over, opts);
  b.at({ type: 'START' }, T0);
  b.at({ type: 'BUILT', sizeBytes: 4321, meshWorkflowId: 'TOC_FHIR_SD_DOC' }, T0);
  const routing = opts.routing ?? 'mailbox';
  b.at(
    { type: 'SENT', meshMessageId: 'mesh-1', sentAt: iso(T0 + SEC), ...(routing === 'none' ? {} : { routing }), ...(routing === 'mailbox' ? { recipientMailbox: MAILBOX } : {}) },
    T0 + SEC,
  );
  return b;
}

let responseSeq = 0;
function response(b: Built, code: string, over: Partial<Itk3ResponseReceived> = {}): CaseEvent {
  const k = classifyResponseCode(code, over.responseCode);
  const attempt = b.c.state.attempts[b.c.state.currentAttempt - 1]!;
  return {
    type: 'RESPONSE',
    response: {
      responseId: `resp-${++responseSeq}`,
      respondsTo: attempt.messageHeaderId,
      code,
      display: k.display ?? 'unknown code',
      level: k.level,
      polarity: k.polarity,
      action: k.action,
      responseCode: k.polarity === 'positive' ? 'ok' : 'fatal-error',
      meshMessageId: 'mesh-in',
      receivedAt: iso(b.now()),
      senderMailbox: MAILBOX,
      senderOds: RECIPIENT,
      ...over,
    },
  };
}

const report = (meshMessageId: string, kind: MeshReportReceived['kind'], over: Partial<MeshReportReceived> = {}): CaseEvent => ({
  type: 'MESH_REPORT',
  report: { meshMessageId, reportMessageId: `report-${++responseSeq}`, kind, statusCode: kind === 'OTHER' ? undefined : '14', receivedAt: iso(T0), ...over },
});

const kinds = (b: Built): string[] => b.c.state.timeline.map((t) => t.kind);
const last = (b: Built) => b.c.state.timeline[b.c.state.timeline.length - 1]!;
const notices = (effects: Effect[]): string[] => effects.flatMap((e) => (e.kind === 'NOTIFY' ? [`${e.escalation.kind}:${e.escalation.state}${e.escalation.code ? `:${e.escalation.code}` : ''}`] : []));
const open = (b: Built) => b.c.state.escalations.find((e) => !e.resolvedAt);
/** Past the infrastructure deadline of a case sent by `sentCase`. */
const AFTER_INF_DEADLINE = T0 + SEC + DEADLINES.infrastructureAckMs;

describe('transitions of a delivery', () => {
  it('starts with one attempt whose ids come from the id source, and asks for it to be sent', () => {
    const b = newCase();
    const effects = b.at({ type: 'START' }, T0);
    expect(b.c.state).toMatchObject({ status: 'SENDING', waitingFor: 'MESH_SEND', currentAttempt: 1 });
    expect(b.c.state.attempts[0]).toMatchObject({ attempt: 1, messageHeaderId: 'id-1', bundleIdentifier: 'id-2', reason: 'INITIAL', submissionRef: REF, recipientOds: RECIPIENT });
    expect(effects).toEqual([{ kind: 'SEND', attempt: 1, submissionRef: REF, messageHeaderId: 'id-1', bundleIdentifier: 'id-2' }]);
    expect(kinds(b)).toEqual(['SUBMITTED']);
  });

  it('uses the first attempt ids the API chose', () => {
    const b = newCase({ firstAttempt: { messageHeaderId: '0f7c1c2e-1111-4a4a-8b8b-000000000001', bundleIdentifier: '0f7c1c2e-1111-4a4a-8b8b-000000000002' } });
    b.at({ type: 'START' }, T0);
    expect(b.c.state.attempts[0]).toMatchObject({ messageHeaderId: '0f7c1c2e-1111-4a4a-8b8b-000000000001', bundleIdentifier: '0f7c1c2e-1111-4a4a-8b8b-000000000002' });
  });

  it("sends the first attempt as the API built it, and builds every later attempt", () => {
    const messageRef: ContentRef = { key: 'itk3-message/api', sha256: 'c'.repeat(64), size: 2000 };
    const firstAttempt = { messageHeaderId: '0f7c1c2e-1111-4a4a-8b8b-000000000001', bundleIdentifier: '0f7c1c2e-1111-4a4a-8b8b-000000000002', messageRef };
    const b = sentCase({ firstAttempt });
    b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE);
    const resend = b.at({ type: 'OPERATOR', action: 'resend', who: ops, reason: 'no answer' });
    expect(newCase({ firstAttempt }).at({ type: 'START' }, T0)).toEqual([{ kind: 'SEND', attempt: 1, submissionRef: REF, messageHeaderId: firstAttempt.messageHeaderId, bundleIdentifier: firstAttempt.bundleIdentifier, messageRef }]);
    const send = resend.find((e) => e.kind === 'SEND');
    expect(send).toMatchObject({ kind: 'SEND', attempt: 2 });
    expect(send).not.toHaveProperty('messageRef');
  });

  it('waits for the infrastructure acknowledgement from the MESH send time once sent', () => {
    const b = sentCase();
    expect(b.c.state).toMatchObject({ status: 'AWAITING_INFRASTRUCTURE_ACK', waitingFor: 'INFRASTRUCTURE_ACK', waitingUntil: iso(AFTER_INF_DEADLINE) });
    expect(b.c.state.attempts[0]).toMatchObject({ meshMessageId: 'mesh-1', sentAt: iso(T0 + SEC), sizeBytes: 4321, routing: 'mailbox', recipientMailbox: MAILBOX });
    expect(kinds(b)).toEqual(['SUBMITTED', 'BUILT', 'SENT', 'STATE']);
    expect(b.c.nextDue()).toBe(AFTER_INF_DEADLINE);
  });

  it('escalates a send that failed for good and waits for an operator', () => {
    const b = newCase();
    b.at({ type: 'START' }, T0);
    const effects = b.at({ type: 'SEND_FAILED', failureType: 'MESH_SEND_OUTCOME_UNKNOWN' });
    expect(b.c.state).toMatchObject({ status: 'AWAITING_OPERATOR', waitingFor: 'OPERATOR', escalated: true });
    expect(open(b)).toMatchObject({ key: 'SEND_FAILED:1', code: 'MESH_SEND_OUTCOME_UNKNOWN', reason: expect.stringContaining('check MESH tracking first') });
    expect(notices(effects)).toEqual(['RAISED:AWAITING_OPERATOR:MESH_SEND_OUTCOME_UNKNOWN']);
  });

  it('refuses a move the transition table does not know (a bug), rather than guessing', () => {
    const b = sentCase();
    expect(() => b.at({ type: 'SEND_FAILED', failureType: 'X' })).toThrow('no transition from AWAITING_INFRASTRUCTURE_ACK on SEND_FAILED');
  });
});

describe('response-rule table', () => {
  it('has a row for every sender action, and each row asks for a move the transition table knows', () => {
    expect(Object.keys(RESPONSE_RULES).sort()).toEqual([...SenderActionSchema.options].sort());
    for (const action of SenderActionSchema.options) {
      expect(eventForAction(action)).toBe(RESPONSE_RULES[action].event);
      expect(nextStatus('AWAITING_INFRASTRUCTURE_ACK', RESPONSE_RULES[action].event)).toBeDefined();
    }
  });

  const cases: Array<[string, SenderAction, { status: string; waitingFor: string; key?: string; until?: (sentAt: number, now: number) => number; outcome: boolean }]> = [
    ['20013', 'AWAIT_BUSINESS_ACK', { status: 'AWAITING_BUSINESS_ACK', waitingFor: 'BUSINESS_ACK', until: (sent) => sent + DEADLINES.businessAckMs, outcome: false }],
    ['30001', 'DELIVERED', { status: 'DELIVERED', waitingFor: 'REPLACEMENT_WINDOW', until: (_s, now) => now + DEADLINES.replacementWindowMs, outcome: true }],
    ['30004', 'DELIVERED', { status: 'DELIVERED', waitingFor: 'REPLACEMENT_WINDOW', until: (_s, now) => now + DEADLINES.replacementWindowMs, outcome: true }],
    ['30002', 'ESCALATE_BUSINESS_REJECTION', { status: 'REJECTED', waitingFor: 'OPERATOR', key: 'BUSINESS_REJECTION:1', until: (_s, now) => now + DEADLINES.decisionWindowMs, outcome: true }],
    ['30003', 'ESCALATE_BUSINESS_REJECTION', { status: 'REJECTED', waitingFor: 'OPERATOR', key: 'BUSINESS_REJECTION:1', until: (_s, now) => now + DEADLINES.decisionWindowMs, outcome: true }],
    ['10001', 'FIX_AND_RESEND', { status: 'AWAITING_CORRECTION', waitingFor: 'CORRECTION', key: 'CORRECTION:1', outcome: true }],
    ['20009', 'FIX_AND_RESEND', { status: 'AWAITING_CORRECTION', waitingFor: 'CORRECTION', key: 'CORRECTION:1', outcome: true }],
    ['10009', 'INVESTIGATE_UNREADABLE', { status: 'AWAITING_CORRECTION', waitingFor: 'CORRECTION', key: 'CORRECTION:1', outcome: true }],
    ['20015', 'SHRINK_PAYLOAD', { status: 'AWAITING_CORRECTION', waitingFor: 'CORRECTION', key: 'CORRECTION:1', outcome: true }],
    ['20007', 'TREAT_AS_DUPLICATE', { status: 'AWAITING_OPERATOR', waitingFor: 'OPERATOR', key: 'DUPLICATE:1', outcome: true }],
    ['20008', 'TREAT_AS_DUPLICATE', { status: 'AWAITING_OPERATOR', waitingFor: 'OPERATOR', key: 'DUPLICATE:1', outcome: true }],
    ['20002', 'ESCALATE_ROUTING', { status: 'AWAITING_OPERATOR', waitingFor: 'OPERATOR', key: 'ROUTING:1', outcome: true }],
    ['20014', 'VOID_ORIGINAL_AND_REPLACEMENT', { status: 'VOIDED', waitingFor: 'NOTHING', key: 'VOIDED:1', outcome: true }],
  ];

  it.each(cases)('applies %s (%s) to the current attempt as its row says', (code, action, want) => {
    const b = sentCase();
    const r = response(b, code);
    expect((r as { response: Itk3ResponseReceived }).response.action).toBe(action);
    const effects = b.at(r, T0 + MIN);
    const s = b.c.state;
    expect(s.status).toBe(want.status);
    expect(s.waitingFor).toBe(want.waitingFor);
    expect(s.waitingUntil).toBe(want.until ? iso(want.until(T0 + SEC, T0 + MIN)) : undefined);
    expect(s.outcomeCode).toBe(want.outcome ? code : undefined);
    expect(s.escalations.map((e) => `${e.key}/${e.code}/${e.status}`)).toEqual(want.key ? [`${want.key}/${code}/${want.status}`] : []);
    expect(notices(effects)).toEqual(want.key ? [`RAISED:${want.status}:${code}`] : []);
    expect(s.rejectedRoutes).toEqual(action === 'ESCALATE_BUSINESS_REJECTION' ? [RECIPIENT] : []);
  });

  it('words each correction class for the person who must act', () => {
    const reasonOf = (code: string): string => {
      const b = sentCase();
      b.at(response(b, code));
      return open(b)!.reason;
    };
    expect(reasonOf('20015')).toMatch(/^message too large \(20015\): attempt 1 was 4321 bytes/);
    expect(reasonOf('10009')).toMatch(/^the receiver could not read attempt 1 \(10009\)/);
    expect(reasonOf('10001')).toMatch(/^sender defect \(10001 /);
  });

  it('implies technical success from a business acknowledgement that comes first, noting it when delivered', () => {
    const delivered = sentCase();
    delivered.at(response(delivered, '30001'));
    expect(delivered.c.state.attempts[0]!.infrastructureSuccessImplied).toBe(true);
    expect(delivered.c.state.timeline.some((t) => t.detail.includes('technical success implied'))).toBe(true);

    const rejected = sentCase();
    rejected.at(response(rejected, '30002'));
    expect(rejected.c.state.attempts[0]!.infrastructureSuccessImplied).toBe(true);
    expect(rejected.c.state.timeline.some((t) => t.detail.includes('technical success implied'))).toBe(false);

    const ordered = sentCase();
    ordered.at(response(ordered, '20013'));
    ordered.at(response(ordered, '30001'));
    expect(ordered.c.state.attempts[0]!.infrastructureSuccessImplied).toBeUndefined();
    expect(ordered.c.state.status).toBe('DELIVERED');
  });

  it('ends a voided delivery at once and tells the delivery it replaced', () => {
    const b = sentCase({ version: 2, replaces: { documentId: DOC, version: 1, workflowId: `send-document-${DOC}-v1` } });
    const effects = b.at(response(b, '20014'));
    expect(b.c.ended).toBe(true);
    expect(b.c.result()).toEqual({ status: 'VOIDED', attempts: 1, finalCode: '20014' });
    expect(open(b)!.reason).toContain('and the version it replaces (1)');
    expect(kinds(b).slice(-3)).toEqual(['STATE', 'ESCALATION', 'STATE']);
    expect(effects).toContainEqual({ kind: 'REPORT_TO_ORIGINAL', workflowId: `send-document-${DOC}-v1`, outcome: expect.objectContaining({ status: 'VOIDED', code: '20014', version: 2 }) });
  });

  it('names an earlier accepted attempt when the receiver reports a duplicate', () => {
    // An attempt the practice accepted, followed by another one (the case allows a new attempt only
    // outside DELIVERED, so the earlier acceptance is set on the first attempt directly).
    const r = sentCase();
    r.at(response(r, '10001'));
    r.c.state.attempts[0]!.businessAck = (response(r, '30001') as { response: Itk3ResponseReceived }).response;
    r.at({ type: 'OPERATOR', action: 'resend', who: ops, reason: 'try again' });
    r.at({ type: 'SENT', meshMessageId: 'mesh-2', sentAt: iso(r.now()), routing: 'mailbox', recipientMailbox: MAILBOX });
    r.at(response(r, '20007'));
    expect(open(r)!.reason).toContain('(attempt 1 has a positive business acknowledgement 30001)');
  });

  it('classifies an unknown code by its prefix and polarity and applies that class', () => {
    const business = sentCase();
    business.at(response(business, '30099', { responseCode: 'fatal-error' }));
    expect(business.c.state).toMatchObject({ status: 'REJECTED', outcomeCode: '30099' });
    const infra = sentCase();
    infra.at(response(infra, '20099', { responseCode: 'ok' }));
    expect(infra.c.state.status).toBe('AWAITING_BUSINESS_ACK');
  });

  it('records a response its row cannot apply in the current status, without a change', () => {
    const b = sentCase();
    b.at(response(b, '10001'));
    b.at(response(b, '30001'));
    expect(b.c.state.status).toBe('AWAITING_CORRECTION');
    expect(last(b).detail).toMatch(/: no change in AWAITING_CORRECTION$/);
  });

  it('ignores a redelivered response (same response id) entirely', () => {
    const b = sentCase();
    const r = response(b, '20013');
    b.at(r);
    const before = b.c.state.timeline.length;
    expect(b.at(r)).toEqual([]);
    expect(b.c.state.timeline.length).toBe(before);
  });

  it('records a response that answers no attempt of this delivery', () => {
    const b = sentCase();
    b.at(response(b, '20013', { respondsTo: 'someone-else' }));
    expect(b.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
    expect(last(b).detail).toContain('answers no attempt of this delivery (someone-else); recorded only');
  });

  it('keeps a response to an older attempt on that attempt and moves nothing', () => {
    const b = sentCase();
    b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE);
    b.at({ type: 'OPERATOR', action: 'resend', who: ops, reason: 'no answer' });
    const older = response(b, '20013', { respondsTo: b.c.state.attempts[0]!.messageHeaderId });
    b.at(older);
    expect(b.c.state.status).toBe('SENDING');
    expect(b.c.state.attempts[0]!.infrastructureAck?.code).toBe('20013');
    expect(last(b).detail).toContain('for attempt 1, not the current attempt 2; recorded only');
  });

  it('reconciles a late acknowledgement: marks it late and resolves the deadline escalation', () => {
    const b = sentCase();
    b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE);
    const effects = b.at(response(b, '20013'));
    expect(b.c.state.attempts[0]!.lateAck).toBe(true);
    expect(b.c.state.escalated).toBe(false);
    expect(notices(effects)).toEqual(['RESOLVED:AWAITING_INFRASTRUCTURE_ACK']);
    expect(b.c.state.escalations[0]!.resolution).toBe('late infrastructure acknowledgement 20013 reconciled');
  });
});

describe('conflicting acknowledgements', () => {
  it('a negative business acknowledgement after a positive one takes a delivered case to an operator', () => {
    const b = sentCase();
    b.at(response(b, '30001'));
    const effects = b.at(response(b, '30002'));
    expect(b.c.state).toMatchObject({ status: 'AWAITING_OPERATOR', waitingFor: 'OPERATOR', outcomeCode: '30002', rejectedRoutes: [RECIPIENT] });
    expect(b.c.state.waitingUntil).toBeUndefined();
    expect(open(b)).toMatchObject({ key: 'ACK_CONFLICT:1:business', code: '30002', reason: expect.stringContaining('30001') });
    expect(notices(effects)).toEqual(['RAISED:AWAITING_OPERATOR:30002']);
    expect(b.c.state.attempts[0]!.businessAck?.code).toBe('30001');
  });

  it('the same pair reordered in transit is a conflict too', () => {
    const b = sentCase();
    b.at(response(b, '30002'));
    b.at(response(b, '30001'));
    expect(b.c.state.status).toBe('AWAITING_OPERATOR');
    expect(open(b)!.key).toBe('ACK_CONFLICT:1:business');
  });

  it('an infrastructure conflict escalates without rejecting the route', () => {
    const b = sentCase();
    b.at(response(b, '20013'));
    b.at(response(b, '20009'));
    expect(b.c.state).toMatchObject({ status: 'AWAITING_OPERATOR', rejectedRoutes: [] });
    expect(open(b)!.key).toBe('ACK_CONFLICT:1:infrastructure');
  });

  it('a second acknowledgement of the same polarity stays a quiet duplicate', () => {
    const b = sentCase();
    b.at(response(b, '30001'));
    expect(b.at(response(b, '30004'))).toEqual([]);
    expect(b.c.state.status).toBe('DELIVERED');
    expect(last(b).detail).toContain('a second business acknowledgement for this attempt; recorded only');
  });

  it('is recorded only where the workflow has no version marker for it (older histories)', () => {
    const b = sentCase({}, { conflictEscalates: false });
    b.at(response(b, '30001'));
    b.at(response(b, '30002'));
    expect(b.c.state.status).toBe('DELIVERED');
    expect(b.c.state.escalations).toEqual([]);
  });

  it('about an older attempt, escalates without a status change', () => {
    const b = sentCase();
    b.at(response(b, '20013'));
    b.at({ type: 'TIMERS_DUE' }, T0 + SEC + DEADLINES.businessAckMs);
    b.at({ type: 'OPERATOR', action: 'resend', who: ops, reason: 'no business ack' });
    b.at(response(b, '20009', { respondsTo: b.c.state.attempts[0]!.messageHeaderId }));
    expect(b.c.state.status).toBe('SENDING');
    expect(open(b)).toMatchObject({ key: 'ACK_CONFLICT:1:infrastructure', reason: expect.stringContaining('status unchanged') });
  });
});

describe('who may answer an attempt', () => {
  it('records a response from another mailbox without applying it', () => {
    const b = sentCase();
    b.at(response(b, '30001', { senderMailbox: 'X99999OT001' }));
    expect(b.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
    expect(last(b)).toMatchObject({ kind: 'RESPONSE', senderMailbox: 'X99999OT001', detail: expect.stringContaining(`sender mailbox X99999OT001 is not ${MAILBOX}`) });
  });

  it('records a response naming another sender ODS code without applying it', () => {
    const b = sentCase();
    b.at(response(b, '30001', { senderOds: 'Y12345' }));
    expect(b.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
    expect(last(b).detail).toContain(`sender ODS Y12345 is not ${RECIPIENT}`);
  });

  it('compares mailbox and ODS code without regard to case or surrounding space', () => {
    const b = sentCase();
    b.at(response(b, '30001', { senderMailbox: ` ${MAILBOX.toLowerCase()} `, senderOds: RECIPIENT.toLowerCase() }));
    expect(b.c.state.status).toBe('DELIVERED');
  });

  it('GP provider routing: learns the mailbox MESH delivered to from the router, and refuses while it is unknown', () => {
    const unknown = sentCase({}, { routing: 'gpprovider' });
    unknown.at(response(unknown, '30001'));
    expect(unknown.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
    expect(last(unknown).detail).toContain('the mailbox this attempt was delivered to is not known');

    const learned = sentCase({}, { routing: 'gpprovider' });
    learned.at(response(learned, '30001', { recipientMailbox: MAILBOX.toLowerCase() }));
    expect(learned.c.state.status).toBe('DELIVERED');
    expect(learned.c.state.attempts[0]!.recipientMailbox).toBe(MAILBOX);
  });

  it('applies a response an operator rerouted from the quarantine, saying which check it overrode', () => {
    const b = sentCase();
    b.at(response(b, '30001', { senderMailbox: 'X99999OT001', correlatedBy: 'OPERATOR', quarantineId: 'q-1', reroutedBy: 'ops.smith', rerouteReason: 'practice merged' }));
    expect(b.c.state.status).toBe('DELIVERED');
    expect(b.c.state.timeline.filter((t) => t.kind === 'OPERATOR')).toEqual([
      expect.objectContaining({ actor: 'ops.smith', quarantineId: 'q-1', detail: expect.stringContaining('rerouted here from q-1') }),
      expect.objectContaining({ actor: 'ops.smith', reason: 'practice merged', detail: expect.stringContaining('applied by operator decision although sender mailbox') }),
    ]);
  });

  it('does not let a claimed operator correlation without a quarantine entry override the check', () => {
    const b = sentCase();
    b.at(response(b, '30001', { senderMailbox: 'X99999OT001', correlatedBy: 'OPERATOR', reroutedBy: 'ops.smith' }));
    expect(b.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
  });

  it('keeps the rule an attempt was sent under when its send reported no routing', () => {
    const b = sentCase({}, { routing: 'none' });
    b.at(response(b, '30001', { senderMailbox: 'ANYONE', senderOds: 'ZZZ' }));
    expect(b.c.state.status).toBe('DELIVERED');
  });
});

describe('deadlines and reminders', () => {
  it('escalates a missed infrastructure deadline once, keeps waiting, and asks MESH tracking', () => {
    const b = sentCase();
    expect(b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE - 1)).toEqual([]);
    const effects = b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE);
    expect(b.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
    expect(open(b)).toMatchObject({ key: 'NO_INFRASTRUCTURE_ACK:1', nextReminderAt: iso(AFTER_INF_DEADLINE + DEADLINES.reminderIntervalMs) });
    expect(notices(effects)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK']);
    expect(effects).toContainEqual({ kind: 'TRACK', attempt: 1, meshMessageId: 'mesh-1' });
    expect(kinds(b).slice(-2)).toEqual(['DEADLINE', 'ESCALATION']);
    // The deadline is spent: what is due next is the reminder.
    expect(b.c.nextDue()).toBe(AFTER_INF_DEADLINE + DEADLINES.reminderIntervalMs);
    expect(b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE + 1)).toEqual([]);
  });

  it('escalates a missed business deadline without asking MESH tracking', () => {
    const b = sentCase();
    b.at(response(b, '20013'));
    const effects = b.at({ type: 'TIMERS_DUE' }, T0 + SEC + DEADLINES.businessAckMs);
    expect(open(b)!.key).toBe('NO_BUSINESS_ACK:1');
    expect(effects.map((e) => e.kind)).toEqual(['NOTIFY']);
  });

  it('reminds at the reminder interval until someone acknowledges the escalation', () => {
    const b = sentCase();
    b.at(response(b, '10001'), T0 + MIN);
    const remindAt = T0 + MIN + DEADLINES.reminderIntervalMs;
    expect(b.c.nextDue()).toBe(remindAt);
    const effects = b.at({ type: 'TIMERS_DUE' }, remindAt);
    expect(notices(effects)).toEqual(['REMINDER:AWAITING_CORRECTION:10001']);
    expect(open(b)).toMatchObject({ reminders: 1, nextReminderAt: iso(remindAt + DEADLINES.reminderIntervalMs) });
    b.at({ type: 'OPERATOR', action: 'acknowledgeEscalation', who: ops, note: 'on it' });
    expect(open(b)!.nextReminderAt).toBeUndefined();
    expect(b.c.nextDue()).toBeUndefined();
    expect(b.at({ type: 'TIMERS_DUE' }, remindAt + 10 * DAY)).toEqual([]);
    // Even with a reminder time left on it (state carried over from older code), a taken escalation stays quiet.
    open(b)!.nextReminderAt = iso(remindAt);
    expect(b.c.nextDue()).toBeUndefined();
    expect(b.at({ type: 'TIMERS_DUE' }, remindAt + 11 * DAY)).toEqual([]);
  });

  it('closes a delivered case when its replacement window ends, with no reminder at that moment', () => {
    const b = sentCase();
    b.at(response(b, '30001'), T0 + MIN);
    expect(b.c.nextDue()).toBe(T0 + MIN + DAY);
    b.at({ type: 'TIMERS_DUE' }, T0 + MIN + DAY);
    expect(b.c.ended).toBe(true);
    expect(b.c.result()).toEqual({ status: 'DELIVERED', attempts: 1, finalCode: '30001' });
  });

  it('closes a rejected case when its decision window ends, and a rejected replacement tells its original', () => {
    const b = sentCase({ version: 2, replaces: { documentId: DOC, version: 1, workflowId: 'original' } });
    b.at(response(b, '30002'), T0 + MIN);
    const end = T0 + MIN + DEADLINES.decisionWindowMs;
    // Reminders of the rejection come due before the window ends.
    expect(b.c.nextDue()).toBe(T0 + MIN + HOUR);
    const effects = b.at({ type: 'TIMERS_DUE' }, end);
    expect(b.c.ended).toBe(true);
    expect(effects).toContainEqual({ kind: 'REPORT_TO_ORIGINAL', workflowId: 'original', outcome: expect.objectContaining({ status: 'REJECTED', code: '30002' }) });
    expect(notices(effects)).toEqual([]);
  });

  it('does nothing on timers once ended', () => {
    const b = sentCase();
    b.at({ type: 'OPERATOR', action: 'abandon', who: ops, reason: 'sent by post' }, AFTER_INF_DEADLINE + DAY);
    expect(b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE + 100 * DAY)).toEqual([]);
  });
});

describe('deadlines that cannot be computed', () => {
  it('escalates an acknowledgement deadline beyond what a date holds, and never times it', () => {
    const b = sentCase({ deadlines: { ...DEADLINES, infrastructureAckMs: 8.64e15 } });
    expect(b.c.state.waitingUntil).toBeUndefined();
    expect(open(b)).toMatchObject({ key: 'DEADLINE_UNCOMPUTABLE:1:AWAITING_INFRASTRUCTURE_ACK:INFRASTRUCTURE_ACK', code: 'DEADLINE_UNCOMPUTABLE' });
    expect(b.c.nextDue()).toBe(T0 + SEC + DEADLINES.reminderIntervalMs);
  });

  it('sends an escalation once, saying so, when the reminder interval cannot be computed', () => {
    const b = sentCase({ deadlines: { ...DEADLINES, reminderIntervalMs: 8.64e15 } });
    b.at(response(b, '10001'));
    expect(open(b)!.nextReminderAt).toBeUndefined();
    expect(open(b)!.reason).toContain('(no reminders: the reminder interval 8640000000000000 ms cannot be computed)');
    expect(b.c.nextDue()).toBeUndefined();
  });

  it('drops an unreadable stored deadline on the next timer pass and escalates it', () => {
    const b = sentCase();
    b.c.state.waitingUntil = 'not a date';
    expect(b.c.nextDue()).toBeUndefined();
    const effects = b.at({ type: 'TIMERS_DUE' });
    expect(b.c.state.waitingUntil).toBeUndefined();
    expect(notices(effects)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK:DEADLINE_UNCOMPUTABLE']);
  });

  it('re-measures the acknowledgement deadline from the send time when the deadlines change', () => {
    const b = sentCase({ deadlines: { ...DEADLINES, infrastructureAckMs: 8.64e15 } });
    b.at({ type: 'OPERATOR', action: 'changeDeadlines', who: ops, reason: 'sane value', deadlines: { infrastructureAckMs: 5 * MIN, reminderIntervalMs: 2 * HOUR } });
    expect(b.c.state.waitingUntil).toBe(iso(T0 + SEC + 5 * MIN));
    expect(open(b)!.nextReminderAt).toBe(iso(b.now() + 2 * HOUR));
    expect(last(b).detail).toBe('deadlines changed: infrastructureAckMs=300000, reminderIntervalMs=7200000');
  });
});

describe('MESH reports and tracking', () => {
  it('a non-delivery report for the current attempt takes it to an operator', () => {
    const b = sentCase();
    const effects = b.at(report('mesh-1', 'NON_DELIVERY'));
    expect(b.c.state).toMatchObject({ status: 'AWAITING_OPERATOR', waitingFor: 'OPERATOR', outcomeCode: '14' });
    expect(open(b)).toMatchObject({ key: 'MESH_NON_DELIVERY:1', reason: expect.stringContaining('expired undelivered') });
    expect(notices(effects)).toEqual(['RAISED:AWAITING_OPERATOR:14']);
    expect(b.c.state.attempts[0]!.meshReports).toHaveLength(1);
  });

  it('a routing error names the registered practice check', () => {
    const b = sentCase();
    b.at(report('mesh-1', 'ROUTING_ERROR', { statusCode: undefined }));
    expect(b.c.state.outcomeCode).toBe('ROUTING_ERROR');
    expect(open(b)!.reason).toContain('GPCM-SD-075');
  });

  it('records other reports, reports for older attempts, and unknown messages without a move; ignores a repeat', () => {
    const b = sentCase();
    b.at(report('mesh-1', 'OTHER'));
    b.at(report('mesh-unknown', 'NON_DELIVERY'));
    expect(b.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
    expect(last(b).detail).toContain('recorded only (no attempt of this delivery)');
    const r = report('mesh-1', 'NON_DELIVERY');
    b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE);
    b.at({ type: 'OPERATOR', action: 'resend', who: ops, reason: 'again' });
    b.at({ type: 'SENT', meshMessageId: 'mesh-2', sentAt: iso(b.now()), routing: 'mailbox', recipientMailbox: MAILBOX });
    b.at(r);
    expect(b.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
    expect(b.c.state.attempts[0]!.meshReports).toHaveLength(2);
    const length = b.c.state.timeline.length;
    b.at(r);
    expect(b.c.state.timeline.length).toBe(length);
  });

  it('MESH tracking that says undeliverable escalates; anything else, a queued answer or no answer keeps waiting', () => {
    const result = (status: string) => ({ status, statusCode: status === 'undeliverable' ? '14' : undefined, checkedAt: iso(T0) });
    const gone = sentCase();
    gone.at({ type: 'TRACKED', attempt: 1, result: result('undeliverable'), answered: false });
    expect(gone.c.state).toMatchObject({ status: 'AWAITING_OPERATOR', outcomeCode: '14' });
    expect(open(gone)!.key).toBe('MESH_TRACKING:1');

    for (const event of [
      { type: 'TRACKED', attempt: 1, result: result('accepted'), answered: false },
      { type: 'TRACKED', attempt: 1, result: result('undeliverable'), answered: true },
      { type: 'TRACKED', attempt: 1, failureType: 'MESH_UNAVAILABLE', answered: false },
    ] as CaseEvent[]) {
      const b = sentCase();
      b.at(event);
      expect(b.c.state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
      expect(last(b).detail).toMatch(/still waiting$/);
    }
  });
});

describe('replacement', () => {
  const delivered = (): Built => {
    const b = sentCase();
    b.at(response(b, '30001'), T0 + MIN);
    return b;
  };

  it('a replacement under way stops the window and is answered with its workflow', () => {
    const b = delivered();
    expect(b.c.refusal('replace')).toBeUndefined();
    const plan = b.c.replacementPlan({ recipientOds: 'C99999' });
    expect(plan).toEqual({ workflowId: `send-document-${DOC}-v2`, version: 2, recipientOds: 'C99999', senderOds: 'A12345' });
    b.at({ type: 'OPERATOR', action: 'replace', who: ops, reason: 'wrong dose', workflowId: plan.workflowId, version: 2 });
    expect(b.c.state).toMatchObject({ status: 'DELIVERED', waitingFor: 'REPLACEMENT_OUTCOME' });
    expect(b.c.nextDue()).toBeUndefined();
    expect(b.c.answer('replace', b.now(), ops)).toMatchObject({ replacementWorkflowId: plan.workflowId, replacementVersion: 2, actor: 'ops.jones', actorVerified: true });
    expect(b.c.refusal('replace')?.code).toBe('REPLACEMENT_UNDER_WAY');
  });

  it('a voided replacement voids this version too; a settled one closes it; an outcome from elsewhere is recorded only', () => {
    const voided = delivered();
    voided.at({ type: 'REPLACEMENT_OUTCOME', outcome: { workflowId: `send-document-${DOC}-v2`, version: 2, status: 'VOIDED', code: '20014', at: iso(T0) } });
    expect(voided.c.ended).toBe(true);
    expect(voided.c.result()).toEqual({ status: 'VOIDED', attempts: 1, finalCode: '20014', replacedBy: `send-document-${DOC}-v2` });

    const settled = delivered();
    settled.at({ type: 'REPLACEMENT_OUTCOME', outcome: { workflowId: `send-document-${DOC}-v2`, version: 2, status: 'DELIVERED', at: iso(T0) } });
    expect(settled.c.ended).toBe(true);
    expect(settled.c.result().status).toBe('DELIVERED');

    const stranger = delivered();
    stranger.at({ type: 'REPLACEMENT_OUTCOME', outcome: { workflowId: `send-document-${DOC}-v3`, version: 3, status: 'VOIDED', at: iso(T0) } });
    expect(stranger.c.ended).toBe(false);
    expect(last(stranger).detail).toContain("which is not this document's replacement; recorded only");
  });

  it('a replacement tells the delivery it replaces once it is delivered', () => {
    const b = sentCase({ version: 2, replaces: { documentId: DOC, version: 1, workflowId: 'original' } });
    const effects = b.at(response(b, '30001'));
    expect(effects).toContainEqual({ kind: 'REPORT_TO_ORIGINAL', workflowId: 'original', outcome: expect.objectContaining({ workflowId: `send-document-${DOC}-v2`, status: 'DELIVERED', code: '30001' }) });
    b.at({ type: 'ORIGINAL_UNREACHABLE', status: 'DELIVERED' });
    expect(last(b).detail).toBe('could not tell original that this replacement is DELIVERED (it has probably ended)');
  });
});

describe('operator refusals', () => {
  const code = (b: Built, action: Parameters<DeliveryCase['refusal']>[0], opts?: Parameters<DeliveryCase['refusal']>[1]) => b.c.refusal(action, opts)?.code;

  it('while sending: no new attempt and no abandon', () => {
    const b = newCase();
    b.at({ type: 'START' }, T0);
    expect([code(b, 'resend'), code(b, 'correct'), code(b, 'abandon')]).toEqual(['SEND_IN_PROGRESS', 'SEND_IN_PROGRESS', 'SEND_IN_PROGRESS']);
    expect(code(b, 'changeDeadlines')).toBeUndefined();
  });

  it('while waiting for an acknowledgement: a new attempt only once its deadline has been escalated', () => {
    const b = sentCase();
    expect(b.c.refusal('resend')).toMatchObject({ code: 'ACK_DEADLINE_NOT_PASSED' });
    expect(code(b, 'correct')).toBe('ACK_DEADLINE_NOT_PASSED');
    expect(code(b, 'abandon')).toBeUndefined();
    b.at({ type: 'TIMERS_DUE' }, AFTER_INF_DEADLINE);
    expect(code(b, 'resend')).toBeUndefined();
  });

  it('after a business rejection: a new attempt to the same route only with the override', () => {
    const b = sentCase();
    b.at(response(b, '30002'));
    expect(code(b, 'resend')).toBe('BUSINESS_REJECTION_NOT_OVERRIDDEN');
    expect(code(b, 'resend', { override: true })).toBeUndefined();
    // A correction's route is known once its content has been checked.
    expect(code(b, 'correct')).toBeUndefined();
    expect(code(b, 'correct', { recipientOds: RECIPIENT })).toBe('BUSINESS_REJECTION_NOT_OVERRIDDEN');
    expect(code(b, 'correct', { recipientOds: 'C99999' })).toBeUndefined();
    expect(b.c.view()).toMatchObject({ allowedWithOverride: ['resend'] });
  });

  it('once delivered: no new attempt, no abandon; replace only in its window', () => {
    const b = sentCase();
    b.at(response(b, '30001'));
    expect([code(b, 'resend'), code(b, 'correct'), code(b, 'abandon')]).toEqual(['ALREADY_DELIVERED', 'ALREADY_DELIVERED', 'DELIVERED_CANNOT_BE_ABANDONED']);
    b.c.state.waitingFor = 'NOTHING';
    expect(code(b, 'replace')).toBe('REPLACEMENT_WINDOW_CLOSED');
  });

  it('replace only a delivered document', () => {
    const b = sentCase();
    b.at(response(b, '30002'));
    expect(code(b, 'replace')).toBe('NOT_DELIVERED');
  });

  it('acknowledge only the open escalation, once', () => {
    const b = sentCase();
    expect(code(b, 'acknowledgeEscalation')).toBe('NO_OPEN_ESCALATION');
    b.at(response(b, '10001'));
    const id = open(b)!.id;
    expect(code(b, 'acknowledgeEscalation', { escalationId: 'another' })).toBe('ESCALATION_NOT_OPEN');
    expect(code(b, 'acknowledgeEscalation', { escalationId: id })).toBeUndefined();
    b.at({ type: 'OPERATOR', action: 'acknowledgeEscalation', who: ops, note: 'mine' });
    expect(b.c.refusal('acknowledgeEscalation')).toMatchObject({ code: 'ESCALATION_ALREADY_ACKNOWLEDGED', message: expect.stringContaining('ops.jones') });
  });

  it('nothing once the case has ended', () => {
    const b = sentCase();
    b.at({ type: 'OPERATOR', action: 'abandon', who: ops, reason: 'by post' });
    for (const action of ['resend', 'correct', 'replace', 'abandon', 'acknowledgeEscalation', 'changeDeadlines'] as const) expect(code(b, action)).toBe('DELIVERY_ENDED');
    expect(b.c.view()).toMatchObject({ allowed: [], allowedWithOverride: [] });
  });
});

describe('operator actions', () => {
  it('resend: a new attempt with fresh ids, sent next; the escalation it answers is resolved', () => {
    const b = sentCase();
    b.at(response(b, '20002'));
    const effects = b.at({ type: 'OPERATOR', action: 'resend', who: ops, reason: 'routing fixed' });
    expect(b.c.state).toMatchObject({ status: 'SENDING', waitingFor: 'MESH_SEND', currentAttempt: 2, escalated: false });
    expect(b.c.state.attempts[1]).toMatchObject({ reason: 'RESEND', requestedBy: 'ops.jones', messageHeaderId: 'id-4', bundleIdentifier: 'id-5' });
    expect(effects).toEqual([
      { kind: 'SEND', attempt: 2, submissionRef: REF, messageHeaderId: 'id-4', bundleIdentifier: 'id-5' },
      expect.objectContaining({ kind: 'NOTIFY', escalation: expect.objectContaining({ kind: 'RESOLVED', reason: 'resend by ops.jones' }) }),
    ]);
    expect(b.c.state.timeline.find((t) => t.kind === 'OPERATOR')).toMatchObject({ actor: 'ops.jones', actorVerified: true, reason: 'routing fixed', attempt: 2 });
  });

  it('correct: the checked submission and its route become the current ones', () => {
    const b = sentCase();
    b.at(response(b, '30002'));
    b.at({ type: 'OPERATOR', action: 'correct', who: ops, reason: 'other practice', submissionRef: OTHER_REF, recipientOds: 'C99999', senderOds: 'A99999' });
    expect(b.c.state).toMatchObject({ status: 'SENDING', submissionRef: OTHER_REF, recipientOds: 'C99999', senderOds: 'A99999' });
    expect(b.c.state.attempts[1]).toMatchObject({ reason: 'CORRECTION', submissionRef: OTHER_REF, recipientOds: 'C99999' });
  });

  it('abandon: ends at once, resolving the open escalation', () => {
    const b = sentCase();
    b.at(response(b, '20006'));
    const effects = b.at({ type: 'OPERATOR', action: 'abandon', who: ops, reason: 'sent by post instead' });
    expect(b.c.ended).toBe(true);
    expect(b.c.answer('abandon', b.now(), ops)).toMatchObject({ action: 'abandon', status: 'ABANDONED', waitingFor: 'NOTHING', attempt: 1 });
    expect(kinds(b).slice(-4)).toEqual(['OPERATOR', 'RESOLVED', 'STATE', 'STATE']);
    expect(notices(effects)).toEqual(['RESOLVED:AWAITING_CORRECTION:20006']);
    expect(b.c.result()).toEqual({ status: 'ABANDONED', attempts: 1, finalCode: '20006' });
  });

  it('marks an unverified actor in the timeline and the state', () => {
    const b = sentCase();
    b.at({ type: 'ACTOR_UNVERIFIED', update: 'abandon', claimedActor: 'someone', reason: 'no token' });
    b.at({ type: 'OPERATOR', action: 'abandon', who: { actor: 'someone', verified: false, unverifiedReason: 'no token' }, reason: 'x' });
    expect(b.c.state.unverifiedActions).toEqual([{ at: expect.any(String), update: 'abandon', claimedActor: 'someone', reason: 'no token' }]);
    expect(b.c.state.timeline.find((t) => t.kind === 'OPERATOR')).toMatchObject({ detail: "unverified actor 'someone' (no token): abandoned", actorVerified: false });
    // Histories from before the token check carry no verification at all.
    expect(b.c.answer('abandon', b.now(), { actor: 'someone' })).not.toHaveProperty('actorVerified');
  });

  it('records a refused submission and changes nothing else', () => {
    const b = sentCase();
    b.at(response(b, '10001'));
    b.at({ type: 'SUBMISSION_REFUSED', action: 'correct', who: ops, reason: 'fix', issues: [{ path: 'author', message: 'is required' }] });
    expect(b.c.state.status).toBe('AWAITING_CORRECTION');
    expect(last(b)).toMatchObject({ kind: 'OPERATOR', detail: 'correction refused: author: is required' });
  });
});

describe('what a person sees', () => {
  it('lists what it waits for, until when, the open escalation and the actions that fit now', () => {
    const b = sentCase();
    b.at(response(b, '10001'), T0 + MIN);
    expect(b.c.view()).toEqual({
      status: 'AWAITING_CORRECTION',
      waitingFor: 'CORRECTION',
      escalated: true,
      escalation: expect.objectContaining({ key: 'CORRECTION:1', code: '10001' }),
      allowed: ['correct', 'resend', 'abandon', 'acknowledgeEscalation', 'changeDeadlines'],
      allowedWithOverride: [],
      nextDueAt: iso(T0 + MIN + HOUR),
    });
  });

  it('offers replace while a delivered document is in its window, and says when the window closes', () => {
    const b = sentCase();
    b.at(response(b, '30001'), T0 + MIN);
    expect(b.c.view()).toMatchObject({ status: 'DELIVERED', waitingFor: 'REPLACEMENT_WINDOW', allowed: ['replace', 'changeDeadlines'], nextDueAt: iso(T0 + MIN + DAY) });
  });
});

describe('continue-as-new', () => {
  it('carries the whole case over, including the responses already seen', () => {
    const b = sentCase();
    const r = response(b, '20013');
    b.at(r);
    const next = newCase({ carryOver: b.c.carryOver() });
    expect(next.at({ type: 'START' })).toEqual([]);
    expect(next.c.state).toMatchObject({ run: 2, status: 'AWAITING_BUSINESS_ACK' });
    expect(last(next).kind).toBe('CONTINUED');
    next.at(r);
    expect(last(next).kind).toBe('CONTINUED');
  });
});
