/**
 * A built attempt as the content store holds it: the ITK3 message and the MESH metadata it must go with.
 * Written by whoever builds the attempt (the API for a delivery's first attempt, the send activity for the
 * others) and posted by the send activity as it is, so every try of an attempt posts the same bytes.
 */
import type { ContentRef } from '../contracts';
import type { BuiltMessage, Routing } from '../itk3';
import type { ContentStore } from '../store/content-store';

export interface StoredMessage {
  xml: string;
  mesh: { to: string; workflowId: string; subject: string; localId: string; fileName: string; contentType: string };
  /** How `mesh.to` addresses the practice, and the practice's ODS code (absent in messages stored before). */
  routing?: 'mailbox' | 'gpprovider';
  recipientOds?: string;
}

/**
 * Stores a built attempt (encrypted, like all content) and returns what the send activity posts: the
 * reference, and the message itself for a caller that sends it at once.
 */
export async function storeMessage(
  store: ContentStore,
  built: Pick<BuiltMessage, 'xml' | 'mesh'>,
  routing: Routing,
  recipientOds: string,
): Promise<{ messageRef: ContentRef; stored: StoredMessage }> {
  const stored: StoredMessage = { xml: built.xml, mesh: built.mesh, routing: routing.mode, recipientOds };
  return { messageRef: await store.put('itk3-message', Buffer.from(JSON.stringify(stored))), stored };
}

export async function readStoredMessage(store: ContentStore, messageRef: ContentRef): Promise<StoredMessage> {
  return JSON.parse((await store.get(messageRef)).toString('utf8')) as StoredMessage;
}
