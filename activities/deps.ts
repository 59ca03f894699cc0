/**
 * What every activity is given: the deployment settings it acts on and the clients, store and logger it
 * acts with. Activities take these as arguments, so tests can hand them real or fake dependencies.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { KeyRing } from '../config/env';
import type { SpecProfile } from '../contracts';
import type { MeshClient } from '../mesh';
import type { ContentStore } from '../store/content-store';
import type { InboundHooks, InboundTemporal, InboxMesh } from './inbound';
import type { Notifier } from './notify/types';
import type { SentMessageIndex } from './sent-index';

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
