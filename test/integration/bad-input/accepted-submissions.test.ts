/**
 * A submission the API accepts can always be built, sent and finished, through the real HTTP API, the
 * real worker, Temporal dev server and mesh-sandbox:
 * - deadlines outside the configured bounds (9e15 ms, a 2-second reminder) are a 400 naming the field,
 *   at submission and in an operator's change-deadlines, and no workflow starts;
 * - `sender.meshMailbox` must be a mailbox this deployment owns;
 * - the same document id and version with different content is a 409 and nothing is stored;
 * - a replacement through POST /v1/documents keeps its document id, replaces a version that exists and
 *   is about the same patient.
 * Synthetic patients only (999 test range).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { deliveryWorkflowId, type SubmissionInput } from '../../../contracts';
import { startHarness, type Harness } from '../../helpers/courier-harness';
import { exampleSubmission } from '../../fixtures/bad-input/submissions';

jest.setTimeout(300_000);

interface Answer {
  status: number;
  error?: string;
  created?: boolean;
  workflowId?: string;
  issues: Array<{ path?: string; message: string }>;
}

function filesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? filesUnder(p) : statSync(p).isFile() ? 1 : 0;
  }
  return n;
}

describe('accepted submissions can always be built, sent and finished', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ LOG_LEVEL: 'error', ITK3_INF_ACK_TIMEOUT: '1h', ITK3_BUS_ACK_TIMEOUT: '2h' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function call(method: string, url: string, body: unknown, token: string): Promise<Answer> {
    const res = await fetch(`${h.apiUrl}${url}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Omit<Answer, 'status'>;
    return { ...json, status: res.status, issues: json.issues ?? [] };
  }
  const submit = (body: unknown): Promise<Answer> => call('POST', '/v1/documents', body, h.tokens.submitter);
  const fresh = (over: Partial<SubmissionInput> = {}): SubmissionInput => ({
    ...exampleSubmission(),
    documentId: randomUUID(),
    encounter: { ...exampleSubmission().encounter, id: `enc-${randomUUID()}` },
    ...over,
  });
  const workflowsOf = async (documentId: string): Promise<number> =>
    (await h.temporal.workflow.count(`WorkflowId = '${deliveryWorkflowId(documentId, 1)}'`)).count;
  const expectRefused = (a: Answer, status: number, error: string, field: string): void => {
    expect({ status: a.status, error: a.error }).toEqual({ status, error });
    expect(a.issues.map((i) => i.path)).toContain(field);
  };

  it('refuses deadlines outside the configured bounds, naming the field, and starts nothing', async () => {
    const cases: Array<[string, Record<string, number>, string]> = [
      ['9e15 ms infrastructure ack (beyond Date)', { infrastructureAckMs: 9e15 }, 'deadlines.infrastructureAckMs'],
      ['a business ack of 31 days (max 30d)', { businessAckMs: 31 * 86_400_000 }, 'deadlines.businessAckMs'],
      ['a 2-second reminder interval (min 15m)', { reminderIntervalMs: 2000 }, 'deadlines.reminderIntervalMs'],
      ['a 10-second decision window (min 1m)', { decisionWindowMs: 10_000 }, 'deadlines.decisionWindowMs'],
      ['a replacement window of a year (max 30d)', { replacementWindowMs: 365 * 86_400_000 }, 'deadlines.replacementWindowMs'],
    ];
    for (const [what, deadlines, field] of cases) {
      const body = fresh({ deadlines });
      const a = await submit(body);
      expectRefused(a, 400, 'SUBMISSION_INVALID', field);
      expect(a.issues.find((i) => i.path === field)?.message).toMatch(/must be between \d+ and \d+ ms/);
      expect({ what, workflows: await workflowsOf(body.documentId) }).toEqual({ what, workflows: 0 });
    }
    // Inside the bounds it is accepted.
    expect((await submit(fresh({ deadlines: { reminderIntervalMs: 15 * 60_000, infrastructureAckMs: 30 * 86_400_000 } }))).status).toBe(202);
  });

  it('refuses an operator change-deadlines outside the bounds with a 400 naming the field', async () => {
    const body = fresh();
    const accepted = await submit(body);
    expect(accepted.status).toBe(202);
    const id = accepted.workflowId!;
    for (const [deadlines, field] of [
      [{ reminderIntervalMs: 2000 }, 'deadlines.reminderIntervalMs'],
      [{ businessAckMs: 9e15 }, 'deadlines.businessAckMs'],
    ] as const) {
      const a = await call('POST', `/v1/documents/${id}/actions/change-deadlines`, { reason: 'test', deadlines }, h.tokens.operator);
      expectRefused(a, 400, 'INVALID_REQUEST', field);
    }
    // The delivery still answers and takes a change within the bounds.
    const ok = await call('POST', `/v1/documents/${id}/actions/change-deadlines`, { reason: 'test', deadlines: { businessAckMs: 3 * 86_400_000 } }, h.tokens.operator);
    expect(ok.status).toBe(200);
  });

  it('refuses a sender mailbox this deployment does not own', async () => {
    const body = fresh();
    body.sender = { ...body.sender, meshMailbox: 'X26OTHER9' };
    expectRefused(await submit(body), 400, 'SUBMISSION_INVALID', 'sender.meshMailbox');
    expect(await workflowsOf(body.documentId)).toBe(0);
    // The deployment's own mailbox (MESH_MAILBOX_ID) is accepted.
    body.sender.meshMailbox = h.config.env.MESH_MAILBOX_ID;
    expect((await submit(body)).status).toBe(202);
  });

  it('answers a resubmission of the same document and version with different content with 409, storing nothing', async () => {
    const body = fresh();
    const first = await submit(body);
    expect(first).toMatchObject({ status: 202, created: true });
    expect(await submit(body)).toMatchObject({ status: 202, created: false, workflowId: first.workflowId });
    // Submissions are stored under submission/ (the worker's built messages go elsewhere, at their own pace).
    const storeDir = path.join(h.config.env.STORE_DIR, 'submission');
    const before = filesUnder(storeDir);
    const changed = { ...body, encounter: { ...body.encounter, summary: 'A different summary: a different document.' } };
    const conflict = await submit(changed);
    expect(conflict).toMatchObject({ status: 409, error: 'SUBMISSION_CONFLICT' });
    expect(conflict.issues.map((i) => i.path)).toContain('documentId');
    expect(filesUnder(storeDir)).toBe(before);
    // The original is still the one that counts: its retry is still a quiet 202.
    expect(await submit(body)).toMatchObject({ status: 202, created: false });
  });

  it('holds a replacement through POST /v1/documents to the rules of the operator replace', async () => {
    const v1 = fresh();
    expect((await submit(v1)).status).toBe(202);
    const v2 = (over: Partial<SubmissionInput>): SubmissionInput => ({ ...v1, version: 2, replaces: { documentId: v1.documentId, version: 1 }, ...over });

    const orphan = fresh({ version: 2 });
    orphan.replaces = { documentId: orphan.documentId, version: 1 };
    expectRefused(await submit(orphan), 400, 'SUBMISSION_INVALID', 'replaces');

    expectRefused(await submit(v2({ replaces: { documentId: randomUUID(), version: 1 } })), 400, 'ITK3_BUILD_REJECTED', 'replaces.documentId');

    const otherPatient = v2({ patient: { ...v1.patient, nhsNumber: '9990000026' } });
    expectRefused(await submit(otherPatient), 400, 'SUBMISSION_INVALID', 'patient');

    expect(await h.temporal.workflow.count(`WorkflowId = '${deliveryWorkflowId(v1.documentId, 2)}'`)).toMatchObject({ count: 0 });
    const ok = await submit(v2({}));
    expect(ok).toMatchObject({ status: 202, created: true, workflowId: deliveryWorkflowId(v1.documentId, 2) });
  });
});
