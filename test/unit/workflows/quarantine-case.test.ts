/**
 * The rules of a quarantine entry, against the pure case (workflows/quarantine-case.ts): operator
 * refusals, what each way of closing records, and what the operator is told. No Temporal.
 */
import type { QuarantineInput } from '../../../contracts/inbound';
import { QuarantineCase } from '../../../workflows/quarantine-case';

const NOW = Date.parse('2026-11-25T09:00:00.000Z');
const input = (over: Partial<QuarantineInput> = {}): QuarantineInput => ({
  quarantineId: 'inbound-quarantine-X26ABC1-0123456789ABCDEF0123456789ABCDEF',
  mailboxId: 'X26ABC1',
  meshMessageId: '0123456789ABCDEF0123456789ABCDEF',
  messageType: 'DATA',
  meshWorkflowId: 'GPCONNECT_SEND_DOCUMENT_ACK',
  reason: 'UNMATCHED_RESPONSE',
  detail: 'response.identifier and SenderReference match no delivery',
  contentRef: { key: 'inbound-message/00000000-0000-4000-8000-000000000001', sha256: 'a'.repeat(64), size: 2048 },
  receivedAt: '2026-11-25T08:59:00.000Z',
  summary: { code: '20013' },
  candidates: ['send-document-a-v1'],
  rematchDelaysMs: [1000],
  ...over,
});
const reroute = (over: Record<string, unknown> = {}) => ({ update: 'rerouteQuarantine' as const, input: { actor: 'ops.jane', reason: 'belongs there', targetWorkflowId: 'send-document-b-v1', ...over } as never });
const resolve = (over: Record<string, unknown> = {}) => ({ update: 'resolveQuarantine' as const, input: { actor: 'ops.jane', reason: 'another system sent it', ...over } as never });

describe('quarantine case', () => {
  it('starts OPEN with no rematch yet, and keeps the delays out of the entry', () => {
    const q = new QuarantineCase(input());
    expect(q.entry).toMatchObject({ status: 'OPEN', rematchAttempts: 0, reason: 'UNMATCHED_RESPONSE' });
    expect(q.entry).not.toHaveProperty('rematchDelaysMs');
  });

  it('refuses operator actions without an actor or reason, or with a bad target, attempt or code', () => {
    const q = new QuarantineCase(input());
    expect(q.refusal(reroute())).toBeUndefined();
    expect(q.refusal(resolve())).toBeUndefined();
    expect(q.refusal(reroute({ actor: ' ' }))).toBe('actor is required');
    expect(q.refusal(resolve({ reason: '' }))).toBe('reason is required');
    expect(q.refusal(resolve({ actor: 'a'.repeat(201) }))).toBe('actor is longer than 200 characters');
    expect(q.refusal(reroute({ targetWorkflowId: 'bad id!' }))).toBe('targetWorkflowId is not a workflow id');
    expect(q.refusal(reroute({ attempt: 0 }))).toBe('attempt must be a positive integer');
    expect(q.refusal(reroute({ code: '40001' }))).toBe('code must be five digits starting 1, 2 or 3');
    expect(q.refusal({ update: 'rerouteQuarantine', input: undefined as never })).toBe('actor is required');
  });

  it('refuses every action while a delivery of the entry is in progress, and once it is closed', () => {
    const q = new QuarantineCase(input());
    q.busy = true;
    expect(q.refusal(resolve())).toBe('quarantine entry is being delivered right now; try again shortly');
    q.busy = false;
    q.resolved({ actor: 'ops.jane', reason: 'done' }, NOW);
    expect(q.refusal(reroute())).toBe('quarantine entry is RESOLVED, not OPEN');
  });

  it('a reroute closes it REROUTED with who, why, where and what it answers', () => {
    const q = new QuarantineCase(input());
    const { effect, result } = q.rerouted({ actor: 'ops.jane', reason: 'belongs there', targetWorkflowId: 'send-document-b-v1' }, { routed: true, targetWorkflowId: 'send-document-b-v1', signal: 'itk3Response', respondsTo: 'h1', code: '20013' }, NOW);
    expect(effect).toEqual({ status: 'REROUTED' });
    expect(result).toEqual({ quarantineId: q.entry.quarantineId, status: 'REROUTED', targetWorkflowId: 'send-document-b-v1', signal: 'itk3Response', respondsTo: 'h1', code: '20013' });
    expect(q.entry.resolution).toEqual({ actor: 'ops.jane', reason: 'belongs there', at: '2026-11-25T09:00:00.000Z', targetWorkflowId: 'send-document-b-v1', signal: 'itk3Response' });
  });

  it('a rematch that finds the delivery closes it AUTO_ROUTED; one that does not adds its candidates', () => {
    const q = new QuarantineCase(input());
    q.beginRematch();
    expect(q.entry.rematchAttempts).toBe(1);
    expect(q.refusal(resolve())).toBe('quarantine entry is being delivered right now; try again shortly');
    q.busy = false;
    expect(q.rematched({ routed: false, candidates: ['send-document-a-v1', 'send-document-c-v1'] }, NOW)).toBeUndefined();
    expect(q.entry.candidates).toEqual(['send-document-a-v1', 'send-document-c-v1']);
    expect(q.open).toBe(true);
    expect(q.rematched({ routed: true, targetWorkflowId: 'send-document-c-v1', signal: 'itk3Response' }, NOW)).toEqual({ status: 'AUTO_ROUTED' });
    expect(q.result()).toEqual({ quarantineId: q.entry.quarantineId, status: 'AUTO_ROUTED', targetWorkflowId: 'send-document-c-v1', signal: 'itk3Response' });
    expect(q.entry.resolution?.actor).toBe('inbound-router');
  });

  it('raises it once with its reason code and response code, and resolves that escalation when it closes', () => {
    const q = new QuarantineCase(input());
    expect(q.raise(NOW)).toEqual({ workflowId: q.entry.quarantineId, documentId: '', state: 'QUARANTINED', reason: 'inbound MESH message quarantined (UNMATCHED_RESPONSE): response.identifier and SenderReference match no delivery', code: '20013', kind: 'RAISED' });
    expect(q.entry.raisedAt).toBe('2026-11-25T09:00:00.000Z');
    q.rerouted({ actor: 'a', reason: 'r', targetWorkflowId: 'send-document-b-v1' }, { routed: true, targetWorkflowId: 'send-document-b-v1' }, NOW);
    expect(q.closingNotice()).toEqual({ workflowId: q.entry.quarantineId, documentId: '', state: 'REROUTED', reason: 'quarantined inbound MESH message rerouted to send-document-b-v1', kind: 'RESOLVED' });
  });

  it('says nothing on closing an entry that was never raised', () => {
    const q = new QuarantineCase(input());
    q.rematched({ routed: true, targetWorkflowId: 'send-document-c-v1' }, NOW);
    expect(q.closingNotice()).toBeUndefined();
  });

  it('raises with the MESH status code of a report when there is no response code', () => {
    const q = new QuarantineCase(input({ messageType: 'REPORT', reason: 'UNMATCHED_REPORT', summary: { statusCode: '14' } as never }));
    expect(q.raise(NOW).code).toBe('14');
  });
});
