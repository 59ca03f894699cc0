/**
 * Durations as people write them (30s, 15m, 4h, 2d), parsed one way everywhere: environment, API bodies
 * and CLI flags. `msToNumber` is the SDK's own parser, so a value means here what it means in Temporal.
 */
import { msToNumber } from '@temporalio/common';
import { z } from 'zod';

export const DURATION_HINT = 'must be a duration such as 30s, 15m, 4h or 2d';

/** Milliseconds of a positive whole duration, or undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  try {
    const ms = msToNumber(text.trim() as never);
    return Number.isInteger(ms) && ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** A duration written as text; parses to milliseconds. */
export const DurationTextSchema = z
  .string()
  .refine((v) => parseDuration(v) !== undefined, DURATION_HINT)
  .transform((v) => parseDuration(v) as number);

/** A duration as whole milliseconds or as text; parses to milliseconds. */
export const DurationSchema = z.union([z.number().int().positive(), DurationTextSchema]);
