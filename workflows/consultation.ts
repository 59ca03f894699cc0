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
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { failureName } from './failure';
import { ESCALATION_ACTIVITY, STORE_ACTIVITY } from './activity-profiles';
import { deliveryWorkflowId } from '../contracts/ids';
import { ConsultationStatusKey, RecipientOdsKey, SendDueAtKey, SenderOdsKey } from '../contracts/search-attributes';
import type {
  ConsultationCarryOver,
  ConsultationEvent,
  ConsultationStatus,
  ConsultationTimelineEntry,
  ConsultationVersion,
  ConsultationView,
  ConsultationWorkflowInput,
  PendingContent,
  PrepareConsultationSubmissionResult,
} from '../contracts/consultation';
import type { DeliveryResult, SendDocumentInput } from '../contracts/delivery';
import { consultationEventSignal, consultationViewQuery } from './consultation-definitions';

/** The delivery workflow, started by its type name: its implementation is another module's business. */
type DeliveryWorkflow = (input: SendDocumentInput) => Promise<DeliveryResult>;
const DELIVERY_WORKFLOW_TYPE = 'sendDocumentWorkflow';

const TIMELINE_MAX = 200;
const SEEN_EVENTS_MAX = 500;
const DEFAULT_HISTORY_EVENT_LIMIT = 2000;
const VOID_CODE = '20014';

const store = proxyActivities<Activities>(STORE_ACTIVITY);
const notify = proxyActivities<Activities>(ESCALATION_ACTIVITY);

interface Finished {
  index: number;
  result?: DeliveryResult;
  failure?: string;
}

export async function consultationWorkflow(input: ConsultationWorkflowInput): Promise<ConsultationView> {
  const { workflowId } = workflowInfo();
  const nowIso = (): string => new Date().toISOString();
  const carried = input.carryOver;
  const view: ConsultationView = carried
    ? { ...carried.view, workflowId, settings: input.settings, run: carried.view.run + 1 }
    : {
        workflowId,
        senderOds: input.senderOds,
        consultationId: input.consultationId,
        status: 'AWAITING_CONTENT',
        registeredHere: false,
        deleted: false,
        lastEventAt: nowIso(),
        versions: [],
        escalations: [],
        timeline: [],
        settings: input.settings,
        run: 1,
      };
  const seen: string[] = [...(carried?.seenEventIds ?? [])];
  const seenSet = new Set(seen);
  // Set by signal handlers and finished deliveries; the main loop wakes on every change.
  let changes = 0;
  let inFlight: number | undefined = view.versions.findIndex((v) => v.outcome === undefined);
  if (inFlight < 0) inFlight = undefined;
  const finished: Finished[] = [];
  let published: { status?: ConsultationStatus; due?: string; recipient?: string } = {};

  const record = (kind: ConsultationTimelineEntry['kind'], detail: string, eventId?: string): void => {
    view.timeline.push({ at: nowIso(), kind, detail, ...(eventId ? { eventId } : {}) });
    if (view.timeline.length > TIMELINE_MAX) view.timeline.splice(0, view.timeline.length - TIMELINE_MAX);
  };
  if (carried) {
    if (inFlight !== undefined) {
      // Never happens through continue-as-new (it waits for a quiet point); a resumed RETIRED view has
      // nothing in flight either. Should it happen, the old run's child cannot report here: mark it.
      const lost = view.versions[inFlight]!;
      lost.outcome = 'FAILED';
      lost.endedAt = nowIso();
      inFlight = undefined;
      record('OUTCOME', `${lost.workflowId}: outcome not carried over, see that workflow`);
    }
    record(carried.view.status === 'RETIRED' ? 'RESUMED' : 'CONTINUED', `run ${view.run}`);
  }

  /**
   * The version the practice has filed: the latest one DELIVERED and not voided. A later version that
   * failed (rejected, abandoned) does not change what the practice holds, so the next replacement still
   * replaces this one (and reuses the failed version's number: version = replaced + 1, GPCM-SD-098).
   */
  const onRecord = (): ConsultationVersion | undefined => [...view.versions].reverse().find((v) => v.outcome === 'DELIVERED' && !v.voided);
  const dueMs = (): number | undefined => (view.sendDueAt ? Date.parse(view.sendDueAt) : undefined);
  const sendable = (): boolean => !!view.pending && !view.registeredHere && !view.deleted;

  const statusNow = (): ConsultationStatus => {
    if (view.deleted) return 'DELETED';
    if (view.registeredHere) return 'SUPPRESSED';
    if (inFlight !== undefined) return view.pending ? 'WAITING_FOR_OUTCOME' : 'DELIVERING';
    if (view.pending) return 'WAITING_TO_SEND';
    const last = view.versions[view.versions.length - 1];
    if (!last) return view.lastSavedAt ? 'NOT_DELIVERED' : 'AWAITING_CONTENT';
    return last.outcome === 'DELIVERED' && !last.voided ? 'SENT' : 'NOT_DELIVERED';
  };
  /** Search attributes change only when something visible changed (each upsert is a history event). */
  const publish = (): void => {
    const status = statusNow();
    if (status !== view.status) record('STATE', status);
    view.status = status;
    const due = sendable() ? view.sendDueAt : undefined;
    const recipient = view.pending?.recipientOds ?? view.versions[view.versions.length - 1]?.recipientOds;
    if (published.status === status && published.due === due && published.recipient === recipient) return;
    upsertSearchAttributes([
      { key: ConsultationStatusKey, value: status },
      { key: SendDueAtKey, value: due ? new Date(due) : null },
      { key: SenderOdsKey, value: view.senderOds },
      ...(recipient ? [{ key: RecipientOdsKey, value: recipient }] : []),
    ]);
    published = { status, due, recipient };
  };

  /** One escalation per case (its id is stable), through the shared escalation activity. */
  const escalate = async (key: string, reason: string, about: { documentId?: string; version?: number; code?: string } = {}): Promise<void> => {
    const escalationId = `${workflowId}:${key}`;
    if (view.escalations.some((e) => e.escalationId === escalationId)) return;
    view.escalations.push({ escalationId, at: nowIso(), reason, ...about });
    record('ESCALATION', reason);
    log.warn('consultation escalation', { workflowId, escalationId, documentId: about.documentId, version: about.version, code: about.code });
    await notify.raiseEscalation({
      workflowId,
      documentId: about.documentId ?? '',
      state: view.status,
      reason,
      ...(about.code ? { code: about.code } : {}),
      kind: 'RAISED',
      escalationId,
    });
  };

  const apply = (event: ConsultationEvent): void => {
    if (seenSet.has(event.eventId)) return; // a client retry of an event already applied
    seenSet.add(event.eventId);
    seen.push(event.eventId);
    if (seen.length > SEEN_EVENTS_MAX) seenSet.delete(seen.shift()!);
    view.lastEventAt = nowIso();
    if (view.deleted) {
      record('IGNORED', `${event.type} after the consultation was deleted`, event.eventId);
      return;
    }
    switch (event.type) {
      case 'saved': {
        const pending: PendingContent = {
          contentRef: event.contentRef,
          eventId: event.eventId,
          recipientOds: event.recipientOds,
          deadlines: event.deadlines,
          savedAt: nowIso(),
        };
        view.pending = pending;
        view.lastSavedAt = pending.savedAt;
        // Edits inside the window restart it (GPC-SD07 process map).
        view.sendDueAt = new Date(Date.now() + view.settings.sendWindowMs).toISOString();
        record('EVENT', `saved; due ${view.sendDueAt}`, event.eventId);
        break;
      }
      case 'finalised':
        if (view.pending) {
          view.sendDueAt = nowIso();
          record('EVENT', 'finalised: the rest of the window is skipped', event.eventId);
        } else {
          record('IGNORED', 'finalised with nothing waiting to send', event.eventId);
        }
        break;
      case 'deleted':
        view.deleted = true;
        view.pending = undefined;
        view.sendDueAt = undefined;
        record('EVENT', 'deleted in the sending system', event.eventId);
        break;
      case 'registeredHere':
        view.registeredHere = event.registeredHere;
        record('EVENT', event.registeredHere ? 'patient registered at the sending organisation: sending suppressed' : 'patient no longer registered here: sending resumed', event.eventId);
        break;
      default: {
        const unknown: never = event;
        record('IGNORED', `unknown event ${(unknown as { type?: string }).type ?? ''}`);
      }
    }
    changes++;
    publish();
  };

  setHandler(consultationViewQuery, () => view);
  setHandler(consultationEventSignal, apply);

  /** Sends the waiting content as the next version, or drops it with an escalation if it cannot pass. */
  const sendPending = async (): Promise<void> => {
    const pending = view.pending!;
    const replaced = onRecord();
    const documentId = replaced?.documentId ?? uuid4();
    const version = replaced ? replaced.version + 1 : 1;
    const replaces = replaced ? { documentId: replaced.documentId, version: replaced.version } : undefined;
    let prepared: PrepareConsultationSubmissionResult;
    try {
      prepared = await store.prepareConsultationSubmission({
        consultationWorkflowId: workflowId,
        senderOds: view.senderOds,
        contentRef: pending.contentRef,
        documentId,
        version,
        ...(replaces ? { replaces } : {}),
      });
    } catch (err) {
      prepared = { valid: false, issues: [{ message: `preparing the submission failed: ${(err as Error).name}` }] };
    }
    // Events may have arrived meanwhile: a newer save wins, a deletion or registration stops this one.
    if (view.pending !== pending || !sendable()) return;
    if (!prepared.valid) {
      view.pending = undefined;
      view.sendDueAt = undefined;
      record('CONTENT_INVALID', prepared.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}${i.requirementId ? ` [${i.requirementId}]` : ''}`).join('; '), pending.eventId);
      publish();
      await escalate(
        `content-invalid-${pending.eventId}`,
        `content saved by event ${pending.eventId} cannot be sent (${prepared.issues.length} problem(s), see the consultation timeline); the next save is sent as usual`,
      );
      return;
    }

    const childId = deliveryWorkflowId(documentId, version);
    const original = view.versions.find((v) => v.documentId === documentId && v.version === 1);
    const sinceOriginalMs = replaces && original ? Date.now() - Date.parse(original.startedAt) : 0;
    const entry: ConsultationVersion = {
      documentId,
      version,
      workflowId: childId,
      contentRef: pending.contentRef,
      contentEventId: pending.eventId,
      recipientOds: prepared.recipientOds,
      startedAt: nowIso(),
      ...(replaces ? { replaces } : {}),
      voided: false,
      lateReplacement: sinceOriginalMs > view.settings.replacementGuidanceMs,
    };
    const index = view.versions.push(entry) - 1;
    view.pending = undefined;
    view.sendDueAt = undefined;
    const deliveryInput: SendDocumentInput = {
      documentId,
      version,
      senderOds: view.senderOds,
      recipientOds: prepared.recipientOds,
      submissionRef: prepared.submissionRef,
      // This workflow makes the replacements, so a delivery need not stay open for `replace` after DELIVERED:
      // it closes at its outcome and this workflow learns it at once.
      deadlines: { ...pending.deadlines, replacementWindowMs: 0 },
      submittedAt: entry.startedAt,
      ...(replaces ? { replaces: { ...replaces, workflowId: deliveryWorkflowId(replaces.documentId, replaces.version) } } : {}),
    };
    try {
      const child = await startChild<DeliveryWorkflow>(DELIVERY_WORKFLOW_TYPE, {
        workflowId: childId,
        args: [deliveryInput],
        // A delivery outlives a deleted or retired consultation: it may be waiting for acknowledgements.
        parentClosePolicy: 'ABANDON',
      });
      inFlight = index;
      record('STARTED', `${replaces ? `replacement of v${replaces.version}` : 'original'}: document ${documentId} v${version} (${childId})`, pending.eventId);
      void child.result().then(
        (result) => {
          finished.push({ index, result });
          changes++;
        },
        (err: unknown) => {
          finished.push({ index, failure: failureName(err) });
          changes++;
        },
      );
    } catch (err) {
      finished.push({ index, failure: `not started: ${failureName(err)}` });
    }
    publish();
    if (entry.lateReplacement) {
      await escalate(
        `late-replacement-${documentId}-v${version}`,
        `replacement v${version} of document ${documentId} was sent ${Math.round(sinceOriginalMs / 3_600_000)} h after the original, outside the ${Math.round(view.settings.replacementGuidanceMs / 3_600_000)}-hour guidance (GPCM-SD-037): the practice may already have acted on v${version - 1}; tell practice ${entry.recipientOds} if the change matters clinically`,
        { documentId, version },
      );
    }
  };

  /** Records what each finished delivery came to, and escalates what needs a person. */
  const settle = async (): Promise<void> => {
    while (finished.length > 0) {
      const done = finished.shift()!;
      const v = view.versions[done.index]!;
      if (inFlight === done.index) inFlight = undefined;
      v.endedAt = nowIso();
      view.lastEventAt = v.endedAt;
      if (!done.result) {
        v.outcome = 'FAILED';
        record('OUTCOME', `${v.workflowId}: delivery workflow failed (${done.failure ?? 'unknown'})`);
        publish();
        await escalate(`delivery-failed-${v.documentId}-v${v.version}`, `delivery workflow ${v.workflowId} failed (${done.failure ?? 'unknown'}): document ${v.documentId} v${v.version} may not have reached practice ${v.recipientOds}; the next save is sent as usual`, {
          documentId: v.documentId,
          version: v.version,
        });
        continue;
      }
      const r = done.result;
      v.outcome = r.status;
      v.attempts = r.attempts;
      if (r.finalCode) v.finalCode = r.finalCode;
      record('OUTCOME', `${v.workflowId}: ${r.status}${r.finalCode ? ` ${r.finalCode}` : ''}`);
      if (r.status === 'VOIDED' || r.finalCode === VOID_CODE) {
        // GPCM-SD-034/035: the practice could not process the replacement and marked both void; so do we.
        v.voided = true;
        const target = v.replaces ? view.versions.find((x) => x.documentId === v.replaces!.documentId && x.version === v.replaces!.version && x.outcome === 'DELIVERED') : undefined;
        if (target) target.voided = true;
        publish();
        await escalate(
          `voided-${v.documentId}-v${v.version}`,
          `practice ${v.recipientOds} could not process ${v.replaces ? `replacement v${v.version} of document ${v.documentId} and marked v${v.replaces.version} and v${v.version} void` : `document ${v.documentId} v${v.version} and marked it void`} (${r.finalCode ?? r.status}); both are marked void here. Operator: check with the practice what it holds; the next save of consultation ${view.consultationId} (or a finalise after it) is sent as a new document, version 1`,
          { documentId: v.documentId, version: v.version, code: r.finalCode ?? VOID_CODE },
        );
        continue;
      }
      publish();
    }
  };

  /** Deleted: escalate if anything was reported (CS-077), then wait for the delivery in flight to finish. */
  const finishDeletion = async (): Promise<void> => {
    const reported = view.versions.filter((v) => !v.voided && (v.outcome === undefined || v.outcome === 'DELIVERED'));
    if (reported.length > 0) {
      const latest = reported[reported.length - 1]!;
      const list = reported.map((v) => `${v.documentId} v${v.version} ${v.outcome ?? 'in flight'} (${v.workflowId})`).join(', ');
      await escalate(
        'deleted-after-report',
        `consultation ${view.consultationId} of ${view.senderOds} was deleted after it was reported to practice ${latest.recipientOds}: ${list}. ` +
          `Operator: warn the user who deleted it (GPCM-SD-CS-077, 1.3.1 GPCM-SD-135) with the patient name, NHS number, consultation date and registered practice ` +
          `(read them from the stored submission of ${latest.workflowId} or the sending system; they are not in this message), and ask practice ${latest.recipientOds} ` +
          `to remove the report or mark it entered in error. Nothing further is sent automatically.`,
        { documentId: latest.documentId, version: latest.version },
      );
    } else {
      record('STATE', 'deleted before anything was reported: nothing to tell anyone');
    }
    while (inFlight !== undefined || finished.length > 0) {
      await condition(() => finished.length > 0);
      await settle();
    }
    publish();
  };

  const historyTooLong = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength > (input.historyEventLimit ?? DEFAULT_HISTORY_EVENT_LIMIT);
  };

  publish();
  for (;;) {
    await settle();
    if (view.deleted) {
      await finishDeletion();
      return view;
    }
    const due = dueMs();
    if (inFlight === undefined && sendable() && due !== undefined && due <= Date.now()) {
      await sendPending();
      continue;
    }
    if (inFlight === undefined && finished.length === 0 && historyTooLong()) {
      // A quiet point: no delivery whose result only this run could receive. Let handlers finish first.
      await condition(allHandlersFinished);
      if (finished.length === 0 && !view.deleted) {
        record('CONTINUED', `history of ${workflowInfo().historyLength} events`);
        const next: ConsultationCarryOver = { view, seenEventIds: seen };
        await continueAsNew<typeof consultationWorkflow>({ ...input, settings: view.settings, carryOver: next });
      }
      continue;
    }
    publish();
    const before = changes;
    if (inFlight === undefined && sendable() && due !== undefined) {
      await condition(() => changes !== before, due - Date.now());
      continue;
    }
    if (inFlight === undefined) {
      // Nothing to do until the next event; retire after a long quiet spell (the API resumes it later).
      const retireAt = Date.parse(view.lastEventAt) + view.settings.retireAfterIdleMs;
      const woke = retireAt > Date.now() && (await condition(() => changes !== before, retireAt - Date.now()));
      if (!woke && changes === before) {
        await condition(allHandlersFinished);
        if (changes === before) {
          view.status = 'RETIRED';
          record('STATE', 'RETIRED');
          upsertSearchAttributes([
            { key: ConsultationStatusKey, value: 'RETIRED' },
            { key: SendDueAtKey, value: null },
          ]);
          return view;
        }
      }
      continue;
    }
    await condition(() => changes !== before);
  }
}
