import { z } from 'zod';
import { ContentRefSchema } from './delivery';

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
});
export type SendMeshMessageResult = z.infer<typeof SendMeshMessageResultSchema>;

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

export const PollMeshInboxInputSchema = z.object({ mailboxId: z.string() });
export type PollMeshInboxInput = z.infer<typeof PollMeshInboxInputSchema>;

export const PollMeshInboxResultSchema = z.object({
  listed: z.number().int(),
  routed: z.number().int(),
  reports: z.number().int(),
  unmatched: z.number().int(),
  /** True when the listing was a full page, so the poller should look again at once (MESH guidance). */
  morePending: z.boolean(),
});
export type PollMeshInboxResult = z.infer<typeof PollMeshInboxResultSchema>;

export const MeshReportReceivedSchema = z.object({
  meshMessageId: z.string(),
  reportMessageId: z.string(),
  statusCode: z.string().optional(),
  statusDescription: z.string().optional(),
  kind: z.enum(['NON_DELIVERY', 'ROUTING_ERROR', 'OTHER']),
  receivedAt: z.string(),
});
export type MeshReportReceived = z.infer<typeof MeshReportReceivedSchema>;
