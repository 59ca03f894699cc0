/**
 * Activities of the inbound quarantine (workflows/quarantine.ts): deliver a quarantined MESH message to a
 * delivery workflow, either because a later correlation found its owner (visibility lag) or because an
 * operator chose the target. The content comes back out of the encrypted store; nothing of it is logged.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType, type Itk3ResponseReceived, type MeshReportReceived } from '../contracts';
import type { RouteQuarantinedInput, RouteQuarantinedResult, StoredInboundMessage } from '../contracts/inbound';
import type { ContentStore } from '../store/content-store';
import type { Logger } from 'pino';
import { decide, operatorResponsePayload, parseResponseBody, responsePayload, viewOfStored, type InboundTemporal, type SenderChecks } from './inbound';

export interface QuarantineActivityDeps {
  store: ContentStore;
  logger: Logger;
  port: InboundTemporal;
  checks: SenderChecks;
  now?: () => Date;
}

function rejected(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: ErrorType.INBOUND_REROUTE_REJECTED, nonRetryable: true });
}

export function createQuarantineActivities(deps: QuarantineActivityDeps) {
  const now = deps.now ?? (() => new Date());

  async function load(input: RouteQuarantinedInput): Promise<StoredInboundMessage> {
    return JSON.parse((await deps.store.get(input.contentRef)).toString('utf8')) as StoredInboundMessage;
  }

  /** Correlate again exactly as the router would; signal only on a clear match. */
  async function rematch(input: RouteQuarantinedInput): Promise<RouteQuarantinedResult> {
    const stored = await load(input);
    const view = viewOfStored(stored);
    const decision = await decide(deps.port, view, stored.receivedAt, deps.checks);
    if (decision.kind === 'quarantine') return { routed: false, candidates: decision.candidates };
    if (decision.kind === 'response') {
      const response = { ...decision.response, quarantineId: input.quarantineId };
      if ((await deps.port.signalResponse(decision.workflowId, response)) === 'CLOSED') return { routed: false, candidates: [decision.workflowId] };
      deps.logger.info({ quarantineId: input.quarantineId, workflowId: decision.workflowId, code: response.code }, 'quarantined ITK3 response matched on a later try');
      return { routed: true, targetWorkflowId: decision.workflowId, signal: 'itk3Response', respondsTo: response.respondsTo, code: response.code };
    }
    if ((await deps.port.signalReport(decision.workflowId, decision.report)) === 'CLOSED') return { routed: false, candidates: [decision.workflowId] };
    deps.logger.info({ quarantineId: input.quarantineId, workflowId: decision.workflowId }, 'quarantined MESH report matched on a later try');
    return { routed: true, targetWorkflowId: decision.workflowId, signal: 'meshReport', ...(decision.report.statusCode ? { code: decision.report.statusCode } : {}) };
  }

  /** Operator reroute: to the chosen delivery and attempt, recording who and why. */
  async function reroute(input: RouteQuarantinedInput): Promise<RouteQuarantinedResult> {
    const req = input.reroute!;
    const stored = await load(input);
    const view = viewOfStored(stored);
    const state = await deps.port.deliveryState(req.targetWorkflowId);
    if (!state) throw rejected(`${req.targetWorkflowId} is not a delivery workflow that answers queries`);
    const attemptNo = req.attempt ?? state.currentAttempt;
    const attempt = state.attempts.find((a) => a.attempt === attemptNo);
    if (!attempt) throw rejected(`${req.targetWorkflowId} has no attempt ${attemptNo}`);

    if (view.messageType === 'REPORT') {
      const report: MeshReportReceived = {
        meshMessageId: view.report?.linkedMessageId ?? attempt.meshMessageId ?? view.meshMessageId,
        reportMessageId: view.meshMessageId,
        kind: view.report?.kind ?? 'OTHER',
        receivedAt: stored.receivedAt,
        quarantineId: input.quarantineId,
        reroutedBy: req.actor,
        rerouteReason: req.reason,
      };
      if (view.report?.statusCode) report.statusCode = view.report.statusCode;
      if (view.report?.statusDescription) report.statusDescription = view.report.statusDescription;
      if ((await deps.port.signalReport(req.targetWorkflowId, report)) === 'CLOSED') throw rejected(`${req.targetWorkflowId} has closed`);
      deps.logger.warn({ quarantineId: input.quarantineId, workflowId: req.targetWorkflowId, actor: req.actor }, 'quarantined MESH report rerouted by an operator');
      return { routed: true, targetWorkflowId: req.targetWorkflowId, signal: 'meshReport', ...(report.statusCode ? { code: report.statusCode } : {}) };
    }

    const parsed = parseResponseBody(view.body);
    let response: Itk3ResponseReceived;
    if (parsed.ok) {
      if (req.code && req.code !== parsed.parsed.code) {
        throw rejected(`the content is a readable ITK3 Response with code ${parsed.parsed.code}; a code may only be given for content that cannot be read`);
      }
      // Keeps who really sent it: the workflow records that the operator applied it despite any mismatch.
      response = responsePayload(parsed.parsed, view.meshMessageId, stored.receivedAt, view.fromMailbox);
      response.originalRespondsTo = parsed.parsed.respondsTo;
    } else {
      if (!req.code) throw rejected(`the content cannot be read as an ITK3 Response (${parsed.reason}): give the response code it carries`);
      response = operatorResponsePayload(req.code, view.meshMessageId, stored.receivedAt, input.quarantineId);
      if (view.fromMailbox) response.senderMailbox = view.fromMailbox.toUpperCase();
    }
    response.respondsTo = attempt.messageHeaderId;
    response.correlatedBy = 'OPERATOR';
    response.quarantineId = input.quarantineId;
    response.reroutedBy = req.actor;
    response.rerouteReason = req.reason;
    if ((await deps.port.signalResponse(req.targetWorkflowId, response)) === 'CLOSED') throw rejected(`${req.targetWorkflowId} has closed`);
    deps.logger.warn(
      { quarantineId: input.quarantineId, workflowId: req.targetWorkflowId, attempt: attemptNo, code: response.code, actor: req.actor, at: now().toISOString() },
      'quarantined ITK3 response rerouted by an operator',
    );
    return { routed: true, targetWorkflowId: req.targetWorkflowId, signal: 'itk3Response', respondsTo: response.respondsTo, code: response.code };
  }

  return {
    /** Deliver a quarantined message: operator reroute when `reroute` is set, else a fresh correlation. */
    async routeQuarantinedMessage(input: RouteQuarantinedInput): Promise<RouteQuarantinedResult> {
      return input.reroute ? reroute(input) : rematch(input);
    },
  };
}
