/**
 * sendDocumentWorkflow: one durable workflow per outbound GP Connect Send Document message.
 *
 * Trigger: the HTTP API / client library, once per (document id, version); a replacement is started as
 * a child by the `replace` update of the delivery it replaces (same id scheme, version + 1).
 * Id: `deliveryWorkflowId(documentId, version)` from contracts/ids.ts.
 * Signals: itk3Response, meshReport, replacementOutcome. Queries: state, timeline, waiting.
 * Updates (validated; each records who and why): the operator actions (delivery-operators.ts).
 * Outcomes (returned, not thrown): DELIVERED, REJECTED, ABANDONED, VOIDED.
 *
 * A thin shell around the pure delivery case (delivery-case.ts), which holds the state and every rule:
 * signal handlers queue what arrived; update handlers (delivery-operators.ts) check the actor and the
 * stored content, then hand the action to the case; the main loop feeds events and due timers to the
 * case and performs the effects it returns (activities, search attributes, signals) in a fixed order:
 * the commands of every path stay what they were, so histories recorded before replay unchanged.
 * The clinical document never passes through history: only claim-check references to the content store.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import type { Activities } from '../activities';
import { failureType } from './failure';
import { ESCALATION_ACTIVITY, STORE_ACTIVITY } from './activity-profiles';
// Values come from the search-attribute module and pure helpers alone; everything else is type-only, so
// that no zod schema is instantiated inside the workflow sandbox, where each cached workflow would pay for it.
import * as SA from '../contracts/search-attributes';
import type * as C from '../contracts';
import * as defs from './definitions';
import { DeliveryCase, type CaseAttributes, type CaseEvent, type Effect } from './delivery-case';
import { registerOperatorActions } from './delivery-operators';
import { buildAndSendSummary, buildSummary, deliveryDetails, deliveryTimerSummary, escalationSummary, sendSummary, trackSummary, type DeliveryDetailsInput } from './delivery-metadata';

const store = proxyActivities<Activities>(STORE_ACTIVITY);
const mesh = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // sendMeshMessage and buildAndSendItk3Message heartbeat while they work: a dead worker's attempt is retried after 30 s, and a live
  // attempt learns through the heartbeat that it was timed out, so it stops before posting.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});
/** MESH outbox tracking: asked once per overdue attempt, a few tries at most, so a MESH outage never holds the workflow up for long. */
const tracking = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 } });
const notify = proxyActivities<Activities>(ESCALATION_ACTIVITY);

/** Continue as new past this many history events unless the server suggests it earlier. */
const DEFAULT_HISTORY_EVENT_LIMIT = 2000;
/** patched() ids: each guards a change to the commands this workflow issues, so older histories replay. */
const PATCH_MESH_TRACKING = 'mesh-tracking-on-no-ack';
/** An acknowledgement contradicting an earlier one of the same level escalates (it was recorded only before). */
const PATCH_ACK_CONFLICT = 'ack-conflict-escalates';
/** Build and send as one activity, where the input asks for it (see `send`). */
const PATCH_ONE_ACTIVITY_SEND = 'build-and-send-in-one-activity';

type Inbound = Extract<CaseEvent, { type: 'RESPONSE' | 'MESH_REPORT' | 'REPLACEMENT_OUTCOME' }>;
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
    // Only the attributes visibility does not hold already: the server merges an upsert into what the
    // workflow has, so the rest would only make the event, and the server's checks of it, bigger. When an
    // upsert is issued is decided above, as it always was (replay compares that, never an upsert's content);
    // the rare upsert that would change nothing sends the whole set, as before.
    const pairs = pairsOf(a);
    const changed = pairs.filter((p) => !holds(p));
    upsertSearchAttributes(changed.length > 0 ? changed : pairs);
  };
  /** What the Web UI needs now, from the case's view (user metadata only: no command, so replay is unchanged). */
  const detailsInput = (): DeliveryDetailsInput => {
    const s = kase.state;
    const v = kase.view();
    return { ...v, workflowId: s.workflowId, documentId: s.documentId, version: s.version, senderOds: s.senderOds, recipientOds: s.recipientOds, attempt: s.currentAttempt };
  };
  let lastDetails = '';
  const explain = (): void => {
    const text = deliveryDetails(detailsInput());
    if (text !== lastDetails) setCurrentDetails((lastDetails = text));
  };
  /**
   * Does the workflow hold this attribute's value already? It reads what the start event set and this run
   * upserted since (the SDK keeps them in `workflowInfo`), so replay answers the same.
   */
  const holds = ({ key, value }: SearchAttributePair): boolean => {
    const have: unknown = workflowInfo().typedSearchAttributes.get(key as never);
    const unset = value === null || value === '' || (Array.isArray(value) && value.length === 0);
    return (unset && have === undefined) || (have !== undefined && JSON.stringify(have) === JSON.stringify(value));
  };
  /** True when the workflow was started with every attribute `publish` would set now. */
  const startedWith = (pairs: SearchAttributePair[]): boolean => pairs.every(holds);

  setHandler(defs.stateQuery, () => kase.state);
  setHandler(defs.timelineQuery, () => kase.state.timeline);
  setHandler(defs.waitingQuery, () => kase.waiting());
  setHandler(defs.itk3ResponseSignal, (response) => void inbox.push({ type: 'RESPONSE', response }));
  setHandler(defs.meshReportSignal, (report) => void inbox.push({ type: 'MESH_REPORT', report }));
  setHandler(defs.replacementOutcomeSignal, (outcome) => void inbox.push({ type: 'REPLACEMENT_OUTCOME', outcome }));
  registerOperatorActions({ kase, input, apply, changed: () => void changes++ });

  // ---- effects ----------------------------------------------------------------------------------
  const drainOutbox = async (): Promise<void> => {
    for (let e = outbox.shift(); e; e = outbox.shift()) {
      if (e.kind === 'NOTIFY') {
        const key = kase.state.escalations.find((x) => x.id === e.escalation.escalationId)?.key;
        await notify.raiseEscalation.executeWithOptions({ summary: escalationSummary(e.escalation, key) }, [e.escalation]);
      }
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
      explain();
      // One activity where the input asks for it: one activity and one workflow task less per send. The API
      // sets the field, so it decides when new deliveries start using it. The patch guards the history: a
      // worker without this code ignores the field and schedules two activities, and a history it made has
      // no marker, so this code, replaying it, takes the two activities again whatever the input says.
      // Workers and the API can so be upgraded in any order, for one marker event per delivery (and the
      // SDK's upsert of TemporalChangeVersion that names the patch).
      if (input.sendInOneActivity && patched(PATCH_ONE_ACTIVITY_SEND)) {
        // An activity's input is not compared on replay, so a history scheduled without `messageRef` replays.
        const done = await mesh.buildAndSendItk3Message.executeWithOptions({ summary: buildAndSendSummary(job.attempt) }, [
          { submissionRef: job.submissionRef, attempt: job.attempt, messageHeaderId: job.messageHeaderId, bundleIdentifier: job.bundleIdentifier, ...(job.messageRef ? { messageRef: job.messageRef } : {}) },
        ]);
        apply({ type: 'BUILT', sizeBytes: done.sizeBytes, meshWorkflowId: done.meshWorkflowId });
        apply({ type: 'SENT', meshMessageId: done.meshMessageId, sentAt: done.sentAt, ...(done.routing ? { routing: done.routing } : {}), ...(done.recipientMailbox ? { recipientMailbox: done.recipientMailbox } : {}) });
        return;
      }
      const built = await store.buildItk3Message.executeWithOptions({ summary: buildSummary(job.attempt) }, [{ submissionRef: job.submissionRef, attempt: job.attempt, messageHeaderId: job.messageHeaderId, bundleIdentifier: job.bundleIdentifier }]);
      apply({ type: 'BUILT', sizeBytes: built.sizeBytes, meshWorkflowId: built.meshWorkflowId });
      const sent = await mesh.sendMeshMessage.executeWithOptions({ summary: sendSummary(job.attempt) }, [{ messageRef: built.messageRef, messageHeaderId: job.messageHeaderId, attempt: job.attempt }]);
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
      result = await tracking.trackMeshMessage.executeWithOptions({ summary: trackSummary(attempt) }, [{ meshMessageId, attempt }]);
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
    explain();
    await drainOutbox();
    if (kase.ended) {
      // Let accepted update handlers finish (and their answers go out) before the workflow closes.
      await condition(allHandlersFinished);
      await drainOutbox();
      publish();
      explain();
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
    explain();
    if (due === undefined) await condition(wake);
    else if (due - Date.now() > 0) await condition(wake, due - Date.now(), { summary: deliveryTimerSummary(detailsInput()) });
  }
}
