import { z } from 'zod';
import { ContentRefSchema } from './delivery';
import { InboxFailureSchema } from './inbound';

/** Inputs and results of activities: plain data, no patient identifiers (content goes by reference). */

export const BuildItk3MessageInputSchema = z.object({
  submissionRef: ContentRefSchema,
  attempt: z.number().int().min(1),
  messageHeaderId: z.uuid(),
  bundleIdentifier: z.uuid(),
});
export type BuildItk3MessageInput = z.infer<typeof BuildItk3MessageInputSchema>;

export const BuildItk3MessageResultSchema = z.object({
  /** The built message and its MESH metadata (which holds the routing address), encrypted in the store. */
  messageRef: ContentRefSchema,
  sizeBytes: z.number().int(),
  meshWorkflowId: z.string(),
});
export type BuildItk3MessageResult = z.infer<typeof BuildItk3MessageResultSchema>;

export const SendMeshMessageInputSchema = z.object({
  messageRef: ContentRefSchema,
  messageHeaderId: z.uuid(),
  attempt: z.number().int().min(1),
});
export type SendMeshMessageInput = z.infer<typeof SendMeshMessageInputSchema>;

export const SendMeshMessageResultSchema = z.object({
  meshMessageId: z.string(),
  sentAt: z.string(),
  /** How it was addressed; with it the workflow requires responses to come from the attempt's recipient. */
  routing: z.enum(['mailbox', 'gpprovider']).optional(),
  /** Mailbox routing: the recipient mailbox (Mex-To). GP Connect automatic routing learns it later. */
  recipientMailbox: z.string().optional(),
});
export type SendMeshMessageResult = z.infer<typeof SendMeshMessageResultSchema>;

/**
 * `buildAndSendItk3Message`: build and send of one attempt as one activity (one activity and one workflow
 * task less per send than `buildItk3Message` then `sendMeshMessage`, which stay for workflows started
 * before). It takes what the build takes and returns what both return, less the store reference.
 */
export const BuildAndSendItk3MessageInputSchema = BuildItk3MessageInputSchema.extend({
  /** The attempt already built and stored (the API does so for a delivery's first attempt): post it, build nothing. */
  messageRef: ContentRefSchema.optional(),
});
export type BuildAndSendItk3MessageInput = z.infer<typeof BuildAndSendItk3MessageInputSchema>;

export const BuildAndSendItk3MessageResultSchema = BuildItk3MessageResultSchema.omit({ messageRef: true }).extend(SendMeshMessageResultSchema.shape);
export type BuildAndSendItk3MessageResult = z.infer<typeof BuildAndSendItk3MessageResultSchema>;

export const EscalationInputSchema = z.object({
  workflowId: z.string(),
  documentId: z.string(),
  state: z.string(),
  reason: z.string(),
  code: z.string().optional(),
  attempt: z.number().int().optional(),
  kind: z.enum(['RAISED', 'REMINDER', 'RESOLVED']),
  /** Stable id of one escalation (its reminders and resolution carry the same id): channels dedupe on it. */
  escalationId: z.string().optional(),
});
export type EscalationInput = z.infer<typeof EscalationInputSchema>;

export const PollMeshInboxInputSchema = z.object({
  mailboxId: z.string(),
  /** At most this many ids per pass (MESH pages hold 500): a full pass means "poll again at once". */
  pageSize: z.number().int().min(10).max(5000).optional(),
  /** Messages routed in parallel within a pass. */
  concurrency: z.number().int().min(1).max(32).optional(),
  /** Ids that failed in earlier passes: the result says which of them have recovered or gone. */
  knownFailures: z.array(z.string()).optional(),
  /** Wait this long before the first listing (the poll interval after a pass that was not a full page). */
  delayFirstListMs: z.number().int().min(0).optional(),
  /**
   * Long poll: while the inbox is empty, list again every `pollIntervalMs` for up to this long (from the
   * start of the activity), heartbeating, and return as soon as there is mail; 0 or absent = list once.
   */
  waitForMailMs: z.number().int().min(0).optional(),
  pollIntervalMs: z.number().int().min(1).optional(),
});
export type PollMeshInboxInput = z.infer<typeof PollMeshInboxInputSchema>;

export const PollMeshInboxResultSchema = z.object({
  listed: z.number().int(),
  routed: z.number().int(),
  reports: z.number().int(),
  /** Not matched to a waiting workflow: kept in the quarantine (same as `quarantined`). */
  unmatched: z.number().int(),
  /** True when the listing was a full page, so the poller should look again at once (MESH guidance). */
  morePending: z.boolean(),
  quarantined: z.number().int().optional(),
  /** Redeliveries of something a closed workflow had already recorded: acknowledged, not routed again. */
  duplicates: z.number().int().optional(),
  /** Messages that could not be downloaded or routed this pass: left in the inbox, tried again next pass. */
  failed: z.array(InboxFailureSchema).optional(),
  /** Of `knownFailures`, those that succeeded this pass or are no longer in the inbox. */
  recovered: z.array(z.string()).optional(),
});
export type PollMeshInboxResult = z.infer<typeof PollMeshInboxResultSchema>;

export const MeshReportReceivedSchema = z.object({
  meshMessageId: z.string(),
  reportMessageId: z.string(),
  statusCode: z.string().optional(),
  statusDescription: z.string().optional(),
  kind: z.enum(['NON_DELIVERY', 'ROUTING_ERROR', 'OTHER']),
  receivedAt: z.string(),
  /** Set when it came out of the inbound quarantine by an operator reroute: which entry, who and why. */
  quarantineId: z.string().optional(),
  reroutedBy: z.string().optional(),
  rerouteReason: z.string().optional(),
});
export type MeshReportReceived = z.infer<typeof MeshReportReceivedSchema>;
