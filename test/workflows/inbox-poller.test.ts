/**
 * meshInboxPollerWorkflow (workflows/inbox-poller.ts) on a real dev server with typed activity mocks and
 * short real durations: cadence, immediate re-poll on full pages, the daily handshake (interval shortened),
 * failures raised once and resolved, a failing pass that does not kill the poller, continue-as-new.
 */
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities';
import type { EscalationInput, PollMeshInboxInput, PollMeshInboxResult } from '../../contracts';
import { inboundTaskQueue } from '../../contracts/ids';
import { inboxPollerStatusQuery, pollNowSignal, type InboxPollerInput } from '../../workflows/inbox-poller';
import { pause, until, useInboundTestEnv } from './inbound-env';

jest.setTimeout(120_000);

const t = useInboundTestEnv();

const empty = (over: Partial<PollMeshInboxResult> = {}): PollMeshInboxResult => ({ listed: 0, routed: 0, reports: 0, unmatched: 0, morePending: false, failed: [], recovered: [], ...over });

type Mocks = Pick<Activities, 'pollMeshInbox' | 'handshakeMeshMailbox' | 'raiseEscalation'>;

function mocks(poll: (input: PollMeshInboxInput, call: number) => PollMeshInboxResult | Promise<PollMeshInboxResult>) {
  const calls = { polls: [] as Array<PollMeshInboxInput & { at: number }>, handshakes: [] as number[], escalations: [] as EscalationInput[] };
  const activities: Mocks = {
    async pollMeshInbox(input) {
      // As the real activity does (long poll): wait before listing when asked to.
      if (input.delayFirstListMs) await pause(input.delayFirstListMs);
      calls.polls.push({ ...input, at: Date.now() });
      return poll(input, calls.polls.length);
    },
    async handshakeMeshMailbox(input) {
      calls.handshakes.push(Date.now());
      return { mailboxId: input.mailboxId, at: new Date().toISOString() };
    },
    async raiseEscalation(input) {
      calls.escalations.push(input);
    },
  };
  return { calls, activities };
}

/**
 * Serves a poller as a courier worker process does: one worker on the delivery task queue (the workflow,
 * escalations) and one on its inbound task queue (poll passes, handshakes), both with every activity
 * unless `deliveryQueueActivities` says what the delivery queue's worker has.
 */
async function run(activities: Mocks, input: InboxPollerInput, body: (handle: WorkflowHandle) => Promise<void>, deliveryQueueActivities: object = activities): Promise<void> {
  const taskQueue = `poller-${Math.random().toString(36).slice(2)}`;
  const worker = await t.worker(taskQueue, deliveryQueueActivities);
  const inbound = await t.worker(inboundTaskQueue(taskQueue), activities);
  await worker.runUntil(
    inbound.runUntil(async () => {
      const handle = await t.env.client.workflow.start('meshInboxPollerWorkflow', { workflowId: `poller-${taskQueue}`, taskQueue, args: [input] });
      try {
        await body(handle);
      } finally {
        await handle.terminate('test done').catch(() => undefined);
      }
    }),
  );
}

describe('meshInboxPollerWorkflow', () => {
  it('runs its passes and handshakes on the inbound task queue, so sends queued on the delivery queue never hold them up', async () => {
    const { calls, activities } = mocks(() => empty());
    const onDeliveryQueue: string[] = [];
    // The delivery queue's worker would record any inbox activity sent its way; it has the escalations only.
    const deliveryQueue = {
      pollMeshInbox: async () => void onDeliveryQueue.push('pollMeshInbox'),
      handshakeMeshMailbox: async () => void onDeliveryQueue.push('handshakeMeshMailbox'),
      raiseEscalation: activities.raiseEscalation,
    };
    await run(
      activities,
      { mailboxId: 'X26ABC1', pollIntervalMs: 500 },
      async () => {
        await until('two passes on the inbound queue', () => calls.polls.length >= 2);
        expect(calls.handshakes).toHaveLength(1);
        expect(onDeliveryQueue).toEqual([]);
      },
      deliveryQueue,
    );
  });

  it('polls again at once while pages are full, then sleeps the interval', async () => {
    const { calls, activities } = mocks((_i, n) => empty({ listed: n <= 3 ? 500 : 3, routed: n <= 3 ? 500 : 3, morePending: n <= 3 }));
    await run(activities, { mailboxId: 'X26ABC1', pollIntervalMs: 3_000 }, async (handle) => {
      await until('four passes', () => calls.polls.length >= 4);
      const status = await handle.query(inboxPollerStatusQuery);
      expect(status.totals).toMatchObject({ passes: 4, listed: 1503, routed: 1503 });
      expect(status.nextPollAt).toBeDefined();
      // The three full pages were followed at once; then it waited.
      expect(calls.polls[3]!.at - calls.polls[0]!.at).toBeLessThan(2_500);
      await pause(1_000);
      expect(calls.polls).toHaveLength(4);
      await until('the next pass after the interval', () => calls.polls.length >= 5);
      expect(calls.polls[4]!.at - calls.polls[3]!.at).toBeGreaterThanOrEqual(2_900);
    });
  });

  it('at a short interval waits inside the pass activity (long poll), with no timer between passes', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const { calls, activities } = mocks(async (_i, n) => {
      if (n === 4) await held; // pollNow arrives while this pass runs
      return empty({ listed: n === 2 ? 500 : 1, routed: n === 2 ? 500 : 1, morePending: n === 2 });
    });
    await run(activities, { mailboxId: 'X26ABC1', pollIntervalMs: 400 }, async (handle) => {
      await until('four passes', () => calls.polls.length >= 4);
      await handle.signal(pollNowSignal);
      await pause(300);
      release();
      await until('six passes', () => calls.polls.length >= 6);
      const p = calls.polls;
      // Every pass may wait for mail for up to 10 s, listing every interval.
      expect(p.every((x) => x.waitForMailMs === 10_000 && x.pollIntervalMs === 400)).toBe(true);
      // First pass at once; after a full page at once; after pollNow at once; otherwise one interval first.
      expect(p.slice(0, 6).map((x) => x.delayFirstListMs)).toEqual([undefined, 400, undefined, 400, undefined, 400]);
      expect(p[5]!.at - p[4]!.at).toBeGreaterThanOrEqual(390);
      const events = (await handle.fetchHistory()).events ?? [];
      // No timer at all: the waiting happened in the activities. The patch marker guards the change.
      expect(events.some((e) => e.timerStartedEventAttributes)).toBe(false);
      expect(events.some((e) => e.markerRecordedEventAttributes)).toBe(true);
      const status = await handle.query(inboxPollerStatusQuery);
      expect(status.totals.passes).toBeGreaterThanOrEqual(5);
    });
  });

  it('with waitForMailMs 0 sleeps between passes on a workflow timer, as before the long poll', async () => {
    const { calls, activities } = mocks(() => empty({ listed: 1, routed: 1 }));
    await run(activities, { mailboxId: 'X26ABC1', pollIntervalMs: 300, waitForMailMs: 0 }, async (handle) => {
      await until('three passes', () => calls.polls.length >= 3);
      expect(calls.polls.every((x) => x.waitForMailMs === undefined && x.delayFirstListMs === undefined)).toBe(true);
      expect(calls.polls[2]!.at - calls.polls[1]!.at).toBeGreaterThanOrEqual(290);
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.filter((e) => e.timerStartedEventAttributes).length).toBeGreaterThanOrEqual(2);
    });
  });

  it('handshakes at start and then once per handshake interval (a day by default), and records it', async () => {
    const { calls, activities } = mocks(() => empty());
    await run(activities, { mailboxId: 'X26ABC1', pollIntervalMs: 100, handshakeIntervalMs: 4_000 }, async (handle) => {
      // The mock counts a handshake when it is called; the workflow records it once the activity has
      // completed, a workflow task later. So each check waits for the record, not only for the call.
      const recorded = async (): Promise<string | undefined> => (await handle.query(inboxPollerStatusQuery)).lastHandshakeAt;
      await until('the first handshake', () => calls.handshakes.length === 1);
      await until('the first handshake recorded', async () => (await recorded()) !== undefined);
      const first = await recorded();
      expect(first).toBeDefined();
      await until('three passes', () => calls.polls.length >= 3);
      if (Date.now() - calls.handshakes[0]! < 3_500) expect(calls.handshakes).toHaveLength(1);
      await until('the second handshake', () => calls.handshakes.length === 2);
      expect(calls.handshakes[1]! - calls.handshakes[0]!).toBeGreaterThanOrEqual(3_900);
      await until('the second handshake recorded', async () => (await recorded()) !== first);
      const status = await handle.query(inboxPollerStatusQuery);
      expect(Date.parse(status.lastHandshakeAt!) - Date.parse(first!)).toBeGreaterThanOrEqual(4_000);
      const described = await handle.describe();
      expect(described.memo?.lastHandshakeAt).toBe(status.lastHandshakeAt);
    });
  });

  it('raises a message that keeps failing once, keeps retrying it, and resolves it when it goes through', async () => {
    const { calls, activities } = mocks((input, n) =>
      n <= 4
        ? empty({ listed: 1, failed: [{ meshMessageId: 'MSG404', errorType: 'MESH_NOT_FOUND', httpStatus: 404 }] })
        : empty({ listed: 1, routed: 1, recovered: (input.knownFailures ?? []).includes('MSG404') ? ['MSG404'] : [] }),
    );
    await run(activities, { mailboxId: 'X26ABC1', pollIntervalMs: 300 }, async (handle) => {
      await until('the escalation', () => calls.escalations.length >= 1);
      expect(calls.polls).toHaveLength(3);
      expect(calls.escalations[0]).toMatchObject({ kind: 'RAISED', code: 'MESH_NOT_FOUND' });
      expect(calls.escalations[0]?.reason).toContain('MSG404');
      let status = await handle.query(inboxPollerStatusQuery);
      expect(status.failures).toEqual([expect.objectContaining({ meshMessageId: 'MSG404', reported: true, httpStatus: 404, count: 3 })]);
      await until('the recovery', () => calls.escalations.length >= 2);
      expect(calls.escalations.map((e) => e.kind)).toEqual(['RAISED', 'RESOLVED']);
      // Every pass after the first failure told the activity which message to watch.
      expect(calls.polls.slice(1, 5).map((p) => p.knownFailures)).toEqual([['MSG404'], ['MSG404'], ['MSG404'], ['MSG404']]);
      status = await handle.query(inboxPollerStatusQuery);
      expect(status.failures).toEqual([]);
    });
  });

  it('survives passes that fail outright (e.g. authentication), raising it once', async () => {
    const { calls, activities } = mocks((_i, n) => {
      if (n <= 3) throw ApplicationFailure.nonRetryable('MESH listInbox failed: 403', 'MESH_AUTH_FAILED');
      return empty();
    });
    await run(activities, { mailboxId: 'X26ABC1', pollIntervalMs: 300 }, async (handle) => {
      await until('passes working again', () => calls.polls.length >= 4 && calls.escalations.length >= 2);
      expect(calls.escalations.map((e) => [e.kind, e.code])).toEqual([
        ['RAISED', 'MESH_AUTH_FAILED'],
        ['RESOLVED', 'MESH_AUTH_FAILED'],
      ]);
      expect((await handle.describe()).status.name).toBe('RUNNING');
    });
  });

  it('wakes on pollNow, and carries totals across continue-as-new', async () => {
    const { calls, activities } = mocks(() => empty({ listed: 1, routed: 1 }));
    await run(activities, { mailboxId: 'X26ABC1', pollIntervalMs: 3_600_000, passesPerRun: 2 }, async (handle) => {
      await until('the first pass', () => calls.polls.length === 1);
      for (let i = 2; i <= 5; i++) {
        await handle.signal(pollNowSignal);
        await until(`pass ${i}`, () => calls.polls.length === i);
      }
      await until('the status of the latest run', async () => (await handle.query(inboxPollerStatusQuery)).totals.passes === 5);
      const status = await handle.query(inboxPollerStatusQuery);
      expect(status.run).toBeGreaterThanOrEqual(3);
      expect(status.totals).toMatchObject({ passes: 5, routed: 5 });
      expect(calls.handshakes).toHaveLength(1);
    });
  });

  it('explains itself in the Web UI: mailbox, last pass, totals, failures and next poll, with summaries on its timers and activities', async () => {
    const { activities } = mocks((_i, n) => (n === 1 ? empty({ listed: 2, routed: 1, failed: [{ meshMessageId: 'MSG410', errorType: 'MESH_GONE', httpStatus: 410 }] }) : empty()));
    await run(activities, { mailboxId: 'X26ABC1', pollIntervalMs: 120_000, failureReportAfter: 1 }, async (handle) => {
      const details = async (): Promise<string> => (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
      await until('the details after the first pass', async () => (await details()).includes('**Totals:** 1 passes'));
      const status = await handle.query(inboxPollerStatusQuery);
      const text = await details();
      expect(text).toContain('### MESH inbox `X26ABC1` (run 1)');
      expect(text).toContain(`**Last pass:** ${status.lastPollAt} · **next poll:** ${status.nextPollAt}`);
      expect(text).toContain('**Totals:** 1 passes · 2 listed · 1 routed');
      expect(text).toContain('- `MSG410` MESH_GONE × 1 (raised)');
      expect(text).toContain('signal `pollNow`');
      const summaries = ((await handle.fetchHistory()).events ?? []).flatMap((e) => (e.userMetadata?.summary ? [defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary)] : []));
      expect(summaries).toEqual(['daily MESH handshake of X26ABC1', 'poll pass 1 of MESH inbox X26ABC1', 'raise escalation: MESH_GONE', 'next poll of MESH inbox X26ABC1']);
    });
  });
});
