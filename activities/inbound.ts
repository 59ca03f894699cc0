/**
 * Routes one MESH inbox message to the workflow waiting for it. The MESH message is acknowledged only
 * after the workflow has durably accepted what it carried (the signal is in its history), so a crash
 * in between means redelivery, which the workflow treats idempotently (it dedupes on the response id).
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Itk3ResponseReceived, MeshReportReceived } from '../contracts';
import { isAckWorkflowId, parseItk3Response } from '../itk3';
import { itk3ResponseSignal, meshReportSignal } from '../workflows/definitions';
import type { ActivityDeps } from './index';

export type RouteOutcome = 'routed' | 'report' | 'unmatched';

/** Ids that come from outside are checked before they go into a visibility query. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;

async function findWorkflowId(deps: ActivityDeps, attribute: 'Itk3MessageIds' | 'MeshMessageId', value: string): Promise<string | undefined> {
  if (!SAFE_ID.test(value)) return undefined;
  for await (const wf of deps.temporal.workflow.list({ query: `${attribute} = '${value}'`, pageSize: 2 })) {
    return wf.workflowId;
  }
  return undefined;
}

export async function routeInboxMessage(deps: ActivityDeps, meshMessageId: string, now: () => Date): Promise<RouteOutcome> {
  const message = await deps.mesh.downloadMessage(meshMessageId);
  const receivedAt = now().toISOString();

  if (message.messageType === 'REPORT') {
    const linked = message.report?.linkedMessageId;
    const workflowId = linked ? await findWorkflowId(deps, 'MeshMessageId', linked) : undefined;
    if (!workflowId) {
      deps.logger.warn({ meshMessageId, linkedMessageId: linked }, 'MESH report matches no delivery; left in the inbox');
      return 'unmatched';
    }
    const report: MeshReportReceived = {
      meshMessageId: linked!,
      reportMessageId: meshMessageId,
      statusCode: message.report?.statusCode,
      statusDescription: message.report?.statusDescription,
      kind: message.report?.kind ?? 'OTHER',
      receivedAt,
    };
    await deps.temporal.workflow.getHandle(workflowId).signal(meshReportSignal, report);
    await deps.mesh.acknowledgeMessage(meshMessageId);
    return 'report';
  }

  if (!message.workflowId || !isAckWorkflowId(message.workflowId)) {
    deps.logger.warn({ meshMessageId, workflowId: message.workflowId }, 'unexpected MESH workflow id; left in the inbox');
    return 'unmatched';
  }
  const parsed = parseItk3Response(message.body);
  const workflowId = parsed.uncorrelatable ? undefined : await findWorkflowId(deps, 'Itk3MessageIds', parsed.respondsTo);
  if (!workflowId) {
    deps.logger.warn({ meshMessageId, respondsTo: parsed.respondsTo, code: parsed.code }, 'ITK3 response matches no delivery; left in the inbox');
    return 'unmatched';
  }
  const response: Itk3ResponseReceived = {
    responseId: parsed.responseBundleIdentifier,
    respondsTo: parsed.respondsTo,
    code: parsed.code,
    display: parsed.display,
    level: parsed.level,
    polarity: parsed.polarity,
    action: parsed.action,
    responseCode: parsed.responseCode,
    diagnostics: parsed.diagnostics,
    meshMessageId,
    receivedAt,
  };
  try {
    await deps.temporal.workflow.getHandle(workflowId).signal(itk3ResponseSignal, response);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      deps.logger.warn({ meshMessageId, workflowId }, 'delivery workflow already closed; response left in the inbox');
      return 'unmatched';
    }
    throw err;
  }
  await deps.mesh.acknowledgeMessage(meshMessageId);
  deps.logger.info({ meshMessageId, workflowId, code: parsed.code }, 'ITK3 response routed');
  return 'routed';
}
