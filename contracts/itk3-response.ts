import { z } from 'zod';

/**
 * What the sender should do next on an ITK3 Response code (derived
 * classification). The ITK3 library assigns it at the inbound edge; workflows branch on it.
 */
export const SenderActionSchema = z.enum([
  'DELIVERED', // 30001, 30004 and other positive business codes
  'AWAIT_BUSINESS_ACK', // 20013
  'FIX_AND_RESEND', // 10001-10005, 10007, 10008, 10010, 20004-20006, 20009
  'INVESTIGATE_UNREADABLE', // 10009
  'TREAT_AS_DUPLICATE', // 20007, 20008
  'SHRINK_PAYLOAD', // 20015
  'ESCALATE_ROUTING', // 20001-20003, 20010-20012
  'VOID_ORIGINAL_AND_REPLACEMENT', // 20014
  'ESCALATE_BUSINESS_REJECTION', // 30002, 30003 and other negative business codes
]);
export type SenderAction = z.infer<typeof SenderActionSchema>;

export const ResponseLevelSchema = z.enum(['infrastructure', 'business']);
export const PolaritySchema = z.enum(['positive', 'negative']);

/** The literal a receiver puts in response.identifier when it could not read the original id. */
export const UNREADABLE_IN_ORIGINAL_MESSAGE = 'UNREADABLE-IN-ORIGINAL-MESSAGE';

/**
 * An ITK3 Response as delivered to a delivery workflow (signal payload). Correlation and
 * classification have already happened at the edge.
 */
export const Itk3ResponseReceivedSchema = z.object({
  /** Bundle identifier of the response message itself: the idempotency key for duplicates. */
  responseId: z.string().min(1),
  /** MessageHeader.response.identifier: the MessageHeader id of the attempt it answers. */
  respondsTo: z.string().min(1),
  code: z.string().regex(/^\d{5}$/),
  display: z.string(),
  level: ResponseLevelSchema,
  polarity: PolaritySchema,
  action: SenderActionSchema,
  responseCode: z.enum(['ok', 'transient-error', 'fatal-error']),
  diagnostics: z.string().optional(),
  /** MESH message id that carried it. */
  meshMessageId: z.string(),
  receivedAt: z.string(),
  /**
   * How the inbound router found this workflow. Absent means RESPONSE_IDENTIFIER.
   * For SENDER_REFERENCE and OPERATOR, `respondsTo` names the attempt it was routed to and
   * `originalRespondsTo` keeps what the response itself said.
   */
  correlatedBy: z.enum(['RESPONSE_IDENTIFIER', 'SENDER_REFERENCE', 'OPERATOR']).optional(),
  originalRespondsTo: z.string().optional(),
  /** The echoed ITK3 SenderReference (the encounter id; not patient data). */
  senderReference: z.string().optional(),
  /** False for a code outside ITK-ResponseCodes-1, classified by prefix and response.code. */
  knownCode: z.boolean().optional(),
  /** Set when it came out of the inbound quarantine (operator reroute or a later automatic match). */
  quarantineId: z.string().optional(),
  /** Operator reroute: who sent it here (the authenticated principal), and why. */
  reroutedBy: z.string().optional(),
  rerouteReason: z.string().optional(),
  /** The MESH mailbox that sent it (Mex-From of the inbound message). */
  senderMailbox: z.string().optional(),
  /** The ODS code of the MessageHeader sender Organization. */
  senderOds: z.string().optional(),
  /**
   * GP Connect automatic routing: the mailbox MESH tracking reports the attempt was delivered to, learned
   * by the inbound router once; the workflow keeps it on the attempt.
   */
  recipientMailbox: z.string().optional(),
});
export type Itk3ResponseReceived = z.infer<typeof Itk3ResponseReceivedSchema>;
