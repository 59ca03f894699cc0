/**
 * The escalation activity against real receivers on loopback: an HMAC-signed JSON webhook and an SMTP
 * server, plus the log. One notification per case and state: a webhook failure makes the activity
 * retry, and the retry (which sees the first attempt's heartbeat details) sends only what failed.
 */
import { Writable } from 'node:stream';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEscalationActivities } from '../../../activities/escalation';
import { createEmailNotifier } from '../../../activities/notify/email';
import { NOTIFICATION_ID_HEADER, SIGNATURE_HEADER, createWebhookNotifier, verifyWebhookSignature } from '../../../activities/notify/webhook';
import { createLogger } from '../../../config/logger';
import type { EscalationInput } from '../../../contracts';
import { startSmtpReceiver, startWebhookReceiver } from './receivers';

const SECRET = 'webhook-secret-for-tests-0123456789';
const input: EscalationInput = {
  workflowId: 'send-document-6f1c1f0e-8d4b-4c37-9a51-2f0b7d0c9a11-v1',
  documentId: '6f1c1f0e-8d4b-4c37-9a51-2f0b7d0c9a11',
  state: 'AWAITING_INFRASTRUCTURE_ACK',
  reason: 'no infrastructure acknowledgement by the deadline (GPCM-SD-095, 1.3.1)',
  attempt: 1,
  kind: 'RAISED',
};

describe('escalation channels', () => {
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });

  beforeEach(async () => {
    webhook = await startWebhookReceiver();
    smtp = await startSmtpReceiver();
    lines.length = 0;
  });
  afterEach(async () => {
    await webhook.close();
    await smtp.close();
  });

  function activities() {
    const email = createEmailNotifier({ smtpUrl: smtp.url, from: 'itk3@example.nhs.test', to: ['oncall@example.nhs.test'] });
    return createEscalationActivities({ logger, notifiers: [createWebhookNotifier({ url: webhook.url, secret: SECRET, timeoutMs: 5000 }), email] });
  }

  it('sends a signed webhook, an e-mail and a log line, all with the same notification id', async () => {
    const env = new MockActivityEnvironment({ activityId: '7' });
    await env.run(activities().raiseEscalation, input);
    expect(webhook.received).toHaveLength(1);
    const hook = webhook.received[0]!;
    expect(verifyWebhookSignature(SECRET, hook.headers[SIGNATURE_HEADER] as string, hook.body)).toBe(true);
    expect(verifyWebhookSignature('another-secret-another-secret', hook.headers[SIGNATURE_HEADER] as string, hook.body)).toBe(false);
    expect(verifyWebhookSignature(SECRET, hook.headers[SIGNATURE_HEADER] as string, hook.body.replace('RAISED', 'RESOLVED'))).toBe(false);
    const body = JSON.parse(hook.body) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'itk3.escalation.raised', kind: 'RAISED', workflowId: input.workflowId, state: input.state, attempt: 1 });
    const id = hook.headers[NOTIFICATION_ID_HEADER];
    expect(body.notificationId).toBe(id);

    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.to).toEqual(['<oncall@example.nhs.test>']);
    // Undo header folding and quoted-printable soft breaks before reading the message.
    const mail = smtp.mails[0]!.data.replace(/=\n/g, '').replace(/\n[ \t]+/g, ' ');
    expect(mail).toContain(`Subject: [ITK3 Courier] Escalation: AWAITING_INFRASTRUCTURE_ACK on ${input.workflowId}`);
    expect(mail).toContain(`Notification id: ${String(id)}`);

    const logged = lines.map((l) => JSON.parse(l) as { escalation?: { notificationId: string }; msg: string }).filter((l) => l.escalation);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.escalation!.notificationId).toBe(id);
  });

  it('retries a failing webhook without sending the e-mail or the log line again', async () => {
    webhook.failNext(1);
    const acts = activities();
    const first = new MockActivityEnvironment({ activityId: '9', attempt: 1 });
    let details: unknown;
    first.on('heartbeat', (d: unknown) => (details = d));
    await expect(first.run(acts.raiseEscalation, input)).rejects.toMatchObject({ type: 'NOTIFY_CHANNEL_FAILED', nonRetryable: false });
    expect(details).toMatchObject({ done: ['log', 'email'] });
    // Temporal hands the last heartbeat details of the failed attempt to the next attempt.
    const second = new MockActivityEnvironment({ activityId: '9', attempt: 2, heartbeatDetails: details });
    await second.run(acts.raiseEscalation, input);
    expect(webhook.received.map((r) => r.status)).toEqual([503, 204]);
    expect(new Set(webhook.received.map((r) => r.headers[NOTIFICATION_ID_HEADER])).size).toBe(1);
    // The same occurrence time on the retry: the receiver sees one story.
    expect(JSON.parse(webhook.received[1]!.body).occurredAt).toBe(JSON.parse(webhook.received[0]!.body).occurredAt);
    expect(smtp.mails).toHaveLength(1);
    expect(lines.filter((l) => l.includes('"escalation raised"') || l.includes('escalation raised'))).toHaveLength(1);
  });

  it('lets nothing but the allow-listed fields leave, whatever the input carries', async () => {
    const env = new MockActivityEnvironment({ activityId: '11' });
    await env.run(activities().raiseEscalation, { ...input, recipientOds: 'X26', patient: { nhsNumber: '9990000018' } } as EscalationInput);
    const body = webhook.received[0]!.body;
    expect(JSON.parse(body).recipientOds).toBe('X26');
    expect(body).not.toContain('9990000018');
    expect(smtp.mails[0]!.data).not.toContain('9990000018');
    expect(lines.join('')).not.toContain('9990000018');
  });
});
