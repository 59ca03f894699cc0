/**
 * Replay guard for the inbound workflows: committed histories (synthetic: ids, codes and a
 * claim check only) of meshInboxPollerWorkflow and inboundQuarantineWorkflow must replay on the
 * production workflow bundle after every change, and an altered history must fail with a determinism
 * error. A failure here means a change would break pollers or quarantine entries already running: use
 * `patched()`, or drain/terminate the old runs and re-record on purpose:
 *   RECORD_INBOUND_HISTORIES=1 npx jest --selectProjects workflows --testPathPatterns inbound-replay
 *
 * Poller history: a full page (immediate re-poll), a message failing and raised, its recovery and
 * resolution, pollNow, continue-as-new. Quarantine history: unmatched, one rematch, raised, operator reroute.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PollMeshInboxResult } from '../../contracts';
import type { QuarantineInput } from '../../contracts/inbound';
import { pollNowSignal } from '../../workflows/inbox-poller';
import { rerouteQuarantineUpdate } from '../../workflows/quarantine-definitions';
import { historyFromJSON, historyToJSON } from '../replay/history-json';
import { startInboundTestEnv, until, type InboundTestEnv } from './inbound-env';

jest.setTimeout(180_000);

const DIR = path.join(__dirname, 'inbound-histories');
const POLLER = { file: path.join(DIR, 'inbox-poller.json'), workflowId: 'mesh-inbox-poller-X26ABC1' };
const QUARANTINE = { file: path.join(DIR, 'quarantine-rerouted.json'), workflowId: 'inbound-quarantine-X26ABC1-0123456789ABCDEF0123456789ABCDEF' };
const recording = process.env.RECORD_INBOUND_HISTORIES === '1' || !existsSync(POLLER.file) || !existsSync(QUARANTINE.file);

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
  const worker = await t.worker('inbound-replay-poller', activities);
  await worker.runUntil(async () => {
    const handle = await t.env.client.workflow.start('meshInboxPollerWorkflow', {
      workflowId: POLLER.workflowId,
      taskQueue: 'inbound-replay-poller',
      args: [{ mailboxId: 'X26ABC1', pollIntervalMs: 3_600_000, failureReportAfter: 1, passesPerRun: 3 }],
    });
    const firstRunId = handle.firstExecutionRunId;
    await until('two passes', () => n >= 2);
    await handle.signal(pollNowSignal);
    await until('three passes', () => n >= 3);
    await handle.signal(pollNowSignal);
    await until('the next run', () => n >= 4);
    await save(POLLER.file, handle, firstRunId);
    await handle.terminate('recorded');
  });
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
      await recordPoller(t);
      await recordQuarantine(t);
    } finally {
      await t.teardown();
    }
  });

  const load = (file: string) => historyFromJSON(readFileSync(file, 'utf8'));

  it.each([
    ['the poller (full page, failure raised and resolved, continue-as-new)', POLLER],
    ['a quarantine entry (rematch, raised, rerouted)', QUARANTINE],
  ])('replays %s on the production workflow bundle', async (_what, { file, workflowId }) => {
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, load(file), workflowId);
  });

  it('fails with a determinism error when a history disagrees with the code', async () => {
    for (const { file, workflowId } of [POLLER, QUARANTINE]) {
      const history = load(file);
      const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
      scheduled.activityTaskScheduledEventAttributes!.activityType = { name: 'someOtherActivity' };
      await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, workflowId)).rejects.toBeInstanceOf(DeterminismViolationError);
    }
  });
});
