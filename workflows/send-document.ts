/**
 * sendDocumentWorkflow: one durable workflow per outbound GP Connect Send Document message.
 *
 * Trigger: the HTTP API / client library, once per (document id, version); a replacement is started as
 * a child by the `replace` update of the delivery it replaces (same id scheme, version + 1).
 * Id: `deliveryWorkflowId(documentId, version)` from contracts/ids.ts.
 * Signals: itk3Response (ITK3 Response routed by the inbound poller), meshReport (MESH report),
 *   replacementOutcome (from the replacement delivery).
 * Queries: state, timeline, waiting.
 * Updates (validated; each records who and why): correct, resend, replace, abandon,
 *   acknowledgeEscalation, changeDeadlines.
 * Outcomes (returned, not thrown): DELIVERED, REJECTED, ABANDONED, VOIDED.
 *
 * How it works: every status change goes through the transition table in delivery-machine.ts (the
 * source of docs/state-machine.md). Signal handlers only queue what arrived; update handlers check and
 * change state synchronously; the main loop applies queued events, fires due timers (ack deadlines,
 * reminders, windows), runs effects (send, notify) and then waits for the next event or timer. All
 * effects on people go through one outbox, so an escalation is raised exactly once per case and state.
 *
 * The clinical document never passes through history: the workflow carries claim-check references to
 * the encrypted content store. Ids for each attempt come from the workflow's deterministic uuid4().
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { Activities } from '../activities';
import { failureType } from './failure';
import { ESCALATION_ACTIVITY, STORE_ACTIVITY } from './activity-profiles';
// Values come from the search-attribute module and pure helpers alone; everything else is type-only,
// so that no zod schema is instantiated inside the workflow sandbox (sdk-typescript#2227).
import {
  AckDeadlineKey,
  AttemptCountKey,
  DeliveryStatusKey,
  EscalatedKey,
  Itk3MessageIdKey,
  Itk3MessageIdsKey,
  MeshMessageIdKey,
  MeshMessageIdsKey,
  RecipientOdsKey,
  SenderOdsKey,
  SenderReferenceKey,
  WaitingForKey,
} from '../contracts/search-attributes';
import { deliveryWorkflowId } from '../contracts/ids';
import type {
  Attempt,
  DeliveryResult,
  DeliveryState,
  EscalationInput,
  Escalation,
  Itk3ResponseReceived,
  MeshReportReceived,
  OperatorActionResult,
  ReplacementOutcome,
  SendDocumentInput,
  TimelineEntry,
  TrackMeshMessageResult,
  WaitingFor,
} from '../contracts';
import {
  abandonUpdate,
  acknowledgeEscalationUpdate,
  changeDeadlinesUpdate,
  correctUpdate,
  itk3ResponseSignal,
  meshReportSignal,
  replaceUpdate,
  replacementOutcomeSignal,
  resendUpdate,
  stateQuery,
  timelineQuery,
  waitingQuery,
} from './definitions';
import { canMove, deadlineKey, eventForAction, meshTrackingSaysUndeliverable, nextStatus, refusal, type DeliveryEvent } from './delivery-machine';
import { actorProblems, contentRefProblems, deadlineProblems, refusalFailure, rejectIf } from './operator-checks';
import { operatorRefusal, type OperatorRefusalReason } from '../contracts/errors';

const store = proxyActivities<Activities>(STORE_ACTIVITY);
const mesh = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // sendMeshMessage heartbeats while it works: a dead worker's attempt is retried after 30 s, and a live
  // attempt learns through the heartbeat that it was timed out, so it stops before posting.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});
/** MESH outbox tracking: asked once per overdue attempt, a few tries at most, so a MESH outage never holds the workflow up for long. */
const tracking = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 },
});
const notify = proxyActivities<Activities>(ESCALATION_ACTIVITY);

/** Continue as new past this many history events unless the server suggests it earlier. */
const DEFAULT_HISTORY_EVENT_LIMIT = 2000;
/** Failure type (contracts/errors.ts ErrorType) without importing the zod module. */
const SUBMISSION_REF_INVALID = 'SUBMISSION_REF_INVALID';
/** Actor tokens are checked by an activity (no crypto in the sandbox): a few quick tries, then "unverified". */
const identity = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 },
});

/** Failure/escalation code of a deadline the workflow cannot compute (contracts/errors.ts catalogue style). */
const DEADLINE_UNCOMPUTABLE = 'DEADLINE_UNCOMPUTABLE';
/** The largest instant, either side of 1970, that a JavaScript Date holds (ECMA-262 §21.4.1.1). */
const MAX_DATE_MS = 8.64e15;
/** patched() ids: each guards a change to the commands this workflow issues, so older histories replay. */
const PATCH_MESH_TRACKING = 'mesh-tracking-on-no-ack';
/** An acknowledgement contradicting an earlier one of the same level escalates (it was recorded only before). */
const PATCH_ACK_CONFLICT = 'ack-conflict-escalates';
/** Operator updates verify their actor token (an activity) before they act; older histories took the name as given. */
const PATCH_ACTOR_TOKEN = 'operator-actor-token';

type Inbound =
  | { kind: 'response'; response: Itk3ResponseReceived }
  | { kind: 'report'; report: MeshReportReceived }
  | { kind: 'replacement'; outcome: ReplacementOutcome };

type Outbound = { kind: 'escalation'; input: EscalationInput } | { kind: 'replacementOutcome'; outcome: ReplacementOutcome };

export async function sendDocumentWorkflow(input: SendDocumentInput): Promise<DeliveryResult> {
  const carried = input.carryOver;
  const state: DeliveryState = carried
    ? { ...carried.state, run: carried.state.run + 1 }
    : {
        workflowId: workflowInfo().workflowId,
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
  const seenResponses = new Set<string>(carried?.seenResponseIds ?? []);
  const seenReports = new Set<string>(carried?.seenReportIds ?? []);
  const inbox: Inbound[] = [];
  const outbox: Outbound[] = [];
  /** Attempts whose infrastructure ack is overdue and whose MESH status is still to be asked (once each). */
  const trackingDue: number[] = [];
  /** Bumped by every update handler, so the main loop wakes up to re-plan its timers. */
  let changes = 0;
  let ended: DeliveryEvent | undefined;
  let lastPublished = '';

  // ---- small helpers --------------------------------------------------------------------------
  const nowIso = (): string => new Date().toISOString();
  /**
   * An instant as ISO text, or undefined when it is not one Date can hold (NaN from an unreadable date,
   * or beyond ±8.64e15 ms from a huge duration). `new Date(x).toISOString()` would throw instead, failing
   * every workflow task for good: no query, no update, nobody told.
   */
  const isoOrUndefined = (ms: number): string | undefined => (Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : undefined);
  /** A stored instant as milliseconds; NaN when unreadable (callers skip it). */
  const msOf = (text: string | undefined): number => (text === undefined ? NaN : Date.parse(text));
  const current = (): Attempt | undefined => state.attempts[state.currentAttempt - 1];
  const openEscalation = (): Escalation | undefined => state.escalations.find((e) => !e.resolvedAt);

  const record = (kind: TimelineEntry['kind'], detail: string, extra: Partial<Omit<TimelineEntry, 'at' | 'kind' | 'detail'>> = {}): void => {
    const entry: TimelineEntry = { at: nowIso(), kind, detail };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) (entry as Record<string, unknown>)[k] = v;
    state.timeline.push(entry);
  };

  /** What `publish` would upsert now, and a key to tell whether it changed. */
  const publishable = (): { key: string; pairs: SearchAttributePair[] } => {
    const attempt = current();
    // Every attempt's MESH id. No patched() for it: it joins an upsert that happens anyway (replay matches
    // commands by type, not by the attributes they carry), and a patch would cost every delivery one more
    // visibility write (core upserts TemporalChangeVersion with each patch marker).
    const meshAll = state.attempts.flatMap((a) => (a.meshMessageId ? [a.meshMessageId] : []));
    const attrs = {
      status: state.status,
      waitingFor: state.waitingFor,
      escalated: state.escalated,
      attempts: state.attempts.length,
      itk3: attempt?.messageHeaderId ?? '',
      itk3All: state.attempts.map((a) => a.messageHeaderId),
      meshId: attempt?.meshMessageId ?? '',
      meshAll,
      recipientOds: state.recipientOds,
      senderOds: state.senderOds,
      until: state.waitingUntil ?? null,
    };
    const pairs: SearchAttributePair[] = [
      { key: DeliveryStatusKey, value: attrs.status },
      { key: WaitingForKey, value: attrs.waitingFor },
      { key: EscalatedKey, value: attrs.escalated },
      { key: AttemptCountKey, value: attrs.attempts },
      { key: Itk3MessageIdKey, value: attrs.itk3 },
      // Every attempt's id: the inbound router finds this workflow by any of them (older attempts too).
      { key: Itk3MessageIdsKey, value: attrs.itk3All },
      { key: MeshMessageIdKey, value: attrs.meshId },
      // Every attempt's MESH id: the inbound router finds this workflow by a REPORT for any attempt. Set in
      // the same upsert as the rest, after a send (no id exists before the first one).
      ...(attrs.meshAll.length > 0 ? [{ key: MeshMessageIdsKey, value: attrs.meshAll }] : []),
      { key: RecipientOdsKey, value: attrs.recipientOds },
      { key: SenderOdsKey, value: attrs.senderOds },
      { key: AckDeadlineKey, value: attrs.until ? new Date(attrs.until) : null },
    ] as SearchAttributePair[];
    return { key: JSON.stringify(attrs), pairs };
  };

  const publish = (): void => {
    const { key, pairs } = publishable();
    // Only when something changed: every upsert is a command in history.
    if (key === lastPublished) return;
    lastPublished = key;
    upsertSearchAttributes(pairs);
  };

  /**
   * True when the workflow was started with every attribute `publish` would set now (an empty id, an
   * empty list or no deadline counts as unset). Read from the start event, so replay decides the same.
   */
  const startedWith = (pairs: SearchAttributePair[]): boolean => {
    const atStart = workflowInfo().typedSearchAttributes;
    return pairs.every(({ key, value }) => {
      const have: unknown = atStart.get(key as never);
      const unset = value === null || value === '' || (Array.isArray(value) && value.length === 0);
      if (unset && have === undefined) return true;
      return have !== undefined && JSON.stringify(have) === JSON.stringify(value);
    });
  };

  const wait = (waitingFor: WaitingFor, untilMs?: number): void => {
    state.waitingFor = waitingFor;
    const until = untilMs === undefined ? undefined : isoOrUndefined(untilMs);
    if (until !== undefined) state.waitingUntil = until;
    else delete state.waitingUntil;
    if (untilMs !== undefined && until === undefined) deadlineUncomputable(waitingFor);
  };

  /**
   * A deadline that cannot be computed (out of Date's range, or from an unreadable time) never fires: a
   * person is told, and the delivery keeps answering queries and operator updates (change the deadlines,
   * resend, correct, abandon) instead of failing its workflow tasks.
   */
  function deadlineUncomputable(waitingFor: WaitingFor): void {
    escalate(
      `${DEADLINE_UNCOMPUTABLE}:${state.currentAttempt}:${state.status}:${waitingFor}`,
      `the deadline while waiting for ${waitingFor} in ${state.status} cannot be computed (deadlines ${describeDeadlines()}); nothing will happen on its own: change the deadlines (the delivery then waits as usual) or abandon it`,
      DEADLINE_UNCOMPUTABLE,
    );
  }
  const describeDeadlines = (): string =>
    Object.entries(state.deadlines)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');

  /** The one way to change status: through the transition table. Resolves an escalation the move leaves behind. */
  const move = (event: DeliveryEvent, why: string): void => {
    const from = state.status;
    const to = nextStatus(from, event);
    // A move the table does not know is a bug: fail the workflow task (retried after a fix), never guess.
    if (to === undefined) throw new Error(`no transition from ${from} on ${event}`);
    if (to === '[*]') {
      ended = event;
      wait('NOTHING');
      record('STATE', `${from} ends (${event}): ${why}`);
      return;
    }
    state.status = to;
    const open = openEscalation();
    if (open && open.status !== to) resolve(open, why);
    // A self-loop (deadline passed, replacement started) is told by its own DEADLINE/OPERATOR entry.
    if (from !== to) record('STATE', `${from} -> ${to} (${event}): ${why}`);
    if ((to === 'DELIVERED' || to === 'ABANDONED' || to === 'VOIDED') && state.replaces) reportToOriginal(to);
  };

  // ---- escalations: one per case and state, reminders until acknowledged ---------------------------
  const escalationInput = (e: Escalation, kind: EscalationInput['kind'], reason: string): EscalationInput => ({
    workflowId: state.workflowId,
    documentId: state.documentId,
    state: e.status,
    reason,
    ...(e.code ? { code: e.code } : {}),
    attempt: e.attempt,
    kind,
    escalationId: e.id,
  });

  const escalate = (key: string, reason: string, code?: string): void => {
    if (state.escalations.some((e) => e.key === key)) return; // never twice for the same case and state
    const open = openEscalation();
    if (open) resolve(open, `superseded: ${reason}`);
    const e: Escalation = {
      id: uuid4(),
      key,
      status: state.status,
      reason,
      ...(code ? { code } : {}),
      attempt: state.currentAttempt,
      raisedAt: nowIso(),
      reminders: 0,
    };
    const next = isoOrUndefined(Date.now() + state.deadlines.reminderIntervalMs);
    if (next !== undefined) e.nextReminderAt = next;
    // Without a computable reminder time the escalation still goes out, once; the reason says so.
    const told = next === undefined ? `${reason} (no reminders: the reminder interval ${String(state.deadlines.reminderIntervalMs)} ms cannot be computed)` : reason;
    if (next === undefined) e.reason = told;
    state.escalations.push(e);
    state.escalated = true;
    record('ESCALATION', told, { attempt: e.attempt, code, escalationId: e.id });
    outbox.push({ kind: 'escalation', input: escalationInput(e, 'RAISED', told) });
  };

  function resolve(e: Escalation, resolution: string): void {
    e.resolvedAt = nowIso();
    e.resolution = resolution;
    delete e.nextReminderAt;
    state.escalated = state.escalations.some((x) => !x.resolvedAt);
    record('RESOLVED', resolution, { attempt: e.attempt, code: e.code, escalationId: e.id });
    outbox.push({ kind: 'escalation', input: escalationInput(e, 'RESOLVED', resolution) });
  }

  const remind = (e: Escalation): void => {
    e.reminders += 1;
    const next = isoOrUndefined(Date.now() + state.deadlines.reminderIntervalMs);
    if (next !== undefined) e.nextReminderAt = next;
    else delete e.nextReminderAt;
    const reason = `reminder ${e.reminders}: ${e.reason}`;
    record('REMINDER', reason, { attempt: e.attempt, code: e.code, escalationId: e.id });
    outbox.push({ kind: 'escalation', input: escalationInput(e, 'REMINDER', reason) });
  };

  function reportToOriginal(status: 'DELIVERED' | 'ABANDONED' | 'VOIDED' | 'REJECTED'): void {
    const code = state.outcomeCode;
    outbox.push({
      kind: 'replacementOutcome',
      outcome: { workflowId: state.workflowId, version: state.version, status, ...(code ? { code } : {}), at: nowIso() },
    });
  }

  // ---- attempts ---------------------------------------------------------------------------------
  /** A new ITK3 message: fresh Bundle identifier and MessageHeader id; the SenderReference stays. */
  const newAttempt = (
    reason: NonNullable<Attempt['reason']>,
    requestedBy?: string,
    ids?: { messageHeaderId: string; bundleIdentifier: string },
  ): Attempt => {
    const attempt: Attempt = {
      attempt: state.attempts.length + 1,
      messageHeaderId: ids?.messageHeaderId ?? uuid4(),
      bundleIdentifier: ids?.bundleIdentifier ?? uuid4(),
      reason,
      ...(requestedBy ? { requestedBy } : {}),
      submissionRef: state.submissionRef,
      recipientOds: state.recipientOds,
    };
    state.attempts.push(attempt);
    state.currentAttempt = attempt.attempt;
    wait('MESH_SEND');
    return attempt;
  };

  async function sendCurrent(): Promise<void> {
    const attempt = current()!;
    publish();
    try {
      const built = await store.buildItk3Message({
        submissionRef: attempt.submissionRef ?? state.submissionRef,
        attempt: attempt.attempt,
        messageHeaderId: attempt.messageHeaderId,
        bundleIdentifier: attempt.bundleIdentifier,
      });
      attempt.sizeBytes = built.sizeBytes;
      record('BUILT', `ITK3 message of ${built.sizeBytes} bytes on ${built.meshWorkflowId}`, { attempt: attempt.attempt });
      const sent = await mesh.sendMeshMessage({ messageRef: built.messageRef, messageHeaderId: attempt.messageHeaderId, attempt: attempt.attempt });
      attempt.meshMessageId = sent.meshMessageId;
      attempt.sentAt = sent.sentAt;
      // Who may answer this attempt (state only, no command: histories without it replay unchanged).
      if (sent.routing) attempt.routing = sent.routing;
      if (sent.recipientMailbox) attempt.recipientMailbox = sent.recipientMailbox;
      record('SENT', `MESH message ${sent.meshMessageId}`, { attempt: attempt.attempt });
      // Deadlines are measured from the MESH send time.
      move('SENT', `attempt ${attempt.attempt} sent`);
      wait('INFRASTRUCTURE_ACK', Date.parse(sent.sentAt) + state.deadlines.infrastructureAckMs);
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Retryable failures are retried by the activity policy; what arrives here is final.
      const type = failureType(err);
      move('SEND_FAILED', `attempt ${attempt.attempt} could not be built or sent (${type})`);
      wait('OPERATOR');
      escalate(
        `SEND_FAILED:${attempt.attempt}`,
        `attempt ${attempt.attempt} could not be built or sent (${type}); correct the submission, or resend once the cause is fixed` +
          (type === 'MESH_SEND_OUTCOME_UNKNOWN' ? ' (check MESH tracking first: the message may have been sent)' : ''),
        type,
      );
    }
  }

  // ---- inbound events ---------------------------------------------------------------------------
  const ackDeadlineOpen = (attempt: Attempt): Escalation | undefined =>
    state.escalations.find(
      (e) =>
        !e.resolvedAt &&
        (e.key === deadlineKey('AWAITING_INFRASTRUCTURE_ACK', attempt.attempt) || e.key === deadlineKey('AWAITING_BUSINESS_ACK', attempt.attempt)),
    );

  /** Who sent a response, for the timeline: "from X26ABC2 (ODS X26)". */
  const sentBy = (r: Itk3ResponseReceived): string =>
    r.senderMailbox || r.senderOds ? ` from ${r.senderMailbox ?? 'an unknown mailbox'}${r.senderOds ? ` (ODS ${r.senderOds})` : ''}` : '';

  /**
   * Does the response come from the practice this attempt went to? Checked again here although the inbound
   * router already did (defence in depth: a signal can reach the workflow by other routes). Only for
   * attempts sent since sends report their routing; older attempts keep the rule they were sent under.
   */
  const senderProblem = (attempt: Attempt, r: Itk3ResponseReceived): string | undefined => {
    if (!attempt.routing) return undefined;
    const upper = (v: string | undefined): string | undefined => v?.trim().toUpperCase() || undefined;
    // GPPROVIDER: MESH chose the mailbox; the router learned it from MESH tracking once, and it is kept here.
    if (!attempt.recipientMailbox && attempt.routing === 'gpprovider' && r.recipientMailbox) attempt.recipientMailbox = upper(r.recipientMailbox);
    const expectedOds = upper(attempt.recipientOds ?? state.recipientOds);
    if (!attempt.recipientMailbox) return 'the mailbox this attempt was delivered to is not known';
    if (upper(r.senderMailbox) !== attempt.recipientMailbox) return `sender mailbox ${r.senderMailbox ?? '(none)'} is not ${attempt.recipientMailbox}, the mailbox attempt ${attempt.attempt} was delivered to`;
    if (upper(r.senderOds) !== expectedOds) return `sender ODS ${r.senderOds ?? '(none)'} is not ${expectedOds ?? '(unknown)'}, the recipient of attempt ${attempt.attempt}`;
    return undefined;
  };

  function onResponse(r: Itk3ResponseReceived): void {
    // Idempotent: a MESH redelivery of the same response (crash before the MESH ack) changes nothing.
    if (seenResponses.has(r.responseId)) return;
    seenResponses.add(r.responseId);
    const attempt = state.attempts.find((a) => a.messageHeaderId === r.respondsTo);
    const what = `${r.level} ${r.polarity} ${r.code} ${r.display}`;
    const from = { senderMailbox: r.senderMailbox, senderOds: r.senderOds };
    if (r.quarantineId && r.reroutedBy) {
      // An operator's decision: who, why and from which quarantine entry, before what it does.
      record('OPERATOR', `quarantined response ${r.code}${sentBy(r)} rerouted here from ${r.quarantineId}`, {
        attempt: attempt?.attempt,
        code: r.code,
        actor: r.reroutedBy,
        reason: r.rerouteReason,
        quarantineId: r.quarantineId,
        ...from,
      });
    }
    if (!attempt) {
      record('RESPONSE', `${what}${sentBy(r)}: answers no attempt of this delivery (${r.respondsTo}); recorded only`, { code: r.code, ...from });
      return;
    }
    const problem = senderProblem(attempt, r);
    // Only a reroute out of the quarantine (which names its entry and the operator) may override the check.
    const byOperator = r.correlatedBy === 'OPERATOR' && !!r.quarantineId && !!r.reroutedBy;
    if (problem && !byOperator) {
      // Never changes status: only the practice the attempt went to can acknowledge it.
      record('RESPONSE', `${what}${sentBy(r)}: not from the practice attempt ${attempt.attempt} went to (${problem}); recorded only`, { attempt: attempt.attempt, code: r.code, ...from });
      return;
    }
    if (problem) {
      record('OPERATOR', `applied by operator decision although ${problem}`, { attempt: attempt.attempt, code: r.code, actor: r.reroutedBy, reason: r.rerouteReason, quarantineId: r.quarantineId, ...from });
    }
    const slot = r.level === 'infrastructure' ? 'infrastructureAck' : 'businessAck';
    const earlier = attempt[slot];
    if (earlier) {
      // Opposite polarities contradict each other whichever came first: responses are routed in parallel,
      // so a 30002 sent after a 30001 can be applied before it.
      if (earlier.polarity !== r.polarity && patched(PATCH_ACK_CONFLICT)) {
        onConflict(attempt, earlier, r);
        return;
      }
      // An identical repeat (same code, new response id) and a second positive stay quiet duplicates.
      record('RESPONSE', `${what}${sentBy(r)}: a second ${r.level} acknowledgement for this attempt; recorded only`, { attempt: attempt.attempt, code: r.code, ...from });
      return;
    }
    attempt[slot] = r;
    if (attempt.attempt !== state.currentAttempt) {
      record('RESPONSE', `${what}${sentBy(r)}: for attempt ${attempt.attempt}, not the current attempt ${state.currentAttempt}; recorded only`, {
        attempt: attempt.attempt,
        code: r.code,
        ...from,
      });
      return;
    }
    const event = eventForAction(r.action);
    if (!canMove(state.status, event)) {
      record('RESPONSE', `${what}${sentBy(r)}: no change in ${state.status}`, { attempt: attempt.attempt, code: r.code, ...from });
      return;
    }
    const late = ackDeadlineOpen(attempt);
    if (late) attempt.lateAck = true;
    record('RESPONSE', `${what}${sentBy(r)}${late ? ' (late: after the deadline was escalated)' : ''}`, { attempt: attempt.attempt, code: r.code, ...from });
    const n = attempt.attempt;
    switch (event) {
      case 'INF_ACK_OK':
        move(event, late ? `late infrastructure acknowledgement ${r.code} reconciled` : `infrastructure acknowledgement ${r.code}`);
        wait('BUSINESS_ACK', Date.parse(attempt.sentAt!) + state.deadlines.businessAckMs);
        return;
      case 'BUS_ACK_OK':
        if (!attempt.infrastructureAck) {
          attempt.infrastructureSuccessImplied = true;
          record('STATE', 'business acknowledgement before the infrastructure acknowledgement: technical success implied', { attempt: n });
        }
        state.outcomeCode = r.code;
        move(event, late ? `late business acknowledgement ${r.code} reconciled: delivered` : `business acknowledgement ${r.code}: delivered`);
        wait('REPLACEMENT_WINDOW', Date.now() + state.deadlines.replacementWindowMs);
        return;
      case 'BUS_ACK_NEGATIVE':
        if (!attempt.infrastructureAck) attempt.infrastructureSuccessImplied = true;
        state.outcomeCode = r.code;
        if (!state.rejectedRoutes.includes(attempt.recipientOds ?? state.recipientOds)) state.rejectedRoutes.push(attempt.recipientOds ?? state.recipientOds);
        move(event, `negative business acknowledgement ${r.code}`);
        wait('OPERATOR', Date.now() + state.deadlines.decisionWindowMs);
        escalate(
          `BUSINESS_REJECTION:${n}`,
          `negative business acknowledgement ${r.code} (${r.display}): the practice did not accept the document; recheck the patient's registered practice (GPCM-SD-094, 1.3.1). A re-send to the same route is refused unless overridden`,
          r.code,
        );
        return;
      case 'NEEDS_CORRECTION': {
        state.outcomeCode = r.code;
        move(event, `negative infrastructure acknowledgement ${r.code}`);
        wait('CORRECTION');
        const reason =
          r.action === 'SHRINK_PAYLOAD'
            ? `message too large (${r.code}): attempt ${n} was ${attempt.sizeBytes ?? 'an unknown number of'} bytes; receivers may refuse above 5 MB. Reduce the attachments, list the unsent ones in the PDF, and send a correction`
            : r.action === 'INVESTIGATE_UNREADABLE'
              ? `the receiver could not read attempt ${n} (${r.code}): investigate, then send a correction or resend`
              : `sender defect (${r.code} ${r.display}): correct the submission or the configuration and send a correction`;
        escalate(`CORRECTION:${n}`, reason, r.code);
        return;
      }
      case 'DUPLICATE':
        state.outcomeCode = r.code;
        move(event, `duplicate reported by the receiver ${r.code}`);
        wait('OPERATOR');
        {
          const earlier = state.attempts.find((a) => a.attempt !== n && a.businessAck?.polarity === 'positive');
          escalate(
            `DUPLICATE:${n}`,
            `the receiver reports a duplicate (${r.code} ${r.display}): no re-send made; check whether an earlier message was processed and how ids are generated` +
              (earlier ? ` (attempt ${earlier.attempt} has a positive business acknowledgement ${earlier.businessAck!.code})` : ''),
            r.code,
          );
        }
        return;
      case 'ROUTING_PROBLEM':
        state.outcomeCode = r.code;
        move(event, `routing or recipient problem ${r.code}`);
        wait('OPERATOR');
        escalate(`ROUTING:${n}`, `routing or recipient problem (${r.code} ${r.display}): check the recipient and the routing configuration`, r.code);
        return;
      case 'REPLACEMENT_FAILED':
        state.outcomeCode = r.code;
        move(event, `the receiver could not process the replacement ${r.code}`);
        wait('NOTHING');
        escalate(
          `VOIDED:${n}`,
          `the receiver could not process the replacement (${r.code}): version ${state.version}` +
            (state.replaces ? ` and the version it replaces (${state.replaces.version})` : '') +
            ' are marked void (GPCM-SD-128, 1.3.1); send a new document if it is still needed',
          r.code,
        );
        return;
    }
  }

  /**
   * An acknowledgement that contradicts an earlier one of the same level for the same attempt (30002 after
   * 30001, 20009 after 20013, or the same pairs reordered in transit): the practice has said two opposite
   * things, and a person must find out which holds (GPCM-SD-094). The delivery stops counting as delivered,
   * rejected or on its way (ACK_CONFLICT: AWAITING_OPERATOR, which has no window that could close it unseen),
   * and an escalation naming both codes goes out with reminders until acknowledged. The earlier
   * acknowledgement stays on the attempt; the contradicting one is in the timeline and the outcome code.
   */
  function onConflict(attempt: Attempt, earlier: Itk3ResponseReceived, r: Itk3ResponseReceived): void {
    const n = attempt.attempt;
    const current = n === state.currentAttempt;
    const moves = current && canMove(state.status, 'ACK_CONFLICT');
    record('RESPONSE', `${r.level} ${r.polarity} ${r.code} ${r.display}${sentBy(r)}: contradicts the earlier ${r.level} ${earlier.polarity} acknowledgement ${earlier.code} for attempt ${n}`, {
      attempt: n,
      code: r.code,
      senderMailbox: r.senderMailbox,
      senderOds: r.senderOds,
    });
    if (moves) {
      state.outcomeCode = r.code;
      // One of the two is a business rejection of this route: a resend there needs the override, as after any.
      if (r.level === 'business' && !state.rejectedRoutes.includes(attempt.recipientOds ?? state.recipientOds)) state.rejectedRoutes.push(attempt.recipientOds ?? state.recipientOds);
      move('ACK_CONFLICT', `${r.code} contradicts ${earlier.code} for attempt ${n}`);
      wait('OPERATOR');
    }
    escalate(
      `ACK_CONFLICT:${n}:${r.level}`,
      `conflicting ${r.level} acknowledgements for attempt ${n}: ${earlier.code} (${earlier.display}) and then ${r.code} (${r.display}) from the practice; ` +
        `find out from the practice which holds (GPCM-SD-094, 1.3.1), then resend, correct or abandon` +
        (moves ? '' : ` (attempt ${n} is not the current attempt or the delivery is ${state.status}: status unchanged)`),
      r.code,
    );
  }

  function onReport(report: MeshReportReceived): void {
    if (seenReports.has(report.reportMessageId)) return;
    seenReports.add(report.reportMessageId);
    const attempt = state.attempts.find((a) => a.meshMessageId === report.meshMessageId);
    const code = report.statusCode;
    const what = `MESH ${report.kind}${code ? ` ${code}` : ''}${report.statusDescription ? ` ${report.statusDescription}` : ''}`;
    if (report.quarantineId && report.reroutedBy) {
      record('OPERATOR', `quarantined MESH report${code ? ` ${code}` : ''} rerouted here from ${report.quarantineId}`, {
        attempt: attempt?.attempt,
        code,
        actor: report.reroutedBy,
        reason: report.rerouteReason,
        quarantineId: report.quarantineId,
      });
    }
    if (attempt) {
      attempt.meshReports = [
        ...(attempt.meshReports ?? []),
        { kind: report.kind, ...(code ? { statusCode: code } : {}), reportMessageId: report.reportMessageId, receivedAt: report.receivedAt },
      ];
    }
    const applies = report.kind !== 'OTHER' && attempt && attempt.attempt === state.currentAttempt && canMove(state.status, 'MESH_UNDELIVERABLE');
    record('MESH_REPORT', applies ? what : `${what}: recorded only${attempt ? '' : ' (no attempt of this delivery)'}`, { attempt: attempt?.attempt, code });
    if (!applies) return;
    state.outcomeCode = code ?? report.kind;
    move('MESH_UNDELIVERABLE', what);
    wait('OPERATOR');
    escalate(
      `MESH_${report.kind}:${attempt.attempt}`,
      report.kind === 'NON_DELIVERY'
        ? `MESH could not deliver attempt ${attempt.attempt}${code ? ` (${code})` : ''}: the message expired undelivered`
        : `MESH routing failed for attempt ${attempt.attempt}${code ? ` (${code})` : ''}: check the patient's registered practice and demographics (GPCM-SD-075, 1.3.1)`,
      code ?? report.kind,
    );
  }

  function onReplacementOutcome(o: ReplacementOutcome): void {
    const expected = deliveryWorkflowId(state.documentId, state.version + 1);
    if (o.workflowId !== expected || (state.replacement && state.replacement.workflowId !== o.workflowId)) {
      record('REPLACEMENT', `outcome ${o.status} from ${o.workflowId}, which is not this document's replacement; recorded only`);
      return;
    }
    state.replacement = state.replacement ?? { workflowId: o.workflowId, version: o.version, requestedBy: 'submission', requestedAt: o.at };
    state.replacement.status = o.status;
    record('REPLACEMENT', `replacement version ${o.version} is ${o.status}${o.code ? ` (${o.code})` : ''}`, { code: o.code });
    if (state.status !== 'DELIVERED') return;
    if (o.status === 'VOIDED') {
      state.outcomeCode = o.code ?? state.outcomeCode;
      move('REPLACEMENT_VOIDED', `the replacement was voided by the receiver${o.code ? ` (${o.code})` : ''}, so this version is void too (GPCM-SD-128, 1.3.1)`);
      wait('NOTHING');
    } else if (o.status === 'DELIVERED' || o.status === 'ABANDONED' || o.status === 'REJECTED') {
      move('REPLACEMENT_SETTLED', `replacement version ${o.version} ${o.status.toLowerCase()}`);
    }
  }

  // ---- timers -----------------------------------------------------------------------------------
  /** The next instant something is due, or undefined when only an event can move the workflow on. */
  const nextDue = (): number | undefined => {
    const due: number[] = [];
    const attempt = current();
    const s = state.status;
    if ((s === 'AWAITING_INFRASTRUCTURE_ACK' || s === 'AWAITING_BUSINESS_ACK') && attempt?.sentAt && state.waitingUntil) {
      if (!state.escalations.some((e) => e.key === deadlineKey(s, attempt.attempt))) due.push(msOf(state.waitingUntil));
    }
    const open = openEscalation();
    if (open && !open.acknowledged && open.nextReminderAt) due.push(msOf(open.nextReminderAt));
    if ((state.waitingFor === 'REPLACEMENT_WINDOW' || (state.status === 'REJECTED' && state.waitingFor === 'OPERATOR')) && state.waitingUntil) {
      due.push(msOf(state.waitingUntil));
    }
    // An unreadable instant (NaN) would make the timer NaN and the loop spin; fireDueTimers escalates it.
    const readable = due.filter(Number.isFinite);
    return readable.length ? Math.min(...readable) : undefined;
  };

  const fireDueTimers = (): void => {
    const now = Date.now();
    const attempt = current();
    const s = state.status;
    // A stored deadline that no longer reads as a date (state carried over from older input) never fires.
    if (state.waitingUntil !== undefined && !Number.isFinite(msOf(state.waitingUntil))) {
      delete state.waitingUntil;
      deadlineUncomputable(state.waitingFor);
    }
    // Likewise a reminder time that does not read as a date: dropped (the escalation itself stands).
    const pending = openEscalation();
    if (pending?.nextReminderAt !== undefined && !Number.isFinite(msOf(pending.nextReminderAt))) delete pending.nextReminderAt;
    if ((s === 'AWAITING_INFRASTRUCTURE_ACK' || s === 'AWAITING_BUSINESS_ACK') && attempt && state.waitingUntil && Date.parse(state.waitingUntil) <= now) {
      const key = deadlineKey(s, attempt.attempt);
      if (!state.escalations.some((e) => e.key === key)) {
        const which = s === 'AWAITING_INFRASTRUCTURE_ACK' ? 'infrastructure' : 'business';
        const reason = `no ${which} acknowledgement for attempt ${attempt.attempt} by ${state.waitingUntil} (GPCM-SD-095, 1.3.1); still waiting`;
        record('DEADLINE', reason, { attempt: attempt.attempt });
        move('ACK_DEADLINE', reason);
        escalate(key, reason);
        // Besides escalating: has MESH itself given up on the message? (asked after the escalation goes out)
        if (s === 'AWAITING_INFRASTRUCTURE_ACK' && attempt.meshMessageId) trackingDue.push(attempt.attempt);
      }
    }
    if (state.waitingUntil && Date.parse(state.waitingUntil) <= now) {
      if (state.waitingFor === 'REPLACEMENT_WINDOW') move('WINDOW_ENDED', 'the replacement window is over');
      else if (state.status === 'REJECTED' && state.waitingFor === 'OPERATOR') {
        move('WINDOW_ENDED', 'no operator decision within the decision window');
        if (state.replaces) reportToOriginal('REJECTED');
      }
    }
    if (ended) return; // no reminder at the moment the case closes
    const open = openEscalation();
    if (open && !open.acknowledged && open.nextReminderAt && Date.parse(open.nextReminderAt) <= now) remind(open);
  };

  // ---- MESH tracking of an overdue attempt ----------------------------------------------------------
  /**
   * Asks MESH outbox tracking about an attempt whose infrastructure ack is overdue. Undeliverable, expired
   * or error: escalated with MESH's code, as for a MESH REPORT. Anything else, or no answer: keep waiting.
   */
  async function trackOverdue(n: number): Promise<void> {
    const attempt = state.attempts[n - 1];
    if (!attempt?.meshMessageId || !patched(PATCH_MESH_TRACKING)) return;
    let t: TrackMeshMessageResult;
    try {
      t = await tracking.trackMeshMessage({ meshMessageId: attempt.meshMessageId, attempt: n });
    } catch (err) {
      if (isCancellation(err)) throw err;
      record('MESH_TRACKING', `MESH tracking of attempt ${n} gave no answer (${failureType(err)}); still waiting`, { attempt: n });
      return;
    }
    const what = `MESH tracking: attempt ${n} is ${t.status}${t.statusCode ? ` (${t.statusCode})` : ''}${t.statusDescription ? `: ${t.statusDescription}` : ''}`;
    // A response to this attempt that arrived while MESH was asked wins: the message got there after all.
    const answered = inbox.some((i) => i.kind === 'response' && i.response.respondsTo === attempt.messageHeaderId);
    const applies = meshTrackingSaysUndeliverable(t.status) && !answered && n === state.currentAttempt && canMove(state.status, 'MESH_UNDELIVERABLE');
    record('MESH_TRACKING', applies ? what : `${what}; still waiting`, { attempt: n, code: t.statusCode });
    if (!applies) return;
    const code = t.statusCode ?? t.status.toUpperCase();
    state.outcomeCode = code;
    move('MESH_UNDELIVERABLE', what);
    wait('OPERATOR');
    escalate(
      `MESH_TRACKING:${n}`,
      `MESH could not deliver attempt ${n} (${code}): outbox tracking says ${t.status}; check the recipient's mailbox and routing, then resend, correct or abandon`,
      code,
    );
  }

  // ---- effects ----------------------------------------------------------------------------------
  async function drainOutbox(): Promise<void> {
    while (outbox.length > 0) {
      const item = outbox.shift()!;
      if (item.kind === 'escalation') {
        await notify.raiseEscalation(item.input);
        continue;
      }
      try {
        await getExternalWorkflowHandle(state.replaces!.workflowId).signal(replacementOutcomeSignal, item.outcome);
      } catch (err) {
        if (isCancellation(err)) throw err;
        record('REPLACEMENT', `could not tell ${state.replaces!.workflowId} that this replacement is ${item.outcome.status} (it has probably ended)`);
      }
    }
  }

  const result = (): DeliveryResult => ({
    status: state.status,
    attempts: state.attempts.length,
    ...(state.outcomeCode ? { finalCode: state.outcomeCode } : {}),
    ...(state.replacement ? { replacedBy: state.replacement.workflowId } : {}),
  });

  const answer = (action: OperatorActionResult['action'], extra: Partial<OperatorActionResult> = {}): OperatorActionResult => ({
    action,
    at: nowIso(),
    status: state.status,
    waitingFor: state.waitingFor,
    ...(state.waitingUntil ? { waitingUntil: state.waitingUntil } : {}),
    attempt: state.currentAttempt,
    ...extra,
  });

  /**
   * Who an operator update is recorded for. The API attaches a token binding the authenticated principal
   * to this workflow and update; an activity checks it (no crypto in the sandbox), at this workflow's
   * time. Verified: the principal, whatever name the payload claims. Otherwise the claimed name, marked
   * unverified in the timeline, the state, the answer and a warning line: anyone who can reach Temporal's
   * frontend can send an update naming anyone. Histories from before this check take the name as given.
   */
  type Actor = { actor: string; verified?: boolean; unverifiedReason?: string };
  const checkActor = async (update: OperatorActionResult['action'], u: { actor: string; actorToken?: unknown }): Promise<Actor> => {
    const at = Date.now();
    // A token that is not a string at all (a hand-made update) is no token; the activity logs the warning.
    const token = typeof u.actorToken === 'string' && u.actorToken !== '' && u.actorToken.length <= 2048 ? u.actorToken : undefined;
    let outcome: { verified: true; principal: string } | { verified: false; reason: string };
    try {
      outcome = await identity.verifyActorToken({ ...(token ? { token } : {}), claimedActor: u.actor, workflowId: state.workflowId, update, at });
    } catch (err) {
      if (isCancellation(err)) throw err;
      outcome = { verified: false, reason: 'invalid token: it could not be checked' };
      log.warn('unverified actor on an operator update', { workflowId: state.workflowId, update, claimedActor: u.actor, reason: outcome.reason });
    }
    if (outcome.verified) return { actor: outcome.principal, verified: true };
    (state.unverifiedActions ??= []).push({ at: new Date(at).toISOString(), update, claimedActor: u.actor, reason: outcome.reason });
    return { actor: u.actor, verified: false, unverifiedReason: outcome.reason };
  };
  /** Timeline fields and detail prefix for an actor (nothing extra on histories from before the check). */
  const actorFields = (who: Actor): { actor: string; actorVerified?: boolean } => (who.verified === undefined ? { actor: who.actor } : { actor: who.actor, actorVerified: who.verified });
  const unverifiedPrefix = (who: Actor): string => (who.verified === false ? `unverified actor '${who.actor}' (${who.unverifiedReason}): ` : '');
  const actorAnswer = (who: Actor): Partial<OperatorActionResult> => (who.verified === undefined ? {} : { actor: who.actor, actorVerified: who.verified });
  /**
   * Runs an update's body with its actor: on new histories after the token check, then the state gate
   * again (it may have moved while the activity ran); on older histories synchronously, as they did.
   */
  const withActor = <R>(
    update: OperatorActionResult['action'],
    u: { actor: string; actorToken?: unknown },
    regate: () => OperatorRefusalReason | undefined,
    body: (who: Actor) => R | Promise<R>,
  ): R | Promise<R> => {
    if (!patched(PATCH_ACTOR_TOKEN)) return body({ actor: u.actor });
    return (async () => {
      const who = await checkActor(update, u);
      const now = regate();
      if (now) refuse(now);
      return body(who);
    })();
  };

  /** Validator check: nothing is allowed once the workflow is closing; otherwise the state machine's rules. */
  const gate = (action: Parameters<typeof refusal>[0], opts?: Parameters<typeof refusal>[2]): OperatorRefusalReason | undefined =>
    ended ? operatorRefusal('DELIVERY_ENDED', { status: state.status }) : refusal(action, state, opts);

  /** Refuses an accepted update (the state changed while it was checked) with a catalogue code. */
  const refuse = (reason: OperatorRefusalReason): never => {
    throw refusalFailure(reason);
  };

  // ---- handlers ---------------------------------------------------------------------------------
  setHandler(stateQuery, () => state);
  setHandler(timelineQuery, () => state.timeline);
  setHandler(waitingQuery, () => {
    const open = openEscalation();
    return {
      status: state.status,
      waitingFor: state.waitingFor,
      ...(state.waitingUntil ? { waitingUntil: state.waitingUntil } : {}),
      escalated: state.escalated,
      ...(open ? { escalation: open } : {}),
    };
  });
  setHandler(itk3ResponseSignal, (response) => void inbox.push({ kind: 'response', response }));
  setHandler(meshReportSignal, (report) => void inbox.push({ kind: 'report', report }));
  setHandler(replacementOutcomeSignal, (outcome) => void inbox.push({ kind: 'replacement', outcome }));

  setHandler(
    resendUpdate,
    (u) =>
      withActor('resend', u, () => gate('resend', { override: u.overrideBusinessRejection === true }), (who) => {
        const attempt = newAttempt('RESEND', who.actor);
        record('OPERATOR', `${unverifiedPrefix(who)}resend as attempt ${attempt.attempt}${u.overrideBusinessRejection ? ' (business rejection overridden)' : ''}`, {
          attempt: attempt.attempt,
          ...actorFields(who),
          reason: u.reason,
        });
        move('RESEND', `resend by ${who.actor}`);
        changes++;
        return answer('resend', actorAnswer(who));
      }),
    { validator: (u) => rejectIf(actorProblems(u), gate('resend', { override: u?.overrideBusinessRejection === true })) },
  );

  setHandler(
    correctUpdate,
    (u) => withActor('correct', u, () => gate('correct'), async (who) => {
      const check = await store.checkStoredSubmission({ submissionRef: u.submissionRef, purpose: 'CORRECTION', documentId: state.documentId, version: state.version });
      if (!check.valid) {
        record('OPERATOR', `${unverifiedPrefix(who)}correction refused: ${check.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ')}`, {
          ...actorFields(who),
          reason: u.reason,
        });
        changes++;
        throw ApplicationFailure.create({
          type: SUBMISSION_REF_INVALID,
          message: `the corrected submission is not valid: ${check.issues.map((i) => i.path ?? i.message).join(', ')}`,
          nonRetryable: true,
          details: [check.issues],
        });
      }
      // The state may have moved while the content was checked.
      const now = gate('correct');
      if (now) refuse(now);
      const route = check.recipientOds ?? state.recipientOds;
      if (state.rejectedRoutes.includes(route) && !u.overrideBusinessRejection) {
        refuse(operatorRefusal('BUSINESS_REJECTION_NOT_OVERRIDDEN', { recipientOds: route }));
      }
      state.submissionRef = u.submissionRef;
      state.recipientOds = route;
      if (check.senderOds) state.senderOds = check.senderOds;
      const attempt = newAttempt('CORRECTION', who.actor);
      record('OPERATOR', `${unverifiedPrefix(who)}correction sent as attempt ${attempt.attempt}${u.overrideBusinessRejection ? ' (business rejection overridden)' : ''}`, {
        attempt: attempt.attempt,
        ...actorFields(who),
        reason: u.reason,
      });
      move('CORRECT', `correction by ${who.actor}`);
      changes++;
      return answer('correct', actorAnswer(who));
    }),
    { validator: (u) => rejectIf([...actorProblems(u), ...contentRefProblems(u?.submissionRef, 'submissionRef')], gate('correct')) },
  );

  setHandler(
    replaceUpdate,
    (u) => withActor('replace', u, () => gate('replace'), async (who) => {
      const check = await store.checkStoredSubmission({
        submissionRef: u.submissionRef,
        purpose: 'REPLACEMENT',
        documentId: state.documentId,
        version: state.version,
        currentSubmissionRef: state.submissionRef,
      });
      if (!check.valid) {
        record('OPERATOR', `${unverifiedPrefix(who)}replacement refused: ${check.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ')}`, { ...actorFields(who), reason: u.reason });
        changes++;
        throw ApplicationFailure.create({
          type: SUBMISSION_REF_INVALID,
          message: `the replacement submission is not valid: ${check.issues.map((i) => i.path ?? i.message).join(', ')}`,
          nonRetryable: true,
          details: [check.issues],
        });
      }
      const now = gate('replace');
      if (now) refuse(now);
      const version = state.version + 1;
      const workflowId = deliveryWorkflowId(state.documentId, version);
      const recipientOds = check.recipientOds ?? state.recipientOds;
      const senderOds = check.senderOds ?? state.senderOds;
      // The replacement keeps the SenderReference (the encounter id the API set at start): the inbound
      // router's second correlation key.
      const senderReference = workflowInfo().typedSearchAttributes.get(SenderReferenceKey);
      try {
        await startChild(sendDocumentWorkflow, {
          workflowId,
          args: [
            {
              documentId: state.documentId,
              version,
              senderOds,
              recipientOds,
              submissionRef: u.submissionRef,
              deadlines: state.deadlines,
              submittedAt: nowIso(),
              replaces: { documentId: state.documentId, version: state.version, workflowId: state.workflowId },
              ...(input.historyEventLimit ? { historyEventLimit: input.historyEventLimit } : {}),
              ...(input.deadlineBounds ? { deadlineBounds: input.deadlineBounds } : {}),
            },
          ],
          // The replacement lives its own life: it must outlast this workflow's window.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: [
            { key: DeliveryStatusKey, value: 'SENDING' },
            { key: RecipientOdsKey, value: recipientOds },
            { key: SenderOdsKey, value: senderOds },
            ...(senderReference ? [{ key: SenderReferenceKey, value: senderReference }] : []),
          ],
        });
      } catch (err) {
        if (isCancellation(err)) throw err;
        refuse(operatorRefusal('REPLACEMENT_NOT_STARTED', { workflowId }));
      }
      state.replacement = { workflowId, version, requestedBy: who.actor, requestedAt: nowIso() };
      record('OPERATOR', `${unverifiedPrefix(who)}replacement version ${version} started as ${workflowId}`, { ...actorFields(who), reason: u.reason });
      move('REPLACE', `replacement by ${who.actor}`);
      wait('REPLACEMENT_OUTCOME');
      changes++;
      return answer('replace', { replacementWorkflowId: workflowId, replacementVersion: version, ...actorAnswer(who) });
    }),
    { validator: (u) => rejectIf([...actorProblems(u), ...contentRefProblems(u?.submissionRef, 'submissionRef')], gate('replace')) },
  );

  setHandler(
    abandonUpdate,
    (u) =>
      withActor('abandon', u, () => gate('abandon'), (who) => {
        record('OPERATOR', `${unverifiedPrefix(who)}abandoned`, { attempt: state.currentAttempt || undefined, ...actorFields(who), reason: u.reason });
        move('ABANDON', `abandoned by ${who.actor}: ${u.reason}`);
        wait('NOTHING');
        changes++;
        return answer('abandon', actorAnswer(who));
      }),
    { validator: (u) => rejectIf(actorProblems(u), gate('abandon')) },
  );

  setHandler(
    acknowledgeEscalationUpdate,
    (u) =>
      withActor('acknowledgeEscalation', u, () => gate('acknowledgeEscalation', { escalationId: u.escalationId }), (who) => {
        const open = openEscalation()!;
        open.acknowledged = { actor: who.actor, note: u.note, at: nowIso() };
        delete open.nextReminderAt;
        record('OPERATOR', `${unverifiedPrefix(who)}escalation acknowledged: reminders stop`, { attempt: open.attempt, ...actorFields(who), reason: u.note, escalationId: open.id });
        changes++;
        return answer('acknowledgeEscalation', actorAnswer(who));
      }),
    { validator: (u) => rejectIf(actorProblems(u, 'note'), gate('acknowledgeEscalation', { escalationId: u?.escalationId })) },
  );

  setHandler(
    changeDeadlinesUpdate,
    (u) => withActor('changeDeadlines', u, () => gate('changeDeadlines'), (who) => {
      const changed = Object.fromEntries(Object.entries(u.deadlines).filter(([, v]) => v !== undefined));
      state.deadlines = { ...state.deadlines, ...changed };
      const attempt = current();
      // Acknowledgement deadlines stay measured from the MESH send time of the current attempt.
      if (state.status === 'AWAITING_INFRASTRUCTURE_ACK' && attempt?.sentAt) wait('INFRASTRUCTURE_ACK', Date.parse(attempt.sentAt) + state.deadlines.infrastructureAckMs);
      if (state.status === 'AWAITING_BUSINESS_ACK' && attempt?.sentAt) wait('BUSINESS_ACK', Date.parse(attempt.sentAt) + state.deadlines.businessAckMs);
      const open = openEscalation();
      if (open && !open.acknowledged && changed.reminderIntervalMs !== undefined) {
        const next = isoOrUndefined(Date.now() + state.deadlines.reminderIntervalMs);
        if (next !== undefined) open.nextReminderAt = next;
      }
      record('OPERATOR', `${unverifiedPrefix(who)}deadlines changed: ${Object.entries(changed).map(([k, v]) => `${k}=${String(v)}`).join(', ')}`, { ...actorFields(who), reason: u.reason });
      changes++;
      return answer('changeDeadlines', actorAnswer(who));
    }),
    { validator: (u) => rejectIf([...actorProblems(u), ...deadlineProblems(u?.deadlines, input.deadlineBounds)], gate('changeDeadlines')) },
  );

  // ---- main loop --------------------------------------------------------------------------------
  if (carried) {
    record('CONTINUED', `run ${state.run} of this delivery (history kept small by continue-as-new; state carried over)`);
  } else {
    record('SUBMITTED', `document version ${state.version}${state.replaces ? `, replacing version ${state.replaces.version}` : ''}`);
    newAttempt('INITIAL', undefined, input.firstAttempt);
    // Started by the API with this attempt's attributes already set (firstAttemptSearchAttributes):
    // nothing to upsert before the send. Decided from the input and the start event, so it replays the
    // same way, and workflows started without them (older ones, child deliveries) upsert as before.
    if (input.firstAttempt) {
      const first = publishable();
      if (startedWith(first.pairs)) lastPublished = first.key;
    }
  }
  publish();

  const historyLimit = input.historyEventLimit ?? DEFAULT_HISTORY_EVENT_LIMIT;
  for (;;) {
    while (inbox.length > 0) {
      const item = inbox.shift()!;
      if (item.kind === 'response') onResponse(item.response);
      else if (item.kind === 'report') onReport(item.report);
      else onReplacementOutcome(item.outcome);
    }
    if (!ended) fireDueTimers();
    publish();
    await drainOutbox();

    if (!ended && (state.status === 'ABANDONED' || state.status === 'VOIDED')) move('END', state.status.toLowerCase());
    if (ended) {
      // Let accepted update handlers finish (and their answers go out) before the workflow closes.
      await condition(allHandlersFinished);
      await drainOutbox();
      publish();
      log.info('delivery ended', { workflowId: state.workflowId, status: state.status, attempts: state.attempts.length });
      return result();
    }
    if (trackingDue.length > 0) {
      await trackOverdue(trackingDue.shift()!);
      continue;
    }
    if (state.status === 'SENDING' && !current()?.sentAt) {
      await sendCurrent();
      continue;
    }

    const info = workflowInfo();
    if ((info.continueAsNewSuggested || info.historyLength >= historyLimit) && inbox.length === 0 && outbox.length === 0 && trackingDue.length === 0) {
      await condition(allHandlersFinished);
      if (inbox.length === 0 && outbox.length === 0 && state.status !== 'SENDING') {
        record('CONTINUED', `continuing as new after ${info.historyLength} history events`);
        const { carryOver: _previous, ...rest } = input;
        await continueAsNew<typeof sendDocumentWorkflow>({
          ...rest,
          carryOver: { state, seenResponseIds: [...seenResponses], seenReportIds: [...seenReports] },
        });
      }
      continue;
    }

    const seen = changes;
    const wake = () => inbox.length > 0 || outbox.length > 0 || changes !== seen;
    const due = nextDue();
    if (due === undefined) await condition(wake);
    else {
      const ms = due - Date.now();
      if (ms > 0) await condition(wake, ms);
    }
  }
}
