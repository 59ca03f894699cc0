/**
 * Listing deliveries through Temporal visibility: API filters become a visibility query over our search
 * attributes (plaintext on the server, so they never hold patient data), pages come with an opaque
 * cursor that wraps Temporal's nextPageToken and is bound to the filters it was made for.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal } from '@temporalio/proto';
import {
  AckDeadlineKey,
  AttemptCountKey,
  DeliveryStatusKey,
  EscalatedKey,
  RecipientOdsKey,
  SenderOdsKey,
  WaitingForKey,
  type DeliveryStatus,
  type WaitingFor,
} from '../../contracts';
import type { DeliverySummary, ListResponse, ParsedListQuery } from '../lib/api-schemas';

export const DELIVERY_WORKFLOW_TYPE = 'sendDocumentWorkflow';

/** A cursor that does not belong to these filters, or is not one of ours (HTTP 400). */
export class InvalidCursor extends Error {
  constructor() {
    super('the cursor does not belong to this query; start again without it');
    this.name = 'INVALID_CURSOR';
  }
}

// Every value is validated by ListQuerySchema (enums, ODS pattern, ISO date-times), so none can carry a
// quote; escaping is belt and braces.
const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The visibility query for the filters (Temporal List Filter syntax). */
export function visibilityQuery(q: Omit<ParsedListQuery, 'pageSize' | 'cursor'>): string {
  const parts = [`WorkflowType = ${quote(DELIVERY_WORKFLOW_TYPE)}`];
  if (q.status?.length === 1) parts.push(`DeliveryStatus = ${quote(q.status[0]!)}`);
  else if (q.status && q.status.length > 1) parts.push(`DeliveryStatus IN (${q.status.map(quote).join(', ')})`);
  if (q.recipientOds) parts.push(`RecipientOds = ${quote(q.recipientOds)}`);
  if (q.senderOds) parts.push(`SenderOds = ${quote(q.senderOds)}`);
  if (q.escalated !== undefined) parts.push(`Escalated = ${q.escalated}`);
  if (q.submittedFrom) parts.push(`StartTime >= ${quote(new Date(q.submittedFrom).toISOString())}`);
  if (q.submittedTo) parts.push(`StartTime < ${quote(new Date(q.submittedTo).toISOString())}`);
  return parts.join(' AND ');
}

const queryTag = (query: string): string => createHash('sha256').update(query).digest('base64url').slice(0, 16);

export function encodeCursor(query: string, token: Uint8Array): string {
  return Buffer.from(JSON.stringify({ q: queryTag(query), t: Buffer.from(token).toString('base64') })).toString('base64url');
}

export function decodeCursor(query: string, cursor: string): Uint8Array {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { q?: unknown; t?: unknown };
    if (c.q !== queryTag(query) || typeof c.t !== 'string') throw new InvalidCursor();
    return Buffer.from(c.t, 'base64');
  } catch {
    throw new InvalidCursor();
  }
}

const statusName = (code: number | null | undefined): string =>
  (temporal.api.enums.v1.WorkflowExecutionStatus[code ?? 0] ?? 'UNSPECIFIED').replace('WORKFLOW_EXECUTION_STATUS_', '');

const tsToIso = (ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | undefined =>
  ts?.seconds != null ? new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString() : undefined;

export function toSummary(raw: temporal.api.workflow.v1.IWorkflowExecutionInfo): DeliverySummary {
  const sa = decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields);
  const deadline = sa.get(AckDeadlineKey);
  const status = sa.get(DeliveryStatusKey) as DeliveryStatus | undefined;
  const waitingFor = sa.get(WaitingForKey) as WaitingFor | undefined;
  const s: DeliverySummary = {
    workflowId: raw.execution?.workflowId ?? '',
    escalated: sa.get(EscalatedKey) ?? false,
    submittedAt: tsToIso(raw.startTime) ?? '',
    executionStatus: statusName(raw.status),
  };
  if (status) s.status = status;
  if (waitingFor) s.waitingFor = waitingFor;
  const recipient = sa.get(RecipientOdsKey);
  if (recipient) s.recipientOds = recipient;
  const sender = sa.get(SenderOdsKey);
  if (sender) s.senderOds = sender;
  const attempts = sa.get(AttemptCountKey);
  if (attempts !== undefined) s.attemptCount = attempts;
  if (deadline) s.ackDeadline = deadline.toISOString();
  const closed = tsToIso(raw.closeTime);
  if (closed) s.closedAt = closed;
  return s;
}

/** One page of deliveries. Search attributes are not encrypted, so no codec is involved. */
export async function listDeliveries(client: Client, q: ParsedListQuery): Promise<ListResponse> {
  const query = visibilityQuery(q);
  const res = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query,
    pageSize: q.pageSize,
    nextPageToken: q.cursor ? decodeCursor(query, q.cursor) : Buffer.alloc(0),
  });
  const out: ListResponse = { items: res.executions.map(toSummary) };
  if (res.nextPageToken && res.nextPageToken.length > 0) out.nextCursor = encodeCursor(query, res.nextPageToken);
  return out;
}
