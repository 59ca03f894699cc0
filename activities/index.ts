/**
 * Activities: every effect on the world (content store, MESH, Temporal signals, notifications).
 * `createActivities(deps)` takes everything it touches as arguments, so tests can hand it real or fake
 * dependencies and workflows import only its type (STYLE.md §3).
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import {
  CourierError,
  SubmissionSchema,
  type BuildItk3MessageInput,
  type BuildItk3MessageResult,
  type PollMeshInboxInput,
  type PollMeshInboxResult,
  type SendMeshMessageInput,
  type SendMeshMessageResult,
  type SpecProfile,
} from '../contracts';
import type { ContentStore } from '../store/content-store';
import { buildSendDocumentMessage } from '../itk3';
import type { MeshClient } from '../mesh';
import { routeInboxMessage } from './inbound';
import { createEscalationActivities } from './escalation';
import { createSubmissionCheckActivities } from './submission-check';
import type { Notifier } from './notify/types';

export interface ActivityConfig {
  profile: SpecProfile;
  routing: { mode: 'gpprovider'; dobFormat: 'DDMMYYYY' | 'YYYYMMDD' } | { mode: 'mailbox'; mailboxId: string };
  maxMessageBytes: number;
  namespace: string;
  taskQueue: string;
}

export interface ActivityDeps {
  config: ActivityConfig;
  store: ContentStore;
  mesh: MeshClient;
  temporal: Client;
  logger: Logger;
  now?: () => Date;
  /** Escalation channels besides the log (webhook, e-mail): activities/notify. */
  notifiers?: readonly Notifier[];
  onNotified?: (channel: string, kind: string, outcome: 'sent' | 'failed') => void;
}

/** What the store holds for one built attempt: the XML and the MESH metadata it must go with. */
export interface StoredMessage {
  xml: string;
  mesh: { to: string; workflowId: string; subject: string; localId: string; fileName: string; contentType: string };
}

/** The activity edge: our typed errors become ApplicationFailures with the catalogue type (STYLE.md §5). */
export function toFailure(err: unknown): unknown {
  if (err instanceof CourierError) {
    const retryAfterMs = (err as { retryAfterMs?: number }).retryAfterMs;
    return ApplicationFailure.create({
      message: err.message,
      type: err.type,
      nonRetryable: !err.retryable,
      details: [err.issues],
      ...(retryAfterMs ? { nextRetryDelay: retryAfterMs } : {}),
    });
  }
  return err;
}

async function atEdge<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? (() => new Date());

  return {
    /** Builds one attempt's ITK3 message from the stored submission and stores the result encrypted. */
    async buildItk3Message(input: BuildItk3MessageInput): Promise<BuildItk3MessageResult> {
      return atEdge(async () => {
        const submission = SubmissionSchema.parse(JSON.parse((await deps.store.get(input.submissionRef)).toString('utf8')));
        const built = buildSendDocumentMessage({
          submission,
          profile: deps.config.profile,
          ids: { messageHeaderId: input.messageHeaderId, bundleIdentifier: input.bundleIdentifier },
          newId: randomUUID,
          now: now().toISOString(),
          routing: deps.config.routing,
          maxMessageBytes: deps.config.maxMessageBytes,
        });
        const stored: StoredMessage = { xml: built.xml, mesh: built.mesh };
        const messageRef = await deps.store.put('itk3-message', Buffer.from(JSON.stringify(stored)));
        return { messageRef, sizeBytes: built.sizeBytes, meshWorkflowId: built.mesh.workflowId };
      });
    },

    /** Sends one built attempt through MESH. The MESH client never blindly re-posts a first chunk. */
    async sendMeshMessage(input: SendMeshMessageInput): Promise<SendMeshMessageResult> {
      return atEdge(async () => {
        const stored = JSON.parse((await deps.store.get(input.messageRef)).toString('utf8')) as StoredMessage;
        const { messageId } = await deps.mesh.sendMessage({
          to: stored.mesh.to,
          workflowId: stored.mesh.workflowId,
          body: stored.xml,
          subject: stored.mesh.subject,
          localId: stored.mesh.localId,
          fileName: stored.mesh.fileName,
          contentType: stored.mesh.contentType,
        });
        deps.logger.info({ meshMessageId: messageId, attempt: input.attempt, messageHeaderId: input.messageHeaderId }, 'ITK3 message sent via MESH');
        return { meshMessageId: messageId, sentAt: now().toISOString() };
      });
    },

    ...createEscalationActivities(deps),

    ...createSubmissionCheckActivities({ ...deps, now }),

    /** One pass over a MESH inbox: route every message to its workflow, and only then acknowledge it. */
    async pollMeshInbox(input: PollMeshInboxInput): Promise<PollMeshInboxResult> {
      return atEdge(async () => {
        const ids = await deps.mesh.listInbox();
        const result: PollMeshInboxResult = { listed: ids.length, routed: 0, reports: 0, unmatched: 0, morePending: ids.length >= 500 };
        for (const id of ids) {
          if (Context.current().cancellationSignal.aborted) break;
          const outcome = await routeInboxMessage(deps, id, now);
          if (outcome === 'routed') result.routed++;
          else if (outcome === 'report') result.reports++;
          else result.unmatched++;
          heartbeat({ done: result.routed + result.reports + result.unmatched });
        }
        if (result.listed > 0) deps.logger.info({ mailboxId: input.mailboxId, ...result }, 'MESH inbox polled');
        return result;
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
