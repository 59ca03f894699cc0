/**
 * One delivery as a pure case: the state of a GP Connect Send Document delivery and every rule that
 * changes it. `apply(event, now)` takes what happened (a send, an ITK3 Response, a MESH report, a timer,
 * an operator's action with its already-checked actor) and returns what the workflow must do about it
 * (send an attempt, tell a person, ask MESH tracking, tell the delivery this one replaces). `nextDue()`
 * says when a timer is next due, `refusal()` whether an operator action is allowed now, and `view()` what
 * a person needs to know about the case.
 *
 * No Temporal APIs, no clock, no randomness: the time is passed to each call and ids come from
 * `deps.newId`, so the same events give the same case (workflow replay relies on it) and every rule can be
 * tested in milliseconds. Status changes only through `TRANSITIONS`; ITK3 Responses through
 * `RESPONSE_RULES` (both in delivery-machine.ts).
 */
import type {
  Attempt,
  ContentRef,
  DeliveryCarryOver,
  DeliveryDeadlines,
  DeliveryResult,
  DeliveryState,
  Escalation,
  EscalationInput,
  Itk3ResponseReceived,
  MeshReportReceived,
  OperatorActionResult,
  ReplacementOutcome,
  SendDocumentInput,
  TimelineEntry,
  TrackMeshMessageResult,
  Waiting,
  WaitingFor,
} from '../contracts';
import { deliveryWorkflowId } from '../contracts/ids';
import { operatorRefusal, type OperatorRefusalReason } from '../contracts/errors';
import {
  OPERATOR_ACTION_NAMES,
  RESPONSE_RULES,
  canMove,
  deadlineKey,
  meshTrackingSaysUndeliverable,
  nextStatus,
  refusal,
  type DeliveryEvent,
  type OperatorAction,
  type RefusalOptions,
} from './delivery-machine';

/** Failure/escalation code of a deadline the workflow cannot compute (contracts/errors.ts catalogue style). */
export const DEADLINE_UNCOMPUTABLE = 'DEADLINE_UNCOMPUTABLE';
/** The largest instant, either side of 1970, that a JavaScript Date holds (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

/** Who an operator action is recorded for; `verified` is absent on histories from before actor tokens. */
export interface Actor {
  actor: string;
  verified?: boolean;
  unverifiedReason?: string;
}

export interface CaseDeps {
  /** A fresh unique id (attempt ids, escalation ids). */
  newId(): string;
  /**
   * Whether an acknowledgement contradicting an earlier one escalates. Asked only at the moment a
   * conflict is found, because the workflow answers it with a version marker that older histories lack.
   */
  ackConflictEscalates(): boolean;
}

/** What happened to the delivery. */
export type CaseEvent =
  | { type: 'START' }
  | { type: 'BUILT'; sizeBytes: number; meshWorkflowId: string }
  | { type: 'SENT'; meshMessageId: string; sentAt: string; routing?: Attempt['routing']; recipientMailbox?: string }
  | { type: 'SEND_FAILED'; failureType: string }
  | { type: 'RESPONSE'; response: Itk3ResponseReceived }
  | { type: 'MESH_REPORT'; report: MeshReportReceived }
  | { type: 'REPLACEMENT_OUTCOME'; outcome: ReplacementOutcome }
  | { type: 'TIMERS_DUE' }
  /** MESH tracking of an overdue attempt: its answer (or the failure type), and whether a response to it is already queued. */
  | { type: 'TRACKED'; attempt: number; result?: TrackMeshMessageResult; failureType?: string; answered: boolean }
  | { type: 'ORIGINAL_UNREACHABLE'; status: string }
  | { type: 'CONTINUING'; historyLength: number }
  | { type: 'ACTOR_UNVERIFIED'; update: OperatorAction; claimedActor: string; reason: string }
  /** A corrected or replacement submission failed its content check: recorded, nothing else changes. */
  | { type: 'SUBMISSION_REFUSED'; action: 'correct' | 'replace'; who: Actor; reason: string; issues: ReadonlyArray<{ path?: string; message: string }> }
  | OperatorEvent;

export type OperatorEvent =
  | { type: 'OPERATOR'; action: 'resend'; who: Actor; reason: string; override?: boolean }
  | { type: 'OPERATOR'; action: 'correct'; who: Actor; reason: string; override?: boolean; submissionRef: ContentRef; recipientOds?: string; senderOds?: string }
  | { type: 'OPERATOR'; action: 'replace'; who: Actor; reason: string; workflowId: string; version: number }
  | { type: 'OPERATOR'; action: 'abandon'; who: Actor; reason: string }
  | { type: 'OPERATOR'; action: 'acknowledgeEscalation'; who: Actor; note: string }
  | { type: 'OPERATOR'; action: 'changeDeadlines'; who: Actor; reason: string; deadlines: Partial<DeliveryDeadlines> };

/** What the workflow must do. */
export type Effect =
  /** `messageRef`: the attempt came built (the API's build of the first attempt): send it as it is. */
  | { kind: 'SEND'; attempt: number; submissionRef: ContentRef; messageHeaderId: string; bundleIdentifier: string; messageRef?: ContentRef }
  /** Raise, remind or resolve an escalation (one notification). */
  | { kind: 'NOTIFY'; escalation: EscalationInput }
  | { kind: 'TRACK'; attempt: number; meshMessageId: string }
  /** Tell the delivery this one replaces how the replacement ended (20014 voids both). */
  | { kind: 'REPORT_TO_ORIGINAL'; workflowId: string; outcome: ReplacementOutcome };

/** What the search attributes should say (no patient data: states, ids and ODS codes only). */
export interface CaseAttributes {
  status: string;
  waitingFor: string;
  escalated: boolean;
  attempts: number;
  itk3: string;
  itk3All: string[];
  meshId: string;
  meshAll: string[];
  recipientOds: string;
  senderOds: string;
  until: string | null;
}

/** What a person needs to know about the case now. */
export interface CaseView extends Waiting {
  /** Operator actions the case accepts now as asked. */
  allowed: OperatorAction[];
  /** Actions refused now only because they go to a route that gave a business rejection: allowed with the override. */
  allowedWithOverride: OperatorAction[];
  /** When the case next acts on its own (deadline, window or reminder), if ever. */
  nextDueAt?: string;
}

/** An instant as ISO text, or undefined when a Date cannot hold it (NaN, or beyond ±8.64e15 ms). */
const isoOrUndefined = (ms: number): string | undefined => (Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : undefined);
/** A stored instant as milliseconds; NaN when unreadable (callers skip it). */
const msOf = (text: string | undefined): number => (text === undefined ? NaN : Date.parse(text));
const isAckWait = (s: string): s is 'AWAITING_INFRASTRUCTURE_ACK' | 'AWAITING_BUSINESS_ACK' => s === 'AWAITING_INFRASTRUCTURE_ACK' || s === 'AWAITING_BUSINESS_ACK';

type Due = 'ACK_DEADLINE' | 'WINDOW' | 'REMINDER';

export class DeliveryCase {
  readonly state: DeliveryState;
  private readonly seenResponses: Set<string>;
  private readonly seenReports: Set<string>;
  private readonly continued: boolean;
  /** The first attempt's ids when whoever started the delivery chose them (the API does). */
  private readonly firstAttempt: SendDocumentInput['firstAttempt'];
  private endedBy: DeliveryEvent | undefined;
  private at = 0;
  private effects: Effect[] = [];

  constructor(
    input: SendDocumentInput,
    workflowId: string,
    private readonly deps: CaseDeps,
  ) {
    const carried = input.carryOver;
    this.continued = carried !== undefined;
    this.state = carried
      ? { ...carried.state, run: carried.state.run + 1 }
      : {
          workflowId,
          documentId: input.documentId,
          version: input.version,
          senderOds: input.senderOds,
          recipientOds: input.recipientOds,
          status: 'SENDING',
          escalated: false,
          waitingFor: 'MESH_SEND',
          currentAttempt: 0,
          submissionRef: input.submissionRef,
          deadlines: input.deadlines,
          attempts: [],
          escalations: [],
          rejectedRoutes: [],
          ...(input.replaces ? { replaces: input.replaces } : {}),
          run: 1,
          timeline: [],
        };
    this.seenResponses = new Set(carried?.seenResponseIds ?? []);
    this.seenReports = new Set(carried?.seenReportIds ?? []);
    this.firstAttempt = input.firstAttempt;
  }

  /** True once the case has reached its end: the workflow finishes what is queued and returns `result()`. */
  get ended(): boolean {
    return this.endedBy !== undefined;
  }

  apply(event: CaseEvent, now: number): Effect[] {
    this.at = now;
    this.effects = [];
    this.dispatch(event);
    // ABANDONED and VOIDED have nothing left to wait for: they end as soon as they are reached.
    if (!this.ended && (this.state.status === 'ABANDONED' || this.state.status === 'VOIDED')) this.move('END', this.state.status.toLowerCase());
    return this.effects;
  }

  private dispatch(e: CaseEvent): void {
    switch (e.type) {
      case 'START':
        return this.start();
      case 'BUILT':
        this.current()!.sizeBytes = e.sizeBytes;
        return this.record('BUILT', `ITK3 message of ${e.sizeBytes} bytes on ${e.meshWorkflowId}`, { attempt: this.state.currentAttempt });
      case 'SENT':
        return this.sent(e);
      case 'SEND_FAILED':
        return this.sendFailed(e.failureType);
      case 'RESPONSE':
        return this.onResponse(e.response);
      case 'MESH_REPORT':
        return this.onReport(e.report);
      case 'REPLACEMENT_OUTCOME':
        return this.onReplacementOutcome(e.outcome);
      case 'TIMERS_DUE':
        return this.timersDue();
      case 'TRACKED':
        return this.tracked(e);
      case 'ORIGINAL_UNREACHABLE':
        return this.record('REPLACEMENT', `could not tell ${this.state.replaces?.workflowId ?? 'the original'} that this replacement is ${e.status} (it has probably ended)`);
      case 'CONTINUING':
        return this.record('CONTINUED', `continuing as new after ${e.historyLength} history events`);
      case 'ACTOR_UNVERIFIED':
        (this.state.unverifiedActions ??= []).push({ at: this.iso(), update: e.update, claimedActor: e.claimedActor, reason: e.reason });
        return;
      case 'SUBMISSION_REFUSED': {
        const what = e.action === 'correct' ? 'correction' : 'replacement';
        const issues = e.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ');
        return this.record('OPERATOR', `${unverifiedPrefix(e.who)}${what} refused: ${issues}`, { ...actorFields(e.who), reason: e.reason });
      }
      case 'OPERATOR':
        return this.operator(e);
    }
  }

  // ---- queries ------------------------------------------------------------------------------------
  /** Why an operator action is not allowed now, or undefined when it is. */
  refusal(action: OperatorAction, opts?: RefusalOptions): OperatorRefusalReason | undefined {
    return this.ended ? operatorRefusal('DELIVERY_ENDED', { status: this.state.status }) : refusal(action, this.state, opts);
  }

  /** The next instant something is due, or undefined when only an event can move the case on. */
  nextDue(): number | undefined {
    // An unreadable instant (NaN) would make a timer of NaN; TIMERS_DUE escalates it instead.
    const readable = this.due()
      .map((d) => d.at)
      .filter(Number.isFinite);
    return readable.length ? Math.min(...readable) : undefined;
  }

  waiting(): Waiting {
    const s = this.state;
    const open = this.openEscalation();
    return { status: s.status, waitingFor: s.waitingFor, ...(s.waitingUntil ? { waitingUntil: s.waitingUntil } : {}), escalated: s.escalated, ...(open ? { escalation: open } : {}) };
  }

  view(): CaseView {
    const allowed = OPERATOR_ACTION_NAMES.filter((a) => !this.refusal(a));
    const allowedWithOverride = OPERATOR_ACTION_NAMES.filter((a) => !allowed.includes(a) && (a === 'resend' || a === 'correct') && !this.refusal(a, { override: true }));
    const next = this.nextDue();
    const nextDueAt = next === undefined ? undefined : isoOrUndefined(next);
    return { ...this.waiting(), allowed, allowedWithOverride, ...(nextDueAt ? { nextDueAt } : {}) };
  }

  searchAttributes(): CaseAttributes {
    const s = this.state;
    const attempt = this.current();
    return {
      status: s.status,
      waitingFor: s.waitingFor,
      escalated: s.escalated,
      attempts: s.attempts.length,
      itk3: attempt?.messageHeaderId ?? '',
      // Every attempt's ids: the inbound router finds the delivery by any of them (older attempts too).
      itk3All: s.attempts.map((a) => a.messageHeaderId),
      meshId: attempt?.meshMessageId ?? '',
      meshAll: s.attempts.flatMap((a) => (a.meshMessageId ? [a.meshMessageId] : [])),
      recipientOds: s.recipientOds,
      senderOds: s.senderOds,
      until: s.waitingUntil ?? null,
    };
  }

  /** The replacement a `replace` would start: version + 1 under its own workflow id, addressed as its checked submission says. */
  replacementPlan(check: { recipientOds?: string; senderOds?: string }): { workflowId: string; version: number; recipientOds: string; senderOds: string } {
    const version = this.state.version + 1;
    return {
      workflowId: deliveryWorkflowId(this.state.documentId, version),
      version,
      recipientOds: check.recipientOds ?? this.state.recipientOds,
      senderOds: check.senderOds ?? this.state.senderOds,
    };
  }

  answer(action: OperatorAction, now: number, who: Actor): OperatorActionResult {
    const s = this.state;
    const replaced = action === 'replace' && s.replacement ? { replacementWorkflowId: s.replacement.workflowId, replacementVersion: s.replacement.version } : {};
    return {
      action,
      at: new Date(now).toISOString(),
      status: s.status,
      waitingFor: s.waitingFor,
      ...(s.waitingUntil ? { waitingUntil: s.waitingUntil } : {}),
      attempt: s.currentAttempt,
      ...replaced,
      ...(who.verified === undefined ? {} : { actor: who.actor, actorVerified: who.verified }),
    };
  }

  result(): DeliveryResult {
    const s = this.state;
    return {
      status: s.status,
      attempts: s.attempts.length,
      ...(s.outcomeCode ? { finalCode: s.outcomeCode } : {}),
      ...(s.replacement ? { replacedBy: s.replacement.workflowId } : {}),
    };
  }

  carryOver(): DeliveryCarryOver {
    return { state: this.state, seenResponseIds: [...this.seenResponses], seenReportIds: [...this.seenReports] };
  }

  // ---- small helpers --------------------------------------------------------------------------------
  private iso(): string {
    return new Date(this.at).toISOString();
  }
  private current(): Attempt | undefined {
    return this.state.attempts[this.state.currentAttempt - 1];
  }
  private openEscalation(): Escalation | undefined {
    return this.state.escalations.find((e) => !e.resolvedAt);
  }

  private record(kind: TimelineEntry['kind'], detail: string, extra: Partial<Omit<TimelineEntry, 'at' | 'kind' | 'detail'>> = {}): void {
    const entry: TimelineEntry = { at: this.iso(), kind, detail };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) (entry as Record<string, unknown>)[k] = v;
    this.state.timeline.push(entry);
  }

  private wait(waitingFor: WaitingFor, untilMs?: number): void {
    this.state.waitingFor = waitingFor;
    const until = untilMs === undefined ? undefined : isoOrUndefined(untilMs);
    if (until !== undefined) this.state.waitingUntil = until;
    else delete this.state.waitingUntil;
    if (untilMs !== undefined && until === undefined) this.deadlineUncomputable(waitingFor);
  }

  /**
   * A deadline that cannot be computed (out of Date's range, or from an unreadable time) never fires: a
   * person is told, and the delivery keeps answering queries and operator updates (change the deadlines,
   * resend, correct, abandon) instead of failing its workflow tasks.
   */
  private deadlineUncomputable(waitingFor: WaitingFor): void {
    const s = this.state;
    const deadlines = Object.entries(s.deadlines)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
    this.escalate(
      `${DEADLINE_UNCOMPUTABLE}:${s.currentAttempt}:${s.status}:${waitingFor}`,
      `the deadline while waiting for ${waitingFor} in ${s.status} cannot be computed (deadlines ${deadlines}); nothing will happen on its own: change the deadlines (the delivery then waits as usual) or abandon it`,
      DEADLINE_UNCOMPUTABLE,
    );
  }

  /** The one way to change status: through the transition table. Resolves an escalation the move leaves behind. */
  private move(event: DeliveryEvent, why: string): void {
    const from = this.state.status;
    const to = nextStatus(from, event);
    // A move the table does not know is a bug: fail the workflow task (retried after a fix), never guess.
    if (to === undefined) throw new Error(`no transition from ${from} on ${event}`);
    if (to === '[*]') {
      this.endedBy = event;
      this.wait('NOTHING');
      this.record('STATE', `${from} ends (${event}): ${why}`);
      return;
    }
    this.state.status = to;
    const open = this.openEscalation();
    if (open && open.status !== to) this.resolve(open, why);
    // A self-loop (deadline passed, replacement started) is told by its own DEADLINE/OPERATOR entry.
    if (from !== to) this.record('STATE', `${from} -> ${to} (${event}): ${why}`);
    if ((to === 'DELIVERED' || to === 'ABANDONED' || to === 'VOIDED') && this.state.replaces) this.reportToOriginal(to);
  }

  // ---- escalations: one per case and state, reminders until acknowledged -------------------------------
  private notify(e: Escalation, kind: EscalationInput['kind'], reason: string): void {
    const s = this.state;
    this.effects.push({
      kind: 'NOTIFY',
      escalation: { workflowId: s.workflowId, documentId: s.documentId, state: e.status, reason, ...(e.code ? { code: e.code } : {}), attempt: e.attempt, kind, escalationId: e.id },
    });
  }

  private escalate(key: string, reason: string, code?: string): void {
    const s = this.state;
    if (s.escalations.some((e) => e.key === key)) return; // never twice for the same case and state
    const open = this.openEscalation();
    if (open) this.resolve(open, `superseded: ${reason}`);
    const e: Escalation = { id: this.deps.newId(), key, status: s.status, reason, ...(code ? { code } : {}), attempt: s.currentAttempt, raisedAt: this.iso(), reminders: 0 };
    const next = isoOrUndefined(this.at + s.deadlines.reminderIntervalMs);
    if (next !== undefined) e.nextReminderAt = next;
    // Without a computable reminder time the escalation still goes out, once; the reason says so.
    const told = next === undefined ? `${reason} (no reminders: the reminder interval ${String(s.deadlines.reminderIntervalMs)} ms cannot be computed)` : reason;
    e.reason = told;
    s.escalations.push(e);
    s.escalated = true;
    this.record('ESCALATION', told, { attempt: e.attempt, code, escalationId: e.id });
    this.notify(e, 'RAISED', told);
  }

  private resolve(e: Escalation, resolution: string): void {
    e.resolvedAt = this.iso();
    e.resolution = resolution;
    delete e.nextReminderAt;
    this.state.escalated = this.state.escalations.some((x) => !x.resolvedAt);
    this.record('RESOLVED', resolution, { attempt: e.attempt, code: e.code, escalationId: e.id });
    this.notify(e, 'RESOLVED', resolution);
  }

  private remind(e: Escalation): void {
    e.reminders += 1;
    const next = isoOrUndefined(this.at + this.state.deadlines.reminderIntervalMs);
    if (next !== undefined) e.nextReminderAt = next;
    else delete e.nextReminderAt;
    const reason = `reminder ${e.reminders}: ${e.reason}`;
    this.record('REMINDER', reason, { attempt: e.attempt, code: e.code, escalationId: e.id });
    this.notify(e, 'REMINDER', reason);
  }

  private reportToOriginal(status: 'DELIVERED' | 'ABANDONED' | 'VOIDED' | 'REJECTED'): void {
    const { workflowId, version, outcomeCode: code, replaces } = this.state;
    this.effects.push({ kind: 'REPORT_TO_ORIGINAL', workflowId: replaces!.workflowId, outcome: { workflowId, version, status, ...(code ? { code } : {}), at: this.iso() } });
  }

  // ---- attempts ---------------------------------------------------------------------------------------
  private start(): void {
    const s = this.state;
    if (this.continued) return this.record('CONTINUED', `run ${s.run} of this delivery (history kept small by continue-as-new; state carried over)`);
    this.record('SUBMITTED', `document version ${s.version}${s.replaces ? `, replacing version ${s.replaces.version}` : ''}`);
    this.newAttempt('INITIAL', undefined, this.firstAttempt);
  }

  /** A new ITK3 message: fresh Bundle identifier and MessageHeader id; the SenderReference stays. */
  private newAttempt(reason: NonNullable<Attempt['reason']>, requestedBy?: string, ids?: { messageHeaderId: string; bundleIdentifier: string; messageRef?: ContentRef }): Attempt {
    const s = this.state;
    const attempt: Attempt = {
      attempt: s.attempts.length + 1,
      messageHeaderId: ids?.messageHeaderId ?? this.deps.newId(),
      bundleIdentifier: ids?.bundleIdentifier ?? this.deps.newId(),
      reason,
      ...(requestedBy ? { requestedBy } : {}),
      submissionRef: s.submissionRef,
      recipientOds: s.recipientOds,
    };
    s.attempts.push(attempt);
    s.currentAttempt = attempt.attempt;
    this.wait('MESH_SEND');
    this.effects.push({
      kind: 'SEND',
      attempt: attempt.attempt,
      submissionRef: s.submissionRef,
      messageHeaderId: attempt.messageHeaderId,
      bundleIdentifier: attempt.bundleIdentifier,
      ...(ids?.messageRef ? { messageRef: ids.messageRef } : {}),
    });
    return attempt;
  }

  private sent(e: Extract<CaseEvent, { type: 'SENT' }>): void {
    const attempt = this.current()!;
    attempt.meshMessageId = e.meshMessageId;
    attempt.sentAt = e.sentAt;
    // Who may answer this attempt: responses are checked against it.
    if (e.routing) attempt.routing = e.routing;
    if (e.recipientMailbox) attempt.recipientMailbox = e.recipientMailbox;
    this.record('SENT', `MESH message ${e.meshMessageId}`, { attempt: attempt.attempt });
    this.move('SENT', `attempt ${attempt.attempt} sent`);
    // Acknowledgement deadlines are measured from the MESH send time.
    this.wait('INFRASTRUCTURE_ACK', Date.parse(e.sentAt) + this.state.deadlines.infrastructureAckMs);
  }

  private sendFailed(type: string): void {
    const n = this.state.currentAttempt;
    // Retryable failures are retried by the activity policy; what arrives here is final.
    this.move('SEND_FAILED', `attempt ${n} could not be built or sent (${type})`);
    this.wait('OPERATOR');
    this.escalate(
      `SEND_FAILED:${n}`,
      `attempt ${n} could not be built or sent (${type}); correct the submission, or resend once the cause is fixed` +
        (type === 'MESH_SEND_OUTCOME_UNKNOWN' ? ' (check MESH tracking first: the message may have been sent)' : ''),
      type,
    );
  }

  // ---- ITK3 Responses --------------------------------------------------------------------------------
  private ackDeadlineOpen(attempt: Attempt): Escalation | undefined {
    const keys = [deadlineKey('AWAITING_INFRASTRUCTURE_ACK', attempt.attempt), deadlineKey('AWAITING_BUSINESS_ACK', attempt.attempt)];
    return this.state.escalations.find((e) => !e.resolvedAt && keys.includes(e.key));
  }

  /**
   * Does the response come from the practice this attempt went to? Checked here although the inbound
   * router already did (defence in depth: a signal can reach the workflow by other routes). Only for
   * attempts sent since sends report their routing; older attempts keep the rule they were sent under.
   */
  private senderProblem(attempt: Attempt, r: Itk3ResponseReceived): string | undefined {
    if (!attempt.routing) return undefined;
    const upper = (v: string | undefined): string | undefined => v?.trim().toUpperCase() || undefined;
    // GPPROVIDER: MESH chose the mailbox; the router learned it from MESH tracking once, and it is kept here.
    if (!attempt.recipientMailbox && attempt.routing === 'gpprovider' && r.recipientMailbox) attempt.recipientMailbox = upper(r.recipientMailbox);
    const expectedOds = upper(attempt.recipientOds ?? this.state.recipientOds);
    if (!attempt.recipientMailbox) return 'the mailbox this attempt was delivered to is not known';
    if (upper(r.senderMailbox) !== attempt.recipientMailbox) return `sender mailbox ${r.senderMailbox ?? '(none)'} is not ${attempt.recipientMailbox}, the mailbox attempt ${attempt.attempt} was delivered to`;
    if (upper(r.senderOds) !== expectedOds) return `sender ODS ${r.senderOds ?? '(none)'} is not ${expectedOds ?? '(unknown)'}, the recipient of attempt ${attempt.attempt}`;
    return undefined;
  }

  private onResponse(r: Itk3ResponseReceived): void {
    const s = this.state;
    // Idempotent: a MESH redelivery of the same response (crash before the MESH ack) changes nothing.
    if (this.seenResponses.has(r.responseId)) return;
    this.seenResponses.add(r.responseId);
    const attempt = s.attempts.find((a) => a.messageHeaderId === r.respondsTo);
    const what = `${r.level} ${r.polarity} ${r.code} ${r.display}${sentBy(r)}`;
    const from = { code: r.code, senderMailbox: r.senderMailbox, senderOds: r.senderOds };
    if (r.quarantineId && r.reroutedBy) {
      // An operator's decision: who, why and from which quarantine entry, before what it does.
      this.record('OPERATOR', `quarantined response ${r.code}${sentBy(r)} rerouted here from ${r.quarantineId}`, {
        attempt: attempt?.attempt,
        actor: r.reroutedBy,
        reason: r.rerouteReason,
        quarantineId: r.quarantineId,
        ...from,
      });
    }
    if (!attempt) return this.record('RESPONSE', `${what}: answers no attempt of this delivery (${r.respondsTo}); recorded only`, from);
    const n = attempt.attempt;
    const problem = this.senderProblem(attempt, r);
    // Only a reroute out of the quarantine (which names its entry and the operator) may override the check.
    const byOperator = r.correlatedBy === 'OPERATOR' && !!r.quarantineId && !!r.reroutedBy;
    if (problem && !byOperator) {
      // Never changes status: only the practice the attempt went to can acknowledge it.
      return this.record('RESPONSE', `${what}: not from the practice attempt ${n} went to (${problem}); recorded only`, { attempt: n, ...from });
    }
    if (problem) this.record('OPERATOR', `applied by operator decision although ${problem}`, { attempt: n, actor: r.reroutedBy, reason: r.rerouteReason, quarantineId: r.quarantineId, ...from });
    const slot = r.level === 'infrastructure' ? 'infrastructureAck' : 'businessAck';
    const earlier = attempt[slot];
    if (earlier) {
      // Opposite polarities contradict each other whichever came first: responses are routed in parallel,
      // so a 30002 sent after a 30001 can be applied before it.
      if (earlier.polarity !== r.polarity && this.deps.ackConflictEscalates()) return this.onConflict(attempt, earlier, r);
      // An identical repeat (same code, new response id) and a second positive stay quiet duplicates.
      return this.record('RESPONSE', `${what}: a second ${r.level} acknowledgement for this attempt; recorded only`, { attempt: n, ...from });
    }
    attempt[slot] = r;
    if (n !== s.currentAttempt) return this.record('RESPONSE', `${what}: for attempt ${n}, not the current attempt ${s.currentAttempt}; recorded only`, { attempt: n, ...from });
    const rule = RESPONSE_RULES[r.action];
    if (!canMove(s.status, rule.event)) return this.record('RESPONSE', `${what}: no change in ${s.status}`, { attempt: n, ...from });
    const late = this.ackDeadlineOpen(attempt) !== undefined;
    if (late) attempt.lateAck = true;
    this.record('RESPONSE', `${what}${late ? ' (late: after the deadline was escalated)' : ''}`, { attempt: n, ...from });

    const c = { response: r, attempt, state: s, late };
    if (rule.impliesTechnicalSuccess && !attempt.infrastructureAck) {
      attempt.infrastructureSuccessImplied = true;
      if (rule.impliesTechnicalSuccess === 'noted') this.record('STATE', 'business acknowledgement before the infrastructure acknowledgement: technical success implied', { attempt: n });
    }
    if (rule.decidesOutcome) s.outcomeCode = r.code;
    if (rule.rejectsRoute) this.rejectRoute(attempt);
    this.move(rule.event, rule.why(c));
    const base = rule.until && (rule.until.from === 'SEND' ? Date.parse(attempt.sentAt!) : this.at);
    this.wait(rule.waitFor, rule.until ? base! + s.deadlines[rule.until.deadline] : undefined);
    if (rule.escalation) this.escalate(`${rule.escalation.key}:${n}`, rule.escalation.reason(c), r.code);
  }

  private rejectRoute(attempt: Attempt): void {
    const route = attempt.recipientOds ?? this.state.recipientOds;
    if (!this.state.rejectedRoutes.includes(route)) this.state.rejectedRoutes.push(route);
  }

  /**
   * An acknowledgement that contradicts an earlier one of the same level for the same attempt (30002 after
   * 30001, 20009 after 20013, or the same pairs reordered in transit): the practice has said two opposite
   * things, and a person must find out which holds (GPCM-SD-094). The delivery stops counting as delivered,
   * rejected or on its way (ACK_CONFLICT: AWAITING_OPERATOR, which has no window that could close it unseen),
   * and an escalation naming both codes goes out with reminders until acknowledged. The earlier
   * acknowledgement stays on the attempt; the contradicting one is in the timeline and the outcome code.
   */
  private onConflict(attempt: Attempt, earlier: Itk3ResponseReceived, r: Itk3ResponseReceived): void {
    const s = this.state;
    const n = attempt.attempt;
    const moves = n === s.currentAttempt && canMove(s.status, 'ACK_CONFLICT');
    this.record('RESPONSE', `${r.level} ${r.polarity} ${r.code} ${r.display}${sentBy(r)}: contradicts the earlier ${r.level} ${earlier.polarity} acknowledgement ${earlier.code} for attempt ${n}`, {
      attempt: n,
      code: r.code,
      senderMailbox: r.senderMailbox,
      senderOds: r.senderOds,
    });
    if (moves) {
      s.outcomeCode = r.code;
      // One of the two is a business rejection of this route: a resend there needs the override, as after any.
      if (r.level === 'business') this.rejectRoute(attempt);
      this.move('ACK_CONFLICT', `${r.code} contradicts ${earlier.code} for attempt ${n}`);
      this.wait('OPERATOR');
    }
    this.escalate(
      `ACK_CONFLICT:${n}:${r.level}`,
      `conflicting ${r.level} acknowledgements for attempt ${n}: ${earlier.code} (${earlier.display}) and then ${r.code} (${r.display}) from the practice; ` +
        `find out from the practice which holds (GPCM-SD-094, 1.3.1), then resend, correct or abandon` +
        (moves ? '' : ` (attempt ${n} is not the current attempt or the delivery is ${s.status}: status unchanged)`),
      r.code,
    );
  }

  // ---- MESH reports and tracking ----------------------------------------------------------------------
  private onReport(report: MeshReportReceived): void {
    const s = this.state;
    if (this.seenReports.has(report.reportMessageId)) return;
    this.seenReports.add(report.reportMessageId);
    const attempt = s.attempts.find((a) => a.meshMessageId === report.meshMessageId);
    const code = report.statusCode;
    const what = `MESH ${report.kind}${code ? ` ${code}` : ''}${report.statusDescription ? ` ${report.statusDescription}` : ''}`;
    if (report.quarantineId && report.reroutedBy) {
      this.record('OPERATOR', `quarantined MESH report${code ? ` ${code}` : ''} rerouted here from ${report.quarantineId}`, {
        attempt: attempt?.attempt,
        code,
        actor: report.reroutedBy,
        reason: report.rerouteReason,
        quarantineId: report.quarantineId,
      });
    }
    if (attempt) {
      attempt.meshReports = [...(attempt.meshReports ?? []), { kind: report.kind, ...(code ? { statusCode: code } : {}), reportMessageId: report.reportMessageId, receivedAt: report.receivedAt }];
    }
    const applies = report.kind !== 'OTHER' && attempt !== undefined && attempt.attempt === s.currentAttempt && canMove(s.status, 'MESH_UNDELIVERABLE');
    this.record('MESH_REPORT', applies ? what : `${what}: recorded only${attempt ? '' : ' (no attempt of this delivery)'}`, { attempt: attempt?.attempt, code });
    if (!applies) return;
    this.undeliverable(
      what,
      `MESH_${report.kind}:${attempt.attempt}`,
      report.kind === 'NON_DELIVERY'
        ? `MESH could not deliver attempt ${attempt.attempt}${code ? ` (${code})` : ''}: the message expired undelivered`
        : `MESH routing failed for attempt ${attempt.attempt}${code ? ` (${code})` : ''}: check the patient's registered practice and demographics (GPCM-SD-075, 1.3.1)`,
      code ?? report.kind,
    );
  }

  private undeliverable(why: string, key: string, reason: string, code: string): void {
    this.state.outcomeCode = code;
    this.move('MESH_UNDELIVERABLE', why);
    this.wait('OPERATOR');
    this.escalate(key, reason, code);
  }

  /**
   * MESH outbox tracking of an attempt whose infrastructure ack is overdue. Undeliverable, expired or
   * error: escalated with MESH's code, as for a MESH REPORT. Anything else, or no answer: keep waiting.
   */
  private tracked(e: Extract<CaseEvent, { type: 'TRACKED' }>): void {
    const n = e.attempt;
    const t = e.result;
    if (!t) return this.record('MESH_TRACKING', `MESH tracking of attempt ${n} gave no answer (${e.failureType ?? 'UNKNOWN'}); still waiting`, { attempt: n });
    const what = `MESH tracking: attempt ${n} is ${t.status}${t.statusCode ? ` (${t.statusCode})` : ''}${t.statusDescription ? `: ${t.statusDescription}` : ''}`;
    // A response to this attempt that arrived while MESH was asked wins: the message got there after all.
    const applies = meshTrackingSaysUndeliverable(t.status) && !e.answered && n === this.state.currentAttempt && canMove(this.state.status, 'MESH_UNDELIVERABLE');
    this.record('MESH_TRACKING', applies ? what : `${what}; still waiting`, { attempt: n, code: t.statusCode });
    if (!applies) return;
    const code = t.statusCode ?? t.status.toUpperCase();
    this.undeliverable(what, `MESH_TRACKING:${n}`, `MESH could not deliver attempt ${n} (${code}): outbox tracking says ${t.status}; check the recipient's mailbox and routing, then resend, correct or abandon`, code);
  }

  // ---- the replacement ----------------------------------------------------------------------------------
  private onReplacementOutcome(o: ReplacementOutcome): void {
    const s = this.state;
    const expected = deliveryWorkflowId(s.documentId, s.version + 1);
    if (o.workflowId !== expected || (s.replacement && s.replacement.workflowId !== o.workflowId)) {
      return this.record('REPLACEMENT', `outcome ${o.status} from ${o.workflowId}, which is not this document's replacement; recorded only`);
    }
    s.replacement = s.replacement ?? { workflowId: o.workflowId, version: o.version, requestedBy: 'submission', requestedAt: o.at };
    s.replacement.status = o.status;
    this.record('REPLACEMENT', `replacement version ${o.version} is ${o.status}${o.code ? ` (${o.code})` : ''}`, { code: o.code });
    if (s.status !== 'DELIVERED') return;
    if (o.status === 'VOIDED') {
      s.outcomeCode = o.code ?? s.outcomeCode;
      this.move('REPLACEMENT_VOIDED', `the replacement was voided by the receiver${o.code ? ` (${o.code})` : ''}, so this version is void too (GPCM-SD-128, 1.3.1)`);
      this.wait('NOTHING');
    } else if (o.status === 'DELIVERED' || o.status === 'ABANDONED' || o.status === 'REJECTED') {
      this.move('REPLACEMENT_SETTLED', `replacement version ${o.version} ${o.status.toLowerCase()}`);
    }
  }

  // ---- timers ---------------------------------------------------------------------------------------
  /**
   * Everything that can come due, and when (NaN for an unreadable stored instant). `nextDue` and
   * `timersDue` both read it, so the conditions of a timer are written once.
   */
  private due(): Array<{ what: Due; at: number }> {
    const s = this.state;
    const out: Array<{ what: Due; at: number }> = [];
    const attempt = this.current();
    const until = msOf(s.waitingUntil);
    const status = s.status;
    if (isAckWait(status) && attempt?.sentAt && s.waitingUntil) {
      const key = deadlineKey(status, attempt.attempt);
      if (!s.escalations.some((e) => e.key === key)) out.push({ what: 'ACK_DEADLINE', at: until });
    }
    if ((s.waitingFor === 'REPLACEMENT_WINDOW' || (s.status === 'REJECTED' && s.waitingFor === 'OPERATOR')) && s.waitingUntil) out.push({ what: 'WINDOW', at: until });
    const open = this.openEscalation();
    if (open && !open.acknowledged && open.nextReminderAt) out.push({ what: 'REMINDER', at: msOf(open.nextReminderAt) });
    return out;
  }

  private isDue(what: Due): boolean {
    const d = this.due().find((x) => x.what === what);
    return d !== undefined && d.at <= this.at;
  }

  private timersDue(): void {
    if (this.ended) return;
    const s = this.state;
    // A stored deadline that no longer reads as a date (state carried over from older input) never fires.
    if (s.waitingUntil !== undefined && !Number.isFinite(msOf(s.waitingUntil))) {
      delete s.waitingUntil;
      this.deadlineUncomputable(s.waitingFor);
    }
    // Likewise a reminder time that does not read as a date: dropped (the escalation itself stands).
    const pending = this.openEscalation();
    if (pending?.nextReminderAt !== undefined && !Number.isFinite(msOf(pending.nextReminderAt))) delete pending.nextReminderAt;

    // In this order: a deadline's escalation supersedes the open one before any reminder of it is due.
    if (this.isDue('ACK_DEADLINE')) {
      const status = s.status as 'AWAITING_INFRASTRUCTURE_ACK' | 'AWAITING_BUSINESS_ACK';
      const attempt = this.current()!;
      const which = status === 'AWAITING_INFRASTRUCTURE_ACK' ? 'infrastructure' : 'business';
      const reason = `no ${which} acknowledgement for attempt ${attempt.attempt} by ${s.waitingUntil} (GPCM-SD-095, 1.3.1); still waiting`;
      this.record('DEADLINE', reason, { attempt: attempt.attempt });
      this.move('ACK_DEADLINE', reason);
      this.escalate(deadlineKey(status, attempt.attempt), reason);
      // Besides escalating: has MESH itself given up on the message? (asked after the escalation goes out)
      if (status === 'AWAITING_INFRASTRUCTURE_ACK' && attempt.meshMessageId) this.effects.push({ kind: 'TRACK', attempt: attempt.attempt, meshMessageId: attempt.meshMessageId });
    }
    if (this.isDue('WINDOW')) {
      if (s.waitingFor === 'REPLACEMENT_WINDOW') this.move('WINDOW_ENDED', 'the replacement window is over');
      else {
        this.move('WINDOW_ENDED', 'no operator decision within the decision window');
        if (s.replaces) this.reportToOriginal('REJECTED');
      }
    }
    if (this.ended) return; // no reminder at the moment the case closes
    if (this.isDue('REMINDER')) this.remind(this.openEscalation()!);
  }

  // ---- operator actions (already allowed by `refusal` and with a checked actor) ----------------------------
  private operator(e: OperatorEvent): void {
    const s = this.state;
    const who = e.who;
    const fields = actorFields(who);
    const prefix = unverifiedPrefix(who);
    switch (e.action) {
      case 'resend': {
        const attempt = this.newAttempt('RESEND', who.actor);
        this.record('OPERATOR', `${prefix}resend as attempt ${attempt.attempt}${e.override ? ' (business rejection overridden)' : ''}`, { attempt: attempt.attempt, ...fields, reason: e.reason });
        return this.move('RESEND', `resend by ${who.actor}`);
      }
      case 'correct': {
        s.submissionRef = e.submissionRef;
        s.recipientOds = e.recipientOds ?? s.recipientOds;
        if (e.senderOds) s.senderOds = e.senderOds;
        const attempt = this.newAttempt('CORRECTION', who.actor);
        this.record('OPERATOR', `${prefix}correction sent as attempt ${attempt.attempt}${e.override ? ' (business rejection overridden)' : ''}`, { attempt: attempt.attempt, ...fields, reason: e.reason });
        return this.move('CORRECT', `correction by ${who.actor}`);
      }
      case 'replace':
        s.replacement = { workflowId: e.workflowId, version: e.version, requestedBy: who.actor, requestedAt: this.iso() };
        this.record('OPERATOR', `${prefix}replacement version ${e.version} started as ${e.workflowId}`, { ...fields, reason: e.reason });
        this.move('REPLACE', `replacement by ${who.actor}`);
        return this.wait('REPLACEMENT_OUTCOME');
      case 'abandon':
        this.record('OPERATOR', `${prefix}abandoned`, { attempt: s.currentAttempt || undefined, ...fields, reason: e.reason });
        this.move('ABANDON', `abandoned by ${who.actor}: ${e.reason}`);
        return this.wait('NOTHING');
      case 'acknowledgeEscalation': {
        const open = this.openEscalation()!;
        open.acknowledged = { actor: who.actor, note: e.note, at: this.iso() };
        delete open.nextReminderAt;
        return this.record('OPERATOR', `${prefix}escalation acknowledged: reminders stop`, { attempt: open.attempt, ...fields, reason: e.note, escalationId: open.id });
      }
      case 'changeDeadlines': {
        const changed = Object.fromEntries(Object.entries(e.deadlines).filter(([, v]) => v !== undefined));
        s.deadlines = { ...s.deadlines, ...changed };
        const attempt = this.current();
        // Acknowledgement deadlines stay measured from the MESH send time of the current attempt.
        if (s.status === 'AWAITING_INFRASTRUCTURE_ACK' && attempt?.sentAt) this.wait('INFRASTRUCTURE_ACK', Date.parse(attempt.sentAt) + s.deadlines.infrastructureAckMs);
        if (s.status === 'AWAITING_BUSINESS_ACK' && attempt?.sentAt) this.wait('BUSINESS_ACK', Date.parse(attempt.sentAt) + s.deadlines.businessAckMs);
        const open = this.openEscalation();
        if (open && !open.acknowledged && changed.reminderIntervalMs !== undefined) {
          const next = isoOrUndefined(this.at + s.deadlines.reminderIntervalMs);
          if (next !== undefined) open.nextReminderAt = next;
        }
        const list = Object.entries(changed)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(', ');
        return this.record('OPERATOR', `${prefix}deadlines changed: ${list}`, { ...fields, reason: e.reason });
      }
    }
  }
}

/** Who sent a response, for the timeline: "from X26ABC2 (ODS X26)". */
const sentBy = (r: Itk3ResponseReceived): string =>
  r.senderMailbox || r.senderOds ? ` from ${r.senderMailbox ?? 'an unknown mailbox'}${r.senderOds ? ` (ODS ${r.senderOds})` : ''}` : '';
/** Timeline fields of an actor (nothing extra on histories from before the token check). */
const actorFields = (who: Actor): { actor: string; actorVerified?: boolean } => (who.verified === undefined ? { actor: who.actor } : { actor: who.actor, actorVerified: who.verified });
const unverifiedPrefix = (who: Actor): string => (who.verified === false ? `unverified actor '${who.actor}' (${who.unverifiedReason}): ` : '');
