/**
 * Operator refusals: why an operator update on a delivery (correct, resend, replace, abandon,
 * acknowledgeEscalation, changeDeadlines) was not accepted. The code is the `type` of the
 * ApplicationFailure the caller receives (from the update's validator, which leaves no trace in history,
 * or from the update itself when the state changed while content was being checked); the message is the
 * reason, written for the person who asked, from `operatorRefusalMessage`. Codes are stable: clients
 * switch on them. A refusal is never a patient matter: messages hold states, ids, ODS codes and times only.
 */
export const OperatorRefusalCode = {
  /** The update's own input is malformed (actor, reason, content reference, deadlines); every problem is listed. */
  OPERATOR_INPUT_INVALID: 'OPERATOR_INPUT_INVALID',
  /** The delivery has ended (ABANDONED, VOIDED) or is closing: no action is possible. */
  DELIVERY_ENDED: 'DELIVERY_ENDED',
  /** An attempt is being built and sent right now; try again once it is sent. */
  SEND_IN_PROGRESS: 'SEND_IN_PROGRESS',
  /** correct/resend on a DELIVERED document: send a replacement instead. */
  ALREADY_DELIVERED: 'ALREADY_DELIVERED',
  /** abandon on a DELIVERED document. */
  DELIVERED_CANNOT_BE_ABANDONED: 'DELIVERED_CANNOT_BE_ABANDONED',
  /** correct/resend while the current attempt is still within its acknowledgement deadline (GPCM-SD-095). */
  ACK_DEADLINE_NOT_PASSED: 'ACK_DEADLINE_NOT_PASSED',
  /** resend/correct to a recipient that gave a business rejection, without `overrideBusinessRejection` (GPCM-SD-094). */
  BUSINESS_REJECTION_NOT_OVERRIDDEN: 'BUSINESS_REJECTION_NOT_OVERRIDDEN',
  /** replace before the document was delivered. */
  NOT_DELIVERED: 'NOT_DELIVERED',
  /** replace while a replacement is already under way. */
  REPLACEMENT_UNDER_WAY: 'REPLACEMENT_UNDER_WAY',
  /** replace after the replacement window closed. */
  REPLACEMENT_WINDOW_CLOSED: 'REPLACEMENT_WINDOW_CLOSED',
  /** The replacement's workflow could not be started (it may exist already). */
  REPLACEMENT_NOT_STARTED: 'REPLACEMENT_NOT_STARTED',
  /** acknowledgeEscalation with no escalation open. */
  NO_OPEN_ESCALATION: 'NO_OPEN_ESCALATION',
  /** acknowledgeEscalation naming an escalation that is not the open one. */
  ESCALATION_NOT_OPEN: 'ESCALATION_NOT_OPEN',
  /** acknowledgeEscalation of an escalation someone already acknowledged. */
  ESCALATION_ALREADY_ACKNOWLEDGED: 'ESCALATION_ALREADY_ACKNOWLEDGED',
} as const;
export type OperatorRefusalCode = (typeof OperatorRefusalCode)[keyof typeof OperatorRefusalCode];

/** What a refusal message may mention: states, attempt numbers, times, ODS codes, workflow and escalation ids. */
export interface OperatorRefusalFacts {
  status?: string;
  attempt?: number;
  waitingUntil?: string;
  recipientOds?: string;
  workflowId?: string;
  escalationId?: string;
  openEscalationId?: string;
  acknowledgedBy?: string;
  /** For OPERATOR_INPUT_INVALID: the problems, one sentence each. */
  problems?: readonly string[];
}

const OPERATOR_REFUSAL_MESSAGES: { readonly [K in OperatorRefusalCode]: (f: OperatorRefusalFacts) => string } = {
  OPERATOR_INPUT_INVALID: (f) => (f.problems ?? []).join('; ') || 'the update input is not valid',
  DELIVERY_ENDED: (f) => `the delivery has ended (${f.status ?? 'closed'})`,
  SEND_IN_PROGRESS: () => 'an attempt is being sent right now; try again once it has been sent',
  ALREADY_DELIVERED: () => 'the document was delivered: send a replacement instead (replace)',
  DELIVERED_CANNOT_BE_ABANDONED: () => 'the document was delivered and cannot be abandoned',
  ACK_DEADLINE_NOT_PASSED: (f) =>
    `attempt ${f.attempt ?? '?'} is still within its acknowledgement deadline (${f.waitingUntil ?? 'not set'}); wait, or change the deadline`,
  BUSINESS_REJECTION_NOT_OVERRIDDEN: (f) =>
    `recipient ${f.recipientOds ?? '?'} gave a business rejection; a re-send to the same route is refused unless overrideBusinessRejection is set`,
  NOT_DELIVERED: (f) => `only a DELIVERED document can be replaced (status is ${f.status ?? '?'})`,
  REPLACEMENT_UNDER_WAY: (f) => `a replacement is already under way (${f.workflowId ?? '?'})`,
  REPLACEMENT_WINDOW_CLOSED: () => 'the replacement window has closed',
  REPLACEMENT_NOT_STARTED: (f) => `the replacement workflow ${f.workflowId ?? '?'} could not be started (it may exist already)`,
  NO_OPEN_ESCALATION: () => 'there is no open escalation',
  ESCALATION_NOT_OPEN: (f) => `escalation ${f.escalationId ?? '?'} is not the open one (${f.openEscalationId ?? '?'})`,
  ESCALATION_ALREADY_ACKNOWLEDGED: (f) => `the escalation was already acknowledged by ${f.acknowledgedBy ?? 'someone'}`,
};

/** One refusal: its catalogue code and the reason in words. */
export interface OperatorRefusalReason {
  code: OperatorRefusalCode;
  message: string;
}

/** The refusal for `code` with its message filled in from `facts`. Pure and workflow-safe. */
export function operatorRefusal(code: OperatorRefusalCode, facts: OperatorRefusalFacts = {}): OperatorRefusalReason {
  return { code, message: OPERATOR_REFUSAL_MESSAGES[code](facts) };
}

/**
 * The one catalogue of failure types. Domain and MESH code throw small typed errors
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
  // operator updates on a delivery: the refusals above, and a stored correction/replacement that is not valid
  ...OperatorRefusalCode,
  SUBMISSION_REF_INVALID: 'SUBMISSION_REF_INVALID',
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
