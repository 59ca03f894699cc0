/**
 * The pieces around the delivery workflow that need no Temporal server: deadline resolution (defaults,
 * then per recipient ODS, then per submission), what `submitDocument` puts into the workflow input, and
 * the `checkStoredSubmission` activity behind the correct/replace updates. Synthetic fixtures only.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { createSubmissionCheckActivities } from '../../activities/submission-check';
import { submitDocument } from '../../client/api/submit';
import { DEFAULT_DELIVERY_DEADLINES, DeadlineConfigError, deadlinePolicyFrom, loadDeadlinePolicy, resolveDeadlines } from '../../config/deadlines';
import type { StoredMessage } from '../../activities';
import type { ContentRef, SendDocumentInput } from '../../contracts';
import { DOCUMENT_ID, PATIENTS, submission } from '../fixtures/itk3/submissions';
import { MemoryStore } from '../helpers/memory-store';
import { TEST_ACTIVITY_CONFIG } from '../helpers/activity-config';

const HOUR = 3_600_000;
const ACK = { infrastructureAckMs: 4 * HOUR, businessAckMs: 48 * HOUR };

const activityConfig = TEST_ACTIVITY_CONFIG;

describe('deadline configuration', () => {
  it('uses the acknowledgement defaults from configuration and the documented defaults for the rest', () => {
    expect(loadDeadlinePolicy(ACK, {})).toEqual({ defaults: { ...DEFAULT_DELIVERY_DEADLINES, ...ACK }, byRecipientOds: {} });
  });

  it('reads reminder interval, windows and per-recipient overrides from the environment', () => {
    const policy = loadDeadlinePolicy(ACK, {
      ITK3_ESCALATION_REMINDER_INTERVAL: '8h',
      ITK3_REPLACEMENT_WINDOW: '12h',
      ITK3_DECISION_WINDOW: '3d',
      ITK3_DEADLINES_BY_RECIPIENT: JSON.stringify({ B86022: { infrastructureAck: '8h', businessAck: '5d' } }),
    });
    expect(policy.defaults).toEqual({ ...ACK, reminderIntervalMs: 8 * HOUR, replacementWindowMs: 12 * HOUR, decisionWindowMs: 72 * HOUR });
    expect(policy.byRecipientOds).toEqual({ B86022: { infrastructureAckMs: 8 * HOUR, businessAckMs: 120 * HOUR } });
  });

  it('reports every problem at once, naming the variable and never echoing the value', () => {
    let error: unknown;
    try {
      loadDeadlinePolicy(ACK, { ITK3_ESCALATION_REMINDER_INTERVAL: 'soon', ITK3_DEADLINES_BY_RECIPIENT: '{"b86022": {"infrastructureAck": "x"}}' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DeadlineConfigError);
    const problems = (error as DeadlineConfigError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'ITK3_ESCALATION_REMINDER_INTERVAL: must be a duration such as 30s, 15m, 4h or 2d',
        expect.stringMatching(/^ITK3_DEADLINES_BY_RECIPIENT/),
      ]),
    );
    expect(problems.join('\n')).not.toContain('soon');
  });

  it('resolves defaults, then the recipient override, then the submission override', () => {
    const policy = { defaults: { ...DEFAULT_DELIVERY_DEADLINES, ...ACK }, byRecipientOds: { B86022: { infrastructureAckMs: 8 * HOUR, businessAckMs: 120 * HOUR } } };
    expect(resolveDeadlines(policy, 'A99999')).toEqual(policy.defaults);
    expect(resolveDeadlines(policy, 'b86022')).toEqual({ ...policy.defaults, infrastructureAckMs: 8 * HOUR, businessAckMs: 120 * HOUR });
    expect(resolveDeadlines(policy, 'B86022', { infrastructureAckMs: HOUR })).toEqual({ ...policy.defaults, infrastructureAckMs: HOUR, businessAckMs: 120 * HOUR });
  });
});

describe('submitDocument: the workflow input', () => {
  /** A client that knows only the deliveries in `existing` (workflow id -> the submission ref of its state). */
  async function submitAndCapture(body: unknown, policy = deadlinePolicyFrom(ACK), existing: Record<string, ContentRef> = {}, store = new MemoryStore()): Promise<SendDocumentInput> {
    let started: { args: [SendDocumentInput] } | undefined;
    const handle = (id: string) => ({
      query: async () => {
        const ref = existing[id];
        if (!ref) throw new WorkflowNotFoundError('not found', id, undefined);
        return { submissionRef: ref, attempts: [{ submissionRef: ref }] };
      },
      describe: async () => {
        if (!existing[id]) throw new WorkflowNotFoundError('not found', id, undefined);
        return {};
      },
    });
    const client = { workflow: { getHandle: handle, start: async (_type: string, options: { args: [SendDocumentInput] }) => void (started = options) } } as unknown as Client;
    await submitDocument({ client, store, activity: activityConfig, deadlines: ACK, deadlinePolicy: policy }, body);
    return started!.args[0];
  }

  it('carries the resolved deadlines (per-submission override wins) and only a content reference', async () => {
    const policy = { ...deadlinePolicyFrom(ACK), byRecipientOds: { A99999: { businessAckMs: 72 * HOUR } } };
    const input = await submitAndCapture({ ...submission(), deadlines: { infrastructureAckMs: 2 * HOUR } }, policy);
    expect(input.deadlines).toEqual({ ...DEFAULT_DELIVERY_DEADLINES, infrastructureAckMs: 2 * HOUR, businessAckMs: 72 * HOUR });
    expect(JSON.stringify(input)).not.toContain('9990000018'); // the patient stays in the store
    expect(input.submissionRef.key).toMatch(/^submission\//);
    expect(input.replaces).toBeUndefined();
  });

  it('asks for each attempt to be built and sent in one activity', async () => {
    expect((await submitAndCapture(submission())).sendInOneActivity).toBe(true);
  });

  it('carries the first attempt built from what was checked, stored under its ids', async () => {
    const store = new MemoryStore();
    const input = await submitAndCapture(submission(), deadlinePolicyFrom(ACK), {}, store);
    const first = input.firstAttempt!;
    expect(first.messageRef?.key).toMatch(/^itk3-message\//);
    const stored = JSON.parse((await store.get(first.messageRef!)).toString('utf8')) as StoredMessage;
    // The message a worker will post: built with the ids the workflow gets, for the submission's recipient.
    expect(stored.xml).toContain(first.messageHeaderId);
    expect(stored.xml).toContain(first.bundleIdentifier);
    expect(stored).toMatchObject({ routing: activityConfig.routing.mode, recipientOds: submission().recipient.odsCode });
    expect(stored.mesh.fileName).toContain(first.bundleIdentifier);
  });

  it('stores nothing and starts nothing for a submission the build refuses', async () => {
    const store = new MemoryStore();
    // Restricted confidentiality is refused by the 2.x build, not by the submission schema.
    await expect(submitAndCapture(submission({ confidentiality: 'R' }), deadlinePolicyFrom(ACK), {}, store)).rejects.toMatchObject({ type: 'ITK3_BUILD_REJECTED' });
    expect(store.items.size).toBe(0);
  });

  it('names the delivery a replacement replaces', async () => {
    const store = new MemoryStore();
    const v1 = await store.put('submission', Buffer.from(JSON.stringify(submission())));
    const input = await submitAndCapture(submission({ version: 2, replaces: { documentId: DOCUMENT_ID, version: 1 } }), deadlinePolicyFrom(ACK), { [`send-document-${DOCUMENT_ID}-v1`]: v1 }, store);
    expect(input.replaces).toEqual({ documentId: DOCUMENT_ID, version: 1, workflowId: `send-document-${DOCUMENT_ID}-v1` });
  });
});

describe('checkStoredSubmission activity', () => {
  const store = new MemoryStore();
  const { checkStoredSubmission } = createSubmissionCheckActivities({ store, config: activityConfig });
  const stored = (body: unknown) => store.put('submission', Buffer.from(JSON.stringify(body)));

  it('accepts a correction with the same document id and version, and reports the route', async () => {
    const ref = await stored(submission({ recipient: { odsCode: 'B86022' } }));
    expect(await checkStoredSubmission({ submissionRef: ref, purpose: 'CORRECTION', documentId: DOCUMENT_ID, version: 1 })).toEqual({
      valid: true,
      issues: [],
      senderOds: 'Y12345',
      recipientOds: 'B86022',
      version: 1,
    });
  });

  it('refuses a correction that changes the version or fails what a receiver would reject', async () => {
    const ref = await stored(submission({ version: 2, confidentiality: 'R', replaces: { documentId: DOCUMENT_ID, version: 1 } }));
    const result = await checkStoredSubmission({ submissionRef: ref, purpose: 'CORRECTION', documentId: DOCUMENT_ID, version: 1 });
    expect(result.valid).toBe(false);
    expect(result.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['version', 'confidentiality']));
    expect(JSON.stringify(result)).not.toContain('9990000018');
  });

  it('accepts a replacement only as version + 1 naming the version it replaces', async () => {
    const good = await stored(submission({ version: 2, replaces: { documentId: DOCUMENT_ID, version: 1 } }));
    expect((await checkStoredSubmission({ submissionRef: good, purpose: 'REPLACEMENT', documentId: DOCUMENT_ID, version: 1 })).valid).toBe(true);
    const same = await stored(submission());
    const refused = await checkStoredSubmission({ submissionRef: same, purpose: 'REPLACEMENT', documentId: DOCUMENT_ID, version: 1 });
    expect(refused.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'version', requirementId: 'GPCM-SD-098' }),
        expect.objectContaining({ path: 'replaces', requirementId: 'GPCM-SD-127' }),
      ]),
    );
  });

  it('refuses a replacement about another patient, and a sender mailbox that is not ours', async () => {
    const current = await stored(submission());
    const otherPatient = await stored(submission({ version: 2, replaces: { documentId: DOCUMENT_ID, version: 1 }, patient: PATIENTS.bob }));
    const r1 = await checkStoredSubmission({ submissionRef: otherPatient, purpose: 'REPLACEMENT', documentId: DOCUMENT_ID, version: 1, currentSubmissionRef: current });
    expect(r1.valid).toBe(false);
    expect(r1.issues).toContainEqual(expect.objectContaining({ path: 'patient', requirementId: 'GPCM-SD-126' }));
    expect(JSON.stringify(r1)).not.toContain(PATIENTS.bob.nhsNumber);
    const samePatient = await stored(submission({ version: 2, replaces: { documentId: DOCUMENT_ID, version: 1 } }));
    expect((await checkStoredSubmission({ submissionRef: samePatient, purpose: 'REPLACEMENT', documentId: DOCUMENT_ID, version: 1, currentSubmissionRef: current })).valid).toBe(true);
    const foreign = await stored(submission({ sender: { ...submission().sender, meshMailbox: 'X26OTHER9' } }));
    const r2 = await checkStoredSubmission({ submissionRef: foreign, purpose: 'CORRECTION', documentId: DOCUMENT_ID, version: 1 });
    expect(r2.issues).toContainEqual(expect.objectContaining({ path: 'sender.meshMailbox' }));
  });

  it('answers with an issue, not a failure, when the content is missing or not a submission', async () => {
    const missing = await checkStoredSubmission({ submissionRef: { key: 'submission/none', sha256: 'a'.repeat(64), size: 1 }, purpose: 'CORRECTION', documentId: DOCUMENT_ID, version: 1 });
    expect(missing).toEqual({ valid: false, issues: [{ path: 'submissionRef', message: 'STORE_NOT_FOUND: the stored submission cannot be read' }] });
    const junk = await store.put('submission', Buffer.from('not json'));
    expect((await checkStoredSubmission({ submissionRef: junk, purpose: 'CORRECTION', documentId: DOCUMENT_ID, version: 1 })).issues).toEqual([
      { path: 'submissionRef', message: 'the stored submission is not JSON' },
    ]);
    const other = await stored(submission({ documentId: '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b' }));
    expect((await checkStoredSubmission({ submissionRef: other, purpose: 'CORRECTION', documentId: DOCUMENT_ID, version: 1 })).issues).toEqual([
      { path: 'documentId', message: 'must be the document id of this delivery' },
    ]);
  });
});
