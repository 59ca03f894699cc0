/**
 * The webhook channel: a JSON POST signed with HMAC-SHA256, in the style of widely used webhook
 * signatures: header `X-ITK3-Signature: t=<unix seconds>,v1=<hex hmac of "<t>.<raw body>">`, so a
 * receiver can check authenticity and reject replays older than its tolerance. `X-ITK3-Notification-Id`
 * lets it de-duplicate a retried delivery. Non-2xx answers and network errors throw, and the activity's
 * retry policy tries again.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { NotifyError, type EscalationNotification, type Notifier } from './types';

export const SIGNATURE_HEADER = 'x-itk3-signature';
export const NOTIFICATION_ID_HEADER = 'x-itk3-notification-id';

export function signWebhook(secret: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
  return `t=${timestampSec},v1=${mac}`;
}

/** For receivers (and our tests): true when `header` signs `body` with `secret` within `toleranceSec`. */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string, toleranceSec = 300, nowSec = Math.floor(Date.now() / 1000)): boolean {
  const fields = Object.fromEntries((header ?? '').split(',').map((kv) => kv.trim().split('=') as [string, string]));
  const t = Number(fields.t);
  if (!Number.isInteger(t) || !fields.v1 || Math.abs(nowSec - t) > toleranceSec) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'), 'utf8');
  const given = Buffer.from(fields.v1, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface WebhookOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  fetchFn?: typeof fetch;
  now?: () => Date;
}

export function createWebhookNotifier(opts: WebhookOptions): Notifier {
  const fetchFn = opts.fetchFn ?? fetch;
  const now = opts.now ?? (() => new Date());
  return {
    channel: 'webhook',
    async send(n: EscalationNotification): Promise<void> {
      const body = JSON.stringify({ type: `itk3.escalation.${n.kind.toLowerCase()}`, ...n });
      const ts = Math.floor(now().getTime() / 1000);
      let res: Response;
      try {
        res = await fetchFn(opts.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'itk3-courier',
            [SIGNATURE_HEADER]: signWebhook(opts.secret, ts, body),
            [NOTIFICATION_ID_HEADER]: n.notificationId,
          },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
      } catch (err) {
        throw new NotifyError('webhook', `webhook unreachable: ${(err as Error).message}`);
      }
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new NotifyError('webhook', `webhook answered HTTP ${res.status}`);
    },
  };
}
