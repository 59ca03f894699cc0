/**
 * The operator actions of a delivery, served as Temporal updates: one typed map keyed by action, each
 * entry naming its update, its input checks and the delivery-case event it makes. Every update is
 * registered the same way: the validator rejects bad input and refused actions without a trace in
 * history; once accepted, the actor token is checked (an activity), the state is checked again (it may
 * have moved meanwhile), and the case applies the action. Correct and replace first re-read and validate
 * their stored submission; replace starts the replacement delivery as a child.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { Activities } from '../activities';
import { STORE_ACTIVITY } from './activity-profiles';
import { DeliveryStatusKey, RecipientOdsKey, SenderOdsKey, SenderReferenceKey } from '../contracts/search-attributes';
import type * as C from '../contracts';
import * as defs from './definitions';
import type { Actor, CaseEvent, DeliveryCase, OperatorEvent } from './delivery-case';
import { OPERATOR_ACTION_NAMES, type OperatorAction, type RefusalOptions } from './delivery-machine';
import { actorProblems, contentRefProblems, deadlineProblems, refusalFailure, rejectIf } from './operator-checks';
import { operatorRefusal, type OperatorRefusalReason } from '../contracts/errors';
import type { sendDocumentWorkflow } from './send-document';
import { deliveryStaticDetails, deliveryStaticSummary } from './delivery-metadata';

const store = proxyActivities<Activities>(STORE_ACTIVITY);
/** Actor tokens are checked by an activity (no crypto in the sandbox): a few quick tries, then "unverified". */
const identity = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3 } });
/** Operator updates verify their actor token (an activity) before they act; older histories took the name as given. */
const PATCH_ACTOR_TOKEN = 'operator-actor-token';

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

/** What the delivery workflow lends its operator actions. */
export interface OperatorContext {
  kase: DeliveryCase;
  input: C.SendDocumentInput;
  /** Applies an event to the case and queues its effects (`now` defaults to the workflow's time). */
  apply(event: CaseEvent, now?: number): void;
  /** Wakes the main loop: the case changed outside it. */
  changed(): void;
}

export function registerOperatorActions({ kase, input, apply, changed }: OperatorContext): void {
  const refuse = (reason: OperatorRefusalReason): never => {
    throw refusalFailure(reason);
  };

  /**
   * Who an operator update is recorded for. The API attaches a token binding the authenticated principal
   * to this workflow and update; the codec server, for an update typed into the Web UI, one binding the
   * signed-in operator to this namespace and the exact input. An activity checks it at this workflow's
   * time, so it gets the input as received and the namespace too. Verified: the principal,
   * whatever name the payload claims. Otherwise the claimed name, marked unverified: anyone who can reach
   * Temporal's frontend can send an update naming anyone.
   */
  const checkActor = async (update: OperatorAction, u: { actor: string; actorToken?: unknown }): Promise<Actor> => {
    const at = Date.now();
    const token = typeof u.actorToken === 'string' && u.actorToken !== '' && u.actorToken.length <= 2048 ? u.actorToken : undefined;
    let outcome: C.VerifyActorTokenResult;
    try {
      outcome = await identity.verifyActorToken({ ...(token ? { token } : {}), claimedActor: u.actor, workflowId: kase.state.workflowId, update, at, namespace: workflowInfo().namespace, input: u });
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
    changed();
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
    const senderReference = workflowInfo().typedSearchAttributes.get(SenderReferenceKey);
    const { historyEventLimit, deadlineBounds, sendInOneActivity } = input;
    try {
      await startChild<typeof sendDocumentWorkflow>('sendDocumentWorkflow', {
        workflowId: plan.workflowId,
        args: [
          {
            documentId: s.documentId,
            version: plan.version,
            senderOds: plan.senderOds,
            recipientOds: plan.recipientOds,
            submissionRef: u.submissionRef,
            deadlines: s.deadlines,
            submittedAt: new Date().toISOString(),
            replaces: { documentId: s.documentId, version: s.version, workflowId: s.workflowId },
            ...(historyEventLimit ? { historyEventLimit } : {}),
            ...(deadlineBounds ? { deadlineBounds } : {}),
            // From this workflow's own input, so a replay makes the same command; a replacement of a delivery
            // started before the one-activity path keeps the two activities too.
            ...(sendInOneActivity ? { sendInOneActivity } : {}),
          },
        ],
        // The replacement lives its own life: it must outlast this workflow's window.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: deliveryStaticSummary({ documentId: s.documentId, version: plan.version, senderOds: plan.senderOds, recipientOds: plan.recipientOds, replaces: { version: s.version } }),
        staticDetails: deliveryStaticDetails({ workflowId: plan.workflowId, documentId: s.documentId, version: plan.version, senderOds: plan.senderOds, recipientOds: plan.recipientOds, replaces: { version: s.version } }),
        typedSearchAttributes: [
          { key: DeliveryStatusKey, value: 'SENDING' },
          { key: RecipientOdsKey, value: plan.recipientOds },
          { key: SenderOdsKey, value: plan.senderOds },
          ...(senderReference ? [{ key: SenderReferenceKey, value: senderReference }] : []),
        ],
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

  /** Histories from before the actor-token check ran the body synchronously, without it: so do they on replay. */
  const register = <A extends OperatorAction>(action: A): void => {
    const h: OperatorHandler<A> = handlers[action];
    const finish = (who: Actor, event: OperatorEvent): C.OperatorActionResult => {
      apply(event);
      changed();
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
  for (const action of OPERATOR_ACTION_NAMES) register(action);
}
