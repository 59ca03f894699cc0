/**
 * All activities of one worker, composed from their groups with their shared parts (the clock, the index
 * of sent messages, the Temporal side of inbound routing) made once.
 */
import type { ActivityDeps } from './deps';
import { atEdgeAll } from './edge';
import { createConsultationActivities } from './consultation';
import { createEscalationActivities } from './escalation';
import { createInboundActivities, temporalInbound, type InboundActivityDeps, type InboxMesh, type SenderChecks } from './inbound';
import { createQuarantineActivities } from './quarantine';
import { recipientMailboxLearner } from './recipient-mailbox';
import { createSendActivities } from './send';
import { SentMessageIndex } from './sent-index';
import { createSubmissionCheckActivities } from './submission-check';
import { createTrackingActivities } from './tracking';
import { createActorTokenActivities } from './verify-actor';

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
    ...createSendActivities({ ...deps, now, sentIndex }),
    ...createEscalationActivities(deps),
    ...createActorTokenActivities(deps),
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
