import type { MeshClient } from '../mesh';
import type { InboundTemporal, SenderChecks } from './inbound';
import type { SentMessageIndex } from './sent-index';

/**
 * GPPROVIDER routing: MESH picks the practice's mailbox, so who may answer an attempt is learned once per
 * attempt: this worker's record, then the workflow's (it keeps what the first response taught it), then one
 * MESH outbox tracking call (this mailbox sent the message; tracking names its `recipient`). What is learned
 * is kept in the sent index, so the second response of the attempt costs nothing.
 */
export function recipientMailboxLearner(deps: {
  sentIndex: SentMessageIndex;
  port: Pick<InboundTemporal, 'deliveryState'>;
  mesh: Pick<MeshClient, 'trackMessage'>;
}): NonNullable<SenderChecks['learnRecipientMailbox']> {
  return async (workflowId, messageHeaderId) => {
    const known = deps.sentIndex.entryOf(messageHeaderId);
    if (known?.recipientMailbox) return known.recipientMailbox;
    const attempt = (await deps.port.deliveryState(workflowId))?.attempts.find((a) => a.messageHeaderId === messageHeaderId);
    let mailbox = attempt?.recipientMailbox;
    const meshMessageId = attempt?.meshMessageId ?? known?.meshMessageId;
    if (!mailbox && meshMessageId) mailbox = (await deps.mesh.trackMessage(meshMessageId)).recipient?.trim().toUpperCase() || undefined;
    if (mailbox) deps.sentIndex.learn(messageHeaderId, { recipientMailbox: mailbox });
    return mailbox;
  };
}
