/**
 * inboundQuarantineWorkflow: one durable quarantine entry per MESH inbox message that could not be
 * routed to a waiting delivery: quarantine, never drop, so no response is lost unseen.
 *
 * Trigger: the inbound router (activities/inbound.ts), before it acknowledges the message on MESH. The
 * message itself (body and mex headers) is in the encrypted content store; this workflow carries only
 * the claim check, ids, codes and the reason, so nothing of the content reaches history.
 * Id: `quarantineWorkflowId(mailbox, meshMessageId)` with REJECT_DUPLICATE: a MESH redelivery after a
 * crash finds the entry it created before, so each message is quarantined (and raised) once.
 * Flow: for unmatched responses and reports, correlate again after each `rematchDelaysMs` (visibility
 * lag; AUTO_ROUTED if it now matches); then raise it to an operator once (escalation activity) and wait.
 * Updates: rerouteQuarantine (to a delivery workflow and attempt; REROUTED), resolveQuarantine (RESOLVED).
 * Queries: quarantineEntry. Search attributes: QuarantineReason, QuarantineStatus.
 * Outcome (returned): the final status, and where it went.
 */
import {
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ESCALATION_ACTIVITY } from './activity-profiles';
import { QuarantineStatusKey } from '../contracts/search-attributes';
import type { QuarantineActionResult, QuarantineEntry, QuarantineInput, QuarantineStatus, RerouteQuarantineInput, ResolveQuarantineInput } from '../contracts/inbound';
import { quarantineEntryQuery, rerouteQuarantineUpdate, resolveQuarantineUpdate } from './quarantine-definitions';

const routing = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: ['INBOUND_REROUTE_REJECTED', 'STORE_NOT_FOUND', 'STORE_INTEGRITY'] },
});
const notify = proxyActivities<Activities>(ESCALATION_ACTIVITY);

const WORKFLOW_ID = /^[A-Za-z0-9_.:-]{1,200}$/;
const CODE = /^[123]\d{4}$/;

function requireText(value: unknown, what: string, max: number): void {
  if (typeof value !== 'string' || value.trim().length === 0) throw new Error(`${what} is required`);
  if (value.length > max) throw new Error(`${what} is longer than ${max} characters`);
}

export async function inboundQuarantineWorkflow(input: QuarantineInput): Promise<QuarantineActionResult> {
  const { rematchDelaysMs, ...fields } = input;
  const entry: QuarantineEntry = { ...fields, status: 'OPEN', rematchAttempts: 0 };
  // An activity (operator reroute or automatic rematch) is delivering it right now.
  let busy = false;

  const result = (): QuarantineActionResult => ({
    quarantineId: entry.quarantineId,
    status: entry.status,
    ...(entry.resolution?.targetWorkflowId ? { targetWorkflowId: entry.resolution.targetWorkflowId } : {}),
    ...(entry.resolution?.signal ? { signal: entry.resolution.signal } : {}),
  });
  const close = (status: Exclude<QuarantineStatus, 'OPEN'>, resolution: NonNullable<QuarantineEntry['resolution']>): void => {
    entry.status = status;
    entry.resolution = resolution;
    upsertSearchAttributes([{ key: QuarantineStatusKey, value: status }]);
  };
  const mustBeOpen = (): void => {
    if (entry.status !== 'OPEN') throw new Error(`quarantine entry is ${entry.status}, not OPEN`);
    if (busy) throw new Error('quarantine entry is being delivered right now; try again shortly');
  };

  setHandler(quarantineEntryQuery, () => entry);

  setHandler(
    rerouteQuarantineUpdate,
    async (req: RerouteQuarantineInput): Promise<QuarantineActionResult> => {
      busy = true;
      try {
        const routed = await routing.routeQuarantinedMessage({ quarantineId: entry.quarantineId, contentRef: entry.contentRef, reroute: req });
        close('REROUTED', {
          actor: req.actor,
          reason: req.reason,
          at: new Date().toISOString(),
          ...(routed.targetWorkflowId ? { targetWorkflowId: routed.targetWorkflowId } : {}),
          ...(routed.signal ? { signal: routed.signal } : {}),
        });
        return { ...result(), ...(routed.respondsTo ? { respondsTo: routed.respondsTo } : {}), ...(routed.code ? { code: routed.code } : {}) };
      } finally {
        busy = false;
      }
    },
    {
      validator: (req: RerouteQuarantineInput) => {
        mustBeOpen();
        requireText(req?.actor, 'actor', 200);
        requireText(req?.reason, 'reason', 2000);
        if (typeof req.targetWorkflowId !== 'string' || !WORKFLOW_ID.test(req.targetWorkflowId)) throw new Error('targetWorkflowId is not a workflow id');
        if (req.attempt !== undefined && (!Number.isInteger(req.attempt) || req.attempt < 1)) throw new Error('attempt must be a positive integer');
        if (req.code !== undefined && (typeof req.code !== 'string' || !CODE.test(req.code))) throw new Error('code must be five digits starting 1, 2 or 3');
      },
    },
  );

  setHandler(
    resolveQuarantineUpdate,
    (req: ResolveQuarantineInput): QuarantineActionResult => {
      close('RESOLVED', { actor: req.actor, reason: req.reason, at: new Date().toISOString() });
      return result();
    },
    {
      validator: (req: ResolveQuarantineInput) => {
        mustBeOpen();
        requireText(req?.actor, 'actor', 200);
        requireText(req?.reason, 'reason', 2000);
      },
    },
  );

  // Unmatched: perhaps visibility had not caught up with the delivery yet. Try again before telling anyone.
  for (const delay of rematchDelaysMs) {
    if (await condition(() => entry.status !== 'OPEN', delay)) break;
    await condition(() => !busy);
    if (entry.status !== 'OPEN') break;
    busy = true;
    try {
      entry.rematchAttempts += 1;
      const routed = await routing.routeQuarantinedMessage({ quarantineId: entry.quarantineId, contentRef: entry.contentRef });
      if (routed.routed) {
        close('AUTO_ROUTED', {
          actor: 'inbound-router',
          reason: 'matched its delivery on a later correlation attempt',
          at: new Date().toISOString(),
          ...(routed.targetWorkflowId ? { targetWorkflowId: routed.targetWorkflowId } : {}),
          ...(routed.signal ? { signal: routed.signal } : {}),
        });
      } else if (routed.candidates?.length) {
        entry.candidates = [...new Set([...entry.candidates, ...routed.candidates])];
      }
    } catch {
      // A failed rematch is not fatal: the entry stays open and goes to an operator below.
    } finally {
      busy = false;
    }
  }

  if (entry.status === 'OPEN') {
    // Raised once: this runs once in the workflow's history, whatever happens to workers.
    entry.raisedAt = new Date().toISOString();
    await notify.raiseEscalation({
      workflowId: entry.quarantineId,
      documentId: '',
      state: 'QUARANTINED',
      reason: `inbound MESH message quarantined (${entry.reason}): ${entry.detail}`,
      ...(entry.summary.code ?? entry.summary.statusCode ? { code: (entry.summary.code ?? entry.summary.statusCode)! } : {}),
      kind: 'RAISED',
    });
  }

  await condition(() => entry.status !== 'OPEN' && !busy);
  if (entry.raisedAt) {
    await notify.raiseEscalation({
      workflowId: entry.quarantineId,
      documentId: '',
      state: entry.status,
      reason: `quarantined inbound MESH message ${entry.status.toLowerCase()}${entry.resolution?.targetWorkflowId ? ` to ${entry.resolution.targetWorkflowId}` : ''}`,
      kind: 'RESOLVED',
    });
  }
  await condition(allHandlersFinished);
  return result();
}
