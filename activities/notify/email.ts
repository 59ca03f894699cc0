/**
 * The e-mail channel, through an SMTP relay with nodemailer (STARTTLS when offered, AUTH from the URL).
 * nodemailer over a hand-rolled node:net client: it has no dependencies, is long maintained, and gets
 * STARTTLS, AUTH, dot-stuffing and MIME right, which a tiny client would not.
 */
import nodemailer from 'nodemailer';
import { NotifyError, subjectLine, type EscalationNotification, type Notifier } from './types';

export interface EmailOptions {
  /** smtp://user:pass@host:587 or smtps://host:465 */
  smtpUrl: string;
  from: string;
  to: string[];
}

export function renderEmail(n: EscalationNotification): string {
  const lines = [
    n.kind === 'RESOLVED' ? 'An escalation has been resolved.' : 'An ITK3 Courier delivery needs a person to act.',
    '',
    `Workflow:  ${n.workflowId}`,
    `Document:  ${n.documentId}`,
    `State:     ${n.state}`,
    `Reason:    ${n.reason}`,
    ...(n.code ? [`Code:      ${n.code}`] : []),
    ...(n.attempt ? [`Attempt:   ${n.attempt}`] : []),
    ...(n.recipientOds ? [`Recipient: ${n.recipientOds}`] : []),
    `When:      ${n.occurredAt}`,
    '',
    n.kind === 'RESOLVED' ? '' : `Look: itk3 status ${n.workflowId}    Acknowledge: itk3 ack ${n.workflowId} --note "..."`,
    `Notification id: ${n.notificationId}`,
  ];
  return lines.join('\n');
}

export function createEmailNotifier(opts: EmailOptions): Notifier & { close(): void } {
  const transport = nodemailer.createTransport(opts.smtpUrl);
  return {
    channel: 'email',
    async send(n: EscalationNotification): Promise<void> {
      try {
        await transport.sendMail({
          from: opts.from,
          to: opts.to,
          subject: subjectLine(n),
          text: renderEmail(n),
          headers: { 'X-ITK3-Notification-Id': n.notificationId },
          messageId: `<${n.notificationId}@itk3-courier>`,
        });
      } catch (err) {
        throw new NotifyError('email', `SMTP send failed: ${(err as Error).message}`);
      }
    },
    close: () => transport.close(),
  };
}
