/**
 * One poll pass (`pollMeshInbox`) and the quarantine's delivery activity (`routeQuarantinedMessage`),
 * run in a mock activity context against fake MESH and Temporal ports.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createInboundActivities } from '../../../activities/inbound';
import type { PollMeshInboxResult } from '../../../contracts';
import { createQuarantineActivities } from '../../../activities/quarantine';
import { MeshError } from '../../../mesh';
import { MAILBOX_CHECKS, keyed, FakeMesh, FakeTemporal, dataMessage, reportMessage, responseXml, silentLogger, tempStore, type Event } from './fakes';

const quietLogger = new DefaultLogger('ERROR', () => undefined);

function setup() {
  const events: Event[] = [];
  const mesh = new FakeMesh('X26ABC1', events);
  const other = new FakeMesh('X26ABC3', events);
  const temporal = new FakeTemporal(events);
  const store = tempStore();
  const acts = createInboundActivities({
    temporal: {} as Client,
    taskQueue: 'unit',
    store,
    logger: silentLogger,
    inboxes: new Map([
      ['X26ABC1', mesh],
      ['X26ABC3', other],
    ]),
    port: temporal,
    checks: MAILBOX_CHECKS,
    rematchDelaysMs: [1000],
  });
  const quarantine = createQuarantineActivities({ store, logger: silentLogger, port: temporal, checks: MAILBOX_CHECKS });
  return { events, mesh, other, temporal, store, acts, quarantine, env: new MockActivityEnvironment(undefined, { logger: quietLogger }) };
}

function waiting(temporal: FakeTemporal, senderReference?: string) {
  const messageHeaderId = randomUUID();
  const meshMessageId = randomUUID().replace(/-/g, '');
  const wf = temporal.add({
    workflowId: `send-document-${randomUUID()}-v1`,
    running: true,
    attrs: { Itk3MessageIds: [messageHeaderId], MeshMessageId: [meshMessageId], ...(senderReference ? { SenderReference: [keyed(senderReference)] } : {}) },
    currentMessageHeaderId: messageHeaderId,
    state: { currentAttempt: 1, attempts: [{ attempt: 1, messageHeaderId, meshMessageId }] },
  });
  return { wf, messageHeaderId, meshMessageId };
}

const notFound = (): MeshError => new MeshError('MESH_NOT_FOUND', 'MESH downloadMessage failed: 404', { operation: 'downloadMessage', retryable: false, httpStatus: 404 });

describe('pollMeshInbox: one pass', () => {
  it('routes, reports and quarantines what is listed, and counts each once', async () => {
    const { mesh, temporal, acts, env } = setup();
    const a = waiting(temporal);
    const b = waiting(temporal);
    mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: a.messageHeaderId })));
    mesh.add(dataMessage(responseXml({ code: '30001', respondsTo: a.messageHeaderId })));
    mesh.add(reportMessage(b.meshMessageId, 'EPL-153'));
    mesh.add(dataMessage('<nope'));

    const result = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1' })) as PollMeshInboxResult;

    expect(result).toMatchObject({ listed: 4, routed: 2, reports: 1, quarantined: 1, unmatched: 1, duplicates: 0, failed: [], morePending: false });
    expect(mesh.acked).toHaveLength(4);
    expect(await mesh.listInbox()).toEqual([]);
  });

  it('polls the mailbox it is asked about', async () => {
    const { mesh, other, temporal, acts, env } = setup();
    const a = waiting(temporal);
    const id = other.add(dataMessage(responseXml({ code: '20013', respondsTo: a.messageHeaderId })));
    const result = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC3' })) as PollMeshInboxResult;
    expect(result.routed).toBe(1);
    expect(other.acked).toEqual([id]);
    expect(mesh.acked).toEqual([]);
    await expect(env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC9' })).rejects.toMatchObject({ type: 'CONFIG_INVALID' });
  });

  it('reports a message it cannot download and goes on with the others; it stays in the inbox', async () => {
    const { mesh, temporal, acts, env } = setup();
    const a = waiting(temporal);
    const bad = mesh.add(notFound());
    const good = mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: a.messageHeaderId })));

    const result = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1', knownFailures: [bad] })) as PollMeshInboxResult;

    expect(result.failed).toEqual([{ meshMessageId: bad, errorType: 'MESH_NOT_FOUND', httpStatus: 404 }]);
    expect(result.recovered).toEqual([]);
    expect(result.routed).toBe(1);
    expect(mesh.acked).toEqual([good]);
    expect(await mesh.listInbox()).toEqual([bad]);
  });

  it('says a known failure has recovered once it goes through, or is gone from a complete listing', async () => {
    const { mesh, temporal, acts, env } = setup();
    const a = waiting(temporal);
    const flaky = mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: a.messageHeaderId })));
    const result = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1', knownFailures: [flaky, 'GONE123'] })) as PollMeshInboxResult;
    expect(result.recovered?.sort()).toEqual([flaky, 'GONE123'].sort());
  });

  it('asks for an immediate re-poll when the page was full, and does not call unlisted failures recovered', async () => {
    const { mesh, acts, env } = setup();
    for (let i = 0; i < 12; i++) mesh.add(dataMessage('<x', 'OTHER_WORKFLOW'));
    const first = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1', pageSize: 10, knownFailures: ['NOT_ON_THIS_PAGE'] })) as PollMeshInboxResult;
    expect(first).toMatchObject({ listed: 10, quarantined: 10, morePending: true, recovered: [] });
    const second = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1', pageSize: 10 })) as PollMeshInboxResult;
    expect(second).toMatchObject({ listed: 2, morePending: false });
  });

  it('long poll: lists an empty inbox again every interval and returns as soon as mail arrives', async () => {
    const { mesh, temporal, acts, env } = setup();
    const a = waiting(temporal);
    let listings = 0;
    const list = mesh.listInbox.bind(mesh);
    mesh.listInbox = async (opts) => {
      listings++;
      return list(opts);
    };
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => heartbeats.push(d));
    setTimeout(() => mesh.add(dataMessage(responseXml({ code: '20013', respondsTo: a.messageHeaderId }))), 350);
    const t0 = Date.now();
    const result = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1', pollIntervalMs: 100, waitForMailMs: 10_000 })) as PollMeshInboxResult;
    const took = Date.now() - t0;
    expect(result).toMatchObject({ listed: 1, routed: 1, morePending: false });
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(3_000);
    expect(listings).toBeGreaterThanOrEqual(3);
    expect(heartbeats).toContainEqual({ waitingForMail: true });
  });

  it('long poll: gives up after waitForMailMs with an empty result; delayFirstListMs waits before the first listing', async () => {
    const { mesh, acts, env } = setup();
    const at: number[] = [];
    const list = mesh.listInbox.bind(mesh);
    mesh.listInbox = async (opts) => {
      at.push(Date.now());
      return list(opts);
    };
    const t0 = Date.now();
    const result = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1', pollIntervalMs: 200, waitForMailMs: 1_000, delayFirstListMs: 300 })) as PollMeshInboxResult;
    expect(result).toMatchObject({ listed: 0, routed: 0, morePending: false });
    expect(at[0]! - t0).toBeGreaterThanOrEqual(290);
    // Listings about 300, 500, 700, 900 ms in (fewer on a slow machine), one interval apart, none past the bound.
    expect(at.length).toBeGreaterThanOrEqual(2);
    expect(at.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(190);
    expect(at[at.length - 1]! - t0).toBeLessThanOrEqual(1_000);
  });

  it('without waitForMailMs an empty inbox is listed once (one pass, as before)', async () => {
    const { mesh, acts, env } = setup();
    let listings = 0;
    const list = mesh.listInbox.bind(mesh);
    mesh.listInbox = async (opts) => {
      listings++;
      return list(opts);
    };
    const result = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1', pollIntervalMs: 100 })) as PollMeshInboxResult;
    expect(result.listed).toBe(0);
    expect(listings).toBe(1);
  });

  it('long poll: a cancellation while waiting ends the pass at once with nothing routed', async () => {
    const { acts, env } = setup();
    setTimeout(() => env.cancel(), 200);
    const t0 = Date.now();
    const result = (await env.run(acts.pollMeshInbox, { mailboxId: 'X26ABC1', pollIntervalMs: 5_000, waitForMailMs: 60_000 })) as PollMeshInboxResult;
    expect(result).toMatchObject({ listed: 0, morePending: false });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('handshakes the mailbox and says when', async () => {
    const { mesh, acts, env } = setup();
    const res = (await env.run(acts.handshakeMeshMailbox, { mailboxId: 'X26ABC1' })) as { mailboxId: string };
    expect(res.mailboxId).toBe('X26ABC1');
    expect(mesh.handshakes).toBe(1);
  });
});

describe('routeQuarantinedMessage', () => {
  async function quarantine(s: ReturnType<typeof setup>, msg: ReturnType<typeof dataMessage>) {
    s.mesh.add(msg);
    await s.env.run(s.acts.pollMeshInbox, { mailboxId: 'X26ABC1' });
    const q = [...s.temporal.quarantines.values()].find((e) => e.input.meshMessageId === msg.messageId)!;
    return q.input;
  }

  it('rematch: routes an unmatched response once its delivery becomes visible', async () => {
    const s = setup();
    const headerId = randomUUID();
    const q = await quarantine(s, dataMessage(responseXml({ code: '20013', respondsTo: headerId })));
    expect(q.reason).toBe('UNMATCHED_RESPONSE');
    await expect(s.env.run(s.quarantine.routeQuarantinedMessage, { quarantineId: q.quarantineId, contentRef: q.contentRef })).resolves.toEqual({ routed: false, candidates: [] });

    const wf = s.temporal.add({ workflowId: 'late-visible', running: true, attrs: { Itk3MessageIds: [headerId] } });
    const res = await s.env.run(s.quarantine.routeQuarantinedMessage, { quarantineId: q.quarantineId, contentRef: q.contentRef });
    expect(res).toMatchObject({ routed: true, targetWorkflowId: wf.workflowId, signal: 'itk3Response', code: '20013' });
    expect(s.temporal.responses[0]?.response).toMatchObject({ quarantineId: q.quarantineId, respondsTo: headerId });
  });

  it('operator reroute of a readable response: to the chosen attempt, marked OPERATOR, original identifier kept', async () => {
    const s = setup();
    const target = waiting(s.temporal);
    const unreadable = await quarantine(s, dataMessage(responseXml({ code: '10009', respondsTo: 'UNREADABLE-IN-ORIGINAL-MESSAGE' })));
    const res = await s.env.run(s.quarantine.routeQuarantinedMessage, {
      quarantineId: unreadable.quarantineId,
      contentRef: unreadable.contentRef,
      reroute: { actor: 'ops.jane', reason: 'timing matches our send', targetWorkflowId: target.wf.workflowId },
    });
    expect(res).toMatchObject({ routed: true, signal: 'itk3Response', respondsTo: target.messageHeaderId, code: '10009' });
    expect(s.temporal.responses[0]).toMatchObject({
      workflowId: target.wf.workflowId,
      response: { respondsTo: target.messageHeaderId, originalRespondsTo: 'UNREADABLE-IN-ORIGINAL-MESSAGE', correlatedBy: 'OPERATOR', reroutedBy: 'ops.jane', quarantineId: unreadable.quarantineId },
    });
  });

  it('operator reroute of unreadable content needs the code it carried; a readable one refuses a different code', async () => {
    const s = setup();
    const target = waiting(s.temporal);
    const broken = await quarantine(s, dataMessage('<Bundle><broken'));
    const base = { actor: 'ops.jane', reason: 'practice confirmed by phone', targetWorkflowId: target.wf.workflowId };
    await expect(s.env.run(s.quarantine.routeQuarantinedMessage, { quarantineId: broken.quarantineId, contentRef: broken.contentRef, reroute: base })).rejects.toMatchObject({
      type: 'INBOUND_REROUTE_REJECTED',
      nonRetryable: true,
    });
    const res = await s.env.run(s.quarantine.routeQuarantinedMessage, { quarantineId: broken.quarantineId, contentRef: broken.contentRef, reroute: { ...base, code: '20013' } });
    expect(res).toMatchObject({ routed: true, code: '20013' });
    expect(s.temporal.responses[0]?.response).toMatchObject({ responseId: `quarantine:${broken.quarantineId}`, code: '20013', level: 'infrastructure', polarity: 'positive', correlatedBy: 'OPERATOR' });

    const readable = await quarantine(s, dataMessage(responseXml({ code: '30001', respondsTo: randomUUID() })));
    await expect(s.env.run(s.quarantine.routeQuarantinedMessage, { quarantineId: readable.quarantineId, contentRef: readable.contentRef, reroute: { ...base, code: '30002' } })).rejects.toMatchObject({
      type: 'INBOUND_REROUTE_REJECTED',
    });
  });

  it('operator reroute of a report, and refusals for an unknown target, attempt or a closed delivery', async () => {
    const s = setup();
    const target = waiting(s.temporal);
    const report = await quarantine(s, reportMessage(undefined, '14'));
    const base = { actor: 'ops.jane', reason: 'NDR for our send', targetWorkflowId: target.wf.workflowId };
    const res = await s.env.run(s.quarantine.routeQuarantinedMessage, { quarantineId: report.quarantineId, contentRef: report.contentRef, reroute: base });
    expect(res).toMatchObject({ routed: true, signal: 'meshReport', code: '14' });
    expect(s.temporal.reports[0]?.report).toMatchObject({ meshMessageId: target.meshMessageId, reportMessageId: report.meshMessageId, kind: 'NON_DELIVERY' });

    const run = (reroute: typeof base & { attempt?: number }) => s.env.run(s.quarantine.routeQuarantinedMessage, { quarantineId: report.quarantineId, contentRef: report.contentRef, reroute });
    await expect(run({ ...base, targetWorkflowId: 'no-such-workflow' })).rejects.toMatchObject({ type: 'INBOUND_REROUTE_REJECTED' });
    await expect(run({ ...base, attempt: 7 })).rejects.toMatchObject({ type: 'INBOUND_REROUTE_REJECTED' });
    target.wf.running = false;
    await expect(run(base)).rejects.toMatchObject({ type: 'INBOUND_REROUTE_REJECTED' });
  });
});
