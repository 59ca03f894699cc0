/**
 * A delivery started directly (bypassing the API's bounds) with a deadline no Date can hold must not
 * wedge: the workflow escalates to a person, keeps answering queries and updates, and an operator can
 * still change the deadlines or abandon it. Before, `new Date(sentAt + 9e15).toISOString()` threw in
 * workflow code, so every workflow task failed for good: state and abandon answered 500, nobody was told.
 * Time-skipping server, fake activities, synthetic ids only.
 */
import { randomUUID } from 'node:crypto';
import type { DeliveryState } from '../../contracts';
import { abandonUpdate, changeDeadlinesUpdate } from '../../workflows/definitions';
import { sendDocumentWorkflow } from '../../workflows/send-document';
import { DEADLINES, fakeActivities, flowFor, newWorker, refusalOf, runFlow, sendInput, useTimeSkippingServer, workflowIdOf } from './support';

jest.setTimeout(60_000);

const server = useTimeSkippingServer();

describe('deadlines the workflow cannot compute', () => {
  it.each([
    ['9e15 ms (beyond the range of Date)', 9e15],
    ['Number.MAX_VALUE ms', Number.MAX_VALUE],
  ])('an infrastructure ack deadline of %s escalates, and the delivery still answers and can be abandoned', async (_what, ms) => {
    const recorded = await runFlow(server.env, server.workflowBundle, { input: { deadlines: { ...DEADLINES, infrastructureAckMs: ms } } }, async (f) => {
      const s = await f.waitFor((x) => x.status === 'AWAITING_INFRASTRUCTURE_ACK' && x.escalated, 'sent and escalated');
      expect(s.waitingFor).toBe('INFRASTRUCTURE_ACK');
      expect(s.waitingUntil).toBeUndefined();
      const open = s.escalations.find((e) => !e.resolvedAt);
      expect(open?.code).toBe('DEADLINE_UNCOMPUTABLE');
      expect(open?.reason).toMatch(/cannot be computed/);
      expect(f.recorded.escalations.map((e) => [e.kind, e.code])).toContainEqual(['RAISED', 'DEADLINE_UNCOMPUTABLE']);

      const abandoned = await f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: 'deadline could not be set' }] });
      expect(abandoned.status).toBe('ABANDONED');
      expect((await f.handle.result()).status).toBe('ABANDONED');
    });
    expect(recorded.sent).toHaveLength(1);
  });

  it('a reminder interval beyond Date escalates once without reminders, and the delivery stays usable', async () => {
    await runFlow(server.env, server.workflowBundle, { input: { deadlines: { ...DEADLINES, infrastructureAckMs: 60_000, reminderIntervalMs: 9e15 } } }, async (f) => {
      await f.waitFor((x) => x.status === 'AWAITING_INFRASTRUCTURE_ACK', 'sent');
      await server.env.sleep(120_000);
      const s = await f.waitFor((x) => x.escalated, 'the overdue ack escalated');
      const open = s.escalations.find((e) => !e.resolvedAt)!;
      expect(open.nextReminderAt).toBeUndefined();
      expect(open.reason).toMatch(/no reminders/);
      const changed = await f.handle.executeUpdate(changeDeadlinesUpdate, { args: [{ actor: 'ops.jones', reason: 'sane reminders', deadlines: { reminderIntervalMs: 3_600_000 } }] });
      expect(changed.action).toBe('changeDeadlines');
      const after = await f.waitFor((x) => x.escalations.some((e) => !e.resolvedAt && e.nextReminderAt !== undefined), 'a reminder planned');
      expect(after.deadlines.reminderIntervalMs).toBe(3_600_000);
    });
  });

  it('a changed deadline that is computable again puts the delivery back on a timer', async () => {
    await runFlow(server.env, server.workflowBundle, { input: { deadlines: { ...DEADLINES, infrastructureAckMs: 9e15 } } }, async (f) => {
      await f.waitFor((x) => x.escalated, 'escalated');
      const changed = await f.handle.executeUpdate(changeDeadlinesUpdate, { args: [{ actor: 'ops.jones', reason: 'four hours', deadlines: { infrastructureAckMs: 4 * 3_600_000 } }] });
      expect(changed.waitingUntil).toBeDefined();
      expect(Number.isFinite(Date.parse(changed.waitingUntil!))).toBe(true);
    });
  });

  it('a send time that does not read as a date (an old or faulty activity result) escalates instead of wedging', async () => {
    const { activities, recorded } = fakeActivities();
    const send = activities.sendMeshMessage;
    activities.sendMeshMessage = async (i) => ({ ...(await send(i)), sentAt: 'not a date' });
    const taskQueue = `delivery-${randomUUID()}`;
    const input = sendInput();
    const worker = await newWorker(server.env, server.workflowBundle, activities, taskQueue);
    await worker.runUntil(async () => {
      const handle = await server.env.client.workflow.start(sendDocumentWorkflow, { workflowId: workflowIdOf(input), taskQueue, args: [input] });
      const f = flowFor(handle, input, recorded, taskQueue);
      const s = await f.waitFor((x) => x.escalated, 'escalated');
      expect(s.escalations.find((e) => !e.resolvedAt)?.code).toBe('DEADLINE_UNCOMPUTABLE');
      expect((await handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: 'r' }] })).status).toBe('ABANDONED');
    });
  });

  it('a carried-over deadline that does not read as a date escalates instead of spinning or failing', async () => {
    const input = sendInput();
    const state: DeliveryState = {
      workflowId: workflowIdOf(input),
      documentId: input.documentId,
      version: 1,
      senderOds: input.senderOds,
      recipientOds: input.recipientOds,
      status: 'DELIVERED',
      escalated: false,
      waitingFor: 'REPLACEMENT_WINDOW',
      waitingUntil: 'garbage',
      currentAttempt: 1,
      submissionRef: input.submissionRef,
      deadlines: DEADLINES,
      attempts: [{ attempt: 1, messageHeaderId: randomUUID(), bundleIdentifier: randomUUID(), reason: 'INITIAL', submissionRef: input.submissionRef, sentAt: '2026-01-05T09:00:00.000Z' }],
      escalations: [],
      rejectedRoutes: [],
      run: 1,
      timeline: [],
    };
    await runFlow(server.env, server.workflowBundle, { input: { ...input, carryOver: { state, seenResponseIds: [], seenReportIds: [] } } }, async (f) => {
      const s = await f.waitFor((x) => x.escalated, 'escalated');
      expect(s.waitingUntil).toBeUndefined();
      expect(s.escalations.find((e) => !e.resolvedAt)?.code).toBe('DEADLINE_UNCOMPUTABLE');
      expect(f.recorded.escalations.map((e) => e.code)).toContain('DEADLINE_UNCOMPUTABLE');
    });
  });

  it('the change-deadlines update refuses values outside the bounds the delivery was started with', async () => {
    const bounds = {
      infrastructureAckMs: { minMs: 60_000, maxMs: 86_400_000 },
      businessAckMs: { minMs: 60_000, maxMs: 86_400_000 },
      reminderIntervalMs: { minMs: 900_000, maxMs: 86_400_000 },
      replacementWindowMs: { minMs: 0, maxMs: 86_400_000 },
      decisionWindowMs: { minMs: 60_000, maxMs: 86_400_000 },
    };
    await runFlow(server.env, server.workflowBundle, { input: { deadlineBounds: bounds } }, async (f) => {
      await f.waitFor((x) => x.status === 'AWAITING_INFRASTRUCTURE_ACK', 'sent');
      const tooShort = await refusalOf(f.handle.executeUpdate(changeDeadlinesUpdate, { args: [{ actor: 'ops.jones', reason: 'r', deadlines: { reminderIntervalMs: 2000 } }] }));
      expect(tooShort.type).toBe('OPERATOR_INPUT_INVALID');
      expect(tooShort.message).toMatch(/deadlines\.reminderIntervalMs must be between 900000 and 86400000 ms \(15m to 1d\)/);
      const tooLong = await refusalOf(f.handle.executeUpdate(changeDeadlinesUpdate, { args: [{ actor: 'ops.jones', reason: 'r', deadlines: { businessAckMs: 9e15 } }] }));
      expect(tooLong.message).toMatch(/deadlines\.businessAckMs must be between/);
    });
  });

  it('a delivery started without bounds (before they existed) still refuses a deadline beyond a year', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.waitFor((x) => x.status === 'AWAITING_INFRASTRUCTURE_ACK', 'sent');
      const r = await refusalOf(f.handle.executeUpdate(changeDeadlinesUpdate, { args: [{ actor: 'ops.jones', reason: 'r', deadlines: { infrastructureAckMs: 9e15 } }] }));
      expect(r.message).toMatch(/deadlines\.infrastructureAckMs must be between 1 and 31622400000 ms/);
    });
  });
});
