/**
 * Signals, queries and updates of the delivery workflow: the public API that the inbound router, the
 * HTTP API and the CLI use. The wire name equals the stem and is stored in history: never
 * rename one. Safe to import from Node code. Payload schemas live in contracts/delivery.ts and
 * contracts/operator.ts; clients parse with them before sending.
 *
 * Updates have validators: a rejection (action not allowed in the current state, malformed input)
 * comes back to the caller as an ApplicationFailure whose `type` is a code of the refusal catalogue
 * (contracts/errors.ts `OperatorRefusalCode`, e.g. ACK_DEADLINE_NOT_PASSED, OPERATOR_INPUT_INVALID), with
 * the reason as its message, and leaves no trace in history. A corrected or replacement submission is
 * checked by an activity after acceptance; if it fails, the update fails with an ApplicationFailure of
 * type `SUBMISSION_REF_INVALID` (issues in `details[0]`), and if the state changed meanwhile, with the
 * refusal code that applies now; either way nothing changes.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AbandonInput,
  AcknowledgeEscalationInput,
  ChangeDeadlinesInput,
  CorrectInput,
  DeliveryState,
  Itk3ResponseReceived,
  MeshReportReceived,
  OperatorActionResult,
  ReplaceInput,
  ReplacementOutcome,
  ResendInput,
  TimelineEntry,
  Waiting,
} from '../contracts';

// Inbound: routed by the MESH inbox poller (activities/inbound.ts). Idempotent on redelivery.
export const itk3ResponseSignal = defineSignal<[Itk3ResponseReceived]>('itk3Response');
export const meshReportSignal = defineSignal<[MeshReportReceived]>('meshReport');
/** From a replacement delivery to the delivery it replaces (20014 voids both). */
export const replacementOutcomeSignal = defineSignal<[ReplacementOutcome]>('replacementOutcome');

// Queries.
export const stateQuery = defineQuery<DeliveryState>('state');
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');
export const waitingQuery = defineQuery<Waiting>('waiting');

// Operator updates: each records who acted and why.
/** Send a corrected submission as a new ITK3 message. Allowed when awaiting correction or an operator, after a business rejection (other route, or override), or once an ack deadline has passed. */
export const correctUpdate = defineUpdate<OperatorActionResult, [CorrectInput]>('correct');
/** Send the current submission again as a new ITK3 message. After a business rejection only with `overrideBusinessRejection`. */
export const resendUpdate = defineUpdate<OperatorActionResult, [ResendInput]>('resend');
/** Replace a DELIVERED document: version + 1 with relatesTo, delivered by its own (child) workflow. */
export const replaceUpdate = defineUpdate<OperatorActionResult, [ReplaceInput]>('replace');
/** Stop; the workflow ends ABANDONED. Not allowed once DELIVERED. */
export const abandonUpdate = defineUpdate<OperatorActionResult, [AbandonInput]>('abandon');
/** Take the open escalation: reminders stop, the case stays escalated until resolved. */
export const acknowledgeEscalationUpdate = defineUpdate<OperatorActionResult, [AcknowledgeEscalationInput]>('acknowledgeEscalation');
/** Change this delivery's deadlines; acknowledgement deadlines stay measured from the MESH send time. */
export const changeDeadlinesUpdate = defineUpdate<OperatorActionResult, [ChangeDeadlinesInput]>('changeDeadlines');
