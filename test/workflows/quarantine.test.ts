/**
 * inboundQuarantineWorkflow (workflows/quarantine.ts) on a real dev server with typed activity mocks:
 * raised once, rematch before raising, operator reroute and resolve, rejections leave the entry open.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { EscalationInput } from '../../contracts';
import type { QuarantineInput, RouteQuarantinedInput, RouteQuarantinedResult } from '../../contracts/inbound';
import { quarantineEntryQuery, rerouteQuarantineUpdate, resolveQuarantineUpdate } from '../../workflows/quarantine-definitions';
import { pause, until, useInboundTestEnv } from './inbound-env';
import { PATIENT_VALUES, currentDetails, historySummaries } from '../helpers/ui-metadata';

jest.setTimeout(120_000);

const t = useInboundTestEnv();

type Mocks = Pick<Activities, 'routeQuarantinedMessage' | 'raiseEscalation'>;

function mocks(route: (input: RouteQuarantinedInput, call: number) => RouteQuarantinedResult | Promise<RouteQuarantinedResult>) {
  const calls = { routes: [] as RouteQuarantinedInput[], escalations: [] as EscalationInput[] };
  const activities: Mocks = {
    async routeQuarantinedMessage(input) {
      calls.routes.push(input);
      return route(input, calls.routes.length);
    },
    async raiseEscalation(input) {
      calls.escalations.push(input);
    },
  };
  return { calls, activities };
}

function entryInput(over: Partial<QuarantineInput> = {}): QuarantineInput {
  const meshMessageId = randomUUID().replace(/-/g, '').toUpperCase();
  return {
    quarantineId: `inbound-quarantine-X26ABC1-${meshMessageId}`,
    mailboxId: 'X26ABC1',
    meshMessageId,
    messageType: 'DATA',
    meshWorkflowId: 'GPCONNECT_SEND_DOCUMENT_ACK',
    reason: 'MALFORMED',
    detail: 'ITK3_RESPONSE_INVALID: not XML or JSON',
    contentRef: { key: `inbound-message/${randomUUID()}`, sha256: '0'.repeat(64), size: 10 },
    receivedAt: new Date().toISOString(),
    summary: {},
    candidates: [],
    rematchDelaysMs: [],
    ...over,
  };
}

async function run(activities: Mocks, input: QuarantineInput, body: (handle: WorkflowHandle) => Promise<void>): Promise<void> {
  const taskQueue = `quarantine-${Math.random().toString(36).slice(2)}`;
  const worker = await t.worker(taskQueue, activities);
  await worker.runUntil(async () => {
    const handle = await t.env.client.workflow.start('inboundQuarantineWorkflow', { workflowId: input.quarantineId, taskQueue, args: [input] });
    try {
      await body(handle);
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });
}


const routedTo = (wf: string): RouteQuarantinedResult => ({ routed: true, targetWorkflowId: wf, signal: 'itk3Response', respondsTo: 'h1', code: '20013' });

describe('inboundQuarantineWorkflow', () => {
  it('raises an unreadable message to an operator once, at once, and waits', async () => {
    const { calls, activities } = mocks(() => routedTo('x'));
    const input = entryInput();
    await run(activities, input, async (handle) => {
      await until('the escalation', () => calls.escalations.length === 1);
      expect(calls.escalations[0]).toMatchObject({ workflowId: input.quarantineId, state: 'QUARANTINED', kind: 'RAISED' });
      expect(calls.escalations[0]?.reason).toContain('MALFORMED');
      const entry = await handle.query(quarantineEntryQuery);
      expect(entry).toMatchObject({ status: 'OPEN', reason: 'MALFORMED', rematchAttempts: 0 });
      expect(entry.raisedAt).toBeDefined();
      await pause(500);
      expect(calls.escalations).toHaveLength(1);
      expect(calls.routes).toHaveLength(0);
      expect((await handle.describe()).status.name).toBe('RUNNING');
    });
  });

  it('operator reroute: delivers through the activity, closes REROUTED, tells the operator it is resolved', async () => {
    const { calls, activities } = mocks(() => routedTo('send-document-abc-v1'));
    const input = entryInput({ reason: 'UNREADABLE_IN_ORIGINAL_MESSAGE' });
    await run(activities, input, async (handle) => {
      await until('the escalation', () => calls.escalations.length === 1);
      const req = { actor: 'ops.jane', reason: 'only delivery to that practice today', targetWorkflowId: 'send-document-abc-v1', attempt: 1 };
      const res = await handle.executeUpdate(rerouteQuarantineUpdate, { args: [req] });
      expect(res).toMatchObject({ quarantineId: input.quarantineId, status: 'REROUTED', targetWorkflowId: 'send-document-abc-v1', signal: 'itk3Response', respondsTo: 'h1', code: '20013' });
      expect(calls.routes).toEqual([{ quarantineId: input.quarantineId, contentRef: input.contentRef, reroute: req }]);
      expect(await handle.result()).toMatchObject({ status: 'REROUTED' });
      const entry = await handle.query(quarantineEntryQuery);
      expect(entry.resolution).toMatchObject({ actor: 'ops.jane', reason: req.reason, targetWorkflowId: 'send-document-abc-v1' });
      expect(calls.escalations.map((e) => e.kind)).toEqual(['RAISED', 'RESOLVED']);
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get({ name: 'QuarantineStatus', type: 'KEYWORD' } as never)).toBe('REROUTED');
    });
  });

  it('a rejected reroute (validator or activity) leaves the entry open; resolve then closes it', async () => {
    const { calls, activities } = mocks(() => {
      throw ApplicationFailure.nonRetryable('send-document-x-v1 has closed', 'INBOUND_REROUTE_REJECTED');
    });
    const input = entryInput();
    await run(activities, input, async (handle) => {
      await until('the escalation', () => calls.escalations.length === 1);
      await expect(handle.executeUpdate(rerouteQuarantineUpdate, { args: [{ actor: '', reason: 'r', targetWorkflowId: 'x' }] })).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(handle.executeUpdate(rerouteQuarantineUpdate, { args: [{ actor: 'a', reason: 'r', targetWorkflowId: 'bad id!' }] })).rejects.toThrow(WorkflowUpdateFailedError);
      expect(calls.routes).toHaveLength(0);
      const failed = await handle.executeUpdate(rerouteQuarantineUpdate, { args: [{ actor: 'a', reason: 'r', targetWorkflowId: 'send-document-x-v1' }] }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(calls.routes).toHaveLength(1);
      expect((await handle.query(quarantineEntryQuery)).status).toBe('OPEN');

      const res = await handle.executeUpdate(resolveQuarantineUpdate, { args: [{ actor: 'ops.jane', reason: 'report about a message another system sent' }] });
      expect(res).toMatchObject({ status: 'RESOLVED' });
      expect(await handle.result()).toMatchObject({ status: 'RESOLVED' });
      await expect(handle.executeUpdate(resolveQuarantineUpdate, { args: [{ actor: 'a', reason: 'again' }] })).rejects.toThrow();
    });
  });

  it('unmatched: tries again after each delay and closes AUTO_ROUTED without ever raising it', async () => {
    const { calls, activities } = mocks((_i, n) => (n < 2 ? { routed: false, candidates: [] } : routedTo('send-document-late-v1')));
    const input = entryInput({ reason: 'UNMATCHED_RESPONSE', rematchDelaysMs: [300, 300, 300] });
    await run(activities, input, async (handle) => {
      expect(await handle.result()).toMatchObject({ status: 'AUTO_ROUTED', targetWorkflowId: 'send-document-late-v1' });
      expect(calls.routes).toHaveLength(2);
      expect(calls.routes[0]).toEqual({ quarantineId: input.quarantineId, contentRef: input.contentRef });
      expect(calls.escalations).toHaveLength(0);
      expect((await handle.query(quarantineEntryQuery)).rematchAttempts).toBe(2);
    });
  });

  it('unmatched: raised once after the last rematch fails, with the candidates it found', async () => {
    const { calls, activities } = mocks(() => ({ routed: false, candidates: ['send-document-maybe-v1'] }));
    const input = entryInput({ reason: 'UNMATCHED_RESPONSE', rematchDelaysMs: [200, 200] });
    await run(activities, input, async (handle) => {
      await until('the escalation', () => calls.escalations.length === 1);
      expect(calls.routes).toHaveLength(2);
      const entry = await handle.query(quarantineEntryQuery);
      expect(entry).toMatchObject({ status: 'OPEN', rematchAttempts: 2, candidates: ['send-document-maybe-v1'] });
      await pause(500);
      expect(calls.escalations).toHaveLength(1);
    });
  });

  it('explains itself in the Web UI: why it was quarantined, the rematch it waits for, and the operator actions, with no patient data', async () => {
    const { calls, activities } = mocks((i) => (i.reroute ? routedTo(i.reroute.targetWorkflowId) : { routed: false, candidates: ['send-document-maybe-v1'] }));
    const input = entryInput({ reason: 'UNMATCHED_RESPONSE', detail: 'response.identifier and SenderReference match no delivery', summary: { code: '20013' }, rematchDelaysMs: [1_500] });
    await run(activities, input, async (handle) => {
      await until('the rematch wait', async () => (await currentDetails(handle)).includes('rematch attempt 1 of 1'));
      const waiting = await currentDetails(handle);
      expect(waiting).toContain('**Reason:** UNMATCHED_RESPONSE · code 20013');
      expect(waiting).toContain('**Status:** OPEN');

      await until('the escalation', () => calls.escalations.length === 1);
      await until('the details after raising', async () => (await currentDetails(handle)).includes('Waiting for:** an operator'));
      const open = await currentDetails(handle);
      expect(open).toContain('raised to an operator at');
      expect(open).toContain('`send-document-maybe-v1`');
      expect(open).toContain(`itk3 quarantine reroute ${input.quarantineId} --to send-document-maybe-v1 --reason "<why>"`);
      expect(open).toContain(`POST /v1/quarantine/${input.quarantineId}/reroute`);
      expect(open).toContain('update `rerouteQuarantine`');
      expect(open).toContain(`itk3 quarantine resolve ${input.quarantineId} --reason "<why>"`);
      expect(open).toContain('update `resolveQuarantine`');

      await handle.executeUpdate(rerouteQuarantineUpdate, { args: [{ actor: 'ops.jane', reason: 'the only candidate', targetWorkflowId: 'send-document-maybe-v1' }] });
      await handle.result();
      const closed = await currentDetails(handle);
      expect(closed).toContain('**Closed:** REROUTED by ops.jane');
      expect(closed).not.toContain('Operator actions now');
      const summaries = await historySummaries(handle);
      expect(summaries).toEqual([
        'rematch attempt 1 of 1: the delivery may not have been visible yet',
        'rematch attempt 1 of 1',
        'raise to an operator: UNMATCHED_RESPONSE',
        'operator reroute to send-document-maybe-v1',
        'resolve the operator escalation: REROUTED',
      ]);
      for (const text of [waiting, open, closed, ...summaries]) for (const value of PATIENT_VALUES) expect(text).not.toContain(value);
    });
  });
});
