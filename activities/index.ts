/**
 * Activities: every effect on the world (content store, MESH, Temporal signals, notifications).
 * `createActivities(deps)` takes everything it touches as arguments, so tests can hand it real or fake
 * dependencies and workflows import only its type.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  CourierError,
  ErrorType,
  SubmissionSchema,
  type BuildItk3MessageInput,
  type BuildItk3MessageResult,
  type SendMeshMessageInput,
  type SendMeshMessageResult,
  type SpecProfile,
} from '../contracts';
import type { ContentStore } from '../store/content-store';
import type { KeyRing } from '../config/env';
import type { VerifyActorTokenInput, VerifyActorTokenResult } from '../contracts';
import { verifyActorToken } from './actor-token';
import { buildSendDocumentMessage } from '../itk3';
import { MeshError, type MeshClient } from '../mesh';
import {
  createInboundActivities,
  temporalInbound,
  type InboundActivityDeps,
  type InboundHooks,
  type InboundTemporal,
  type InboxMesh,
  type SenderChecks,
} from './inbound';
import { createQuarantineActivities } from './quarantine';
import { SentMessageIndex } from './sent-index';
import { createEscalationActivities } from './escalation';
import { createSubmissionCheckActivities } from './submission-check';
import { createConsultationActivities } from './consultation';
import { createTrackingActivities } from './tracking';
import type { Notifier } from './notify/types';

export interface ActivityConfig {
  /** Keys that verify operator-update actor tokens (ITK3_ACTOR_KEYS); without them no token verifies. */
  actorKeys?: KeyRing;
  profile: SpecProfile;
  routing: { mode: 'gpprovider'; dobFormat: 'DDMMYYYY' | 'YYYYMMDD' } | { mode: 'mailbox'; mailboxId: string };
  maxMessageBytes: number;
  namespace: string;
  taskQueue: string;
  /**
   * HMAC key for the SenderReference search attribute (ITK3_CORRELATION_KEY): the API, the replace path
   * and the inbound router must share it. Absent: the local development key (config/env.ts refuses that
   * in production).
   */
  correlationKey?: string;
  /**
   * The MESH mailboxes this deployment owns (MESH_MAILBOX_ID and MESH_MAILBOXES): a submission's
   * `sender.meshMailbox` (where the practice's acknowledgements go) must be one of them.
   */
  senderMailboxes: readonly string[];
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
  /** Inbound: MESH clients of every polled mailbox by id; default `mesh` for its own mailbox. */
  inboxes?: ReadonlyMap<string, InboxMesh>;
  /** Delays before an unmatched quarantined message is correlated again (config ITK3_QUARANTINE_REMATCH). */
  rematchDelaysMs?: number[];
  inboundHooks?: InboundHooks;
  /** Replace the Temporal side of inbound routing (unit tests). */
  inboundPort?: InboundTemporal;
  /** ITK3 ids this worker sent, for routing their responses without a visibility query (default: a new one). */
  sentIndex?: SentMessageIndex;
}

/**
 * Heartbeat of `sendMeshMessage`, for the next attempt: the step reached, the message id once MESH gave one,
 * and the latest instant (MESH's clock) before which a complete search found nothing with this file name.
 */
const SendHeartbeatSchema = z.object({ step: z.string(), messageId: z.string().min(1).optional(), notBefore: z.iso.datetime().optional() });
type SendHeartbeat = z.infer<typeof SendHeartbeatSchema>;
/** Heartbeat at least this often while sending (the workflow's heartbeat timeout is 30 s). */
const HEARTBEAT_EVERY_MS = 5_000;

/**
 * When an attempt stops itself: before the server's start-to-close timeout (counted from the server's start,
 * a little before ours), so that it is never still running, and able to post, when the next attempt starts.
 */
export function localDeadlineMs(startToCloseTimeoutMs: number): number {
  return Math.max(startToCloseTimeoutMs / 2, startToCloseTimeoutMs - 30_000);
}

/** What the store holds for one built attempt: the XML and the MESH metadata it must go with. */
export interface StoredMessage {
  xml: string;
  mesh: { to: string; workflowId: string; subject: string; localId: string; fileName: string; contentType: string };
  /** How `mesh.to` addresses the practice, and the practice's ODS code (absent in messages stored before). */
  routing?: 'mailbox' | 'gpprovider';
  recipientOds?: string;
}

/** The activity edge: our typed errors become ApplicationFailures with the catalogue type. */
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

/** Wrap every function of an activity group with the edge conversion. */
function atEdgeAll<T extends Record<string, (input: never) => Promise<unknown>>>(group: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(group)) out[name] = (input: never) => atEdge(() => fn(input));
  return out as T;
}

/**
 * GPPROVIDER routing: MESH picks the practice's mailbox, so who may answer an attempt is learned once per
 * attempt: this worker's record, then the workflow's (it keeps what the first response taught it), then one
 * MESH outbox tracking call (this mailbox sent the message; tracking names its `recipient`). What is learned
 * is kept in the sent index, so the second response of the attempt costs nothing.
 */
export function recipientMailboxLearner(deps: {
  sentIndex: SentMessageIndex;
  port: Pick<InboundTemporal, 'deliveryState'>;
  mesh: Pick<MeshClient, 'trackMessage'>;
}): NonNullable<SenderChecks['learnRecipientMailbox']> {
  return async (workflowId, messageHeaderId) => {
    const known = deps.sentIndex.entryOf(messageHeaderId);
    if (known?.recipientMailbox) return known.recipientMailbox;
    const attempt = (await deps.port.deliveryState(workflowId))?.attempts.find((a) => a.messageHeaderId === messageHeaderId);
    let mailbox = attempt?.recipientMailbox;
    const meshMessageId = attempt?.meshMessageId ?? known?.meshMessageId;
    if (!mailbox && meshMessageId) mailbox = (await deps.mesh.trackMessage(meshMessageId)).recipient?.trim().toUpperCase() || undefined;
    if (mailbox) deps.sentIndex.learn(messageHeaderId, { recipientMailbox: mailbox });
    return mailbox;
  };
}

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const inboxes = deps.inboxes ?? new Map<string, InboxMesh>([[deps.mesh.mailbox, deps.mesh]]);
  const sentIndex = deps.sentIndex ?? new SentMessageIndex();
  const inboundPort = deps.inboundPort ?? temporalInbound(deps.temporal, deps.config.taskQueue, sentIndex);
  const routing = deps.config.routing;
  const checks: SenderChecks = {
    routing: routing.mode === 'mailbox' ? { mode: 'mailbox', mailboxId: routing.mailboxId } : { mode: 'gpprovider' },
    ...(deps.config.correlationKey ? { correlationKey: deps.config.correlationKey } : {}),
    learnRecipientMailbox: recipientMailboxLearner({ sentIndex, port: inboundPort, mesh: deps.mesh }),
  };
  const inboundDeps: InboundActivityDeps = {
    checks,
    temporal: deps.temporal,
    taskQueue: deps.config.taskQueue,
    store: deps.store,
    logger: deps.logger,
    inboxes,
    now,
    port: inboundPort,
    ...(deps.rematchDelaysMs ? { rematchDelaysMs: deps.rematchDelaysMs } : {}),
    ...(deps.inboundHooks ? { hooks: deps.inboundHooks } : {}),
  };
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
        const stored: StoredMessage = { xml: built.xml, mesh: built.mesh, routing: deps.config.routing.mode, recipientOds: submission.recipient.odsCode };
        const messageRef = await deps.store.put('itk3-message', Buffer.from(JSON.stringify(stored)));
        return { messageRef, sizeBytes: built.sizeBytes, meshWorkflowId: built.mesh.workflowId };
      });
    },

    /**
     * Sends one built attempt through MESH. The MESH client never blindly re-posts a first chunk, and this
     * attempt never posts once Temporal has given up on it: it heartbeats while it works (so the server
     * learns within the heartbeat timeout that a worker died, and the attempt learns that it was timed out
     * or cancelled), and hands the client a signal that aborts on cancellation or shortly before the
     * attempt's own start-to-close deadline (without it, two live attempts of one send could each post).
     */
    async sendMeshMessage(input: SendMeshMessageInput): Promise<SendMeshMessageResult> {
      return atEdge(async () => {
        const ctx = Context.current();
        const { attempt, scheduledTimestampMs, startToCloseTimeoutMs, heartbeatTimeoutMs, heartbeatDetails } = ctx.info;
        const previous = SendHeartbeatSchema.safeParse(heartbeatDetails);
        const carried = previous.success ? previous.data : undefined;
        // The first try of this ITK3 attempt: nothing with its file name can have reached MESH before now. Put
        // that (on MESH's clock) in the first heartbeat, the one the SDK sends at once (later ones are
        // throttled to one per 24 s), so a retry after a kill during the POST searches from here.
        const bound = attempt === 1 && !carried?.notBefore ? deps.mesh.meshClockBound() : undefined;
        let progress: SendHeartbeat = { ...carried, step: 'starting', ...(bound ? { notBefore: bound } : {}) };
        const beat = (): void => ctx.heartbeat(progress);
        beat();
        const every = Math.max(1_000, Math.min(HEARTBEAT_EVERY_MS, Math.floor((heartbeatTimeoutMs ?? HEARTBEAT_EVERY_MS * 3) / 3)));
        const timer = setInterval(beat, every);
        const deadline = new AbortController();
        const deadlineTimer = setTimeout(
          () => deadline.abort(new MeshError(ErrorType.MESH_NETWORK_ERROR, 'MESH sendMessage stopped: the attempt reached its deadline', { operation: 'sendMessage', retryable: true })),
          localDeadlineMs(startToCloseTimeoutMs),
        );
        const sender = ctx.info.workflowExecution?.workflowId;
        try {
          const stored = JSON.parse((await deps.store.get(input.messageRef)).toString('utf8')) as StoredMessage;
          const routing = stored.routing ?? (stored.mesh.to.startsWith('GPPROVIDER_') ? 'gpprovider' : 'mailbox');
          // Who may answer: with mailbox routing Mex-To is the practice's mailbox. A GPPROVIDER address holds
          // patient identifiers and names no mailbox, so it is never kept; MESH tracking tells the mailbox later.
          const recipientMailbox = routing === 'mailbox' ? stored.mesh.to.toUpperCase() : undefined;
          // Before the post: the response can be downloaded before the post's own answer arrives.
          if (sender) {
            sentIndex.remember(input.messageHeaderId, sender, {
              ...(recipientMailbox ? { recipientMailbox } : {}),
              ...(stored.recipientOds ? { recipientOds: stored.recipientOds } : {}),
            });
          }
          // A retry may follow a try that reached MESH (the worker died before reporting it, or the try was
          // timed out): look the message up by its unique file name before posting again, so it is never sent twice.
          // An earlier attempt's heartbeat narrows that search: the id MESH gave it, or how far it searched.
          const lookupBeforeSend = {
            sentAfter: new Date(scheduledTimestampMs),
            ...(carried?.messageId ? { knownMessageId: carried.messageId } : {}),
            ...(carried?.notBefore ? { notBefore: new Date(carried.notBefore) } : {}),
          };
          const { messageId } = await deps.mesh.sendMessage({
            ...(attempt > 1 ? { lookupBeforeSend } : {}),
            to: stored.mesh.to,
            workflowId: stored.mesh.workflowId,
            body: stored.xml,
            subject: stored.mesh.subject,
            localId: stored.mesh.localId,
            fileName: stored.mesh.fileName,
            contentType: stored.mesh.contentType,
            signal: AbortSignal.any([ctx.cancellationSignal, deadline.signal]),
            onProgress: (p) => {
              // Ids and counts only (heartbeat details reach history): never the subject or recipient.
              const messageId = 'messageId' in p ? p.messageId : progress.messageId;
              // A complete search moves the bound up; a first POST sets one only where there was none (an
              // earlier attempt's post may predate this one's, and its bound is then the one to keep).
              const notBefore = p.step === 'searched' ? p.notBefore : (progress.notBefore ?? (p.step === 'posting-first-chunk' ? p.notBefore : undefined));
              progress = { step: p.step, ...(messageId ? { messageId } : {}), ...(notBefore ? { notBefore } : {}) };
              beat();
            },
          });
          deps.logger.info({ meshMessageId: messageId, attempt: input.attempt, messageHeaderId: input.messageHeaderId }, 'ITK3 message sent via MESH');
          sentIndex.learn(input.messageHeaderId, { meshMessageId: messageId });
          return { meshMessageId: messageId, sentAt: now().toISOString(), routing, ...(recipientMailbox ? { recipientMailbox } : {}) };
        } finally {
          clearInterval(timer);
          clearTimeout(deadlineTimer);
        }
      });
    },

    ...createEscalationActivities(deps),

    /**
     * Checks the actor token an operator update carried (activities/actor-token.ts); the workflow sandbox
     * has no crypto. Pure and local: never fails, never retried; an invalid token is an answer, not an error.
     */
    async verifyActorToken(input: VerifyActorTokenInput): Promise<VerifyActorTokenResult> {
      const keys = deps.config.actorKeys;
      const check =
        typeof input.token !== 'string' ? ({ valid: false, reason: 'no valid token' } as const)
        : !keys ? ({ valid: false, reason: 'invalid token: no actor keys configured' } as const)
        : verifyActorToken(keys, input.token, { workflowId: input.workflowId, update: input.update, now: input.at, ...(input.namespace !== undefined ? { namespace: input.namespace } : {}), input: input.input });
      if (check.valid) return { verified: true, principal: check.principal };
      const reason = check.reason.startsWith('no valid token') || check.reason.startsWith('invalid token') ? check.reason : `invalid token: ${check.reason}`;
      deps.logger.warn({ workflowId: input.workflowId, update: input.update, claimedActor: input.claimedActor, reason }, 'unverified actor on an operator update');
      return { verified: false, reason };
    },

    ...createSubmissionCheckActivities({ ...deps, now }),

    ...createConsultationActivities({ ...deps, now }),

    // MESH outbox tracking of an attempt whose infrastructure ack is overdue.
    ...atEdgeAll(createTrackingActivities({ mesh: deps.mesh, logger: deps.logger, now })),

    // Inbound: polling, routing, handshake, quarantine delivery. Typed errors become failures here too.
    ...atEdgeAll(createInboundActivities(inboundDeps)),
    ...atEdgeAll(createQuarantineActivities({ store: deps.store, logger: deps.logger, port: inboundPort, checks, now })),
  };
}

export type Activities = ReturnType<typeof createActivities>;
