/**
 * Signals, queries and updates of the delivery workflow: the public API that the inbound router, the
 * HTTP API and the CLI use. The wire name equals the stem and is stored in history: never
 * rename one. Safe to import from Node code. Payload schemas live in contracts/delivery.ts and
 * contracts/operator.ts; clients parse with them before sending. The operator updates are the actions
 * of the registry in contracts/operator-actions.ts, which says what each does and when it is allowed.
 *
 * Updates have validators: a rejection (action not allowed in the current state, malformed input)
 * comes back to the caller as an ApplicationFailure whose `type` is a code of the refusal catalogue
 * (contracts/errors.ts `OperatorRefusalCode`, e.g. ACK_DEADLINE_NOT_PASSED, OPERATOR_INPUT_INVALID), with
 * the reason as its message, and leaves no trace in history. A corrected or replacement submission is
 * checked by an activity after acceptance; if it fails, the update fails with an ApplicationFailure of
 * type `SUBMISSION_REF_INVALID` (issues in `details[0]`), and if the state changed meanwhile, with the
 * refusal code that applies now; either way nothing changes.
 */
import type { UpdateDefinition } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  DeliveryState,
  Itk3ResponseReceived,
  MeshReportReceived,
  OperatorActionInputs,
  OperatorActionResult,
  ReplacementOutcome,
  TimelineEntry,
  Waiting,
} from '../contracts';
import type { OperatorActionName } from '../contracts/operator-actions';

// Inbound: routed by the MESH inbox poller (activities/inbound.ts). Idempotent on redelivery.
export const itk3ResponseSignal = defineSignal<[Itk3ResponseReceived]>('itk3Response');
export const meshReportSignal = defineSignal<[MeshReportReceived]>('meshReport');
/** From a replacement delivery to the delivery it replaces (20014 voids both). */
export const replacementOutcomeSignal = defineSignal<[ReplacementOutcome]>('replacementOutcome');

// Queries.
export const stateQuery = defineQuery<DeliveryState>('state');
export const timelineQuery = defineQuery<TimelineEntry[]>('timeline');
export const waitingQuery = defineQuery<Waiting>('waiting');

/** The update of one operator action: its wire name is the action's name, its argument the action's input. */
export type OperatorUpdate<N extends OperatorActionName> = UpdateDefinition<OperatorActionResult, [OperatorActionInputs[N]], N>;
const operatorUpdate = <N extends OperatorActionName>(name: N): OperatorUpdate<N> => defineUpdate<OperatorActionResult, [OperatorActionInputs[N]], N>(name);

/**
 * Operator updates, one per action of the registry, by name; each records who acted and why. The type
 * makes the list exhaustive and each definition's wire name its key.
 */
export const OPERATOR_UPDATES: { readonly [N in OperatorActionName]: OperatorUpdate<N> } = {
  correct: operatorUpdate('correct'),
  resend: operatorUpdate('resend'),
  replace: operatorUpdate('replace'),
  abandon: operatorUpdate('abandon'),
  acknowledgeEscalation: operatorUpdate('acknowledgeEscalation'),
  changeDeadlines: operatorUpdate('changeDeadlines'),
};
export const correctUpdate = OPERATOR_UPDATES.correct;
export const resendUpdate = OPERATOR_UPDATES.resend;
export const replaceUpdate = OPERATOR_UPDATES.replace;
export const abandonUpdate = OPERATOR_UPDATES.abandon;
export const acknowledgeEscalationUpdate = OPERATOR_UPDATES.acknowledgeEscalation;
export const changeDeadlinesUpdate = OPERATOR_UPDATES.changeDeadlines;
