/**
 * The SenderReference search attribute holds a keyed hash, never the text itself. SenderReference is the
 * submitter's free text (meant to be an encounter id, but nothing stops a name or an NHS number), and
 * search attributes are stored and shown in plain text by Temporal visibility. HMAC-SHA256 with a key from
 * configuration keeps correlation (the API, the replace path and the inbound router compute the same
 * value) while a guess cannot be checked against visibility without the key.
 */
import { createHmac } from 'node:crypto';

/** Used only when no key is configured: local development against the sandbox (production refuses it). */
export const LOCAL_CORRELATION_KEY = 'itk3-courier-local-correlation-key-not-secret';

/** The value of the `SenderReference` search attribute for one SenderReference. */
export function senderReferenceDigest(senderReference: string, key: string | undefined): string {
  return createHmac('sha256', key ?? LOCAL_CORRELATION_KEY).update(senderReference, 'utf8').digest('hex');
}
