/**
 * Submitting a document: validate at the edge, refuse what a receiver must reject, store the
 * submission encrypted, and start (or find) its delivery workflow. Used by the HTTP API.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import {
  CourierError,
  DeliveryStatusKey,
  ErrorType,
  RecipientOdsKey,
  SenderOdsKey,
  SubmissionSchema,
  deliveryWorkflowId,
  type AckDeadlines,
  type Issue,
  type SendDocumentInput,
} from '../contracts';
import { buildSendDocumentMessage } from '../itk3';
import type { ActivityConfig } from '../activities';
import { deadlinePolicyFrom, resolveDeadlines, type DeadlinePolicy } from '../config/deadlines';
import type { ContentStore } from '../store/content-store';

export interface SubmitDeps {
  client: Client;
  store: ContentStore;
  activity: ActivityConfig;
  deadlines: AckDeadlines;
  /** Full deadline policy (config/deadlines.ts `loadDeadlinePolicy`); without it, `deadlines` plus defaults. */
  deadlinePolicy?: DeadlinePolicy;
  now?: () => Date;
}

export interface SubmitResult {
  workflowId: string;
  created: boolean;
}

export class SubmissionRejected extends CourierError {}

export async function submitDocument(deps: SubmitDeps, body: unknown): Promise<SubmitResult> {
  const parsed = SubmissionSchema.safeParse(body);
  if (!parsed.success) {
    const issues: Issue[] = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new SubmissionRejected(ErrorType.SUBMISSION_INVALID, 'the submission is invalid', issues);
  }
  const submission = parsed.data;
  const now = (deps.now ?? (() => new Date()))();
  // Dry run of the builder: whatever a receiver must reject is refused here, with the requirement id,
  // before anything is stored or sent.
  buildSendDocumentMessage({
    submission,
    profile: deps.activity.profile,
    ids: { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() },
    newId: randomUUID,
    now: now.toISOString(),
    routing: deps.activity.routing,
    maxMessageBytes: deps.activity.maxMessageBytes,
  });

  const workflowId = deliveryWorkflowId(submission.documentId, submission.version);
  const submissionRef = await deps.store.put('submission', Buffer.from(JSON.stringify(submission)));
  const input: SendDocumentInput = {
    documentId: submission.documentId,
    version: submission.version,
    senderOds: submission.sender.odsCode,
    recipientOds: submission.recipient.odsCode,
    submissionRef,
    // Defaults, then per recipient ODS, then per submission (config/deadlines.ts).
    deadlines: resolveDeadlines(deps.deadlinePolicy ?? deadlinePolicyFrom(deps.deadlines), submission.recipient.odsCode, submission.deadlines),
    submittedAt: now.toISOString(),
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
        { key: DeliveryStatusKey, value: 'SENDING' },
        { key: RecipientOdsKey, value: submission.recipient.odsCode },
        { key: SenderOdsKey, value: submission.sender.odsCode },
      ],
    });
    return { workflowId, created: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, created: false };
    throw err;
  }
}
