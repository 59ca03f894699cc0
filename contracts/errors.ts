/**
 * The one catalogue of failure types (STYLE.md §4, §5). Domain and MESH code throw small typed errors
 * carrying one of these strings; the activity edge turns them into `ApplicationFailure`s with the same
 * type, and workflows switch on the string. Never classify by class name or `instanceof`.
 */
export const ErrorType = {
  // configuration and input
  CONFIG_INVALID: 'CONFIG_INVALID',
  SUBMISSION_INVALID: 'SUBMISSION_INVALID',
  // ITK3 protocol
  ITK3_BUILD_REJECTED: 'ITK3_BUILD_REJECTED',
  ITK3_RESPONSE_INVALID: 'ITK3_RESPONSE_INVALID',
  // inbound routing and quarantine
  INBOUND_REROUTE_REJECTED: 'INBOUND_REROUTE_REJECTED',
  // MESH transport
  MESH_AUTH_FAILED: 'MESH_AUTH_FAILED',
  MESH_NOT_FOUND: 'MESH_NOT_FOUND',
  MESH_GONE: 'MESH_GONE',
  MESH_SEND_REJECTED: 'MESH_SEND_REJECTED',
  MESH_LOCKED: 'MESH_LOCKED',
  MESH_RATE_LIMITED: 'MESH_RATE_LIMITED',
  MESH_SERVER_ERROR: 'MESH_SERVER_ERROR',
  MESH_NETWORK_ERROR: 'MESH_NETWORK_ERROR',
  MESH_SEND_OUTCOME_UNKNOWN: 'MESH_SEND_OUTCOME_UNKNOWN',
  MESH_PROTOCOL_ERROR: 'MESH_PROTOCOL_ERROR',
  // content store
  STORE_NOT_FOUND: 'STORE_NOT_FOUND',
  STORE_INTEGRITY: 'STORE_INTEGRITY',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** A structured problem, safe to log: it never holds patient identifiers. */
export interface Issue {
  path?: string;
  message: string;
  requirementId?: string;
}

/** Base for every typed error of ours. `type` is the catalogue string; `issues` says exactly what was wrong. */
export class CourierError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly issues: Issue[] = [],
    readonly retryable = false,
  ) {
    super(message);
    this.name = type;
  }
}
