/**
 * Sending one attempt: build its ITK3 message from the stored submission (stored encrypted, so the
 * workflow carries only a reference), then post it through MESH without ever posting it twice.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import {
  ContentRefSchema,
  CourierError,
  ErrorType,
  type Submission,
  type BuildAndSendItk3MessageInput,
  type BuildAndSendItk3MessageResult,
  type BuildItk3MessageInput,
  type BuildItk3MessageResult,
  type SendMeshMessageInput,
  type SendMeshMessageResult,
  type ContentRef,
} from '../contracts';
import { buildSendDocumentMessage } from '../itk3';
import { MeshError } from '../mesh';
import type { ActivityDeps } from './deps';
import { atEdge } from './edge';
import type { SentMessageIndex } from './sent-index';
import { readStoredMessage, storeMessage, type StoredMessage } from './stored-message';
import { parseStoredSubmission } from './submission-check';

/**
 * Heartbeat of a send (`sendMeshMessage`, `buildAndSendItk3Message`), for the next attempt: the step reached,
 * the message id once MESH gave one, the latest instant (MESH's clock) before which a complete search found
 * nothing with this file name, and (`buildAndSendItk3Message` only) the stored message this send posts.
 */
const SendHeartbeatSchema = z.object({
  step: z.string(),
  messageId: z.string().min(1).optional(),
  notBefore: z.iso.datetime().optional(),
  messageRef: ContentRefSchema.optional(),
});
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

export function createSendActivities(deps: Pick<ActivityDeps, 'config' | 'store' | 'mesh' | 'logger'> & { now: () => Date; sentIndex: SentMessageIndex }) {
  const { now, sentIndex } = deps;

  /**
   * The stored submission, checked again. The API checked it before storing it, so a failure here means the
   * stored bytes or the schema changed since (an upgrade that tightened a rule). Retrying cannot fix either:
   * it fails the attempt at once, so the delivery waits for an operator to correct it, naming paths and
   * rules only (never values).
   */
  const readSubmission = async (ref: ContentRef): Promise<Submission> => {
    const parsed = parseStoredSubmission(await deps.store.get(ref));
    if (!parsed.ok) throw new CourierError(ErrorType.SUBMISSION_INVALID, 'the stored submission is no longer a valid submission', parsed.issues);
    return parsed.submission;
  };

  /** Builds one attempt's ITK3 message from the stored submission and stores the result encrypted. */
  const build = async (input: BuildItk3MessageInput): Promise<BuildItk3MessageResult & { stored: StoredMessage }> => {
    const submission = await readSubmission(input.submissionRef);
    const built = buildSendDocumentMessage({
      submission,
      profile: deps.config.profile,
      ids: { messageHeaderId: input.messageHeaderId, bundleIdentifier: input.bundleIdentifier },
      newId: randomUUID,
      now: now().toISOString(),
      routing: deps.config.routing,
      maxMessageBytes: deps.config.maxMessageBytes,
    });
    const { messageRef, stored } = await storeMessage(deps.store, built, deps.config.routing, submission.recipient.odsCode);
    return { messageRef, sizeBytes: built.sizeBytes, meshWorkflowId: built.mesh.workflowId, stored };
  };

  const readStored = (messageRef: ContentRef): Promise<StoredMessage> => readStoredMessage(deps.store, messageRef);

  /**
   * Posts one stored message through MESH (see `sendMeshMessage`). `keep` goes into every heartbeat, from the
   * first one on, which the SDK sends at once, before anything is posted; `built` is the stored message when
   * the caller has just built it (no need to read it back).
   */
  const send = async (
    input: SendMeshMessageInput,
    carried: SendHeartbeat | undefined,
    keep: Pick<SendHeartbeat, 'messageRef'> = {},
    built?: StoredMessage,
  ): Promise<SendMeshMessageResult> => {
    const ctx = Context.current();
    const { attempt, scheduledTimestampMs, startToCloseTimeoutMs, heartbeatTimeoutMs } = ctx.info;
    // The first try of this ITK3 attempt: nothing with its file name can have reached MESH before now. Put
    // that (on MESH's clock) in the first heartbeat, the one the SDK sends at once (later ones are
    // throttled to one per 24 s), so a retry after a kill during the POST searches from here.
    const bound = attempt === 1 && !carried?.notBefore ? deps.mesh.meshClockBound() : undefined;
    let progress: SendHeartbeat = { ...carried, step: 'starting', ...(bound ? { notBefore: bound } : {}), ...keep };
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
      const stored = built ?? (await readStored(input.messageRef));
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
          progress = { step: p.step, ...(messageId ? { messageId } : {}), ...(notBefore ? { notBefore } : {}), ...keep };
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
  };

  /** What an earlier try of this activity heartbeated, when it is readable. */
  const carriedHeartbeat = (): SendHeartbeat | undefined => {
    const previous = SendHeartbeatSchema.safeParse(Context.current().info.heartbeatDetails);
    return previous.success ? previous.data : undefined;
  };

  return {
    /** Builds one attempt's ITK3 message from the stored submission and stores the result encrypted. */
    async buildItk3Message(input: BuildItk3MessageInput): Promise<BuildItk3MessageResult> {
      return atEdge(async () => {
        const { stored: _stored, ...result } = await build(input);
        return result;
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
      return atEdge(() => send(input, carriedHeartbeat()));
    },

    /**
     * Builds one attempt and sends it, as one activity: one activity and one workflow task less per send than
     * `buildItk3Message` then `sendMeshMessage`, with the same guarantees as the two.
     *
     * A retry must never post a different message for an ITK3 attempt that may already have reached MESH:
     * the two activities guarantee it because every send retry posts the one stored build. Here the first try
     * builds and stores, and its first heartbeat (sent at once, before any request to MESH) carries the
     * stored message's reference; a retry that finds it posts exactly those bytes and does not build again.
     * A delivery's first attempt usually comes built already: the API built it from the submission it checked
     * and stored it (`messageRef` in the input), so every try posts those bytes and nothing is built here.
     * A retry without it follows a try whose first heartbeat never reached the server (the worker died at
     * once, almost always before posting), and it builds again; the lookup of the file name (made from the
     * bundle identifier, the same on every build) before re-posting still finds anything that reached MESH.
     * Build failures leave through the same edge as `buildItk3Message`'s, with the same failure types.
     * Nothing is heartbeated before the build: only the first heartbeat goes out at once (later ones are
     * throttled), and it must be the one that names the stored message.
     */
    async buildAndSendItk3Message(input: BuildAndSendItk3MessageInput): Promise<BuildAndSendItk3MessageResult> {
      return atEdge(async () => {
        const carried = carriedHeartbeat();
        const prebuilt = carried?.messageRef ?? input.messageRef;
        let built: BuildItk3MessageResult & { stored: StoredMessage };
        if (prebuilt) {
          const stored = await readStored(prebuilt);
          // What a build returns: the size of the serialised message, and its MESH workflow id.
          built = { messageRef: prebuilt, sizeBytes: Buffer.byteLength(stored.xml, 'utf8'), meshWorkflowId: stored.mesh.workflowId, stored };
        } else {
          built = await build(input);
        }
        const { messageRef, sizeBytes, meshWorkflowId, stored } = built;
        const sent = await send({ messageRef, messageHeaderId: input.messageHeaderId, attempt: input.attempt }, carried, { messageRef }, stored);
        return { sizeBytes, meshWorkflowId, ...sent };
      });
    },
  };
}
