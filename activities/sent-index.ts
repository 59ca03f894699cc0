/**
 * Which delivery sent each ITK3 message, as this worker process saw it: MessageHeader id -> workflow id,
 * remembered by the send (`buildAndSendItk3Message`, `sendMeshMessage`) and read by the inbound router
 * before it asks visibility. An ITK3 response names the MessageHeader id it answers; when this worker
 * sent that message (one worker, or the same one of several), the response is routed without a
 * visibility query: two per delivery otherwise, each costing Temporal server CPU and latency that grow
 * with the deliveries in the store.
 *
 * A hit cannot be stale: a MessageHeader id is a fresh UUID per attempt, sent by one delivery only, and
 * delivery workflow ids are never reused (REJECT_DUPLICATE). A miss (another worker sent it, this one
 * restarted, or the entry was evicted) falls back to visibility. Ids only: no patient data.
 *
 * Each entry also keeps who the attempt went to (recipient mailbox and ODS code), known at send time with
 * mailbox routing, so the router checks a response's sender without asking the workflow (a query is a
 * workflow task). With GPPROVIDER routing the mailbox is learned later, from MESH tracking, and kept here.
 */
export interface SentMessage {
  workflowId: string;
  recipientOds?: string;
  recipientMailbox?: string;
  meshMessageId?: string;
}

export class SentMessageIndex {
  private readonly byHeaderId = new Map<string, SentMessage>();

  /** `capacity` entries at most, the oldest forgotten first (about 150 bytes each). */
  constructor(private readonly capacity = 50_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error('SentMessageIndex capacity must be a positive integer');
  }

  remember(messageHeaderId: string, workflowId: string, facts: Omit<SentMessage, 'workflowId'> = {}): void {
    this.byHeaderId.delete(messageHeaderId);
    this.byHeaderId.set(messageHeaderId, { workflowId, ...facts });
    if (this.byHeaderId.size > this.capacity) {
      const oldest = this.byHeaderId.keys().next().value;
      if (oldest !== undefined) this.byHeaderId.delete(oldest);
    }
  }

  workflowOf(messageHeaderId: string): string | undefined {
    return this.byHeaderId.get(messageHeaderId)?.workflowId;
  }

  entryOf(messageHeaderId: string): SentMessage | undefined {
    return this.byHeaderId.get(messageHeaderId);
  }

  /** Adds what was learned after the send (MESH id, the mailbox MESH routed it to); no-op when unknown. */
  learn(messageHeaderId: string, facts: Omit<SentMessage, 'workflowId'>): void {
    const e = this.byHeaderId.get(messageHeaderId);
    if (e) Object.assign(e, Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)));
  }

  get size(): number {
    return this.byHeaderId.size;
  }
}
