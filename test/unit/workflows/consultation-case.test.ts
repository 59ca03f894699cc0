/**
 * Every rule of the consultation, against the pure case (workflows/consultation-case.ts): no Temporal,
 * time passed in. The workflow tests (test/workflows/consultation.test.ts) keep the end-to-end behaviour.
 */
import type { ContentRef, DeliveryDeadlines, DeliveryResult } from '../../../contracts';
import { DEFAULT_CONSULTATION_SETTINGS, type ConsultationEvent, type ConsultationWorkflowInput } from '../../../contracts/consultation';
import { deliveryWorkflowId } from '../../../contracts/ids';
import { ConsultationCase, type ConsultationEffect, type EscalateEffect, type StartDeliveryEffect } from '../../../workflows/consultation-case';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const T0 = Date.parse('2026-11-25T09:00:00.000Z');
const WF = 'consultation-X27-cons-1';
const PRACTICE = 'X26';
const DEADLINES: DeliveryDeadlines = { infrastructureAckMs: 4 * HOUR, businessAckMs: 48 * HOUR, reminderIntervalMs: 24 * HOUR, replacementWindowMs: 24 * HOUR, decisionWindowMs: 168 * HOUR };
const INPUT: ConsultationWorkflowInput = { senderOds: 'X27', consultationId: 'cons-1', settings: { ...DEFAULT_CONSULTATION_SETTINGS } };
const DELIVERED: DeliveryResult = { status: 'DELIVERED', attempts: 1, finalCode: '30001' };

const ref = (n: number): ContentRef => ({ key: `consultation-content/00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, sha256: String(n % 10).repeat(64), size: 1000 + n });
const docId = (n: number): string => `00000000-0000-4000-a000-${String(n).padStart(12, '0')}`;

/** A case with a clock and helpers that drive it as the workflow shell does. */
function consultation(input: ConsultationWorkflowInput = INPUT) {
  let now = T0;
  let events = 0;
  let ids = 0;
  const c = new ConsultationCase(input, WF, now);
  const h = {
    c,
    now: () => now,
    advance: (ms: number) => (now += ms),
    event: (e: Omit<ConsultationEvent, 'eventId' | 'occurredAt'> & { eventId?: string }) =>
      c.apply({ eventId: `ev-${++events}`, occurredAt: new Date(now).toISOString(), ...e } as ConsultationEvent, now),
    save: (n: number, eventId?: string) => h.event({ type: 'saved', contentRef: ref(n), recipientOds: PRACTICE, deadlines: DEADLINES, ...(eventId ? { eventId } : {}) } as never),
    finalise: () => h.event({ type: 'finalised' }),
    step: (historyTooLong = false) => c.nextStep(now, { historyTooLong }),
    /** Plans, prepares (valid unless told otherwise) and starts the due send; returns the start effect. */
    send(prepared: 'valid' | 'invalid' = 'valid'): { start?: StartDeliveryEffect; effects: ConsultationEffect[]; newIds: number } {
      const before = ids;
      const plan = c.planSend(() => docId(++ids));
      const effects = c.apply(
        { type: 'prepared', plan, result: prepared === 'valid' ? { valid: true, submissionRef: { ...plan.prepare.contentRef, key: 'submission/x' }, recipientOds: PRACTICE } : { valid: false, issues: [{ path: 'patient.nhsNumber', message: 'fails the modulus 11 check' }] } },
        now,
      );
      const start = effects.find((e): e is StartDeliveryEffect => e.type === 'startDelivery');
      if (start) effects.push(...c.apply({ type: 'deliveryStarted', index: start.index }, now));
      return { ...(start ? { start } : {}), effects, newIds: ids - before };
    },
    finish(start: StartDeliveryEffect, result: DeliveryResult = DELIVERED): ConsultationEffect[] {
      c.apply({ type: 'deliveryFinished', index: start.index, result }, now);
      expect(c.nextStep(now, { historyTooLong: false })).toEqual({ kind: 'settle' });
      return c.settleNext(now);
    },
    /** Save content n, finalise, send and settle with `result`. */
    deliver(n: number, result: DeliveryResult = DELIVERED) {
      h.save(n);
      h.finalise();
      const { start } = h.send();
      const settled = h.finish(start!, result);
      return { start: start!, settled };
    },
  };
  return h;
}

const escalations = (effects: ConsultationEffect[]): EscalateEffect['escalation'][] => effects.filter((e): e is EscalateEffect => e.type === 'escalate').map((e) => e.escalation);

describe('consultation case: the send window', () => {
  it('a save waits the window from the save, and each save restarts it', () => {
    const h = consultation();
    const effects = h.save(1);
    expect(h.c.view.status).toBe('WAITING_TO_SEND');
    expect(effects).toEqual([{ type: 'searchAttributes', status: 'WAITING_TO_SEND', sendDueAt: new Date(T0 + 3 * HOUR).toISOString(), senderOds: 'X27', recipientOds: PRACTICE }]);
    expect(h.step()).toEqual({ kind: 'wait', for: 'sendWindow', until: T0 + 3 * HOUR });
    h.advance(2 * HOUR);
    h.save(2);
    expect(h.c.nextDue()).toBe(T0 + 5 * HOUR);
    h.advance(2 * HOUR + 59 * MINUTE);
    expect(h.step()).toMatchObject({ kind: 'wait', for: 'sendWindow' });
    h.advance(MINUTE);
    expect(h.step()).toEqual({ kind: 'send' });
    // Only the latest content is sent.
    expect(h.send().start!.input.submissionRef.key).toBe('submission/x');
    expect(h.c.view.versions[0]!.contentRef).toEqual(ref(2));
  });

  it('finalise makes the waiting content due now; with nothing waiting it is recorded as ignored', () => {
    const h = consultation();
    expect(h.c.refusal({ type: 'finalised', eventId: 'x', occurredAt: '' } as ConsultationEvent)).toBe('NOTHING_TO_FINALISE');
    const revision = h.c.revision;
    h.finalise();
    expect(h.c.view.timeline.at(-1)).toMatchObject({ kind: 'IGNORED', detail: 'finalised with nothing waiting to send' });
    // Still a change: the retirement clock restarts from this event.
    expect(h.c.revision).toBe(revision + 1);
    h.save(1);
    h.advance(10 * MINUTE);
    h.finalise();
    expect(h.step()).toEqual({ kind: 'send' });
  });

  it('applies an event once, however often it is retried', () => {
    const h = consultation();
    h.save(1, 'save-1');
    h.advance(HOUR);
    const revision = h.c.revision;
    expect(h.c.refusal({ type: 'finalised', eventId: 'save-1', occurredAt: '' } as ConsultationEvent)).toBe('DUPLICATE_EVENT');
    expect(h.save(1, 'save-1')).toEqual([]);
    expect(h.c.revision).toBe(revision);
    expect(h.c.nextDue()).toBe(T0 + 3 * HOUR); // not restarted
  });

  it('upserts search attributes only when something visible changed', () => {
    const h = consultation();
    expect(h.c.publish(h.now())).toEqual([{ type: 'searchAttributes', status: 'AWAITING_CONTENT', sendDueAt: null, senderOds: 'X27' }]);
    expect(h.c.publish(h.now())).toEqual([]);
    expect(h.save(1)).toHaveLength(1);
    expect(h.c.publish(h.now())).toEqual([]);
  });
});

describe('consultation case: versions and replacements', () => {
  it('sends version 1 of a new document, then a save after delivery as version 2 replacing it', () => {
    const h = consultation();
    const first = h.deliver(1);
    expect(first.start.workflowId).toBe(deliveryWorkflowId(docId(1), 1));
    expect(first.start.input).toMatchObject({ documentId: docId(1), version: 1, recipientOds: PRACTICE, senderOds: 'X27' });
    expect(first.start.input.replaces).toBeUndefined();
    expect(h.c.view.status).toBe('SENT');
    h.save(2);
    h.finalise();
    const { start, newIds } = h.send();
    expect(newIds).toBe(0); // the document on record is replaced, no new id drawn
    expect(start!.input).toMatchObject({ documentId: docId(1), version: 2, replaces: { documentId: docId(1), version: 1, workflowId: deliveryWorkflowId(docId(1), 1) } });
    // The consultation makes the replacements, so a delivery need not stay open for `replace`.
    expect(start!.input.deadlines).toEqual({ ...DEADLINES, replacementWindowMs: 0 });
  });

  it('starts its deliveries sending in one activity when its own input says so, and in two when started without it', () => {
    const oneActivity = consultation({ ...INPUT, sendInOneActivity: true });
    const first = oneActivity.deliver(1);
    expect(first.start.input.sendInOneActivity).toBe(true);
    oneActivity.save(2);
    oneActivity.finalise();
    expect(oneActivity.send().start!.input.sendInOneActivity).toBe(true);
    // Started before the flag existed (as every consultation already running was): its deliveries keep two activities.
    const older = consultation(INPUT);
    expect('sendInOneActivity' in older.deliver(1).start.input).toBe(false);
  });

  it('holds a replacement until the delivery in flight has an outcome', () => {
    const h = consultation();
    h.save(1);
    h.finalise();
    const { start } = h.send();
    expect(h.c.view.status).toBe('DELIVERING');
    h.save(2);
    h.advance(4 * HOUR);
    expect(h.c.statusNow()).toBe('WAITING_FOR_OUTCOME');
    expect(h.step()).toEqual({ kind: 'wait', for: 'deliveryOutcome' });
    h.finish(start!);
    expect(h.step()).toEqual({ kind: 'send' });
    expect(h.send().start!.input).toMatchObject({ version: 2, replaces: { version: 1 } });
  });

  it('after a rejected original sends a new document; after a rejected replacement replaces the filed version again', () => {
    const h = consultation();
    const rejected: DeliveryResult = { status: 'REJECTED', attempts: 1, finalCode: '30002' };
    h.deliver(1, rejected);
    expect(h.c.view.status).toBe('NOT_DELIVERED');
    const b = h.deliver(2);
    expect(b.start.input).toMatchObject({ documentId: docId(2), version: 1 });
    expect(b.start.input.replaces).toBeUndefined();
    const r = h.deliver(3, rejected);
    expect(r.start.input).toMatchObject({ documentId: docId(2), version: 2, replaces: { version: 1 } });
    const d = h.deliver(4);
    expect(d.start.input).toMatchObject({ documentId: docId(2), version: 2, replaces: { version: 1 } });
  });

  it('a 20014 outcome voids the replacement and what it replaced, escalates once, and the next save is a new document', () => {
    for (const result of [{ status: 'VOIDED', attempts: 1, finalCode: '20014' }, { status: 'REJECTED', attempts: 1, finalCode: '20014' }] as DeliveryResult[]) {
      const h = consultation();
      h.deliver(1);
      const { settled } = h.deliver(2, result);
      expect(h.c.view.versions.map((v) => v.voided)).toEqual([true, true]);
      expect(h.c.view.status).toBe('NOT_DELIVERED');
      expect(settled[0]).toMatchObject({ type: 'searchAttributes', status: 'NOT_DELIVERED' });
      expect(escalations(settled)).toEqual([expect.objectContaining({ escalationId: `${WF}:voided-${docId(1)}-v2`, code: '20014', documentId: docId(1), kind: 'RAISED', state: 'NOT_DELIVERED' })]);
      expect(escalations(settled)[0]!.reason).toContain('marked v1 and v2 void');
      const next = h.deliver(3);
      expect(next.start.input).toMatchObject({ documentId: docId(2), version: 1 });
    }
  });

  it('warns when a replacement goes later than the guidance after the original', () => {
    const h = consultation();
    h.deliver(1);
    h.advance(23 * HOUR);
    h.save(2);
    h.advance(3 * HOUR);
    expect(h.step()).toEqual({ kind: 'send' });
    const { effects } = h.send();
    expect(h.c.view.versions[1]!.lateReplacement).toBe(true);
    expect(effects.map((e) => e.type)).toEqual(['startDelivery', 'searchAttributes', 'escalate']);
    const [e] = escalations(effects);
    expect(e).toMatchObject({ escalationId: `${WF}:late-replacement-${docId(1)}-v2`, documentId: docId(1) });
    expect(e!.reason).toContain('26 h after the original');
    expect(e!.reason).toContain('GPCM-SD-037');
  });

  it('no warning for a replacement inside the guidance', () => {
    const h = consultation();
    h.deliver(1);
    h.advance(20 * HOUR);
    const r = h.deliver(2);
    expect(h.c.view.versions[1]!.lateReplacement).toBe(false);
    expect(escalations(r.settled)).toEqual([]);
  });
});

describe('consultation case: what cannot be sent', () => {
  it('content the store cannot turn into a submission is dropped with an escalation; the next save is sent', () => {
    const h = consultation();
    h.save(1, 'bad-save');
    h.finalise();
    const { start, effects } = h.send('invalid');
    expect(start).toBeUndefined();
    expect(h.c.view.pending).toBeUndefined();
    expect(h.c.view.status).toBe('NOT_DELIVERED');
    expect(h.c.view.timeline.find((t) => t.kind === 'CONTENT_INVALID')).toMatchObject({ eventId: 'bad-save', detail: 'patient.nhsNumber: fails the modulus 11 check' });
    expect(effects.map((e) => e.type)).toEqual(['searchAttributes', 'escalate']);
    expect(escalations(effects)[0]!.escalationId).toBe(`${WF}:content-invalid-bad-save`);
    expect(h.deliver(2).start.input.version).toBe(1);
  });

  it('a save, deletion or registration that arrives while the content is prepared wins over the send', () => {
    for (const meanwhile of ['saved', 'deleted', 'registeredHere'] as const) {
      const h = consultation();
      h.save(1);
      h.finalise();
      const plan = h.c.planSend(() => docId(1));
      if (meanwhile === 'saved') h.save(2);
      else if (meanwhile === 'deleted') h.event({ type: 'deleted' });
      else h.event({ type: 'registeredHere', registeredHere: true } as never);
      expect(h.c.apply({ type: 'prepared', plan, result: { valid: true, submissionRef: ref(9), recipientOds: PRACTICE } }, h.now())).toEqual([]);
      expect(h.c.view.versions).toEqual([]);
    }
  });

  it('a delivery workflow that fails, or cannot start, is recorded FAILED and escalated', () => {
    const h = consultation();
    h.save(1);
    h.finalise();
    const { start } = h.send();
    h.c.apply({ type: 'deliveryFailed', index: start!.index, failure: 'ChildWorkflowFailure: TerminatedFailure' }, h.now());
    const effects = h.c.settleNext(h.now());
    expect(h.c.view.versions[0]!.outcome).toBe('FAILED');
    expect(escalations(effects)).toEqual([expect.objectContaining({ escalationId: `${WF}:delivery-failed-${docId(1)}-v1` })]);
    expect(escalations(effects)[0]!.reason).toContain('ChildWorkflowFailure: TerminatedFailure');

    h.save(2);
    h.finalise();
    const plan = h.c.planSend(() => docId(2));
    const [startEffect] = h.c.apply({ type: 'prepared', plan, result: { valid: true, submissionRef: ref(9), recipientOds: PRACTICE } }, h.now()) as StartDeliveryEffect[];
    h.c.apply({ type: 'deliveryNotStarted', index: startEffect!.index, failure: 'WorkflowExecutionAlreadyStartedError' }, h.now());
    expect(h.step()).toEqual({ kind: 'settle' });
    h.c.settleNext(h.now());
    expect(h.c.view.timeline.some((t) => t.detail.includes('not started: WorkflowExecutionAlreadyStartedError'))).toBe(true);
  });
});

describe('consultation case: registration and deletion', () => {
  it('sends nothing while the patient is registered here, and sends once that ends', () => {
    const h = consultation();
    h.event({ type: 'registeredHere', registeredHere: true } as never);
    h.save(1);
    h.finalise();
    expect(h.c.view.status).toBe('SUPPRESSED');
    expect(h.c.nextDue()).toBeUndefined();
    expect(h.c.publish(h.now())).toEqual([]);
    expect(h.step()).toMatchObject({ kind: 'wait', for: 'retirement' });
    const effects = h.event({ type: 'registeredHere', registeredHere: false } as never);
    expect(effects).toEqual([expect.objectContaining({ status: 'WAITING_TO_SEND' })]);
    expect(h.step()).toEqual({ kind: 'send' });
  });

  it('deleted before anything was reported: nothing sent, nobody told, then it ends', () => {
    const h = consultation();
    h.save(1);
    h.event({ type: 'deleted' });
    expect(h.c.view).toMatchObject({ status: 'DELETED', pending: undefined, sendDueAt: undefined });
    expect(h.step()).toEqual({ kind: 'noticeDeletion' });
    expect(h.c.noticeDeletion(h.now())).toEqual([]);
    expect(h.step()).toEqual({ kind: 'end' });
    expect(h.c.refusal({ type: 'saved', eventId: 'later', occurredAt: '' } as ConsultationEvent)).toBe('CONSULTATION_DELETED');
    expect(h.save(2)).toEqual([]);
    expect(h.c.view.timeline.at(-1)).toMatchObject({ kind: 'IGNORED' });
  });

  it('deleted after a report: one escalation naming ids and what to do, never patient data; waits for the delivery in flight', () => {
    const h = consultation();
    h.deliver(1);
    h.save(2);
    h.finalise();
    const { start } = h.send();
    h.event({ type: 'deleted' });
    expect(h.step()).toEqual({ kind: 'noticeDeletion' });
    const [e, ...more] = escalations(h.c.noticeDeletion(h.now()));
    expect(more).toEqual([]);
    expect(e).toMatchObject({ escalationId: `${WF}:deleted-after-report`, documentId: docId(1), state: 'DELETED' });
    expect(e!.reason).toContain('GPCM-SD-CS-077');
    expect(e!.reason).toContain(`${docId(1)} v1 DELIVERED`);
    expect(e!.reason).toContain(`${docId(1)} v2 in flight`);
    expect(e!.reason.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')).not.toMatch(/\d{10}/);
    expect(h.step()).toEqual({ kind: 'wait', for: 'deliveryOutcome' });
    h.finish(start!);
    expect(h.step()).toEqual({ kind: 'end' });
  });
});

describe('consultation case: continue-as-new and retirement', () => {
  it('continues as new only at a quiet point, carrying the view and the event ids', () => {
    const h = consultation();
    h.save(1);
    h.finalise();
    const { start } = h.send();
    expect(h.step(true)).toEqual({ kind: 'wait', for: 'deliveryOutcome' }); // a child's result reaches only this run
    h.finish(start!);
    h.save(2, 'kept');
    expect(h.step(true)).toEqual({ kind: 'continueAsNew' });
    const carry = h.c.continueAsNew(h.now(), 2001)!;
    expect(carry.seenEventIds).toContain('kept');

    const next = new ConsultationCase({ ...INPUT, carryOver: carry }, WF, h.now() + MINUTE);
    expect(next.view.run).toBe(2);
    expect(next.view.timeline.at(-1)).toMatchObject({ kind: 'CONTINUED', detail: 'run 2' });
    expect(next.refusal({ type: 'saved', eventId: 'kept', occurredAt: '' } as ConsultationEvent)).toBe('DUPLICATE_EVENT');
    expect(next.nextDue()).toBe(h.now() + 3 * HOUR); // the window carried over
  });

  it('gives up continuing when an outcome or deletion arrived while handlers finished', () => {
    const h = consultation();
    h.event({ type: 'deleted' });
    expect(h.c.continueAsNew(h.now(), 2001)).toBeUndefined();
  });

  it('a carried-over delivery with no outcome is marked FAILED (its result cannot reach the new run)', () => {
    const h = consultation();
    h.save(1);
    h.finalise();
    h.send();
    const resumed = new ConsultationCase({ ...INPUT, carryOver: { view: { ...h.c.view, status: 'RETIRED' }, seenEventIds: [] } }, WF, h.now());
    expect(resumed.view.versions[0]!.outcome).toBe('FAILED');
    expect(resumed.view.timeline.map((t) => t.kind).slice(-2)).toEqual(['OUTCOME', 'RESUMED']);
    expect(resumed.deliveryInFlight()).toBeUndefined();
  });

  it('retires after the idle period from the last event', () => {
    const h = consultation({ ...INPUT, settings: { ...INPUT.settings, retireAfterIdleMs: 2 * 24 * HOUR } });
    h.deliver(1);
    expect(h.step()).toEqual({ kind: 'wait', for: 'retirement', until: T0 + 2 * 24 * HOUR });
    expect(h.c.retire(h.now())).toEqual([{ type: 'searchAttributes', status: 'RETIRED', sendDueAt: null }]);
    expect(h.c.view.status).toBe('RETIRED');
  });

  it('tells a person about a case once, however often it is met', () => {
    const h = consultation();
    h.deliver(1);
    h.event({ type: 'deleted' });
    expect(escalations(h.c.noticeDeletion(h.now()))).toHaveLength(1);
    expect(escalations(h.c.noticeDeletion(h.now()))).toHaveLength(0);
    expect(h.c.view.escalations).toHaveLength(1);
  });
});
