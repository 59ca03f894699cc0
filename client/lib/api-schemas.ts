/**
 * The HTTP API's own schemas: request bodies, query strings and responses (deliveries, and the responses
 * of the quarantine and consultation routes). They are the runtime check in the API, the types of the
 * typed clients and the source of `/openapi.json`; they belong to the client library, so the API server
 * and the CLI both import them from here. Operator
 * action bodies are the workflow update inputs of contracts/operator.ts without `actor` (the API takes
 * it from the authenticated caller, never from the body) and with a submission in place of a claim check
 * (the API stores it encrypted and passes the reference).
 */
import { z } from 'zod';
import { DurationSchema } from '../../config/duration';
import {
  DeliveryDeadlinesSchema,
  DeliveryStateSchema,
  DeliveryStatusSchema,
  OperatorActionResultSchema,
  ReasonSchema,
  SubmissionSchema,
  TimelineEntrySchema,
  WaitingForSchema,
} from '../../contracts';
import type { ConsultationEvent } from '../../contracts/consultation';
import { QuarantineEntrySchema } from '../../contracts/inbound';
import type { OperatorActionName } from '../../contracts/operator-actions';

export const IssueSchema = z.object({
  path: z.string().optional(),
  message: z.string(),
  requirementId: z.string().optional(),
});

export const ErrorBodySchema = z
  .object({
    error: z.string().meta({ description: 'A code from the error catalogue, e.g. INVALID_REQUEST, NOT_FOUND, ACTION_NOT_ALLOWED' }),
    message: z.string(),
    issues: z.array(IssueSchema),
    refusal: z
      .string()
      .optional()
      .meta({ description: 'For a refused operator action: why, as a code from the catalogue (e.g. NO_OPEN_ESCALATION, ACK_DEADLINE_NOT_PASSED)' }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const WorkflowIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'not a workflow id');
export const IdParamsSchema = z.object({ id: WorkflowIdSchema });

export const SubmitResponseSchema = z
  .object({
    workflowId: z.string(),
    created: z.boolean().meta({ description: 'false when this submission (or Idempotency-Key) was already accepted' }),
    statusUrl: z.string(),
  })
  .meta({ id: 'SubmitResponse' });
export type SubmitResponse = z.infer<typeof SubmitResponseSchema>;

const ODS = z.string().regex(/^[A-Z0-9]{3,10}$/, 'ODS code must be 3-10 upper-case letters or digits');
const isoDateTime = z.iso.datetime({ offset: true });
// Query strings carry text; the typed client may pass a boolean.
const boolParam = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

export const ListQuerySchema = z
  .object({
    status: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()))
      .pipe(z.array(DeliveryStatusSchema).min(1))
      .optional()
      .meta({ description: 'One delivery status or several, comma-separated' }),
    recipientOds: ODS.optional(),
    senderOds: ODS.optional(),
    escalated: boolParam.optional(),
    submittedFrom: isoDateTime.optional().meta({ description: 'Inclusive lower bound of the submission (workflow start) time' }),
    submittedTo: isoDateTime.optional().meta({ description: 'Exclusive upper bound of the submission time' }),
    pageSize: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().max(4096).optional().meta({ description: 'nextCursor of the previous page, with the same filters' }),
  })
  .strict()
  .refine((q) => !q.submittedFrom || !q.submittedTo || Date.parse(q.submittedFrom) < Date.parse(q.submittedTo), {
    message: 'submittedFrom must be before submittedTo',
    path: ['submittedFrom'],
  });
export type ListQuery = z.input<typeof ListQuerySchema>;
export type ParsedListQuery = z.output<typeof ListQuerySchema>;

export const DeliverySummarySchema = z
  .object({
    workflowId: z.string(),
    status: DeliveryStatusSchema.optional(),
    waitingFor: WaitingForSchema.optional(),
    escalated: z.boolean(),
    recipientOds: z.string().optional(),
    senderOds: z.string().optional(),
    attemptCount: z.number().int().optional(),
    ackDeadline: z.string().optional(),
    submittedAt: z.string(),
    closedAt: z.string().optional(),
    executionStatus: z.string().meta({ description: 'Temporal execution status: RUNNING, COMPLETED, FAILED, TERMINATED...' }),
  })
  .meta({ id: 'DeliverySummary' });
export type DeliverySummary = z.infer<typeof DeliverySummarySchema>;

export const ListResponseSchema = z
  .object({ items: z.array(DeliverySummarySchema), nextCursor: z.string().optional() })
  .meta({ id: 'DeliveryList' });
export type ListResponse = z.infer<typeof ListResponseSchema>;

export const TimelineResponseSchema = z
  .object({ workflowId: z.string(), timeline: z.array(TimelineEntrySchema) })
  .meta({ id: 'Timeline' });
export type TimelineResponse = z.infer<typeof TimelineResponseSchema>;

export { DeliveryStateSchema, OperatorActionResultSchema };


// --- operator actions ---
export const CorrectBodySchema = z
  .object({
    reason: ReasonSchema,
    submission: SubmissionSchema.meta({ description: 'The corrected submission: same document id and version' }),
    overrideBusinessRejection: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'CorrectRequest' });
export const ResendBodySchema = z
  .object({ reason: ReasonSchema, overrideBusinessRejection: z.boolean().optional() })
  .strict()
  .meta({ id: 'ResendRequest' });
export const ReplaceBodySchema = z
  .object({
    reason: ReasonSchema,
    submission: SubmissionSchema.meta({ description: 'The replacement: same document id, version + 1, replaces naming this version' }),
  })
  .strict()
  .meta({ id: 'ReplaceRequest' });
export const AbandonBodySchema = z.object({ reason: ReasonSchema }).strict().meta({ id: 'AbandonRequest' });
export const AcknowledgeBodySchema = z
  .object({ note: ReasonSchema, escalationId: z.string().min(1).optional() })
  .strict()
  .meta({ id: 'AcknowledgeEscalationRequest' });
export const ChangeDeadlinesBodySchema = z
  .object({
    reason: ReasonSchema,
    deadlines: z
      .object(Object.fromEntries(Object.keys(DeliveryDeadlinesSchema.shape).map((k) => [k, DurationSchema.optional()])) as Record<
        keyof z.infer<typeof DeliveryDeadlinesSchema>,
        z.ZodOptional<typeof DurationSchema>
      >)
      .strict()
      .refine((d) => Object.values(d).some((v) => v !== undefined), 'name at least one deadline to change'),
  })
  .strict()
  .meta({ id: 'ChangeDeadlinesRequest' });

export type CorrectBody = z.input<typeof CorrectBodySchema>;
export type ResendBody = z.input<typeof ResendBodySchema>;
export type ReplaceBody = z.input<typeof ReplaceBodySchema>;
export type AbandonBody = z.input<typeof AbandonBodySchema>;
export type AcknowledgeBody = z.input<typeof AcknowledgeBodySchema>;
export type ChangeDeadlinesBody = z.input<typeof ChangeDeadlinesBodySchema>;

/**
 * Each operator action's request body, by the action's wire name; what the action is, its route and its
 * CLI command come from the registry (contracts/operator-actions.ts). Declared over every
 * `OperatorActionName`, so an action added to the registry without its body does not compile.
 */
export const OPERATOR_ACTION_BODIES = {
  correct: CorrectBodySchema,
  resend: ResendBodySchema,
  replace: ReplaceBodySchema,
  abandon: AbandonBodySchema,
  acknowledgeEscalation: AcknowledgeBodySchema,
  changeDeadlines: ChangeDeadlinesBodySchema,
} as const satisfies Record<OperatorActionName, z.ZodType>;
/** The request body of one operator action, as a caller writes it (durations as text or milliseconds). */
export type OperatorActionBody<N extends OperatorActionName> = z.input<(typeof OPERATOR_ACTION_BODIES)[N]>;

// --- listings of entries that may not decode (quarantine, consultations) ---
/** What a listing says about an entry it could not decode (the API's response and the log line). */
export const UNDECODABLE_MESSAGE = 'cannot be decoded with the configured keys';

export const UndecodableSchema = z.object({
  message: z.literal(UNDECODABLE_MESSAGE),
  keyIds: z.array(z.string()).describe('The codec key ids the entry was written under (plaintext metadata, not secret)'),
});
export type Undecodable = z.infer<typeof UndecodableSchema>;

// --- inbound quarantine ---
export const QuarantineListItemSchema = z
  .object({
    quarantineId: z.string(),
    status: z.string(),
    reason: z.string(),
    mailboxId: z.string().optional(),
    meshMessageId: z.string().optional(),
    messageType: z.string().optional(),
    code: z.string().optional(),
    receivedAt: z.string().optional(),
    closedAt: z.string().optional(),
    undecodable: UndecodableSchema.optional().describe('Set when the entry cannot be decoded with the configured codec keys: it is listed by id and search attributes only'),
  })
  .meta({ id: 'QuarantineListItem' });
export type QuarantineListItem = z.infer<typeof QuarantineListItemSchema>;

export const QuarantineDetailSchema = QuarantineEntrySchema.extend({
  /** Only with `?content=true`: what MESH delivered, decrypted from the store. May hold patient data. */
  content: z.object({ headers: z.record(z.string(), z.string()), encoding: z.enum(['utf8', 'base64']), body: z.string() }).optional(),
}).meta({ id: 'QuarantineEntry' });
export type QuarantineDetail = z.infer<typeof QuarantineDetailSchema>;

// --- consultations ---
export interface ConsultationEventAccepted {
  workflowId: string;
  eventId: string;
  type: ConsultationEvent['type'];
  /** True when the consultation had RETIRED and this event started a new run from its result. */
  resumed: boolean;
  viewUrl: string;
}

export const ConsultationSummarySchema = z
  .object({
    workflowId: z.string(),
    senderOds: z.string(),
    consultationId: z.string(),
    status: z.string(),
    sendDueAt: z.string().optional(),
    recipientOds: z.string().optional(),
    executionStatus: z.string(),
    startTime: z.string(),
    undecodable: UndecodableSchema.optional().describe('Set when the workflow cannot be decoded with the configured codec keys'),
  })
  .meta({ id: 'ConsultationSummary' });
export type ConsultationSummary = z.infer<typeof ConsultationSummarySchema>;

export { OPERATOR_ACTIONS, OPERATOR_ACTION_NAMES, type OperatorActionName, type OperatorActionSpec } from '../../contracts/operator-actions';
