import { randomUUID } from 'node:crypto';
import { COURIER, RECEIVER, meshClient } from './helpers';

jest.setTimeout(120_000);

async function inPool<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

describe('inbox paging', () => {
  it('lists more than 500 messages by following links.next, with the default and a small page size', async () => {
    // A workflow id of our own, so this test reads only what it sent (the sandbox does not restrict workflows on send).
    const workflowId = `PAGING_${randomUUID().slice(0, 8)}`;
    const courier = meshClient(COURIER);
    const sent: string[] = [];
    await inPool(Array.from({ length: 520 }, (_, i) => i), 8, async (i) => {
      sent.push((await courier.sendMessage({ to: RECEIVER, workflowId, body: `m${i}`, fileName: `paging-${i}.dat` })).messageId);
    });
    let listCalls = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).includes('/inbox')) listCalls += 1;
      return fetch(input, init);
    };
    const receiver = meshClient(RECEIVER, { fetch: counting });

    const all = await receiver.listInbox({ workflowFilter: workflowId });
    expect(all).toHaveLength(520);
    expect(new Set(all)).toEqual(new Set(sent));
    expect(listCalls).toBe(2); // 500 + 20

    listCalls = 0;
    const small = await receiver.listInbox({ workflowFilter: workflowId, maxResults: 100 });
    expect(small).toEqual(all);
    expect(listCalls).toBe(6);

    expect(await receiver.listInbox({ workflowFilter: workflowId, limit: 42 })).toEqual(all.slice(0, 42));

    await inPool(all, 8, (id) => receiver.acknowledgeMessage(id));
    expect(await receiver.listInbox({ workflowFilter: workflowId })).toEqual([]);
  });
});
