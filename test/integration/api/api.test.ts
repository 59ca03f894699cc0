/**
 * The HTTP API on the real wiring (Temporal dev server, mesh-sandbox, worker, GP practice peer): the
 * OpenAPI document, authentication and roles, idempotent submission, status, timeline, listing with
 * filters and cursor paging, specific 400s, 404s, and an audit line per action with no patient data.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CourierApiError, CourierHttpClient } from '../../../client/lib/http-client';
import { eventually, startHarness, type Harness } from '../../helpers/courier-harness';

jest.setTimeout(120_000);

const example = JSON.parse(readFileSync(path.join(__dirname, '../../../examples/consultation-report.json'), 'utf8')) as Record<string, unknown> & {
  documentId: string;
  encounter: { id: string };
  recipient: { odsCode: string; name?: string };
  patient: { nhsNumber: string };
};
const NHS = example.patient.nhsNumber;

function submission(opts: { recipientOds?: string; encounterId?: string } = {}): typeof example {
  return {
    ...example,
    documentId: randomUUID(),
    encounter: { ...example.encounter, id: opts.encounterId ?? `enc-${randomUUID()}` },
    recipient: { ...example.recipient, odsCode: opts.recipientOds ?? example.recipient.odsCode },
  };
}

async function refused(p: Promise<unknown>): Promise<CourierApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CourierApiError) return err;
    throw err;
  }
  throw new Error('expected the API to refuse');
}

describe('HTTP API', () => {
  let h: Harness;
  const logLines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    h = await startHarness({ ITK3_INF_ACK_TIMEOUT: '3s', ITK3_BUS_ACK_TIMEOUT: '60s', LOG_LEVEL: 'info' }, { logDestination: sink });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('serves an OpenAPI 3.1 document generated from the schemas, listing every operation', async () => {
    const doc = (await new CourierHttpClient(h.apiUrl).openApi()) as { openapi: string; paths: Record<string, Record<string, { operationId: string }>>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ops).toEqual(
      expect.arrayContaining(['submitDocument', 'listDocuments', 'getDocumentStatus', 'getDocumentTimeline', 'correct', 'resend', 'replace', 'abandon', 'acknowledgeEscalation', 'changeDeadlines']),
    );
    expect(Object.keys(doc.paths)).toContain('/v1/documents/{id}/actions/acknowledge-escalation');
    expect(doc.components.schemas).toHaveProperty('Error');
    expect(doc.components.schemas).toHaveProperty('ChangeDeadlinesRequest');
    const submit = doc.paths['/v1/documents']!.post as unknown as { requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } } };
    expect(Object.keys(submit.requestBody.content['application/json'].schema.properties)).toEqual(expect.arrayContaining(['documentId', 'patient', 'recipient']));
  });

  it('refuses callers without a token (401) and submitters calling operator actions (403)', async () => {
    const anonymous = new CourierHttpClient(h.apiUrl);
    expect((await refused(anonymous.status('send-document-x-v1'))).status).toBe(401);
    expect((await refused(new CourierHttpClient({ baseUrl: h.apiUrl, token: 'not-a-real-token-at-all' }).list())).status).toBe(401);
    const { workflowId } = await h.api.submit(submission());
    const e = await refused(h.api.abandon(workflowId, { reason: 'submitters may not' }));
    expect(e.status).toBe(403);
    expect(e.error).toBe('FORBIDDEN');
  });

  it('same Idempotency-Key and body: the same workflow; same key, another body: 409', async () => {
    const key = `idem-${randomUUID()}`;
    const doc = submission();
    const first = await h.api.submit(doc, { idempotencyKey: key });
    expect(first.created).toBe(true);
    // Key order does not matter: the body is compared canonically.
    const reordered = Object.fromEntries(Object.entries(doc).reverse());
    const again = await h.api.submit(reordered, { idempotencyKey: key });
    expect(again).toEqual({ ...first, created: false });
    const conflict = await refused(h.api.submit(submission(), { idempotencyKey: key }));
    expect(conflict.status).toBe(409);
    expect(conflict.error).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(conflict.issues[0]?.message).toContain(first.workflowId);
  });

  it('answers specific 400s and 404s', async () => {
    const bad = await refused(h.api.submit({ ...submission(), patient: { ...example.patient, nhsNumber: '9990000019' } }));
    expect(bad.status).toBe(400);
    expect(bad.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'patient.nhsNumber', message: expect.stringContaining('modulus 11') })]));
    const badList = await refused(h.api.list({ status: 'NOT_A_STATUS' as never, pageSize: 0 }));
    expect(badList.status).toBe(400);
    expect(badList.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['query.status.0', 'query.pageSize']));
    const badCursor = await refused(h.api.list({ cursor: 'bm90LW91cnM' }));
    expect(badCursor.error).toBe('INVALID_CURSOR');
    const badDeadline = await refused(h.operator.changeDeadlines('send-document-x-v1', { reason: 'r', deadlines: { businessAckMs: 'soon' } }));
    expect(badDeadline.status).toBe(400);
    expect(badDeadline.issues[0]?.path).toBe('deadlines.businessAckMs');
    const missing = `send-document-${randomUUID()}-v1`;
    expect((await refused(h.api.status(missing))).status).toBe(404);
    expect((await refused(h.api.timeline(missing))).status).toBe(404);
    expect((await refused(h.operator.abandon(missing, { reason: 'no such delivery' }))).status).toBe(404);
  });

  it('lists by recipient ODS, status, escalation and date range, a page at a time with a cursor', async () => {
    const ods = `Y${Math.floor(Math.random() * 1e6).toString().padStart(6, '0')}`;
    const from = new Date(Date.now() - 1000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await h.api.submit(submission({ recipientOds: ods }))).workflowId);
    await h.api.submit(submission());
    const seen = await eventually(async () => {
      const all: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await h.api.list({ recipientOds: ods, pageSize: 2, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(2);
        all.push(...page.items.map((x) => x.workflowId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      return all.length === 3 && pages >= 2 ? all : undefined;
    }, 20_000, 'three deliveries over two pages');
    expect(seen.sort()).toEqual([...ids].sort());
    const items = [];
    for await (const item of h.api.listAll({ recipientOds: ods, submittedFrom: from, submittedTo: new Date(Date.now() + 60_000).toISOString(), escalated: false })) items.push(item);
    expect(items.every((i) => i.recipientOds === ods && i.escalated === false)).toBe(true);
    const none = await h.api.list({ recipientOds: ods, submittedTo: from });
    expect(none.items).toEqual([]);
    const byStatus = await eventually(async () => {
      const page = await h.api.list({ recipientOds: ods, status: 'AWAITING_INFRASTRUCTURE_ACK,AWAITING_BUSINESS_ACK,DELIVERED' as never, pageSize: 10 });
      return page.items.length === 3 ? page : undefined;
    }, 30_000, 'all three past SENDING');
    expect(byStatus.items.every((i) => i.status !== 'SENDING')).toBe(true);
  });

  it('shows status and timeline, and leaves an audit line per action without patient data', async () => {
    const { workflowId } = await h.api.submit(submission());
    const state = await h.api.status(workflowId);
    expect(state.workflowId).toBe(workflowId);
    const { timeline } = await eventually(async () => {
      const t = await h.api.timeline(workflowId);
      return t.timeline.some((e) => e.kind === 'SENT') ? t : undefined;
    }, 30_000, 'SENT in the timeline');
    expect(timeline[0]?.kind).toBe('SUBMITTED');
    const audits = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === true);
    expect(audits).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'submitDocument', principal: 'svc-test', role: 'submitter', workflowId, status: 202 }),
        expect.objectContaining({ action: 'getDocumentTimeline', principal: 'svc-test', workflowId, status: 200 }),
        expect.objectContaining({ action: 'abandon', principal: 'svc-test', status: 403, outcome: 'forbidden' }),
      ]),
    );
    expect(logLines.join('\n')).not.toContain(NHS);
  });
});
