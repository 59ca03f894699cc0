/**
 * The delivery workflow explains itself in the Temporal Web UI: current details (read through the
 * `__temporal_workflow_metadata` query, as the UI does) follow the case, and every timer and activity in
 * history carries a summary naming what it is for. None of it holds patient data.
 * Time-skipping server; infrastructure deadline 4 h, reminders every 24 h (support.ts).
 */
import { WorkflowNotFoundError, type Client, type WorkflowStartOptions } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { ActivityConfig } from '../../activities';
import { submitDocument } from '../../client/api/submit';
import { DOCUMENT_ID, submission } from '../fixtures/itk3/submissions';
import { MemoryStore } from '../helpers/memory-store';
import { runFlow, useTimeSkippingServer } from './support';
import { PATIENT_VALUES, currentDetails, historySummaries } from '../helpers/ui-metadata';

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const server = useTimeSkippingServer();


describe('delivery static summary and details at start', () => {
  it('are set by the API from ids, ODS codes and the spec profile, never from the patient in the submission', async () => {
    let started: WorkflowStartOptions | undefined;
    const client = {
      workflow: {
        getHandle: (id: string) => ({
          query: async () => Promise.reject(new WorkflowNotFoundError('not found', id, undefined)),
          describe: async () => Promise.reject(new WorkflowNotFoundError('not found', id, undefined)),
        }),
        start: async (_type: string, options: WorkflowStartOptions) => void (started = options),
      },
    } as unknown as Client;
    const activity = { profile: '1.x', routing: { mode: 'mailbox', mailboxId: 'X26ABC2' }, maxMessageBytes: 5 * 1024 * 1024, namespace: 'courier-test', taskQueue: 'delivery-test', senderMailboxes: ['X26ABC1', 'Y12345OT001'] } as ActivityConfig;
    const body = submission();
    const { workflowId } = await submitDocument({ client, store: new MemoryStore(), activity, deadlines: { infrastructureAckMs: 4 * HOUR, businessAckMs: 48 * HOUR } }, body);
    const route = `${body.sender.odsCode} → ${body.recipient.odsCode}`;
    expect(started?.staticSummary).toBe(`Deliver document ${DOCUMENT_ID} v${body.version}: ${route}`);
    expect(started?.staticDetails).toContain(`\`${DOCUMENT_ID}\` version **${body.version}**: sending organisation **${body.sender.odsCode}** → practice **${body.recipient.odsCode}**`);
    expect(started?.staticDetails).toContain('**Spec profile:** GP Connect Send Document 1.x');
    expect(started?.staticDetails).toContain(`\`itk3 status ${workflowId}\``);
    for (const text of [started?.staticSummary ?? '', started?.staticDetails ?? '']) for (const value of PATIENT_VALUES) expect(text).not.toContain(value);
  });
});

describe('delivery workflow user metadata', () => {
  it('explains itself in the Web UI: waiting for the infrastructure ack, then the escalation and how to resend, with no patient data', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      const workflowId = f.handle.workflowId;
      const { documentId } = f.input;
      await f.sentAttempt(1);
      const sent = await f.waitFor((s) => s.status === 'AWAITING_INFRASTRUCTURE_ACK', 'the first send');
      let details = await currentDetails(f.handle);
      expect(details).toContain(`### Document \`${documentId}\` v1: X26 → A12345`);
      expect(details).toContain('**Status:** AWAITING_INFRASTRUCTURE_ACK · attempt 1');
      expect(details).toContain(`**Waiting for:** the infrastructure acknowledgement of attempt 1 from A12345, until **${sent.waitingUntil}**`);
      expect(details).not.toContain('Open escalation');

      await server.env.sleep(4 * HOUR + 60_000);
      const s = await f.waitFor((x) => x.escalations.length === 1 && x.timeline.some((t) => t.kind === 'MESH_TRACKING'), 'the no-ack escalation');
      const escalation = s.escalations[0]!;
      details = await currentDetails(f.handle);
      expect(details).toContain('**Status:** AWAITING_INFRASTRUCTURE_ACK · attempt 1');
      expect(details).toContain(`**Open escalation** \`${escalation.id}\` (NO_INFRASTRUCTURE_ACK:1) raised at ${escalation.raisedAt}, not acknowledged, next reminder at ${escalation.nextReminderAt}`);
      expect(details).toContain(`**Reason:** ${escalation.reason}`);
      // Each action that fits now, from the registry: the CLI line, the API route and the update with its input.
      expect(details).toContain(`\`itk3 resend ${workflowId} --reason "<why>"\``);
      expect(details).toContain(`\`POST /v1/documents/${workflowId}/actions/resend\``);
      expect(details).toContain('update `resend` `{"reason": "<why>"}`');
      expect(details).toContain(`\`itk3 ack ${workflowId} --note "<what you are doing about it>" --escalation ${escalation.id}\``);
      expect(details).toContain(`update \`acknowledgeEscalation\` \`{"note": "<what you are doing about it>", "escalationId": "${escalation.id}"}\``);
      // Not fitting now: replace (only once DELIVERED).
      expect(details).not.toContain('/actions/replace');

      const summaries = await historySummaries(f.handle);
      expect(summaries).toEqual(
        expect.arrayContaining([
          'build and send attempt 1 over MESH',
          'infrastructure-ack deadline for attempt 1',
          'raise escalation NO_INFRASTRUCTURE_ACK:1 (attempt 1)',
          'ask MESH tracking about attempt 1',
          'escalation reminder for NO_INFRASTRUCTURE_ACK:1 (reminder 1)',
        ]),
      );
      for (const text of [details, ...summaries]) for (const value of PATIENT_VALUES) expect(text).not.toContain(value);

      // After the resend the details move on with the case.
      await f.handle.executeUpdate('resend', { args: [{ actor: 'ops.jones', reason: 'practice fixed its mailbox' }] });
      await f.sentAttempt(2);
      await f.waitFor((x) => x.status === 'AWAITING_INFRASTRUCTURE_ACK' && x.currentAttempt === 2, 'attempt 2 sent');
      details = await currentDetails(f.handle);
      expect(details).toContain('**Status:** AWAITING_INFRASTRUCTURE_ACK · attempt 2');
      expect(await historySummaries(f.handle)).toEqual(expect.arrayContaining(['build and send attempt 2 over MESH', 'infrastructure-ack deadline for attempt 2']));
      // The metadata is no command of its own: the history it was written into replays as it stands.
      await Worker.runReplayHistory({ workflowBundle: server.workflowBundle, replayName: 'metadata' }, await f.handle.fetchHistory(), workflowId);
    });
  });
});
