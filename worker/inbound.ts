/**
 * Inbound wiring: one MESH client and one durable poller workflow per configured mailbox.
 */
import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { inboxPollerWorkflowId } from '../contracts';
import type { AppConfig } from '../config/env';
import { inboundSettings } from '../config/inbound';
import type { MeshClient } from '../mesh';
import type { InboxPollerInput } from '../workflows/inbox-poller';
import { inboxPollerStaticDetails, inboxPollerStaticSummary } from '../workflows/metadata';
import { createMeshClient } from './compose';

/** MESH clients by mailbox id; the sending mailbox reuses the client the worker already has. */
export function createInboxClients(config: AppConfig, primary: MeshClient): Map<string, MeshClient> {
  const clients = new Map<string, MeshClient>([[primary.mailbox, primary]]);
  for (const { mailboxId, password } of inboundSettings(config.env).mailboxes) {
    if (clients.has(mailboxId)) continue;
    // Same URL, shared key and TLS client certificate; only the mailbox and its password differ.
    clients.set(mailboxId, createMeshClient({ ...config, env: { ...config.env, MESH_MAILBOX_ID: mailboxId, MESH_MAILBOX_PASSWORD: password } }));
  }
  return clients;
}

export function rematchDelays(config: AppConfig): number[] {
  return inboundSettings(config.env).rematchDelaysMs;
}

export function inboxPollerInputs(config: AppConfig, overrides: Partial<InboxPollerInput> = {}): InboxPollerInput[] {
  return inboundSettings(config.env).mailboxes.map(({ mailboxId }) => ({ mailboxId, pollIntervalMs: config.pollIntervalMs, ...overrides }));
}

/** One durable poller per mailbox; starting one again is a no-op (USE_EXISTING). Returns their ids. */
export async function ensureInboxPollers(client: Client, config: AppConfig, overrides: Partial<InboxPollerInput> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (const input of inboxPollerInputs(config, overrides)) {
    const workflowId = inboxPollerWorkflowId(input.mailboxId);
    await client.workflow.start('meshInboxPollerWorkflow', {
      workflowId,
      taskQueue: config.env.ITK3_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      staticSummary: inboxPollerStaticSummary(input.mailboxId),
      staticDetails: inboxPollerStaticDetails(input.mailboxId, input.pollIntervalMs),
    });
    ids.push(workflowId);
  }
  return ids;
}
