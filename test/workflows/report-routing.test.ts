/**
 * The inbound router (activities/inbound.ts routeInboxMessage) against a real Temporal dev server and a
 * real delivery workflow: a MESH REPORT whose Mex-LinkedMsgID is an OLDER attempt's MESH message id is
 * found through the `MeshMessageIds` search attribute (every attempt) and reaches the workflow, where it
 * is recorded against that attempt without moving the current one. Before `MeshMessageIds`, the router
 * looked up `MeshMessageId` (current attempt only) and quarantined such a report as unmatched.
 * Short real deadlines (the dev server has no time skipping).
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { MeshInboundMessage } from '../../mesh';
import type { ContentStore } from '../../store/content-store';
import { routeInboxMessage, temporalInbound, type InboxMesh, type RouterDeps } from '../../activities/inbound';
import { resendUpdate, stateQuery } from '../../workflows/definitions';
import { sendDocumentWorkflow } from '../../workflows/send-document';
import { DEADLINES, fakeActivities, sendInput, workflowIdOf } from './support';
import { until, useInboundTestEnv } from './inbound-env';

jest.setTimeout(120_000);

const t = useInboundTestEnv();

/** One MESH inbox holding one REPORT (non-delivery, code 14) linked to `linkedMessageId`. */
function inboxWithReport(linkedMessageId: string): { mesh: InboxMesh; reportId: string; acked: string[] } {
  const reportId = randomUUID().replace(/-/g, '').toUpperCase();
  const acked: string[] = [];
  const message: MeshInboundMessage = {
    messageId: reportId,
    messageType: 'REPORT',
    workflowId: 'GPCONNECT_SEND_DOCUMENT',
    body: Buffer.alloc(0),
    headers: { 'mex-messagetype': 'REPORT', 'mex-statuscode': '14', 'mex-linkedmsgid': linkedMessageId },
    report: { kind: 'NON_DELIVERY', statusCode: '14', statusDescription: 'Message not collected by recipient after 5 days', linkedMessageId },
  };
  const mesh: InboxMesh = {
    mailbox: 'X26OT001',
    listInbox: async () => [reportId],
    downloadMessage: async (id) => {
      if (id !== reportId) throw new Error(`unexpected download of ${id}`);
      return message;
    },
    acknowledgeMessage: async (id) => void acked.push(id),
    handshake: async () => undefined,
  };
  return { mesh, reportId, acked };
}

describe('inbound router: MESH reports for any attempt', () => {
  it('routes a REPORT for an older attempt to its delivery, found by MeshMessageIds', async () => {
    const taskQueue = `report-routing-${randomUUID()}`;
    const { activities } = fakeActivities();
    const input = sendInput({ deadlines: { ...DEADLINES, infrastructureAckMs: 1_500 } });
    const worker = await t.worker(taskQueue, activities);
    await worker.runUntil(async () => {
      const handle = await t.env.client.workflow.start(sendDocumentWorkflow, { workflowId: workflowIdOf(input), taskQueue, args: [input] });
      try {
        // Attempt 1 sent, its infrastructure ack overdue, an operator resends: attempt 2 is current.
        await until('the no-ack escalation', async () => (await handle.query(stateQuery)).escalated);
        await handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'no infrastructure ack' }] });
        await until('attempt 2 sent', async () => !!(await handle.query(stateQuery)).attempts[1]?.meshMessageId);
        const before = await handle.query(stateQuery);
        const older = before.attempts[0]!.meshMessageId!;
        expect(before.attempts[1]!.meshMessageId).not.toBe(older);

        const port = temporalInbound(t.env.client, taskQueue);
        // Visibility is eventually consistent: wait until the delivery is listed under the older id.
        await until('visibility of MeshMessageIds', async () => (await port.find('MeshMessageIds', older)).length === 1);
        // The single-valued key names only the current attempt, so it alone would not find the earlier one.
        expect(await port.find('MeshMessageId', older)).toEqual([]);

        const { mesh, reportId, acked } = inboxWithReport(older);
        const store = {
          put: async () => {
            throw new Error('the report was quarantined instead of routed');
          },
        } as unknown as ContentStore;
        const deps: RouterDeps = { temporal: port, store, logger: pino({ level: 'silent' }), now: () => new Date(), rematchDelaysMs: [], checks: { routing: { mode: 'mailbox', mailboxId: 'X26ABC2' } } };
        await expect(routeInboxMessage(deps, mesh, reportId)).resolves.toBe('report');
        expect(acked).toEqual([reportId]);

        const s = await until('the report recorded', async () => {
          const x = await handle.query(stateQuery);
          return !!x.attempts[0]!.meshReports?.length;
        }).then(() => handle.query(stateQuery));
        expect(s.attempts[0]!.meshReports).toEqual([expect.objectContaining({ kind: 'NON_DELIVERY', statusCode: '14', reportMessageId: reportId })]);
        // For an older attempt: recorded only; the current attempt keeps waiting.
        expect(s.currentAttempt).toBe(2);
        expect(s.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
        expect(s.timeline.filter((e) => e.kind === 'MESH_REPORT')).toEqual([
          expect.objectContaining({ attempt: 1, code: '14', detail: expect.stringContaining('recorded only') }),
        ]);
      } finally {
        await handle.terminate('test done').catch(() => undefined);
      }
    });
  });
});
