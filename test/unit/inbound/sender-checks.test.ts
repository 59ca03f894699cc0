/**
 * An acknowledgement counts only if it comes from the practice the message went to (activities/inbound.ts
 * `decide`): the MESH sender mailbox (Mex-From) must be the mailbox the attempt was delivered to, and the
 * MessageHeader sender ODS code the delivery's recipient ODS code. Anything else is quarantined with its
 * own reason, never signalled; a REPORT counts only when MESH itself sent it. Each `it` is one attack class
 * a hostile tester tried against the router; none of them may reach the delivery workflow.
 */
import { randomUUID } from 'node:crypto';
import { routeInboxMessage, temporalInbound, type RouterDeps, type SenderChecks } from '../../../activities/inbound';
import { senderReferenceDigest } from '../../../activities/correlation';
import { SentMessageIndex } from '../../../activities/sent-index';
import type { Client } from '@temporalio/client';
import { MAILBOX_CHECKS, PRACTICE, FakeMesh, FakeTemporal, dataMessage, keyed, reportMessage, responseXml, silentLogger, tempStore, type Event } from './fakes';

function setup(checks: SenderChecks = MAILBOX_CHECKS) {
  const events: Event[] = [];
  const mesh = new FakeMesh('X26ABC1', events);
  const temporal = new FakeTemporal(events);
  const deps: RouterDeps = { temporal, store: tempStore(), logger: silentLogger, now: () => new Date('2026-01-01T10:00:00Z'), rematchDelaysMs: [1000], checks };
  const messageHeaderId = randomUUID();
  const meshMessageId = randomUUID().replace(/-/g, '').toUpperCase();
  const wf = temporal.add({
    workflowId: `send-document-${randomUUID()}-v1`,
    running: true,
    attrs: { Itk3MessageIds: [messageHeaderId], MeshMessageId: [meshMessageId], SenderReference: [keyed('enc-2026-0001')] },
    currentMessageHeaderId: messageHeaderId,
  });
  return { events, mesh, temporal, deps, wf, messageHeaderId, meshMessageId };
}

/** Routes one message; asserts it was quarantined (held before the MESH ack) and never signalled. */
async function quarantined(s: ReturnType<typeof setup>, msg: ReturnType<typeof dataMessage>) {
  const id = s.mesh.add(msg);
  await expect(routeInboxMessage(s.deps, s.mesh, id)).resolves.toBe('quarantined');
  expect(s.temporal.responses).toHaveLength(0);
  expect(s.temporal.reports).toHaveLength(0);
  expect(s.events.indexOf(`ack ${id}`)).toBeGreaterThan(s.events.findIndex((e) => e.startsWith(`quarantine ${id}`)));
  return [...s.temporal.quarantines.values()][0]!.input;
}

const POSITIVE_AND_NEGATIVE = ['20013', '30001', '30004', '30002', '30003', '20009', '10001', '20001', '20007', '20014', '20015'];

describe('responses: only from the mailbox the attempt was delivered to', () => {
  it.each(POSITIVE_AND_NEGATIVE)('a %s from an unrelated mailbox, naming the right MessageHeader id, is quarantined as SENDER_MAILBOX_MISMATCH', async (code) => {
    const s = setup();
    const q = await quarantined(s, dataMessage(responseXml({ code, respondsTo: s.messageHeaderId }), undefined, undefined, 'X26ABC3'));
    expect(q.reason).toBe('SENDER_MAILBOX_MISMATCH');
    expect(q.candidates).toEqual([s.wf.workflowId]);
    expect(q.summary).toMatchObject({ code, senderMailbox: 'X26ABC3', senderOds: PRACTICE.ods, expectedMailbox: PRACTICE.mailbox, expectedOds: PRACTICE.ods });
    expect(q.rematchDelaysMs).toEqual([]);
  });

  it('a response without any Mex-From is quarantined as SENDER_MAILBOX_MISMATCH', async () => {
    const s = setup();
    const q = await quarantined(s, dataMessage(responseXml({ code: '30001', respondsTo: s.messageHeaderId }), undefined, undefined, null));
    expect(q).toMatchObject({ reason: 'SENDER_MAILBOX_MISMATCH', detail: expect.stringContaining('Mex-From') });
  });

  it.each(['30001', '30002'])('a %s with a random id and the guessable SenderReference, from an unrelated mailbox, is quarantined', async (code) => {
    const s = setup();
    const msg = dataMessage(responseXml({ code, respondsTo: randomUUID(), senderReference: 'enc-2026-0001' }), undefined, undefined, 'X26ABC3');
    const q = await quarantined(s, msg);
    expect(q.reason).toBe('SENDER_MAILBOX_MISMATCH');
    expect(q.candidates).toEqual([s.wf.workflowId]);
  });

  it('a SenderReference match from the right mailbox but another ODS code is quarantined as SENDER_ODS_MISMATCH', async () => {
    const s = setup();
    const msg = dataMessage(responseXml({ code: '30001', respondsTo: randomUUID(), senderReference: 'enc-2026-0001', senderOds: 'X27' }));
    expect((await quarantined(s, msg)).reason).toBe('SENDER_ODS_MISMATCH');
  });

  it.each(['30001', '30002', '20009'])('a %s from practice X (its own mailbox and ODS) to a message sent to practice Y is quarantined', async (code) => {
    const s = setup();
    // Practice X is X26ABC3 / X27 in mesh-sandbox; the delivery went to Y = X26ABC2 / X26.
    const q = await quarantined(s, dataMessage(responseXml({ code, respondsTo: s.messageHeaderId, senderOds: 'X27' }), undefined, undefined, 'X26ABC3'));
    expect(q.reason).toBe('SENDER_MAILBOX_MISMATCH');
    expect(q.summary).toMatchObject({ senderMailbox: 'X26ABC3', senderOds: 'X27' });
  });

  it.each(['30001', '30002'])('a %s from the right mailbox whose MessageHeader sender is another ODS code is quarantined as SENDER_ODS_MISMATCH', async (code) => {
    const s = setup();
    const q = await quarantined(s, dataMessage(responseXml({ code, respondsTo: s.messageHeaderId, senderOds: 'X27' })));
    expect(q.reason).toBe('SENDER_ODS_MISMATCH');
    expect(q.summary).toMatchObject({ senderOds: 'X27', expectedOds: PRACTICE.ods });
  });

  it('a response whose sender is not an Organization with an ODS code is quarantined as SENDER_ODS_MISMATCH', async () => {
    const s = setup();
    const xml = responseXml({ code: '30001', respondsTo: s.messageHeaderId }).replace('https://fhir.nhs.uk/Id/ods-organization-code', 'https://example.org/not-ods');
    const q = await quarantined(s, dataMessage(xml));
    expect(q).toMatchObject({ reason: 'SENDER_ODS_MISMATCH', detail: expect.stringContaining('no ODS code') });
  });

  it('a response from the practice itself is routed, carrying the mailbox and ODS code that sent it (case-insensitive mailbox)', async () => {
    const s = setup();
    const id = s.mesh.add(dataMessage(responseXml({ code: '30001', respondsTo: s.messageHeaderId }), undefined, undefined, 'x26abc2'));
    await expect(routeInboxMessage(s.deps, s.mesh, id)).resolves.toBe('routed');
    expect(s.temporal.responses[0]?.response).toMatchObject({ code: '30001', senderMailbox: 'X26ABC2', senderOds: 'X26', correlatedBy: 'RESPONSE_IDENTIFIER' });
  });

  it('a SenderReference match from the practice itself is routed to the current attempt', async () => {
    const s = setup();
    const id = s.mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: randomUUID(), senderReference: 'enc-2026-0001' })));
    await expect(routeInboxMessage(s.deps, s.mesh, id)).resolves.toBe('routed');
    expect(s.temporal.responses[0]?.response).toMatchObject({ correlatedBy: 'SENDER_REFERENCE', respondsTo: s.messageHeaderId, senderMailbox: 'X26ABC2' });
  });

  it("checks a delivery's own recipient ODS (search attribute), not the practice's default", async () => {
    const s = setup();
    s.wf.recipientOds = 'Y12345';
    const q = await quarantined(s, dataMessage(responseXml({ code: '30001', respondsTo: s.messageHeaderId })));
    expect(q.reason).toBe('SENDER_ODS_MISMATCH');
  });
});

describe('responses with GPPROVIDER routing: the mailbox MESH tracking reports', () => {
  const gp = (learn: () => Promise<string | undefined>) => {
    const calls: Array<[string, string]> = [];
    const checks: SenderChecks = { routing: { mode: 'gpprovider' }, correlationKey: MAILBOX_CHECKS.correlationKey!, learnRecipientMailbox: async (w, h) => (calls.push([w, h]), learn()) };
    return { checks, calls };
  };

  it('routes a response from the mailbox MESH delivered the attempt to, and tells the workflow that mailbox', async () => {
    const { checks, calls } = gp(async () => 'x26abc2');
    const s = setup(checks);
    const id = s.mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: s.messageHeaderId })));
    await expect(routeInboxMessage(s.deps, s.mesh, id)).resolves.toBe('routed');
    expect(calls).toEqual([[s.wf.workflowId, s.messageHeaderId]]);
    expect(s.temporal.responses[0]?.response).toMatchObject({ recipientMailbox: 'X26ABC2', senderMailbox: 'X26ABC2' });
  });

  it('tells the workflow the mailbox on every routed response (the response that taught it may have been quarantined)', async () => {
    const { checks } = gp(async () => 'X26ABC2');
    const s = setup(checks);
    // The first response taught the worker the mailbox but was quarantined (wrong ODS), so the workflow never saw it.
    await quarantined(s, dataMessage(responseXml({ code: '20013', respondsTo: s.messageHeaderId, senderOds: 'X27' })));
    const id = s.mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: s.messageHeaderId })));
    await expect(routeInboxMessage(s.deps, s.mesh, id)).resolves.toBe('routed');
    expect(s.temporal.responses[0]?.response.recipientMailbox).toBe('X26ABC2');
  });

  it('quarantines a response from another mailbox as SENDER_MAILBOX_MISMATCH', async () => {
    const s = setup(gp(async () => 'X26ABC2').checks);
    expect((await quarantined(s, dataMessage(responseXml({ code: '30001', respondsTo: s.messageHeaderId }), undefined, undefined, 'X26ABC3'))).reason).toBe('SENDER_MAILBOX_MISMATCH');
  });

  it('quarantines as SENDER_MAILBOX_UNVERIFIED when MESH tracking cannot say where the attempt went', async () => {
    const s = setup(gp(async () => undefined).checks);
    expect((await quarantined(s, dataMessage(responseXml({ code: '30001', respondsTo: s.messageHeaderId })))).reason).toBe('SENDER_MAILBOX_UNVERIFIED');
  });
});

describe('reports: only from MESH itself, about a message a delivery sent', () => {
  it('routes a report without Mex-From (MESH central system) about a MESH id a delivery sent', async () => {
    const s = setup();
    const id = s.mesh.add(reportMessage(s.meshMessageId, 'EPL-153'));
    await expect(routeInboxMessage(s.deps, s.mesh, id)).resolves.toBe('report');
  });

  it.each(['X26ABC2', 'X26ABC3'])('quarantines a report whose Mex-From is another mailbox (%s) as REPORT_NOT_FROM_MESH', async (from) => {
    const s = setup();
    const msg = reportMessage(s.meshMessageId, '14');
    msg.from = from;
    msg.headers['mex-from'] = from;
    const q = await quarantined(s, msg);
    expect(q).toMatchObject({ reason: 'REPORT_NOT_FROM_MESH', summary: { senderMailbox: from, linkedMessageId: s.meshMessageId } });
  });

  it('quarantines a report about a MESH id no delivery sent as UNMATCHED_REPORT', async () => {
    const s = setup();
    expect((await quarantined(s, reportMessage('SOMEONEELSESMESSAGE01', '14'))).reason).toBe('UNMATCHED_REPORT');
  });
});

describe('SenderReference in visibility: a keyed hash only', () => {
  it('looks a SenderReference up by its HMAC, never by the text the practice echoed', async () => {
    const queries: string[] = [];
    const client = { workflow: { list: ({ query }: { query: string }) => (queries.push(query), (async function* () {})()), start: async () => undefined } } as unknown as Client;
    const s = setup();
    s.deps.temporal = temporalInbound(client, 'tq');
    const id = s.mesh.add(dataMessage(responseXml({ code: '30001', respondsTo: randomUUID(), senderReference: 'Ada Testpatient 9990000018' })));
    await expect(routeInboxMessage(s.deps, s.mesh, id)).resolves.toBe('quarantined');
    const byRef = queries.filter((q) => q.startsWith('SenderReference'));
    expect(byRef).toEqual([`SenderReference = '${senderReferenceDigest('Ada Testpatient 9990000018', MAILBOX_CHECKS.correlationKey)}' AND WorkflowType != 'inboundQuarantineWorkflow'`]);
    expect(queries.join('\n')).not.toContain('9990000018');
  });

  it('is keyed: another key gives another value, and the value is not the plain SHA-256', () => {
    const a = senderReferenceDigest('enc-1', 'key-one-0123456789abcdef0123456789');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(senderReferenceDigest('enc-1', 'key-two-0123456789abcdef0123456789')).not.toBe(a);
  });
});

describe('sent index: who each attempt went to', () => {
  it('answers a response by id with the recipient mailbox and ODS code recorded at send time', async () => {
    const index = new SentMessageIndex();
    index.remember('h-1', 'send-document-a-v1', { recipientMailbox: 'X26ABC2', recipientOds: 'X26' });
    const port = temporalInbound({ workflow: { list: () => (async function* () {})() } } as unknown as Client, 'tq', index);
    expect(await port.find('Itk3MessageIds', 'h-1')).toEqual([{ workflowId: 'send-document-a-v1', running: true, recipientMailbox: 'X26ABC2', recipientOds: 'X26' }]);
  });
});
