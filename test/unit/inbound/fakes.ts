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
import type { DeliveryView, InboundTemporal, InboxMesh, WorkflowMatch } from '../../../activities/inbound';
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
  state?: DeliveryView;
}

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
      .map((w) => ({ workflowId: w.workflowId, running: w.running, ...(w.currentMessageHeaderId ? { currentMessageHeaderId: w.currentMessageHeaderId } : {}) }));
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
export function responseXml(opts: { code: string; respondsTo: string; senderReference?: string; bundleId?: string }): string {
  return buildItk3Response({
    respondsTo: opts.respondsTo,
    senderReference: opts.senderReference ?? 'None',
    code: opts.code,
    responseBundleIdentifier: opts.bundleId ?? randomUUID(),
    messageHeaderId: randomUUID(),
    now: '2026-01-01T10:00:00+00:00',
    sourceEndpoint: 'X26ABC2',
    senderOds: 'X26',
    newId: randomUUID,
  });
}

export function dataMessage(body: string | Buffer, workflowId = ACK_WORKFLOW, id = randomUUID().replace(/-/g, '').toUpperCase()): MeshInboundMessage {
  return {
    messageId: id,
    messageType: 'DATA',
    workflowId,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    headers: { 'mex-messagetype': 'DATA', 'mex-workflowid': workflowId, 'mex-subject': 'ITK3 Response' },
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
