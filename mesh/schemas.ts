import { z } from 'zod';

/**
 * zod schemas for the MESH v2 JSON bodies this client reads (MESH API v2 spec).
 * They are lenient where MESH and the sandbox differ (timestamps, optional fields) and strict about what
 * the client relies on (ids, lists). Unknown keys are kept out of the parsed values.
 */

/** `POST /outbox` → 202 `{"message_id": "..."}` (v1 `messageID` accepted too). */
export const SendMessageResponseSchema = z.union([
  z.object({ message_id: z.string().min(1) }).transform((v) => v.message_id),
  z.object({ messageID: z.string().min(1) }).transform((v) => v.messageID),
]);

/** `GET /inbox` v2 page. */
export const InboxPageSchema = z.object({
  messages: z.array(z.string().min(1)),
  links: z.object({ self: z.string().optional(), next: z.string().optional() }).partial().optional(),
  approx_inbox_count: z.number().int().optional(),
});
export type InboxPage = z.infer<typeof InboxPageSchema>;

const optionalText = z.string().nullish().transform((v) => v ?? undefined);

/** `GET /outbox/tracking?messageID=` v2 (`TrackingV2`). Timestamps kept as the strings MESH sent. */
export const MeshTrackingSchema = z.object({
  message_id: z.string().min(1),
  local_id: optionalText,
  workflow_id: optionalText,
  filename: optionalText,
  expiry_time: optionalText,
  upload_timestamp: optionalText,
  recipient: optionalText,
  recipient_name: optionalText,
  recipient_ods_code: optionalText,
  recipient_org_code: optionalText,
  recipient_org_name: optionalText,
  status_success: z.boolean().nullish().transform((v) => v ?? undefined),
  status: optionalText,
  status_event: optionalText,
  status_timestamp: optionalText,
  status_description: optionalText,
  status_code: optionalText,
});
export type MeshTracking = z.infer<typeof MeshTrackingSchema>;

/** `GET /endpointlookup/{ods}/{workflow}` v2. */
export const EndpointLookupSchema = z.object({
  results: z.array(
    z.object({
      mailbox_id: z.string().min(1),
      mailbox_name: optionalText,
    }),
  ),
});

/** Sandbox-only hidden `GET /outbox/rich` page (`RichOutboxView`); used only to resolve an unknown send. */
export const RichOutboxPageSchema = z.object({
  messages: z.array(
    z.object({
      message_id: z.string().min(1),
      local_id: optionalText,
      message_type: optionalText,
      recipient: optionalText,
      sent_date: optionalText,
      status: optionalText,
      workflow_id: optionalText,
      total_chunks: z.number().int().nullish(),
    }),
  ),
  links: z.record(z.string(), z.string()).optional(),
});
export type RichOutboxPage = z.infer<typeof RichOutboxPageSchema>;

/** Deprecated `GET /outbox/tracking/{localId}` (v1 body only); we need only the id. */
export const TrackingV1Schema = z.object({ messageId: z.string().min(1) }).loose();
