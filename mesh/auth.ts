import { createHmac } from 'node:crypto';

/**
 * The MESH `Authorization` token (MESH API v2 "MESH Authorization header"):
 *
 *   NHSMESH <MAILBOX>:<nonce>:<nonce_count>:<yyyyMMddHHmm UTC>:<hex HMAC-SHA256(sharedKey, "MAILBOX:nonce:nonce_count:password:timestamp")>
 *
 * Pure: the nonce, count and timestamp are arguments, so the same inputs give the same token anywhere
 * (the reference test vector and mesh-client's own generator are checked against it in the tests).
 */
export function buildAuthorizationHeader(args: {
  mailboxId: string;
  password: string;
  sharedKey: string;
  nonce: string;
  nonceCount: number;
  timestamp: Date;
}): string {
  const mailbox = args.mailboxId.toUpperCase();
  if (!Number.isInteger(args.nonceCount) || args.nonceCount < 0) {
    throw new RangeError('nonceCount must be a non-negative integer');
  }
  if (args.nonce.includes(':')) throw new RangeError('nonce must not contain ":"');
  const timestamp = formatMeshTimestamp(args.timestamp);
  const message = `${mailbox}:${args.nonce}:${args.nonceCount}:${args.password}:${timestamp}`;
  const hash = createHmac('sha256', args.sharedKey).update(message, 'utf8').digest('hex');
  return `NHSMESH ${mailbox}:${args.nonce}:${args.nonceCount}:${timestamp}:${hash}`;
}

/** UTC `yyyyMMddHHmm` (12 digits), the timestamp format of the token. */
export function formatMeshTimestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('timestamp is not a valid date');
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes())
  );
}
