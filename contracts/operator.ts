import { z } from 'zod';
import { ContentRefSchema, DeliveryDeadlinesSchema, DeliveryStatusSchema, WaitingForSchema } from './delivery';
import { ErrorType, OperatorRefusalCode } from './errors';
import { OPERATOR_ACTION_NAMES, type OperatorActionName } from './operator-actions';

/**
 * The inputs of the operator actions on a delivery workflow (contracts/operator-actions.ts describes
 * each action), sent as Temporal updates (workflows/definitions.ts). Every
 * action names who did it and why (GPCM-SD-094/095 in 1.3.1: a person is told, and acts). The HTTP API
 * and the CLI parse with these schemas at the edge; inside the workflow the update validators repeat
 * the structural checks without zod (workflows/operator-checks.ts) and check that the action is allowed
 * in the current state, rejecting with a clear reason.
 *
 * A corrected or replacement submission is never carried in the update: the API validates and stores it
 * in the encrypted content store, and the update carries its claim check (`ContentRef`). The workflow
 * has an activity re-read and validate the stored content before accepting it.
 */

/** Who acted: an operator's user id or service name. Never a patient identifier. */
export const ActorSchema = z.string().trim().min(1, 'actor is required').max(200);
/**
 * A short-lived token from the API binding the authenticated principal to this workflow and update
 * (activities/actor-token.ts). Without a valid one the action is still applied, but recorded with its
 * actor marked unverified: anyone who can reach Temporal's frontend can send an update naming any actor.
 */
export const ActorTokenSchema = z.string().min(1).max(2048);
/** Why they acted, in words; kept in the timeline. Must not contain patient identifiers. */
export const ReasonSchema = z.string().trim().min(1, 'a reason is required').max(2000);

/** `correct`: send a corrected submission as a new ITK3 message (sender defect, 20015 size, 10009...). */
export const CorrectInputSchema = z.object({
  actor: ActorSchema,
  actorToken: ActorTokenSchema.optional(),
  reason: ReasonSchema,
  /** The corrected submission, already stored encrypted by the API. Same document id and version. */
  submissionRef: ContentRefSchema,
  /** After a business rejection (30002/30003), a correction to the same recipient needs this set. */
  overrideBusinessRejection: z.boolean().optional(),
});
export type CorrectInput = z.infer<typeof CorrectInputSchema>;

/** `resend`: send the current submission again, as a new ITK3 message with fresh ids. */
export const ResendInputSchema = z.object({
  actor: ActorSchema,
  actorToken: ActorTokenSchema.optional(),
  reason: ReasonSchema,
  /** A re-send to the route that gave a business rejection is refused unless this is true. */
  overrideBusinessRejection: z.boolean().optional(),
});
export type ResendInput = z.infer<typeof ResendInputSchema>;

/**
 * `replace`: send a replacement for a DELIVERED document (GPCM-SD-126..132 in 1.3.1). The stored
 * submission must have the same document id, version = this version + 1, and `replaces` naming this
 * version; it is delivered by its own workflow, `deliveryWorkflowId(documentId, version + 1)`.
 */
export const ReplaceInputSchema = z.object({
  actor: ActorSchema,
  actorToken: ActorTokenSchema.optional(),
  reason: ReasonSchema,
  submissionRef: ContentRefSchema,
});
export type ReplaceInput = z.infer<typeof ReplaceInputSchema>;

/** `abandon`: stop trying; the workflow ends with status ABANDONED. */
export const AbandonInputSchema = z.object({
  actor: ActorSchema,
  actorToken: ActorTokenSchema.optional(),
  reason: ReasonSchema,
});
export type AbandonInput = z.infer<typeof AbandonInputSchema>;

/** `acknowledgeEscalation`: a person has taken the open escalation; reminders stop. */
export const AcknowledgeEscalationInputSchema = z.object({
  actor: ActorSchema,
  actorToken: ActorTokenSchema.optional(),
  note: ReasonSchema,
  /** Optional guard: acknowledge only if this is still the open escalation. */
  escalationId: z.string().min(1).optional(),
});
export type AcknowledgeEscalationInput = z.infer<typeof AcknowledgeEscalationInputSchema>;

/**
 * `changeDeadlines`: new durations (ms) for this delivery. Acknowledgement deadlines stay measured from
 * the MESH send time of the current attempt; a deadline already passed escalates at once.
 */
export const ChangeDeadlinesInputSchema = z
  .object({
    actor: ActorSchema,
    actorToken: ActorTokenSchema.optional(),
    reason: ReasonSchema,
    deadlines: DeliveryDeadlinesSchema.partial(),
  })
  .refine((v) => Object.values(v.deadlines).some((d) => d !== undefined), {
    message: 'name at least one deadline to change',
    path: ['deadlines'],
  });
export type ChangeDeadlinesInput = z.infer<typeof ChangeDeadlinesInputSchema>;

/**
 * Each action's update input schema, by wire name. Declared over every `OperatorActionName`, so an
 * action added to the registry without its schema does not compile.
 */
export const OPERATOR_INPUT_SCHEMAS = {
  correct: CorrectInputSchema,
  resend: ResendInputSchema,
  replace: ReplaceInputSchema,
  abandon: AbandonInputSchema,
  acknowledgeEscalation: AcknowledgeEscalationInputSchema,
  changeDeadlines: ChangeDeadlinesInputSchema,
} as const satisfies Record<OperatorActionName, z.ZodType>;
/** The update input of each action, by wire name. */
export type OperatorActionInputs = { [N in OperatorActionName]: z.infer<(typeof OPERATOR_INPUT_SCHEMAS)[N]> };

/** What every operator update answers: the state the workflow is in once the action is accepted. */
export const OperatorActionResultSchema = z.object({
  action: z.enum(OPERATOR_ACTION_NAMES),
  at: z.string(),
  status: DeliveryStatusSchema,
  waitingFor: WaitingForSchema,
  waitingUntil: z.string().optional(),
  /** The attempt number the action created or applies to. */
  attempt: z.number().int(),
  /** For `replace`: the workflow that delivers the replacement. */
  replacementWorkflowId: z.string().optional(),
  replacementVersion: z.number().int().optional(),
  /** Who the action is recorded for: the verified principal, or the name the update claimed. */
  actor: z.string().optional(),
  /** False when the update carried no valid actor token (see `ActorTokenSchema`); absent on old histories. */
  actorVerified: z.boolean().optional(),
});
export type OperatorActionResult = z.infer<typeof OperatorActionResultSchema>;

/**
 * Failure types of refused operator updates (the `type` of the ApplicationFailure the client sees): every
 * code of the refusal catalogue in contracts/errors.ts (`OperatorRefusalCode`: the action is not allowed
 * in the current state, or its input is malformed), whether the validator rejected the update or the state
 * changed while it was being checked; and SUBMISSION_REF_INVALID when the stored corrected/replacement
 * submission failed validation (`details[0]` lists the issues).
 */
export const OperatorRefusal = { ...OperatorRefusalCode, SUBMISSION_REF_INVALID: ErrorType.SUBMISSION_REF_INVALID } as const;
export type OperatorRefusal = (typeof OperatorRefusal)[keyof typeof OperatorRefusal];

/**
 * Input of the `checkStoredSubmission` activity: is the stored corrected/replacement submission one the
 * workflow may send? CORRECTION: same document id and version. REPLACEMENT: same document id,
 * version + 1, and `replaces` naming this version (GPCM-SD-126..132 in 1.3.1).
 */
export const CheckStoredSubmissionInputSchema = z.object({
  submissionRef: ContentRefSchema,
  purpose: z.enum(['CORRECTION', 'REPLACEMENT']),
  documentId: z.uuid(),
  /** The version of the delivery asking (the replacement must be this + 1). */
  version: z.number().int().min(1),
  /** The submission the delivery carries now: a replacement must be about the same patient. */
  currentSubmissionRef: ContentRefSchema.optional(),
});
export type CheckStoredSubmissionInput = z.infer<typeof CheckStoredSubmissionInputSchema>;

/** Input of the `verifyActorToken` activity: the token an update carried, checked at the workflow's time. */
export const VerifyActorTokenInputSchema = z.object({
  /** Absent when the update carried none (it is then unverified; the activity still logs it). */
  token: ActorTokenSchema.optional(),
  /** The actor the update's payload names, for the warning line when it cannot be verified. */
  claimedActor: z.string(),
  workflowId: z.string().min(1),
  /** The update's wire name. */
  update: z.string().min(1),
  /** The workflow's time when it handled the update, ms since the epoch. */
  at: z.number(),
  /**
   * The workflow's namespace and the update's input as received: a token the codec server issued for a
   * Web UI update is bound to these instead of the workflow id and update name.
   */
  namespace: z.string().optional(),
  input: z.unknown().optional(),
});
export type VerifyActorTokenInput = z.infer<typeof VerifyActorTokenInputSchema>;
export type VerifyActorTokenResult = { verified: true; principal: string } | { verified: false; reason: string };

export const CheckStoredSubmissionResultSchema = z.object({
  valid: z.boolean(),
  /** What is wrong, by path and rule; never the values (no patient data). */
  issues: z.array(z.object({ path: z.string().optional(), message: z.string(), requirementId: z.string().optional() })),
  senderOds: z.string().optional(),
  recipientOds: z.string().optional(),
  version: z.number().int().optional(),
});
export type CheckStoredSubmissionResult = z.infer<typeof CheckStoredSubmissionResultSchema>;
