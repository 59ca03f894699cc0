/**
 * Fakes for the inbound router's ports (activities/inbound.ts): a MESH inbox and the Temporal side.
 * Both keep one shared event log, so tests can assert the order "hand over, then acknowledge".
 */
import { mkdtempSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Itk3ResponseReceived, MeshReportReceived } from '../../../contracts';
import type { QuarantineInput, QuarantineMemo } from '../../../contracts/inbound';
import type { DeliveryView, InboundTemporal, InboxMesh, SenderChecks, WorkflowMatch } from '../../../activities/inbound';
import { senderReferenceDigest } from '../../../activities/correlation';
import { buildItk3Response } from '../../../itk3';
import type { MeshInboundMessage } from '../../../mesh';
import { EncryptedFileStore } from '../../../store/content-store';

export type Event = string;

export class FakeMesh implements InboxMesh {
  readonly messages = new Map<string, MeshInboundMessage | Error>();
  readonly acked: string[] = [];
  handshakes = 0;
  constructor(
    readonly mailbox: string,
    readonly events: Event[],
  ) {}

  add(msg: MeshInboundMessage | Error, id = msg instanceof Error ? randomUUID() : msg.messageId): string {
    this.messages.set(id, msg);
    return id;
  }
  async listInbox(opts: { limit?: number } = {}): Promise<string[]> {
    const ids = [...this.messages.keys()].filter((id) => !this.acked.includes(id));
    return opts.limit ? ids.slice(0, opts.limit) : ids;
  }
  async downloadMessage(id: string): Promise<MeshInboundMessage> {
    const m = this.messages.get(id);
    if (!m) throw Object.assign(new Error('not found'), { type: 'MESH_NOT_FOUND', httpStatus: 404 });
    if (m instanceof Error) throw m;
    this.events.push(`download ${id}`);
    return m;
  }
  async acknowledgeMessage(id: string): Promise<void> {
    this.events.push(`ack ${id}`);
    this.acked.push(id);
  }
  async handshake(): Promise<void> {
    this.handshakes++;
  }
}

export interface FakeWorkflow {
  workflowId: string;
  running: boolean;
  attrs: Partial<Record<'Itk3MessageIds' | 'MeshMessageId' | 'SenderReference', string[]>>;
  currentMessageHeaderId?: string;
  /** The delivery's recipient ODS code (search attribute `RecipientOds`); default the practice's, X26. */
  recipientOds?: string;
  state?: DeliveryView;
}

/** The practice every fake delivery goes to: mailbox X26ABC2, ODS code X26 (mesh-sandbox's built-ins). */
export const PRACTICE = { mailbox: 'X26ABC2', ods: 'X26' } as const;
/** Mailbox routing to the practice's mailbox; the unit tests' correlation key. */
export const CORRELATION_KEY = 'unit-test-correlation-key-0123456789';
export const MAILBOX_CHECKS: SenderChecks = { routing: { mode: 'mailbox', mailboxId: PRACTICE.mailbox }, correlationKey: CORRELATION_KEY };
/** What the API puts in the SenderReference search attribute for this SenderReference. */
export const keyed = (senderReference: string): string => senderReferenceDigest(senderReference, CORRELATION_KEY);

export class FakeTemporal implements InboundTemporal {
  readonly workflows: FakeWorkflow[] = [];
  readonly responses: Array<{ workflowId: string; response: Itk3ResponseReceived }> = [];
  readonly reports: Array<{ workflowId: string; report: MeshReportReceived }> = [];
  readonly quarantines = new Map<string, { input: QuarantineInput; memo: QuarantineMemo }>();
  failSignals = false;
  failQuarantine = false;
  constructor(readonly events: Event[]) {}

  add(wf: FakeWorkflow): FakeWorkflow {
    this.workflows.push(wf);
    return wf;
  }
  async find(attribute: 'Itk3MessageIds' | 'MeshMessageId' | 'SenderReference', value: string): Promise<WorkflowMatch[]> {
    return this.workflows
      .filter((w) => w.attrs[attribute]?.includes(value))
      .map((w) => ({
        workflowId: w.workflowId,
        running: w.running,
        recipientOds: w.recipientOds ?? PRACTICE.ods,
        ...(w.currentMessageHeaderId ? { currentMessageHeaderId: w.currentMessageHeaderId } : {}),
      }));
  }
  private target(workflowId: string): FakeWorkflow | undefined {
    return this.workflows.find((w) => w.workflowId === workflowId);
  }
  async signalResponse(workflowId: string, response: Itk3ResponseReceived): Promise<'SIGNALLED' | 'CLOSED'> {
    if (this.failSignals) throw new Error('Temporal unavailable');
    if (!this.target(workflowId)?.running) return 'CLOSED';
    this.events.push(`signal ${workflowId} ${response.code}`);
    this.responses.push({ workflowId, response });
    return 'SIGNALLED';
  }
  async signalReport(workflowId: string, report: MeshReportReceived): Promise<'SIGNALLED' | 'CLOSED'> {
    if (this.failSignals) throw new Error('Temporal unavailable');
    if (!this.target(workflowId)?.running) return 'CLOSED';
    this.events.push(`report ${workflowId} ${report.kind}`);
    this.reports.push({ workflowId, report });
    return 'SIGNALLED';
  }
  async deliveryState(workflowId: string): Promise<DeliveryView | undefined> {
    return this.target(workflowId)?.state;
  }
  async startQuarantine(input: QuarantineInput, memo: QuarantineMemo): Promise<'STARTED' | 'EXISTS'> {
    if (this.failQuarantine) throw new Error('Temporal unavailable');
    const exists = this.quarantines.has(input.quarantineId);
    if (!exists) this.quarantines.set(input.quarantineId, { input, memo });
    this.events.push(`quarantine ${input.meshMessageId} ${input.reason}`);
    return exists ? 'EXISTS' : 'STARTED';
  }
}

export function tempStore(): EncryptedFileStore {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'inbound-unit-'));
  return new EncryptedFileStore(dir, new Map([['k1', randomBytes(32)]]), 'k1');
}

export const silentLogger = pino({ level: 'silent' });

export const ACK_WORKFLOW = 'GPCONNECT_SEND_DOCUMENT_ACK';

/** An ITK3 Response as the GP practice would send it. */
export function responseXml(opts: { code: string; respondsTo: string; senderReference?: string; bundleId?: string; senderOds?: string }): string {
  return buildItk3Response({
    respondsTo: opts.respondsTo,
    senderReference: opts.senderReference ?? 'None',
    code: opts.code,
    responseBundleIdentifier: opts.bundleId ?? randomUUID(),
    messageHeaderId: randomUUID(),
    now: '2026-01-01T10:00:00+00:00',
    sourceEndpoint: PRACTICE.mailbox,
    senderOds: opts.senderOds ?? PRACTICE.ods,
    newId: randomUUID,
  });
}

/** A DATA message as MESH delivers it: Mex-From is the sending mailbox (default the practice's). */
export function dataMessage(body: string | Buffer, workflowId = ACK_WORKFLOW, id = randomUUID().replace(/-/g, '').toUpperCase(), from: string | null = PRACTICE.mailbox): MeshInboundMessage {
  return {
    messageId: id,
    messageType: 'DATA',
    workflowId,
    ...(from ? { from } : {}),
    body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    headers: { 'mex-messagetype': 'DATA', 'mex-workflowid': workflowId, 'mex-subject': 'ITK3 Response', ...(from ? { 'mex-from': from } : {}) },
  };
}

export function reportMessage(linkedMessageId: string | undefined, statusCode = '14', id = randomUUID().replace(/-/g, '').toUpperCase()): MeshInboundMessage {
  const headers: Record<string, string> = { 'mex-messagetype': 'REPORT', 'mex-statuscode': statusCode, 'mex-statusdescription': 'Message not collected by recipient after 5 days' };
  if (linkedMessageId) headers['mex-linkedmsgid'] = linkedMessageId;
  return {
    messageId: id,
    messageType: 'REPORT',
    workflowId: 'TEST_WORKFLOW',
    body: Buffer.alloc(0),
    headers,
    report: {
      kind: statusCode === '14' ? 'NON_DELIVERY' : /^EPL-15[0-4]$/.test(statusCode) ? 'ROUTING_ERROR' : 'OTHER',
      statusCode,
      statusDescription: 'Message not collected by recipient after 5 days',
      ...(linkedMessageId ? { linkedMessageId } : {}),
    },
  };
}
