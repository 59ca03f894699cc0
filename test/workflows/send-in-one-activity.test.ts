/**
 * Build and send of an attempt as one activity (`buildAndSendItk3Message`), chosen by the delivery's
 * input: the API sets `sendInOneActivity` for new deliveries, a replacement inherits it, and a delivery
 * started without it (every workflow started before) keeps `buildItk3Message` then `sendMeshMessage`.
 * Both paths are run here side by side: same case, same outcome; only the activities differ.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { deliveryWorkflowId } from '../../contracts/ids';
import type { DeliveryState, SendDocumentInput } from '../../contracts';
import { replaceUpdate } from '../../workflows/definitions';
import type { sendDocumentWorkflow } from '../../workflows/send-document';
import { historySummaries } from '../helpers/ui-metadata';
import { TWO_ACTIVITIES, contentRef, flowFor, kinds, runFlow, sendInput, useTimeSkippingServer, type FlowOptions } from './support';

jest.setTimeout(90_000);

const server = useTimeSkippingServer();

const ONE = ['buildAndSendItk3Message'];
const TWO = ['buildItk3Message', 'sendMeshMessage'];
const PATHS: [string, Partial<SendDocumentInput>, string[]][] = [
  ['one activity (the API sets sendInOneActivity)', {}, ONE],
  ['two activities (started without sendInOneActivity)', TWO_ACTIVITIES, TWO],
];

/** Activity types in the order the workflow scheduled them. */
async function scheduled(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name!] : []));
}

/** The workflow's input as its (latest run's) start event recorded it. */
async function startedWith(handle: WorkflowHandle): Promise<SendDocumentInput> {
  const history = await handle.fetchHistory();
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return defaultPayloadConverter.fromPayload<SendDocumentInput>(payload);
}

interface Delivered {
  activities: string[];
  /** The history's events that the send path decides, whatever the timing of the acknowledgements. */
  sendPath: { activityEvents: number; markers: number; workflowTasksAfterActivities: number };
  state: DeliveryState;
  result: unknown;
  summaries: string[];
}

/**
 * Activity events, patch markers, and the workflow tasks that an activity's completion called for: what the
 * send path decides. Other workflow tasks come when the acknowledgements (and the test's own requests) do,
 * so the total number of events is not compared.
 */
function sendPathOf(events: temporal.api.history.v1.IHistoryEvent[]): Delivered['sendPath'] {
  const type = (e: temporal.api.history.v1.IHistoryEvent | undefined): string => temporal.api.enums.v1.EventType[e?.eventType ?? 0] ?? '';
  return {
    activityEvents: events.filter((e) => type(e).startsWith('EVENT_TYPE_ACTIVITY_TASK_')).length,
    markers: events.filter((e) => type(e) === 'EVENT_TYPE_MARKER_RECORDED').length,
    workflowTasksAfterActivities: events.filter((e, i) => type(e) === 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED' && type(events[i - 1]) === 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED').length,
  };
}

async function deliver(opts: FlowOptions): Promise<Delivered> {
  let out: Delivered | undefined;
  await runFlow(server.env, server.workflowBundle, opts, async (f) => {
    await f.respond('20013', 1);
    await f.respond('30001', 1);
    const result = await f.handle.result();
    out = { activities: await scheduled(f.handle), sendPath: sendPathOf((await f.handle.fetchHistory()).events ?? []), state: await f.state(), result, summaries: await historySummaries(f.handle) };
  });
  return out!;
}

/** The input of each scheduled activity, as history recorded it. */
async function scheduledInputs(handle: WorkflowHandle): Promise<Array<Record<string, unknown>>> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const payload = e.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
    return payload ? [defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload)] : [];
  });
}

describe('build and send in one activity', () => {
  it("hands the API's build of the first attempt to the activity with the attempt's ids", async () => {
    const messageRef = contentRef('itk3-message/built-by-the-api');
    const firstAttempt = { messageHeaderId: '3c0a4f4e-2b7d-4c1e-9a6f-0d8e5b7c1a21', bundleIdentifier: '7e2d9c1b-5a4f-4e3d-8c2b-1f0a9e8d7c61', messageRef };
    let inputs: Array<Record<string, unknown>> = [];
    await runFlow(server.env, server.workflowBundle, { input: { firstAttempt } }, async (f) => {
      await f.respond('20013', 1);
      await f.respond('30001', 1);
      await f.handle.result();
      inputs = await scheduledInputs(f.handle);
    });
    expect(inputs).toEqual([expect.objectContaining({ attempt: 1, messageHeaderId: firstAttempt.messageHeaderId, bundleIdentifier: firstAttempt.bundleIdentifier, messageRef })]);
  });

  it('delivers with one buildAndSendItk3Message where two activities were, the same case and outcome, an activity and a workflow task fewer', async () => {
    const one = await deliver({ input: {} });
    const two = await deliver({ input: TWO_ACTIVITIES });

    expect(one.activities).toEqual(ONE);
    expect(two.activities).toEqual(TWO);
    expect(one.summaries).toContain('build and send attempt 1 over MESH');
    expect(two.summaries).toEqual(expect.arrayContaining(['build ITK3 message for attempt 1', 'send attempt 1 over MESH']));
    expect(one.result).toEqual({ status: 'DELIVERED', attempts: 1, finalCode: '30001' });
    expect(one.result).toEqual(two.result);
    expect(kinds(one.state)).toEqual(kinds(two.state));
    expect(kinds(one.state).slice(0, 3)).toEqual(['SUBMITTED', 'BUILT', 'SENT']);
    // What BUILT and SENT record comes from the one activity's result as it came from the two.
    const pick = (s: DeliveryState) => ({ sizeBytes: s.attempts[0]!.sizeBytes, sent: !!s.attempts[0]!.sentAt, mesh: s.attempts[0]!.meshMessageId!.slice(0, 11), built: s.timeline[1]!.detail });
    expect(pick(one.state)).toEqual({ sizeBytes: 48_000, sent: true, mesh: 'MESH-OUT-1-', built: 'ITK3 message of 48000 bytes on GPCONNECT_SEND_DOCUMENT' });
    expect(pick(one.state)).toEqual(pick(two.state));
    // One activity's three events and one workflow task fewer per send; the patch adds its marker (and the
    // SDK's upsert of TemporalChangeVersion that names it).
    expect(two.sendPath).toEqual({ activityEvents: 6, markers: 0, workflowTasksAfterActivities: 2 });
    expect(one.sendPath).toEqual({ activityEvents: 3, markers: 1, workflowTasksAfterActivities: 1 });
  });

  it.each(PATHS)('retries a send that failed for now, then sends the attempt once: %s', async (_name, input, activities) => {
    const recorded = await runFlow(server.env, server.workflowBundle, { input, failSendTries: 1 }, async (f) => {
      const s = await f.waitFor((x) => x.status === 'AWAITING_INFRASTRUCTURE_ACK', 'sent');
      expect(s.attempts).toHaveLength(1);
      expect(kinds(s)).toEqual(['SUBMITTED', 'BUILT', 'SENT', 'STATE']);
      expect(await scheduled(f.handle)).toEqual(activities);
    });
    expect(recorded.sent).toHaveLength(1);
  });

  it.each(PATHS)('a replacement sends the way the delivery it replaces does: %s', async (_name, input, activities) => {
    await runFlow(server.env, server.workflowBundle, { input }, async (f) => {
      await f.respond('30001', 1);
      await f.waitFor((s) => s.status === 'DELIVERED', 'DELIVERED');
      await f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'wrong clinician', submissionRef: contentRef('submission/replacement') }] });
      const childId = deliveryWorkflowId(f.input.documentId, 2);
      const child = flowFor(f.handle.client.getHandle<typeof sendDocumentWorkflow>(childId), { ...f.input, version: 2 }, f.recorded, f.taskQueue);
      await child.sentAttempt(1);
      expect(await scheduled(child.handle)).toEqual(activities);
      // Inherited from the original's own input, the one thing a replay of the original sees the same.
      expect((await startedWith(child.handle)).sendInOneActivity).toBe(activities === ONE ? true : undefined);
    });
  });

  it('keeps the one-activity path across continue-as-new', async () => {
    const HOUR = 3_600_000;
    await runFlow(server.env, server.workflowBundle, { input: { historyEventLimit: 60, deadlines: { ...sendInput().deadlines, reminderIntervalMs: HOUR } } }, async (f) => {
      await f.respond('20013', 1);
      await server.env.sleep(60 * HOUR);
      await f.waitFor((s) => s.run >= 2, 'a second run');
      expect((await startedWith(f.handle)).sendInOneActivity).toBe(true);
    });
  });
});
