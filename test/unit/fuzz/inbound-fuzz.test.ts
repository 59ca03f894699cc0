/**
 * Bad input through the inbound path: the corpus of malformed ITK3 Responses and MESH messages
 * (test/fixtures/bad-input/inbound), then fast-check fuzzing of bodies, mutations of a valid response and
 * MESH metadata, through `routeInboxMessage` with fake MESH and Temporal ports. Every message must end
 * in exactly one place (its delivery or the quarantine, with a reason), routing must never throw for bad
 * content, and the MESH acknowledgement must come only after the hand-over, never when it failed.
 */
import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import pino from 'pino';
import type { Client } from '@temporalio/client';
import { senderReferenceDigest } from '../../../activities/correlation';
import { routeInboxMessage, temporalInbound, type DeliveryView, type InboundTemporal, type InboxMesh, type RouteOutcome, type RouterDeps, type WorkflowMatch } from '../../../activities/inbound';
import type { ContentRef, Itk3ResponseReceived, MeshReportReceived } from '../../../contracts';
import { QuarantineReasonSchema, type QuarantineInput } from '../../../contracts/inbound';
import { buildItk3Response } from '../../../itk3';
import { classifyReport, type MeshInboundMessage } from '../../../mesh';
import type { ContentStore } from '../../../store/content-store';
import { loadInboundCorpus } from '../../fixtures/bad-input/inbound-corpus';

jest.setTimeout(120_000);

const ACK_WORKFLOW = 'GPCONNECT_SEND_DOCUMENT_ACK';
const MAILBOX = 'X26ABC1';
const KNOWN = { workflowId: 'send-document-known-v1', messageHeaderId: '11111111-2222-4333-8444-555555555555', senderReference: 'enc-known-1', meshMessageId: 'KNOWNMESHID0001' };

class MemoryStore implements ContentStore {
  readonly items = new Map<string, Buffer>();
  fail = false;
  constructor(private readonly events: string[]) {}
  async put(kind: string, content: Uint8Array): Promise<ContentRef> {
    if (this.fail) throw new Error('disk full');
    const key = `${kind}/${randomUUID()}`;
    this.items.set(key, Buffer.from(content));
    this.events.push(`store ${kind}`);
    return { key, sha256: createHash('sha256').update(content).digest('hex'), size: content.byteLength };
  }
  async get(ref: ContentRef): Promise<Buffer> {
    const b = this.items.get(ref.key);
    if (!b) throw new Error('not found');
    return b;
  }
}

class OneMessageInbox implements InboxMesh {
  readonly mailbox = MAILBOX;
  acks = 0;
  constructor(
    private readonly message: MeshInboundMessage,
    private readonly events: string[],
  ) {}
  async listInbox(): Promise<string[]> {
    return [this.message.messageId];
  }
  async downloadMessage(): Promise<MeshInboundMessage> {
    return this.message;
  }
  async acknowledgeMessage(id: string): Promise<void> {
    this.acks++;
    this.events.push(`ack ${id}`);
  }
  async handshake(): Promise<void> {}
}

/** One running delivery that knows KNOWN's ids; everything else matches nothing. */
class FakePort implements InboundTemporal {
  failSignal = false;
  failQuarantine = false;
  readonly quarantined: QuarantineInput[] = [];
  readonly signalled: Array<{ workflowId: string; response?: Itk3ResponseReceived; report?: MeshReportReceived }> = [];
  readonly queries: Array<[string, string]> = [];
  constructor(private readonly events: string[]) {}
  async find(attribute: 'Itk3MessageIds' | 'MeshMessageId' | 'SenderReference', value: string): Promise<WorkflowMatch[]> {
    this.queries.push([attribute, value]);
    const hit =
      (attribute === 'Itk3MessageIds' && value === KNOWN.messageHeaderId) ||
      (attribute === 'SenderReference' && value === senderReferenceDigest(KNOWN.senderReference, undefined)) ||
      (attribute === 'MeshMessageId' && value === KNOWN.meshMessageId);
    return hit ? [{ workflowId: KNOWN.workflowId, running: true, currentMessageHeaderId: KNOWN.messageHeaderId, recipientOds: 'X26' }] : [];
  }
  async signalResponse(workflowId: string, response: Itk3ResponseReceived): Promise<'SIGNALLED' | 'CLOSED'> {
    if (this.failSignal) throw new Error('Temporal unavailable');
    this.signalled.push({ workflowId, response });
    this.events.push(`signal ${workflowId}`);
    return 'SIGNALLED';
  }
  async signalReport(workflowId: string, report: MeshReportReceived): Promise<'SIGNALLED' | 'CLOSED'> {
    if (this.failSignal) throw new Error('Temporal unavailable');
    this.signalled.push({ workflowId, report });
    this.events.push(`signal ${workflowId}`);
    return 'SIGNALLED';
  }
  async deliveryState(): Promise<DeliveryView | undefined> {
    return undefined;
  }
  async startQuarantine(input: QuarantineInput): Promise<'STARTED' | 'EXISTS'> {
    if (this.failQuarantine) throw new Error('Temporal unavailable');
    this.quarantined.push(input);
    this.events.push(`quarantine ${input.reason}`);
    return 'STARTED';
  }
}

interface Routed {
  outcome?: RouteOutcome;
  error?: unknown;
  events: string[];
  port: FakePort;
  inbox: OneMessageInbox;
  store: MemoryStore;
}

async function route(message: MeshInboundMessage, setup: (p: FakePort, s: MemoryStore) => void = () => undefined): Promise<Routed> {
  const events: string[] = [];
  const port = new FakePort(events);
  const store = new MemoryStore(events);
  setup(port, store);
  const inbox = new OneMessageInbox(message, events);
  const deps: RouterDeps = { temporal: port, store, logger: pino({ level: 'silent' }), now: () => new Date('2026-11-25T12:00:00Z'), rematchDelaysMs: [], checks: { routing: { mode: 'mailbox', mailboxId: 'X26ABC2' } } };
  try {
    return { outcome: await routeInboxMessage(deps, inbox, message.messageId), events, port, inbox, store };
  } catch (error) {
    return { error, events, port, inbox, store };
  }
}

function dataMessage(body: Buffer, workflowId: string | undefined = ACK_WORKFLOW): MeshInboundMessage {
  const id = randomUUID().replace(/-/g, '').toUpperCase();
  // From the practice's own mailbox, so a mutation that keeps the response valid can still be routed.
  return { messageId: id, messageType: 'DATA', from: 'X26ABC2', ...(workflowId !== undefined ? { workflowId } : {}), body, headers: { 'mex-messagetype': 'DATA', 'mex-from': 'X26ABC2', ...(workflowId !== undefined ? { 'mex-workflowid': workflowId } : {}) } };
}

function reportMessage(code: string | undefined, linked: string | undefined, description?: string): MeshInboundMessage {
  const id = randomUUID().replace(/-/g, '').toUpperCase();
  const headers: Record<string, string> = { 'mex-messagetype': 'REPORT' };
  if (code !== undefined) headers['mex-statuscode'] = code;
  if (linked !== undefined) headers['mex-linkedmsgid'] = linked;
  if (description !== undefined) headers['mex-statusdescription'] = description;
  return {
    messageId: id,
    messageType: 'REPORT',
    workflowId: 'GPCONNECT_SEND_DOCUMENT',
    body: Buffer.alloc(0),
    headers,
    report: { kind: classifyReport(code), ...(code !== undefined ? { statusCode: code } : {}), ...(linked !== undefined ? { linkedMessageId: linked } : {}), ...(description !== undefined ? { statusDescription: description } : {}) },
  };
}

/** The invariant for every message: handed over exactly once, then acknowledged exactly once, in that order. */
function expectHandedOverThenAcked(r: Routed): void {
  expect(r.error).toBeUndefined();
  const hand = r.events.findIndex((e) => e.startsWith('signal ') || e.startsWith('quarantine '));
  const ack = r.events.findIndex((e) => e.startsWith('ack '));
  expect(hand).toBeGreaterThanOrEqual(0);
  expect(ack).toBeGreaterThan(hand);
  expect(r.inbox.acks).toBe(1);
  expect(r.port.signalled.length + r.port.quarantined.length).toBe(1);
  for (const q of r.port.quarantined) {
    expect(QuarantineReasonSchema.safeParse(q.reason).success).toBe(true);
    expect(q.detail.length).toBeGreaterThan(0);
    // The content is kept (encrypted in production) before the entry points at it.
    expect(r.events.indexOf('store inbound-message')).toBeLessThan(r.events.indexOf(`quarantine ${q.reason}`));
  }
}

function validResponse(opts: { code?: string; respondsTo?: string; senderReference?: string } = {}): string {
  return buildItk3Response({
    respondsTo: opts.respondsTo ?? KNOWN.messageHeaderId,
    senderReference: opts.senderReference ?? KNOWN.senderReference,
    code: opts.code ?? '20013',
    responseBundleIdentifier: randomUUID(),
    messageHeaderId: randomUUID(),
    senderOds: 'X26',
    sourceEndpoint: 'X26ABC2',
    newId: randomUUID,
    now: '2026-11-25T12:00:00+00:00',
  });
}

describe('the bad-input corpus through the inbound path', () => {
  const corpus = loadInboundCorpus();

  it.each(corpus.data.map((c) => [c.name, c] as const))('%s is quarantined with its reason, then acknowledged', async (_name, c) => {
    const r = await route(dataMessage(c.body, c.workflowId));
    expect(r.outcome).toBe('quarantined');
    expectHandedOverThenAcked(r);
    expect(r.port.quarantined[0]!.reason).toBe(c.expect);
  });

  it.each(corpus.reports.map((c) => [c.name, c] as const))('%s is quarantined with its reason, then acknowledged', async (_name, c) => {
    const r = await route(reportMessage(c.code, c.linkedMessageId ?? undefined, c.description));
    expect(r.outcome).toBe('quarantined');
    expectHandedOverThenAcked(r);
    expect(r.port.quarantined[0]!.reason).toBe(c.expect);
  });

  it('never puts an unsafe value into a visibility query', async () => {
    // The real port (not the fake): values with quotes or spaces must never be interpolated into a query.
    const queries: string[] = [];
    const client = { workflow: { list: ({ query }: { query: string }) => (queries.push(query), (async function* () {})()) } } as unknown as Client;
    const port = temporalInbound(client, 'tq');
    for (const value of ["x' OR WorkflowType = 'sendDocumentWorkflow", "enc' OR SenderReference != '", 'a b', '', 'x'.repeat(500), 'ok-id_1.2:3']) {
      await port.find('SenderReference', value);
    }
    expect(queries).toHaveLength(1);
    expect(queries[0]).toContain("SenderReference = 'ok-id_1.2:3'");
  });
});

describe('fuzzing the inbound path (fast-check)', () => {
  const reasons = new Set(QuarantineReasonSchema.options);

  it('arbitrary bytes on the ACK workflow: quarantined with a reason, never thrown, acked after', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        const r = await route(dataMessage(Buffer.from(bytes)));
        expect(r.outcome).toBe('quarantined');
        expectHandedOverThenAcked(r);
        expect(reasons.has(r.port.quarantined[0]!.reason)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary text that looks like XML: quarantined with a reason, never thrown', async () => {
    const xmlish = fc.stringMatching(/^<[A-Za-z]{1,8}( [a-z]{1,5}="[^"<]{0,20}")?>([^<]{0,30}<\/?[A-Za-z]{1,8}\/?>){0,20}$/);
    await fc.assert(
      fc.asyncProperty(xmlish, async (text) => {
        const r = await route(dataMessage(Buffer.from(text)));
        expect(r.outcome).toBe('quarantined');
        expectHandedOverThenAcked(r);
      }),
      { numRuns: 200 },
    );
  });

  it('mutations of a valid response to a waiting delivery: routed to it or quarantined, never anything else', async () => {
    const base = Buffer.from(validResponse());
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(base.length - 1), len: fc.integer({ min: 1, max: 200 }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(base.length - 1), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(base.length - 1), text: fc.string({ unit: 'binary', maxLength: 40 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(base.length - 1) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        let body = base;
        for (const m of mutations) {
          const at = Math.min(m.at, body.length);
          if (m.kind === 'cut') body = Buffer.concat([body.subarray(0, at), body.subarray(at + m.len)]);
          else if (m.kind === 'flip') body = Buffer.concat([body.subarray(0, at), Buffer.from([m.byte]), body.subarray(at + 1)]);
          else if (m.kind === 'insert') body = Buffer.concat([body.subarray(0, at), Buffer.from(m.text), body.subarray(at)]);
          else body = body.subarray(0, at);
        }
        const r = await route(dataMessage(body));
        expectHandedOverThenAcked(r);
        if (r.outcome === 'routed') {
          expect(r.port.signalled[0]!.workflowId).toBe(KNOWN.workflowId);
          const resp = r.port.signalled[0]!.response!;
          expect(['infrastructure', 'business']).toContain(resp.level);
          expect(resp.responseId.length).toBeGreaterThan(0);
        } else {
          expect(r.outcome).toBe('quarantined');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary MESH metadata (workflow ids, report codes, linked ids): one hand-over, then the ack', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 80 });
    const message = fc.oneof(
      fc.record({ type: fc.constant('DATA' as const), workflowId: fc.option(fc.oneof(text, fc.constantFrom(ACK_WORKFLOW, 'GPFED_CONSULT_REPORT_ACK', ` ${ACK_WORKFLOW.toLowerCase()} `)), { nil: undefined }) }),
      fc.record({
        type: fc.constant('REPORT' as const),
        code: fc.option(fc.oneof(text, fc.constantFrom('14', 'EPL-150', 'EPL-153', '00')), { nil: undefined }),
        linked: fc.option(fc.oneof(text, fc.constant(KNOWN.meshMessageId)), { nil: undefined }),
        description: fc.option(text, { nil: undefined }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(message, async (m) => {
        const r = await route(m.type === 'DATA' ? dataMessage(Buffer.from(validResponse()), m.workflowId) : reportMessage(m.code, m.linked, m.description));
        expectHandedOverThenAcked(r);
        if (m.type === 'REPORT' && m.linked === KNOWN.meshMessageId) expect(r.outcome).toBe('report');
      }),
      { numRuns: 300 },
    );
  });

  it('nothing is acknowledged when the hand-over fails (Temporal or the store unavailable)', async () => {
    const failure = fc.constantFrom('signal', 'quarantine', 'store');
    await fc.assert(
      fc.asyncProperty(failure, fc.boolean(), async (what, matching) => {
        const body = matching ? validResponse() : validResponse({ respondsTo: randomUUID(), senderReference: 'None' });
        const r = await route(dataMessage(Buffer.from(body)), (p, s) => {
          if (what === 'signal') p.failSignal = true;
          if (what === 'quarantine') p.failQuarantine = true;
          if (what === 'store') s.fail = true;
        });
        const handOverFails = matching ? what === 'signal' : what !== 'signal';
        if (handOverFails) {
          expect(r.error).toBeDefined();
          expect(r.inbox.acks).toBe(0);
        } else {
          expectHandedOverThenAcked(r);
        }
      }),
      { numRuns: 30 },
    );
  });
});
