/**
 * Workflow ids are business keys: one function each. The document id is a UUID chosen by
 * the sending system, never a patient identifier, so it is safe in ids and in the Web UI.
 */
export function deliveryWorkflowId(documentId: string, version: number): string {
  return `send-document-${documentId.toLowerCase()}-v${version}`;
}

export function inboxPollerWorkflowId(mailboxId: string): string {
  return `mesh-inbox-poller-${mailboxId.toUpperCase()}`;
}

/**
 * The task queue of the MESH inbox activities (each poll pass and the mailbox handshake), beside the
 * delivery task queue and polled by every courier worker. Inbound work has its own activity slots, so
 * acknowledgements are downloaded and routed while thousands of sends wait their turn on the other queue.
 */
export function inboundTaskQueue(deliveryTaskQueue: string): string {
  return `${deliveryTaskQueue}-inbound`;
}
