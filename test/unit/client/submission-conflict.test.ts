/**
 * The same document id and version submitted again: with the same content it is the same delivery (no new
 * content stored, no second start); with different content it is refused with SubmissionConflict, whether
 * the content was recorded by the API (the idempotency store) or only carried by an existing delivery.
 * A refusal gives the record back, so the original content can still be submitted. Synthetic fixtures only.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { IdempotencyStore } from '../../../client/api/idempotency';
import { SubmissionConflict, submitDocument, type SubmitDeps } from '../../../client/api/submit';
import type { ContentRef } from '../../../contracts';
import { submission } from '../../fixtures/itk3/submissions';
import { MemoryStore } from '../../helpers/memory-store';
import { TEST_ACTIVITY_CONFIG } from '../../helpers/activity-config';

const HOUR = 3_600_000;

const activity = TEST_ACTIVITY_CONFIG;

/** A Temporal client that knows the deliveries it started (and any given up front by their stored content). */
function fakeTemporal(existing: Record<string, ContentRef> = {}): { client: Client; starts: string[] } {
  const starts: string[] = [];
  const known = (id: string): ContentRef => {
    const ref = existing[id];
    if (!ref) throw new WorkflowNotFoundError('not found', id, undefined);
    return ref;
  };
  const client = {
    workflow: {
      getHandle: (id: string) => ({
        query: async () => ({ submissionRef: known(id), attempts: [{ submissionRef: known(id) }] }),
        describe: async () => (known(id), {}),
      }),
      start: async (type: string, options: { workflowId: string; args: [{ submissionRef: ContentRef }] }) => {
        if (existing[options.workflowId]) throw new WorkflowExecutionAlreadyStartedError('already started', options.workflowId, type);
        starts.push(options.workflowId);
        existing[options.workflowId] = options.args[0].submissionRef;
      },
    },
  } as unknown as Client;
  return { client, starts };
}

function depsWith(store: MemoryStore, client: Client, idempotency?: IdempotencyStore): SubmitDeps {
  return { client, store, activity, deadlines: { infrastructureAckMs: 4 * HOUR, businessAckMs: 48 * HOUR }, ...(idempotency ? { idempotency } : {}) } as SubmitDeps;
}

/** The same document id and version with a changed report title. */
const changed = (): unknown => submission({ report: { ...submission().report, title: 'Consultation report (amended)' } });

describe('submitDocument: one content per document id and version', () => {
  const idempotency = (): IdempotencyStore => new IdempotencyStore(mkdtempSync(path.join(os.tmpdir(), 'submit-conflict-')));

  it('answers the same content again with the same delivery, storing nothing more and starting nothing', async () => {
    const store = new MemoryStore();
    const { client, starts } = fakeTemporal();
    const deps = depsWith(store, client, idempotency());
    const first = await submitDocument(deps, submission());
    expect(first.created).toBe(true);
    const stored = store.items.size;
    const again = await submitDocument(deps, submission());
    expect(again).toEqual({ workflowId: first.workflowId, created: false });
    expect(store.items.size).toBe(stored);
    expect(starts).toEqual([first.workflowId]);
  });

  it('refuses different content for a recorded document version', async () => {
    const store = new MemoryStore();
    const { client, starts } = fakeTemporal();
    const deps = depsWith(store, client, idempotency());
    const first = await submitDocument(deps, submission());
    await expect(submitDocument(deps, changed())).rejects.toBeInstanceOf(SubmissionConflict);
    expect(starts).toEqual([first.workflowId]);
  });

  it.each([
    ['with', true],
    ['without', false],
  ])('refuses different content for an existing delivery the API has no record of (%s an idempotency store)', async (_label, withStore) => {
    const store = new MemoryStore();
    const original = await store.put('submission', Buffer.from(JSON.stringify(submission())));
    const probe = fakeTemporal();
    const workflowId = (await submitDocument(depsWith(new MemoryStore(), probe.client), submission())).workflowId;
    const { client, starts } = fakeTemporal({ [workflowId]: original });
    const records = withStore ? idempotency() : undefined;
    const deps = depsWith(store, client, records);
    await expect(submitDocument(deps, changed())).rejects.toBeInstanceOf(SubmissionConflict);
    expect(starts).toEqual([]);
    // The refusal gave the record back: it does not pin the refused content to this document version.
    if (records) expect(await records.get(`delivery-content:${workflowId}`)).toBeUndefined();
  });
});
