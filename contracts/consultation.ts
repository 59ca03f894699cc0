import { z } from 'zod';
import { ContentRefSchema, DeliveryDeadlinesSchema, DeliveryStatusSchema } from './delivery';
import { SubmissionSchema } from './submission';

/**
 * The consultation lifecycle (GP Connect Send Document "Triggers and timing" and "Document
 * replacement"). A backend service tells ITK3 Courier what happened to a consultation (saved, finalised
 * now, deleted, patient registered here); one long-lived workflow per consultation decides when to send
 * (a debounce window after the last save, default 3 h: GPCM-SD-CS-075/076 = 1.3.1 096/142), what to send
 * (only the latest content), and how (version 1, then replacements with relatesTo and version + 1:
 * GPCM-SD-126..132 in 1.3.1). Events carry claim checks to the encrypted content store, never patient data.
 *
 * Workflow code imports this module by type only (no zod schema inside the sandbox, sdk-typescript#2227).
 */

const ODS_CODE = /^[A-Z0-9]{3,10}$/;
/** The sending system's consultation id: safe in a workflow id and in the Web UI (no spaces, no slashes). */
const CONSULTATION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Idempotency key of one event: a client retry with the same id changes nothing. */
const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

export const ConsultationKeySchema = z.object({
  senderOds: z.string().regex(ODS_CODE, 'ODS code must be 3-10 upper-case letters or digits'),
  consultationId: z.string().regex(CONSULTATION_ID, 'consultation id must be 1-100 letters, digits, dot, underscore or hyphen, starting with a letter or digit'),
});
export type ConsultationKey = z.infer<typeof ConsultationKeySchema>;

/**
 * The workflow id of a consultation: a business key from the sending system. The ODS code
 * has no hyphen, so the id parses back unambiguously. Throws on characters that do not belong in an id.
 */
export function consultationWorkflowId(senderOds: string, consultationId: string): string {
  const key = ConsultationKeySchema.safeParse({ senderOds, consultationId });
  if (!key.success) throw new Error(`invalid consultation key: ${key.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return `consultation-${senderOds}-${consultationId}`;
}

/** The key back from a consultation workflow id, or undefined when it is not one. */
export function parseConsultationWorkflowId(workflowId: string): ConsultationKey | undefined {
  const m = /^consultation-([A-Z0-9]{3,10})-(.+)$/.exec(workflowId);
  if (!m) return undefined;
  const key = ConsultationKeySchema.safeParse({ senderOds: m[1], consultationId: m[2] });
  return key.success ? key.data : undefined;
}

const HOUR = 3_600_000;
export const DEFAULT_CONSULTATION_SETTINGS = {
  /** GPCM-SD-CS-075/076: send within 3 hours of the last save, only the latest version (locally configurable). */
  sendWindowMs: 3 * HOUR,
  /** GPCM-SD-037 (1.5.1) = 130 (1.3.1): replacements SHOULD be sent within 24 hours of the original. */
  replacementGuidanceMs: 24 * HOUR,
  /** A consultation with nothing to do for this long completes; a later event resumes it from its result. */
  retireAfterIdleMs: 30 * 24 * HOUR,
} as const;

export const ConsultationSettingsSchema = z.object({
  sendWindowMs: z.number().int().positive().default(DEFAULT_CONSULTATION_SETTINGS.sendWindowMs),
  replacementGuidanceMs: z.number().int().positive().default(DEFAULT_CONSULTATION_SETTINGS.replacementGuidanceMs),
  retireAfterIdleMs: z.number().int().positive().default(DEFAULT_CONSULTATION_SETTINGS.retireAfterIdleMs),
});
export type ConsultationSettings = z.infer<typeof ConsultationSettingsSchema>;

/**
 * What a backend stores at each save: a Send Document submission without the document id, version and
 * replaces, which the consultation workflow assigns when it sends. It holds patient data, so the API
 * stores it encrypted and the event carries its `ContentRef` only.
 */
export const ConsultationContentSchema = SubmissionSchema.omit({ documentId: true, version: true, replaces: true });
export type ConsultationContent = z.infer<typeof ConsultationContentSchema>;
export type ConsultationContentInput = z.input<typeof ConsultationContentSchema>;

const EventBase = z.object({
  eventId: z.string().regex(EVENT_ID, 'event id must be 1-100 letters, digits, dot, colon, underscore or hyphen'),
  /** When it happened in the sending system (informational; the window runs on workflow time). */
  occurredAt: z.iso.datetime({ offset: true }),
});

/** The consultation was saved (created or edited): this content replaces any content not yet sent. */
export const ConsultationSavedEventSchema = EventBase.extend({
  type: z.literal('saved'),
  contentRef: ContentRefSchema,
  /** Registered practice from the content (PDS): where this content goes. An ODS code, not patient data. */
  recipientOds: z.string().regex(ODS_CODE),
  /** Delivery deadlines resolved by the API for that recipient (config/deadlines.ts). */
  deadlines: DeliveryDeadlinesSchema,
});
/** Send the latest content now: the rest of the window is skipped. */
export const ConsultationFinalisedEventSchema = EventBase.extend({ type: z.literal('finalised') });
/** The consultation was deleted in the sending system: nothing more is sent (CS-077 = 1.3.1 135 if already reported). */
export const ConsultationDeletedEventSchema = EventBase.extend({ type: z.literal('deleted') });
/** Whether the patient is registered (GMS/PMS Regular) at the sending organisation: then no report is sent (CS-069). */
export const ConsultationRegistrationEventSchema = EventBase.extend({ type: z.literal('registeredHere'), registeredHere: z.boolean() });

/** Signal payload of `consultationEvent` (workflows/consultation-definitions.ts). */
export const ConsultationEventSchema = z.discriminatedUnion('type', [
  ConsultationSavedEventSchema,
  ConsultationFinalisedEventSchema,
  ConsultationDeletedEventSchema,
  ConsultationRegistrationEventSchema,
]);
export type ConsultationEvent = z.infer<typeof ConsultationEventSchema>;
export type ConsultationEventType = ConsultationEvent['type'];

/**
 * Body of `POST /v1/consultations/:senderOds/:consultationId/events` (and `itk3 consultation ...`). A
 * save carries the content itself; the API validates it, stores it encrypted and signals a claim check.
 */
const RequestBase = z.object({ eventId: EventBase.shape.eventId.optional(), occurredAt: EventBase.shape.occurredAt.optional() });
export const ConsultationEventRequestSchema = z.discriminatedUnion('type', [
  RequestBase.extend({ type: z.literal('saved'), content: ConsultationContentSchema }),
  RequestBase.extend({ type: z.literal('finalised') }),
  RequestBase.extend({ type: z.literal('deleted') }),
  RequestBase.extend({ type: z.literal('registeredHere'), registeredHere: z.boolean().default(true) }),
]);
export type ConsultationEventRequest = z.input<typeof ConsultationEventRequestSchema>;

/**
 * Where a consultation stands (search attribute `ConsultationStatus`). "Waiting to send" in the Web UI:
 * `ConsultationStatus = 'WAITING_TO_SEND'`, with `SendDueAt` saying when.
 */
export const ConsultationStatusSchema = z.enum([
  /** Started by an event other than a save: nothing to send yet. */
  'AWAITING_CONTENT',
  /** Content saved and not yet sent; the window runs until `sendDueAt`. */
  'WAITING_TO_SEND',
  /** A delivery of this consultation is in flight and nothing newer is waiting. */
  'DELIVERING',
  /** Newer content waits for the delivery in flight to finish (a replacement needs the original's outcome). */
  'WAITING_FOR_OUTCOME',
  /** Nothing to do: the latest delivery was DELIVERED and is on the practice record. */
  'SENT',
  /** Nothing to do, but the latest content is not on the practice record (rejected, abandoned, voided, failed, invalid). */
  'NOT_DELIVERED',
  /** The patient is registered at the sending organisation: nothing is sent. */
  'SUPPRESSED',
  'DELETED',
  /** Idle long enough to complete; a later event resumes it (client/api/consultation-routes.ts). */
  'RETIRED',
]);
export type ConsultationStatus = z.infer<typeof ConsultationStatusSchema>;

/** The outcome of one version's delivery: the delivery workflow's status, or FAILED if that workflow itself failed. */
export const ConsultationDeliveryOutcomeSchema = z.union([DeliveryStatusSchema, z.literal('FAILED')]);
export type ConsultationDeliveryOutcome = z.infer<typeof ConsultationDeliveryOutcomeSchema>;

/** One version sent for this consultation, and what became of it. No patient data. */
export const ConsultationVersionSchema = z.object({
  documentId: z.string(),
  version: z.number().int().min(1),
  /** The delivery (child) workflow: `deliveryWorkflowId(documentId, version)`. */
  workflowId: z.string(),
  /** The saved content this version was built from (claim check). */
  contentRef: ContentRefSchema,
  contentEventId: z.string(),
  recipientOds: z.string(),
  startedAt: z.string(),
  /** For a replacement: the version it replaces (relatesTo, GPCM-SD-131/132). */
  replaces: z.object({ documentId: z.string(), version: z.number().int() }).optional(),
  /** Absent while the delivery is in flight. */
  outcome: ConsultationDeliveryOutcomeSchema.optional(),
  finalCode: z.string().optional(),
  attempts: z.number().int().optional(),
  endedAt: z.string().optional(),
  /** Marked void here because the practice could not process a replacement (20014, GPCM-SD-034/035). */
  voided: z.boolean(),
  /** Sent later than the 24-hour replacement guidance after the original (GPCM-SD-037). */
  lateReplacement: z.boolean(),
});
export type ConsultationVersion = z.infer<typeof ConsultationVersionSchema>;

/** Content saved and not sent yet (claim check and routing only). */
export const PendingContentSchema = z.object({
  contentRef: ContentRefSchema,
  eventId: z.string(),
  recipientOds: z.string(),
  deadlines: DeliveryDeadlinesSchema,
  /** Workflow time of the save. */
  savedAt: z.string(),
});
export type PendingContent = z.infer<typeof PendingContentSchema>;

export const ConsultationEscalationSchema = z.object({
  /** Stable per case: `<workflowId>:<key>`, so channels can dedupe. */
  escalationId: z.string(),
  at: z.string(),
  reason: z.string(),
  code: z.string().optional(),
  documentId: z.string().optional(),
  version: z.number().int().optional(),
});
export type ConsultationEscalation = z.infer<typeof ConsultationEscalationSchema>;

export const ConsultationTimelineEntrySchema = z.object({
  at: z.string(),
  kind: z.enum(['EVENT', 'IGNORED', 'SCHEDULED', 'STARTED', 'OUTCOME', 'ESCALATION', 'CONTENT_INVALID', 'CONTINUED', 'RESUMED', 'STATE']),
  detail: z.string(),
  eventId: z.string().optional(),
});
export type ConsultationTimelineEntry = z.infer<typeof ConsultationTimelineEntrySchema>;

/** What `consultationView` answers and what the workflow returns. Enough for the API, the CLI and an operator. */
export const ConsultationViewSchema = z.object({
  workflowId: z.string(),
  senderOds: z.string(),
  consultationId: z.string(),
  status: ConsultationStatusSchema,
  registeredHere: z.boolean(),
  deleted: z.boolean(),
  /** When the waiting content is due to be sent (end of the window, or at once after `finalised`). */
  sendDueAt: z.string().optional(),
  pending: PendingContentSchema.optional(),
  lastSavedAt: z.string().optional(),
  lastEventAt: z.string(),
  versions: z.array(ConsultationVersionSchema),
  escalations: z.array(ConsultationEscalationSchema),
  /** The most recent entries (older ones are dropped to keep history small). */
  timeline: z.array(ConsultationTimelineEntrySchema),
  settings: ConsultationSettingsSchema,
  /** Runs of this workflow id so far (continue-as-new and resumption carry the state over). */
  run: z.number().int(),
});
export type ConsultationView = z.infer<typeof ConsultationViewSchema>;

/** State carried across continue-as-new and retirement: the view plus the event ids already applied. */
export const ConsultationCarryOverSchema = z.object({
  view: ConsultationViewSchema,
  seenEventIds: z.array(z.string()),
});
export type ConsultationCarryOver = z.infer<typeof ConsultationCarryOverSchema>;

/** Input of `consultationWorkflow`. The first event arrives as the signal of signal-with-start. */
export const ConsultationWorkflowInputSchema = ConsultationKeySchema.extend({
  settings: ConsultationSettingsSchema,
  /** Set by continue-as-new, or by the API when an event arrives for a RETIRED consultation. */
  carryOver: ConsultationCarryOverSchema.optional(),
  /** Continue as new once history passes this many events (default 2000; tests lower it). */
  historyEventLimit: z.number().int().positive().optional(),
  /**
   * Passed to every delivery this consultation starts (`SendDocumentInput.sendInOneActivity`). Set by the API;
   * absent in consultations started before, whose deliveries keep the two activities, so they replay.
   */
  sendInOneActivity: z.boolean().optional(),
});
export type ConsultationWorkflowInput = z.infer<typeof ConsultationWorkflowInputSchema>;

/** Activity `prepareConsultationSubmission`: turn saved content into the submission of one version. */
export const PrepareConsultationSubmissionInputSchema = z.object({
  consultationWorkflowId: z.string(),
  senderOds: z.string(),
  contentRef: ContentRefSchema,
  documentId: z.uuid(),
  version: z.number().int().min(1),
  replaces: z.object({ documentId: z.uuid(), version: z.number().int().min(1) }).optional(),
});
export type PrepareConsultationSubmissionInput = z.infer<typeof PrepareConsultationSubmissionInputSchema>;

/** Problems come back as data (paths and rules, never values), so the workflow can escalate and wait. */
export const PrepareConsultationSubmissionResultSchema = z.discriminatedUnion('valid', [
  z.object({ valid: z.literal(true), submissionRef: ContentRefSchema, recipientOds: z.string() }),
  z.object({ valid: z.literal(false), issues: z.array(z.object({ path: z.string().optional(), message: z.string(), requirementId: z.string().optional() })) }),
]);
export type PrepareConsultationSubmissionResult = z.infer<typeof PrepareConsultationSubmissionResultSchema>;
