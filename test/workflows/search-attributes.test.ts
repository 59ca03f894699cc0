/**
 * The delivery's search attributes (Temporal UI, inbound routing): `MeshMessageIds` holds the MESH id of
 * every attempt, so a MESH REPORT for any attempt finds its delivery; and they cost few visibility writes:
 * one upsert before the send, one after it (MESH ids included), one at the outcome (issue 8).
 * Time-skipping server (support.ts).
 */
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { ALL_SEARCH_ATTRIBUTES, DeliveryStatusKey, RecipientOdsKey, SenderOdsKey } from '../../contracts/search-attributes';
import { itk3ResponseSignal, resendUpdate, stateQuery } from '../../workflows/definitions';
import { sendDocumentWorkflow } from '../../workflows/send-document';
import { fakeActivities, newWorker, response, runFlow, sendInput, until, workflowIdOf, type Flow , useTimeSkippingServer } from './support';

const EventType = temporal.api.enums.v1.EventType;

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const server = useTimeSkippingServer();

async function attribute(f: Flow, name: string): Promise<unknown> {
  const attrs = (await f.handle.describe()).typedSearchAttributes;
  return attrs.get(ALL_SEARCH_ATTRIBUTES.find((k) => k.name === name)! as never);
}

describe('search attributes', () => {
  it('lists the MESH message id of every attempt in MeshMessageIds, the current one in MeshMessageId', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      const first = (await f.state()).attempts[0]!.meshMessageId!;
      expect(await attribute(f, 'MeshMessageIds')).toEqual([first]);

      await server.env.sleep(4 * HOUR + 60_000);
      await f.waitFor((s) => s.escalated, 'no-ack escalation');
      await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'no ack in 4 hours' }] });
      await f.sentAttempt(2);
      const s = await f.state();
      const second = s.attempts[1]!.meshMessageId!;
      expect(second).not.toBe(first);
      expect(s.attempts.every((a) => !!a.meshMessageId)).toBe(true);
      expect(await attribute(f, 'MeshMessageIds')).toEqual([first, second]);
      expect(await attribute(f, 'MeshMessageId')).toBe(second);
      expect(await attribute(f, 'Itk3MessageIds')).toEqual(s.attempts.map((a) => a.messageHeaderId));
    });
  });

  it('upserts once before the send, once after it (with MeshMessageIds) and once at DELIVERED in a normal delivery', async () => {
    const { activities, recorded } = fakeActivities();
    const taskQueue = `delivery-${randomUUID()}`;
    const input = sendInput();
    // Started as the API starts it: status and ODS codes already set (no upsert needed for those).
    const handle = await server.env.client.workflow.start(sendDocumentWorkflow, {
      workflowId: workflowIdOf(input),
      taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: DeliveryStatusKey, value: 'SENDING' },
        { key: RecipientOdsKey, value: input.recipientOds },
        { key: SenderOdsKey, value: input.senderOds },
      ],
    });
    const upserts = async () =>
      (await handle.fetchHistory()).events!.filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    try {
      // Send, then stop the worker so that both acknowledgements are waiting for one workflow task, as
      // they usually are in production (the poller routes them in the same pass).
      // No sticky cache: the next workflow task must go to whichever worker polls next.
      const noCache = { maxCachedWorkflows: 0 };
      await (await newWorker(server.env, server.workflowBundle, activities, taskQueue, noCache)).runUntil(
        until(async () => ((await upserts()).length >= 2 ? true : undefined), 'the post-send upsert'),
      );
      const headerId = recorded.sent[0]!.messageHeaderId;
      await handle.signal(itk3ResponseSignal, response('20013', headerId));
      await handle.signal(itk3ResponseSignal, response('30001', headerId));
      await (await newWorker(server.env, server.workflowBundle, activities, taskQueue, noCache)).runUntil(async () => {
        await until(async () => ((await handle.query(stateQuery)).status === 'DELIVERED' ? true : undefined), 'DELIVERED');
      });

      const events = (await handle.fetchHistory()).events!;
      const index = (type: number, from = 0) => events.findIndex((e, i) => i >= from && e.eventType === type);
      const firstActivity = index(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
      const sendCompleted = index(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, index(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) + 1);
      const upsertAt = events.flatMap((e, i) => (e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES ? [i] : []));
      expect(upsertAt).toHaveLength(3);
      expect(upsertAt[0]).toBeLessThan(firstActivity); // before the build and the send
      expect(upsertAt[1]).toBeGreaterThan(sendCompleted); // after the send ...
      expect(upsertAt[1]).toBeLessThan(index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)); // ... before any ack
      expect(upsertAt[2]).toBeGreaterThan(index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED));

      const fields = (i: number) => Object.keys(events[i]!.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!);
      // The MESH ids are folded into the post-send upsert: none before the send, no upsert of their own.
      expect(fields(upsertAt[0]!)).not.toContain('MeshMessageIds');
      expect(fields(upsertAt[1]!)).toEqual(expect.arrayContaining(['MeshMessageIds', 'MeshMessageId', 'DeliveryStatus', 'AckDeadline']));
      const attrs = (await handle.describe()).typedSearchAttributes;
      expect(attrs.get(ALL_SEARCH_ATTRIBUTES.find((k) => k.name === 'DeliveryStatus')! as never)).toBe('DELIVERED');
      expect(attrs.get(ALL_SEARCH_ATTRIBUTES.find((k) => k.name === 'MeshMessageIds')! as never)).toEqual([recorded.sent[0]!.meshMessageId]);
    } finally {
      await handle.terminate('test finished').catch(() => undefined);
    }
  });
});
