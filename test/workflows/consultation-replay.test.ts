/**
 * Replay guard for the consultation workflow: a committed history (synthetic: claim checks,
 * ids and ODS codes only) must replay on the production workflow bundle after every change, and the same
 * history with its child workflow id altered must fail with a determinism error.
 *
 * The history covers: two saves inside the window, version 1 sent when it ends, a later save finalised
 * at once as version 2 replacing version 1, and a deletion after the report (escalation). Re-record it
 * only for a deliberate, patched change: RECORD_CONSULTATION_HISTORY=1 npx jest --selectProjects workflows
 * test/workflows/consultation-replay.test.ts
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ContentRef, DeliveryDeadlines } from '../../contracts';
import { ALL_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';
import { DEFAULT_CONSULTATION_SETTINGS, consultationWorkflowId, type ConsultationEvent } from '../../contracts/consultation';
import { consultationEventSignal } from '../../workflows/consultation-definitions';
import type { StubDeliveryActivities } from './consultation-stub-workflows';

jest.setTimeout(120_000);

const REPO_ROOT = path.resolve(__dirname, '../..');
const HISTORY = path.join(__dirname, 'consultation-history.json');
const WORKFLOW_ID = consultationWorkflowId('X27', 'cons-replay-0001');
const HOUR = 3_600_000;

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed by an earlier test file in this jest worker
  }
});

const JSON_FORM = { longs: String, enums: String, bytes: String, defaults: false } as const;
const loadHistory = (): temporal.api.history.v1.History => temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(HISTORY, 'utf8')) as Record<string, unknown>);

const ref = (n: number): ContentRef => ({ key: `consultation-content/00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, sha256: String(n).repeat(64).slice(0, 64), size: 1000 + n });
const DEADLINES: DeliveryDeadlines = { infrastructureAckMs: 4 * HOUR, businessAckMs: 48 * HOUR, reminderIntervalMs: 24 * HOUR, replacementWindowMs: 24 * HOUR, decisionWindowMs: 168 * HOUR };

/** Runs the scenario on the time-skipping server and writes its history (only when asked to). */
async function record(): Promise<void> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: path.join(REPO_ROOT, '.venv/bin/temporal-test-server') } } });
  try {
    const T = temporal.api.enums.v1.IndexedValueType;
    const types: Record<string, temporal.api.enums.v1.IndexedValueType> = { KEYWORD: T.INDEXED_VALUE_TYPE_KEYWORD, KEYWORD_LIST: T.INDEXED_VALUE_TYPE_KEYWORD_LIST, BOOL: T.INDEXED_VALUE_TYPE_BOOL, INT: T.INDEXED_VALUE_TYPE_INT, DATETIME: T.INDEXED_VALUE_TYPE_DATETIME };
    await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, types[k.type]!])) });
    const taskQueue = 'consultation-replay';
    const activities: Pick<Activities, 'prepareConsultationSubmission' | 'raiseEscalation'> & StubDeliveryActivities = {
      prepareConsultationSubmission: async (i) => ({ valid: true, submissionRef: { ...i.contentRef, key: `submission/${i.contentRef.key.split('/')[1]}` }, recipientOds: 'X26' }),
      raiseEscalation: async () => undefined,
      planStubDelivery: async () => ({ result: { status: 'DELIVERED', attempts: 1, finalCode: '30001' }, durationMs: 0 }),
    };
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./consultation-stub-workflows'), logger: new DefaultLogger('WARN') });
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
    let n = 0;
    const at = '2026-11-25T09:00:00+00:00';
    const signal = (e: Omit<ConsultationEvent, 'eventId' | 'occurredAt'>) =>
      env.client.workflow.signalWithStart('consultationWorkflow', {
        workflowId: WORKFLOW_ID,
        taskQueue,
        args: [{ senderOds: 'X27', consultationId: 'cons-replay-0001', settings: DEFAULT_CONSULTATION_SETTINGS }],
        signal: consultationEventSignal,
        signalArgs: [{ ...e, eventId: `ev-${++n}`, occurredAt: at } as ConsultationEvent],
      });
    await worker.runUntil(async () => {
      await signal({ type: 'saved', contentRef: ref(1), recipientOds: 'X26', deadlines: DEADLINES } as never);
      await env.sleep(HOUR);
      await signal({ type: 'saved', contentRef: ref(2), recipientOds: 'X26', deadlines: DEADLINES } as never);
      await env.sleep(3 * HOUR + 60_000);
      await signal({ type: 'saved', contentRef: ref(3), recipientOds: 'X26', deadlines: DEADLINES } as never);
      await signal({ type: 'finalised' } as never);
      await env.sleep(60_000);
      await signal({ type: 'deleted' } as never);
      const handle = env.client.workflow.getHandle(WORKFLOW_ID);
      const result = (await handle.result()) as { versions: unknown[] };
      if (result.versions.length !== 2) throw new Error(`expected two versions, got ${result.versions.length}`);
      // protobufjs's own JSON form (the SDK's historyToJSON trips over two protobufjs copies in this install).
      const json = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(await handle.fetchHistory()), JSON_FORM);
      writeFileSync(HISTORY, `${JSON.stringify(json, null, 1)}\n`);
    });
  } finally {
    await env.teardown();
  }
}

describe('consultation workflow replay', () => {
  beforeAll(async () => {
    if (process.env.RECORD_CONSULTATION_HISTORY === '1' || !existsSync(HISTORY)) await record();
  });

  it('replays the committed history on the production workflow bundle', async () => {
    const history = loadHistory();
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, WORKFLOW_ID);
  });

  it('fails with a determinism error when the history disagrees with the code', async () => {
    const history = loadHistory();
    const initiated = history.events.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)!;
    initiated.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId = 'send-document-00000000-0000-4000-8000-000000000000-v1';
    await expect(
      Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, WORKFLOW_ID),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
