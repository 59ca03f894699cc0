import { randomUUID } from 'node:crypto';
import { MeshClient, type MeshClientOptions } from '../../../mesh';
import { testServices } from '../../helpers/services';

/**
 * Mailbox roles in these tests. The e2e harness runs a Courier poller on X26ABC1 and the GP practice peer
 * on X26ABC2 in the same sandbox, and both consume their whole inbox, so MESH tests only ever *receive*
 * in X26ABC3 and tag each test's messages with a workflow id of its own (the sandbox does not restrict
 * workflow ids on send), listing with `workflowFilter` so a test reads only what it sent.
 */
export const COURIER = 'X26ABC1';
export const GP = 'X26ABC2';
export const RECEIVER = 'X26ABC3';

export function meshClient(mailboxId: string, overrides: Partial<MeshClientOptions> = {}): MeshClient {
  const { meshUrl, meshSharedKey } = testServices();
  return new MeshClient({ baseUrl: meshUrl, mailboxId, password: 'password', sharedKey: meshSharedKey, retryBaseDelayMs: 10, ...overrides });
}

/** Sandbox admin calls (no auth), for injecting reports and events. */
export async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  const { meshUrl } = testServices();
  const res = await fetch(`${meshUrl}${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`admin ${method} ${path} -> ${res.status} ${await res.text()}`);
  return res;
}

/** A unique subject-free marker for one test, so tests only read messages they sent. */
export function uniqueFileName(tag: string): string {
  return `${tag}-${randomUUID()}.dat`;
}

/** A workflow id no other test uses. */
export function uniqueWorkflow(tag: string): string {
  return `${tag.toUpperCase()}_${randomUUID().slice(0, 8).toUpperCase()}`;
}

/** Ids in the inbox on `workflowId` whose Mex-FileName is `fileName`. */
export async function inboxIdsWithFileName(client: MeshClient, workflowId: string, fileName: string): Promise<string[]> {
  const ids = await client.listInbox({ workflowFilter: workflowId });
  const out: string[] = [];
  for (const id of ids) {
    const stream = await client.downloadMessageStream(id);
    if (stream.metadata.fileName === fileName) out.push(id);
    for await (const _ of stream.body) {
      // drain
    }
  }
  return out;
}
