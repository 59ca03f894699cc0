/**
 * Durability: a worker restart in the middle of a wait, and continue-as-new on a long-lived case. In
 * both, nothing is lost, nothing is sent or escalated twice, and the timeline tells the whole story.
 */
import { randomUUID } from 'node:crypto';
import { sendDocumentWorkflow } from '../../workflows/send-document';
import { itk3ResponseSignal } from '../../workflows/definitions';
import { escalationKinds, fakeActivities, flowFor, kinds, newWorker, response, runFlow, sendInput, workflowIdOf , useTimeSkippingServer } from './support';

jest.setTimeout(90_000);

const HOUR = 3_600_000;
const server = useTimeSkippingServer();

describe('durability', () => {
  it('survives a worker restart during a wait: no second send, no second escalation, acks still reconcile', async () => {
    const taskQueue = `restart-${randomUUID()}`;
    const input = sendInput();
    const first = fakeActivities();
    let flow!: ReturnType<typeof flowFor>;
    let before!: Awaited<ReturnType<typeof flow.state>>;

    // Worker A keeps no sticky cache: the test server does not hand a sticky task back to the normal
    // queue when its worker disappears (a real server does after the sticky timeout).
    const workerA = await newWorker(server.env, server.workflowBundle, first.activities, taskQueue, { maxCachedWorkflows: 0 });
    await workerA.runUntil(async () => {
      const handle = await server.env.client.workflow.start(sendDocumentWorkflow, { workflowId: workflowIdOf(input), taskQueue, args: [input] });
      flow = flowFor(handle, input, first.recorded, taskQueue);
      await flow.sentAttempt(1);
      await server.env.sleep(4 * HOUR + 60_000);
      before = await flow.waitFor((s) => s.escalated, 'escalation');
    });
    
    // Worker A is gone (queries would wait for a worker now); the acknowledgement arrives while nobody runs the workflow.
    const messageHeaderId = before.attempts[0]!.messageHeaderId;
    await flow.handle.signal(itk3ResponseSignal, response('20013', messageHeaderId));

    // Worker B starts from scratch (empty cache): it replays history and carries on.
    const second = fakeActivities();
    const workerB = await newWorker(server.env, server.workflowBundle, second.activities, taskQueue);
    await workerB.runUntil(async () => {
      const s = await flow.waitFor((x) => x.status === 'AWAITING_BUSINESS_ACK', 'business wait');
      expect(s.timeline.slice(0, before.timeline.length)).toEqual(before.timeline);
      expect(s.attempts[0]!.lateAck).toBe(true);
      await flow.handle.signal(itk3ResponseSignal, response('30001', messageHeaderId));
      await flow.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      await flow.handle.terminate('test finished');
    });

    expect(first.recorded.sent).toHaveLength(1);
    expect(second.recorded.sent).toHaveLength(0);
    expect(escalationKinds(first.recorded)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK']);
    expect(escalationKinds(second.recorded)).toEqual(['RESOLVED:AWAITING_INFRASTRUCTURE_ACK']);
  });

  it('continues as new before history grows large, carrying every attempt, escalation, timeline entry and seen response', async () => {
    const recorded = await runFlow(
      server.env,
      server.workflowBundle,
      { input: { historyEventLimit: 60, deadlines: { ...sendInput().deadlines, reminderIntervalMs: HOUR } } },
      async (f) => {
        const early = await f.respond('20013', 1);
        await f.waitFor((s) => s.status === 'AWAITING_BUSINESS_ACK', 'business wait');
        await server.env.sleep(72 * HOUR); // business deadline at 48 h, then a reminder every hour
        const s = await f.waitFor((x) => x.run >= 3 && (x.escalations[0]?.reminders ?? 0) >= 20, 'several runs');
        const description = await f.handle.describe();
        expect(description.runId).not.toBe(f.firstExecutionRunId);

        // Nothing lost: the first run's entries are still at the head of the timeline.
        expect(kinds(s).slice(0, 6)).toEqual(['SUBMITTED', 'BUILT', 'SENT', 'STATE', 'RESPONSE', 'STATE']);
        expect(s.attempts).toHaveLength(1);
        expect(s.attempts[0]!.infrastructureAck!.responseId).toBe(early.responseId);
        expect(s.escalations).toHaveLength(1);
        expect(s.timeline.filter((t) => t.kind === 'REMINDER')).toHaveLength(s.escalations[0]!.reminders);
        expect(s.timeline.filter((t) => t.kind === 'CONTINUED').length).toBeGreaterThanOrEqual(2 * (s.run - 1));

        // A redelivery of a response seen in an earlier run is still recognised.
        await f.handle.signal(itk3ResponseSignal, early);
        await f.respond('30001', 1);
        const done = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
        expect(done.timeline.filter((t) => t.kind === 'RESPONSE').map((t) => t.code)).toEqual(['20013', '30001']);
        expect(done.escalated).toBe(false);
      },
    );
    const kindsSeen = escalationKinds(recorded);
    expect(kindsSeen[0]).toBe('RAISED:AWAITING_BUSINESS_ACK');
    expect(kindsSeen.filter((k) => k.startsWith('RAISED'))).toHaveLength(1);
    expect(kindsSeen.at(-1)).toBe('RESOLVED:AWAITING_BUSINESS_ACK');
    expect(recorded.sent).toHaveLength(1);
  });
});
