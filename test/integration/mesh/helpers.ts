import { randomUUID } from 'node:crypto';
import { MeshClient, type MeshClientOptions } from '../../../mesh';
import { testServices } from '../../helpers/services';

export const COURIER = 'X26ABC1';
export const GP = 'X26ABC2';
export const SPARE = 'X26ABC3';

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

/** Ids in `mailbox`'s inbox whose Mex-FileName is `fileName` (downloads each candidate's headers). */
export async function inboxIdsWithFileName(client: MeshClient, fileName: string): Promise<string[]> {
  const ids = await client.listInbox();
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
