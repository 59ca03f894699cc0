/**
 * Records the histories that test/replay/replay.test.ts replays on every run. Skipped unless
 * RECORD_HISTORIES=1: re-record only on purpose, when a workflow change is meant to be incompatible
 * (and old runs are drained or patched), never to make a failing replay pass.
 *
 *   RECORD_HISTORIES=1 npx jest --selectProjects workflows -- test/replay/record-histories.test.ts
 *
 * Synthetic data only: the workflow input carries a ContentRef (store key, sha256, size), ODS codes and
 * ids; no submission content, so no patient data, ever reaches these files.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { deliveryWorkflowId } from '../../contracts/ids';
import {
  acknowledgeEscalationUpdate,
  correctUpdate,
  meshReportSignal,
  replaceUpdate,
  resendUpdate,
  abandonUpdate,
  changeDeadlinesUpdate,
} from '../../workflows/definitions';
import type { sendDocumentWorkflow } from '../../workflows/send-document';
import { historyToJSON } from './history-json';
import { TWO_ACTIVITIES, actorToken, bundle, contentRef, createTimeSkippingEnv, flowFor, meshReport, runFlow as runAnyFlow, sendInput, type FlowOptions } from '../workflows/support';

const HISTORIES = path.join(__dirname, 'histories');
const HOUR = 3_600_000;
const recording = process.env.RECORD_HISTORIES === '1';
// Only runs when RECORD_HISTORIES=1: jest.config.js leaves this file out otherwise.
const record = it;

jest.setTimeout(120_000);

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  if (recording) workflowBundle = await bundle();
});
beforeEach(async () => {
  if (recording) env = await createTimeSkippingEnv();
});
afterEach(async () => {
  if (recording) await env?.teardown();
});

/**
 * The histories recorded before the one-activity send: deliveries started without `sendInOneActivity`,
 * so that re-recording one keeps pinning the two-activity path that such deliveries still take.
 */
const runFlow = (e: TestWorkflowEnvironment, b: WorkflowBundleWithSourceMap, opts: FlowOptions, body: Parameters<typeof runAnyFlow>[3]) =>
  runAnyFlow(e, b, { ...opts, input: { ...TWO_ACTIVITIES, ...opts.input } }, body);

async function save(name: string, handle: WorkflowHandle, runId?: string): Promise<void> {
  const h = runId ? handle.client.getHandle(handle.workflowId, runId) : handle;
  const history = await h.fetchHistory();
  writeFileSync(path.join(HISTORIES, `${name}.json`), historyToJSON(history));
}

describe('record delivery histories', () => {
  record('delivered', async () => {
    await runFlow(env, workflowBundle, {}, async (f) => {
      await f.respond('20013', 1);
      await f.respond('30001', 1);
      await f.handle.result();
      await save('delivered', f.handle);
    });
  });

  // A delivery as the API starts it now: each attempt built and sent in one activity.
  record('delivered-one-activity', async () => {
    await runAnyFlow(env, workflowBundle, { input: { sendInOneActivity: true } }, async (f) => {
      await f.respond('20013', 1);
      await f.respond('30001', 1);
      await f.handle.result();
      await save('delivered-one-activity', f.handle);
    });
  });

  record('late-ack-after-escalation', async () => {
    await runFlow(env, workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      await env.sleep(4 * HOUR + 60_000);
      await f.waitFor((s) => s.escalated, 'escalation');
      await env.sleep(24 * HOUR);
      await f.waitFor((s) => s.escalations[0]!.reminders === 1, 'reminder');
      await f.handle.executeUpdate(acknowledgeEscalationUpdate, { args: [{ actor: 'ops.jones', note: 'calling the practice' }] });
      await f.respond('20013', 1);
      await f.respond('30001', 1);
      await f.handle.result();
      await save('late-ack-after-escalation', f.handle);
    });
  });

  record('correction-then-delivered', async () => {
    await runFlow(env, workflowBundle, {}, async (f) => {
      await f.respond('20009', 1);
      await f.waitFor((s) => s.status === 'AWAITING_CORRECTION', 'AWAITING_CORRECTION');
      await f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'author telephone added', submissionRef: contentRef('submission/corrected') }] });
      await f.respond('20013', 2);
      await f.respond('30001', 2);
      await f.handle.result();
      await save('correction-then-delivered', f.handle);
    });
  });

  record('business-rejection-override-resend', async () => {
    await runFlow(env, workflowBundle, {}, async (f) => {
      await f.respond('20013', 1);
      await f.respond('30002', 1);
      await f.waitFor((s) => s.status === 'REJECTED', 'REJECTED');
      await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'registration confirmed', overrideBusinessRejection: true }] });
      await f.respond('30001', 2);
      await f.handle.result();
      await save('business-rejection-override-resend', f.handle);
    });
  });

  record('mesh-non-delivery-abandoned', async () => {
    await runFlow(env, workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      const mesh = (await f.state()).attempts[0]!.meshMessageId!;
      await f.handle.signal(meshReportSignal, meshReport(mesh, 'ROUTING_ERROR', 'EPL-151'));
      await f.waitFor((s) => s.status === 'AWAITING_OPERATOR', 'AWAITING_OPERATOR');
      await f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: 'patient moved abroad' }] });
      await f.handle.result();
      await save('mesh-non-delivery-abandoned', f.handle);
    });
  });

  record('replacement-voided', async () => {
    await runFlow(env, workflowBundle, {}, async (f) => {
      await f.respond('30001', 1);
      await f.waitFor((s) => s.status === 'DELIVERED', 'DELIVERED');
      await f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'wrong clinician', submissionRef: contentRef('submission/replacement') }] });
      const childId = deliveryWorkflowId(f.input.documentId, 2);
      const child = flowFor(f.handle.client.getHandle<typeof sendDocumentWorkflow>(childId), { ...f.input, version: 2 }, f.recorded, f.taskQueue);
      await child.respond('20014', 1);
      await child.handle.result();
      await f.handle.result();
      await save('replacement-voided-original', f.handle);
      await save('replacement-voided-replacement', child.handle);
    });
  });

  // Recorded after MeshMessageIds and MESH tracking: the tracking call and its patch marker.
  record('no-ack-mesh-tracking-undeliverable', async () => {
    const tracking = () => ({ status: 'undeliverable', statusCode: '14', statusDescription: 'Message not collected by recipient' });
    await runFlow(env, workflowBundle, { tracking }, async (f) => {
      await f.sentAttempt(1);
      await env.sleep(4 * HOUR + 60_000);
      await f.waitFor((s) => s.status === 'AWAITING_OPERATOR', 'AWAITING_OPERATOR');
      await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'mailbox fixed by the practice' }] });
      await f.respond('20013', 2);
      await f.respond('30001', 2);
      await f.handle.result();
      await save('no-ack-mesh-tracking-undeliverable', f.handle);
    });
  });

  record('no-ack-mesh-tracking-accepted', async () => {
    await runFlow(env, workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      await env.sleep(4 * HOUR + 60_000);
      await f.waitFor((s) => s.timeline.some((t) => t.kind === 'MESH_TRACKING'), 'MESH tracking');
      await f.respond('20013', 1);
      await f.respond('30001', 1);
      await f.handle.result();
      await save('no-ack-mesh-tracking-accepted', f.handle);
    });
  });

  record('continued-as-new', async () => {
    await runFlow(env, workflowBundle, { input: { historyEventLimit: 60, deadlines: { ...sendInput().deadlines, reminderIntervalMs: HOUR } } }, async (f) => {
      await f.respond('20013', 1);
      await env.sleep(60 * HOUR);
      await f.waitFor((s) => s.run >= 2, 'a second run');
      await f.respond('30001', 1);
      await f.handle.result();
      await save('continued-as-new-first-run', f.handle, f.firstExecutionRunId);
      await save('continued-as-new-last-run', f.handle);
    });
  });

  // Operator updates that check their actor token (an activity): one verified, one without a token.
  record('operator-actor-token', async () => {
    await runFlow(env, workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      await f.handle.executeUpdate(changeDeadlinesUpdate, {
        args: [{ actor: 'ops.jones', reason: 'practice asked for longer', deadlines: { businessAckMs: 3 * 24 * HOUR }, actorToken: actorToken('ops.jones', f.handle.workflowId, 'changeDeadlines') }],
      });
      await f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: 'sent around the API' }] });
      await f.handle.result();
      await save('operator-actor-token', f.handle);
    });
  });
});
