/**
 * sendDocumentWorkflow: one durable workflow per outbound GP Connect Send Document message.
 *
 * Trigger: the HTTP API / client library, once per (document id, version); a replacement is started as
 * a child by the `replace` update of the delivery it replaces (same id scheme, version + 1).
 * Id: `deliveryWorkflowId(documentId, version)` from contracts/ids.ts.
 * Signals: itk3Response, meshReport, replacementOutcome. Queries: state, timeline, waiting.
 * Updates (validated; each records who and why): the operator actions of `OPERATOR_ACTIONS`.
 * Outcomes (returned, not thrown): DELIVERED, REJECTED, ABANDONED, VOIDED.
 *
 * A thin shell around the pure delivery case (delivery-case.ts), which holds the state and every rule:
 * signal handlers queue what arrived, update handlers check the actor and the stored content, then hand
 * the action to the case; the main loop feeds events and due timers to the case and performs the effects
 * it returns (activities, search attributes, signals), in a fixed order so that histories replay.
 * The clinical document never passes through history: only claim-check references to the content store.
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
import type { SearchAttributePair, UpdateDefinition } from '@temporalio/common';
import type { Activities } from '../activities';
import { failureType } from './failure';
import { ESCALATION_ACTIVITY, STORE_ACTIVITY } from './activity-profiles';
// Values come from the search-attribute module and pure helpers alone; everything else is type-only,
// so that no zod schema is instantiated inside the workflow sandbox (sdk-typescript#2227).
import * as SA from '../contracts/search-attributes';
import type * as C from '../contracts';
import * as defs from './definitions';
import { DeliveryCase, type Actor, type CaseAttributes, type CaseEvent, type Effect, type OperatorEvent } from './delivery-case';
import { OPERATOR_ACTIONS, type OperatorAction, type RefusalOptions } from './delivery-machine';
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
const tracking = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 } });
const notify = proxyActivities<Activities>(ESCALATION_ACTIVITY);
/** Actor tokens are checked by an activity (no crypto in the sandbox): a few quick tries, then "unverified". */
const identity = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 } });

/** Continue as new past this many history events unless the server suggests it earlier. */
const DEFAULT_HISTORY_EVENT_LIMIT = 2000;
/** patched() ids: each guards a change to the commands this workflow issues, so older histories replay. */
const PATCH_MESH_TRACKING = 'mesh-tracking-on-no-ack';
/** An acknowledgement contradicting an earlier one of the same level escalates (it was recorded only before). */
const PATCH_ACK_CONFLICT = 'ack-conflict-escalates';
/** Operator updates verify their actor token (an activity) before they act; older histories took the name as given. */
const PATCH_ACTOR_TOKEN = 'operator-actor-token';

type Inbound = Extract<CaseEvent, { type: 'RESPONSE' | 'MESH_REPORT' | 'REPLACEMENT_OUTCOME' }>;
interface Inputs {
  correct: C.CorrectInput;
  resend: C.ResendInput;
  replace: C.ReplaceInput;
  abandon: C.AbandonInput;
  acknowledgeEscalation: C.AcknowledgeEscalationInput;
  changeDeadlines: C.ChangeDeadlinesInput;
}
/** How the workflow serves one operator action: its update, the input checks, and the case event it makes. */
interface OperatorHandler<A extends OperatorAction> {
  update: UpdateDefinition<C.OperatorActionResult, [Inputs[A]]>;
  problems(u: Inputs[A] | undefined): string[];
  opts?(u: Inputs[A] | undefined): RefusalOptions;
  event(u: Inputs[A], who: Actor): OperatorEvent | Promise<OperatorEvent>;
}

/** What the search attributes say, as the pairs to upsert (no patient data: states, ids, ODS codes). */
const pairsOf = (a: CaseAttributes): SearchAttributePair[] =>
  [
    { key: SA.DeliveryStatusKey, value: a.status },
    { key: SA.WaitingForKey, value: a.waitingFor },
    { key: SA.EscalatedKey, value: a.escalated },
    { key: SA.AttemptCountKey, value: a.attempts },
    { key: SA.Itk3MessageIdKey, value: a.itk3 },
    { key: SA.Itk3MessageIdsKey, value: a.itk3All },
    { key: SA.MeshMessageIdKey, value: a.meshId },
    // No MESH id exists before the first send; from then on the router finds a REPORT for any attempt by it.
    ...(a.meshAll.length > 0 ? [{ key: SA.MeshMessageIdsKey, value: a.meshAll }] : []),
    { key: SA.RecipientOdsKey, value: a.recipientOds },
    { key: SA.SenderOdsKey, value: a.senderOds },
    { key: SA.AckDeadlineKey, value: a.until ? new Date(a.until) : null },
  ] as SearchAttributePair[];

export async function sendDocumentWorkflow(input: C.SendDocumentInput): Promise<C.DeliveryResult> {
  const kase = new DeliveryCase(input, workflowInfo().workflowId, { newId: uuid4, ackConflictEscalates: () => patched(PATCH_ACK_CONFLICT) });
  const inbox: Inbound[] = [];
  /** Notifications and signals, performed in order at the top of every loop turn. */
  const outbox: Effect[] = [];
  /** Sends and MESH tracking, one per loop turn once the outbox is empty. */
  const work: Effect[] = [];
  /** Bumped by every update handler, so the main loop wakes up to re-plan its timers. */
  let changes = 0;
  let lastPublished = '';

  const apply = (event: CaseEvent, now = Date.now()): void => {
    for (const e of kase.apply(event, now)) (e.kind === 'SEND' || e.kind === 'TRACK' ? work : outbox).push(e);
  };
  const publish = (): void => {
    const a = kase.searchAttributes();
    const key = JSON.stringify(a);
    if (key === lastPublished) return; // every upsert is a command in history: only when something changed
    lastPublished = key;
    upsertSearchAttributes(pairsOf(a));
  };
  /** True when the workflow was started with every attribute `publish` would set now (read from the start event, so replay decides the same). */
  const startedWith = (pairs: SearchAttributePair[]): boolean =>
    pairs.every(({ key, value }) => {
      const have: unknown = workflowInfo().typedSearchAttributes.get(key as never);
      const unset = value === null || value === '' || (Array.isArray(value) && value.length === 0);
      return (unset && have === undefined) || (have !== undefined && JSON.stringify(have) === JSON.stringify(value));
    });
  const refuse = (reason: OperatorRefusalReason): never => {
    throw refusalFailure(reason);
  };

  /**
   * Who an operator update is recorded for. The API attaches a token binding the authenticated principal
   * to this workflow and update; an activity checks it at this workflow's time. Verified: the principal,
   * whatever name the payload claims. Otherwise the claimed name, marked unverified: anyone who can reach
   * Temporal's frontend can send an update naming anyone.
   */
  const checkActor = async (update: OperatorAction, u: { actor: string; actorToken?: unknown }): Promise<Actor> => {
    const at = Date.now();
    const token = typeof u.actorToken === 'string' && u.actorToken !== '' && u.actorToken.length <= 2048 ? u.actorToken : undefined;
    let outcome: C.VerifyActorTokenResult;
    try {
      outcome = await identity.verifyActorToken({ ...(token ? { token } : {}), claimedActor: u.actor, workflowId: kase.state.workflowId, update, at });
    } catch (err) {
      if (isCancellation(err)) throw err;
      outcome = { verified: false, reason: 'invalid token: it could not be checked' };
      log.warn('unverified actor on an operator update', { workflowId: kase.state.workflowId, update, claimedActor: u.actor, reason: outcome.reason });
    }
    if (outcome.verified) return { actor: outcome.principal, verified: true };
    apply({ type: 'ACTOR_UNVERIFIED', update, claimedActor: u.actor, reason: outcome.reason }, at);
    return { actor: u.actor, verified: false, unverifiedReason: outcome.reason };
  };
  /** A corrected or replacement submission, re-read and validated by an activity; refused (and recorded) when invalid. */
  const checkSubmission = async (action: 'correct' | 'replace', u: C.CorrectInput | C.ReplaceInput, who: Actor): Promise<C.CheckStoredSubmissionResult> => {
    const { documentId, version, submissionRef } = kase.state;
    const purpose = action === 'correct' ? 'CORRECTION' : 'REPLACEMENT';
    const check = await store.checkStoredSubmission({ submissionRef: u.submissionRef, purpose, documentId, version, ...(action === 'replace' ? { currentSubmissionRef: submissionRef } : {}) });
    if (check.valid) return check;
    apply({ type: 'SUBMISSION_REFUSED', action, who, reason: u.reason, issues: check.issues });
    changes++;
    throw ApplicationFailure.create({
      type: 'SUBMISSION_REF_INVALID',
      message: `the ${action === 'correct' ? 'corrected' : 'replacement'} submission is not valid: ${check.issues.map((i) => i.path ?? i.message).join(', ')}`,
      nonRetryable: true,
      details: [check.issues],
    });
  };
  /** Starts the replacement as its own delivery (version + 1), which outlives this one and reports back. */
  const startReplacement = async (u: C.ReplaceInput, check: C.CheckStoredSubmissionResult): Promise<{ workflowId: string; version: number }> => {
    const s = kase.state;
    const plan = kase.replacementPlan(check);
    // It keeps the SenderReference (the encounter id the API set at start): the inbound router's second correlation key.
    const senderReference = workflowInfo().typedSearchAttributes.get(SA.SenderReferenceKey);
    const { historyEventLimit, deadlineBounds } = input;
    try {
      await startChild(sendDocumentWorkflow, {
        workflowId: plan.workflowId,
        args: [{ documentId: s.documentId, version: plan.version, senderOds: plan.senderOds, recipientOds: plan.recipientOds, submissionRef: u.submissionRef, deadlines: s.deadlines, submittedAt: new Date().toISOString(), replaces: { documentId: s.documentId, version: s.version, workflowId: s.workflowId }, ...(historyEventLimit ? { historyEventLimit } : {}), ...(deadlineBounds ? { deadlineBounds } : {}) }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [{ key: SA.DeliveryStatusKey, value: 'SENDING' }, { key: SA.RecipientOdsKey, value: plan.recipientOds }, { key: SA.SenderOdsKey, value: plan.senderOds }, ...(senderReference ? [{ key: SA.SenderReferenceKey, value: senderReference }] : [])],
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      refuse(operatorRefusal('REPLACEMENT_NOT_STARTED', { workflowId: plan.workflowId }));
    }
    return plan;
  };

  const handlers: { [A in OperatorAction]: OperatorHandler<A> } = {
    resend: {
      update: defs.resendUpdate,
      problems: (u) => actorProblems(u),
      opts: (u) => ({ override: u?.overrideBusinessRejection === true }),
      event: (u, who) => ({ type: 'OPERATOR', action: 'resend', who, reason: u.reason, override: u.overrideBusinessRejection === true }),
    },
    correct: {
      update: defs.correctUpdate,
      problems: (u) => [...actorProblems(u), ...contentRefProblems(u?.submissionRef, 'submissionRef')],
      event: async (u, who) => {
        const check = await checkSubmission('correct', u, who);
        // The state may have moved while the content was checked; the route is known only now.
        const override = u.overrideBusinessRejection === true;
        const now = kase.refusal('correct', { override, recipientOds: check.recipientOds ?? kase.state.recipientOds });
        if (now) refuse(now);
        const { recipientOds, senderOds } = check;
        return { type: 'OPERATOR', action: 'correct', who, reason: u.reason, override, submissionRef: u.submissionRef, ...(recipientOds ? { recipientOds } : {}), ...(senderOds ? { senderOds } : {}) };
      },
    },
    replace: {
      update: defs.replaceUpdate,
      problems: (u) => [...actorProblems(u), ...contentRefProblems(u?.submissionRef, 'submissionRef')],
      event: async (u, who) => {
        const check = await checkSubmission('replace', u, who);
        const now = kase.refusal('replace');
        if (now) refuse(now);
        return { type: 'OPERATOR', action: 'replace', who, reason: u.reason, ...(await startReplacement(u, check)) };
      },
    },
    abandon: { update: defs.abandonUpdate, problems: (u) => actorProblems(u), event: (u, who) => ({ type: 'OPERATOR', action: 'abandon', who, reason: u.reason }) },
    acknowledgeEscalation: {
      update: defs.acknowledgeEscalationUpdate,
      problems: (u) => actorProblems(u, 'note'),
      opts: (u) => ({ ...(u?.escalationId ? { escalationId: u.escalationId } : {}) }),
      event: (u, who) => ({ type: 'OPERATOR', action: 'acknowledgeEscalation', who, note: u.note }),
    },
    changeDeadlines: {
      update: defs.changeDeadlinesUpdate,
      problems: (u) => [...actorProblems(u), ...deadlineProblems(u?.deadlines, input.deadlineBounds)],
      event: (u, who) => ({ type: 'OPERATOR', action: 'changeDeadlines', who, reason: u.reason, deadlines: u.deadlines }),
    },
  };

  /**
   * One operator update: the validator rejects bad input and refused actions without a trace in history.
   * Accepted, it checks the actor token, checks the state again (it may have moved meanwhile) and hands
   * the action to the case. Histories from before the token check ran the body synchronously: so do they.
   */
  const register = <A extends OperatorAction>(action: A): void => {
    const h: OperatorHandler<A> = handlers[action];
    const finish = (who: Actor, event: OperatorEvent): C.OperatorActionResult => {
      apply(event);
      changes++;
      return kase.answer(action, Date.now(), who);
    };
    const body = (u: Inputs[A], who: Actor): C.OperatorActionResult | Promise<C.OperatorActionResult> => {
      const event = h.event(u, who);
      return 'then' in event ? event.then((e) => finish(who, e)) : finish(who, event);
    };
    setHandler(
      h.update,
      (u) => {
        if (!patched(PATCH_ACTOR_TOKEN)) return body(u, { actor: u.actor });
        return (async () => {
          const who = await checkActor(action, u);
          const now = kase.refusal(action, h.opts?.(u));
          if (now) refuse(now);
          return body(u, who);
        })();
      },
      { validator: (u) => rejectIf(h.problems(u), kase.refusal(action, h.opts?.(u))) },
    );
  };

  setHandler(defs.stateQuery, () => kase.state);
  setHandler(defs.timelineQuery, () => kase.state.timeline);
  setHandler(defs.waitingQuery, () => kase.waiting());
  setHandler(defs.itk3ResponseSignal, (response) => void inbox.push({ type: 'RESPONSE', response }));
  setHandler(defs.meshReportSignal, (report) => void inbox.push({ type: 'MESH_REPORT', report }));
  setHandler(defs.replacementOutcomeSignal, (outcome) => void inbox.push({ type: 'REPLACEMENT_OUTCOME', outcome }));
  for (const action of OPERATOR_ACTIONS) register(action);

  // ---- effects ----------------------------------------------------------------------------------
  const drainOutbox = async (): Promise<void> => {
    for (let e = outbox.shift(); e; e = outbox.shift()) {
      if (e.kind === 'NOTIFY') await notify.raiseEscalation(e.escalation);
      else if (e.kind === 'REPORT_TO_ORIGINAL') {
        try {
          await getExternalWorkflowHandle(e.workflowId).signal(defs.replacementOutcomeSignal, e.outcome);
        } catch (err) {
          if (isCancellation(err)) throw err;
          apply({ type: 'ORIGINAL_UNREACHABLE', status: e.outcome.status });
        }
      }
    }
  };
  const send = async (job: Extract<Effect, { kind: 'SEND' }>): Promise<void> => {
    publish(); // the new attempt's ITK3 ids first, so a response can be routed the moment it exists
    try {
      const built = await store.buildItk3Message({ submissionRef: job.submissionRef, attempt: job.attempt, messageHeaderId: job.messageHeaderId, bundleIdentifier: job.bundleIdentifier });
      apply({ type: 'BUILT', sizeBytes: built.sizeBytes, meshWorkflowId: built.meshWorkflowId });
      const sent = await mesh.sendMeshMessage({ messageRef: built.messageRef, messageHeaderId: job.messageHeaderId, attempt: job.attempt });
      apply({ type: 'SENT', meshMessageId: sent.meshMessageId, sentAt: sent.sentAt, ...(sent.routing ? { routing: sent.routing } : {}), ...(sent.recipientMailbox ? { recipientMailbox: sent.recipientMailbox } : {}) });
    } catch (err) {
      if (isCancellation(err)) throw err;
      apply({ type: 'SEND_FAILED', failureType: failureType(err) });
    }
  };
  const track = async ({ attempt, meshMessageId }: Extract<Effect, { kind: 'TRACK' }>): Promise<void> => {
    if (!patched(PATCH_MESH_TRACKING)) return;
    let result: C.TrackMeshMessageResult;
    try {
      result = await tracking.trackMeshMessage({ meshMessageId, attempt });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return apply({ type: 'TRACKED', attempt, failureType: failureType(err), answered: false });
    }
    const header = kase.state.attempts[attempt - 1]?.messageHeaderId;
    apply({ type: 'TRACKED', attempt, result, answered: inbox.some((i) => i.type === 'RESPONSE' && i.response.respondsTo === header) });
  };

  // ---- main loop --------------------------------------------------------------------------------
  apply({ type: 'START' });
  // Started by the API with the first attempt's attributes already set: nothing to upsert before the send.
  if (!input.carryOver && input.firstAttempt && startedWith(pairsOf(kase.searchAttributes()))) lastPublished = JSON.stringify(kase.searchAttributes());
  publish();

  const historyLimit = input.historyEventLimit ?? DEFAULT_HISTORY_EVENT_LIMIT;
  for (;;) {
    for (let event = inbox.shift(); event; event = inbox.shift()) apply(event);
    apply({ type: 'TIMERS_DUE' });
    publish();
    await drainOutbox();
    if (kase.ended) {
      // Let accepted update handlers finish (and their answers go out) before the workflow closes.
      await condition(allHandlersFinished);
      await drainOutbox();
      publish();
      log.info('delivery ended', { workflowId: kase.state.workflowId, status: kase.state.status, attempts: kase.state.attempts.length });
      return kase.result();
    }
    const job = work.shift();
    if (job?.kind === 'TRACK') await track(job);
    if (job?.kind === 'SEND') await send(job);
    if (job) continue;

    const info = workflowInfo();
    if ((info.continueAsNewSuggested || info.historyLength >= historyLimit) && inbox.length === 0 && outbox.length === 0) {
      await condition(allHandlersFinished);
      if (inbox.length === 0 && outbox.length === 0 && work.length === 0 && kase.state.status !== 'SENDING') {
        apply({ type: 'CONTINUING', historyLength: info.historyLength });
        const { carryOver: _previous, ...rest } = input;
        await continueAsNew<typeof sendDocumentWorkflow>({ ...rest, carryOver: kase.carryOver() });
      }
      continue;
    }
    const seen = changes;
    const wake = (): boolean => inbox.length > 0 || outbox.length > 0 || changes !== seen;
    const due = kase.nextDue();
    if (due === undefined) await condition(wake);
    else if (due - Date.now() > 0) await condition(wake, due - Date.now());
  }
}
