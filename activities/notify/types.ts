/**
 * Escalation notifications: what every channel receives. Built from the workflow's escalation input by
 * an allow-list of fields, so nothing but ids, states, codes and the workflow's own words can leave;
 * never patient data.
 */
export type NotificationKind = 'RAISED' | 'REMINDER' | 'RESOLVED';

export interface EscalationNotification {
  /** Stable across activity retries: receivers de-duplicate on it (one notification per case and state). */
  notificationId: string;
  kind: NotificationKind;
  occurredAt: string;
  workflowId: string;
  documentId: string;
  state: string;
  reason: string;
  code?: string;
  attempt?: number;
  /** Present when the workflow supplies them. */
  escalationId?: string;
  recipientOds?: string;
  senderOds?: string;
}

export interface Notifier {
  /** Channel name in logs, metrics and the retry bookkeeping: `log`, `webhook`, `email`. */
  readonly channel: string;
  send(n: EscalationNotification): Promise<void>;
}

/** A channel failure; the activity retries it (activity retry policy) without re-sending the others. */
export class NotifyError extends Error {
  constructor(
    readonly channel: string,
    message: string,
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'NOTIFY_CHANNEL_FAILED';
  }
}

export function subjectLine(n: EscalationNotification): string {
  const what = n.kind === 'RAISED' ? 'Escalation' : n.kind === 'REMINDER' ? 'Reminder: escalation open' : 'Resolved';
  return `[ITK3 Courier] ${what}: ${n.state} on ${n.workflowId}`;
}
