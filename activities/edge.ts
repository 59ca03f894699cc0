/**
 * The activity edge: what an activity throws is what Temporal records and the workflow sees, so our typed
 * errors leave an activity as ApplicationFailures carrying the catalogue type, retryability and issues.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { CourierError } from '../contracts';

/** The activity edge: our typed errors become ApplicationFailures with the catalogue type. */
export function toFailure(err: unknown): unknown {
  if (err instanceof CourierError) {
    const retryAfterMs = (err as { retryAfterMs?: number }).retryAfterMs;
    return ApplicationFailure.create({
      message: err.message,
      type: err.type,
      nonRetryable: !err.retryable,
      details: [err.issues],
      ...(retryAfterMs ? { nextRetryDelay: retryAfterMs } : {}),
    });
  }
  return err;
}

export async function atEdge<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

/** Wrap every function of an activity group with the edge conversion. */
export function atEdgeAll<T extends Record<string, (input: never) => Promise<unknown>>>(group: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(group)) out[name] = (input: never) => atEdge(() => fn(input));
  return out as T;
}
