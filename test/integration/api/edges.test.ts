/**
 * The HTTP API at its edges, on the real wiring (Temporal dev server, mesh-sandbox, worker, GP practice
 * peer): the status of an id that is not a delivery is a 404; a credential in the query string is refused
 * and never reaches a log line; an operator action through the API is recorded for the authenticated
 * principal as verified, while an update sent straight to Temporal, naming that same operator, is
 * recorded as unverified, with a warning line.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CourierApiError } from '../../../client/lib/http-client';
import { inboxPollerWorkflowId } from '../../../contracts';
import { abandonUpdate } from '../../../workflows/definitions';
import { eventually, startHarness, type Harness } from '../../helpers/courier-harness';

jest.setTimeout(120_000);

const example = JSON.parse(readFileSync(path.join(__dirname, '../../../examples/consultation-report.json'), 'utf8')) as Record<string, unknown> & { encounter: { id: string } };

async function refused(p: Promise<unknown>): Promise<CourierApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CourierApiError) return err;
    throw err;
  }
  throw new Error('expected the API to refuse');
}

describe('HTTP API edges', () => {
  let h: Harness;
  const logLines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    h = await startHarness({ ITK3_INF_ACK_TIMEOUT: '10m', ITK3_BUS_ACK_TIMEOUT: '1h', LOG_LEVEL: 'info' }, { logDestination: sink });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** A delivery the practice never answers (so it stays open for an operator action), once sent. */
  async function silentDelivery(): Promise<string> {
    const encounterId = `enc-${randomUUID()}`;
    h.setScenario(encounterId, []);
    const { workflowId } = await h.api.submit({ ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: encounterId } } as never);
    await eventually(async () => ((await h.api.status(workflowId)).attempts[0]?.meshMessageId ? true : undefined), 30_000, 'the delivery to be sent');
    return workflowId;
  }

  it('answers 404, not 500, for the status of a workflow that is not a delivery, and for an unknown id', async () => {
    const poller = inboxPollerWorkflowId(h.config.env.MESH_MAILBOX_ID);
    expect((await h.temporal.workflow.getHandle(poller).describe()).status.name).toBe('RUNNING');
    const e = await refused(h.api.status(poller));
    expect(e.status).toBe(404);
    expect(e.error).toBe('NOT_FOUND');
    expect((await refused(h.api.status(`send-document-${randomUUID()}-v1`))).status).toBe(404);
  });

  it('refuses a credential in the query string with 400, even with a valid Authorization header, and never logs it', async () => {
    for (const key of ['token', 'access_token', 'api_key']) {
      const res = await fetch(`${h.apiUrl}/v1/documents?${key}=${encodeURIComponent(h.tokens.operator)}&pageSize=5`, { headers: { authorization: `Bearer ${h.tokens.operator}` } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; issues: Array<{ path: string }> };
      expect(body.error).toBe('CREDENTIAL_IN_QUERY');
      expect(body.issues.map((i) => i.path)).toEqual([`query.${key}`]);
    }
    // Without the header too: 400 (not 401), so the caller learns where the token belongs.
    expect((await fetch(`${h.apiUrl}/v1/documents?access_token=${encodeURIComponent(h.tokens.submitter)}`)).status).toBe(400);
    await new Promise((r) => setTimeout(r, 200));
    const all = logLines.join('\n');
    expect(all).toContain('access_token=[REDACTED]');
    expect(all).not.toContain(h.tokens.operator);
    expect(all).not.toContain(h.tokens.submitter);
  });

  it('records an action through the API for the authenticated principal, verified', async () => {
    const workflowId = await silentDelivery();
    const answer = await h.operator.abandon(workflowId, { reason: 'sent by post instead' });
    expect(answer).toMatchObject({ action: 'abandon', status: 'ABANDONED', actor: 'ops-test', actorVerified: true });
    const { timeline } = await h.operator.timeline(workflowId);
    expect(timeline.filter((t) => t.kind === 'OPERATOR')).toEqual([expect.objectContaining({ actor: 'ops-test', actorVerified: true, detail: 'abandoned' })]);
  });

  it('marks an update sent straight to Temporal, naming the same operator, as unverified, with a warning line', async () => {
    const workflowId = await silentDelivery();
    const answer = await h.temporal.workflow.getHandle(workflowId).executeUpdate(abandonUpdate, { args: [{ actor: 'ops-test', reason: 'pretending to be the operator' }] });
    expect(answer).toMatchObject({ status: 'ABANDONED', actor: 'ops-test', actorVerified: false });
    const state = await h.api.status(workflowId);
    expect(state.unverifiedActions).toEqual([expect.objectContaining({ update: 'abandon', claimedActor: 'ops-test', reason: 'no valid token' })]);
    const { timeline } = await h.operator.timeline(workflowId);
    expect(timeline.filter((t) => t.kind === 'OPERATOR')).toEqual([expect.objectContaining({ actor: 'ops-test', actorVerified: false, detail: "unverified actor 'ops-test' (no valid token): abandoned" })]);
    const warning = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'unverified actor on an operator update' && l.workflowId === workflowId);
    expect(warning).toMatchObject({ level: 40, claimedActor: 'ops-test', update: 'abandon', reason: 'no valid token' });
  });
});
