/**
 * The rules of one consultation, with no Temporal in them: what each event changes, when the waiting
 * content is due, what a finished delivery means, what to tell a person, and when to stop. The workflow
 * (workflows/consultation.ts) is a shell around it: it feeds events in, asks `nextStep`, and performs
 * the effects it gets back in the order given. Time and new ids come in as arguments, so the same calls
 * give the same state and effects wherever they run (the workflow sandbox or a unit test).
 *
 * Effect order is command order in the workflow's history: a search-attribute upsert before the
 * escalation it explains, a delivery started before the status that says it is in flight.
 */
import { deliveryWorkflowId } from '../contracts/ids';
import type {
  ConsultationCarryOver,
  ConsultationEvent,
  ConsultationStatus,
  ConsultationTimelineEntry,
  ConsultationVersion,
  ConsultationView,
  ConsultationWorkflowInput,
  PendingContent,
  PrepareConsultationSubmissionInput,
  PrepareConsultationSubmissionResult,
} from '../contracts/consultation';
import type { DeliveryResult, SendDocumentInput } from '../contracts/delivery';
import type { EscalationInput } from '../contracts/activities';

const TIMELINE_MAX = 200;
const SEEN_EVENTS_MAX = 500;
const VOID_CODE = '20014';
const HOUR_MS = 3_600_000;

/** Search attributes to upsert, in this key order; `null` clears one. */
export interface SearchAttributesEffect {
  type: 'searchAttributes';
  status: ConsultationStatus;
  sendDueAt: string | null;
  senderOds?: string;
  recipientOds?: string;
}
export interface EscalateEffect {
  type: 'escalate';
  escalation: EscalationInput & { escalationId: string };
  /** The version it is about, for the log line (the escalation input has no field for it). */
  version?: number;
}
export interface StartDeliveryEffect {
  type: 'startDelivery';
  /** Index of the version in `view.versions`: the shell reports the delivery's start and outcome with it. */
  index: number;
  workflowId: string;
  input: SendDocumentInput;
}
export type ConsultationEffect = SearchAttributesEffect | EscalateEffect | StartDeliveryEffect;

/** A send in progress: what was asked of the content store, and for which waiting content. */
export interface SendPlan {
  pending: PendingContent;
  prepare: PrepareConsultationSubmissionInput;
}

/** What happens to the consultation: events from the sending system, and what became of a send. */
export type ConsultationCaseEvent =
  | ConsultationEvent
  | { type: 'prepared'; plan: SendPlan; result: PrepareConsultationSubmissionResult }
  | { type: 'deliveryStarted'; index: number }
  | { type: 'deliveryNotStarted'; index: number; failure: string }
  | { type: 'deliveryFinished'; index: number; result: DeliveryResult }
  | { type: 'deliveryFailed'; index: number; failure: string };

/** Why an event from the sending system changes nothing. */
export type ConsultationRefusal = 'DUPLICATE_EVENT' | 'CONSULTATION_DELETED' | 'NOTHING_TO_FINALISE';

/** What the shell does next. `wait` ends at `until` (a timer) or, without it, on the next change. */
export type ConsultationStep =
  | { kind: 'settle' }
  | { kind: 'noticeDeletion' }
  | { kind: 'end' }
  | { kind: 'send' }
  | { kind: 'continueAsNew' }
  | { kind: 'wait'; for: 'sendWindow' | 'retirement'; until: number }
  | { kind: 'wait'; for: 'deliveryOutcome' };

interface Outcome {
  index: number;
  result?: DeliveryResult;
  failure?: string;
}

export class ConsultationCase {
  readonly view: ConsultationView;
  /** Bumped by every change the shell's waits must notice (an applied event, a delivery outcome). */
  revision = 0;
  private readonly seen: string[];
  private readonly seenSet: Set<string>;
  private inFlight: number | undefined;
  private readonly outcomes: Outcome[] = [];
  private published: { status?: ConsultationStatus; due?: string | undefined; recipient?: string | undefined } = {};
  private deletionNoticed = false;
  /** From the input (so a replay starts the same deliveries): whether deliveries build and send in one activity. */
  private readonly sendInOneActivity: boolean;

  constructor(input: ConsultationWorkflowInput, workflowId: string, now: number) {
    this.sendInOneActivity = input.sendInOneActivity === true;
    const carried = input.carryOver;
    this.view = carried
      ? { ...carried.view, workflowId, settings: input.settings, run: carried.view.run + 1 }
      : {
          workflowId,
          senderOds: input.senderOds,
          consultationId: input.consultationId,
          status: 'AWAITING_CONTENT',
          registeredHere: false,
          deleted: false,
          lastEventAt: iso(now),
          versions: [],
          escalations: [],
          timeline: [],
          settings: input.settings,
          run: 1,
        };
    this.seen = [...(carried?.seenEventIds ?? [])];
    this.seenSet = new Set(this.seen);
    const open = this.view.versions.findIndex((v) => v.outcome === undefined);
    this.inFlight = open < 0 ? undefined : open;
    if (carried) {
      if (this.inFlight !== undefined) {
        // Continue-as-new waits for a quiet point and a RETIRED view has nothing in flight, so this should
        // not happen; should it, the old run's child cannot report to this run: mark it.
        const lost = this.view.versions[this.inFlight]!;
        lost.outcome = 'FAILED';
        lost.endedAt = iso(now);
        this.inFlight = undefined;
        this.record(now, 'OUTCOME', `${lost.workflowId}: outcome not carried over, see that workflow`);
      }
      this.record(now, carried.view.status === 'RETIRED' ? 'RESUMED' : 'CONTINUED', `run ${this.view.run}`);
    }
  }

  /**
   * The version the practice has filed: the latest one DELIVERED and not voided. A later version that
   * failed (rejected, abandoned) does not change what the practice holds, so the next replacement still
   * replaces this one (and reuses the failed version's number: version = replaced + 1, GPCM-SD-098).
   */
  onRecord(): ConsultationVersion | undefined {
    return [...this.view.versions].reverse().find((v) => v.outcome === 'DELIVERED' && !v.voided);
  }

  /** The delivery in flight, if any. */
  deliveryInFlight(): ConsultationVersion | undefined {
    return this.inFlight === undefined ? undefined : this.view.versions[this.inFlight];
  }

  sendable(): boolean {
    return !!this.view.pending && !this.view.registeredHere && !this.view.deleted;
  }

  /** When the waiting content is due to be sent, if it can be sent at all. */
  nextDue(): number | undefined {
    return this.sendable() && this.view.sendDueAt ? Date.parse(this.view.sendDueAt) : undefined;
  }

  statusNow(): ConsultationStatus {
    const view = this.view;
    if (view.deleted) return 'DELETED';
    if (view.registeredHere) return 'SUPPRESSED';
    if (this.inFlight !== undefined) return view.pending ? 'WAITING_FOR_OUTCOME' : 'DELIVERING';
    if (view.pending) return 'WAITING_TO_SEND';
    const last = view.versions[view.versions.length - 1];
    if (!last) return view.lastSavedAt ? 'NOT_DELIVERED' : 'AWAITING_CONTENT';
    return last.outcome === 'DELIVERED' && !last.voided ? 'SENT' : 'NOT_DELIVERED';
  }

  /** Why an event from the sending system would change nothing now; undefined when it applies. */
  refusal(event: ConsultationEvent): ConsultationRefusal | undefined {
    if (this.seenSet.has(event.eventId)) return 'DUPLICATE_EVENT';
    if (this.view.deleted) return 'CONSULTATION_DELETED';
    if (event.type === 'finalised' && !this.view.pending) return 'NOTHING_TO_FINALISE';
    return undefined;
  }

  /**
   * The status and search attributes brought up to date. An upsert only when something visible changed,
   * because each one is an event in the workflow's history.
   */
  publish(now: number): ConsultationEffect[] {
    const view = this.view;
    const status = this.statusNow();
    if (status !== view.status) this.record(now, 'STATE', status);
    view.status = status;
    const due = this.sendable() ? view.sendDueAt : undefined;
    const recipient = view.pending?.recipientOds ?? view.versions[view.versions.length - 1]?.recipientOds;
    const p = this.published;
    if (p.status === status && p.due === due && p.recipient === recipient) return [];
    this.published = { status, due, recipient };
    return [{ type: 'searchAttributes', status, sendDueAt: due ?? null, senderOds: view.senderOds, ...(recipient ? { recipientOds: recipient } : {}) }];
  }

  apply(event: ConsultationCaseEvent, now: number): ConsultationEffect[] {
    switch (event.type) {
      case 'saved':
      case 'finalised':
      case 'deleted':
      case 'registeredHere':
        return this.applyConsultationEvent(event, now);
      case 'prepared':
        return this.prepared(event.plan, event.result, now);
      case 'deliveryStarted': {
        this.inFlight = event.index;
        const v = this.view.versions[event.index]!;
        this.record(now, 'STARTED', `${v.replaces ? `replacement of v${v.replaces.version}` : 'original'}: document ${v.documentId} v${v.version} (${v.workflowId})`, v.contentEventId);
        return [...this.publish(now), ...this.lateReplacementWarning(v, now)];
      }
      case 'deliveryNotStarted': {
        // Settled like a failed delivery on the next step; the version is still sent late if it was.
        this.outcomes.push({ index: event.index, failure: `not started: ${event.failure}` });
        const v = this.view.versions[event.index]!;
        return [...this.publish(now), ...this.lateReplacementWarning(v, now)];
      }
      case 'deliveryFinished':
        this.outcomes.push({ index: event.index, result: event.result });
        this.revision++;
        return [];
      case 'deliveryFailed':
        this.outcomes.push({ index: event.index, failure: event.failure });
        this.revision++;
        return [];
      default: {
        const unknown: never = event;
        this.record(now, 'IGNORED', `unknown event ${(unknown as { type?: string }).type ?? ''}`);
        return [];
      }
    }
  }

  private applyConsultationEvent(event: ConsultationEvent, now: number): ConsultationEffect[] {
    const view = this.view;
    const refused = this.refusal(event);
    if (refused === 'DUPLICATE_EVENT') return []; // a client retry of an event already applied
    this.seenSet.add(event.eventId);
    this.seen.push(event.eventId);
    if (this.seen.length > SEEN_EVENTS_MAX) this.seenSet.delete(this.seen.shift()!);
    view.lastEventAt = iso(now);
    if (refused === 'CONSULTATION_DELETED') {
      this.record(now, 'IGNORED', `${event.type} after the consultation was deleted`, event.eventId);
      return [];
    }
    switch (event.type) {
      case 'saved': {
        const pending: PendingContent = { contentRef: event.contentRef, eventId: event.eventId, recipientOds: event.recipientOds, deadlines: event.deadlines, savedAt: iso(now) };
        view.pending = pending;
        view.lastSavedAt = pending.savedAt;
        // Edits inside the window restart it (GPC-SD07 process map).
        view.sendDueAt = iso(now + view.settings.sendWindowMs);
        this.record(now, 'EVENT', `saved; due ${view.sendDueAt}`, event.eventId);
        break;
      }
      case 'finalised':
        if (refused === 'NOTHING_TO_FINALISE') {
          // Still a change: the idle time before retirement counts from this event.
          this.record(now, 'IGNORED', 'finalised with nothing waiting to send', event.eventId);
        } else {
          view.sendDueAt = iso(now);
          this.record(now, 'EVENT', 'finalised: the rest of the window is skipped', event.eventId);
        }
        break;
      case 'deleted':
        view.deleted = true;
        view.pending = undefined;
        view.sendDueAt = undefined;
        this.record(now, 'EVENT', 'deleted in the sending system', event.eventId);
        break;
      case 'registeredHere':
        view.registeredHere = event.registeredHere;
        this.record(now, 'EVENT', event.registeredHere ? 'patient registered at the sending organisation: sending suppressed' : 'patient no longer registered here: sending resumed', event.eventId);
        break;
      default: {
        const unknown: never = event;
        this.record(now, 'IGNORED', `unknown event ${(unknown as { type?: string }).type ?? ''}`);
      }
    }
    this.revision++;
    return this.publish(now);
  }

  /**
   * What to do next. Outcomes are settled first (they decide what a replacement replaces); a deleted
   * consultation only finishes what is in flight; otherwise send when due, continue as new at a quiet
   * point, or wait.
   */
  nextStep(now: number, context: { historyTooLong: boolean }): ConsultationStep {
    if (this.outcomes.length > 0) return { kind: 'settle' };
    if (this.view.deleted) {
      if (!this.deletionNoticed) return { kind: 'noticeDeletion' };
      return this.inFlight !== undefined ? { kind: 'wait', for: 'deliveryOutcome' } : { kind: 'end' };
    }
    if (this.inFlight !== undefined) return { kind: 'wait', for: 'deliveryOutcome' };
    const due = this.nextDue();
    if (due !== undefined && due <= now) return { kind: 'send' };
    if (context.historyTooLong) return { kind: 'continueAsNew' };
    if (due !== undefined) return { kind: 'wait', for: 'sendWindow', until: due };
    // Nothing to do until the next event; retire after a long quiet spell (the API resumes it later).
    return { kind: 'wait', for: 'retirement', until: Date.parse(this.view.lastEventAt) + this.view.settings.retireAfterIdleMs };
  }

  /**
   * Starts sending the waiting content: the next version of the document on the practice record, or
   * version 1 of a new document (`newDocumentId` is called only then).
   */
  planSend(newDocumentId: () => string): SendPlan {
    const pending = this.view.pending!;
    const replaced = this.onRecord();
    const documentId = replaced?.documentId ?? newDocumentId();
    const version = replaced ? replaced.version + 1 : 1;
    return {
      pending,
      prepare: {
        consultationWorkflowId: this.view.workflowId,
        senderOds: this.view.senderOds,
        contentRef: pending.contentRef,
        documentId,
        version,
        ...(replaced ? { replaces: { documentId: replaced.documentId, version: replaced.version } } : {}),
      },
    };
  }

  private prepared(plan: SendPlan, prepared: PrepareConsultationSubmissionResult, now: number): ConsultationEffect[] {
    const view = this.view;
    const { pending } = plan;
    // Events may have arrived meanwhile: a newer save wins, a deletion or registration stops this one.
    if (view.pending !== pending || !this.sendable()) return [];
    if (!prepared.valid) {
      view.pending = undefined;
      view.sendDueAt = undefined;
      this.record(now, 'CONTENT_INVALID', prepared.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}${i.requirementId ? ` [${i.requirementId}]` : ''}`).join('; '), pending.eventId);
      return [
        ...this.publish(now),
        ...this.escalate(
          now,
          `content-invalid-${pending.eventId}`,
          `content saved by event ${pending.eventId} cannot be sent (${prepared.issues.length} problem(s), see the consultation timeline); the next save is sent as usual`,
        ),
      ];
    }
    const { documentId, version, replaces } = plan.prepare;
    const childId = deliveryWorkflowId(documentId, version);
    const original = view.versions.find((v) => v.documentId === documentId && v.version === 1);
    const sinceOriginalMs = replaces && original ? now - Date.parse(original.startedAt) : 0;
    const entry: ConsultationVersion = {
      documentId,
      version,
      workflowId: childId,
      contentRef: pending.contentRef,
      contentEventId: pending.eventId,
      recipientOds: prepared.recipientOds,
      startedAt: iso(now),
      ...(replaces ? { replaces } : {}),
      voided: false,
      lateReplacement: sinceOriginalMs > view.settings.replacementGuidanceMs,
    };
    const index = view.versions.push(entry) - 1;
    view.pending = undefined;
    view.sendDueAt = undefined;
    const input: SendDocumentInput = {
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
      ...(this.sendInOneActivity ? { sendInOneActivity: true } : {}),
    };
    return [{ type: 'startDelivery', index, workflowId: childId, input }];
  }

  private lateReplacementWarning(v: ConsultationVersion, now: number): ConsultationEffect[] {
    if (!v.lateReplacement) return [];
    const original = this.view.versions.find((x) => x.documentId === v.documentId && x.version === 1);
    const sinceOriginalMs = original ? Date.parse(v.startedAt) - Date.parse(original.startedAt) : 0;
    return this.escalate(
      now,
      `late-replacement-${v.documentId}-v${v.version}`,
      `replacement v${v.version} of document ${v.documentId} was sent ${Math.round(sinceOriginalMs / HOUR_MS)} h after the original, outside the ${Math.round(this.view.settings.replacementGuidanceMs / HOUR_MS)}-hour guidance (GPCM-SD-037): the practice may already have acted on v${v.version - 1}; tell practice ${v.recipientOds} if the change matters clinically`,
      { documentId: v.documentId, version: v.version },
    );
  }

  /** Records what the oldest finished delivery came to, and escalates what needs a person. */
  settleNext(now: number): ConsultationEffect[] {
    const view = this.view;
    const done = this.outcomes.shift();
    if (!done) return [];
    const v = view.versions[done.index]!;
    if (this.inFlight === done.index) this.inFlight = undefined;
    v.endedAt = iso(now);
    view.lastEventAt = v.endedAt;
    if (!done.result) {
      v.outcome = 'FAILED';
      const failure = done.failure ?? 'unknown';
      this.record(now, 'OUTCOME', `${v.workflowId}: delivery workflow failed (${failure})`);
      return [
        ...this.publish(now),
        ...this.escalate(
          now,
          `delivery-failed-${v.documentId}-v${v.version}`,
          `delivery workflow ${v.workflowId} failed (${failure}): document ${v.documentId} v${v.version} may not have reached practice ${v.recipientOds}; the next save is sent as usual`,
          { documentId: v.documentId, version: v.version },
        ),
      ];
    }
    const r = done.result;
    v.outcome = r.status;
    v.attempts = r.attempts;
    if (r.finalCode) v.finalCode = r.finalCode;
    this.record(now, 'OUTCOME', `${v.workflowId}: ${r.status}${r.finalCode ? ` ${r.finalCode}` : ''}`);
    if (r.status === 'VOIDED' || r.finalCode === VOID_CODE) {
      // GPCM-SD-034/035: the practice could not process the replacement and marked both void; so do we.
      v.voided = true;
      const replaces = v.replaces;
      const target = replaces ? view.versions.find((x) => x.documentId === replaces.documentId && x.version === replaces.version && x.outcome === 'DELIVERED') : undefined;
      if (target) target.voided = true;
      return [
        ...this.publish(now),
        ...this.escalate(
          now,
          `voided-${v.documentId}-v${v.version}`,
          `practice ${v.recipientOds} could not process ${replaces ? `replacement v${v.version} of document ${v.documentId} and marked v${replaces.version} and v${v.version} void` : `document ${v.documentId} v${v.version} and marked it void`} (${r.finalCode ?? r.status}); both are marked void here. Operator: check with the practice what it holds; the next save of consultation ${view.consultationId} (or a finalise after it) is sent as a new document, version 1`,
          { documentId: v.documentId, version: v.version, code: r.finalCode ?? VOID_CODE },
        ),
      ];
    }
    return this.publish(now);
  }

  /** Deleted: tell a person if anything was reported (CS-077); nothing more is sent either way. */
  noticeDeletion(now: number): ConsultationEffect[] {
    const view = this.view;
    this.deletionNoticed = true;
    const reported = view.versions.filter((v) => !v.voided && (v.outcome === undefined || v.outcome === 'DELIVERED'));
    if (reported.length === 0) {
      this.record(now, 'STATE', 'deleted before anything was reported: nothing to tell anyone');
      return [];
    }
    const latest = reported[reported.length - 1]!;
    const list = reported.map((v) => `${v.documentId} v${v.version} ${v.outcome ?? 'in flight'} (${v.workflowId})`).join(', ');
    return this.escalate(
      now,
      'deleted-after-report',
      `consultation ${view.consultationId} of ${view.senderOds} was deleted after it was reported to practice ${latest.recipientOds}: ${list}. ` +
        `Operator: warn the user who deleted it (GPCM-SD-CS-077, 1.3.1 GPCM-SD-135) with the patient name, NHS number, consultation date and registered practice ` +
        `(read them from the stored submission of ${latest.workflowId} or the sending system; they are not in this message), and ask practice ${latest.recipientOds} ` +
        `to remove the report or mark it entered in error. Nothing further is sent automatically.`,
      { documentId: latest.documentId, version: latest.version },
    );
  }

  /**
   * The state for the next run, or undefined when the quiet point passed (an outcome or a deletion arrived
   * while handlers finished).
   */
  continueAsNew(now: number, historyLength: number): ConsultationCarryOver | undefined {
    if (this.outcomes.length > 0 || this.view.deleted) return undefined;
    this.record(now, 'CONTINUED', `history of ${historyLength} events`);
    return { view: this.view, seenEventIds: this.seen };
  }

  /** Idle long enough: complete as RETIRED (a later event resumes it from this view). */
  retire(now: number): ConsultationEffect[] {
    this.view.status = 'RETIRED';
    this.record(now, 'STATE', 'RETIRED');
    return [{ type: 'searchAttributes', status: 'RETIRED', sendDueAt: null }];
  }

  private escalate(now: number, key: string, reason: string, about: { documentId?: string; version?: number; code?: string } = {}): ConsultationEffect[] {
    const view = this.view;
    const escalationId = `${view.workflowId}:${key}`;
    // One escalation per case: its id is stable, so a case met twice is told once.
    if (view.escalations.some((e) => e.escalationId === escalationId)) return [];
    view.escalations.push({ escalationId, at: iso(now), reason, ...about });
    this.record(now, 'ESCALATION', reason);
    return [
      {
        type: 'escalate',
        escalation: { workflowId: view.workflowId, documentId: about.documentId ?? '', state: view.status, reason, ...(about.code ? { code: about.code } : {}), kind: 'RAISED', escalationId },
        ...(about.version !== undefined ? { version: about.version } : {}),
      },
    ];
  }

  private record(now: number, kind: ConsultationTimelineEntry['kind'], detail: string, eventId?: string): void {
    const timeline = this.view.timeline;
    timeline.push({ at: iso(now), kind, detail, ...(eventId ? { eventId } : {}) });
    if (timeline.length > TIMELINE_MAX) timeline.splice(0, timeline.length - TIMELINE_MAX);
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
