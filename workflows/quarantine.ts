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
 * The rules (refusals, closing, what the operator is told) are in workflows/quarantine-case.ts.
 */
import {
  allHandlersFinished,
  condition,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ESCALATION_ACTIVITY } from './activity-profiles';
import { QuarantineStatusKey } from '../contracts/search-attributes';
import type { QuarantineActionResult, QuarantineInput, RerouteQuarantineInput, ResolveQuarantineInput } from '../contracts/inbound';
import { quarantineEntryQuery, rerouteQuarantineUpdate, resolveQuarantineUpdate } from './quarantine-definitions';
import { QuarantineCase, type QuarantineAction, type QuarantineStatusEffect } from './quarantine-case';
import { quarantineDetails } from './metadata';

const routing = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: ['INBOUND_REROUTE_REJECTED', 'STORE_NOT_FOUND', 'STORE_INTEGRITY'] },
});
const notify = proxyActivities<Activities>(ESCALATION_ACTIVITY);

export async function inboundQuarantineWorkflow(input: QuarantineInput): Promise<QuarantineActionResult> {
  const q = new QuarantineCase(input);
  const { entry } = q;

  /** Current details for the Web UI (no commands: showing them never changes what history records). */
  const show = (rematch?: { rematch: number; of: number; until: number }): void => setCurrentDetails(quarantineDetails(entry, rematch));
  const closed = ({ status }: QuarantineStatusEffect): void => {
    upsertSearchAttributes([{ key: QuarantineStatusKey, value: status }]);
    show();
  };
  /** Update validators throw the case's refusal, so a refused update leaves nothing in history. */
  const guard = (action: QuarantineAction): void => {
    const refused = q.refusal(action);
    if (refused) throw new Error(refused);
  };

  setHandler(quarantineEntryQuery, () => entry);

  setHandler(
    rerouteQuarantineUpdate,
    async (req: RerouteQuarantineInput): Promise<QuarantineActionResult> => {
      q.busy = true;
      try {
        const routed = await routing.routeQuarantinedMessage.executeWithOptions({ summary: `operator reroute to ${req.targetWorkflowId}` }, [
          { quarantineId: entry.quarantineId, contentRef: entry.contentRef, reroute: req },
        ]);
        const { effect, result } = q.rerouted(req, routed, Date.now());
        closed(effect);
        return result;
      } finally {
        q.busy = false;
      }
    },
    { validator: (req: RerouteQuarantineInput) => guard({ update: 'rerouteQuarantine', input: req }) },
  );

  setHandler(
    resolveQuarantineUpdate,
    (req: ResolveQuarantineInput): QuarantineActionResult => {
      closed(q.resolved(req, Date.now()));
      return q.result();
    },
    { validator: (req: ResolveQuarantineInput) => guard({ update: 'resolveQuarantine', input: req }) },
  );

  // Unmatched: perhaps visibility had not caught up with the delivery yet. Try again before telling anyone.
  show();
  const rematches = input.rematchDelaysMs.length;
  for (const [i, delay] of input.rematchDelaysMs.entries()) {
    show({ rematch: i + 1, of: rematches, until: Date.now() + delay });
    if (await condition(() => !q.open, delay, { summary: `rematch attempt ${i + 1} of ${rematches}: the delivery may not have been visible yet` })) break;
    await condition(() => !q.busy);
    if (!q.open) break;
    q.beginRematch();
    try {
      const routed = await routing.routeQuarantinedMessage.executeWithOptions({ summary: `rematch attempt ${entry.rematchAttempts} of ${rematches}` }, [
        { quarantineId: entry.quarantineId, contentRef: entry.contentRef },
      ]);
      const effect = q.rematched(routed, Date.now());
      if (effect) closed(effect);
    } catch {
      // A failed rematch is not fatal: the entry stays open and goes to an operator below.
    } finally {
      q.busy = false;
    }
    show();
  }

  // Raised once: this runs once in the workflow's history, whatever happens to workers.
  if (q.open) {
    const raised = q.raise(Date.now());
    show();
    await notify.raiseEscalation.executeWithOptions({ summary: `raise to an operator: ${entry.reason}` }, [raised]);
  }

  await condition(() => !q.open && !q.busy);
  const notice = q.closingNotice();
  if (notice) await notify.raiseEscalation.executeWithOptions({ summary: `resolve the operator escalation: ${entry.status}` }, [notice]);
  await condition(allHandlersFinished);
  return q.result();
}
