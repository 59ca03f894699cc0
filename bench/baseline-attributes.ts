/**
 * The visibility writes of one delivery, for the baseline's `deliverySearchAttributes` shape: the search
 * attributes and Web UI metadata the API starts a delivery with, and the full set it upserts after the send
 * and at the end. Keys and value types are the delivery's own (contracts/search-attributes.ts); the values
 * are synthetic ids made from the workflow id. Kept out of baseline-workflows.ts so the bench process can
 * use it without importing workflow code.
 */
import { SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import * as SA from '../contracts/search-attributes';

/** A part of the delivery's visibility writes left out, to price the rest: its two keyword lists, or its Web UI metadata. */
export type DeliveryAttributesPart = 'without keyword lists' | 'without start metadata';

/** The delivery's full attribute set at a point of its life, with ids made from the workflow id (no patient data). */
export function deliveryPairs(workflowId: string, stage: 'START' | 'SENT' | 'DELIVERED', variant: boolean | DeliveryAttributesPart = true): SearchAttributePair[] {
  const pairs = allPairs(workflowId, stage);
  return variant === 'without keyword lists' ? pairs.filter((p) => p.key.type !== SearchAttributeType.KEYWORD_LIST) : pairs;
}

function allPairs(workflowId: string, stage: 'START' | 'SENT' | 'DELIVERED'): SearchAttributePair[] {
  const itk3 = `${workflowId.slice(-36)}`;
  const first: SearchAttributePair[] = [
    { key: SA.DeliveryStatusKey, value: stage === 'START' ? 'SENDING' : stage === 'SENT' ? 'AWAITING_INF_ACK' : 'DELIVERED' },
    { key: SA.WaitingForKey, value: stage === 'START' ? 'MESH_SEND' : stage === 'SENT' ? 'INF_ACK' : 'NOTHING' },
    { key: SA.EscalatedKey, value: false },
    { key: SA.AttemptCountKey, value: 1 },
    { key: SA.Itk3MessageIdKey, value: itk3 },
    { key: SA.Itk3MessageIdsKey, value: [itk3] },
    { key: SA.RecipientOdsKey, value: 'A99968' },
    { key: SA.SenderOdsKey, value: 'Y99999' },
  ];
  if (stage === 'START') return [...first, { key: SA.SenderReferenceKey, value: `sr-${itk3}` }];
  const mesh = `MESH-${itk3.slice(0, 20)}`;
  return [
    ...first,
    { key: SA.MeshMessageIdKey, value: mesh },
    { key: SA.MeshMessageIdsKey, value: [mesh] },
    { key: SA.AckDeadlineKey, value: stage === 'SENT' ? new Date(Date.parse('2026-12-07T00:00:00Z') + 4 * 3_600_000) : null },
  ] as SearchAttributePair[];
}

/** Start options of the shape: what the API starts a delivery with besides its input. */
export function deliveryStartOptions(workflowId: string, variant: boolean | DeliveryAttributesPart = true): { typedSearchAttributes: SearchAttributePair[]; staticSummary?: string; staticDetails?: string } {
  const typedSearchAttributes = deliveryPairs(workflowId, 'START', variant);
  if (variant === 'without start metadata') return { typedSearchAttributes };
  return {
    typedSearchAttributes,
    staticSummary: `Send Document v1 to A99968 from Y99999 (${workflowId.slice(-12)})`,
    staticDetails: ['**What this is**', 'One GP Connect Send Document message, sent over MESH as an ITK3 message.', '', '| | |', '|---|---|', `| workflow | ${workflowId} |`, '| recipient | A99968 |', '| sender | Y99999 |', '| deadlines | infrastructure ack 4h, business ack 2d |', '', 'Operators: see the current details for what it waits for.'].join('\n').repeat(2),
  };
}
