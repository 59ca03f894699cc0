/**
 * consultationWorkflow: one long-lived workflow per consultation in a sending system
 * (GP Connect Send Document "Triggers and timing" and "Document replacement").
 *
 * Trigger: signal-with-start of `consultationEvent` by the HTTP API for every event of the consultation:
 * saved (a claim check to the new content), finalised (send now), deleted, registeredHere.
 * Id: `consultationWorkflowId(senderOds, consultationId)` from contracts/consultation.ts.
 * Signals: consultationEvent (idempotent on eventId). Queries: consultationView.
 * Search attributes: ConsultationStatus, SendDueAt ("waiting to send" in the Web UI), SenderOds, RecipientOds.
 *
 * What it does:
 * - Each save restarts a durable window (default 3 h, GPCM-SD-CS-075/076); when it ends (or at once
 *   after `finalised`) the latest content is sent by a child `sendDocumentWorkflow` as version 1 of a
 *   new document. Only the latest content is ever sent.
 * - A save after that becomes a replacement: same document id, version + 1, relatesTo the version on
 *   the practice record (GPCM-SD-126..132 in 1.3.1). One delivery at a time: a replacement waits for the
 *   outcome of the delivery in flight, because it may only replace a document the practice has filed.
 *   If nothing is on the record (rejected, abandoned, voided), the next send is a new document, version 1.
 *   A replacement later than 24 h after the original is sent with a warning (GPCM-SD-037 = 1.3.1 130).
 * - A delivery that ends VOIDED (or with 20014) marks it and the version it replaced void, and escalates
 *   (GPCM-SD-034/035 = 1.3.1 127/128).
 * - Registered here (GPCM-SD-CS-069): nothing is sent while it holds; content keeps being recorded.
 * - Deleted: nothing more is sent; if a version was reported (delivered or in flight) an escalation tells
 *   an operator what to do (GPCM-SD-CS-077 = 1.3.1 135). The workflow ends once no delivery is in flight.
 * - Continue-as-new at quiet points (no delivery in flight) with the whole state carried over; after a
 *   long idle period it completes as RETIRED, and the API resumes it from that result on a later event.
 *
 * Outcome (returned): the final view, status DELETED or RETIRED. Patient data never enters this
 * workflow: content travels as claim checks, texts name ids, codes and ODS codes only.
 *
 * The rules live in the pure case (workflows/consultation-case.ts); this file is the shell that feeds it
 * events (signals, activity and child results), asks it for the next step, performs its effects in the
 * order given, and keeps the Web UI's current details up to date (workflows/metadata.ts).
 */
import {
  type ChildWorkflowHandle,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { failureName } from './failure';
import { ESCALATION_ACTIVITY, STORE_ACTIVITY } from './activity-profiles';
import { ConsultationStatusKey, RecipientOdsKey, SendDueAtKey, SenderOdsKey } from '../contracts/search-attributes';
import type { ConsultationView, ConsultationWorkflowInput, PrepareConsultationSubmissionResult } from '../contracts/consultation';
import type { DeliveryResult, SendDocumentInput } from '../contracts/delivery';
import { consultationEventSignal, consultationViewQuery } from './consultation-definitions';
import { ConsultationCase, type ConsultationEffect, type ConsultationStep, type SearchAttributesEffect, type StartDeliveryEffect } from './consultation-case';
import { consultationDetails, type ConsultationWaiting } from './metadata';
import { deliveryStaticDetails } from './delivery-metadata';

/** The delivery workflow, started by its type name: its implementation is another module's business. */
type DeliveryWorkflow = (input: SendDocumentInput) => Promise<DeliveryResult>;
const DELIVERY_WORKFLOW_TYPE = 'sendDocumentWorkflow';

const DEFAULT_HISTORY_EVENT_LIMIT = 2000;

const store = proxyActivities<Activities>(STORE_ACTIVITY);
const notify = proxyActivities<Activities>(ESCALATION_ACTIVITY);
const HOUR_MS = 3_600_000;

/** The current step in the words of the Web UI's current details. */
function waitingOf(step: ConsultationStep): ConsultationWaiting {
  switch (step.kind) {
    case 'wait':
      return step.for === 'deliveryOutcome' ? { for: 'deliveryOutcome' } : { for: step.for, until: step.until };
    case 'settle':
      return { for: 'nothing', doing: 'recording a delivery outcome' };
    case 'noticeDeletion':
      return { for: 'nothing', doing: 'deleted: telling an operator if anything was reported' };
    case 'end':
      return { for: 'nothing', doing: 'deleted: finishing' };
    case 'send':
      return { for: 'nothing', doing: 'sending the waiting content' };
    case 'continueAsNew':
      return { for: 'nothing', doing: 'continuing as a new run to keep history small' };
    default: {
      const unknown: never = step;
      return unknown;
    }
  }
}

export async function consultationWorkflow(input: ConsultationWorkflowInput): Promise<ConsultationView> {
  const { workflowId } = workflowInfo();
  const kase = new ConsultationCase(input, workflowId, Date.now());

  const upsert = (e: SearchAttributesEffect): void => {
    upsertSearchAttributes([
      { key: ConsultationStatusKey, value: e.status },
      { key: SendDueAtKey, value: e.sendDueAt ? new Date(e.sendDueAt) : null },
      ...(e.senderOds ? [{ key: SenderOdsKey, value: e.senderOds }] : []),
      ...(e.recipientOds ? [{ key: RecipientOdsKey, value: e.recipientOds }] : []),
    ]);
  };

  /** Performs effects one after another, in the case's order: that order is the order of commands in history. */
  const perform = async (effects: ConsultationEffect[]): Promise<void> => {
    for (const effect of effects) {
      switch (effect.type) {
        case 'searchAttributes':
          upsert(effect);
          break;
        case 'escalate': {
          const { escalationId, documentId, code } = effect.escalation;
          log.warn('consultation escalation', { workflowId, escalationId, documentId: documentId || undefined, version: effect.version, code });
          // The escalation id without the workflow id: it names the case (e.g. voided-<document>-v2).
          const summary = `escalate to an operator: ${escalationId.slice(workflowId.length + 1)}`;
          await notify.raiseEscalation.executeWithOptions({ summary }, [effect.escalation]);
          break;
        }
        case 'startDelivery':
          await startDelivery(effect);
          break;
        default: {
          const unknown: never = effect;
          throw new Error(`unknown effect ${(unknown as { type?: string }).type ?? ''}`);
        }
      }
    }
  };

  const startDelivery = async ({ index, workflowId: childId, input: deliveryInput }: StartDeliveryEffect): Promise<void> => {
    let started: ChildWorkflowHandle<DeliveryWorkflow>;
    try {
      started = await startChild<DeliveryWorkflow>(DELIVERY_WORKFLOW_TYPE, {
        workflowId: childId,
        args: [deliveryInput],
        // A delivery outlives a deleted or retired consultation: it may be waiting for acknowledgements.
        parentClosePolicy: 'ABANDON',
        staticSummary: `delivery of document ${deliveryInput.documentId} v${deliveryInput.version} to ${deliveryInput.recipientOds}${deliveryInput.replaces ? `, replacing v${deliveryInput.replaces.version}` : ''} (consultation ${input.consultationId})`,
        staticDetails: deliveryStaticDetails({ ...deliveryInput, workflowId: childId }),
      });
    } catch (err) {
      await perform(kase.apply({ type: 'deliveryNotStarted', index, failure: failureName(err) }, Date.now()));
      return;
    }
    void started.result().then(
      (result) => void kase.apply({ type: 'deliveryFinished', index, result }, Date.now()),
      (err: unknown) => void kase.apply({ type: 'deliveryFailed', index, failure: failureName(err) }, Date.now()),
    );
    await perform(kase.apply({ type: 'deliveryStarted', index }, Date.now()));
  };

  /** Sends the waiting content as the next version (or drops it with an escalation if it cannot pass). */
  const send = async (): Promise<void> => {
    const plan = kase.planSend(uuid4);
    let result: PrepareConsultationSubmissionResult;
    try {
      const { documentId, version } = plan.prepare;
      const summary = `prepare document ${documentId} v${version} from the content of event ${plan.pending.eventId}`;
      result = await store.prepareConsultationSubmission.executeWithOptions({ summary }, [plan.prepare]);
    } catch (err) {
      result = { valid: false, issues: [{ message: `preparing the submission failed: ${(err as Error).name}` }] };
    }
    await perform(kase.apply({ type: 'prepared', plan, result }, Date.now()));
  };

  setHandler(consultationViewQuery, () => kase.view);
  // Signal effects are search-attribute upserts only: synchronous, so they land in this handler's activation.
  setHandler(consultationEventSignal, (event) => void perform(kase.apply(event, Date.now())));

  /** Current details for the Web UI: no commands, so showing them never changes what history records. */
  const show = (waiting: ConsultationWaiting): void => setCurrentDetails(consultationDetails(kase.view, waiting));

  const historyTooLong = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > (input.historyEventLimit ?? DEFAULT_HISTORY_EVENT_LIMIT);
  };

  await perform(kase.publish(Date.now()));
  for (;;) {
    const step = kase.nextStep(Date.now(), { historyTooLong: historyTooLong() });
    if (step.kind !== 'wait') show(waitingOf(step));
    switch (step.kind) {
      case 'settle':
        await perform(kase.settleNext(Date.now()));
        break;
      case 'noticeDeletion':
        await perform(kase.noticeDeletion(Date.now()));
        break;
      case 'end':
        await perform(kase.publish(Date.now()));
        show({ for: 'nothing', doing: 'deleted: closed' });
        return kase.view;
      case 'send':
        await send();
        break;
      case 'continueAsNew': {
        // A quiet point: no delivery whose result only this run could receive. Let handlers finish first.
        await condition(allHandlersFinished);
        const carryOver = kase.continueAsNew(Date.now(), workflowInfo().historyLength);
        if (carryOver) await continueAsNew<typeof consultationWorkflow>({ ...input, settings: kase.view.settings, carryOver });
        break;
      }
      case 'wait': {
        await perform(kase.publish(Date.now()));
        show(waitingOf(step));
        const before = kase.revision;
        const changed = (): boolean => kase.revision !== before;
        if (step.for === 'deliveryOutcome') {
          await condition(changed);
        } else if (step.for === 'sendWindow') {
          const pending = kase.view.pending;
          const summary = `send window ends: send the content of event ${pending?.eventId ?? '?'} to ${pending?.recipientOds ?? '?'}`;
          await condition(changed, step.until - Date.now(), { summary });
        } else {
          const summary = `retire after ${Math.round(kase.view.settings.retireAfterIdleMs / HOUR_MS)} h with no event`;
          const woke = step.until > Date.now() && (await condition(changed, step.until - Date.now(), { summary }));
          if (!woke && !changed()) {
            await condition(allHandlersFinished);
            if (!changed()) {
              await perform(kase.retire(Date.now()));
              show({ for: 'nothing', doing: 'retired: any new event resumes it' });
              return kase.view;
            }
          }
        }
        break;
      }
      default: {
        const unknown: never = step;
        throw new Error(`unknown step ${(unknown as { kind?: string }).kind ?? ''}`);
      }
    }
  }
}
