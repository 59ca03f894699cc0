/**
 * Routing a response to the delivery this worker sent it from, without a visibility query
 * (activities/sent-index.ts), and falling back to visibility for anything it did not send.
 */
import type { Client } from '@temporalio/client';
import { temporalInbound } from '../../../activities/inbound';
import { SentMessageIndex } from '../../../activities/sent-index';

/** A client whose visibility answers `Itk3MessageIds = '<id>'` from a fixed table, recording every query. */
function visibility(rows: Record<string, string>) {
  const queries: string[] = [];
  const client = {
    workflow: {
      list: ({ query }: { query: string }) => {
        queries.push(query);
        const id = /= '([^']+)'/.exec(query)?.[1] ?? '';
        const workflowId = rows[id];
        return (async function* () {
          if (workflowId) yield { workflowId, status: { name: 'RUNNING' }, typedSearchAttributes: { get: () => undefined } };
        })();
      },
    },
  } as unknown as Client;
  return { client, queries };
}

describe('SentMessageIndex', () => {
  it('finds the delivery of an ITK3 id this worker sent without asking visibility', async () => {
    const index = new SentMessageIndex();
    const v = visibility({});
    index.remember('0d9f7a52-1c1e-4e0a-9a53-1b0c5b2f7e11', 'delivery-A');
    const port = temporalInbound(v.client, 'tq', index);
    expect(await port.find('Itk3MessageIds', '0d9f7a52-1c1e-4e0a-9a53-1b0c5b2f7e11')).toEqual([{ workflowId: 'delivery-A', running: true }]);
    expect(v.queries).toEqual([]);
  });

  it('asks visibility for an id it did not send, and for every other attribute', async () => {
    const index = new SentMessageIndex();
    index.remember('0d9f7a52-1c1e-4e0a-9a53-1b0c5b2f7e11', 'delivery-A');
    const v = visibility({ 'a5e1e2c4-7f0b-4b7e-8c1e-6f0d2b9c4a33': 'delivery-B', '0d9f7a52-1c1e-4e0a-9a53-1b0c5b2f7e11': 'delivery-A' });
    const port = temporalInbound(v.client, 'tq', index);
    expect((await port.find('Itk3MessageIds', 'a5e1e2c4-7f0b-4b7e-8c1e-6f0d2b9c4a33')).map((m) => m.workflowId)).toEqual(['delivery-B']);
    // The same value under another attribute (a MESH id, a SenderReference) is never answered from the index.
    await port.find('SenderReference', '0d9f7a52-1c1e-4e0a-9a53-1b0c5b2f7e11');
    await port.find('MeshMessageIds', '0d9f7a52-1c1e-4e0a-9a53-1b0c5b2f7e11');
    expect(v.queries).toHaveLength(3);
    expect(v.queries[0]).toContain("Itk3MessageIds = 'a5e1e2c4-7f0b-4b7e-8c1e-6f0d2b9c4a33'");
  });

  it('forgets the oldest ids beyond its capacity, which are then found through visibility', async () => {
    const index = new SentMessageIndex(2);
    index.remember('id-1', 'delivery-1');
    index.remember('id-2', 'delivery-2');
    index.remember('id-3', 'delivery-3');
    expect(index.size).toBe(2);
    expect(index.workflowOf('id-1')).toBeUndefined();
    expect(index.workflowOf('id-3')).toBe('delivery-3');
    const v = visibility({ 'id-1': 'delivery-1' });
    expect((await temporalInbound(v.client, 'tq', index).find('Itk3MessageIds', 'id-1')).map((m) => m.workflowId)).toEqual(['delivery-1']);
    expect(v.queries).toHaveLength(1);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new SentMessageIndex(0)).toThrow(/positive integer/);
  });
});
