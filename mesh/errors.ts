import { CourierError, type ErrorType, type Issue } from '../contracts/errors';

/** The MESH subset of the error catalogue (contracts/errors.ts). */
export type MeshErrorType =
  | typeof ErrorType.MESH_AUTH_FAILED
  | typeof ErrorType.MESH_NOT_FOUND
  | typeof ErrorType.MESH_GONE
  | typeof ErrorType.MESH_SEND_REJECTED
  | typeof ErrorType.MESH_LOCKED
  | typeof ErrorType.MESH_RATE_LIMITED
  | typeof ErrorType.MESH_SERVER_ERROR
  | typeof ErrorType.MESH_NETWORK_ERROR
  | typeof ErrorType.MESH_SEND_OUTCOME_UNKNOWN
  | typeof ErrorType.MESH_PROTOCOL_ERROR;

/** Which client call failed; safe to log (never a subject, recipient or body). */
export type MeshOperation =
  | 'handshake'
  | 'sendMessage'
  | 'sendChunk'
  | 'listInbox'
  | 'downloadMessage'
  | 'acknowledgeMessage'
  | 'trackMessage'
  | 'lookupEndpoint'
  | 'listOutbox'
  | 'trackByLocalId';

export interface MeshErrorDetails {
  operation: MeshOperation;
  retryable: boolean;
  httpStatus?: number;
  /** MESH error code from the response body (`detail[].code` v2, `errorCode` v1), e.g. `12`, `02`. */
  meshErrorCode?: string;
  /** From `Retry-After` on 429/503. */
  retryAfterMs?: number;
  /** The MESH message id the call was about, when known. Message ids are not patient data. */
  messageId?: string;
  issues?: Issue[];
  cause?: unknown;
}

/**
 * One typed MESH failure with exactly one retry decision (`retryable`, `retryAfterMs`). Messages hold
 * the operation, HTTP status and MESH code only: never message bodies, subjects, recipients or other
 * fields that could carry patient identifiers (a subject may hold an NHS number).
 */
export class MeshError extends CourierError {
  readonly operation: MeshOperation;
  readonly httpStatus?: number;
  readonly meshErrorCode?: string;
  readonly retryAfterMs?: number;
  readonly messageId?: string;

  constructor(type: MeshErrorType, message: string, details: MeshErrorDetails) {
    super(type, message, details.issues ?? [], details.retryable);
    this.operation = details.operation;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.meshErrorCode !== undefined) this.meshErrorCode = details.meshErrorCode;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.messageId !== undefined) this.messageId = details.messageId;
    if (details.cause !== undefined) Object.defineProperty(this, 'cause', { value: details.cause, enumerable: false });
  }

  /** Structured, log-safe view (pino serialises this rather than the raw error). */
  toJSON(): Record<string, unknown> {
    return {
      type: this.type,
      message: this.message,
      operation: this.operation,
      retryable: this.retryable,
      httpStatus: this.httpStatus,
      meshErrorCode: this.meshErrorCode,
      retryAfterMs: this.retryAfterMs,
      messageId: this.messageId,
      issues: this.issues,
    };
  }
}

/** Error codes MESH returns in 417 bodies; descriptions are MESH's own, no PID. */
export const MESH_ERROR_CODES: Readonly<Record<string, string>> = {
  '02': 'Data file is missing or inaccessible',
  '06': 'Malformed control file / headers',
  '07': 'Invalid From address',
  '08': 'Missing To address',
  '09': 'Invalid control file version',
  '11': 'Invalid message type',
  '12': 'Unregistered to address',
  '14': 'Undelivered message',
  '15': 'Bad CP-IS file',
  '16': 'Sender not allowed to send messages of this type',
  '17': 'Workflow id not registered for mailbox',
  '18': 'ONS civil registration workflow not enabled',
  '19': 'Invalid expiry period',
  '20': 'Message does not exist',
  'EPL-150': 'Too many mailboxes matched',
  'EPL-151': 'No mailbox matched',
  'EPL-152': 'Invalid NHS number',
  'EPL-153': 'NHS number not found',
  'EPL-154': 'Demographics do not match',
};

/**
 * Parse `Retry-After` (delta-seconds or HTTP-date) into milliseconds; undefined when absent or invalid.
 * `now` is an argument so the function stays pure.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/**
 * Pull the MESH error code out of an error body without keeping anything else from it: v2
 * `{"detail":[{"code":"12",...}]}`, v1 `{"errorCode":"12"}`, FastAPI `{"detail":"..."}`. Descriptions
 * are taken only when they are MESH's fixed texts (sandbox: `InvalidHeaderChunks`, ...), never echoed free text.
 */
export function extractMeshErrorCode(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const record = body as Record<string, unknown>;
  if (typeof record.errorCode === 'string' && record.errorCode) return record.errorCode;
  const detail = record.detail;
  if (Array.isArray(detail)) {
    for (const d of detail) {
      if (d && typeof d === 'object') {
        const code = (d as Record<string, unknown>).code;
        if (typeof code === 'string' && code) return code;
      }
    }
  }
  if (typeof detail === 'string' && /^[A-Za-z][A-Za-z]+$/.test(detail)) return detail;
  return undefined;
}

/** Network error codes that prove the request never reached the server (safe to send again). */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
]);

/** The innermost `code` of an error chain (fetch wraps undici/socket errors in `cause`). */
export function networkErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  let code: string | undefined;
  for (let depth = 0; current && typeof current === 'object' && depth < 6; depth += 1) {
    const c = (current as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
    current = (current as { cause?: unknown }).cause;
  }
  return code;
}

/** True only when the error proves the request was never delivered to the server. */
export function isDefinitelyNotSent(err: unknown): boolean {
  const code = networkErrorCode(err);
  return code !== undefined && NOT_SENT_CODES.has(code);
}
