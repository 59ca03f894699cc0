/**
 * Structural checks of operator update inputs inside the workflow. The schemas in contracts/operator.ts
 * are the edge check (API, CLI); these repeat the essentials without zod, because a ZodError thrown in
 * workflow code fails the workflow task instead of rejecting the update, and zod schemas in the bundle
 * cost memory per cached workflow (sdk-typescript#2227). Each returns problems as plain sentences.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { DeliveryDeadlines } from '../contracts';
import { ABSOLUTE_DEADLINE_BOUNDS, DEADLINE_FIELDS, deadlineBoundProblems, type DeadlineBounds } from '../contracts/deadline-bounds';
import { operatorRefusal, type OperatorRefusalReason } from '../contracts/errors';
import { textProblem } from './input-text';

function text(value: unknown, name: string, max: number, problems: string[]): void {
  const problem = textProblem(value, name, max);
  if (problem) problems.push(problem);
}

export function actorProblems(input: unknown, reasonField: 'reason' | 'note' = 'reason'): string[] {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null) return ['the update needs an object argument'];
  const o = input as Record<string, unknown>;
  text(o.actor, 'actor', 200, problems);
  text(o[reasonField], reasonField, 2000, problems);
  return problems;
}

export function contentRefProblems(ref: unknown, name: string): string[] {
  if (typeof ref !== 'object' || ref === null) return [`${name} is required (a content store reference)`];
  const r = ref as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof r.key !== 'string' || r.key.length === 0) problems.push(`${name}.key is required`);
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) problems.push(`${name}.sha256 must be 64 lower-case hex digits`);
  if (typeof r.size !== 'number' || !Number.isInteger(r.size) || r.size < 0) problems.push(`${name}.size must be a non-negative integer`);
  return problems;
}

/**
 * Problems of a `changeDeadlines` input: known fields, integers, at least one named, and each within
 * `bounds` (the configured bounds the delivery was started with, or the absolute ones for a delivery
 * started before bounds existed), so an operator cannot set a deadline the API would refuse or the
 * workflow could not compute.
 */
export function deadlineProblems(deadlines: unknown, bounds: DeadlineBounds = ABSOLUTE_DEADLINE_BOUNDS): string[] {
  if (typeof deadlines !== 'object' || deadlines === null) return ['deadlines is required'];
  const d = deadlines as Record<string, unknown>;
  const problems: string[] = [];
  let named = 0;
  for (const [k, v] of Object.entries(d)) {
    if (!DEADLINE_FIELDS.includes(k as keyof DeliveryDeadlines)) {
      problems.push(`deadlines.${k} is not a deadline (${DEADLINE_FIELDS.join(', ')})`);
      continue;
    }
    if (v === undefined) continue;
    named++;
    const min = k === 'replacementWindowMs' ? 0 : 1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) problems.push(`deadlines.${k} must be an integer number of milliseconds >= ${min}`);
    else problems.push(...deadlineBoundProblems({ [k]: v }, bounds).map((p) => p.message));
  }
  if (named === 0) problems.push('name at least one deadline to change');
  return problems;
}

/**
 * Inside an update validator: rejects the update when its input has problems (OPERATOR_INPUT_INVALID,
 * every problem in the message) or the action is refused in the current state (that refusal's catalogue
 * code, contracts/errors.ts). The caller gets an ApplicationFailure whose `type` is the code and whose
 * `details[0]` is `{ code, problems? }`.
 */
export function rejectIf(problems: ReadonlyArray<string | undefined>, refused?: OperatorRefusalReason): void {
  const real = problems.filter((p): p is string => !!p);
  const reason = real.length > 0 ? operatorRefusal('OPERATOR_INPUT_INVALID', { problems: real }) : refused;
  if (reason) throw refusalFailure(reason, real.length > 0 ? real : undefined);
}

/** The failure an operator refusal travels as: `type` = the catalogue code, message = the reason. */
export function refusalFailure(reason: OperatorRefusalReason, problems?: readonly string[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: reason.code,
    message: reason.message,
    nonRetryable: true,
    details: [{ code: reason.code, ...(problems ? { problems } : {}) }],
  });
}
