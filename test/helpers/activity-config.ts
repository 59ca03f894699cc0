/** The activity configuration the API-side unit tests build submissions with: mailbox routing to X26ABC2, our mailboxes X26ABC1 and Y12345OT001. */
import type { ActivityConfig } from '../../activities';

export const TEST_ACTIVITY_CONFIG: ActivityConfig = {
  profile: '2.x',
  routing: { mode: 'mailbox', mailboxId: 'X26ABC2' },
  maxMessageBytes: 5 * 1024 * 1024,
  namespace: 'courier-test',
  taskQueue: 'delivery-test',
  senderMailboxes: ['X26ABC1', 'Y12345OT001'],
};
