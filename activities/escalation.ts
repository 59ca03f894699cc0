/**
 * Telling a person (GPCM-SD-094/095 in 1.3.1 numbering): the escalation activity. The workflow decides
 * when (raised, reminders until acknowledged, resolved); this activity sends one notification through
 * the log (always) and every configured channel (webhook, e-mail).
 *
 * Exactly one notification per case and state: the notification id is derived from the workflow run and
 * the activity id, so it is the same on every retry; channels that already succeeded are recorded in
 * the activity's heartbeat details (which Temporal keeps across attempts), so a retry caused by a
 * failing webhook does not send the e-mail or the log line again. A failing channel throws a retryable
 * NOTIFY_CHANNEL_FAILED, and the activity retry policy of the workflow tries again.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { EscalationInput } from '../contracts';
import type { EscalationNotification, Notifier } from './notify/types';

export interface EscalationDeps {
  logger: Logger;
  /** Channels besides the log; none by default. */
  notifiers?: readonly Notifier[];
  now?: () => Date;
  /** Counts notifications by channel, kind and outcome (metrics); optional. */
  onNotified?: (channel: string, kind: string, outcome: 'sent' | 'failed') => void;
}

/** Stable for one escalation activity across its retries; no patient data goes in. */
export function notificationIdFor(workflowId: string, runId: string, activityId: string): string {
  return createHash('sha256').update(`${workflowId}\u0000${runId}\u0000${activityId}`).digest('hex').slice(0, 32);
}

/** The allow-list: only these fields of the workflow's escalation input leave the process. */
export function toNotification(input: EscalationInput, notificationId: string, occurredAt: string): EscalationNotification {
  const extra = input as EscalationInput & Partial<Record<'escalationId' | 'recipientOds' | 'senderOds', unknown>>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);
  const n: EscalationNotification = {
    notificationId,
    kind: input.kind,
    occurredAt,
    workflowId: input.workflowId,
    documentId: input.documentId,
    state: input.state,
    reason: input.reason,
  };
  if (input.code) n.code = input.code;
  if (input.attempt) n.attempt = input.attempt;
  for (const k of ['escalationId', 'recipientOds', 'senderOds'] as const) {
    const v = str(extra[k]);
    if (v) n[k] = v;
  }
  return n;
}

export function createEscalationActivities(deps: EscalationDeps) {
  const now = deps.now ?? (() => new Date());
  const logChannel: Notifier = {
    channel: 'log',
    async send(n) {
      const level = n.kind === 'RESOLVED' ? 'info' : 'warn';
      deps.logger[level]({ escalation: n }, `escalation ${n.kind.toLowerCase()}`);
    },
  };
  const channels = [logChannel, ...(deps.notifiers ?? [])];

  return {
    async raiseEscalation(input: EscalationInput): Promise<void> {
      const info = Context.current().info;
      const previous = (info.heartbeatDetails as { done?: string[]; occurredAt?: string } | undefined) ?? {};
      const done = new Set(previous.done ?? []);
      // The first attempt's time, so every channel and every retry tells the same story.
      const occurredAt = previous.occurredAt ?? now().toISOString();
      const n = toNotification(input, notificationIdFor(info.workflowExecution?.workflowId ?? input.workflowId, info.workflowExecution?.runId ?? '', info.activityId), occurredAt);
      const failures: string[] = [];
      for (const ch of channels) {
        if (done.has(ch.channel)) continue;
        try {
          await ch.send(n);
          done.add(ch.channel);
          deps.onNotified?.(ch.channel, n.kind, 'sent');
        } catch (err) {
          failures.push(`${ch.channel}: ${(err as Error).message}`);
          deps.onNotified?.(ch.channel, n.kind, 'failed');
          deps.logger.warn({ notificationId: n.notificationId, channel: ch.channel, attempt: info.attempt, error: (err as Error).message }, 'escalation channel failed; the activity will retry it');
        }
      }
      heartbeat({ done: [...done], occurredAt });
      if (failures.length > 0) {
        throw ApplicationFailure.create({ type: 'NOTIFY_CHANNEL_FAILED', message: `escalation not delivered on ${failures.join('; ')}`, nonRetryable: false });
      }
    },
  };
}
