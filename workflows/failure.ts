/**
 * How workflows name a failure they record or escalate. Only types and class names, never messages: a
 * message can in principle echo the data that failed.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** The ApplicationFailure type of a failure, unwrapped from its ActivityFailure; 'UNKNOWN' when it has none. */
export function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type ? cause.type : 'UNKNOWN';
}

/** The failure's class and its cause's type or class, e.g. "ActivityFailure: STORE_NOT_FOUND". */
export function failureName(err: unknown): string {
  const e = err as { name?: string; cause?: { name?: string; type?: string } };
  const cause = e.cause?.type ?? e.cause?.name;
  return cause ? `${e.name ?? 'Error'}: ${cause}` : (e.name ?? 'Error');
}
