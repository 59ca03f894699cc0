import { z } from 'zod';
import type { QuarantineActionName } from './quarantine-actions';
import { ContentRefSchema } from './delivery';

/**
 * Inbound MESH traffic: how the inbox poller classifies what arrives, and the quarantine that
 * keeps whatever cannot be routed to a waiting delivery workflow. Nothing here holds patient data: ids,
 * codes and classifications only; message content stays in the encrypted content store (`contentRef`).
 */

/** Why a MESH inbox message went to the quarantine instead of a delivery workflow. */
export const QuarantineReasonSchema = z.enum([
  /** Body on an ACK workflow that is not a readable ITK3 Response (bad XML, not a Bundle, missing parts). */
  'MALFORMED',
  /** A response code outside ITK-ResponseCodes-1 that cannot be classified by prefix. */
  'UNCLASSIFIABLE_CODE',
  /** response.identifier = UNREADABLE-IN-ORIGINAL-MESSAGE (ITK3 10009 defaults). */
  'UNREADABLE_IN_ORIGINAL_MESSAGE',
  /** A readable response whose identifier and SenderReference match no delivery. */
  'UNMATCHED_RESPONSE',
  /** Matched more than one delivery (e.g. two open versions share a SenderReference). */
  'AMBIGUOUS_RESPONSE',
  /** A MESH REPORT whose Mex-LinkedMsgID matches no delivery (or is missing). */
  'UNMATCHED_REPORT',
  /** A DATA message on a MESH workflow id that is not an ITK3 ACK workflow (1.x or 2.x name). */
  'UNEXPECTED_WORKFLOW_ID',
  /** The delivery it belongs to has closed and had not already recorded it. */
  'WORKFLOW_CLOSED',
  /**
   * Larger than the inbound limits (MESH_INBOUND_MAX_COMPRESSED_BYTES as sent, MESH_INBOUND_MAX_BYTES
   * decoded): reading stopped there; the entry keeps the headers and a bounded prefix, never the whole.
   */
  'OVERSIZED',
  /**
   * A response whose MESH sender mailbox (Mex-From) is not the mailbox the attempt it answers was
   * delivered to: anyone with a MESH mailbox can send to ours, so only the recipient's own mailbox counts.
   */
  'SENDER_MAILBOX_MISMATCH',
  /** A response whose MessageHeader sender ODS code is not the delivery's recipient ODS code (or is missing). */
  'SENDER_ODS_MISMATCH',
  /** GP Connect automatic routing: MESH tracking could not say which mailbox the attempt was delivered to. */
  'SENDER_MAILBOX_UNVERIFIED',
  /** A REPORT that MESH itself did not send (its Mex-From names a mailbox other than the one it arrived in). */
  'REPORT_NOT_FROM_MESH',
]);
export type QuarantineReason = z.infer<typeof QuarantineReasonSchema>;

export const QuarantineStatusSchema = z.enum([
  /** Waiting for an operator (raised once). */
  'OPEN',
  /** An operator sent it to a delivery workflow. */
  'REROUTED',
  /** A later correlation attempt found its delivery (visibility lag); nobody had to act. */
  'AUTO_ROUTED',
  /** An operator closed it without routing (e.g. a report about a message sent by another system). */
  'RESOLVED',
]);
export type QuarantineStatus = z.infer<typeof QuarantineStatusSchema>;

/** What could be read from a quarantined message: ids and codes, never content. */
export const QuarantineSummarySchema = z.object({
  responseId: z.string().optional(),
  respondsTo: z.string().optional(),
  code: z.string().optional(),
  level: z.enum(['infrastructure', 'business']).optional(),
  polarity: z.enum(['positive', 'negative']).optional(),
  /** The ITK3 SenderReference (the encounter id chosen by the sending system; not patient data). */
  senderReference: z.string().optional(),
  linkedMessageId: z.string().optional(),
  reportKind: z.enum(['NON_DELIVERY', 'ROUTING_ERROR', 'OTHER']).optional(),
  statusCode: z.string().optional(),
  /** Who sent it: the MESH sender mailbox (Mex-From) and the MessageHeader sender ODS code. */
  senderMailbox: z.string().optional(),
  senderOds: z.string().optional(),
  /** What the delivery it claims to answer expected from its recipient (sender checks). */
  expectedMailbox: z.string().optional(),
  expectedOds: z.string().optional(),
});
export type QuarantineSummary = z.infer<typeof QuarantineSummarySchema>;

/** Input of `inboundQuarantineWorkflow`: one entry per quarantined MESH message. */
export const QuarantineInputSchema = z.object({
  quarantineId: z.string(),
  mailboxId: z.string(),
  meshMessageId: z.string(),
  messageType: z.enum(['DATA', 'REPORT']),
  meshWorkflowId: z.string().optional(),
  reason: QuarantineReasonSchema,
  /** Log-safe explanation: field names and rule, never values from the message. */
  detail: z.string(),
  /** `StoredInboundMessage` (body and mex headers), encrypted in the content store. */
  contentRef: ContentRefSchema,
  receivedAt: z.string(),
  summary: QuarantineSummarySchema,
  /** Deliveries that might own it (a SenderReference match), for the operator. */
  candidates: z.array(z.string()),
  /** Try to correlate again after each of these delays before raising it (visibility lag). */
  rematchDelaysMs: z.array(z.number().int().positive()),
});
export type QuarantineInput = z.infer<typeof QuarantineInputSchema>;

export const QuarantineResolutionSchema = z.object({
  actor: z.string(),
  reason: z.string(),
  at: z.string(),
  targetWorkflowId: z.string().optional(),
  signal: z.enum(['itk3Response', 'meshReport']).optional(),
});

/** What the `quarantineEntry` query answers. */
export const QuarantineEntrySchema = QuarantineInputSchema.omit({ rematchDelaysMs: true }).extend({
  status: QuarantineStatusSchema,
  /** When the operator was told (once). */
  raisedAt: z.string().optional(),
  rematchAttempts: z.number().int(),
  resolution: QuarantineResolutionSchema.optional(),
});
export type QuarantineEntry = z.infer<typeof QuarantineEntrySchema>;

/** Memo on each quarantine workflow, so a listing needs no query per entry. */
export const QuarantineMemoSchema = z.object({
  mailboxId: z.string(),
  meshMessageId: z.string(),
  messageType: z.enum(['DATA', 'REPORT']),
  reason: QuarantineReasonSchema,
  receivedAt: z.string(),
  code: z.string().optional(),
});
export type QuarantineMemo = z.infer<typeof QuarantineMemoSchema>;

const Actor = z.string().trim().min(1, 'actor is required').max(200);
const Reason = z.string().trim().min(1, 'a reason is required').max(2000);

/**
 * `reroute`: send a quarantined message to a delivery workflow. A readable response keeps its own code;
 * `code` is only for content that cannot be read or classified (the operator says what it meant).
 */
export const RerouteQuarantineInputSchema = z.object({
  actor: Actor,
  reason: Reason,
  targetWorkflowId: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'not a workflow id'),
  /** Which attempt of the target it answers; default the current attempt. */
  attempt: z.number().int().min(1).optional(),
  code: z.string().regex(/^[123]\d{4}$/, 'five digits starting 1, 2 or 3').optional(),
});
export type RerouteQuarantineInput = z.infer<typeof RerouteQuarantineInputSchema>;

export const ResolveQuarantineInputSchema = z.object({ actor: Actor, reason: Reason });
export type ResolveQuarantineInput = z.infer<typeof ResolveQuarantineInputSchema>;

/**
 * Each quarantine action's update input, by wire name (contracts/quarantine-actions.ts); declared over
 * every `QuarantineActionName`, so an action added there without its schema does not compile.
 */
export const QUARANTINE_INPUT_SCHEMAS = {
  rerouteQuarantine: RerouteQuarantineInputSchema,
  resolveQuarantine: ResolveQuarantineInputSchema,
} as const satisfies Record<QuarantineActionName, z.ZodType>;
export type QuarantineActionInputs = { [N in QuarantineActionName]: z.infer<(typeof QUARANTINE_INPUT_SCHEMAS)[N]> };

export const QuarantineActionResultSchema = z.object({
  quarantineId: z.string(),
  status: QuarantineStatusSchema,
  targetWorkflowId: z.string().optional(),
  signal: z.enum(['itk3Response', 'meshReport']).optional(),
  /** The attempt's MessageHeader id the routed response now answers. */
  respondsTo: z.string().optional(),
  code: z.string().optional(),
});
export type QuarantineActionResult = z.infer<typeof QuarantineActionResultSchema>;

/** Activity input: deliver a quarantined message to a workflow (operator reroute or automatic rematch). */
export const RouteQuarantinedInputSchema = z.object({
  quarantineId: z.string(),
  contentRef: ContentRefSchema,
  /** Operator reroute: target and options. Absent: correlate again as the router would. */
  reroute: RerouteQuarantineInputSchema.optional(),
});
export type RouteQuarantinedInput = z.infer<typeof RouteQuarantinedInputSchema>;

export const RouteQuarantinedResultSchema = z.object({
  routed: z.boolean(),
  targetWorkflowId: z.string().optional(),
  signal: z.enum(['itk3Response', 'meshReport']).optional(),
  respondsTo: z.string().optional(),
  code: z.string().optional(),
  candidates: z.array(z.string()).optional(),
});
export type RouteQuarantinedResult = z.infer<typeof RouteQuarantinedResultSchema>;

/** What the content store holds for a quarantined message: everything MESH gave us, encrypted. */
export interface StoredInboundMessage {
  mailboxId: string;
  meshMessageId: string;
  messageType: 'DATA' | 'REPORT';
  /** All mex-* headers (a subject may hold an NHS number: that is why this lives in the store). */
  headers: Record<string, string>;
  bodyBase64: string;
  receivedAt: string;
}

/** One failing inbox message, as the poller tracks it across passes. */
export const InboxFailureSchema = z.object({
  meshMessageId: z.string(),
  errorType: z.string(),
  httpStatus: z.number().int().optional(),
});
export type InboxFailure = z.infer<typeof InboxFailureSchema>;

/** Quarantine entries are business keys too: one per MESH message, so a redelivery finds its entry. */
export function quarantineWorkflowId(mailboxId: string, meshMessageId: string): string {
  return `inbound-quarantine-${mailboxId.toUpperCase()}-${meshMessageId}`;
}

export const QUARANTINE_WORKFLOW_TYPE = 'inboundQuarantineWorkflow';
export const INBOX_POLLER_WORKFLOW_TYPE = 'meshInboxPollerWorkflow';
