/**
 * sendDocumentWorkflow: one durable workflow per outbound GP Connect Send Document message.
 *
 * Trigger: the HTTP API / client library, once per (document id, version).
 * Id: `deliveryWorkflowId(documentId, version)` from contracts/ids.ts.
 * Signals: itk3Response (an ITK3 Response routed by the inbound poller), meshReport (a MESH REPORT).
 * Queries: state. Outcomes (returned, not thrown): DELIVERED, REJECTED, ABANDONED, VOIDED.
 *
 * The clinical document never passes through history: the workflow carries claim-check references to
 * the encrypted content store. Ids for each attempt come from the workflow's deterministic uuid4().
 */
import {
  condition,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
// Values come from the search-attribute module alone; everything else is type-only, so that no zod
// schema is instantiated inside the workflow sandbox (sdk-typescript#2227: per-cached-workflow memory).
import {
  AckDeadlineKey,
  AttemptCountKey,
  DeliveryStatusKey,
  EscalatedKey,
  Itk3MessageIdKey,
  Itk3MessageIdsKey,
  MeshMessageIdKey,
  RecipientOdsKey,
  SenderOdsKey,
  WaitingForKey,
} from '../contracts/search-attributes';
import type {
  Attempt,
  DeliveryResult,
  DeliveryState,
  DeliveryStatus,
  Itk3ResponseReceived,
  SendDocumentInput,
  TimelineEntry,
} from '../contracts';
import { itk3ResponseSignal, meshReportSignal, stateQuery } from './definitions';

const store = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const mesh = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});
const notify = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

export async function sendDocumentWorkflow(input: SendDocumentInput): Promise<DeliveryResult> {
  const state: DeliveryState = {
    workflowId: workflowInfo().workflowId,
    documentId: input.documentId,
    version: input.version,
    senderOds: input.senderOds,
    recipientOds: input.recipientOds,
    status: 'SENDING',
    escalated: false,
    waitingFor: 'NOTHING',
    currentAttempt: 0,
    submissionRef: input.submissionRef,
    deadlines: input.deadlines,
    attempts: [],
    escalations: [],
    rejectedRoutes: [],
    run: 1,
    timeline: [],
  };
  const seenResponses = new Set<string>();

  const record = (kind: TimelineEntry['kind'], detail: string, attempt?: number): void => {
    state.timeline.push({ at: new Date().toISOString(), kind, detail, ...(attempt ? { attempt } : {}) });
  };
  const current = (): Attempt | undefined => state.attempts[state.currentAttempt - 1];
  const publish = (): void => {
    upsertSearchAttributes([
      { key: DeliveryStatusKey, value: state.status },
      { key: WaitingForKey, value: state.waitingFor },
      { key: EscalatedKey, value: state.escalated },
      { key: AttemptCountKey, value: state.attempts.length },
      { key: Itk3MessageIdKey, value: current()?.messageHeaderId ?? '' },
      { key: Itk3MessageIdsKey, value: state.attempts.map((a) => a.messageHeaderId) },
      { key: MeshMessageIdKey, value: current()?.meshMessageId ?? '' },
      { key: RecipientOdsKey, value: input.recipientOds },
      { key: SenderOdsKey, value: input.senderOds },
      { key: AckDeadlineKey, value: state.waitingUntil ? new Date(state.waitingUntil) : null },
    ]);
  };
  const setStatus = (status: DeliveryStatus, waitingFor: DeliveryState['waitingFor'], until?: number): void => {
    state.status = status;
    state.waitingFor = waitingFor;
    state.waitingUntil = until === undefined ? undefined : new Date(until).toISOString();
    record('STATE', `${status}${until === undefined ? '' : ` until ${state.waitingUntil}`}`);
    publish();
  };

  setHandler(stateQuery, () => state);
  setHandler(itk3ResponseSignal, (response: Itk3ResponseReceived) => {
    // Idempotent: a MESH redelivery of the same response (crash before the MESH ack) changes nothing.
    if (seenResponses.has(response.responseId)) return;
    seenResponses.add(response.responseId);
    const attempt = state.attempts.find((a) => a.messageHeaderId === response.respondsTo);
    record('RESPONSE', `${response.code} ${response.display} (${response.level}, ${response.polarity})`, attempt?.attempt);
    if (!attempt) return;
    if (response.level === 'infrastructure') attempt.infrastructureAck ??= response;
    else attempt.businessAck ??= response;
  });
  setHandler(meshReportSignal, (report) => {
    record('MESH_REPORT', `MESH ${report.kind} ${report.statusCode ?? ''}`.trim());
  });

  record('SUBMITTED', `document version ${input.version}`);

  // Attempt 1. Each attempt is a new ITK3 message: fresh Bundle identifier and MessageHeader id.
  const attempt: Attempt = { attempt: 1, messageHeaderId: uuid4(), bundleIdentifier: uuid4() };
  state.attempts.push(attempt);
  state.currentAttempt = 1;
  publish();
  const built = await store.buildItk3Message({
    submissionRef: input.submissionRef,
    attempt: attempt.attempt,
    messageHeaderId: attempt.messageHeaderId,
    bundleIdentifier: attempt.bundleIdentifier,
  });
  record('BUILT', `ITK3 message of ${built.sizeBytes} bytes on ${built.meshWorkflowId}`, attempt.attempt);
  const sent = await mesh.sendMeshMessage({ messageRef: built.messageRef, messageHeaderId: attempt.messageHeaderId, attempt: attempt.attempt });
  attempt.meshMessageId = sent.meshMessageId;
  attempt.sentAt = sent.sentAt;
  record('SENT', `MESH message ${sent.meshMessageId}`, attempt.attempt);

  // Deadlines are measured from the MESH send time (reference/itk3.md §5.4).
  const sentAtMs = Date.parse(sent.sentAt);
  const infDeadline = sentAtMs + input.deadlines.infrastructureAckMs;
  setStatus('AWAITING_INFRASTRUCTURE_ACK', 'INFRASTRUCTURE_ACK', infDeadline);
  await waitOrEscalate(() => !!(attempt.infrastructureAck || attempt.businessAck), infDeadline, 'no infrastructure acknowledgement by the deadline (GPCM-SD-095, 1.3.1)');

  const inf = attempt.infrastructureAck;
  if (inf && inf.polarity === 'negative') {
    setStatus('REJECTED', 'NOTHING');
    await notify.raiseEscalation({ workflowId: state.workflowId, documentId: input.documentId, state: state.status, reason: `negative infrastructure acknowledgement ${inf.code}`, code: inf.code, attempt: 1, kind: 'RAISED' });
    return { status: 'REJECTED', attempts: state.attempts.length, finalCode: inf.code };
  }

  const busDeadline = sentAtMs + input.deadlines.businessAckMs;
  setStatus('AWAITING_BUSINESS_ACK', 'BUSINESS_ACK', busDeadline);
  await waitOrEscalate(() => !!attempt.businessAck, busDeadline, 'no business acknowledgement by the deadline (GPCM-SD-095, 1.3.1)');

  const bus = attempt.businessAck!;
  if (bus.polarity === 'positive') {
    setStatus('DELIVERED', 'NOTHING');
    return { status: 'DELIVERED', attempts: state.attempts.length, finalCode: bus.code };
  }
  setStatus('REJECTED', 'NOTHING');
  await notify.raiseEscalation({ workflowId: state.workflowId, documentId: input.documentId, state: state.status, reason: `negative business acknowledgement ${bus.code}`, code: bus.code, attempt: 1, kind: 'RAISED' });
  return { status: 'REJECTED', attempts: state.attempts.length, finalCode: bus.code };

  /** Waits until `done` or the deadline; past the deadline it escalates once and keeps waiting. */
  async function waitOrEscalate(done: () => boolean, deadlineMs: number, reason: string): Promise<void> {
    const remaining = deadlineMs - Date.now();
    if (remaining > 0 && (await condition(done, remaining))) return;
    if (done()) return;
    record('DEADLINE', reason, state.currentAttempt);
    state.escalated = true;
    publish();
    await notify.raiseEscalation({ workflowId: state.workflowId, documentId: input.documentId, state: state.status, reason, attempt: state.currentAttempt, kind: 'RAISED' });
    record('ESCALATION', reason, state.currentAttempt);
    await condition(done);
    log.info('acknowledgement arrived after the deadline', { workflowId: state.workflowId });
    record('STATE', 'late acknowledgement reconciled');
  }
}
