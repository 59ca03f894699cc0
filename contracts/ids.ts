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
