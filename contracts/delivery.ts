import { z } from 'zod';
import { Itk3ResponseReceivedSchema } from './itk3-response';

/** Claim check for content kept in the encrypted content store: what travels through history instead. */
export const ContentRefSchema = z.object({
  key: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
export type ContentRef = z.infer<typeof ContentRefSchema>;

/** Which generation of GP Connect Send Document to emit. */
export const SpecProfileSchema = z.enum(['1.x', '2.x']);
export type SpecProfile = z.infer<typeof SpecProfileSchema>;

/**
 * Where one delivery stands. DELIVERED and REJECTED are outcomes that still accept operator follow-up
 * for a configured window (replacement, override re-send); ABANDONED and VOIDED end the workflow at
 * once. The workflow returns the status it ends in (docs/state-machine.md).
 */
export const DeliveryStatusSchema = z.enum([
  'SENDING',
  'AWAITING_INFRASTRUCTURE_ACK',
  'AWAITING_BUSINESS_ACK',
  'AWAITING_CORRECTION',
  'AWAITING_OPERATOR',
  'DELIVERED',
  'REJECTED',
  'ABANDONED',
  'VOIDED',
]);
export type DeliveryStatus = z.infer<typeof DeliveryStatusSchema>;
export const TERMINAL_STATUSES: readonly DeliveryStatus[] = ['DELIVERED', 'REJECTED', 'ABANDONED', 'VOIDED'];

/** What the workflow is waiting for right now (search attribute `WaitingFor`). */
export const WaitingForSchema = z.enum([
  'MESH_SEND',
  'INFRASTRUCTURE_ACK',
  'BUSINESS_ACK',
  'CORRECTION',
  'OPERATOR',
  'REPLACEMENT_WINDOW',
  'REPLACEMENT_OUTCOME',
  'NOTHING',
]);
export type WaitingFor = z.infer<typeof WaitingForSchema>;

/** Acknowledgement deadlines in milliseconds, measured from the MESH send time. */
export const AckDeadlinesSchema = z.object({
  infrastructureAckMs: z.number().int().positive(),
  businessAckMs: z.number().int().positive(),
});
export type AckDeadlines = z.infer<typeof AckDeadlinesSchema>;

/**
 * Every duration a delivery uses, resolved before the workflow starts (config/deadlines.ts: defaults,
 * then per recipient ODS, then per submission) and changeable by an operator (`changeDeadlines`).
 */
export const DeliveryDeadlinesSchema = AckDeadlinesSchema.extend({
  /** Reminder interval for an escalation nobody has acknowledged yet. */
  reminderIntervalMs: z.number().int().positive(),
  /** How long a DELIVERED document stays open for `replace` (GPCM-SD-130 in 1.3.1: within 24 h). */
  replacementWindowMs: z.number().int().nonnegative(),
  /** How long a business rejection waits for an operator decision before ending as REJECTED. */
  decisionWindowMs: z.number().int().positive(),
});
export type DeliveryDeadlines = z.infer<typeof DeliveryDeadlinesSchema>;

/** The document this delivery replaces (GPCM-SD-126..132 in 1.3.1), and the workflow that sent it. */
export const ReplacesSchema = z.object({
  documentId: z.uuid(),
  version: z.number().int().min(1),
  workflowId: z.string(),
});
export type Replaces = z.infer<typeof ReplacesSchema>;

export const TimelineEntrySchema = z.object({
  at: z.string(),
  kind: z.enum([
    'SUBMITTED',
    'BUILT',
    'SENT',
    'RESPONSE',
    'DEADLINE',
    'ESCALATION',
    'REMINDER',
    'RESOLVED',
    'OPERATOR',
    'MESH_REPORT',
    'MESH_TRACKING',
    'REPLACEMENT',
    'STATE',
    'CONTINUED',
  ]),
  attempt: z.number().int().optional(),
  detail: z.string(),
  /** The ITK3 response code or MESH status code involved, if any. */
  code: z.string().optional(),
  /** For operator actions: who, and why (also for acknowledgements). */
  actor: z.string().optional(),
  /** For operator actions: false when the update carried no valid actor token, so `actor` is only a claim. */
  actorVerified: z.boolean().optional(),
  reason: z.string().optional(),
  escalationId: z.string().optional(),
  /** An inbound message rerouted from the quarantine: the entry it came from. */
  quarantineId: z.string().optional(),
  /** Who sent a response: MESH mailbox (Mex-From) and MessageHeader sender ODS code. */
  senderMailbox: z.string().optional(),
  senderOds: z.string().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntrySchema>;

export const AttemptMeshReportSchema = z.object({
  kind: z.enum(['NON_DELIVERY', 'ROUTING_ERROR', 'OTHER']),
  statusCode: z.string().optional(),
  reportMessageId: z.string(),
  receivedAt: z.string(),
});

/**
 * Input of the `trackMeshMessage` activity: MESH outbox tracking of one sent attempt, asked once when its infrastructure acknowledgement is overdue (GPCM-SD-095). MESH says not to
 * poll tracking often and that it is no substitute for a business acknowledgement: it only tells the
 * workflow early that MESH itself gave up on the message.
 */
export const TrackMeshMessageInputSchema = z.object({
  meshMessageId: z.string().min(1),
  attempt: z.number().int().min(1),
});
export type TrackMeshMessageInput = z.infer<typeof TrackMeshMessageInputSchema>;

export const TrackMeshMessageResultSchema = z.object({
  /** MESH's status, lower case: accepted, acknowledged, undeliverable (sandbox also uploading, error); `unknown` if absent. */
  status: z.string(),
  statusCode: z.string().optional(),
  statusDescription: z.string().optional(),
  statusEvent: z.string().optional(),
  checkedAt: z.string(),
});
export type TrackMeshMessageResult = z.infer<typeof TrackMeshMessageResultSchema>;

export const AttemptSchema = z.object({
  attempt: z.number().int().min(1),
  messageHeaderId: z.string(),
  bundleIdentifier: z.string(),
  /** Why this attempt exists, and who asked for it (operator actions). */
  reason: z.enum(['INITIAL', 'RESEND', 'CORRECTION']).optional(),
  requestedBy: z.string().optional(),
  /** The submission this attempt was built from (a claim check, never the content). */
  submissionRef: ContentRefSchema.optional(),
  recipientOds: z.string().optional(),
  sizeBytes: z.number().int().optional(),
  meshMessageId: z.string().optional(),
  sentAt: z.string().optional(),
  /**
   * How the attempt was addressed. Set on every attempt sent since responses are checked against their
   * sender: a response then counts only from `recipientMailbox` with sender ODS `recipientOds`.
   */
  routing: z.enum(['mailbox', 'gpprovider']).optional(),
  /** The mailbox the attempt was delivered to: Mex-To with mailbox routing, learned from MESH tracking with GPPROVIDER. */
  recipientMailbox: z.string().optional(),
  infrastructureAck: Itk3ResponseReceivedSchema.optional(),
  businessAck: Itk3ResponseReceivedSchema.optional(),
  /** A business ack came first: technical success is implied. */
  infrastructureSuccessImplied: z.boolean().optional(),
  /** An acknowledgement arrived after its deadline had been escalated. */
  lateAck: z.boolean().optional(),
  meshReports: z.array(AttemptMeshReportSchema).optional(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

/**
 * An escalation to a person (GPCM-SD-094/095 in 1.3.1). One per case and state: `key` names it, and the
 * workflow never raises the same key twice; reminders repeat until someone acknowledges it.
 */
export const EscalationSchema = z.object({
  id: z.string(),
  key: z.string(),
  status: DeliveryStatusSchema,
  reason: z.string(),
  code: z.string().optional(),
  attempt: z.number().int(),
  raisedAt: z.string(),
  reminders: z.number().int(),
  nextReminderAt: z.string().optional(),
  acknowledged: z.object({ actor: z.string(), note: z.string(), at: z.string() }).optional(),
  resolvedAt: z.string().optional(),
  resolution: z.string().optional(),
});
export type Escalation = z.infer<typeof EscalationSchema>;

export const ReplacementSchema = z.object({
  workflowId: z.string(),
  version: z.number().int(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  status: DeliveryStatusSchema.optional(),
});
export type Replacement = z.infer<typeof ReplacementSchema>;

/** What `stateQuery` answers: enough for the API, the CLI and an operator, with no patient data. */
export const DeliveryStateSchema = z.object({
  workflowId: z.string(),
  documentId: z.string(),
  version: z.number().int(),
  senderOds: z.string(),
  recipientOds: z.string(),
  status: DeliveryStatusSchema,
  /** True while an escalation is open (raised and not resolved). */
  escalated: z.boolean(),
  waitingFor: WaitingForSchema,
  waitingUntil: z.string().optional(),
  currentAttempt: z.number().int(),
  /** The submission the next re-send uses (changes with a correction). */
  submissionRef: ContentRefSchema,
  deadlines: DeliveryDeadlinesSchema,
  attempts: z.array(AttemptSchema),
  escalations: z.array(EscalationSchema),
  /** Recipient ODS codes that gave a business rejection: a re-send there needs an override. */
  rejectedRoutes: z.array(z.string()),
  replaces: ReplacesSchema.optional(),
  replacement: ReplacementSchema.optional(),
  /** The response or MESH code that decided the current outcome, if any. */
  outcomeCode: z.string().optional(),
  /** Runs of this workflow id so far (continue-as-new keeps history small; state is carried over). */
  run: z.number().int(),
  timeline: z.array(TimelineEntrySchema),
  /**
   * Operator updates applied without a valid actor token (sent around the API, e.g. straight to
   * Temporal): the name they claimed and why it could not be verified.
   */
  unverifiedActions: z.array(z.object({ at: z.string(), update: z.string(), claimedActor: z.string(), reason: z.string() })).optional(),
});
export type DeliveryState = z.infer<typeof DeliveryStateSchema>;

/** What `waitingQuery` answers. */
export const WaitingSchema = z.object({
  status: DeliveryStatusSchema,
  waitingFor: WaitingForSchema,
  waitingUntil: z.string().optional(),
  escalated: z.boolean(),
  /** The open escalation, if any, and when the next reminder is due. */
  escalation: EscalationSchema.optional(),
});
export type Waiting = z.infer<typeof WaitingSchema>;

/** State carried across continue-as-new so that nothing is lost. Internal to the workflow. */
export const DeliveryCarryOverSchema = z.object({
  state: DeliveryStateSchema,
  seenResponseIds: z.array(z.string()),
  seenReportIds: z.array(z.string()),
});
export type DeliveryCarryOver = z.infer<typeof DeliveryCarryOverSchema>;

/** Input of `sendDocumentWorkflow`. No patient data: the submission itself is behind `submissionRef`. */
export const SendDocumentInputSchema = z.object({
  documentId: z.uuid(),
  version: z.number().int().min(1),
  senderOds: z.string(),
  recipientOds: z.string(),
  submissionRef: ContentRefSchema,
  deadlines: DeliveryDeadlinesSchema,
  submittedAt: z.string(),
  /** Set for a replacement: the outcome is reported to that workflow (20014 voids both). */
  replaces: ReplacesSchema.optional(),
  /**
   * The first attempt's ids, chosen by whoever starts the delivery (the API). It also sets
   * `firstAttemptSearchAttributes` at start, and the workflow then skips its own upsert before the first
   * send. Without it (child deliveries, workflows started before it existed) the workflow makes the ids
   * and upserts them itself.
   */
  firstAttempt: z
    .object({
      messageHeaderId: z.uuid(),
      bundleIdentifier: z.uuid(),
      /**
       * The first attempt's message, built by the API with these ids from the submission it checked, and
       * stored: the worker posts it as it is (one build per attempt, and the bytes sent are the bytes
       * checked). Absent in deliveries started before, and ignored by workers older than it, which build.
       */
      messageRef: ContentRefSchema.optional(),
    })
    .optional(),
  /**
   * Build and send each attempt as one activity (`buildAndSendItk3Message`) instead of two. Set by the API
   * for new deliveries (and inherited by their replacements); absent in workflows started before, which
   * keep the two activities so that their histories replay. A worker without the one-activity path ignores
   * the field and schedules two activities; a patch marker tells a newer worker replaying that history to
   * take the two activities too, so workers and the API can be upgraded in any order.
   */
  sendInOneActivity: z.boolean().optional(),
  /** Set only by continue-as-new. */
  carryOver: DeliveryCarryOverSchema.optional(),
  /** Continue as new once history passes this many events (default 2000; tests lower it). */
  historyEventLimit: z.number().int().positive().optional(),
  /**
   * The configured bounds of every deadline (contracts/deadline-bounds.ts), so that `changeDeadlines`
   * is checked against the same bounds as the API. Absent in older workflows: the absolute bounds apply.
   */
  deadlineBounds: z
    .record(z.enum(['infrastructureAckMs', 'businessAckMs', 'reminderIntervalMs', 'replacementWindowMs', 'decisionWindowMs']), z.object({ minMs: z.number(), maxMs: z.number() }))
    .optional(),
});
export type SendDocumentInput = z.infer<typeof SendDocumentInputSchema>;

/** Signal payload: the replacement delivery reports its outcome to the delivery it replaces. */
export const ReplacementOutcomeSchema = z.object({
  workflowId: z.string(),
  version: z.number().int(),
  status: DeliveryStatusSchema,
  code: z.string().optional(),
  at: z.string(),
});
export type ReplacementOutcome = z.infer<typeof ReplacementOutcomeSchema>;

export const DeliveryResultSchema = z.object({
  status: DeliveryStatusSchema,
  attempts: z.number().int(),
  finalCode: z.string().optional(),
  replacedBy: z.string().optional(),
});
export type DeliveryResult = z.infer<typeof DeliveryResultSchema>;
