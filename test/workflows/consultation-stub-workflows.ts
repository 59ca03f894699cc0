/**
 * Workflow bundle for the consultation tests: the real consultation workflow, plus a stub registered
 * under the delivery workflow's type name (`sendDocumentWorkflow`). The consultation workflow starts its
 * deliveries by that name, so this is exactly what it sees of a delivery: a child that runs for a while
 * and returns a `DeliveryResult`. The test decides both through the `planStubDelivery` activity.
 */
import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { DeliveryResult, SendDocumentInput } from '../../contracts/delivery';

export { consultationWorkflow } from '../../workflows/consultation';

export interface StubDeliveryPlan {
  result: DeliveryResult;
  /** How long the delivery stays in flight (workflow time). */
  durationMs: number;
}

export interface StubDeliveryActivities {
  planStubDelivery(input: { workflowId: string; input: SendDocumentInput }): Promise<StubDeliveryPlan>;
}

const plan = proxyActivities<StubDeliveryActivities>({ startToCloseTimeout: '10 seconds' });

export async function sendDocumentWorkflow(input: SendDocumentInput): Promise<DeliveryResult> {
  const p = await plan.planStubDelivery({ workflowId: workflowInfo().workflowId, input });
  if (p.durationMs > 0) await sleep(p.durationMs);
  return p.result;
}
