/**
 * The baseline for the end-to-end benchmark: the same shape of Temporal work as one delivery (two
 * activities, two signals, two timers) with no ITK3, MESH, store or codec work at all.
 */
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

export interface BaselineActivities {
  baselineBuild(): Promise<string>;
  baselineSend(input: { workflowId: string }): Promise<string>;
}

export const baselineAckSignal = defineSignal<[string]>('baselineAck');

const acts = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute' });

export async function baselineDeliveryWorkflow(workflowId: string): Promise<string> {
  const acks = new Set<string>();
  setHandler(baselineAckSignal, (kind) => void acks.add(kind));
  await acts.baselineBuild();
  await acts.baselineSend({ workflowId });
  await condition(() => acks.has('infrastructure'), '1 hour');
  await condition(() => acks.has('business'), '1 hour');
  return 'DELIVERED';
}
