/**
 * An operator's day, end to end on the real wiring: a silent GP practice lets the infrastructure-ack
 * deadline pass; the escalation reaches a real webhook receiver (HMAC-signed, retried after a 503 with
 * the same notification id) and a real SMTP receiver (once); reminders follow until an operator
 * acknowledges through the API; abandoning closes the case with a resolution notice; actions the
 * workflow refuses are 409s.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CourierApiError } from '../../client/lib/http-client';
import { NOTIFICATION_ID_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from '../../activities/notify/webhook';
import { eventually, startHarness, type Harness } from '../helpers/courier-harness';
import { startSmtpReceiver, startWebhookReceiver } from '../integration/notify/receivers';

jest.setTimeout(180_000);

const SECRET = 'e2e-webhook-secret-0123456789abcdef';
const example = JSON.parse(readFileSync(path.join(__dirname, '../../examples/consultation-report.json'), 'utf8')) as Record<string, unknown> & {
  encounter: { id: string };
  patient: { nhsNumber: string; familyName: string };
};

async function refused(p: Promise<unknown>): Promise<CourierApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CourierApiError) return err;
    throw err;
  }
  throw new Error('expected the API to refuse');
}

describe('operator actions and escalation channels', () => {
  let h: Harness;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  beforeAll(async () => {
    webhook = await startWebhookReceiver({ failFirst: 1 });
    smtp = await startSmtpReceiver();
    h = await startHarness({
      ITK3_INF_ACK_TIMEOUT: '3s',
      ITK3_BUS_ACK_TIMEOUT: '60s',
      // This test submits a 2-second reminder interval to see reminders arrive; the default minimum is 15m.
      ITK3_REMINDER_INTERVAL_MIN: '1s',
      ITK3_ESCALATION_WEBHOOK_URL: webhook.url,
      ITK3_ESCALATION_WEBHOOK_SECRET: SECRET,
      ITK3_SMTP_URL: smtp.url,
      ITK3_ESCALATION_EMAIL_TO: 'oncall@example.nhs.test',
    });
  });
  afterAll(async () => {
    await h?.stop();
    await webhook?.close();
    await smtp?.close();
  });

  const hooks = (workflowId: string, kind?: string) =>
    webhook.received
      .filter((r) => r.status < 300)
      .map((r) => ({ ...r, json: JSON.parse(r.body) as { kind: string; workflowId: string; notificationId: string } }))
      .filter((r) => r.json.workflowId === workflowId && (!kind || r.json.kind === kind));

  it('notifies, reminds until acknowledged, resolves on abandon, and refuses what the state forbids', async () => {
    const encounterId = `enc-silent-${randomUUID()}`;
    h.setScenario(encounterId, []);
    const { workflowId } = await h.api.submit({ ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: encounterId }, deadlines: { reminderIntervalMs: 2000 } });

    // Raised: the first delivery got a 503, the activity retried, the receiver got the same notification.
    const [raised] = await eventually(async () => (hooks(workflowId, 'RAISED').length ? hooks(workflowId, 'RAISED') : undefined), 60_000, 'RAISED webhook');
    expect(verifyWebhookSignature(SECRET, raised!.headers[SIGNATURE_HEADER] as string, raised!.body)).toBe(true);
    const attemptsForRaised = webhook.received.filter((r) => r.headers[NOTIFICATION_ID_HEADER] === raised!.json.notificationId);
    expect(attemptsForRaised.map((r) => r.status)).toEqual([503, 204]);
    expect(raised!.body).not.toContain(example.patient.nhsNumber);
    expect(raised!.body).not.toContain(example.patient.familyName);
    // ...and the e-mail went once, despite the retry.
    const raisedMails = smtp.mails.filter((m) => m.data.replace(/=\n/g, '').includes(`Notification id: ${raised!.json.notificationId}`));
    expect(raisedMails.length).toBe(1);

    // Reminders until someone acknowledges.
    await eventually(async () => (hooks(workflowId, 'REMINDER').length >= 1 ? true : undefined), 30_000, 'a REMINDER webhook');
    const ack = await h.operator.acknowledgeEscalation(workflowId, { note: 'calling the practice' });
    expect(ack.action).toBe('acknowledgeEscalation');
    const remindersAtAck = hooks(workflowId, 'REMINDER').length;
    await new Promise((r) => setTimeout(r, 5000));
    expect(hooks(workflowId, 'REMINDER').length).toBe(remindersAtAck);
    const state = await h.operator.status(workflowId);
    expect(state.escalations.find((e) => e.acknowledged)?.acknowledged?.actor).toBe('ops-test');

    // A second acknowledgement is refused by the workflow's validator: 409, and nothing changes.
    const again = await refused(h.operator.acknowledgeEscalation(workflowId, { note: 'again' }));
    expect(again.status).toBe(409);
    expect(again.error).toBe('ACTION_NOT_ALLOWED');
    expect(again.refusal).toBe('ESCALATION_ALREADY_ACKNOWLEDGED');

    // Change deadlines, then abandon: the case closes with a resolution notice.
    const changed = await h.operator.changeDeadlines(workflowId, { reason: 'practice asked for a day', deadlines: { businessAckMs: '1d' } });
    expect(changed.action).toBe('changeDeadlines');
    const abandoned = await h.operator.abandon(workflowId, { reason: 'sent by post instead' });
    expect(abandoned.status).toBe('ABANDONED');
    await eventually(async () => (hooks(workflowId, 'RESOLVED').length === 1 ? true : undefined), 30_000, 'RESOLVED webhook');

    // The delivery has ended: any further action is a 409.
    const late = await eventually(async () => {
      const e = await refused(h.operator.resend(workflowId, { reason: 'too late' }));
      return e.error === 'DELIVERY_CLOSED' ? e : undefined;
    }, 20_000, 'the workflow to close');
    expect(late.status).toBe(409);
    const timeline = await h.operator.timeline(workflowId);
    expect(timeline.timeline.filter((t) => t.kind === 'OPERATOR').map((t) => t.actor)).toEqual(['ops-test', 'ops-test', 'ops-test']);
  });

  it('stores a correction only after validating it, and answers 400 with the issues when it is invalid', async () => {
    const encounterId = `enc-silent-${randomUUID()}`;
    h.setScenario(encounterId, []);
    const doc = { ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: encounterId } };
    const { workflowId } = await h.api.submit(doc);
    const bad = await refused(h.operator.correct(workflowId, { reason: 'fix', submission: { ...doc, patient: { ...example.patient, nhsNumber: '123' } } as never }));
    expect(bad.status).toBe(400);
    expect(bad.issues.some((i) => i.path?.includes('nhsNumber'))).toBe(true);
    await eventually(async () => ((await h.api.status(workflowId)).status === 'AWAITING_INFRASTRUCTURE_ACK' ? true : undefined), 30_000, 'sent');
    await h.operator.abandon(workflowId, { reason: 'test finished' });
  });
});
