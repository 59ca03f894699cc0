/**
 * The walking skeleton, end to end on the real Temporal dev server and the real mesh-sandbox: a backend
 * submits through the HTTP API, the workflow builds and sends the ITK3 message over MESH, the GP
 * practice peer (NHS England's mesh-client) answers 20013 then 30001, the inbox poller routes both
 * acknowledgements, and the workflow ends DELIVERED.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { eventually, startHarness, type Harness } from '../helpers/courier-harness';
import { senderReferenceDigest } from '../../activities/correlation';

jest.setTimeout(120_000);

const example = JSON.parse(readFileSync(path.join(__dirname, '../../examples/consultation-report.json'), 'utf8')) as {
  documentId: string;
  encounter: { id: string };
  patient: { nhsNumber: string };
};

function submission(encounterId: string): typeof example {
  return { ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: encounterId } };
}

describe('walking skeleton: one Send Document message end to end', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ITK3_INF_ACK_TIMEOUT: '4s', ITK3_BUS_ACK_TIMEOUT: '60s' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('delivers a consultation report: infrastructure ack 20013, business ack 30001, DELIVERED', async () => {
    const doc = submission(`enc-${randomUUID()}`);
    const { workflowId } = await h.api.submit(doc);

    const state = await eventually(async () => {
      const s = await h.api.status(workflowId);
      return s.status === 'DELIVERED' ? s : undefined;
    }, 60_000, 'DELIVERED');

    expect(state.attempts).toHaveLength(1);
    const [attempt] = state.attempts;
    expect(attempt?.meshMessageId).toBeTruthy();
    expect(attempt?.infrastructureAck?.code).toBe('20013');
    expect(attempt?.businessAck?.code).toBe('30001');
    expect(state.timeline.map((t) => t.kind)).toEqual(expect.arrayContaining(['SUBMITTED', 'BUILT', 'SENT', 'RESPONSE']));

    // The GP practice received exactly one message, carrying the MessageHeader id the acks answered.
    const received = h.peerRecords().filter((r) => r.senderReference === doc.encounter.id);
    expect(received).toHaveLength(1);
    expect(received[0]?.messageHeaderId).toBe(attempt?.messageHeaderId);

    // The story is searchable in the Web UI, with no patient identifier among the search attributes.
    const described = await h.temporal.workflow.getHandle(workflowId).describe();
    const attrs = JSON.stringify(described.typedSearchAttributes);
    expect(described.typedSearchAttributes.get({ name: 'DeliveryStatus', type: 'KEYWORD' } as never)).toBe('DELIVERED');
    expect(attrs).toContain(attempt!.messageHeaderId);
    expect(attrs).not.toContain(doc.patient.nhsNumber);
    // The encounter id is the second correlation key for responses (SenderReference): as a keyed hash only,
    // since it is submitter free text and visibility is plain text.
    expect(described.typedSearchAttributes.get({ name: 'SenderReference', type: 'KEYWORD' } as never)).toBe(senderReferenceDigest(doc.encounter.id, h.config.env.ITK3_CORRELATION_KEY));
    expect(attrs).not.toContain(doc.encounter.id);
    const listed = [];
    for await (const wf of h.temporal.workflow.list({ query: `DeliveryStatus = 'DELIVERED' AND Itk3MessageId = '${attempt!.messageHeaderId}'` })) listed.push(wf.workflowId);
    expect(listed).toEqual([workflowId]);
  });

  it('keeps waiting, escalated and not delivered, when the practice never acknowledges', async () => {
    const encounterId = `enc-silent-${randomUUID()}`;
    h.setScenario(encounterId, []);
    const { workflowId } = await h.api.submit(submission(encounterId));

    await eventually(async () => (h.peerRecords().some((r) => r.senderReference === encounterId) ? true : undefined), 30_000, 'the peer to receive the message');
    // Past the 4 s infrastructure-ack deadline and several poll intervals later:
    const state = await eventually(async () => {
      const s = await h.api.status(workflowId);
      return s.escalated ? s : undefined;
    }, 30_000, 'escalation');
    expect(state.status).toBe('AWAITING_INFRASTRUCTURE_ACK');
    expect(state.waitingFor).toBe('INFRASTRUCTURE_ACK');
    expect(state.timeline.some((t) => t.kind === 'ESCALATION')).toBe(true);
    expect(state.attempts[0]?.infrastructureAck).toBeUndefined();
    const described = await h.temporal.workflow.getHandle(workflowId).describe();
    expect(described.status.name).toBe('RUNNING');
  });

  it('answers 400 with the specific problems for an invalid submission', async () => {
    const bad = { ...submission('enc-bad'), patient: { ...example.patient, nhsNumber: '9990000019' } };
    await expect(h.api.submit(bad)).rejects.toMatchObject({
      status: 400,
      error: 'SUBMISSION_INVALID',
      issues: expect.arrayContaining([expect.objectContaining({ path: 'patient.nhsNumber', message: expect.stringContaining('modulus 11') })]),
    });
  });
});
