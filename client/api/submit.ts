/**
 * Submitting a document: validate at the edge, refuse what a receiver must reject, store the
 * submission and its first attempt's message encrypted, and start (or find) its delivery workflow.
 * Used by the HTTP API.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  CourierError,
  ErrorType,
  SenderReferenceKey,
  SubmissionSchema,
  deliveryWorkflowId,
  firstAttemptSearchAttributes,
  replacementPatientIssues,
  senderMailboxIssues,
  type AckDeadlines,
  type Issue,
  type SendDocumentInput,
  type Submission,
} from '../../contracts';
import { DEFAULT_DEADLINE_BOUNDS, deadlineBoundProblems, type DeadlineBounds } from '../../contracts/deadline-bounds';
import { assertDryRun, buildOrRefuse } from '../../itk3';
import type { ActivityConfig } from '../../activities';
import { storeMessage } from '../../activities/stored-message';
import { senderReferenceDigest } from '../../activities/correlation';
import { deadlinePolicyFrom, resolveDeadlines, type DeadlinePolicy } from '../../config/deadlines';
import type { ContentStore } from '../../store/content-store';
import { stateQuery } from '../../workflows/definitions';
import { canonicalJson, sha256Hex, type IdempotencyStore } from './idempotency';
import { deliveryStaticDetails, deliveryStaticSummary } from '../../workflows/delivery-metadata';

export interface SubmitDeps {
  client: Client;
  store: ContentStore;
  activity: ActivityConfig;
  deadlines: AckDeadlines;
  /** Full deadline policy (config/deadlines.ts `loadDeadlinePolicy`); without it, `deadlines` plus defaults. */
  deadlinePolicy?: DeadlinePolicy;
  now?: () => Date;
  /** Durable Idempotency-Key records; required to accept the header. Also records each (document, version)'s content. */
  idempotency?: IdempotencyStore;
  /** What a submission's `deadlines` may set (config/deadlines.ts `deadlineBoundsFromEnv`); default the documented defaults. */
  deadlineBounds?: DeadlineBounds;
}

export interface SubmitOptions {
  /** Same key and same body: the same workflow. Same key, different body: IdempotencyConflict. */
  idempotencyKey?: string;
}

/** This document id and version was already submitted with different content (HTTP 409). */
export class SubmissionConflict extends Error {
  constructor(readonly workflowId: string) {
    super('this document id and version was already submitted with different content; a changed document is a new version (replaces) or an operator correction');
    this.name = 'SUBMISSION_CONFLICT';
  }
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
 * the requirement id, before anything is stored or sent. The dry run reads its own output back with the
 * inbound parser (itk3 `readBackIssues`), so nothing unparseable is ever accepted. Also used for
 * corrections and replacements.
 */
export function validateSubmission(deps: Pick<SubmitDeps, 'activity' | 'now' | 'deadlineBounds'>, body: unknown): Submission {
  const submission = checkSubmission(deps, body);
  assertDryRun(submission, deps.activity, (deps.now ?? (() => new Date()))());
  return submission;
}

/** Everything `validateSubmission` checks but the build. */
function checkSubmission(deps: Pick<SubmitDeps, 'activity' | 'deadlineBounds'>, body: unknown): Submission {
  const parsed = SubmissionSchema.safeParse(body);
  if (!parsed.success) {
    const issues: Issue[] = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new SubmissionRejected(ErrorType.SUBMISSION_INVALID, 'the submission is invalid', issues);
  }
  const submission = parsed.data;
  const issues: Issue[] = senderMailboxIssues(submission, deps.activity.senderMailboxes);
  // Bounded, so every deadline the workflow computes is a date it can compute and a timer worth setting.
  if (submission.deadlines) issues.push(...deadlineBoundProblems(submission.deadlines, deps.deadlineBounds ?? DEFAULT_DEADLINE_BOUNDS));
  if (issues.length > 0) throw new SubmissionRejected(ErrorType.SUBMISSION_INVALID, 'the submission is invalid', issues);
  return submission;
}

/** The record key of a (document, version): its content hash, claimed like an Idempotency-Key. */
const contentKey = (workflowId: string): string => `delivery-content:${workflowId}`;

/**
 * A replacement submitted as a new document follows the rules of the operator's `replace` update: the
 * same document id (checked by the builder), the version it replaces exists as a delivery of ours, and it
 * is about the same patient (GPCM-SD-126..132: the receiver archives the replaced document under the
 * replacement, so a different patient's document would overwrite this patient's record).
 */
async function replacementIssues(deps: SubmitDeps, submission: Submission): Promise<Issue[]> {
  const replaces = submission.replaces;
  if (!replaces) return [];
  const earlierId = deliveryWorkflowId(replaces.documentId, replaces.version);
  let earlierRef;
  try {
    const state = await deps.client.workflow.getHandle(earlierId).query(stateQuery);
    earlierRef = state.attempts[0]?.submissionRef ?? state.submissionRef;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      return [{ path: 'replaces', message: `no delivery of version ${replaces.version} of this document exists to be replaced`, requirementId: 'GPCM-SD-132' }];
    }
    throw err;
  }
  const earlier = SubmissionSchema.safeParse(JSON.parse((await deps.store.get(earlierRef)).toString('utf8')));
  if (!earlier.success) return [{ path: 'replaces', message: 'the replaced version cannot be read' }];
  return replacementPatientIssues(earlier.data, submission);
}

/** The content hashes (sha256 of the stored JSON) of every submission an existing delivery has carried. */
async function storedContentHashes(deps: SubmitDeps, workflowId: string): Promise<Set<string> | undefined> {
  try {
    const state = await deps.client.workflow.getHandle(workflowId).query(stateQuery);
    return new Set([state.submissionRef.sha256, ...state.attempts.flatMap((a) => (a.submissionRef ? [a.submissionRef.sha256] : []))]);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export async function submitDocument(deps: SubmitDeps, body: unknown, opts: SubmitOptions = {}): Promise<SubmitResult> {
  const submission = checkSubmission(deps, body);
  const now = (deps.now ?? (() => new Date()))();
  // The first attempt is built here, once: the check every submission gets (refuse at the edge what a
  // receiver must reject) is this build, and it is stored for the worker to post as it is. Its ids are chosen
  // here too, so that its search attributes are set at start, not by an upsert from the workflow
  // (contracts/search-attributes.ts firstAttemptSearchAttributes).
  const firstIds = { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() };
  const built = buildOrRefuse(submission, deps.activity, now, firstIds, randomUUID);
  const workflowId = deliveryWorkflowId(submission.documentId, submission.version);
  const stored = Buffer.from(JSON.stringify(submission));
  const bodyHash = sha256Hex(canonicalJson(submission));
  const started = (): Promise<boolean> => deps.client.workflow.getHandle(workflowId).describe().then(() => true, () => false);
  if (opts.idempotencyKey !== undefined) {
    if (!deps.idempotency) throw new Error('Idempotency-Key is not supported by this deployment');
    const claim = await deps.idempotency.reserve(opts.idempotencyKey, bodyHash, workflowId, now);
    if (claim.outcome === 'conflict') throw new IdempotencyConflict(claim.record.workflowId);
    // A retry: if the first request got as far as starting the workflow, answer with it and store nothing.
    if (claim.outcome === 'same' && (await started())) return { workflowId, created: false };
  }
  // The same document id and version with different content is a conflict, as with an Idempotency-Key:
  // a changed document is a new version or an operator correction, never a silent no-op. Decided before
  // anything is stored, from a record claimed atomically (two racing bodies cannot both win); for a
  // delivery started without such a record, from the hashes of the content it carried, once the start
  // has found it (its stored copy of the refused content is then never referenced).
  const claim = deps.idempotency ? await deps.idempotency.reserve(contentKey(workflowId), bodyHash, workflowId, now) : undefined;
  if (claim?.outcome === 'conflict') throw new SubmissionConflict(workflowId);
  // The same content again: if it was started, answer with it and store nothing.
  if (claim?.outcome === 'same' && (await started())) return { workflowId, created: false };
  const replacement = await replacementIssues(deps, submission);
  if (replacement.length > 0) {
    await deps.idempotency?.release(contentKey(workflowId));
    throw new SubmissionRejected(ErrorType.SUBMISSION_INVALID, 'the replacement is invalid', replacement);
  }
  const submissionRef = await deps.store.put('submission', stored);
  const { messageRef } = await storeMessage(deps.store, built, deps.activity.routing, submission.recipient.odsCode);
  const firstAttempt = { ...firstIds, messageRef };
  const input: SendDocumentInput = {
    documentId: submission.documentId,
    version: submission.version,
    senderOds: submission.sender.odsCode,
    recipientOds: submission.recipient.odsCode,
    submissionRef,
    // Defaults, then per recipient ODS, then per submission (config/deadlines.ts).
    deadlines: resolveDeadlines(deps.deadlinePolicy ?? deadlinePolicyFrom(deps.deadlines), submission.recipient.odsCode, submission.deadlines),
    deadlineBounds: deps.deadlineBounds ?? DEFAULT_DEADLINE_BOUNDS,
    submittedAt: now.toISOString(),
    firstAttempt,
    // Build and send each attempt in one activity (contracts/delivery.ts).
    sendInOneActivity: true,
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
      staticSummary: deliveryStaticSummary(input),
      staticDetails: deliveryStaticDetails({ ...input, workflowId }, deps.activity.profile),
      typedSearchAttributes: [
        ...firstAttemptSearchAttributes({
          recipientOds: submission.recipient.odsCode,
          senderOds: submission.sender.odsCode,
          messageHeaderId: firstAttempt.messageHeaderId,
        }),
        // Second correlation key for ITK3 Responses. The encounter id is submitter
        // free text and visibility is plain text: only its keyed hash goes there (activities/correlation.ts).
        { key: SenderReferenceKey, value: senderReferenceDigest(submission.encounter.id, deps.activity.correlationKey) },
      ],
    });
    return { workflowId, created: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // Started already, though no record said so: a delivery from before these records existed, or whose
    // record was lost. Its own content decides. Asked only here, not before every start, because this is
    // rare and the question costs the server a lookup of the workflow on every submission.
    const earlier = await storedContentHashes(deps, workflowId);
    if (earlier && !earlier.has(submissionRef.sha256)) {
      await deps.idempotency?.release(contentKey(workflowId));
      throw new SubmissionConflict(workflowId);
    }
    return { workflowId, created: false };
  }
}
