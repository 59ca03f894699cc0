/**
 * The delivery's search attributes (Temporal UI, inbound routing): `MeshMessageIds` holds the MESH id of
 * every attempt, so a MESH REPORT for any attempt finds its delivery; and they cost few visibility writes:
 * one upsert before the send, one after it (MESH ids included), one at the outcome.
 * Time-skipping server (support.ts).
 */
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import type { SearchAttributePair } from '@temporalio/common';
import type { SendDocumentInput } from '../../contracts/delivery';
import {
  ALL_SEARCH_ATTRIBUTES,
  DeliveryStatusKey,
  RecipientOdsKey,
  SenderOdsKey,
  SenderReferenceKey,
  firstAttemptSearchAttributes,
} from '../../contracts/search-attributes';
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

  /**
   * Runs one normal delivery (send, then both acks in one workflow task) and returns its history and the
   * indices of its upserts, with the attributes set at start and those right after the start.
   */
  async function normalDelivery(input: SendDocumentInput, atStart: SearchAttributePair[]) {
    const { activities, recorded } = fakeActivities();
    const taskQueue = `delivery-${randomUUID()}`;
    const handle = await server.env.client.workflow.start(sendDocumentWorkflow, {
      workflowId: workflowIdOf(input),
      taskQueue,
      args: [input],
      typedSearchAttributes: atStart,
    });
    const upserts = async () =>
      (await handle.fetchHistory()).events!.filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    try {
      // What the router sees before any worker has run the workflow.
      const beforeAnyTask = (await handle.describe()).typedSearchAttributes;
      // Send, then stop the worker so that both acknowledgements are waiting for one workflow task, as
      // they usually are in production (the poller routes them in the same pass).
      // No sticky cache: the next workflow task must go to whichever worker polls next.
      const noCache = { maxCachedWorkflows: 0 };
      await (await newWorker(server.env, server.workflowBundle, activities, taskQueue, noCache)).runUntil(
        until(
          async () =>
            (await upserts()).some((e) => 'MeshMessageIds' in e.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!) ? true : undefined,
          'the post-send upsert',
        ),
      );
      const headerId = recorded.sent[0]!.messageHeaderId;
      await handle.signal(itk3ResponseSignal, response('20013', headerId));
      await handle.signal(itk3ResponseSignal, response('30001', headerId));
      await (await newWorker(server.env, server.workflowBundle, activities, taskQueue, noCache)).runUntil(async () => {
        await until(async () => ((await handle.query(stateQuery)).status === 'DELIVERED' ? true : undefined), 'DELIVERED');
      });

      const events = (await handle.fetchHistory()).events!;
      const index = (type: number, from = 0) => events.findIndex((e, i) => i >= from && e.eventType === type);
      return {
        events,
        index,
        firstActivity: index(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        // The completion of the activity that posted: the send, or build-and-send in one.
        sendCompleted: events.findIndex((e) => {
          const scheduledId = e.activityTaskCompletedEventAttributes?.scheduledEventId;
          const scheduled = scheduledId ? events.find((x) => Number(x.eventId) === Number(scheduledId)) : undefined;
          return ['sendMeshMessage', 'buildAndSendItk3Message'].includes(scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
        }),
        firstSignal: index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
        // The delivery's own upserts. The SDK records each patch the workflow takes in TemporalChangeVersion,
        // by an upsert of its own (the one-activity send is one), which is not the delivery's doing.
        upsertAt: events.flatMap((e, i) =>
          e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES &&
          Object.keys(e.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!).some((k) => k !== 'TemporalChangeVersion')
            ? [i]
            : [],
        ),
        fields: (i: number) => Object.keys(events[i]!.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!),
        beforeAnyTask,
        final: (await handle.describe()).typedSearchAttributes,
        sent: recorded.sent[0]!,
      };
    } finally {
      await handle.terminate('test finished').catch(() => undefined);
    }
  }
  const get = (attrs: { get(key: never): unknown }, name: string): unknown => attrs.get(ALL_SEARCH_ATTRIBUTES.find((k) => k.name === name)! as never);

  it('started as the API starts it, upserts only after the send (with MeshMessageIds) and at DELIVERED', async () => {
    const input = sendInput({ firstAttempt: { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() } });
    const atStart = [
      ...firstAttemptSearchAttributes({ recipientOds: input.recipientOds, senderOds: input.senderOds, messageHeaderId: input.firstAttempt!.messageHeaderId }),
      { key: SenderReferenceKey, value: 'encounter-1' },
    ];
    const run = await normalDelivery(input, atStart);

    // The router can find it by its ITK3 id before the workflow has run at all.
    expect(get(run.beforeAnyTask, 'Itk3MessageIds')).toEqual([input.firstAttempt!.messageHeaderId]);
    // The attempt carries the ids it was started with.
    expect(run.sent.messageHeaderId).toBe(input.firstAttempt!.messageHeaderId);
    expect(run.upsertAt).toHaveLength(2);
    expect(run.upsertAt[0]).toBeGreaterThan(run.sendCompleted); // after the send ...
    expect(run.upsertAt[0]).toBeLessThan(run.firstSignal); // ... before any ack
    expect(run.upsertAt[1]).toBeGreaterThan(run.firstSignal);
    expect(run.fields(run.upsertAt[0]!)).toEqual(expect.arrayContaining(['MeshMessageIds', 'MeshMessageId', 'DeliveryStatus', 'AckDeadline']));
    // Each upsert carries only what changed: what the start set (ids, ODS codes) is never repeated, and
    // the outcome's upsert names the status, what it waits for now (the replacement window) and until when.
    const fromStart = ['Itk3MessageId', 'Itk3MessageIds', 'RecipientOds', 'SenderOds', 'AttemptCount', 'Escalated'];
    for (const name of fromStart) for (const i of run.upsertAt) expect(run.fields(i)).not.toContain(name);
    expect(run.fields(run.upsertAt[1]!).sort()).toEqual(['AckDeadline', 'DeliveryStatus', 'WaitingFor']);
    expect(get(run.final, 'DeliveryStatus')).toBe('DELIVERED');
    expect(get(run.final, 'WaitingFor')).toBe('REPLACEMENT_WINDOW');
    expect(get(run.final, 'MeshMessageIds')).toEqual([run.sent.meshMessageId]);
    expect(get(run.final, 'Itk3MessageIds')).toEqual([input.firstAttempt!.messageHeaderId]);
    expect(get(run.final, 'Itk3MessageId')).toBe(input.firstAttempt!.messageHeaderId);
    expect(get(run.final, 'RecipientOds')).toBe(input.recipientOds);
    expect(get(run.final, 'SenderOds')).toBe(input.senderOds);
    expect(get(run.final, 'AttemptCount')).toBe(1);
    expect(get(run.final, 'SenderReference')).toBe('encounter-1');
  });

  it('started with its first ids but without their attributes, upserts them itself before the send', async () => {
    const input = sendInput({ firstAttempt: { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() } });
    const run = await normalDelivery(input, [{ key: DeliveryStatusKey, value: 'SENDING' }]);
    expect(run.upsertAt).toHaveLength(3);
    expect(run.upsertAt[0]).toBeLessThan(run.firstActivity);
    expect(run.sent.messageHeaderId).toBe(input.firstAttempt!.messageHeaderId);
    expect(get(run.final, 'Itk3MessageIds')).toEqual([input.firstAttempt!.messageHeaderId]);
  });

  it('started without first ids (a child delivery, or one started before they existed), upserts once before the send, once after it and once at DELIVERED', async () => {
    const input = sendInput();
    // Started with status and ODS codes already set but no first ids (no upsert needed for those).
    const run = await normalDelivery(input, [
      { key: DeliveryStatusKey, value: 'SENDING' },
      { key: RecipientOdsKey, value: input.recipientOds },
      { key: SenderOdsKey, value: input.senderOds },
    ]);
    expect(run.upsertAt).toHaveLength(3);
    expect(run.upsertAt[0]).toBeLessThan(run.firstActivity); // before the build and the send
    expect(run.upsertAt[1]).toBeGreaterThan(run.sendCompleted); // after the send ...
    expect(run.upsertAt[1]).toBeLessThan(run.firstSignal); // ... before any ack
    expect(run.upsertAt[2]).toBeGreaterThan(run.firstSignal);
    // The MESH ids are folded into the post-send upsert: none before the send, no upsert of their own.
    expect(run.fields(run.upsertAt[0]!)).not.toContain('MeshMessageIds');
    expect(run.fields(run.upsertAt[1]!)).toEqual(expect.arrayContaining(['MeshMessageIds', 'MeshMessageId', 'DeliveryStatus', 'AckDeadline']));
    expect(get(run.final, 'DeliveryStatus')).toBe('DELIVERED');
    expect(get(run.final, 'MeshMessageIds')).toEqual([run.sent.meshMessageId]);
  });
});
