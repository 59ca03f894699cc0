import { z } from 'zod';
import { Itk3ResponseReceivedSchema } from './itk3-response';

/** Claim check for content kept in the encrypted content store: what travels through history instead. */
export const ContentRefSchema = z.object({
  key: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
export type ContentRef = z.infer<typeof ContentRefSchema>;

/** Which generation of GP Connect Send Document to emit (reference/itk3.md §1). */
export const SpecProfileSchema = z.enum(['1.x', '2.x']);
export type SpecProfile = z.infer<typeof SpecProfileSchema>;

export const DeliveryStatusSchema = z.enum([
  'SENDING',
  'AWAITING_INFRASTRUCTURE_ACK',
  'AWAITING_BUSINESS_ACK',
  'AWAITING_CORRECTION',
  'DELIVERED',
  'REJECTED',
  'ABANDONED',
  'VOIDED',
]);
export type DeliveryStatus = z.infer<typeof DeliveryStatusSchema>;
export const TERMINAL_STATUSES: readonly DeliveryStatus[] = ['DELIVERED', 'REJECTED', 'ABANDONED', 'VOIDED'];

/** Durations in milliseconds. */
export const AckDeadlinesSchema = z.object({
  infrastructureAckMs: z.number().int().positive(),
  businessAckMs: z.number().int().positive(),
});
export type AckDeadlines = z.infer<typeof AckDeadlinesSchema>;

/** Input of `sendDocumentWorkflow`. No patient data: the submission itself is behind `submissionRef`. */
export const SendDocumentInputSchema = z.object({
  documentId: z.uuid(),
  version: z.number().int().min(1),
  senderOds: z.string(),
  recipientOds: z.string(),
  submissionRef: ContentRefSchema,
  deadlines: AckDeadlinesSchema,
  submittedAt: z.string(),
});
export type SendDocumentInput = z.infer<typeof SendDocumentInputSchema>;

export const TimelineEntrySchema = z.object({
  at: z.string(),
  kind: z.enum(['SUBMITTED', 'BUILT', 'SENT', 'RESPONSE', 'DEADLINE', 'ESCALATION', 'OPERATOR', 'MESH_REPORT', 'STATE']),
  attempt: z.number().int().optional(),
  detail: z.string(),
});
export type TimelineEntry = z.infer<typeof TimelineEntrySchema>;

export const AttemptSchema = z.object({
  attempt: z.number().int().min(1),
  messageHeaderId: z.string(),
  bundleIdentifier: z.string(),
  meshMessageId: z.string().optional(),
  sentAt: z.string().optional(),
  infrastructureAck: Itk3ResponseReceivedSchema.optional(),
  businessAck: Itk3ResponseReceivedSchema.optional(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

/** What `stateQuery` answers: enough for the API, the CLI and an operator, with no patient data. */
export const DeliveryStateSchema = z.object({
  workflowId: z.string(),
  documentId: z.string(),
  version: z.number().int(),
  status: DeliveryStatusSchema,
  escalated: z.boolean(),
  waitingFor: z.enum(['INFRASTRUCTURE_ACK', 'BUSINESS_ACK', 'CORRECTION', 'NOTHING']),
  waitingUntil: z.string().optional(),
  currentAttempt: z.number().int(),
  attempts: z.array(AttemptSchema),
  timeline: z.array(TimelineEntrySchema),
});
export type DeliveryState = z.infer<typeof DeliveryStateSchema>;

export const DeliveryResultSchema = z.object({
  status: DeliveryStatusSchema,
  attempts: z.number().int(),
  finalCode: z.string().optional(),
});
export type DeliveryResult = z.infer<typeof DeliveryResultSchema>;
