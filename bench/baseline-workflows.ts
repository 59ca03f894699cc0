/**
 * The baseline for the end-to-end benchmark: the same shape of Temporal work as one delivery (two
 * activities, two signals, two timers) with no ITK3, MESH, store or codec work at all.
 *
 * A `BaselineShape` changes one structural feature at a time, so `npm run bench -- shapes` can price
 * each feature the delivery has and the plain baseline has not (search-attribute upserts, a heartbeat,
 * bigger payloads), and each one a redesign would remove (one activity instead of two, both
 * acknowledgements in one signal), by difference in the same run. Upserts use an existing keyword
 * attribute of the namespace, so nothing else is disturbed.
 */
import { condition, defineSignal, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { deliveryPairs, type DeliveryAttributesPart } from './baseline-attributes';

export interface BaselineShape {
  /** Search-attribute upserts per workflow (the delivery makes about two). */
  upserts?: number;
  /** 1: build and send as one activity. */
  activities?: 1 | 2;
  /** Both acknowledgements in one signal instead of one each. */
  batchedAcks?: boolean;
  /** The send activity heartbeats once before it returns, as the delivery's send does. */
  heartbeat?: boolean;
  /** Bytes of filler in each activity result and signal (the delivery's payloads are encrypted, and bigger). */
  payloadBytes?: number;
  /**
   * The delivery's own visibility writes: started with its nine search attributes and a static summary and
   * details (see `deliveryStartOptions`), then the full set of eleven upserted after the send and again at
   * the end, as a delivery does (keyword lists and a datetime included). Replaces `upserts`.
   */
  deliverySearchAttributes?: boolean | DeliveryAttributesPart;
}


export interface BaselineSendInput {
  workflowId: string;
  batchedAcks: boolean;
  heartbeat: boolean;
  payloadBytes: number;
}

export interface BaselineActivities {
  baselineBuild(input: { payloadBytes: number }): Promise<string>;
  baselineSend(input: BaselineSendInput): Promise<string>;
}

export const baselineAckSignal = defineSignal<[string, string?]>('baselineAck');
export const baselineAcksSignal = defineSignal<[string[], string?]>('baselineAcks');

/** An existing keyword attribute of the namespace (contracts/search-attributes.ts), used only by the experiment. */
const ExperimentKey = defineSearchAttributeKey('WaitingFor', SearchAttributeType.KEYWORD);

const acts = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute' });
/** The delivery's send has a heartbeat timeout; only the heartbeat shape sets one, so the plain baseline is unchanged. */
const beating = proxyActivities<BaselineActivities>({ startToCloseTimeout: '1 minute', heartbeatTimeout: '30 seconds' });

/** `shape` is a number of upserts in results written before shapes existed. */
export async function baselineDeliveryWorkflow(workflowId: string, shape: number | BaselineShape = 0): Promise<string> {
  const s: BaselineShape = typeof shape === 'number' ? { upserts: shape } : shape;
  const upserts = s.upserts ?? 0;
  const send: BaselineSendInput = { workflowId, batchedAcks: s.batchedAcks ?? false, heartbeat: s.heartbeat ?? false, payloadBytes: s.payloadBytes ?? 0 };
  const acks = new Set<string>();
  let upserted = 0;
  const upsert = (value: string): void => {
    if (upserted++ < upserts) upsertSearchAttributes([{ key: ExperimentKey, value }]);
  };
  setHandler(baselineAckSignal, (kind) => void acks.add(kind));
  setHandler(baselineAcksSignal, (kinds) => kinds.forEach((k) => acks.add(k)));
  upsert('BUILD');
  if (s.activities !== 1) await acts.baselineBuild({ payloadBytes: send.payloadBytes });
  await (send.heartbeat ? beating : acts).baselineSend(send);
  upsert('ACK');
  if (s.deliverySearchAttributes) upsertSearchAttributes(deliveryPairs(workflowId, 'SENT', s.deliverySearchAttributes));
  await condition(() => acks.has('infrastructure'), '1 hour');
  await condition(() => acks.has('business'), '1 hour');
  upsert('DONE');
  if (s.deliverySearchAttributes) upsertSearchAttributes(deliveryPairs(workflowId, 'DELIVERED', s.deliverySearchAttributes));
  return 'DELIVERED';
}
