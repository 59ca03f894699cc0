/**
 * Submitting a document: validate at the edge, refuse what a receiver must reject, store the
 * submission encrypted, and start (or find) its delivery workflow. Used by the HTTP API.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import {
  CourierError,
  ErrorType,
  SenderReferenceKey,
  SubmissionSchema,
  deliveryWorkflowId,
  firstAttemptSearchAttributes,
  type AckDeadlines,
  type Issue,
  type SendDocumentInput,
  type Submission,
} from '../contracts';
import { buildSendDocumentMessage } from '../itk3';
import type { ActivityConfig } from '../activities';
import { senderReferenceDigest } from '../activities/correlation';
import { deadlinePolicyFrom, resolveDeadlines, type DeadlinePolicy } from '../config/deadlines';
import type { ContentStore } from '../store/content-store';
import { canonicalJson, sha256Hex, type IdempotencyStore } from './idempotency';

export interface SubmitDeps {
  client: Client;
  store: ContentStore;
  activity: ActivityConfig;
  deadlines: AckDeadlines;
  /** Full deadline policy (config/deadlines.ts `loadDeadlinePolicy`); without it, `deadlines` plus defaults. */
  deadlinePolicy?: DeadlinePolicy;
  now?: () => Date;
  /** Durable Idempotency-Key records; required to accept the header. */
  idempotency?: IdempotencyStore;
}

export interface SubmitOptions {
  /** Same key and same body: the same workflow. Same key, different body: IdempotencyConflict. */
  idempotencyKey?: string;
}

/** The Idempotency-Key was first used with a different body (HTTP 409). */
export class IdempotencyConflict extends Error {
  constructor(readonly workflowId: string) {
    super('this Idempotency-Key was already used with a different body');
    this.name = 'IDEMPOTENCY_KEY_REUSED';
  }
}

export interface SubmitResult {
  workflowId: string;
  created: boolean;
}

export class SubmissionRejected extends CourierError {}

/**
 * Validates a submission and dry-runs the builder: whatever a receiver must reject is refused here, with
 * the requirement id, before anything is stored or sent. Also used for corrections and replacements.
 */
export function validateSubmission(deps: Pick<SubmitDeps, 'activity' | 'now'>, body: unknown): Submission {
  const parsed = SubmissionSchema.safeParse(body);
  if (!parsed.success) {
    const issues: Issue[] = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new SubmissionRejected(ErrorType.SUBMISSION_INVALID, 'the submission is invalid', issues);
  }
  const submission = parsed.data;
  const now = (deps.now ?? (() => new Date()))();
  buildSendDocumentMessage({
    submission,
    profile: deps.activity.profile,
    ids: { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() },
    newId: randomUUID,
    now: now.toISOString(),
    routing: deps.activity.routing,
    maxMessageBytes: deps.activity.maxMessageBytes,
  });
  return submission;
}

export async function submitDocument(deps: SubmitDeps, body: unknown, opts: SubmitOptions = {}): Promise<SubmitResult> {
  const submission = validateSubmission(deps, body);
  const now = (deps.now ?? (() => new Date()))();
  const workflowId = deliveryWorkflowId(submission.documentId, submission.version);
  if (opts.idempotencyKey !== undefined) {
    if (!deps.idempotency) throw new Error('Idempotency-Key is not supported by this deployment');
    const claim = await deps.idempotency.reserve(opts.idempotencyKey, sha256Hex(canonicalJson(submission)), workflowId, now);
    if (claim.outcome === 'conflict') throw new IdempotencyConflict(claim.record.workflowId);
    if (claim.outcome === 'same') {
      // A retry: if the first request got as far as starting the workflow, answer with it and store nothing.
      const started = await deps.client.workflow.getHandle(workflowId).describe().then(() => true, () => false);
      if (started) return { workflowId, created: false };
    }
  }
  const submissionRef = await deps.store.put('submission', Buffer.from(JSON.stringify(submission)));
  // The first attempt's ids are chosen here so that its search attributes are set at start, not by an
  // upsert from the workflow (contracts/search-attributes.ts firstAttemptSearchAttributes).
  const firstAttempt = { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() };
  const input: SendDocumentInput = {
    documentId: submission.documentId,
    version: submission.version,
    senderOds: submission.sender.odsCode,
    recipientOds: submission.recipient.odsCode,
    submissionRef,
    // Defaults, then per recipient ODS, then per submission (config/deadlines.ts).
    deadlines: resolveDeadlines(deps.deadlinePolicy ?? deadlinePolicyFrom(deps.deadlines), submission.recipient.odsCode, submission.deadlines),
    submittedAt: now.toISOString(),
    firstAttempt,
    ...(submission.replaces
      ? { replaces: { ...submission.replaces, workflowId: deliveryWorkflowId(submission.replaces.documentId, submission.replaces.version) } }
      : {}),
  };
  try {
    await deps.client.workflow.start('sendDocumentWorkflow', {
      workflowId,
      taskQueue: deps.activity.taskQueue,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        ...firstAttemptSearchAttributes({
          recipientOds: submission.recipient.odsCode,
          senderOds: submission.sender.odsCode,
          messageHeaderId: firstAttempt.messageHeaderId,
        }),
        // Second correlation key for ITK3 Responses (reference/itk3.md §4.5). The encounter id is submitter
        // free text and visibility is plain text: only its keyed hash goes there (activities/correlation.ts).
        { key: SenderReferenceKey, value: senderReferenceDigest(submission.encounter.id, deps.activity.correlationKey) },
      ],
    });
    return { workflowId, created: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, created: false };
    throw err;
  }
}
