/**
 * The baseline for the end-to-end benchmark: the same shape of Temporal work as one delivery (two
 * activities, two signals, two timers) with no ITK3, MESH, store or codec work at all. With `upserts`
 * it also upserts a search attribute that many times (an experiment: what the delivery's search
 * attribute updates cost the dev server), using a baseline-only key so nothing else is disturbed.
 */
import { condition, defineSignal, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export interface BaselineActivities {
  baselineBuild(): Promise<string>;
  baselineSend(input: { workflowId: string }): Promise<string>;
}

export const baselineAckSignal = defineSignal<[string]>('baselineAck');

/** An existing keyword attribute of the namespace (contracts/search-attributes.ts), used only by the experiment. */
const ExperimentKey = defineSearchAttributeKey('WaitingFor', SearchAttributeType.KEYWORD);

const acts = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute' });

export async function baselineDeliveryWorkflow(workflowId: string, upserts = 0): Promise<string> {
  const acks = new Set<string>();
  let upserted = 0;
  const upsert = (value: string): void => {
    if (upserted++ < upserts) upsertSearchAttributes([{ key: ExperimentKey, value }]);
  };
  setHandler(baselineAckSignal, (kind) => void acks.add(kind));
  upsert('BUILD');
  await acts.baselineBuild();
  await acts.baselineSend({ workflowId });
  upsert('ACK');
  await condition(() => acks.has('infrastructure'), '1 hour');
  await condition(() => acks.has('business'), '1 hour');
  upsert('DONE');
  return 'DELIVERED';
}
