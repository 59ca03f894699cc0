/**
 * The ITK3 Courier client library for Node services (package entry point): the typed HTTP client, the
 * request and response schemas and types, and the webhook signature check for escalation receivers.
 */
export { CourierHttpClient, CourierApiError, type CourierHttpClientOptions } from './http-client';
export * from './api-schemas';
export { verifyWebhookSignature, signWebhook, SIGNATURE_HEADER, NOTIFICATION_ID_HEADER } from '../../activities/notify/webhook';
export type { EscalationNotification } from '../../activities/notify/types';
export { SubmissionSchema, type Submission, type SubmissionInput, type DeliveryState, type OperatorActionResult } from '../../contracts';
