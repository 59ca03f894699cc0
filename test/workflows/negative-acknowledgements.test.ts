/**
 * Negative ITK3 Responses and MESH failures: each class of code takes its own branch, escalates once with the code, and waits for the operator action that fits it.
 */
import { correctUpdate, meshReportSignal, resendUpdate, waitingQuery } from '../../workflows/definitions';
import { TWO_ACTIVITIES, contentRef, escalationKinds, kinds, meshReport, refusalOf, runFlow , useTimeSkippingServer } from './support';

jest.setTimeout(60_000);

const server = useTimeSkippingServer();

describe('negative infrastructure acknowledgements', () => {
  // Both send paths: each attempt built and sent in one activity (as the API starts deliveries), or in two
  // (deliveries started before that path, whose histories must keep working).
  it.each([
    ['in one activity', {}],
    ['in two activities', TWO_ACTIVITIES],
  ])('waits for a correction after a sender defect (20009), sends it as a new message, and delivers (sent %s)', async (_path, input) => {
    const corrected = contentRef('submission/corrected');
    const recorded = await runFlow(server.env, server.workflowBundle, { input }, async (f) => {
      await f.respond('20009', 1);
      const s = await f.waitFor((x) => x.status === 'AWAITING_CORRECTION', 'AWAITING_CORRECTION');
      expect(s.waitingFor).toBe('CORRECTION');
      expect(s.escalations).toEqual([expect.objectContaining({ key: 'CORRECTION:1', code: '20009', status: 'AWAITING_CORRECTION' })]);
      expect(s.escalations[0]!.reason).toContain('sender defect (20009');
      expect(await f.handle.query(waitingQuery)).toMatchObject({ waitingFor: 'CORRECTION', escalated: true });

      const answer = await f.handle.executeUpdate(correctUpdate, {
        args: [{ actor: 'ops.jones', reason: 'fixed the missing author telephone', submissionRef: corrected }],
      });
      expect(answer).toMatchObject({ action: 'correct', status: 'SENDING', attempt: 2 });
      await f.sentAttempt(2);
      await f.respond('20013', 2);
      await f.respond('30001', 2);
      const done = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      expect(done.attempts.map((a) => a.reason)).toEqual(['INITIAL', 'CORRECTION']);
      expect(done.attempts[1]).toMatchObject({ requestedBy: 'ops.jones', submissionRef: corrected });
      expect(done.attempts[0]!.messageHeaderId).not.toBe(done.attempts[1]!.messageHeaderId);
      expect(done.attempts[0]!.bundleIdentifier).not.toBe(done.attempts[1]!.bundleIdentifier);
      expect(done.submissionRef).toEqual(corrected);
      expect(done.escalated).toBe(false);
      const operator = done.timeline.find((t) => t.kind === 'OPERATOR')!;
      expect(operator).toMatchObject({ actor: 'ops.jones', reason: 'fixed the missing author telephone', attempt: 2 });
      expect(kinds(done)).toEqual([
        'SUBMITTED',
        'BUILT',
        'SENT',
        'STATE',
        'RESPONSE',
        'STATE',
        'ESCALATION',
        'OPERATOR',
        'RESOLVED',
        'STATE',
        'BUILT',
        'SENT',
        'STATE',
        'RESPONSE',
        'STATE',
        'RESPONSE',
        'STATE',
      ]);
    });
    expect(recorded.checks).toEqual([expect.objectContaining({ purpose: 'CORRECTION', submissionRef: corrected, version: 1 })]);
    expect(recorded.built.map((b) => b.submissionRef.key)).toEqual([expect.stringMatching(/^submission\//), 'submission/corrected']);
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_CORRECTION:20009', 'RESOLVED:AWAITING_CORRECTION:20009']);
  });

  it('rejects a correction in the validator when no correction is awaited, or when the reference is malformed', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      const early = await refusalOf(f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'r', submissionRef: contentRef() }] }));
      expect(early.message).toMatch(/still within its acknowledgement deadline/);

      await f.respond('20006', 1);
      await f.waitFor((x) => x.status === 'AWAITING_CORRECTION', 'AWAITING_CORRECTION');
      const malformed = await refusalOf(
        f.handle.executeUpdate(correctUpdate, { args: [{ actor: '', reason: 'r', submissionRef: { key: 'k', sha256: 'nothex', size: -1 } }] }),
      );
      expect(malformed.message).toBe('actor is required; submissionRef.sha256 must be 64 lower-case hex digits; submissionRef.size must be a non-negative integer');
      const s = await f.state();
      expect(s.status).toBe('AWAITING_CORRECTION');
      expect(s.attempts).toHaveLength(1);
      expect(s.timeline.some((t) => t.kind === 'OPERATOR')).toBe(false); // a refused update leaves no trace
    });
    expect(recorded.checks).toEqual([]);
  });

  it('refuses a correction whose stored content fails validation, and changes nothing but the timeline', async () => {
    const recorded = await runFlow(
      server.env,
      server.workflowBundle,
      { check: () => ({ valid: false, issues: [{ path: 'patient.nhsNumber', message: 'NHS number fails the modulus 11 check' }] }) },
      async (f) => {
        await f.respond('20009', 1);
        await f.waitFor((x) => x.status === 'AWAITING_CORRECTION', 'AWAITING_CORRECTION');
        const refused = await refusalOf(f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'try again', submissionRef: contentRef() }] }));
        expect(refused.type).toBe('SUBMISSION_REF_INVALID');
        expect(refused.message).toContain('patient.nhsNumber');
        expect(refused.details).toEqual([[{ path: 'patient.nhsNumber', message: 'NHS number fails the modulus 11 check' }]]);
        const s = await f.state();
        expect(s.status).toBe('AWAITING_CORRECTION');
        expect(s.attempts).toHaveLength(1);
        expect(s.timeline.at(-1)).toMatchObject({ kind: 'OPERATOR', actor: 'ops.jones', detail: expect.stringContaining('correction refused: patient.nhsNumber') });
      },
    );
    expect(recorded.sent).toHaveLength(1);
  });

  it('states the size problem when the message is too large (20015)', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, { sizeBytes: 7_340_032 }, async (f) => {
      await f.respond('20015', 1);
      const s = await f.waitFor((x) => x.status === 'AWAITING_CORRECTION', 'AWAITING_CORRECTION');
      expect(s.escalations[0]!.reason).toContain('message too large (20015): attempt 1 was 7340032 bytes');
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_CORRECTION:20015']);
  });

  it('records a duplicate (20007), does not re-send, and escalates for a check', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20007', 1);
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'AWAITING_OPERATOR');
      expect(s.waitingFor).toBe('OPERATOR');
      expect(s.outcomeCode).toBe('20007');
      expect(s.escalations[0]).toMatchObject({ key: 'DUPLICATE:1', code: '20007' });
      expect(s.escalations[0]!.reason).toContain('no re-send made');
      // 3.5 days: reminders fall due at 24, 48 and 72 h; the half day keeps the third clear of the
      // end of the sleep (at exactly 72 h it raced the sleep under load).
      await server.env.sleep(3.5 * 24 * 3_600_000);
      expect((await f.state()).attempts).toHaveLength(1);
    });
    expect(recorded.sent).toHaveLength(1);
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_OPERATOR:20007', 'REMINDER:AWAITING_OPERATOR:20007', 'REMINDER:AWAITING_OPERATOR:20007', 'REMINDER:AWAITING_OPERATOR:20007']);
  });

  it('escalates a routing or recipient problem (20002) and waits for an operator', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20002', 1);
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'AWAITING_OPERATOR');
      expect(s.escalations[0]).toMatchObject({ key: 'ROUTING:1', code: '20002' });
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_OPERATOR:20002']);
  });

  it('marks the delivery void on 20014 and ends VOIDED, escalating once', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20014', 1);
      expect(await f.handle.result()).toEqual({ status: 'VOIDED', attempts: 1, finalCode: '20014' });
      const s = await f.state();
      expect(s.status).toBe('VOIDED');
      expect(s.escalations[0]).toMatchObject({ key: 'VOIDED:1', code: '20014', status: 'VOIDED' });
      expect(kinds(s).slice(-3)).toEqual(['STATE', 'ESCALATION', 'STATE']);
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:VOIDED:20014']);
  });
});

describe('negative business acknowledgements', () => {
  it('refuses a re-send to the same route after a business rejection unless an operator overrides', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('20013', 1);
      await f.respond('30002', 1);
      const s = await f.waitFor((x) => x.status === 'REJECTED', 'REJECTED');
      expect(s.rejectedRoutes).toEqual(['A12345']);
      expect(s.waitingFor).toBe('OPERATOR');
      expect(s.escalations[0]).toMatchObject({ key: 'BUSINESS_REJECTION:1', code: '30002', status: 'REJECTED' });

      const refused = await refusalOf(f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'try again' }] }));
      expect(refused.message).toMatch(/recipient A12345 gave a business rejection; a re-send to the same route is refused unless overrideBusinessRejection is set/);
      // A correction to the same recipient is refused too (the check finds the same ODS code).
      const sameRoute = await refusalOf(f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'r', submissionRef: contentRef() }] }));
      expect(sameRoute.type).toBe('BUSINESS_REJECTION_NOT_OVERRIDDEN');
      expect((await f.state()).attempts).toHaveLength(1);

      const answer = await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'practice confirmed registration today', overrideBusinessRejection: true }] });
      expect(answer.attempt).toBe(2);
      await f.respond('30001', 2);
      const done = await f.waitFor((x) => x.status === 'DELIVERED', 'DELIVERED');
      expect(done.timeline.find((t) => t.kind === 'OPERATOR' && t.detail.includes('overridden'))).toMatchObject({ actor: 'ops.jones', reason: 'practice confirmed registration today' });
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:REJECTED:30002', 'RESOLVED:REJECTED:30002']);
    expect(recorded.sent).toHaveLength(2);
  });

  it('accepts a correction to a different recipient after a business rejection', async () => {
    await runFlow(server.env, server.workflowBundle, { check: (i) => ({ valid: true, issues: [], senderOds: 'X26', recipientOds: 'B86022', version: i.version }) }, async (f) => {
      await f.respond('30003', 1);
      await f.waitFor((x) => x.status === 'REJECTED', 'REJECTED');
      await f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'PDS shows a new practice', submissionRef: contentRef() }] });
      const s = await f.waitFor((x) => x.attempts[1]?.sentAt !== undefined, 'attempt 2 sent');
      expect(s.recipientOds).toBe('B86022');
      expect(s.attempts[1]!.recipientOds).toBe('B86022');
    });
  });

  it('ends REJECTED when no operator decides within the decision window', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.respond('30002', 1);
      expect(await f.handle.result()).toEqual({ status: 'REJECTED', attempts: 1, finalCode: '30002' });
    });
    // Raised, then a daily reminder until the seventh day, when the decision window ends.
    expect(escalationKinds(recorded)).toEqual(['RAISED:REJECTED:30002', ...Array(6).fill('REMINDER:REJECTED:30002')]);
  });
});

describe('MESH failures', () => {
  it('escalates a MESH non-delivery report for the current attempt with the MESH code', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      const mesh = (await f.state()).attempts[0]!.meshMessageId!;
      const report = meshReport(mesh, 'NON_DELIVERY', '14');
      await f.handle.signal(meshReportSignal, report);
      await f.handle.signal(meshReportSignal, report); // redelivered: no change
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'AWAITING_OPERATOR');
      expect(s.escalations[0]).toMatchObject({ key: 'MESH_NON_DELIVERY:1', code: '14' });
      expect(s.attempts[0]!.meshReports).toEqual([expect.objectContaining({ kind: 'NON_DELIVERY', statusCode: '14' })]);
      expect(s.timeline.filter((t) => t.kind === 'MESH_REPORT')).toHaveLength(1);
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_OPERATOR:14']);
  });

  it('escalates a MESH routing error (EPL-151) and then lets an operator correct and re-send', async () => {
    const recorded = await runFlow(server.env, server.workflowBundle, {}, async (f) => {
      await f.sentAttempt(1);
      const mesh = (await f.state()).attempts[0]!.meshMessageId!;
      await f.handle.signal(meshReportSignal, meshReport(mesh, 'ROUTING_ERROR', 'EPL-151'));
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'AWAITING_OPERATOR');
      expect(s.escalations[0]!.reason).toContain('MESH routing failed for attempt 1 (EPL-151)');
      await f.handle.executeUpdate(correctUpdate, { args: [{ actor: 'ops.jones', reason: 'surname spelling fixed', submissionRef: contentRef() }] });
      await f.sentAttempt(2);
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_OPERATOR:EPL-151', 'RESOLVED:AWAITING_OPERATOR:EPL-151']);
  });

  it.each([
    ['in one activity', {}],
    ['in two activities', TWO_ACTIVITIES],
  ])('escalates when MESH refuses the send for good, with the failure type (sent %s)', async (_path, input) => {
    const recorded = await runFlow(server.env, server.workflowBundle, { input, failSend: { attempts: [1], type: 'MESH_SEND_REJECTED' } }, async (f) => {
      const s = await f.waitFor((x) => x.status === 'AWAITING_OPERATOR', 'AWAITING_OPERATOR');
      expect(s.attempts[0]!.sentAt).toBeUndefined();
      expect(s.escalations[0]).toMatchObject({ key: 'SEND_FAILED:1', code: 'MESH_SEND_REJECTED' });
      await f.handle.executeUpdate(resendUpdate, { args: [{ actor: 'ops.jones', reason: 'mailbox permissions fixed' }] });
      await f.sentAttempt(2);
    });
    expect(escalationKinds(recorded)).toEqual(['RAISED:AWAITING_OPERATOR:MESH_SEND_REJECTED', 'RESOLVED:AWAITING_OPERATOR:MESH_SEND_REJECTED']);
  });
});
