/**
 * Pure parsing of what MESH returns on download (MESH API v2 "Download message"): the `mex-*` headers and, for REPORT messages, what went wrong with which message.
 */

export type MeshReportKind = 'NON_DELIVERY' | 'ROUTING_ERROR' | 'OTHER';

export interface MeshReport {
  statusCode?: string;
  statusDescription?: string;
  statusEvent?: string;
  statusSuccess?: string;
  /** The id of the message this report is about (`Mex-LinkedMsgID`). */
  linkedMessageId?: string;
  kind: MeshReportKind;
}

export interface MeshInboundMessage {
  messageId: string;
  messageType: 'DATA' | 'REPORT';
  workflowId?: string;
  from?: string;
  to?: string;
  subject?: string;
  localId?: string;
  fileName?: string;
  contentType?: string;
  /** The decoded body; for an `oversize` message only a bounded prefix of it. */
  body: Buffer;
  /** All `mex-*` headers, lower-case keys (e.g. `mex-linkedmsgid`). */
  headers: Record<string, string>;
  report?: MeshReport;
  /** Set when the message passed a download limit: reading and decoding stopped there. */
  oversize?: MeshOversize;
}

/** Which download limit a message passed, and how far reading got before it stopped. */
export interface MeshOversize {
  /** `compressed`: bytes read off the wire (or the declared Content-Length); `decoded`: bytes after gzip. */
  limit: 'compressed' | 'decoded';
  limitBytes: number;
  /** Bytes counted against that limit when reading stopped. */
  bytesRead: number;
  /** The first response's Content-Length, when MESH sent one. */
  declaredBytes?: number;
}

/** What is known about a message from its first response, before the body is read. */
export type MeshInboundMetadata = Omit<MeshInboundMessage, 'body' | 'oversize'> & {
  /** `Mex-Total-Chunks` or the `n` of `Mex-Chunk-Range`; 1 for single-chunk messages. */
  totalChunks: number;
};

/**
 * GP Connect auto-routing failures (`GPPROVIDER_...` recipients) come back as EPL-150..154 reports;
 * code 14 is the non-delivery report after the 5-day collection window.
 */
export function classifyReport(statusCode: string | undefined): MeshReportKind {
  if (!statusCode) return 'OTHER';
  const code = statusCode.trim().toUpperCase();
  if (code === '14') return 'NON_DELIVERY';
  if (/^EPL-15[0-4]$/.test(code)) return 'ROUTING_ERROR';
  return 'OTHER';
}

/** Parse `k:n` (`Mex-Chunk-Range`); undefined when absent or malformed. */
export function parseChunkRange(value: string | undefined): { chunk: number; total: number } | undefined {
  if (!value) return undefined;
  const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(value);
  if (!m) return undefined;
  const chunk = Number(m[1]);
  const total = Number(m[2]);
  if (chunk < 1 || total < 1 || chunk > total) return undefined;
  return { chunk, total };
}

/** Only the `mex-*` headers, keys lower-cased, values as sent. */
export function pickMexHeaders(headers: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of headers) {
    const k = key.toLowerCase();
    if (k.startsWith('mex-')) out[k] = value;
  }
  return out;
}

/**
 * Build the message metadata from the first download response. `messageId` is the id we asked for when
 * MESH does not echo `Mex-MessageID`. Returns undefined for `messageType` values we do not understand.
 */
export function parseInboundMetadata(
  requestedId: string,
  mex: Record<string, string>,
  contentType: string | undefined,
): MeshInboundMetadata | { error: string } {
  const rawType = (mex['mex-messagetype'] ?? 'DATA').trim().toUpperCase();
  if (rawType !== 'DATA' && rawType !== 'REPORT') return { error: 'unknown Mex-MessageType' };
  const range = parseChunkRange(mex['mex-chunk-range']);
  const totalHeader = mex['mex-total-chunks'];
  const total = totalHeader && /^\d+$/.test(totalHeader.trim()) ? Number(totalHeader) : undefined;
  const totalChunks = Math.max(range?.total ?? 1, total ?? 1);
  const opt = (key: string): string | undefined => {
    const v = mex[key];
    return v === undefined || v === '' ? undefined : v;
  };
  const meta: MeshInboundMetadata = {
    messageId: opt('mex-messageid') ?? requestedId,
    messageType: rawType,
    headers: mex,
    totalChunks,
  };
  const assign = <K extends keyof MeshInboundMetadata>(k: K, v: MeshInboundMetadata[K] | undefined): void => {
    if (v !== undefined) meta[k] = v;
  };
  assign('workflowId', opt('mex-workflowid'));
  assign('from', opt('mex-from'));
  assign('to', opt('mex-to'));
  assign('subject', opt('mex-subject'));
  assign('localId', opt('mex-localid'));
  assign('fileName', opt('mex-filename'));
  assign('contentType', opt('mex-content-type') ?? (contentType || undefined));
  if (rawType === 'REPORT') {
    const report: MeshReport = { kind: classifyReport(opt('mex-statuscode')) };
    const r = (k: keyof Omit<MeshReport, 'kind'>, v: string | undefined): void => {
      if (v !== undefined) report[k] = v;
    };
    r('statusCode', opt('mex-statuscode'));
    r('statusDescription', opt('mex-statusdescription'));
    r('statusEvent', opt('mex-statusevent'));
    r('statusSuccess', opt('mex-statussuccess'));
    r('linkedMessageId', opt('mex-linkedmsgid'));
    meta.report = report;
  }
  return meta;
}
