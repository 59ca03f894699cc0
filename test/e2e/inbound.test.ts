/**
 * Inbound end to end, through the real mesh-sandbox, the GP practice peer (NHS England's
 * mesh-client) and the real worker, pollers and API: every response or report the practice or MESH sends
 * ends in exactly one place, the delivery workflow (signal in its history, RESPONSE/MESH_REPORT in its
 * timeline, once) or the quarantine (listed, shown, re-routable), and is acknowledged on MESH after that.
 * Assertions are on what the router did, so they hold whatever the delivery workflow decides next.
 */
import { randomUUID } from 'node:crypto';
import { buildItk3Response } from '../../itk3';
import { SenderReferenceKey, inboxPollerWorkflowId, type Itk3ResponseReceived } from '../../contracts';
import { senderReferenceDigest } from '../../activities/correlation';
import { quarantineWorkflowId, type QuarantineReason } from '../../contracts/inbound';
import { inboxPollerStatusQuery } from '../../workflows/inbox-poller';
import { eventually, startInboundHarness, type InboundHarness, type PeerSent } from '../helpers/inbound-harness';

jest.setTimeout(180_000);

let h: InboundHarness;
beforeAll(async () => {
  h = await startInboundHarness({ env: { ITK3_INF_ACK_TIMEOUT: '3s', ITK3_BUS_ACK_TIMEOUT: '60s', MESH_MAILBOXES: 'X26ABC1,X26ABC3' } });
});
afterAll(async () => {
  await h?.stop();
});

const enc = (what: string): string => `enc-${what}-${randomUUID().slice(0, 8)}`;

/** What the peer sent for an encounter, once it has sent `n` messages. */
async function sentFor(ref: string, n: number): Promise<PeerSent[]> {
  return eventually(async () => {
    const sent = h.peerSent().filter((s) => s.senderReference === ref);
    return sent.length >= n ? sent : undefined;
  }, 60_000, `the peer to send ${n} message(s) for ${ref}`);
}

/** Waits until the delivery's history holds signals for all `codes`; returns them. */
async function signalled(workflowId: string, codes: string[]): Promise<Itk3ResponseReceived[]> {
  return eventually(async () => {
    const rs = await h.responsesSignalled(workflowId);
    return codes.every((c) => rs.some((r) => r.code === c)) ? rs : undefined;
  }, 60_000, `signals ${codes.join(',')} to ${workflowId}`);
}

async function responseEntries(workflowId: string, code: string): Promise<number> {
  const s = await h.state(workflowId);
  return s.timeline.filter((t) => t.kind === 'RESPONSE' && (t.code === code || t.detail.includes(` ${code} `))).length;
}

/** The MESH messages are gone from our inbox: acknowledged. */
async function acknowledged(meshIds: string[]): Promise<void> {
  await eventually(async () => {
    const inbox = new Set(await h.inbox('X26ABC1'));
    return meshIds.every((id) => !inbox.has(id)) ? true : undefined;
  }, 30_000, 'the MESH acknowledgements');
}

/**
 * This suite's own entries in a quarantine listing, once visibility shows them all. Other suites on the
 * same Temporal server add entries of their own (under other codec keys), so only ids made here count.
 */
async function listedOwn(filter: { status?: string; reason?: QuarantineReason }, ids: string[]) {
  return eventually(
    async () => {
      const { items } = await h.quarantine.list({ ...filter, limit: 1000 });
      const own = items.filter((i) => ids.includes(i.quarantineId));
      return own.length === ids.length ? own : undefined;
    },
    30_000,
    `quarantine listing ${JSON.stringify(filter)} to show ${ids.join(', ')}`,
  );
}

async function quarantined(meshMessageId: string, mailbox = 'X26ABC1') {
  const id = quarantineWorkflowId(mailbox, meshMessageId);
  return eventually(() => h.quarantine.show(id).catch(() => undefined), 60_000, `quarantine entry ${id}`);
}

describe('inbound: responses from the GP practice reach their delivery, once', () => {
  it('positive: 20013 then 30001 are signalled to the delivery, recorded once each, acknowledged', async () => {
    const ref = enc('positive');
    const { workflowId } = await h.submit(ref, ['20013', '30001']);
    const sent = await sentFor(ref, 2);
    const rs = await signalled(workflowId, ['20013', '30001']);
    const state = await h.state(workflowId);
    expect(rs).toHaveLength(2);
    for (const r of rs) {
      expect(r.respondsTo).toBe(state.attempts[0]?.messageHeaderId);
      expect(r.correlatedBy).toBe('RESPONSE_IDENTIFIER');
      expect(sent.map((s) => s.meshMessageId)).toContain(r.meshMessageId);
    }
    expect(await responseEntries(workflowId, '20013')).toBe(1);
    expect(await responseEntries(workflowId, '30001')).toBe(1);
    await acknowledged(sent.map((s) => s.meshMessageId));
    await eventually(async () => ((await h.state(workflowId)).status === 'DELIVERED' ? true : undefined), 30_000, 'DELIVERED');
  });

  // One per class of negative code: the router signals each, classified.
  const negatives: Array<[string, string[], string, string]> = [
    ['10001', ['10001'], 'infrastructure', 'FIX_AND_RESEND'],
    ['10009', ['10009'], 'infrastructure', 'INVESTIGATE_UNREADABLE'],
    ['20001', ['20001'], 'infrastructure', 'ESCALATE_ROUTING'],
    ['20007', ['20007'], 'infrastructure', 'TREAT_AS_DUPLICATE'],
    ['20009', ['20009'], 'infrastructure', 'FIX_AND_RESEND'],
    ['20014', ['20014'], 'infrastructure', 'VOID_ORIGINAL_AND_REPLACEMENT'],
    ['20015', ['20015'], 'infrastructure', 'SHRINK_PAYLOAD'],
    ['30002', ['20013', '30002'], 'business', 'ESCALATE_BUSINESS_REJECTION'],
    ['30003', ['20013', '30003'], 'business', 'ESCALATE_BUSINESS_REJECTION'],
  ];
  it('each negative code class is signalled to its delivery, classified, recorded once and acknowledged', async () => {
    const cases = await Promise.all(
      negatives.map(async ([code, steps, level, action]) => {
        const ref = enc(`neg-${code}`);
        const { workflowId } = await h.submit(ref, steps);
        return { code, steps, level, action, ref, workflowId };
      }),
    );
    for (const c of cases) {
      const sent = await sentFor(c.ref, c.steps.length);
      const rs = await signalled(c.workflowId, [c.code]);
      const r = rs.find((x) => x.code === c.code)!;
      expect({ code: c.code, level: r.level, polarity: r.polarity, action: r.action }).toEqual({ code: c.code, level: c.level, polarity: 'negative', action: c.action });
      expect(rs.filter((x) => x.code === c.code)).toHaveLength(1);
      expect(await responseEntries(c.workflowId, c.code)).toBe(1);
      await acknowledged(sent.map((s) => s.meshMessageId));
    }
  });

  it('silent: nothing arrives, nothing is signalled, nothing is quarantined', async () => {
    const ref = enc('silent');
    const { workflowId } = await h.submit(ref, []);
    await eventually(async () => (h.peerRecords().some((r) => r.senderReference === ref) ? true : undefined), 30_000, 'the practice to receive it');
    await eventually(async () => ((await h.state(workflowId)).escalated ? true : undefined), 30_000, 'the ack deadline to pass');
    expect(await h.responsesSignalled(workflowId)).toEqual([]);
    expect(h.peerSent().filter((s) => s.senderReference === ref)).toEqual([]);
  });

  it('late: acknowledgements after the deadline are still routed and recorded once', async () => {
    const ref = enc('late');
    const { workflowId } = await h.submit(ref, ['delay:6', '20013', '30001']);
    await eventually(async () => ((await h.state(workflowId)).escalated ? true : undefined), 30_000, 'the deadline escalation');
    expect(await h.responsesSignalled(workflowId)).toEqual([]);
    const sent = await sentFor(ref, 2);
    await signalled(workflowId, ['20013', '30001']);
    expect(await responseEntries(workflowId, '20013')).toBe(1);
    expect(await responseEntries(workflowId, '30001')).toBe(1);
    const kinds = (await h.state(workflowId)).timeline.map((t) => t.kind);
    expect(kinds.indexOf('DEADLINE')).toBeLessThan(kinds.indexOf('RESPONSE'));
    await acknowledged(sent.map((s) => s.meshMessageId));
  });

  it('duplicate: the same response sent twice is acknowledged twice and recorded once', async () => {
    const ref = enc('dup');
    const { workflowId } = await h.submit(ref, ['20013', 'dup', '30001', 'dup']);
    const sent = await sentFor(ref, 4);
    expect(new Set(sent.map((s) => s.bundleIdentifier)).size).toBe(2);
    await signalled(workflowId, ['20013', '30001']);
    await acknowledged(sent.map((s) => s.meshMessageId));
    expect(await responseEntries(workflowId, '20013')).toBe(1);
    expect(await responseEntries(workflowId, '30001')).toBe(1);
    // Each MESH message went to the delivery (signal) or was recognised as already recorded; none was quarantined.
    for (const s of sent) await expect(h.quarantine.show(quarantineWorkflowId('X26ABC1', s.meshMessageId))).rejects.toMatchObject({ status: 404 });
  });

  it('out of order: a business ack before the infrastructure ack, both routed and recorded once', async () => {
    const ref = enc('ooo');
    const { workflowId } = await h.submit(ref, ['30001', 'delay:1', '20013']);
    const sent = await sentFor(ref, 2);
    await signalled(workflowId, ['30001', '20013']);
    expect(await responseEntries(workflowId, '30001')).toBe(1);
    expect(await responseEntries(workflowId, '20013')).toBe(1);
    await acknowledged(sent.map((s) => s.meshMessageId));
  });
});

describe('inbound: quarantine, never drop', () => {
  it('malformed XML is kept encrypted, raised once, listed, shown, and re-routable with the code an operator read', async () => {
    const ref = enc('malformed');
    const { workflowId } = await h.submit(ref, ['malformed']);
    const [sent] = await sentFor(ref, 1);
    const entry = await quarantined(sent!.meshMessageId);
    expect(entry).toMatchObject({ reason: 'MALFORMED', status: 'OPEN', messageType: 'DATA', mailboxId: 'X26ABC1' });
    await acknowledged([sent!.meshMessageId]);
    await eventually(async () => ((await h.quarantine.show(entry.quarantineId)).raisedAt ? true : undefined), 30_000, 'raised');
    expect(await listedOwn({ reason: 'MALFORMED' }, [entry.quarantineId])).toEqual([
      { quarantineId: entry.quarantineId, status: 'OPEN', reason: 'MALFORMED', mailboxId: 'X26ABC1', meshMessageId: sent!.meshMessageId, messageType: 'DATA', receivedAt: expect.any(String) },
    ]);
    const shown = await h.quarantine.show(entry.quarantineId, true);
    expect(shown.content?.body).toContain('<Bundle xmlns="http://hl7.org/fhir"><id value="broken"/>');
    // The Web UI: the router's start gave a summary and details; the workflow keeps its current details.
    const quarantineHandle = h.temporal.workflow.getHandle(entry.quarantineId);
    const described = await quarantineHandle.describe();
    expect(await described.staticSummary()).toBe(`Quarantined MESH message ${sent!.meshMessageId} in X26ABC1: MALFORMED`);
    expect(await described.staticDetails()).toContain(`itk3 quarantine show ${entry.quarantineId}`);
    const current = (await quarantineHandle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';
    expect(current).toContain(`itk3 quarantine reroute ${entry.quarantineId}`);
    expect(current).not.toContain('broken');
    expect(await h.responsesSignalled(workflowId)).toEqual([]);

    await expect(h.quarantine.reroute(entry.quarantineId, { actor: 'ops.test', reason: 'no code given', targetWorkflowId: workflowId })).rejects.toMatchObject({ status: 409, error: 'INBOUND_REROUTE_REJECTED' });
    const res = await h.quarantine.reroute(entry.quarantineId, { actor: 'ops.test', reason: 'practice confirmed receipt by phone', targetWorkflowId: workflowId, code: '20013' });
    expect(res).toMatchObject({ status: 'REROUTED', targetWorkflowId: workflowId, signal: 'itk3Response', code: '20013' });
    const [r] = await signalled(workflowId, ['20013']);
    // The authenticated caller (token ops-test), never the `actor` the body names.
    expect(r).toMatchObject({ correlatedBy: 'OPERATOR', reroutedBy: 'ops-test', rerouteReason: 'practice confirmed receipt by phone', quarantineId: entry.quarantineId });
    expect((await h.quarantine.show(entry.quarantineId)).resolution).toMatchObject({ actor: 'ops-test', reason: 'practice confirmed receipt by phone' });
    const timeline = (await h.state(workflowId)).timeline;
    expect(timeline).toContainEqual(expect.objectContaining({ kind: 'OPERATOR', actor: 'ops-test', reason: 'practice confirmed receipt by phone', quarantineId: entry.quarantineId }));
    expect(await responseEntries(workflowId, '20013')).toBe(1);
    await expect(h.quarantine.resolve(entry.quarantineId, { actor: 'ops.test', reason: 'again' })).rejects.toMatchObject({ status: 409 });
  });

  it('UNREADABLE-IN-ORIGINAL-MESSAGE is quarantined, not guessed, and an operator can reroute it', async () => {
    const ref = enc('unreadable');
    const { workflowId } = await h.submit(ref, ['unreadable:10009']);
    const [sent] = await sentFor(ref, 1);
    const entry = await quarantined(sent!.meshMessageId);
    expect(entry).toMatchObject({ reason: 'UNREADABLE_IN_ORIGINAL_MESSAGE', summary: { code: '10009', respondsTo: 'UNREADABLE-IN-ORIGINAL-MESSAGE' } });
    await acknowledged([sent!.meshMessageId]);
    expect(await h.responsesSignalled(workflowId)).toEqual([]);
    await h.quarantine.reroute(entry.quarantineId, { actor: 'ops.test', reason: 'the only message to that practice in the hour', targetWorkflowId: workflowId });
    const [r] = await signalled(workflowId, ['10009']);
    expect(r).toMatchObject({ correlatedBy: 'OPERATOR', originalRespondsTo: 'UNREADABLE-IN-ORIGINAL-MESSAGE', respondsTo: (await h.state(workflowId)).attempts[0]?.messageHeaderId });
    expect(await responseEntries(workflowId, '10009')).toBe(1);
  });

  it('an unclassifiable code and an unexpected MESH workflow id are quarantined with their reasons', async () => {
    const refA = enc('code');
    const refB = enc('wfid');
    await h.submit(refA, ['40001']);
    await h.submit(refB, ['workflow:GPFED_CONSULT_REPORT', '20013']);
    const [a] = await sentFor(refA, 1);
    const [b] = await sentFor(refB, 1);
    expect((await quarantined(a!.meshMessageId)).reason).toBe('UNCLASSIFIABLE_CODE');
    expect(await quarantined(b!.meshMessageId)).toMatchObject({ reason: 'UNEXPECTED_WORKFLOW_ID', meshWorkflowId: 'GPFED_CONSULT_REPORT' });
    await acknowledged([a!.meshMessageId, b!.meshMessageId]);
  });

  it('a response that matches no delivery is retried (visibility lag), then raised once and resolvable', async () => {
    // Straight from the practice mailbox: a response to a MessageHeader id we never sent.
    const xml = buildItk3Response({
      respondsTo: randomUUID(),
      senderReference: enc('nobody'),
      code: '30001',
      responseBundleIdentifier: randomUUID(),
      messageHeaderId: randomUUID(),
      now: new Date().toISOString(),
      sourceEndpoint: 'X26ABC2',
      senderOds: 'X26',
      newId: randomUUID,
    });
    const { messageId } = await h.meshAs('X26ABC2').sendMessage({ to: 'X26ABC1', workflowId: 'GPCONNECT_SEND_DOCUMENT_ACK', body: Buffer.from(xml), subject: 'ITK3 Response 30001' });
    const entry = await quarantined(messageId);
    expect(entry).toMatchObject({ reason: 'UNMATCHED_RESPONSE', summary: { code: '30001' } });
    await acknowledged([messageId]);
    const raised = await eventually(async () => {
      const e = await h.quarantine.show(entry.quarantineId);
      return e.raisedAt ? e : undefined;
    }, 30_000, 'raised after the rematch');
    expect(raised.rematchAttempts).toBe(1);
    const res = await h.quarantine.resolve(entry.quarantineId, { actor: 'someone-else', reason: 'not ours: the practice confirmed a mix-up' });
    expect(res.status).toBe('RESOLVED');
    expect((await h.quarantine.show(entry.quarantineId)).resolution).toMatchObject({ actor: 'ops-test' });
    expect(await listedOwn({ status: 'RESOLVED' }, [entry.quarantineId])).toEqual([expect.objectContaining({ quarantineId: entry.quarantineId, status: 'RESOLVED', reason: 'UNMATCHED_RESPONSE' })]);
  });

  it('a response whose identifier the practice mangled is routed by its echoed SenderReference, to the current attempt', async () => {
    const ref = enc('senderref');
    const { workflowId } = await h.submit(ref, ['unknown-id:20013']);
    const [sent] = await sentFor(ref, 1);
    const [r] = await signalled(workflowId, ['20013']);
    const attempt = (await h.state(workflowId)).attempts[0]!;
    expect(r).toMatchObject({ correlatedBy: 'SENDER_REFERENCE', respondsTo: attempt.messageHeaderId, senderReference: ref, meshMessageId: sent!.meshMessageId });
    expect(r!.originalRespondsTo).not.toBe(attempt.messageHeaderId);
    expect(await responseEntries(workflowId, '20013')).toBe(1);
    await acknowledged([sent!.meshMessageId]);
  });
});

describe('inbound: MESH reports', () => {
  it('non-delivery (14) and routing error (EPL-153) injected via the sandbox reach the delivery that sent the message', async () => {
    const ref14 = enc('ndr');
    const refEpl = enc('epl');
    const a = await h.submit(ref14, []);
    const b = await h.submit(refEpl, []);
    const meshIdOf = async (wf: string): Promise<string> =>
      eventually(async () => (await h.state(wf)).attempts[0]?.meshMessageId, 30_000, 'the send');
    const [sentA, sentB] = [await meshIdOf(a.workflowId), await meshIdOf(b.workflowId)];
    const ndr = await h.injectReport({ mailboxId: 'X26ABC1', code: '14', description: 'Message not collected by recipient after 5 days', linkedMessageId: sentA });
    const epl = await h.injectReport({ mailboxId: 'X26ABC1', code: 'EPL-153', description: 'NHS number not found', linkedMessageId: sentB });

    const reportA = await eventually(async () => (await h.reportsSignalled(a.workflowId))[0], 30_000, 'the NDR signal');
    expect(reportA).toMatchObject({ meshMessageId: sentA, reportMessageId: ndr, kind: 'NON_DELIVERY', statusCode: '14' });
    const reportB = await eventually(async () => (await h.reportsSignalled(b.workflowId))[0], 30_000, 'the EPL signal');
    expect(reportB).toMatchObject({ meshMessageId: sentB, reportMessageId: epl, kind: 'ROUTING_ERROR', statusCode: 'EPL-153' });
    await acknowledged([ndr, epl]);
    const entries = (await h.state(a.workflowId)).timeline.filter((t) => t.kind === 'MESH_REPORT');
    expect(entries).toHaveLength(1);
    expect(entries[0]?.code ?? entries[0]?.detail).toContain('14');
  });

  it('a report about a message we did not send is quarantined as UNMATCHED_REPORT', async () => {
    const id = await h.injectReport({ mailboxId: 'X26ABC1', code: '14', description: 'Message not collected by recipient after 5 days', linkedMessageId: 'NOTOURS0000000000000000000000001' });
    const entry = await quarantined(id);
    expect(entry).toMatchObject({ reason: 'UNMATCHED_REPORT', messageType: 'REPORT', summary: { linkedMessageId: 'NOTOURS0000000000000000000000001', reportKind: 'NON_DELIVERY', statusCode: '14' } });
    await acknowledged([id]);
  });
});

describe('inbound: several mailboxes', () => {
  it('polls every configured mailbox with its own durable poller, handshakes each and records it', async () => {
    for (const mailbox of ['X26ABC1', 'X26ABC3']) {
      const status = await eventually(async () => {
        const s = await h.temporal.workflow.getHandle(inboxPollerWorkflowId(mailbox)).query(inboxPollerStatusQuery);
        return s.lastHandshakeAt && s.totals.passes > 0 ? s : undefined;
      }, 30_000, `poller ${mailbox}`);
      expect(status.mailboxId).toBe(mailbox);
      const described = await h.temporal.workflow.getHandle(inboxPollerWorkflowId(mailbox)).describe();
      expect(await described.staticSummary()).toBe(`MESH inbox poller for ${mailbox}`);
    }
    // A response that arrives in the second mailbox is routed just the same.
    const ref = enc('second-mailbox');
    const { workflowId } = await h.submit(ref, []);
    const headerId = await eventually(async () => {
      const s = await h.state(workflowId);
      return s.attempts[0]?.meshMessageId ? s.attempts[0].messageHeaderId : undefined;
    }, 30_000, 'the send');
    const xml = buildItk3Response({
      respondsTo: headerId,
      senderReference: ref,
      code: '20013',
      responseBundleIdentifier: randomUUID(),
      messageHeaderId: randomUUID(),
      now: new Date().toISOString(),
      sourceEndpoint: 'X26ABC2',
      senderOds: 'X26',
      newId: randomUUID,
    });
    const { messageId } = await h.meshAs('X26ABC2').sendMessage({ to: 'X26ABC3', workflowId: 'GPCONNECT_SEND_DOCUMENT_ACK', body: Buffer.from(xml) });
    const [r] = await signalled(workflowId, ['20013']);
    expect(r?.meshMessageId).toBe(messageId);
    await eventually(async () => ((await h.inbox('X26ABC3')).includes(messageId) ? undefined : true), 30_000, 'the ack in X26ABC3');
  });
});

describe('inbound: an acknowledgement counts only from the practice the message went to', () => {
  /** A delivery the peer stays silent on; its first attempt's MessageHeader id once sent. */
  async function silentDelivery(what: string): Promise<{ ref: string; workflowId: string; headerId: string }> {
    const ref = enc(what);
    const { workflowId } = await h.submit(ref, []);
    const headerId = await eventually(async () => {
      const s = await h.state(workflowId);
      return s.attempts[0]?.meshMessageId ? s.attempts[0].messageHeaderId : undefined;
    }, 30_000, 'the send');
    return { ref, workflowId, headerId };
  }

  /** Sends an ITK3 Response to our mailbox from `mailbox`, claiming to be ODS `ods`. */
  async function sendAs(mailbox: string, ods: string, code: string, respondsTo: string, senderReference: string): Promise<string> {
    const xml = buildItk3Response({ respondsTo, senderReference, code, responseBundleIdentifier: randomUUID(), messageHeaderId: randomUUID(), now: new Date().toISOString(), sourceEndpoint: mailbox, senderOds: ods, newId: randomUUID });
    return (await h.meshAs(mailbox).sendMessage({ to: 'X26ABC1', workflowId: 'GPCONNECT_SEND_DOCUMENT_ACK', body: Buffer.from(xml), subject: `ITK3 Response ${code}` })).messageId;
  }

  it.each([
    ['a 30001 from an unrelated mailbox naming the real MessageHeader id', 'X26ABC3', 'X26', '30001', 'id', 'SENDER_MAILBOX_MISMATCH'],
    ['a 30002 from an unrelated mailbox (anyone rejecting a delivery)', 'X26ABC3', 'X26', '30002', 'id', 'SENDER_MAILBOX_MISMATCH'],
    ['a 30001 with a random id and the guessable SenderReference', 'X26ABC3', 'X26', '30001', 'ref', 'SENDER_MAILBOX_MISMATCH'],
    ['a 30001 from practice X (X26ABC3, ODS X27) to a message sent to practice Y', 'X26ABC3', 'X27', '30001', 'id', 'SENDER_MAILBOX_MISMATCH'],
    ["a 30001 from the practice's mailbox with another ODS code", 'X26ABC2', 'X27', '30001', 'id', 'SENDER_ODS_MISMATCH'],
  ])('%s is quarantined with its reason and never reaches the delivery', async (_what, mailbox, ods, code, by, reason) => {
    const d = await silentDelivery('forged');
    const messageId = await sendAs(mailbox, ods, code, by === 'id' ? d.headerId : randomUUID(), d.ref);
    const entry = await quarantined(messageId);
    expect(entry).toMatchObject({ reason, candidates: [d.workflowId], summary: { code, senderMailbox: mailbox, senderOds: ods, expectedMailbox: 'X26ABC2', expectedOds: 'X26' } });
    await acknowledged([messageId]);
    expect(await h.responsesSignalled(d.workflowId)).toEqual([]);
    expect((await h.state(d.workflowId)).status).toBe('AWAITING_INFRASTRUCTURE_ACK');
  });

  it('an operator who reroutes a mismatched response applies it deliberately: the timeline names the operator, the reason and the entry', async () => {
    const d = await silentDelivery('reroute-mismatch');
    const messageId = await sendAs('X26ABC3', 'X26', '30001', d.headerId, d.ref);
    const entry = await quarantined(messageId);
    expect(entry.reason).toBe('SENDER_MAILBOX_MISMATCH');
    await h.quarantine.reroute(entry.quarantineId, { actor: 'claims-to-be-someone-else', reason: 'practice sent it from its new mailbox; confirmed by phone', targetWorkflowId: d.workflowId });
    const s = await eventually(async () => {
      const x = await h.state(d.workflowId);
      return x.status === 'DELIVERED' ? x : undefined;
    }, 60_000, 'DELIVERED by the operator decision');
    expect(s.attempts[0]!.businessAck).toMatchObject({ code: '30001', senderMailbox: 'X26ABC3', correlatedBy: 'OPERATOR', reroutedBy: 'ops-test' });
    expect(s.timeline).toContainEqual(expect.objectContaining({ kind: 'OPERATOR', actor: 'ops-test', quarantineId: entry.quarantineId, detail: expect.stringContaining('applied by operator decision although sender mailbox X26ABC3') }));
  });

  it.each([
    // A pause before the contradiction, so that it is the later one (as the practice sent it).
    [['20013', '30001', 'delay:1', '30002'], '30001', '30002', 'business'],
    [['20013', 'delay:1', '20009'], '20013', '20009', 'infrastructure'],
  ])('the practice sends %j: the contradiction reaches a person, naming both codes', async (steps, first, second, level) => {
    const ref = enc('conflict');
    const { workflowId } = await h.submit(ref, steps);
    const s = await eventually(async () => {
      const x = await h.state(workflowId);
      return x.status === 'AWAITING_OPERATOR' ? x : undefined;
    }, 60_000, 'the conflict to reach AWAITING_OPERATOR');
    const open = s.escalations.find((e) => !e.resolvedAt);
    expect(open).toMatchObject({ key: `ACK_CONFLICT:1:${level}`, code: second });
    expect(open!.reason).toContain(first);
    expect(open!.reason).toContain(second);
    expect(s.escalated).toBe(true);
  });

  it('the SenderReference search attribute holds the keyed hash the router looks up, never the encounter id', async () => {
    const ref = enc('hashed');
    const { workflowId } = await h.submit(ref, []);
    const attr = (await h.temporal.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(SenderReferenceKey);
    expect(attr).toBe(senderReferenceDigest(ref, h.config.env.ITK3_CORRELATION_KEY));
    expect(attr).not.toContain(ref);
    let found = 0;
    for await (const _wf of h.temporal.workflow.list({ query: `SenderReference = '${ref}'` })) found++;
    expect(found).toBe(0);
  });
});
