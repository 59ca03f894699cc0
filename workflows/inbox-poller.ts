/**
 * meshInboxPollerWorkflow: polls one MESH inbox as durable work.
 *
 * Trigger: started by the worker at start-up (id `inboxPollerWorkflowId(mailbox)`, one per mailbox,
 * conflict policy USE_EXISTING). Each pass is an activity that routes and acknowledges messages; a full
 * page means more are waiting, so it polls again at once (MESH guidance), otherwise it sleeps.
 * Continues as new every few hundred passes to keep history small.
 */
import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { pollMeshInbox } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes' },
});

export interface InboxPollerInput {
  mailboxId: string;
  pollIntervalMs: number;
}

export async function meshInboxPollerWorkflow(input: InboxPollerInput): Promise<void> {
  for (let pass = 0; pass < 300; pass++) {
    const result = await pollMeshInbox({ mailboxId: input.mailboxId });
    if (!result.morePending) await sleep(input.pollIntervalMs);
  }
  await continueAsNew<typeof meshInboxPollerWorkflow>(input);
}
