/**
 * Replay guard for the inbound workflows: committed histories (synthetic: ids, codes and a
 * claim check only) of meshInboxPollerWorkflow and inboundQuarantineWorkflow must replay on the
 * production workflow bundle after every change, and an altered history must fail with a determinism
 * error. A failure here means a change would break pollers or quarantine entries already running: use
 * `patched()`, or drain/terminate the old runs and re-record on purpose:
 *   RECORD_INBOUND_HISTORIES=1 npx jest --selectProjects workflows --testPathPatterns inbound-replay
 *
 * Poller histories (one recorded before the poll passes had their own task queue): a full page (immediate re-poll), a message failing and raised, its recovery and
 * resolution, pollNow, continue-as-new. Quarantine history: unmatched, one rematch, raised, operator reroute.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PollMeshInboxResult } from '../../contracts';
import { inboundTaskQueue } from '../../contracts/ids';
import type { QuarantineInput } from '../../contracts/inbound';
import { pollNowSignal } from '../../workflows/inbox-poller';
import { rerouteQuarantineUpdate } from '../../workflows/quarantine-definitions';
import { historyFromJSON, historyToJSON } from '../replay/history-json';
import { startInboundTestEnv, until, type InboundTestEnv } from './inbound-env';

jest.setTimeout(180_000);

const DIR = path.join(__dirname, 'inbound-histories');
/**
 * Recorded before the poll passes moved to the inbound task queue, and kept as it is (this code would
 * record the newer path): proof that pollers started then still replay.
 */
const POLLER = { file: path.join(DIR, 'inbox-poller.json'), workflowId: 'mesh-inbox-poller-X26ABC1' };
/** The same run recorded by the current code: passes and handshakes on the inbound task queue. */
const POLLER_INBOUND_QUEUE = { file: path.join(DIR, 'inbox-poller-inbound-queue.json'), workflowId: 'mesh-inbox-poller-X26ABC1' };
const QUARANTINE = { file: path.join(DIR, 'quarantine-rerouted.json'), workflowId: 'inbound-quarantine-X26ABC1-0123456789ABCDEF0123456789ABCDEF' };
const rerecord = process.env.RECORD_INBOUND_HISTORIES === '1';
const recording = rerecord || !existsSync(POLLER_INBOUND_QUEUE.file) || !existsSync(QUARANTINE.file);
const POLLER_QUEUE = 'inbound-replay-poller';

const empty = (over: Partial<PollMeshInboxResult> = {}): PollMeshInboxResult => ({ listed: 0, routed: 0, reports: 0, unmatched: 0, morePending: false, failed: [], recovered: [], ...over });

async function save(file: string, handle: WorkflowHandle, runId?: string): Promise<void> {
  const h = runId ? handle.client.getHandle(handle.workflowId, runId) : handle;
  writeFileSync(file, historyToJSON(await h.fetchHistory()));
}

async function recordPoller(t: InboundTestEnv): Promise<void> {
  let n = 0;
  const activities: Pick<Activities, 'pollMeshInbox' | 'handshakeMeshMailbox' | 'raiseEscalation'> = {
    pollMeshInbox: async (input) => {
      n++;
      if (n === 1) return empty({ listed: 500, routed: 499, quarantined: 1, unmatched: 1, morePending: true });
      if (n === 2) return empty({ listed: 3, routed: 2, failed: [{ meshMessageId: 'MSG410', errorType: 'MESH_GONE', httpStatus: 410 }] });
      return empty({ listed: 1, routed: 1, recovered: (input.knownFailures ?? []).includes('MSG410') ? ['MSG410'] : [] });
    },
    handshakeMeshMailbox: async (input) => ({ mailboxId: input.mailboxId, at: '2026-11-25T09:00:00.000Z' }),
    raiseEscalation: async () => undefined,
  };
  // As a courier worker process serves it: the delivery task queue and its inbound task queue.
  const worker = await t.worker(POLLER_QUEUE, activities);
  const inbound = await t.worker(inboundTaskQueue(POLLER_QUEUE), activities);
  await worker.runUntil(
    inbound.runUntil(async () => {
      const handle = await t.env.client.workflow.start('meshInboxPollerWorkflow', {
        workflowId: POLLER_INBOUND_QUEUE.workflowId,
        taskQueue: POLLER_QUEUE,
        args: [{ mailboxId: 'X26ABC1', pollIntervalMs: 3_600_000, failureReportAfter: 1, passesPerRun: 3 }],
      });
      const firstRunId = handle.firstExecutionRunId;
      await until('two passes', () => n >= 2);
      await handle.signal(pollNowSignal);
      await until('three passes', () => n >= 3);
      await handle.signal(pollNowSignal);
      await until('the next run', () => n >= 4);
      await save(POLLER_INBOUND_QUEUE.file, handle, firstRunId);
      await handle.terminate('recorded');
    }),
  );
}

async function recordQuarantine(t: InboundTestEnv): Promise<void> {
  const input: QuarantineInput = {
    quarantineId: QUARANTINE.workflowId,
    mailboxId: 'X26ABC1',
    meshMessageId: '0123456789ABCDEF0123456789ABCDEF',
    messageType: 'DATA',
    meshWorkflowId: 'GPCONNECT_SEND_DOCUMENT_ACK',
    reason: 'UNMATCHED_RESPONSE',
    detail: 'response.identifier and SenderReference match no delivery',
    contentRef: { key: 'inbound-message/00000000-0000-4000-8000-000000000001', sha256: 'a'.repeat(64), size: 2048 },
    receivedAt: '2026-11-25T09:00:00.000Z',
    summary: { responseId: '00000000-0000-4000-8000-000000000002', respondsTo: '00000000-0000-4000-8000-000000000003', code: '20013', level: 'infrastructure', polarity: 'positive' },
    candidates: [],
    rematchDelaysMs: [200],
  };
  let raised = 0;
  const activities: Pick<Activities, 'routeQuarantinedMessage' | 'raiseEscalation'> = {
    routeQuarantinedMessage: async (i) =>
      i.reroute ? { routed: true, targetWorkflowId: i.reroute.targetWorkflowId, signal: 'itk3Response', respondsTo: '00000000-0000-4000-8000-000000000004', code: '20013' } : { routed: false, candidates: [] },
    raiseEscalation: async () => {
      raised++;
    },
  };
  const worker = await t.worker('inbound-replay-quarantine', activities);
  await worker.runUntil(async () => {
    const handle = await t.env.client.workflow.start('inboundQuarantineWorkflow', { workflowId: QUARANTINE.workflowId, taskQueue: 'inbound-replay-quarantine', args: [input] });
    await until('raised', () => raised === 1);
    await handle.executeUpdate(rerouteQuarantineUpdate, { args: [{ actor: 'ops.replay', reason: 'recorded for the replay guard', targetWorkflowId: 'send-document-00000000-0000-4000-8000-000000000005-v1' }] });
    await handle.result();
    await save(QUARANTINE.file, handle);
  });
}

describe('inbound workflows replay', () => {
  beforeAll(async () => {
    if (!recording) return;
    const t = await startInboundTestEnv();
    try {
      if (rerecord || !existsSync(POLLER_INBOUND_QUEUE.file)) await recordPoller(t);
      if (rerecord || !existsSync(QUARANTINE.file)) await recordQuarantine(t);
    } finally {
      await t.teardown();
    }
  });

  const load = (file: string) => historyFromJSON(readFileSync(file, 'utf8'));

  it.each([
    ['the poller (full page, failure raised and resolved, continue-as-new), recorded before the inbound task queue', POLLER],
    ['the poller, passes on the inbound task queue', POLLER_INBOUND_QUEUE],
    ['a quarantine entry (rematch, raised, rerouted)', QUARANTINE],
  ])('replays %s on the production workflow bundle', async (_what, { file, workflowId }) => {
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, load(file), workflowId);
  });

  it('has the old poller scheduling on its own task queue, and the new one on the inbound task queue', () => {
    const queuesOf = (file: string): Record<string, string[]> => {
      const out: Record<string, string[]> = {};
      for (const e of load(file).events ?? []) {
        const a = e.activityTaskScheduledEventAttributes;
        if (a) (out[a.activityType!.name!] ??= []).push(a.taskQueue!.name!);
      }
      return out;
    };
    const old = queuesOf(POLLER.file);
    const now = queuesOf(POLLER_INBOUND_QUEUE.file);
    expect(new Set(old.pollMeshInbox)).toEqual(new Set([POLLER_QUEUE]));
    expect(new Set(now.pollMeshInbox)).toEqual(new Set([inboundTaskQueue(POLLER_QUEUE)]));
    expect(new Set(now.handshakeMeshMailbox)).toEqual(new Set([inboundTaskQueue(POLLER_QUEUE)]));
    // Escalations stay with the delivery worker's queue.
    expect(new Set(now.raiseEscalation)).toEqual(new Set([POLLER_QUEUE]));
  });

  it('fails with a determinism error when a history disagrees with the code', async () => {
    for (const { file, workflowId } of [POLLER, POLLER_INBOUND_QUEUE, QUARANTINE]) {
      const history = load(file);
      const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
      scheduled.activityTaskScheduledEventAttributes!.activityType = { name: 'someOtherActivity' };
      await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, workflowId)).rejects.toBeInstanceOf(DeterminismViolationError);
    }
  });
});
