/**
 * A built attempt as the content store holds it: the ITK3 message and the MESH metadata it must go with.
 * Written by whoever builds the attempt (the API for a delivery's first attempt, the send activity for the
 * others) and posted by the send activity as it is, so every try of an attempt posts the same bytes.
 */
import type { BuiltMessage, Routing } from '../itk3';

export interface StoredMessage {
  xml: string;
  mesh: { to: string; workflowId: string; subject: string; localId: string; fileName: string; contentType: string };
  /** How `mesh.to` addresses the practice, and the practice's ODS code (absent in messages stored before). */
  routing?: 'mailbox' | 'gpprovider';
  recipientOds?: string;
}

/** The content store kind of a built message. */
export const STORED_MESSAGE_KIND = 'itk3-message';

export function storedMessageOf(built: Pick<BuiltMessage, 'xml' | 'mesh'>, routing: Routing, recipientOds: string): StoredMessage {
  return { xml: built.xml, mesh: built.mesh, routing: routing.mode, recipientOds };
}

export function encodeStoredMessage(message: StoredMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

export function decodeStoredMessage(bytes: Buffer): StoredMessage {
  return JSON.parse(bytes.toString('utf8')) as StoredMessage;
}
