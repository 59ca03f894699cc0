/**
 * Inbound MESH traffic: every message in a polled inbox ends in exactly one place, the delivery
 * workflow waiting for it or the quarantine (workflows/quarantine.ts), and only then is it acknowledged
 * on MESH. A crash in between means MESH delivers it again; the workflow dedupes on the response id (or
 * report id) and the quarantine on its workflow id (one entry per MESH message), so it counts once.
 *
 * Classification:
 * - DATA on an ITK3 ACK workflow id (1.x `GPFED_CONSULT_REPORT_ACK`, 2.x `GPCONNECT_SEND_DOCUMENT_ACK`):
 *   an ITK3 Response, parsed by the ITK3 library and correlated by response.identifier (the attempt's
 *   MessageHeader id, search attribute `Itk3MessageIds`), then by the echoed SenderReference
 *   (`SenderReference`, running deliveries only, routed to the current attempt).
 * - REPORT (non-delivery 14, EPL-15x routing errors, other): correlated by Mex-LinkedMsgID (`MeshMessageIds`,
 *   every attempt; `MeshMessageId` for deliveries started before that attribute existed).
 * - Anything else (DATA on another workflow id): quarantined as unexpected.
 * Quarantined: malformed XML, unclassifiable codes, UNREADABLE-IN-ORIGINAL-MESSAGE, unmatched or ambiguous
 * responses and reports, unexpected workflow ids, and messages for closed workflows not already recorded.
 *
 * A message that cannot be downloaded (404, 410, a failed chunk, a network error) is never acknowledged:
 * it is reported in the pass result and tried again on the next pass; the poller raises it to an
 * operator if it keeps failing (workflows/inbox-poller.ts).
 */
import { heartbeat, Context } from '@temporalio/activity';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import type { Logger } from 'pino';
import {
  CourierError,
  ErrorType,
  Itk3MessageIdKey,
  RecipientOdsKey,
  QuarantineReasonKey,
  QuarantineStatusKey,
  UNREADABLE_IN_ORIGINAL_MESSAGE,
  type Itk3ResponseReceived,
  type MeshReportReceived,
  type PollMeshInboxInput,
  type PollMeshInboxResult,
} from '../contracts';
import {
  QUARANTINE_WORKFLOW_TYPE,
  quarantineWorkflowId,
  type InboxFailure,
  type QuarantineInput,
  type QuarantineMemo,
  type QuarantineReason,
  type QuarantineSummary,
  type StoredInboundMessage,
} from '../contracts/inbound';
import { classifyResponseCode, isAckWorkflowId, parseItk3Response, type ParsedItk3Response } from '../itk3';
import { classifyReport, type MeshInboundMessage, type MeshReportKind } from '../mesh';
import type { ContentStore } from '../store/content-store';
import type { SentMessageIndex } from './sent-index';
import { senderReferenceDigest } from './correlation';
import { itk3ResponseSignal, meshReportSignal, stateQuery } from '../workflows/definitions';
import { quarantineStaticDetails, quarantineStaticSummary } from '../workflows/metadata';

// ---------------------------------------------------------------------------------------------------
// Ports: what the router needs from MESH and from Temporal, so unit tests can hand it fakes.

export interface InboxMesh {
  readonly mailbox: string;
  listInbox(opts?: { maxResults?: number; limit?: number }): Promise<string[]>;
  downloadMessage(messageId: string): Promise<MeshInboundMessage>;
  acknowledgeMessage(messageId: string): Promise<void>;
  handshake(): Promise<void>;
}

export type CorrelationAttribute = 'Itk3MessageIds' | 'MeshMessageIds' | 'MeshMessageId' | 'SenderReference';

export interface WorkflowMatch {
  workflowId: string;
  running: boolean;
  /** MessageHeader id of the current attempt (search attribute `Itk3MessageId`). */
  currentMessageHeaderId?: string;
  /**
   * Who the matched attempt went to, for the sender checks: from this worker's record of its sends when it
   * has one (per attempt), else the delivery's `RecipientOds` search attribute (its current recipient).
   */
  recipientOds?: string;
  recipientMailbox?: string;
}

/** Just what the router reads from a delivery's state: which responses and reports it has recorded. */
export interface DeliveryView {
  currentAttempt: number;
  attempts: Array<{
    attempt: number;
    messageHeaderId: string;
    meshMessageId?: string;
    recipientMailbox?: string;
    infrastructureAck?: { responseId: string };
    businessAck?: { responseId: string };
    meshReports?: Array<{ reportMessageId: string }>;
  }>;
}

export interface InboundTemporal {
  /** Deliveries whose search attribute equals `value` (one row per workflow id, continue-as-new folded). */
  find(attribute: CorrelationAttribute, value: string): Promise<WorkflowMatch[]>;
  /** Resolves once the signal is in the workflow's history; CLOSED when the workflow has ended. */
  signalResponse(workflowId: string, response: Itk3ResponseReceived): Promise<'SIGNALLED' | 'CLOSED'>;
  signalReport(workflowId: string, report: MeshReportReceived): Promise<'SIGNALLED' | 'CLOSED'>;
  /** The delivery's state (also for a closed one while its worker runs); undefined if unknown. */
  deliveryState(workflowId: string): Promise<DeliveryView | undefined>;
  /** Resolves once the entry is durably started; EXISTS when this MESH message already has one. */
  startQuarantine(input: QuarantineInput, memo: QuarantineMemo): Promise<'STARTED' | 'EXISTS'>;
}

/** Test seams. `beforeAcknowledge` runs after the message is durably accepted and before the MESH ack. */
export interface InboundHooks {
  beforeAcknowledge?(info: { mailboxId: string; meshMessageId: string; outcome: RouteOutcome }): Promise<void> | void;
}

/**
 * What a response must come from to be applied: the mailbox the attempt was delivered to and the
 * delivery's recipient ODS code. Mailbox routing knows the mailbox from configuration (or, per attempt,
 * from the sent index); GPPROVIDER routing learns it once per attempt from MESH tracking.
 */
export interface SenderChecks {
  routing: { mode: 'mailbox'; mailboxId: string } | { mode: 'gpprovider' };
  /** GPPROVIDER: the mailbox MESH delivered this attempt to, or undefined when MESH cannot say. */
  learnRecipientMailbox?(workflowId: string, messageHeaderId: string): Promise<string | undefined>;
  /** Key of the SenderReference search attribute (activities/correlation.ts). */
  correlationKey?: string;
}

export interface RouterDeps {
  temporal: InboundTemporal;
  checks: SenderChecks;
  store: ContentStore;
  logger: Logger;
  now: () => Date;
  /** Delays before a quarantined unmatched message is correlated again (visibility lag). */
  rematchDelaysMs: number[];
  hooks?: InboundHooks;
}

export type RouteOutcome = 'routed' | 'report' | 'quarantined' | 'duplicate';

/** Values are checked before they go into a visibility query (no quoting games). */
const SAFE_QUERY_VALUE = /^[A-Za-z0-9_.:-]{1,200}$/;

/**
 * Temporal behind the port: visibility queries, signals, queries, quarantine starts. With `sent`, an
 * ITK3 id this worker sent is found without a visibility query (activities/sent-index.ts).
 */
export function temporalInbound(client: Client, taskQueue: string, sent?: SentMessageIndex): InboundTemporal {
  const signal = async <T>(workflowId: string, def: Parameters<ReturnType<Client['workflow']['getHandle']>['signal']>[0], arg: T): Promise<'SIGNALLED' | 'CLOSED'> => {
    try {
      await client.workflow.getHandle(workflowId).signal(def as never, arg as never);
      return 'SIGNALLED';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'CLOSED';
      throw err;
    }
  };
  return {
    async find(attribute, value) {
      if (!SAFE_QUERY_VALUE.test(value)) return [];
      const sentBy = attribute === 'Itk3MessageIds' ? sent?.entryOf(value) : undefined;
      // Running or not does not matter for one match; a closed delivery answers the signal with CLOSED.
      if (sentBy) {
        const { workflowId, recipientOds, recipientMailbox } = sentBy;
        return [{ workflowId, running: true, ...(recipientOds ? { recipientOds } : {}), ...(recipientMailbox ? { recipientMailbox } : {}) }];
      }
      const byId = new Map<string, WorkflowMatch>();
      // Each continue-as-new run carries the attributes, so several runs of one workflow can match.
      for await (const wf of client.workflow.list({ query: `${attribute} = '${value}' AND WorkflowType != '${QUARANTINE_WORKFLOW_TYPE}'`, pageSize: 20 })) {
        const running = wf.status.name === 'RUNNING';
        const prev = byId.get(wf.workflowId);
        const current = wf.typedSearchAttributes.get(Itk3MessageIdKey) || undefined;
        const recipientOds = wf.typedSearchAttributes.get(RecipientOdsKey) || undefined;
        if (!prev || (running && !prev.running)) {
          // For a match by SenderReference (the current attempt), this worker may know where it went.
          const known = current ? sent?.entryOf(current) : undefined;
          byId.set(wf.workflowId, {
            workflowId: wf.workflowId,
            running: running || (prev?.running ?? false),
            ...(current ? { currentMessageHeaderId: current } : {}),
            ...(known?.recipientOds ?? recipientOds ? { recipientOds: known?.recipientOds ?? recipientOds } : {}),
            ...(known?.recipientMailbox ? { recipientMailbox: known.recipientMailbox } : {}),
          });
        }
        if (byId.size > 10) break;
      }
      return [...byId.values()];
    },
    signalResponse: (workflowId, response) => signal(workflowId, itk3ResponseSignal, response),
    signalReport: (workflowId, report) => signal(workflowId, meshReportSignal, report),
    async deliveryState(workflowId) {
      try {
        return (await client.workflow.getHandle(workflowId).query(stateQuery)) as unknown as DeliveryView;
      } catch {
        return undefined;
      }
    },
    async startQuarantine(input, memo) {
      try {
        await client.workflow.start(QUARANTINE_WORKFLOW_TYPE, {
          workflowId: input.quarantineId,
          taskQueue,
          args: [input],
          memo: memo as unknown as Record<string, unknown>,
          // What the Web UI shows for this entry: ids, mailbox and reason code, never the message.
          staticSummary: quarantineStaticSummary(input),
          staticDetails: quarantineStaticDetails(input),
          typedSearchAttributes: [
            { key: QuarantineReasonKey, value: input.reason },
            { key: QuarantineStatusKey, value: 'OPEN' },
          ],
          // One entry per MESH message, ever: a redelivery after a crash finds the entry it made before.
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
        return 'STARTED';
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return 'EXISTS';
        throw err;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Classification and correlation (no side effects beyond visibility reads).

export type Decision =
  | { kind: 'response'; workflowId: string; response: Itk3ResponseReceived }
  | { kind: 'report'; workflowId: string; report: MeshReportReceived }
  | { kind: 'quarantine'; reason: QuarantineReason; detail: string; summary: QuarantineSummary; candidates: string[] };

/** A downloaded message reduced to what routing needs (also rebuilt from the store for a quarantine entry). */
export interface InboundView {
  meshMessageId: string;
  /** The mailbox it arrived in. */
  mailboxId: string;
  /** MESH's Mex-From: the mailbox that sent it (MESH sets it from the sender's authentication). */
  fromMailbox?: string;
  messageType: 'DATA' | 'REPORT';
  workflowId?: string;
  body: Buffer;
  report?: { linkedMessageId?: string; statusCode?: string; statusDescription?: string; kind: MeshReportKind };
}

export function viewOfDownload(msg: MeshInboundMessage, mailboxId: string): InboundView {
  const view: InboundView = { meshMessageId: msg.messageId, mailboxId, messageType: msg.messageType, body: msg.body };
  if (msg.workflowId) view.workflowId = msg.workflowId;
  const from = msg.from ?? msg.headers['mex-from'];
  if (from) view.fromMailbox = from;
  if (msg.messageType === 'REPORT') {
    const r = msg.report;
    const report: NonNullable<InboundView['report']> = { kind: r?.kind ?? 'OTHER' };
    if (r?.linkedMessageId) report.linkedMessageId = r.linkedMessageId;
    if (r?.statusCode) report.statusCode = r.statusCode;
    if (r?.statusDescription) report.statusDescription = r.statusDescription;
    view.report = report;
  }
  return view;
}

export function viewOfStored(stored: StoredInboundMessage): InboundView {
  const h = stored.headers;
  const opt = (k: string): string | undefined => (h[k] ? h[k] : undefined);
  const view: InboundView = { meshMessageId: stored.meshMessageId, mailboxId: stored.mailboxId, messageType: stored.messageType, body: Buffer.from(stored.bodyBase64, 'base64') };
  const wf = opt('mex-workflowid');
  if (wf) view.workflowId = wf;
  const from = opt('mex-from');
  if (from) view.fromMailbox = from;
  if (stored.messageType === 'REPORT') {
    const report: NonNullable<InboundView['report']> = { kind: classifyReport(opt('mex-statuscode')) };
    const linked = opt('mex-linkedmsgid');
    const code = opt('mex-statuscode');
    const description = opt('mex-statusdescription');
    if (linked) report.linkedMessageId = linked;
    if (code) report.statusCode = code;
    if (description) report.statusDescription = description;
    view.report = report;
  }
  return view;
}

/** Parse failures whose issue is the response code itself are "unclassifiable", the rest "malformed". */
function parseFailureReason(err: unknown): QuarantineReason {
  const issues = err instanceof CourierError ? err.issues : [];
  return issues.some((i) => i.path === 'OperationOutcome.issue.details.coding.code') ? 'UNCLASSIFIABLE_CODE' : 'MALFORMED';
}

export type ParseOutcome = { ok: true; parsed: ParsedItk3Response } | { ok: false; reason: QuarantineReason; detail: string };

export function parseResponseBody(body: Buffer): ParseOutcome {
  try {
    return { ok: true, parsed: parseItk3Response(body) };
  } catch (err) {
    // ITK3 library messages name fields and rules, never values (itk3/errors.ts), so they are log-safe.
    const detail = err instanceof CourierError ? `${err.type}: ${err.message}` : 'the ITK3 parser failed on this content';
    return { ok: false, reason: parseFailureReason(err), detail };
  }
}

export function responsePayload(parsed: ParsedItk3Response, meshMessageId: string, receivedAt: string, senderMailbox?: string): Itk3ResponseReceived {
  const payload: Itk3ResponseReceived = {
    responseId: parsed.responseBundleIdentifier,
    respondsTo: parsed.respondsTo,
    code: parsed.code,
    display: parsed.display,
    level: parsed.level,
    polarity: parsed.polarity,
    action: parsed.action,
    responseCode: parsed.responseCode,
    meshMessageId,
    receivedAt,
    correlatedBy: 'RESPONSE_IDENTIFIER',
    knownCode: parsed.knownCode,
  };
  if (parsed.diagnostics !== undefined) payload.diagnostics = parsed.diagnostics;
  if (parsed.senderReference !== undefined && parsed.senderReference !== 'None') payload.senderReference = parsed.senderReference;
  if (senderMailbox) payload.senderMailbox = senderMailbox.toUpperCase();
  if (parsed.senderOds) payload.senderOds = parsed.senderOds;
  return payload;
}

/** A response built from an operator's reading of content that could not be parsed or classified. */
export function operatorResponsePayload(code: string, meshMessageId: string, receivedAt: string, quarantineId: string): Itk3ResponseReceived {
  const cls = classifyResponseCode(code);
  return {
    responseId: `quarantine:${quarantineId}`,
    respondsTo: UNREADABLE_IN_ORIGINAL_MESSAGE,
    code,
    display: cls.display ?? 'Response code given by an operator',
    level: cls.level,
    polarity: cls.polarity,
    action: cls.action,
    responseCode: cls.polarity === 'positive' ? 'ok' : 'fatal-error',
    meshMessageId,
    receivedAt,
    knownCode: cls.known,
  };
}

function summaryOf(parsed: ParsedItk3Response, senderMailbox: string | undefined): QuarantineSummary {
  const s: QuarantineSummary = {
    responseId: parsed.responseBundleIdentifier,
    respondsTo: parsed.respondsTo,
    code: parsed.code,
    level: parsed.level,
    polarity: parsed.polarity,
  };
  if (parsed.senderReference && parsed.senderReference !== 'None') s.senderReference = parsed.senderReference;
  if (senderMailbox) s.senderMailbox = senderMailbox.toUpperCase();
  if (parsed.senderOds) s.senderOds = parsed.senderOds;
  return s;
}

function reportSummary(view: InboundView): QuarantineSummary {
  const r = view.report;
  const s: QuarantineSummary = {};
  if (r?.linkedMessageId) s.linkedMessageId = r.linkedMessageId;
  if (r?.kind) s.reportKind = r.kind;
  if (r?.statusCode) s.statusCode = r.statusCode;
  return s;
}

/** One workflow if exactly one matches, preferring running ones; else the candidates. */
function single(matches: WorkflowMatch[]): { one?: WorkflowMatch; candidates: string[] } {
  const running = matches.filter((m) => m.running);
  if (matches.length === 1) return { one: matches[0]!, candidates: [] };
  if (running.length === 1) return { one: running[0]!, candidates: [] };
  return { candidates: matches.map((m) => m.workflowId) };
}

/**
 * Decide where one inbox message goes. Reads visibility (and, with GPPROVIDER routing, MESH tracking once
 * per attempt); changes nothing.
 *
 * A response is applied only when it comes from the practice the attempt went to: its MESH sender mailbox
 * (Mex-From, which MESH sets from the sender's authentication) is the attempt's recipient mailbox, and its
 * MessageHeader sender ODS code is the delivery's recipient ODS code. Ids are no proof: a MessageHeader id
 * travels to the practice in the clear, and a SenderReference is often guessable. A REPORT is applied only
 * when MESH sent it (no Mex-From, or the mailbox it arrived in) about a MESH message id a delivery sent.
 */
export async function decide(temporal: InboundTemporal, view: InboundView, receivedAt: string, checks: SenderChecks): Promise<Decision> {
  if (view.messageType === 'REPORT') {
    const summary = reportSummary(view);
    const linked = view.report?.linkedMessageId;
    // Only MESH makes REPORT messages (a client's send is always DATA); MESH sends them from its own central
    // mailbox, which has no id (so no Mex-From). A report naming another mailbox as its sender is not MESH's.
    if (view.fromMailbox && view.fromMailbox.toUpperCase() !== view.mailboxId.toUpperCase()) {
      summary.senderMailbox = view.fromMailbox.toUpperCase();
      return { kind: 'quarantine', reason: 'REPORT_NOT_FROM_MESH', detail: 'MESH report whose Mex-From names a mailbox: MESH itself did not send it', summary, candidates: [] };
    }
    if (!linked) return { kind: 'quarantine', reason: 'UNMATCHED_REPORT', detail: 'MESH report without Mex-LinkedMsgID', summary, candidates: [] };
    // Every attempt's MESH id (`MeshMessageIds`), so a report for an older attempt is found too; deliveries
    // started before that attribute existed have only the current attempt's (`MeshMessageId`).
    const byIds = await temporal.find('MeshMessageIds', linked);
    const { one, candidates } = single(byIds.length > 0 ? byIds : await temporal.find('MeshMessageId', linked));
    if (!one) {
      const detail = candidates.length ? 'MESH report matches several deliveries' : 'MESH report matches no delivery';
      return { kind: 'quarantine', reason: 'UNMATCHED_REPORT', detail, summary, candidates };
    }
    const report: MeshReportReceived = { meshMessageId: linked, reportMessageId: view.meshMessageId, kind: view.report?.kind ?? 'OTHER', receivedAt };
    if (view.report?.statusCode) report.statusCode = view.report.statusCode;
    if (view.report?.statusDescription) report.statusDescription = view.report.statusDescription;
    return { kind: 'report', workflowId: one.workflowId, report };
  }

  if (!view.workflowId || !isAckWorkflowId(view.workflowId)) {
    return { kind: 'quarantine', reason: 'UNEXPECTED_WORKFLOW_ID', detail: 'DATA message on a MESH workflow id that is not an ITK3 ACK workflow', summary: {}, candidates: [] };
  }
  const outcome = parseResponseBody(view.body);
  if (!outcome.ok) return { kind: 'quarantine', reason: outcome.reason, detail: outcome.detail, summary: {}, candidates: [] };
  const parsed = outcome.parsed;
  const summary = summaryOf(parsed, view.fromMailbox);
  const senderRef = summary.senderReference;
  const bySenderRef = async (): Promise<WorkflowMatch[]> =>
    senderRef ? (await temporal.find('SenderReference', senderReferenceDigest(senderRef, checks.correlationKey))).filter((m) => m.running) : [];

  if (parsed.uncorrelatable) {
    // 10009 defaults: the receiver could not read our id. Never guess: an operator decides (candidates help).
    const candidates = (await bySenderRef()).map((m) => m.workflowId);
    return { kind: 'quarantine', reason: 'UNREADABLE_IN_ORIGINAL_MESSAGE', detail: 'response.identifier is UNREADABLE-IN-ORIGINAL-MESSAGE', summary, candidates };
  }
  const byId = single(await temporal.find('Itk3MessageIds', parsed.respondsTo));
  if (byId.one) {
    const response = responsePayload(parsed, view.meshMessageId, receivedAt, view.fromMailbox);
    return fromRecipient(byId.one, parsed.respondsTo, response, view, summary, checks);
  }
  if (byId.candidates.length) {
    return { kind: 'quarantine', reason: 'AMBIGUOUS_RESPONSE', detail: 'response.identifier matches several deliveries', summary, candidates: byId.candidates };
  }
  // Second key: the echoed SenderReference, to the current attempt of the one running
  // delivery. Never enough on its own: the same sender checks as for a match by id.
  const byRef = await bySenderRef();
  if (byRef.length === 1 && byRef[0]!.currentMessageHeaderId) {
    const response = responsePayload(parsed, view.meshMessageId, receivedAt, view.fromMailbox);
    response.originalRespondsTo = parsed.respondsTo;
    response.respondsTo = byRef[0]!.currentMessageHeaderId;
    response.correlatedBy = 'SENDER_REFERENCE';
    return fromRecipient(byRef[0]!, response.respondsTo, response, view, summary, checks);
  }
  if (byRef.length > 1) {
    return { kind: 'quarantine', reason: 'AMBIGUOUS_RESPONSE', detail: 'SenderReference matches several running deliveries', summary, candidates: byRef.map((m) => m.workflowId) };
  }
  return { kind: 'quarantine', reason: 'UNMATCHED_RESPONSE', detail: 'response.identifier and SenderReference match no delivery', summary, candidates: byRef.map((m) => m.workflowId) };
}

/** Quarantine for a message past a download limit; the detail gives sizes only. */
export function oversizedDecision(o: NonNullable<MeshInboundMessage['oversize']>): Extract<Decision, { kind: 'quarantine' }> {
  const what = o.limit === 'compressed' ? 'bytes as sent' : 'bytes decoded';
  const declared = o.declaredBytes !== undefined ? `, declared ${o.declaredBytes} bytes` : '';
  return { kind: 'quarantine', reason: 'OVERSIZED', detail: `over the inbound limit of ${o.limitBytes} ${what} (read ${o.bytesRead}${declared}); only a prefix is kept`, summary: {}, candidates: [] };
}

/** The response goes to its delivery only when it comes from the attempt's recipient; else to the quarantine. */
async function fromRecipient(
  match: WorkflowMatch,
  messageHeaderId: string,
  response: Itk3ResponseReceived,
  view: InboundView,
  summary: QuarantineSummary,
  checks: SenderChecks,
): Promise<Decision> {
  const upper = (v: string | undefined): string | undefined => v?.trim().toUpperCase() || undefined;
  const candidates = [match.workflowId];
  let expectedMailbox = upper(match.recipientMailbox) ?? (checks.routing.mode === 'mailbox' ? upper(checks.routing.mailboxId) : undefined);
  if (!expectedMailbox && checks.routing.mode === 'gpprovider') expectedMailbox = upper(await checks.learnRecipientMailbox?.(match.workflowId, messageHeaderId));
  const quarantine = (reason: QuarantineReason, detail: string): Decision => {
    const s: QuarantineSummary = { ...summary };
    if (expectedMailbox) s.expectedMailbox = expectedMailbox;
    if (match.recipientOds) s.expectedOds = match.recipientOds;
    return { kind: 'quarantine', reason, detail, summary: s, candidates };
  };
  if (!expectedMailbox) {
    return quarantine('SENDER_MAILBOX_UNVERIFIED', 'MESH tracking did not say which mailbox the attempt was delivered to, so the sender cannot be checked');
  }
  const from = upper(view.fromMailbox);
  if (from !== expectedMailbox) {
    return quarantine('SENDER_MAILBOX_MISMATCH', from ? 'sent from a MESH mailbox other than the one the attempt was delivered to' : 'no MESH sender mailbox (Mex-From) to check');
  }
  const expectedOds = upper(match.recipientOds);
  const senderOds = upper(response.senderOds);
  if (!expectedOds || senderOds !== expectedOds) {
    return quarantine(
      'SENDER_ODS_MISMATCH',
      !senderOds ? 'the MessageHeader sender has no ODS code to check' : !expectedOds ? "the delivery's recipient ODS code is not known here" : "the MessageHeader sender ODS code is not the delivery's recipient",
    );
  }
  // GPPROVIDER: always tell the workflow, which keeps it on the attempt if it does not know it yet (the
  // response that taught this worker may have been quarantined and never reached the workflow).
  if (checks.routing.mode === 'gpprovider') response.recipientMailbox = expectedMailbox;
  return { kind: 'response', workflowId: match.workflowId, response };
}

/** Has a closed delivery already recorded this response or report? Then a redelivery is a duplicate. */
export function alreadyRecorded(state: DeliveryView | undefined, decision: Decision): boolean {
  if (!state || decision.kind === 'quarantine') return false;
  for (const a of state.attempts ?? []) {
    if (decision.kind === 'response' && (a.infrastructureAck?.responseId === decision.response.responseId || a.businessAck?.responseId === decision.response.responseId)) return true;
    if (decision.kind === 'report' && (a.meshReports ?? []).some((r) => r.reportMessageId === decision.report.reportMessageId)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Routing one message: decide, hand over durably, then acknowledge.

/**
 * Route one inbox message. Throws (and leaves the message in the inbox) when it cannot be downloaded
 * or handed over; the next pass tries again. Acknowledges only after the workflow or the quarantine holds it.
 */
export async function routeInboxMessage(deps: RouterDeps, mesh: InboxMesh, meshMessageId: string): Promise<RouteOutcome> {
  const message = await mesh.downloadMessage(meshMessageId);
  const receivedAt = deps.now().toISOString();
  const view = viewOfDownload({ ...message, messageId: meshMessageId }, mesh.mailbox);
  // An oversized message is never parsed or correlated: its body is only a prefix of what was sent.
  let decision = message.oversize ? oversizedDecision(message.oversize) : await decide(deps.temporal, view, receivedAt, deps.checks);
  let outcome: RouteOutcome;
  const log = { mailboxId: mesh.mailbox, meshMessageId };

  if (decision.kind !== 'quarantine') {
    const delivered =
      decision.kind === 'response'
        ? await deps.temporal.signalResponse(decision.workflowId, decision.response)
        : await deps.temporal.signalReport(decision.workflowId, decision.report);
    if (delivered === 'SIGNALLED') {
      outcome = decision.kind === 'response' ? 'routed' : 'report';
      deps.logger.info(
        { ...log, workflowId: decision.workflowId, ...(decision.kind === 'response' ? { code: decision.response.code, correlatedBy: decision.response.correlatedBy } : { reportKind: decision.report.kind, statusCode: decision.report.statusCode }) },
        decision.kind === 'response' ? 'ITK3 response routed' : 'MESH report routed',
      );
    } else if (alreadyRecorded(await deps.temporal.deliveryState(decision.workflowId), decision)) {
      outcome = 'duplicate';
      deps.logger.info({ ...log, workflowId: decision.workflowId }, 'redelivery of something a closed delivery already recorded; acknowledged');
    } else {
      const summary = decision.kind === 'response' ? { responseId: decision.response.responseId, respondsTo: decision.response.respondsTo, code: decision.response.code } : { linkedMessageId: decision.report.meshMessageId, reportKind: decision.report.kind };
      decision = { kind: 'quarantine', reason: 'WORKFLOW_CLOSED', detail: 'the delivery it belongs to has closed', summary, candidates: [decision.workflowId] };
      outcome = 'quarantined';
    }
  } else {
    outcome = 'quarantined';
  }

  if (decision.kind === 'quarantine') await quarantine(deps, mesh.mailbox, message, view, decision, receivedAt);

  await deps.hooks?.beforeAcknowledge?.({ mailboxId: mesh.mailbox, meshMessageId, outcome });
  await mesh.acknowledgeMessage(meshMessageId);
  return outcome;
}

async function quarantine(
  deps: RouterDeps,
  mailboxId: string,
  message: MeshInboundMessage,
  view: InboundView,
  decision: Extract<Decision, { kind: 'quarantine' }>,
  receivedAt: string,
): Promise<void> {
  const stored: StoredInboundMessage = {
    mailboxId,
    meshMessageId: view.meshMessageId,
    messageType: view.messageType,
    headers: message.headers,
    bodyBase64: message.body.toString('base64'),
    receivedAt,
  };
  // fsynced before the entry exists, so the entry never points at content that is not there.
  const contentRef = await deps.store.put('inbound-message', Buffer.from(JSON.stringify(stored), 'utf8'));
  const unmatched = decision.reason === 'UNMATCHED_RESPONSE' || decision.reason === 'UNMATCHED_REPORT';
  const input: QuarantineInput = {
    quarantineId: quarantineWorkflowId(mailboxId, view.meshMessageId),
    mailboxId,
    meshMessageId: view.meshMessageId,
    messageType: view.messageType,
    reason: decision.reason,
    detail: decision.detail,
    contentRef,
    receivedAt,
    summary: decision.summary,
    candidates: decision.candidates,
    rematchDelaysMs: unmatched ? deps.rematchDelaysMs : [],
  };
  if (view.workflowId) input.meshWorkflowId = view.workflowId;
  const memo: QuarantineMemo = { mailboxId, meshMessageId: view.meshMessageId, messageType: view.messageType, reason: decision.reason, receivedAt };
  if (decision.summary.code ?? decision.summary.statusCode) memo.code = (decision.summary.code ?? decision.summary.statusCode)!;
  const started = await deps.temporal.startQuarantine(input, memo);
  deps.logger.warn(
    { mailboxId, meshMessageId: view.meshMessageId, quarantineId: input.quarantineId, reason: decision.reason, code: memo.code, candidates: decision.candidates, existing: started === 'EXISTS' },
    'inbound message quarantined',
  );
}

// ---------------------------------------------------------------------------------------------------
// The activities: one pass over a mailbox, and the daily handshake.

export interface InboundActivityDeps extends Omit<RouterDeps, 'temporal' | 'rematchDelaysMs' | 'now'> {
  temporal: Client;
  taskQueue: string;
  /** MESH clients by mailbox id (upper case). */
  inboxes: ReadonlyMap<string, InboxMesh>;
  now?: () => Date;
  rematchDelaysMs?: number[];
  /** Replace the Temporal port (unit tests). */
  port?: InboundTemporal;
}

const DEFAULT_PAGE_SIZE = 500;
// 16: routing fewer at a time leaves responses queued in the inbox under load (the route, not MESH, is
// the bottleneck), while more than 16 gives no more throughput (BENCHMARKS.md has the measurements).
const DEFAULT_CONCURRENCY = 16;

function inboxFor(deps: InboundActivityDeps, mailboxId: string): InboxMesh {
  const mesh = deps.inboxes.get(mailboxId.toUpperCase());
  if (!mesh) throw new CourierError(ErrorType.CONFIG_INVALID, 'no MESH client is configured for this mailbox', [{ path: 'mailboxId', message: `mailbox ${mailboxId} is not configured (MESH_MAILBOXES)` }]);
  return mesh;
}

/** Sleep `ms`, heartbeating at least every 5 s (the poller's heartbeat timeout is 60 s); ends early on cancellation. */
async function pauseHeartbeating(ms: number, signal: AbortSignal): Promise<void> {
  const end = Date.now() + ms;
  while (!signal.aborted) {
    const left = end - Date.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(left, 5_000));
      signal.addEventListener('abort', done, { once: true });
    });
    heartbeat({ waitingForMail: true });
  }
}

function failureOf(meshMessageId: string, err: unknown): InboxFailure {
  const f: InboxFailure = { meshMessageId, errorType: err instanceof CourierError ? err.type : err instanceof Error ? err.name : 'UNKNOWN' };
  const status = (err as { httpStatus?: unknown }).httpStatus;
  if (typeof status === 'number') f.httpStatus = status;
  return f;
}

export function createInboundActivities(deps: InboundActivityDeps) {
  const now = deps.now ?? (() => new Date());
  const router: RouterDeps = {
    temporal: deps.port ?? temporalInbound(deps.temporal, deps.taskQueue),
    checks: deps.checks,
    store: deps.store,
    logger: deps.logger,
    now,
    rematchDelaysMs: deps.rematchDelaysMs ?? [30_000, 300_000],
    ...(deps.hooks ? { hooks: deps.hooks } : {}),
  };

  return {
    /**
     * One pass over a MESH inbox: list one page, route every message, and
     * acknowledge each only after its workflow or the quarantine holds it. Per-message failures are
     * returned, not thrown, so one bad message never stops the others; they stay in the inbox.
     */
    async pollMeshInbox(input: PollMeshInboxInput): Promise<PollMeshInboxResult> {
      const mesh = inboxFor(deps, input.mailboxId);
      const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
      const signal = Context.current().cancellationSignal;
      const startedAt = Date.now();
      // Long poll: an empty inbox is listed again every interval inside this one activity, so an
      // idle poller costs the Temporal server one activity per `waitForMailMs` instead of an activity, a
      // timer and two workflow tasks per interval. Nothing is downloaded or acknowledged while waiting.
      const interval = input.pollIntervalMs ?? 0;
      const waitFor = interval > 0 ? (input.waitForMailMs ?? 0) : 0;
      if (input.delayFirstListMs) await pauseHeartbeating(input.delayFirstListMs, signal);
      let ids = signal.aborted ? [] : await mesh.listInbox({ maxResults: pageSize, limit: pageSize });
      while (ids.length === 0 && !signal.aborted && Date.now() - startedAt + interval <= waitFor) {
        await pauseHeartbeating(interval, signal);
        if (signal.aborted) break;
        ids = await mesh.listInbox({ maxResults: pageSize, limit: pageSize });
      }
      const counts = { routed: 0, reports: 0, quarantined: 0, duplicates: 0 };
      const failed: InboxFailure[] = [];
      const succeeded = new Set<string>();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ids.length && !signal.aborted) {
          const id = ids[next++]!;
          try {
            const outcome = await routeInboxMessage(router, mesh, id);
            succeeded.add(id);
            if (outcome === 'routed') counts.routed++;
            else if (outcome === 'report') counts.reports++;
            else if (outcome === 'duplicate') counts.duplicates++;
            else counts.quarantined++;
          } catch (err) {
            failed.push(failureOf(id, err));
            deps.logger.warn({ mailboxId: mesh.mailbox, meshMessageId: id, err }, 'inbox message not routed; left in the inbox for the next pass');
          }
          heartbeat({ done: succeeded.size + failed.length, of: ids.length });
        }
      };
      await Promise.all(Array.from({ length: Math.min(input.concurrency ?? DEFAULT_CONCURRENCY, Math.max(ids.length, 1)) }, worker));

      const full = ids.length >= pageSize;
      const listed = new Set(ids);
      const failedIds = new Set(failed.map((f) => f.meshMessageId));
      // A known failure has recovered when it went through now, or is gone from a listing that was complete.
      const recovered = (input.knownFailures ?? []).filter((id) => !failedIds.has(id) && (succeeded.has(id) || (!full && !listed.has(id))));
      const result: PollMeshInboxResult = {
        listed: ids.length,
        routed: counts.routed,
        reports: counts.reports,
        unmatched: counts.quarantined,
        quarantined: counts.quarantined,
        duplicates: counts.duplicates,
        failed,
        recovered,
        morePending: full && !signal.aborted,
      };
      if (ids.length > 0) deps.logger.info({ mailboxId: mesh.mailbox, ...result, failed: failed.length, recovered: recovered.length }, 'MESH inbox polled');
      return result;
    },

    /** The daily mailbox handshake (MESH API v2 "Validate a mailbox"). */
    async handshakeMeshMailbox(input: { mailboxId: string }): Promise<{ mailboxId: string; at: string }> {
      const mesh = inboxFor(deps, input.mailboxId);
      await mesh.handshake();
      const at = now().toISOString();
      deps.logger.info({ mailboxId: mesh.mailbox, at }, 'MESH mailbox handshake done');
      return { mailboxId: mesh.mailbox, at };
    },
  };
}
