/**
 * Delivery deadlines: defaults from configuration, overridden per recipient ODS code, then per
 * submission (GP Connect specifies no acknowledgement waiting time anywhere, so both are
 * configurable and measured from the MESH send time). The result travels in the workflow input, so a
 * running delivery never depends on configuration read later; operators change it with the
 * `changeDeadlines` update.
 *
 * Environment (all optional, durations like 30s, 15m, 4h, 2d):
 *   ITK3_ESCALATION_REMINDER_INTERVAL  reminder interval for an unacknowledged escalation (default 24h)
 *   ITK3_REPLACEMENT_WINDOW            how long a DELIVERED document accepts `replace` (default 24h, GPCM-SD-130 in 1.3.1)
 *   ITK3_DECISION_WINDOW               how long a business rejection waits for an operator decision (default 7d)
 *   ITK3_DEADLINES_BY_RECIPIENT        JSON {"<ODS>": {"infrastructureAck": "8h", "businessAck": "3d", ...}}
 * The acknowledgement defaults themselves are ITK3_INF_ACK_TIMEOUT and ITK3_BUS_ACK_TIMEOUT (config/env.ts).
 *
 * What a submitter or an operator may set is bounded (config/env.ts, checked min <= max <= 366d):
 *   ITK3_DEADLINE_MIN / ITK3_DEADLINE_MAX                   ack deadlines and decision window (default 1m / 30d);
 *                                                          the replacement window may be 0 up to the maximum
 *   ITK3_REMINDER_INTERVAL_MIN / ITK3_REMINDER_INTERVAL_MAX reminder interval (default 15m / 7d)
 * The configured defaults above are the operator's own choice and are not bounded by them.
 */
import { z } from 'zod';
import type { AckDeadlines, DeliveryDeadlines } from '../contracts';
import { deadlineBounds, type DeadlineBounds } from '../contracts/deadline-bounds';
import { DurationTextSchema } from './duration';
import type { Env } from './env';

const HOUR = 3_600_000;

export const DEFAULT_DELIVERY_DEADLINES: DeliveryDeadlines = {
  infrastructureAckMs: 4 * HOUR,
  businessAckMs: 48 * HOUR,
  reminderIntervalMs: 24 * HOUR,
  replacementWindowMs: 24 * HOUR,
  decisionWindowMs: 7 * 24 * HOUR,
};

export type DeadlineOverride = Partial<DeliveryDeadlines>;

export interface DeadlinePolicy {
  defaults: DeliveryDeadlines;
  /** Keyed by recipient ODS code (upper case). */
  byRecipientOds: Readonly<Record<string, DeadlineOverride>>;
}

const duration = DurationTextSchema;

const RecipientOverrideSchema = z
  .object({
    infrastructureAck: duration.optional(),
    businessAck: duration.optional(),
    reminderInterval: duration.optional(),
    replacementWindow: duration.optional(),
    decisionWindow: duration.optional(),
  })
  .strict();

const DeadlineEnvSchema = z.object({
  ITK3_ESCALATION_REMINDER_INTERVAL: duration.optional(),
  ITK3_REPLACEMENT_WINDOW: duration.optional(),
  ITK3_DECISION_WINDOW: duration.optional(),
  ITK3_DEADLINES_BY_RECIPIENT: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return {};
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON: {"<ODS>": {"infrastructureAck": "8h", ...}}' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().regex(/^[A-Z0-9]{3,10}$/, 'keys must be ODS codes'), RecipientOverrideSchema)),
});

export class DeadlineConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid deadline configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function fromRecipientOverride(o: z.infer<typeof RecipientOverrideSchema>): DeadlineOverride {
  return definedOnly({
    infrastructureAckMs: o.infrastructureAck,
    businessAckMs: o.businessAck,
    reminderIntervalMs: o.reminderInterval,
    replacementWindowMs: o.replacementWindow,
    decisionWindowMs: o.decisionWindow,
  });
}

function definedOnly(o: DeadlineOverride): DeadlineOverride {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as DeadlineOverride;
}

/** A policy from the acknowledgement defaults alone (the other durations at their defaults). */
export function deadlinePolicyFrom(ack: AckDeadlines): DeadlinePolicy {
  return { defaults: { ...DEFAULT_DELIVERY_DEADLINES, ...ack }, byRecipientOds: {} };
}

/**
 * Reads the deadline settings from the environment, on top of the acknowledgement defaults that
 * config/env.ts already parsed. Reports every problem at once, naming the variable, never its value.
 */
export function loadDeadlinePolicy(ack: AckDeadlines, source: NodeJS.ProcessEnv = process.env): DeadlinePolicy {
  const parsed = DeadlineEnvSchema.safeParse(source);
  if (!parsed.success) {
    throw new DeadlineConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`));
  }
  const env = parsed.data;
  const defaults: DeliveryDeadlines = {
    ...DEFAULT_DELIVERY_DEADLINES,
    ...ack,
    ...definedOnly({
      reminderIntervalMs: env.ITK3_ESCALATION_REMINDER_INTERVAL,
      replacementWindowMs: env.ITK3_REPLACEMENT_WINDOW,
      decisionWindowMs: env.ITK3_DECISION_WINDOW,
    }),
  };
  const byRecipientOds = Object.fromEntries(
    Object.entries(env.ITK3_DEADLINES_BY_RECIPIENT).map(([ods, o]) => [ods, fromRecipientOverride(o)]),
  );
  return { defaults, byRecipientOds };
}

/** Defaults, then the recipient's override, then the submission's own: the last one set wins. */
export function resolveDeadlines(policy: DeadlinePolicy, recipientOds: string, submission?: DeadlineOverride): DeliveryDeadlines {
  return {
    ...policy.defaults,
    ...definedOnly(policy.byRecipientOds[recipientOds.toUpperCase()] ?? {}),
    ...definedOnly(submission ?? {}),
  };
}

/** The bounds a per-submission deadline or an operator's deadline change must respect. */
export function deadlineBoundsFromEnv(
  env: Pick<Env, 'ITK3_DEADLINE_MIN' | 'ITK3_DEADLINE_MAX' | 'ITK3_REMINDER_INTERVAL_MIN' | 'ITK3_REMINDER_INTERVAL_MAX'>,
): DeadlineBounds {
  return deadlineBounds(
    { minMs: env.ITK3_DEADLINE_MIN, maxMs: env.ITK3_DEADLINE_MAX },
    { minMs: env.ITK3_REMINDER_INTERVAL_MIN, maxMs: env.ITK3_REMINDER_INTERVAL_MAX },
  );
}
