/**
 * The smallest and largest value each delivery deadline may take when a submitter or an operator sets
 * it (per-submission `deadlines`, the `changeDeadlines` update). The configured values come from
 * config/env.ts (`ITK3_DEADLINE_MIN/MAX`, `ITK3_REMINDER_INTERVAL_MIN/MAX`); they travel in the workflow
 * input so the workflow's own update validator applies the same bounds as the API. Plain data and a pure
 * check with no zod, so workflow code can import it.
 */
import type { DeliveryDeadlines } from './delivery';

export interface DeadlineBound {
  minMs: number;
  maxMs: number;
}

export type DeadlineBounds = Record<keyof DeliveryDeadlines, DeadlineBound>;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const DEADLINE_FIELDS: ReadonlyArray<keyof DeliveryDeadlines> = [
  'infrastructureAckMs',
  'businessAckMs',
  'reminderIntervalMs',
  'replacementWindowMs',
  'decisionWindowMs',
];

/**
 * Bounds for workflows started without any (before bounds existed): the widest this code will ever
 * accept. A year keeps every deadline a date the workflow can compute and a timer the server keeps.
 */
export const ABSOLUTE_DEADLINE_BOUNDS: DeadlineBounds = {
  infrastructureAckMs: { minMs: 1, maxMs: 366 * DAY },
  businessAckMs: { minMs: 1, maxMs: 366 * DAY },
  reminderIntervalMs: { minMs: 1, maxMs: 366 * DAY },
  replacementWindowMs: { minMs: 0, maxMs: 366 * DAY },
  decisionWindowMs: { minMs: 1, maxMs: 366 * DAY },
};

/** The largest maximum configuration may set (config/env.ts checks it). */
export const DEADLINE_MAX_CEILING_MS = ABSOLUTE_DEADLINE_BOUNDS.infrastructureAckMs.maxMs;

/**
 * Bounds from the two configured ranges: acknowledgement deadlines and the decision window share one
 * range; the reminder interval has its own (a 2-second reminder would flood the people it reaches); the
 * replacement window may be 0 (no replacement accepted) up to the general maximum.
 */
export function deadlineBounds(general: DeadlineBound, reminder: DeadlineBound): DeadlineBounds {
  return {
    infrastructureAckMs: { ...general },
    businessAckMs: { ...general },
    reminderIntervalMs: { ...reminder },
    replacementWindowMs: { minMs: 0, maxMs: general.maxMs },
    decisionWindowMs: { ...general },
  };
}

/** Defaults of the configuration keys: deadlines 1 minute to 30 days, reminders 15 minutes to 7 days. */
export const DEFAULT_DEADLINE_BOUNDS: DeadlineBounds = deadlineBounds({ minMs: MINUTE, maxMs: 30 * DAY }, { minMs: 15 * MINUTE, maxMs: 7 * DAY });

/** A duration for messages: whole days, hours, minutes or seconds when exact, else milliseconds. */
export function describeMs(ms: number): string {
  for (const [unit, size] of [['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Problems of the deadlines that are set in `deadlines` (undefined = not set), each naming the field
 * as `<prefix><name>`. Only the bounds: the caller has already checked they are integers.
 */
export function deadlineBoundProblems(
  deadlines: Partial<Record<keyof DeliveryDeadlines, unknown>>,
  bounds: DeadlineBounds,
  prefix = 'deadlines.',
): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  for (const k of DEADLINE_FIELDS) {
    const v = deadlines[k];
    if (v === undefined) continue;
    const { minMs, maxMs } = bounds[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < minMs || v > maxMs) {
      out.push({
        path: `${prefix}${k}`,
        message: `${prefix}${k} must be between ${minMs} and ${maxMs} ms (${describeMs(minMs)} to ${describeMs(maxMs)})`,
      });
    }
  }
  return out;
}
