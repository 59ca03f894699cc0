/** The configured escalation channels. The log is always on and is not among these (escalation.ts). */
import type { Env } from '../../config/env';
import { createEmailNotifier } from './email';
import type { Notifier } from './types';
import { createWebhookNotifier } from './webhook';

export * from './types';
export { signWebhook, verifyWebhookSignature, SIGNATURE_HEADER, NOTIFICATION_ID_HEADER } from './webhook';

export function notifiersFromConfig(env: Env): Notifier[] {
  const out: Notifier[] = [];
  if (env.ITK3_ESCALATION_WEBHOOK_URL && env.ITK3_ESCALATION_WEBHOOK_SECRET) {
    out.push(createWebhookNotifier({ url: env.ITK3_ESCALATION_WEBHOOK_URL, secret: env.ITK3_ESCALATION_WEBHOOK_SECRET, timeoutMs: env.ITK3_ESCALATION_WEBHOOK_TIMEOUT }));
  }
  if (env.ITK3_SMTP_URL && env.ITK3_ESCALATION_EMAIL_TO) {
    const to = env.ITK3_ESCALATION_EMAIL_TO.split(',').map((s) => s.trim()).filter(Boolean);
    out.push(createEmailNotifier({ smtpUrl: env.ITK3_SMTP_URL, from: env.ITK3_ESCALATION_EMAIL_FROM, to }));
  }
  return out;
}
