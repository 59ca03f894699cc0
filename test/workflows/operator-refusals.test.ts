/**
 * Operator refusals: an update that is not allowed in the current state is rejected with a code from
 * the refusal catalogue (contracts/errors.ts OperatorRefusalCode) as the failure type, the catalogue's
 * message as the reason, and `details[0].code`; nothing changes in the delivery. Time-skipping server.
 */
import { ErrorType, OperatorRefusalCode, operatorRefusal } from '../../contracts/errors';
import { abandonUpdate, correctUpdate, replaceUpdate, resendUpdate } from '../../workflows/definitions';
import { contentRef, refusalOf, runFlow , useTimeSkippingServer } from './support';

jest.setTimeout(60_000);

const server = useTimeSkippingServer();

const refusedWith = (code: OperatorRefusalCode, message: string) => ({ type: code, message, details: [{ code }] });

describe('the refusal catalogue', () => {
  it('gives every refusal a stable code in the failure-type catalogue and a message that names the facts', () => {
    for (const code of Object.values(OperatorRefusalCode)) {
      expect(ErrorType[code]).toBe(code);
      expect(operatorRefusal(code).message.length).toBeGreaterThan(10);
    }
    expect(operatorRefusal('ACK_DEADLINE_NOT_PASSED', { attempt: 2, waitingUntil: '2026-01-05T13:00:00.000Z' }).message).toBe(
      'attempt 2 is still within its acknowledgement deadline (2026-01-05T13:00:00.000Z); wait, or change the deadline',
    );
    expect(operatorRefusal('OPERATOR_INPUT_INVALID', { problems: ['actor is required', 'reason is required'] }).message).toBe('actor is required; reason is required');
  });
});

describe('operator refusals', () => {
  it('refuses correct, resend and replace while waiting for acks, and after a business rejection, with the catalogue code and reason', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      const sent = await f.waitFor((s) => s.status === 'AWAITING_INFRASTRUCTURE_ACK', 'sent');
      const early = refusedWith(
        'ACK_DEADLINE_NOT_PASSED',
        `attempt 1 is still within its acknowledgement deadline (${sent.waitingUntil}); wait, or change the deadline`,
      );
      expect(await refusalOf(f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'r', submissionRef: contentRef() }] }))).toEqual(early);
      expect(await refusalOf(f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'r' }] }))).toEqual(early);
      expect(await refusalOf(f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'r', submissionRef: contentRef() }] }))).toEqual(
        refusedWith('NOT_DELIVERED', 'only a DELIVERED document can be replaced (status is AWAITING_INFRASTRUCTURE_ACK)'),
      );
      // Malformed input is its own code, with every problem listed.
      const malformed = await refusalOf(f.handle.executeUpdate(resendUpdate, { args: [{ actor: ' ', reason: '' }] }));
      expect(malformed).toEqual({
        type: 'OPERATOR_INPUT_INVALID',
        message: 'actor is required; reason is required',
        details: [{ code: 'OPERATOR_INPUT_INVALID', problems: ['actor is required', 'reason is required'] }],
      });

      await f.respond('20013', 1);
      await f.respond('30002', 1);
      await f.waitFor((s) => s.status === 'REJECTED', 'REJECTED');
      const sameRoute = refusedWith(
        'BUSINESS_REJECTION_NOT_OVERRIDDEN',
        'recipient A12345 gave a business rejection; a re-send to the same route is refused unless overrideBusinessRejection is set',
      );
      // The validator refuses the resend; the correction is refused after its content check names the same route.
      expect(await refusalOf(f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'try again' }] }))).toEqual(sameRoute);
      expect(await refusalOf(f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'r', submissionRef: contentRef() }] }))).toEqual(sameRoute);
      const s = await f.state();
      expect(s.attempts).toHaveLength(1);
      expect(s.status).toBe('REJECTED');
    });
  });

  it('refuses correct, resend and abandon of a delivered document, and a second replacement, with the catalogue code and reason', async () => {
    await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('30001', 1);
      await f.waitFor((s) => s.status === 'DELIVERED', 'DELIVERED');
      const delivered = refusedWith('ALREADY_DELIVERED', 'the document was delivered: send a replacement instead (replace)');
      expect(await refusalOf(f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'r' }] }))).toEqual(delivered);
      expect(await refusalOf(f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'r', submissionRef: contentRef() }] }))).toEqual(delivered);
      expect(await refusalOf(f.handle.executeUpdate(abandonUpdate, { args: [{ actor: 'ops.jones', reason: 'r' }] }))).toEqual(
        refusedWith('DELIVERED_CANNOT_BE_ABANDONED', 'the document was delivered and cannot be abandoned'),
      );
      const first = await f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'wrong clinician', submissionRef: contentRef() }] });
      expect(await refusalOf(f.handle.executeUpdate(replaceUpdate, { args: [{ actor: 'dr.patel', reason: 'again', submissionRef: contentRef() }] }))).toEqual(
        refusedWith('REPLACEMENT_UNDER_WAY', `a replacement is already under way (${first.replacementWorkflowId})`),
      );
      expect((await f.state()).attempts).toHaveLength(1);
    });
  });
});
