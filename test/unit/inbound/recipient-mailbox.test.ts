/**
 * GPPROVIDER routing: the mailbox an attempt was delivered to is learned once (activities/index.ts
 * `recipientMailboxLearner`): this worker's sent index, then the delivery's state, then one MESH tracking call.
 */
import { recipientMailboxLearner } from '../../../activities';
import type { DeliveryView } from '../../../activities/inbound';
import { SentMessageIndex } from '../../../activities/sent-index';
import type { MeshTracking } from '../../../mesh';

function setup(state?: DeliveryView, recipient?: string) {
  const sentIndex = new SentMessageIndex();
  const calls = { state: 0, tracking: [] as string[] };
  const learn = recipientMailboxLearner({
    sentIndex,
    port: { deliveryState: async () => (calls.state++, state) },
    mesh: { trackMessage: async (id: string) => (calls.tracking.push(id), { message_id: id, ...(recipient ? { recipient } : {}) } as MeshTracking) },
  });
  return { sentIndex, calls, learn };
}

describe('learning the recipient mailbox of a GPPROVIDER attempt', () => {
  it('asks MESH tracking once for the attempt, then answers from the sent index', async () => {
    const { sentIndex, calls, learn } = setup({ currentAttempt: 1, attempts: [{ attempt: 1, messageHeaderId: 'h-1', meshMessageId: 'MESH1' }] }, 'x26abc2');
    sentIndex.remember('h-1', 'wf-1', { recipientOds: 'X26' });
    await expect(learn('wf-1', 'h-1')).resolves.toBe('X26ABC2');
    await expect(learn('wf-1', 'h-1')).resolves.toBe('X26ABC2');
    expect(calls.tracking).toEqual(['MESH1']);
    expect(sentIndex.entryOf('h-1')).toMatchObject({ recipientMailbox: 'X26ABC2', recipientOds: 'X26' });
  });

  it('uses what the workflow already keeps on the attempt without asking MESH', async () => {
    const { calls, learn } = setup({ currentAttempt: 1, attempts: [{ attempt: 1, messageHeaderId: 'h-1', meshMessageId: 'MESH1', recipientMailbox: 'X26ABC2' }] });
    await expect(learn('wf-1', 'h-1')).resolves.toBe('X26ABC2');
    expect(calls.tracking).toEqual([]);
  });

  it('answers undefined when MESH tracking names no recipient (the router then quarantines)', async () => {
    const { learn } = setup({ currentAttempt: 1, attempts: [{ attempt: 1, messageHeaderId: 'h-1', meshMessageId: 'MESH1' }] });
    await expect(learn('wf-1', 'h-1')).resolves.toBeUndefined();
  });
});
