/**
 * Operator actions as validated updates: abandon, replace (a child delivery, version + 1), change
 * deadlines. Every accepted action records who and why; a refused one says why and changes nothing.
 */
import { deliveryWorkflowId } from '../../contracts/ids';
import { SenderReferenceKey } from '../../contracts/search-attributes';
import { senderReferenceDigest } from '../../activities/correlation';
import { abandonUpdate, changeDeadlinesUpdate, replaceUpdate, stateQuery } from '../../workflows/definitions';
import type { sendDocumentWorkflow } from '../../workflows/send-document';
import { contentRef, escalationKinds, flowFor, kinds, refusalOf, runFlow , useTimeSkippingServer } from './support';

jest.setTimeout(60_000);

const HOUR = 3_600_000;
const server = useTimeSkippingServer();

describe('abandon', () => {
  it('abandons with a reason, resolves the open escalation and returns ABANDONED', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20006', 1);
      await f.waitFor((x) => x.status === 'AWAITING_CORRECTION', 'AWAITING_CORRECTION');
      const answer = await f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: 'sent by post instead' }] });
      expect(answer).toMatchObject({ action: 'abandon', status: 'ABANDONED', waitingFor: 'NOTHING' });
      expect(await f.handle.result()).toEqual({ status: 'ABANDONED', attempts: 1, finalCode: '20006' });
      const s = await f.state();
      expect(s.escalated).toBe(false);
      expect(s.escalations[0]!.resolution).toBe('abandoned by ops.jones: sent by post instead');
      expect(s.timeline.find((t) => t.kind === 'OPERATOR')).toMatchObject({ detail: 'abandoned', actor: 'ops.jones', reason: 'sent by post instead' });
      expect(kinds(s).slice(-4)).toEqual(['OPERATOR', 'RESOLVED', 'STATE', 'STATE']);
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_CORRECTION:20006', 'RESOLVED:AWAITING_CORRECTION:20006']);
  });

  it('refuses to abandon a delivered document, and refuses an action without a reason', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      const noReason = await refusalOf(f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: '  ' }] }));
      expect(noReason.message).toMatch(/reason is required/);
      await f.respond('30001', 1);
      await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      const refused = await refusalOf(f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: 'oops' }] }));
      expect(refused.message).toBe('the document was delivered and cannot be abandoned');
      expect((await f.state()).status).toBe('DELIVERED');
    });
  });
});

describe('replace', () => {
  it('replaces a delivered document with version + 1 as a child delivery, and closes once the replacement is delivered', async () => {
    const replacementRef = contentRef('submission/replacement');
    // As the API sets it: the keyed hash of the encounter id, never the text.
    const keyedRef = senderReferenceDigest('enc-2026-000042', 'operator-actions-test-correlation-key');
    const recorded = await runFlow(server.env, server.workflowBundle, { senderReference: keyedRef }, async (f) => {
      await f.respond('30001', 1);
      await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      const answer = await f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'medication list corrected', submissionRef: replacementRef }] });
      const childId = deliveryWorkflowId(f.input.documentId, 2);
      expect(answer).toMatchObject({ action: 'replace', status: 'DELIVERED', waitingFor: 'REPLACEMENT_OUTCOME', replacementWorkflowId: childId, replacementVersion: 2 });

      const child = flowFor(server.env.client.workflow.getHandle<typeof sendDocumentWorkflow>(childId), { ...f.input, version: 2 }, f.recorded, f.taskQueue);
      const c = await child.waitFor((x) => !!x.attempts[0]?.sentAt, 'replacement sent');
      // The replacement stays findable by the (keyed) SenderReference the original was started with.
      expect((await child.handle.describe()).typedSearchAttributes.get(SenderReferenceKey)).toBe(keyedRef);
      expect(c).toMatchObject({ version: 2, replaces: { documentId: f.input.documentId, version: 1, workflowId: f.handle.workflowId }, submissionRef: replacementRef });

      // A second replacement of the same version is refused while one is under way.
      const again = await refusalOf(f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'again', submissionRef: replacementRef }] }));
      expect(again.message).toContain('a replacement is already under way');

      await child.respond('20013', 1);
      await child.respond('30001', 1);
      expect(await f.handle.result()).toEqual({ status: 'DELIVERED', attempts: 1, finalCode: '30001', replacedBy: childId });
      const s = await f.handle.query(stateQuery);
      expect(s.replacement).toMatchObject({ workflowId: childId, version: 2, requestedBy: 'dr.patel', status: 'DELIVERED' });
      expect(s.timeline.find((t) => t.kind === 'OPERATOR')).toMatchObject({ actor: 'dr.patel', reason: 'medication list corrected' });
      expect((await child.state()).status).toBe('DELIVERED'); // the child outlives its parent (ParentClosePolicy ABANDON)
    });
    expect(recorded.checks).toEqual([expect.objectContaining({ purpose: 'REPLACEMENT', version: 1, submissionRef: replacementRef })]);
    expect(recorded.escalations).toEqual([]);
  });

  it('voids the original and the replacement when the receiver answers the replacement with 20014', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('30001', 1);
      await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      const { replacementWorkflowId } = await f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'wrong clinician', submissionRef: contentRef() }] });
      const child = flowFor(server.env.client.workflow.getHandle<typeof sendDocumentWorkflow>(replacementWorkflowId!), { ...f.input, version: 2 }, f.recorded, f.taskQueue);
      await child.respond('20014', 1);
      expect(await child.handle.result()).toEqual({ status: 'VOIDED', attempts: 1, finalCode: '20014' });
      expect(await f.handle.result()).toEqual({ status: 'VOIDED', attempts: 1, finalCode: '20014', replacedBy: replacementWorkflowId });
      const s = await f.state();
      expect(s.replacement!.status).toBe('VOIDED');
      expect(s.timeline.filter((t) => t.kind === 'STATE').map((t) => t.detail).at(-2)).toContain('DELIVERED -> VOIDED (REPLACEMENT_VOIDED)');
      const c = await child.state();
      expect(c.escalations[0]!.reason).toContain('version 2 and the version it replaces (1) are marked void');
    });
    // One escalation for the case (from the replacement), not one per workflow.
    expect(escalationKinds(recorded)).toEqual(['RAISED:VOIDED:20014']);
  });

  it('refuses a replacement before delivery and a replacement whose stored content is not version + 1', async () => {
    await runFlow(
      server.env,
      server.workflowBundle,
      { check: () => ({ valid: false, issues: [{ path: 'version', message: 'a replacement must be version 2', requirementId: 'GPCM-SD-098' }] }) },
      async (f) => {
        await f.sentAttempt(1);
        const early = await refusalOf(f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'r', submissionRef: contentRef() }] }));
        expect(early.message).toBe('only a DELIVERED document can be replaced (status is AWAITING_INFRASTRUCTURE_ACK)');
        await f.respond('30001', 1);
        await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
        const invalid = await refusalOf(f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'r', submissionRef: contentRef() }] }));
        expect(invalid).toMatchObject({ type: 'SUBMISSION_REF_INVALID', message: expect.stringContaining('version') });
        expect((await f.state()).replacement).toBeUndefined();
      },
    );
  });
});

describe('changeDeadlines', () => {
  it('moves the acknowledgement deadline (still measured from the MESH send time) and escalates at once if it has passed', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      const sent = await f.waitFor((x) => x.status === 'AWAITING_INFRASTRUCTURE_ACK', 'sent');
      const sentAt = Date.parse(sent.attempts[0]!.sentAt!);
      const longer = await f.handle.executeUpdate(changeDeadlinesUpdate, {
        args: [{ actor: 'ops.jones', reason: 'practice closed for training', deadlines: { infrastructureAckMs: 8 * HOUR } }],
      });
      expect(Date.parse(longer.waitingUntil!)).toBe(sentAt + 8 * HOUR);
      await server.env.sleep(5 * HOUR);
      expect((await f.state()).escalated).toBe(false); // the old 4 h deadline no longer applies

      await f.handle.executeUpdate(changeDeadlinesUpdate, { args: [{ actor: 'ops.jones', reason: 'urgent after all', deadlines: { infrastructureAckMs: 2 * HOUR } }] });
      const s = await f.waitFor((x) => x.escalated, 'escalation');
      expect(s.deadlines.infrastructureAckMs).toBe(2 * HOUR);
      expect(s.escalations[0]).toMatchObject({ key: 'NO_INFRASTRUCTURE_ACK:1' });
      expect(s.timeline.filter((t) => t.kind === 'OPERATOR').map((t) => t.reason)).toEqual(['practice closed for training', 'urgent after all']);

      const bad = await refusalOf(f.handle.executeUpdate(changeDeadlinesUpdate, { args: [{ actor: 'ops.jones', reason: 'r', deadlines: { businessAckMs: -5 } }] }));
      expect(bad.message).toBe('deadlines.businessAckMs must be an integer number of milliseconds >= 1');
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_INFRASTRUCTURE_ACK']);
  });
});
