/**
 * The inbound router (activities/inbound.ts) against fake MESH and Temporal ports: every message ends in
 * exactly one place, the workflow or the quarantine, and is acknowledged on MESH only after that.
 */
import { randomUUID } from 'node:crypto';
import { routeInboxMessage, type RouterDeps } from '../../../activities/inbound';
import type { StoredInboundMessage } from '../../../contracts/inbound';
import { MeshError } from '../../../mesh';
import { ACK_WORKFLOW, MAILBOX_CHECKS, keyed, FakeMesh, FakeTemporal, dataMessage, reportMessage, responseXml, silentLogger, tempStore, type Event } from './fakes';

function setup(rematchDelaysMs: number[] = [1000]) {
  const events: Event[] = [];
  const mesh = new FakeMesh('X26ABC1', events);
  const temporal = new FakeTemporal(events);
  const store = tempStore();
  const deps: RouterDeps = { temporal, store, logger: silentLogger, now: () => new Date('2026-01-01T10:00:00Z'), rematchDelaysMs, checks: MAILBOX_CHECKS };
  return { events, mesh, temporal, store, deps };
}

function waiting(temporal: FakeTemporal, opts: { senderReference?: string; running?: boolean } = {}) {
  const messageHeaderId = randomUUID();
  const meshMessageId = randomUUID().replace(/-/g, '');
  const wf = temporal.add({
    workflowId: `send-document-${randomUUID()}-v1`,
    running: opts.running ?? true,
    attrs: { Itk3MessageIds: [messageHeaderId], MeshMessageId: [meshMessageId], ...(opts.senderReference ? { SenderReference: [keyed(opts.senderReference)] } : {}) },
    currentMessageHeaderId: messageHeaderId,
  });
  return { wf, messageHeaderId, meshMessageId };
}

describe('inbound router: responses', () => {
  it('routes an ITK3 response by response.identifier and acknowledges only after the signal', async () => {
    const { mesh, temporal, deps, events } = setup();
    const { wf, messageHeaderId } = waiting(temporal);
    const id = mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: messageHeaderId })));

    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('routed');

    expect(events).toEqual([`download ${id}`, `signal ${wf.workflowId} 20013`, `ack ${id}`]);
    const [signalled] = temporal.responses;
    expect(signalled?.response).toMatchObject({ respondsTo: messageHeaderId, code: '20013', level: 'infrastructure', polarity: 'positive', meshMessageId: id, correlatedBy: 'RESPONSE_IDENTIFIER' });
    expect(temporal.quarantines.size).toBe(0);
  });

  it.each([
    ['10001', 'infrastructure', 'FIX_AND_RESEND'],
    ['10009', 'infrastructure', 'INVESTIGATE_UNREADABLE'],
    ['20001', 'infrastructure', 'ESCALATE_ROUTING'],
    ['20007', 'infrastructure', 'TREAT_AS_DUPLICATE'],
    ['20009', 'infrastructure', 'FIX_AND_RESEND'],
    ['20014', 'infrastructure', 'VOID_ORIGINAL_AND_REPLACEMENT'],
    ['20015', 'infrastructure', 'SHRINK_PAYLOAD'],
    ['30002', 'business', 'ESCALATE_BUSINESS_REJECTION'],
    ['30003', 'business', 'ESCALATE_BUSINESS_REJECTION'],
  ])('routes negative code %s to its workflow, classified (%s, %s)', async (code, level, action) => {
    const { mesh, temporal, deps } = setup();
    const { messageHeaderId } = waiting(temporal);
    const id = mesh.add(dataMessage(responseXml({ code, respondsTo: messageHeaderId })));
    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('routed');
    expect(temporal.responses[0]?.response).toMatchObject({ code, level, polarity: 'negative', action });
    expect(mesh.acked).toEqual([id]);
  });

  it('routes an unknown but classifiable code (by prefix) and says it was unknown', async () => {
    const { mesh, temporal, deps } = setup();
    const { messageHeaderId } = waiting(temporal);
    const xml = responseXml({ code: '30001', respondsTo: messageHeaderId }).replace('value="30001"', 'value="39999"');
    const id = mesh.add(dataMessage(xml));
    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('routed');
    expect(temporal.responses[0]?.response).toMatchObject({ code: '39999', level: 'business', polarity: 'positive', knownCode: false });
  });

  it('falls back to the echoed SenderReference and routes to the current attempt, keeping the original identifier', async () => {
    const { mesh, temporal, deps } = setup();
    const { wf, messageHeaderId } = waiting(temporal, { senderReference: 'enc-42' });
    const wrongId = randomUUID();
    const id = mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: wrongId, senderReference: 'enc-42' })));

    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('routed');

    expect(temporal.responses[0]).toMatchObject({
      workflowId: wf.workflowId,
      response: { respondsTo: messageHeaderId, originalRespondsTo: wrongId, correlatedBy: 'SENDER_REFERENCE', senderReference: 'enc-42' },
    });
  });

  it('does not use SenderReference to pick between several running deliveries: quarantines as ambiguous', async () => {
    const { mesh, temporal, deps } = setup();
    const a = waiting(temporal, { senderReference: 'enc-7' });
    const b = waiting(temporal, { senderReference: 'enc-7' });
    const id = mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: randomUUID(), senderReference: 'enc-7' })));
    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('quarantined');
    const q = [...temporal.quarantines.values()][0]!;
    expect(q.input.reason).toBe('AMBIGUOUS_RESPONSE');
    expect(q.input.candidates.sort()).toEqual([a.wf.workflowId, b.wf.workflowId].sort());
    expect(temporal.responses).toHaveLength(0);
  });

  it('prefers the running run when an identifier matches a closed and a running delivery', async () => {
    const { mesh, temporal, deps } = setup();
    const headerId = randomUUID();
    temporal.add({ workflowId: 'old', running: false, attrs: { Itk3MessageIds: [headerId] } });
    temporal.add({ workflowId: 'new', running: true, attrs: { Itk3MessageIds: [headerId] } });
    const id = mesh.add(dataMessage(responseXml({ code: '30001', respondsTo: headerId })));
    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('routed');
    expect(temporal.responses[0]?.workflowId).toBe('new');
  });
});

describe('inbound router: quarantine, never drop', () => {
  async function quarantinedOne(build: (t: FakeTemporal) => ReturnType<typeof dataMessage>, rematch: number[] = [1000]) {
    const s = setup(rematch);
    const msg = build(s.temporal);
    const id = s.mesh.add(msg);
    await expect(routeInboxMessage(s.deps, s.mesh, id)).resolves.toBe('quarantined');
    expect(s.events.indexOf(`ack ${id}`)).toBeGreaterThan(s.events.findIndex((e) => e.startsWith(`quarantine ${id}`)));
    expect(s.mesh.acked).toEqual([id]);
    expect(s.temporal.quarantines.size).toBe(1);
    const q = [...s.temporal.quarantines.values()][0]!;
    const stored = JSON.parse((await s.store.get(q.input.contentRef)).toString('utf8')) as StoredInboundMessage;
    expect(Buffer.from(stored.bodyBase64, 'base64').equals(msg.body)).toBe(true);
    expect(stored.headers).toEqual(msg.headers);
    expect(q.input.quarantineId).toBe(`inbound-quarantine-X26ABC1-${id}`);
    return { ...s, q, id };
  }

  it('keeps malformed XML, content encrypted in the store', async () => {
    const { q } = await quarantinedOne(() => dataMessage('<Bundle xmlns="http://hl7.org/fhir"><type value="message"/><entry>'));
    expect(q.input).toMatchObject({ reason: 'MALFORMED', messageType: 'DATA', meshWorkflowId: ACK_WORKFLOW, rematchDelaysMs: [] });
    expect(q.input.detail).toContain('ITK3_RESPONSE_INVALID');
  });

  it('keeps a response whose code cannot be classified', async () => {
    const { q } = await quarantinedOne(() => dataMessage(responseXml({ code: '20013', respondsTo: randomUUID() }).replace('value="20013"', 'value="40001"')));
    expect(q.input.reason).toBe('UNCLASSIFIABLE_CODE');
  });

  it('keeps UNREADABLE-IN-ORIGINAL-MESSAGE, naming the delivery its SenderReference points at as a candidate only', async () => {
    const { q, temporal } = await quarantinedOne((t) => {
      waiting(t, { senderReference: 'enc-9' });
      return dataMessage(responseXml({ code: '10009', respondsTo: 'UNREADABLE-IN-ORIGINAL-MESSAGE', senderReference: 'enc-9' }));
    });
    expect(q.input.reason).toBe('UNREADABLE_IN_ORIGINAL_MESSAGE');
    expect(q.input.candidates).toHaveLength(1);
    expect(q.input.summary).toMatchObject({ code: '10009', respondsTo: 'UNREADABLE-IN-ORIGINAL-MESSAGE' });
    expect(temporal.responses).toHaveLength(0);
  });

  it('keeps a response that matches no delivery, with rematch delays for visibility lag', async () => {
    const { q } = await quarantinedOne(() => dataMessage(responseXml({ code: '30001', respondsTo: randomUUID(), senderReference: 'enc-nobody' })), [5000, 60000]);
    expect(q.input).toMatchObject({ reason: 'UNMATCHED_RESPONSE', rematchDelaysMs: [5000, 60000] });
    expect(q.memo).toMatchObject({ reason: 'UNMATCHED_RESPONSE', code: '30001', mailboxId: 'X26ABC1' });
  });

  it('keeps a DATA message on an unexpected MESH workflow id without reading it as a response', async () => {
    const { q } = await quarantinedOne(() => dataMessage('anything at all', 'GPFED_CONSULT_REPORT'));
    expect(q.input).toMatchObject({ reason: 'UNEXPECTED_WORKFLOW_ID', meshWorkflowId: 'GPFED_CONSULT_REPORT' });
  });

  it('keeps a report whose linked message is unknown, and one without a linked id', async () => {
    const a = await quarantinedOne(() => reportMessage('UNKNOWN1'));
    expect(a.q.input).toMatchObject({ reason: 'UNMATCHED_REPORT', messageType: 'REPORT', summary: { linkedMessageId: 'UNKNOWN1', reportKind: 'NON_DELIVERY', statusCode: '14' } });
    const b = await quarantinedOne(() => reportMessage(undefined, 'EPL-153'));
    expect(b.q.input).toMatchObject({ reason: 'UNMATCHED_REPORT', summary: { reportKind: 'ROUTING_ERROR' } });
  });

  it('a redelivered quarantined message finds its entry (one entry per MESH message)', async () => {
    const { mesh, temporal, deps } = setup();
    const msg = dataMessage('<not-xml');
    const id = mesh.add(msg);
    await routeInboxMessage(deps, mesh, id);
    await routeInboxMessage(deps, mesh, id);
    expect(temporal.quarantines.size).toBe(1);
    expect(mesh.acked).toEqual([id, id]);
  });
});

describe('inbound router: reports', () => {
  it.each([
    ['14', 'NON_DELIVERY'],
    ['EPL-151', 'ROUTING_ERROR'],
    ['99', 'OTHER'],
  ])('routes a MESH report (%s) to the delivery that sent the linked message', async (code, kind) => {
    const { mesh, temporal, deps, events } = setup();
    const { wf, meshMessageId } = waiting(temporal);
    const id = mesh.add(reportMessage(meshMessageId, code));
    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('report');
    expect(temporal.reports[0]).toMatchObject({ workflowId: wf.workflowId, report: { meshMessageId, reportMessageId: id, kind, statusCode: code } });
    expect(events.slice(-2)).toEqual([`report ${wf.workflowId} ${kind}`, `ack ${id}`]);
  });
});

describe('inbound router: closed deliveries and redelivery', () => {
  it('acknowledges a redelivered response a closed delivery had already recorded, without quarantining it', async () => {
    const { mesh, temporal, deps } = setup();
    const { wf, messageHeaderId } = waiting(temporal, { running: false });
    const bundleId = randomUUID();
    wf.state = { currentAttempt: 1, attempts: [{ attempt: 1, messageHeaderId, businessAck: { responseId: bundleId } }] };
    const id = mesh.add(dataMessage(responseXml({ code: '30001', respondsTo: messageHeaderId, bundleId })));
    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('duplicate');
    expect(mesh.acked).toEqual([id]);
    expect(temporal.quarantines.size).toBe(0);
  });

  it('quarantines a new response for a closed delivery as WORKFLOW_CLOSED', async () => {
    const { mesh, temporal, deps } = setup();
    const { wf, messageHeaderId } = waiting(temporal, { running: false });
    wf.state = { currentAttempt: 1, attempts: [{ attempt: 1, messageHeaderId }] };
    const id = mesh.add(dataMessage(responseXml({ code: '30001', respondsTo: messageHeaderId })));
    await expect(routeInboxMessage(deps, mesh, id)).resolves.toBe('quarantined');
    const q = [...temporal.quarantines.values()][0]!;
    expect(q.input).toMatchObject({ reason: 'WORKFLOW_CLOSED', candidates: [wf.workflowId], summary: { code: '30001', respondsTo: messageHeaderId } });
  });
});

describe('inbound router: never acknowledge blindly', () => {
  it.each([
    ['404', new MeshError('MESH_NOT_FOUND', 'MESH downloadMessage failed: 404', { operation: 'downloadMessage', retryable: false, httpStatus: 404 })],
    ['410', new MeshError('MESH_GONE', 'MESH downloadMessage failed: 410', { operation: 'downloadMessage', retryable: false, httpStatus: 410 })],
    ['a failed chunk', new MeshError('MESH_NETWORK_ERROR', 'MESH downloadMessage failed while reading the body', { operation: 'downloadMessage', retryable: true })],
  ])('leaves a message it cannot download (%s) in the inbox, unrouted and unquarantined', async (_what, err) => {
    const { mesh, temporal, deps } = setup();
    const id = mesh.add(err);
    await expect(routeInboxMessage(deps, mesh, id)).rejects.toBe(err);
    expect(mesh.acked).toEqual([]);
    expect(temporal.quarantines.size).toBe(0);
  });

  it('does not acknowledge when the signal cannot be delivered', async () => {
    const { mesh, temporal, deps } = setup();
    const { messageHeaderId } = waiting(temporal);
    temporal.failSignals = true;
    const id = mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: messageHeaderId })));
    await expect(routeInboxMessage(deps, mesh, id)).rejects.toThrow('Temporal unavailable');
    expect(mesh.acked).toEqual([]);
  });

  it('does not acknowledge when the quarantine entry cannot be created', async () => {
    const { mesh, temporal, deps } = setup();
    temporal.failQuarantine = true;
    const id = mesh.add(dataMessage('<broken'));
    await expect(routeInboxMessage(deps, mesh, id)).rejects.toThrow('Temporal unavailable');
    expect(mesh.acked).toEqual([]);
  });

  it('runs the before-acknowledge hook after the hand-over; if it dies there, nothing is acknowledged', async () => {
    const { mesh, temporal, deps } = setup();
    const { messageHeaderId } = waiting(temporal);
    const id = mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: messageHeaderId })));
    deps.hooks = {
      beforeAcknowledge: (info) => {
        expect(info).toEqual({ mailboxId: 'X26ABC1', meshMessageId: id, outcome: 'routed' });
        expect(temporal.responses).toHaveLength(1);
        throw new Error('worker died');
      },
    };
    await expect(routeInboxMessage(deps, mesh, id)).rejects.toThrow('worker died');
    expect(mesh.acked).toEqual([]);
  });
});
