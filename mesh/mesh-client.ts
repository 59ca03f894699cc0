import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { promisify } from 'node:util';
import { gzip as gzipCb, constants as zlibConstants } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { CourierError, ErrorType, type Issue } from '../contracts/errors';
import { buildAuthorizationHeader } from './auth';
import { bytesBodySource, isBodySource, planChunks, type MeshBody, type MeshBodySource } from './body-source';
import {
  MESH_ERROR_CODES,
  MeshError,
  extractMeshErrorCode,
  isDefinitelyNotSent,
  networkErrorCode,
  parseRetryAfter,
  type MeshErrorType,
  type MeshOperation,
} from './errors';
import { parseInboundMetadata, pickMexHeaders, type MeshInboundMessage, type MeshInboundMetadata, type MeshOversize } from './inbound';
import {
  EndpointLookupSchema,
  InboxPageSchema,
  MeshTrackingSchema,
  RichOutboxPageSchema,
  SendMessageResponseSchema,
  TrackingV1Schema,
  type MeshTracking,
} from './schemas';
import {
  MESH_CLOCK_MARGIN_MS,
  SendReconciler,
  outcomeUnknown,
  type LookupContext,
  type LookupProgress,
  type OutboxReader,
  type SentMessageLookup,
  type SentMessageProbe,
} from './reconciliation';
import { fetchTransport, readText, undiciTransport, type Transport, type WireBody, type WireResponse } from './transport';

const gzip = promisify(gzipCb);

/** The only Accept value MESH v2 (and the sandbox's strict parser) accepts. */
export const MESH_ACCEPT = 'application/vnd.mesh.v2+json';
export const DEFAULT_CHUNK_SIZE = 20 * 1024 * 1024;
const MAX_CHUNK_SIZE = 100 * 1000 * 1000 - 1;
const DEFAULT_CLIENT_VERSION = 'itk3-courier-mesh/0.1.0';
/** Largest JSON body read (an inbox page of 5000 ids is about 200 KB). */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

/** Minimal structured logger (pino-compatible). Only ids, statuses and counts are ever logged. */
export interface MeshLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** A function-valued option: checked to be a function, kept as given. */
const fn = <T extends (...args: never[]) => unknown>() => z.custom<T>((v) => typeof v === 'function', 'must be a function');

/**
 * The client's options, declared once: this schema checks them, fills in every default, and is the
 * source of the `MeshClientOptions` type (its input) and of the settings the client runs on (its output).
 */
const OptionsSchema = z.object({
  /** e.g. `https://msg.intspineservices.nhs.uk`, or `http://127.0.0.1:8700` for the local sandbox. */
  baseUrl: z.url({ protocol: /^https?$/ }),
  mailboxId: z.string().regex(/^[A-Za-z0-9]{1,20}$/, 'mailbox id must be 1-20 letters or digits'),
  password: z.string().min(1),
  sharedKey: z.string().min(1),
  /** mTLS / proxy / test injection; build one with `createMeshDispatcher`. */
  dispatcher: z.custom<Dispatcher>((v) => typeof v === 'object' && v !== null, 'must be an undici Dispatcher').optional(),
  /**
   * Injectable fetch. Without it the client uses undici's `request` on `dispatcher` (faster, no body
   * copies, `Content-Encoding` decoded by the client). With it, responses follow Fetch semantics
   * (bodies already content-decoded by fetch).
   */
  fetch: fn<typeof fetch>().optional(),
  clock: fn<() => Date>().default(() => () => new Date()),
  /** A fresh unique value per call (default `randomUUID`): token nonces and default file names. */
  nonce: fn<() => string>().default(() => randomUUID),
  /** Send chunking threshold in bytes of uncompressed data (default 20 MiB). */
  chunkSize: z.number().int().min(1).max(MAX_CHUNK_SIZE).default(DEFAULT_CHUNK_SIZE),
  /** gzip each chunk on send with `Content-Encoding: gzip` (default false, like mesh-client). */
  compress: z.boolean().default(false),
  /** Per HTTP request, including reading its body (default 120 000). */
  timeoutMs: z.number().int().positive().default(120_000),
  /** Extra attempts for operations that are safe to repeat (default 3). */
  maxRetries: z.number().int().min(0).max(10).default(3),
  /** Sent in `mex-ClientVersion` and `User-Agent` on the handshake. */
  clientVersion: z.string().min(1).max(100).default(DEFAULT_CLIENT_VERSION),
  /**
   * `Accept-Encoding` on downloads (default `gzip`, like mesh-client): MESH may then send chunks gzipped,
   * which the client decodes. `identity` asks for plain bytes (the sandbox then never gzips on the fly).
   */
  downloadEncoding: z.enum(['gzip', 'identity']).default('gzip'),
  /**
   * Bounds of `downloadMessage` (default `DEFAULT_DOWNLOAD_LIMITS`): past either, reading and decoding
   * stop and the message comes back marked `oversize` with a bounded prefix of its body.
   */
  downloadLimits: z
    .object({ maxCompressedBytes: z.number().int().positive(), maxBytes: z.number().int().positive() })
    .default(() => ({ ...DEFAULT_DOWNLOAD_LIMITS })),
  /** Allow `http://` to a host other than loopback (default false: plain HTTP is for the local sandbox only). */
  allowPlainHttp: z.boolean().default(false),
  /** First backoff step in ms (default 250); full jitter, doubled per attempt, capped at `maxRetryDelayMs`. */
  retryBaseDelayMs: z.number().int().min(0).default(250),
  /** Cap of one backoff wait and of an honoured Retry-After (default 30 000); longer waits are the caller's. */
  maxRetryDelayMs: z.number().int().min(0).default(30_000),
  /** How long to let an in-flight send settle before looking it up after an unknown outcome (default 2 000). */
  unknownOutcomeSettleMs: z.number().int().min(0).default(2_000),
  /**
   * How far before `sentAfter` the outbox lookup starts, to allow for clock skew between this host and
   * MESH (default 2 min: a wider window makes every lookup page through that much more of the outbox).
   */
  lookupSkewMs: z.number().int().min(0).default(2 * 60_000),
  /** Tracking calls in flight at once while confirming lookup candidates (default 4). */
  lookupConcurrency: z.number().int().min(1).max(32).default(4),
  /** Per-request timeout of the small GETs of a lookup (listing, tracking), default 30 000. */
  lookupTimeoutMs: z.number().int().positive().default(30_000),
  sleep: fn<(ms: number) => Promise<void>>().default(() => (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
  random: fn<() => number>().default(() => Math.random),
  /** Only ids, statuses and counts are ever logged. */
  logger: z.custom<MeshLogger>((v) => typeof v === 'object' && v !== null, 'must be a logger').optional(),
});

export type MeshClientOptions = z.input<typeof OptionsSchema>;
/** The options with every default filled in. */
type MeshClientSettings = z.output<typeof OptionsSchema>;

export interface SendMessageRequest {
  /** Recipient mailbox id (or a GP Connect `GPPROVIDER_...` routing address). Never logged. */
  to: string;
  workflowId: string;
  body: MeshBody;
  /** May hold patient identifiers: never logged or put in errors. */
  subject?: string;
  /** Sender's reference; for GP Connect the sender ODS code, so not unique. */
  localId?: string;
  /**
   * `Mex-FileName`: the key that lets a send with an unknown outcome be found again. Give one unique per
   * ITK3 attempt (no patient data); when omitted a unique `<uuid>.dat` is generated.
   */
  fileName?: string;
  /** `Mex-Content-Type`: the content type of the whole payload. */
  contentType?: string;
  /** Override the client's `compress` for this message. */
  compress?: boolean;
  /**
   * Before the first POST, look for a message already sent with this `fileName` (and to/workflow/localId)
   * since `sentAfter`, and resume or return it instead of sending again. Use on every re-attempt of the same
   * logical send (e.g. an activity retry after a crash).
   */
  lookupBeforeSend?: {
    sentAfter: Date;
    /**
     * A message id an earlier attempt of this send was given for this file name (e.g. carried in its
     * heartbeat): confirmed with one tracking call before any outbox search.
     */
    knownMessageId?: string;
    /**
     * On MESH's clock: an earlier complete search found no message with this file name sent before this
     * instant (a `searched` progress event of an earlier attempt). Narrows the search; never widens it.
     */
    notBefore?: Date;
  };
  /**
   * Abandon the send when this aborts: it is checked immediately before every POST of a first chunk (so
   * an attempt its caller has given up on never posts) and aborts requests and waits in flight. The
   * rejection is the signal's reason.
   */
  signal?: AbortSignal;
  /** Told of each step (lookup progress, first chunk posted, chunk uploaded): ids and counts only. */
  onProgress?: (progress: SendProgress) => void;
}

/** What a send has done so far; no patient data (message ids and counts only). */
export type SendProgress =
  | LookupProgress
  /**
   * About to post a first chunk. `notBefore` (MESH's clock, when this client has seen a MESH `Date`):
   * this call's first POST cannot have reached MESH before it. With no earlier bound, a later attempt
   * may search from there (`lookupBeforeSend.notBefore`): nothing of this message was posted before
   * its first POST. An earlier bound must be kept: an earlier attempt may have posted before this one.
   */
  | { step: 'posting-first-chunk'; notBefore?: string }
  | { step: 'first-chunk-accepted'; messageId: string; totalChunks: number }
  | { step: 'chunk-uploaded'; messageId: string; chunk: number; totalChunks: number };

export interface SendMessageResult {
  messageId: string;
  /** The `Mex-FileName` used (generated when the request had none). */
  fileName: string;
  /** True when the message id was found by lookup rather than returned by a POST of this call. */
  recovered: boolean;
  totalChunks: number;
}

export interface ListInboxOptions {
  /** Page size sent as `max_results` (10..5000, MESH default 500); all pages are followed. */
  maxResults?: number;
  /** MESH `workflow_filter` syntax: `WF`, `!WF`, `WF*`, `*X*`, ... */
  workflowFilter?: string;
  /** Stop after this many ids in total. */
  limit?: number;
}

/** A download whose body is read chunk by chunk, never whole (for large messages). */
export interface MeshInboundStream {
  metadata: MeshInboundMetadata;
  /** Decoded bytes in order; MESH chunks are fetched lazily. Iterate once, to the end or call `cancel`. */
  body: AsyncIterable<Buffer>;
  /** Release the connection when the body will not be read to the end. */
  cancel(): Promise<void>;
  /**
   * Body bytes read off the wire so far over every chunk, before `Content-Encoding` decoding; with an
   * injected fetch (which decodes before we read) the decoded bytes instead.
   */
  wireBytesRead(): number;
  /** The first response's Content-Length (bytes as sent, before decoding), when present. */
  declaredBytes?: number;
}

/** Bounds of `downloadMessage`, which holds a message in memory: bytes read off the wire, and decoded. */
export interface MeshDownloadLimits {
  /** Body bytes as sent over every chunk, before gzip decoding (and a declared Content-Length above it). */
  maxCompressedBytes: number;
  /** Bytes after decoding; decoding stops just past this. */
  maxBytes: number;
}

/** The default bounds: twice the largest message this courier sends or expects back. */
export const DEFAULT_DOWNLOAD_LIMITS: MeshDownloadLimits = { maxCompressedBytes: 64 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 };

/** How much of an oversized message's decoded body `downloadMessage` keeps for inspection. */
export const OVERSIZE_PREFIX_BYTES = 64 * 1024;

interface RequestSpec {
  op: MeshOperation;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  ok: readonly number[];
  headers?: Record<string, string>;
  body?: WireBody;
  auth?: boolean;
  messageId?: string;
  /** The caller's signal: aborts the request, and the rejection is its reason. */
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs`. */
  timeoutMs?: number;
}


/** Header lengths MESH (and the sandbox) accept. */
const HEADER_LIMITS = { to: 100, workflowId: 300, subject: 500, localId: 300, fileName: 300, contentType: 100 } as const;
// Latin-1 printable only: a control character gives MESH error 06, and fetch rejects non-Latin-1 header values.
const HEADER_SAFE = /^[\x20-\x7e\xa0-\xff]*$/;

/**
 * MESH API v2 client. One instance per mailbox; it holds no global
 * state, takes its transport, clock and nonce source as options, and never imports Temporal.
 *
 * Retry policy, one decision per error type (see `MeshError.retryable`):
 * - GET, PUT acknowledge, handshake, chunk uploads 2..n: retried on network errors, 425/429 and 5xx with
 *   full-jitter backoff (Retry-After honoured up to `maxRetryDelayMs`).
 * - The first POST of a send is never repeated blindly: an unknown outcome is resolved by lookup first.
 * - 401/403, 404, 410, 417, 423 and other 4xx are never retried.
 */
export class MeshClient {
  private readonly settings: MeshClientSettings;
  private readonly baseUrl: string;
  private readonly mailboxId: string;
  private readonly transport: Transport;
  private readonly reconciler: SendReconciler;
  /** MESH's clock minus ours, from the `Date` header of the latest response (undefined until one had it). */
  private meshClockOffsetMs: number | undefined;

  constructor(opts: MeshClientOptions) {
    const parsed = OptionsSchema.safeParse(opts);
    const issues: Issue[] = parsed.success
      ? []
      : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    if (parsed.success) {
      const url = new URL(parsed.data.baseUrl);
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
      if (url.protocol === 'http:' && !loopback && !parsed.data.allowPlainHttp) {
        issues.push({ path: 'baseUrl', message: 'plain http is only allowed to loopback (the local sandbox) unless allowPlainHttp is set' });
      }
    }
    if (!parsed.success || issues.length > 0) {
      // Values are never echoed: the password and shared key are among them.
      throw new CourierError(ErrorType.CONFIG_INVALID, `Invalid MESH client options: ${issues.map((i) => i.path).join(', ')}`, issues);
    }
    this.settings = parsed.data;
    this.baseUrl = this.settings.baseUrl.replace(/\/+$/, '');
    this.mailboxId = this.settings.mailboxId.toUpperCase();
    this.transport = this.settings.fetch ? fetchTransport(this.settings.fetch, this.settings.dispatcher) : undiciTransport(this.settings.dispatcher);
    this.reconciler = new SendReconciler(this.outboxReader(), {
      settleMs: this.settings.unknownOutcomeSettleMs,
      lookupSkewMs: this.settings.lookupSkewMs,
      lookupConcurrency: this.settings.lookupConcurrency,
      lookupTimeoutMs: this.settings.lookupTimeoutMs,
      ...(this.settings.logger ? { logger: this.settings.logger } : {}),
    });
  }

  private get logger(): MeshLogger | undefined {
    return this.settings.logger;
  }

  private clock(): Date {
    return this.settings.clock();
  }

  /** The mailbox this client authenticates as (upper case). */
  get mailbox(): string {
    return this.mailboxId;
  }

  // ---------------------------------------------------------------------------------------------
  // Operations

  /**
   * Validate the mailbox and record the connection (MESH API v2 "Validate a mailbox"; call once a day).
   * Safe to retry.
   */
  async handshake(): Promise<void> {
    const headers = {
      'mex-ClientVersion': this.settings.clientVersion,
      'mex-OSName': os.type(),
      'mex-OSVersion': os.release(),
      'mex-OSArchitecture': os.arch(),
      'mex-JavaVersion': 'N/A',
      'User-Agent': `${this.settings.clientVersion};node/${process.versions.node};${os.type()}`,
    };
    await this.withRetry('handshake', async () => {
      const res = await this.exchange({ op: 'handshake', method: 'POST', path: this.mailboxPath(''), ok: [200], headers });
      await drain(res);
    });
  }

  /**
   * Send a message (MESH API v2 "Send message" and "Send chunked message").
   * Data above `chunkSize` is split raw, each chunk gzipped on its own when compressing, chunk 1 POSTed to
   * `/outbox` with `Mex-Chunk-Range: 1:n` and chunks 2..n uploaded in order. The first POST is never
   * repeated while its outcome is unknown: the client looks the message up by its unique `Mex-FileName`
   * first (mesh/README.md "Unknown send outcomes").
   */
  async sendMessage(req: SendMessageRequest): Promise<SendMessageResult> {
    const fileName = req.fileName ?? `${this.settings.nonce()}.dat`;
    this.validateSend(req, fileName);
    const source: MeshBodySource = isBodySource(req.body) ? req.body : bytesBodySource(req.body);
    if (source.size === 0) {
      throw new MeshError(ErrorType.MESH_SEND_REJECTED, 'MESH sendMessage rejected before sending: empty body (MESH code 02)', {
        operation: 'sendMessage',
        retryable: false,
        meshErrorCode: '02',
      });
    }
    const compress = req.compress ?? this.settings.compress;
    const plan = planChunks(source.size, this.settings.chunkSize);
    const total = plan.length;
    const probe: SentMessageProbe = {
      fileName,
      to: req.to,
      workflowId: req.workflowId,
      ...(req.localId !== undefined ? { localId: req.localId } : {}),
      sentAfter: req.lookupBeforeSend?.sentAfter ?? this.clock(),
      ...(req.lookupBeforeSend?.notBefore ? { notBefore: req.lookupBeforeSend.notBefore } : {}),
      ...(req.signal ? { signal: req.signal } : {}),
    };
    const ctx: LookupContext & { onProgress?: (progress: SendProgress) => void } = { ruledOut: new Set(), ...(req.signal ? { signal: req.signal } : {}), ...(req.onProgress ? { onProgress: req.onProgress } : {}) };
    req.signal?.throwIfAborted();

    let messageId: string | undefined;
    let recovered = false;
    if (req.lookupBeforeSend) {
      const known = req.lookupBeforeSend.knownMessageId;
      let found: SentMessageLookup | undefined = known !== undefined ? await this.reconciler.confirmKnownMessage(known, fileName, ctx) : undefined;
      if (found === undefined) {
        try {
          found = await this.reconciler.lookup(probe, ctx);
        } catch (err) {
          if (req.signal?.aborted || !(err instanceof MeshError) || !err.retryable) throw err;
          throw outcomeUnknown({ outcome: 'INCOMPLETE', unchecked: 0, method: 'OUTBOX_RICH' }, err);
        }
      }
      if (found.outcome === 'FOUND') {
        messageId = found.messageId;
        recovered = true;
        if (found.status !== 'uploading') return { messageId, fileName, recovered, totalChunks: total };
      } else if (found.outcome !== 'NOT_FOUND') {
        throw outcomeUnknown(found, undefined);
      }
    }

    const encodeChunk = async (index: number): Promise<WireBody> => {
      const part = plan[index]!;
      // Uncompressed chunks of a streamable source go straight from the source to the socket.
      if (!compress && source.stream) {
        const stream = source.stream.bind(source);
        return { length: part.length, stream: () => stream(part.offset, part.length) };
      }
      const raw = await source.read(part.offset, part.length);
      if (raw.byteLength !== part.length) throw new RangeError('body source returned the wrong number of bytes');
      return compress ? gzip(raw, { level: zlibConstants.Z_DEFAULT_COMPRESSION }) : raw;
    };
    const encodingHeaders: Record<string, string> = compress ? { 'Content-Encoding': 'gzip' } : {};

    if (messageId === undefined) {
      const headers: Record<string, string> = {
        'Content-Type': 'application/octet-stream',
        'Mex-To': req.to,
        'Mex-WorkflowID': req.workflowId,
        'Mex-FileName': fileName,
        'Mex-Chunk-Range': `1:${total}`,
        ...encodingHeaders,
      };
      if (req.subject !== undefined) headers['Mex-Subject'] = req.subject;
      if (req.localId !== undefined) headers['Mex-LocalID'] = req.localId;
      if (req.contentType !== undefined) headers['Mex-Content-Type'] = req.contentType;
      const first = await this.postFirstChunk(headers, await encodeChunk(0), probe, ctx);
      messageId = first.messageId;
      recovered = first.recovered;
      ctx.onProgress?.({ step: 'first-chunk-accepted', messageId, totalChunks: total });
      if (first.recovered && first.status !== undefined && first.status !== 'uploading') {
        return { messageId, fileName, recovered, totalChunks: total };
      }
    }

    for (let index = 1; index < total; index += 1) {
      const chunkNumber = index + 1;
      const body = await encodeChunk(index);
      const id = messageId;
      let attempt = 0;
      await this.withRetry(
        'sendChunk',
        async () => {
          attempt += 1;
          try {
            const res = await this.exchange({
              op: 'sendChunk',
              method: 'POST',
              path: this.mailboxPath(`/outbox/${encodeURIComponent(id)}/${chunkNumber}`),
              ok: [202],
              headers: { 'Content-Type': 'application/octet-stream', 'Mex-Chunk-Range': `${chunkNumber}:${total}`, ...encodingHeaders },
              body,
              messageId: id,
              ...(ctx.signal ? { signal: ctx.signal } : {}),
            });
            await drain(res);
          } catch (err) {
            // A retried *last* chunk answered 423 means our earlier upload of it landed and finalised the message.
            if (attempt > 1 && chunkNumber === total && err instanceof MeshError && err.type === ErrorType.MESH_LOCKED) return;
            throw err;
          }
        },
        ctx.signal,
      );
      ctx.onProgress?.({ step: 'chunk-uploaded', messageId: id, chunk: chunkNumber, totalChunks: total });
    }
    return { messageId, fileName, recovered, totalChunks: total };
  }

  /** Ids of messages waiting in the inbox, following `links.next` across pages (MESH API v2 "Check inbox"). */
  async listInbox(opts: ListInboxOptions = {}): Promise<string[]> {
    if (opts.maxResults !== undefined && (!Number.isInteger(opts.maxResults) || opts.maxResults < 10 || opts.maxResults > 5000)) {
      throw new RangeError('maxResults must be an integer from 10 to 5000');
    }
    const query = new URLSearchParams();
    if (opts.maxResults !== undefined) query.set('max_results', String(opts.maxResults));
    if (opts.workflowFilter !== undefined) query.set('workflow_filter', opts.workflowFilter);
    let path: string | undefined = this.mailboxPath(`/inbox${query.size > 0 ? `?${query.toString()}` : ''}`);
    const ids: string[] = [];
    const seenIds = new Set<string>();
    const seenPaths = new Set<string>();
    while (path !== undefined) {
      seenPaths.add(path);
      const current: string = path;
      const page = await this.withRetry('listInbox', async () => {
        const res = await this.exchange({ op: 'listInbox', method: 'GET', path: current, ok: [200] });
        return this.parseJson('listInbox', res, InboxPageSchema);
      });
      for (const id of page.messages) {
        // The sandbox restarts from the top when the page's last id was acknowledged meanwhile: drop repeats.
        if (seenIds.has(id)) continue;
        seenIds.add(id);
        ids.push(id);
        if (opts.limit !== undefined && ids.length >= opts.limit) return ids;
      }
      const next = page.links?.next;
      // Stop on an empty page or a link we have followed already, so a misbehaving server cannot loop us.
      path = next && page.messages.length > 0 && !seenPaths.has(next) ? this.relativePath(next) : undefined;
    }
    return ids;
  }

  /**
   * Download a whole message: every chunk, decoded by `Content-Encoding` (MESH API v2 "Download message",
   * "Download message chunk"). The body is held once; use `downloadMessageStream` for large messages.
   */
  async downloadMessage(messageId: string): Promise<MeshInboundMessage> {
    const { maxCompressedBytes, maxBytes } = this.settings.downloadLimits;
    const stream = await this.downloadMessageStream(messageId);
    const { totalChunks: _total, ...rest } = stream.metadata;
    const declared = stream.declaredBytes;
    // A declared length over the limit: read only the prefix kept for inspection, then stop.
    const readUpTo = declared !== undefined && declared > maxCompressedBytes ? OVERSIZE_PREFIX_BYTES : Number.POSITIVE_INFINITY;
    const parts: Buffer[] = [];
    let size = 0;
    let oversize: MeshOversize | undefined;
    // Checked after every piece: the transport decodes only as fast as this loop takes pieces (zlib stream
    // back-pressure), so a gzip bomb is inflated no further than about one piece past the limit.
    for await (const part of stream.body) {
      parts.push(part);
      size += part.byteLength;
      const wire = stream.wireBytesRead();
      if (size >= readUpTo) oversize = { limit: 'compressed', limitBytes: maxCompressedBytes, bytesRead: wire };
      else if (wire > maxCompressedBytes) oversize = { limit: 'compressed', limitBytes: maxCompressedBytes, bytesRead: wire };
      else if (size > maxBytes) oversize = { limit: 'decoded', limitBytes: maxBytes, bytesRead: size };
      if (oversize) break;
    }
    // A declared oversize whose body ended before the prefix was full is still oversize.
    if (!oversize && readUpTo === OVERSIZE_PREFIX_BYTES) oversize = { limit: 'compressed', limitBytes: maxCompressedBytes, bytesRead: stream.wireBytesRead() };
    if (!oversize) return { ...rest, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts, size) };
    // `for await` has already returned the generator on break; cancel also releases a body never started.
    await stream.cancel();
    if (declared !== undefined) oversize.declaredBytes = declared;
    const all = Buffer.concat(parts, size);
    // A copy, so the kept prefix does not pin the whole buffer read so far.
    const body = Buffer.from(all.subarray(0, Math.min(OVERSIZE_PREFIX_BYTES, all.byteLength)));
    this.logger?.warn({ operation: 'downloadMessage', messageId, limit: oversize.limit, limitBytes: oversize.limitBytes, bytesRead: oversize.bytesRead }, 'MESH message over the download limit; not read further');
    return { ...rest, body, oversize };
  }

  /**
   * Start a download and return its metadata with a lazy body: chunk k+1 is requested only after chunk k
   * has been consumed, so memory stays flat in message size. Each chunk request is retried on its own.
   */
  async downloadMessageStream(messageId: string): Promise<MeshInboundStream> {
    const id = messageId;
    const acceptEncoding = { 'Accept-Encoding': this.settings.downloadEncoding };
    const first = await this.withRetry('downloadMessage', () =>
      this.exchange({
        op: 'downloadMessage',
        method: 'GET',
        path: this.mailboxPath(`/inbox/${encodeURIComponent(id)}`),
        ok: [200, 206],
        messageId: id,
        headers: acceptEncoding,
      }),
    );
    const mex = pickMexHeaders(first.headers.entries());
    const parsed = parseInboundMetadata(id, mex, first.headers.get('content-type'));
    if ('error' in parsed) {
      await cancel(first);
      throw new MeshError(ErrorType.MESH_PROTOCOL_ERROR, `MESH downloadMessage: ${parsed.error}`, {
        operation: 'downloadMessage',
        retryable: false,
        messageId: id,
      });
    }
    if (first.status === 200 && parsed.totalChunks > 1) {
      // MESH answers 206 while chunks remain; a 200 with more chunks announced is contradictory.
      await cancel(first);
      throw new MeshError(ErrorType.MESH_PROTOCOL_ERROR, 'MESH downloadMessage: 200 for a multi-chunk message', {
        operation: 'downloadMessage',
        retryable: false,
        messageId: id,
      });
    }
    const total = parsed.totalChunks;
    // Wire bytes of the responses already read to the end, plus the current one's so far (decoded bytes
    // when the transport cannot see the wire: Fetch has decoded them already).
    let finishedWireBytes = 0;
    let current: WireResponse | undefined = first;
    let currentDecoded = 0;
    const wireOf = (res: WireResponse, decoded: number): number => res.wireBytesRead?.() ?? decoded;
    // An arrow cannot be a generator: bind the client's methods the generator needs.
    const withRetry = this.withRetry.bind(this);
    const exchange = this.exchange.bind(this);
    const chunkPath = (k: number): string => this.mailboxPath(`/inbox/${encodeURIComponent(id)}/${k}`);
    async function* counted(res: WireResponse): AsyncGenerator<Buffer> {
      current = res;
      currentDecoded = 0;
      for await (const part of readBody(res, 'downloadMessage', id)) {
        currentDecoded += part.byteLength;
        yield part;
      }
      finishedWireBytes += wireOf(res, currentDecoded);
      current = undefined;
    }
    async function* chunks(): AsyncGenerator<Buffer> {
      let res: WireResponse | undefined = first;
      try {
        yield* counted(res);
        res = undefined;
        for (let k = 2; k <= total; k += 1) {
          res = await withRetry('downloadMessage', () =>
            exchange({
              op: 'downloadMessage',
              method: 'GET',
              path: chunkPath(k),
              ok: k === total ? [200] : [206, 200],
              messageId: id,
              headers: acceptEncoding,
            }),
          );
          yield* counted(res);
          res = undefined;
        }
      } finally {
        if (res) await cancel(res);
      }
    }
    const generator = chunks();
    let started = false;
    const declared = Number(first.headers.get('content-length') ?? Number.NaN);
    return {
      metadata: parsed,
      wireBytesRead: () => finishedWireBytes + (current ? wireOf(current, currentDecoded) : 0),
      ...(Number.isSafeInteger(declared) && declared >= 0 ? { declaredBytes: declared } : {}),
      body: {
        [Symbol.asyncIterator]: () => {
          started = true;
          return generator;
        },
      },
      cancel: async () => {
        // A generator that never started skips its finally block on return(): release the first response here.
        if (!started) await first.dump();
        await generator.return(undefined);
      },
    };
  }

  /** Acknowledge (MESH API v2 "Acknowledge message"): removes it from the inbox. Idempotent, so retried. */
  async acknowledgeMessage(messageId: string): Promise<void> {
    await this.withRetry('acknowledgeMessage', async () => {
      const res = await this.exchange({
        op: 'acknowledgeMessage',
        method: 'PUT',
        path: this.mailboxPath(`/inbox/${encodeURIComponent(messageId)}/status/acknowledged`),
        ok: [200],
        messageId,
      });
      await drain(res);
    });
  }

  /** Outbox tracking by message id (MESH API v2 "Track an outbox message"). Do not poll it often. */
  async trackMessage(messageId: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<MeshTracking> {
    return this.withRetry(
      'trackMessage',
      async () => {
        const res = await this.exchange({
          op: 'trackMessage',
          method: 'GET',
          path: this.mailboxPath(`/outbox/tracking?messageID=${encodeURIComponent(messageId)}`),
          ok: [200],
          messageId,
          ...opts,
        });
        return this.parseJson('trackMessage', res, MeshTrackingSchema);
      },
      opts.signal,
    );
  }

  /** Mailboxes registered for an ODS code and workflow (MESH API v2 "Look up MESH address"; no auth header). */
  async lookupEndpoint(odsCode: string, workflowId: string): Promise<Array<{ mailboxId: string; mailboxName?: string }>> {
    const path = `/messageexchange/endpointlookup/${encodeURIComponent(odsCode)}/${encodeURIComponent(workflowId)}`;
    const body = await this.withRetry('lookupEndpoint', async () => {
      const res = await this.exchange({ op: 'lookupEndpoint', method: 'GET', path, ok: [200], auth: false });
      return this.parseJson('lookupEndpoint', res, EndpointLookupSchema);
    });
    return body.results.map((r) => (r.mailbox_name !== undefined ? { mailboxId: r.mailbox_id, mailboxName: r.mailbox_name } : { mailboxId: r.mailbox_id }));
  }

  /**
   * Look for a message this mailbox already sent, by its unique `Mex-FileName` plus recipient, workflow
   * and local id, sent since `sentAfter` (minus `lookupSkewMs`). Uses the outbox listing (`/outbox/rich`,
   * served by mesh-sandbox; real MESH availability not verified) and confirms each candidate with
   * tracking, newest first, stopping at the first match (the file name is unique per attempt); falls
   * back to the deprecated track-by-local-id only when the local id is unique.
   */
  async findSentMessage(probe: SentMessageProbe): Promise<SentMessageLookup> {
    return this.reconciler.lookup(probe, { ruledOut: new Set(), ...(probe.signal ? { signal: probe.signal } : {}) });
  }

  /**
   * The earliest instant, on MESH's clock, at which a request sent from now on can reach MESH, less the
   * margin for the `Date` header's whole seconds (ISO 8601); undefined until this client has seen a MESH
   * `Date`. A caller about to make the first ever POST of a file name may record it as the bound a later
   * attempt searches from (`lookupBeforeSend.notBefore`): nothing of that file can predate it.
   */
  meshClockBound(): string | undefined {
    const now = this.meshNow();
    return now ? new Date(now.getTime() - MESH_CLOCK_MARGIN_MS).toISOString() : undefined;
  }

  /** MESH's clock now, from the offset of the latest `Date` header; undefined until there was one. */
  private meshNow(): Date | undefined {
    return this.meshClockOffsetMs === undefined ? undefined : new Date(this.clock().getTime() + this.meshClockOffsetMs);
  }

  /** The MESH calls reconciliation makes (mesh/reconciliation.ts), over this client's HTTP and retries. */
  private outboxReader(): OutboxReader {
    return {
      listOutboxPage: async (cursor, opts) => {
        // The sandbox compares start_time with naive UTC datetimes, so send ISO without a zone designator.
        const path =
          'since' in cursor
            ? this.mailboxPath(`/outbox/rich?start_time=${encodeURIComponent(cursor.since.toISOString().replace(/Z$/, ''))}&max_results=100`)
            : this.relativePath(cursor.next);
        let meshDateMs: number | undefined;
        try {
          const page = await this.withRetry(
            'listOutbox',
            async () => {
              const res = await this.exchange({ op: 'listOutbox', method: 'GET', path, ok: [200], ...opts });
              meshDateMs ??= meshDate(res);
              return this.parseJson('listOutbox', res, RichOutboxPageSchema);
            },
            opts.signal,
          );
          return { page, ...(meshDateMs !== undefined ? { meshDateMs } : {}) };
        } catch (err) {
          if (err instanceof MeshError && (err.httpStatus === 404 || err.httpStatus === 405 || err.httpStatus === 501)) return 'UNSUPPORTED';
          throw err;
        }
      },
      trackMessage: (messageId, opts) => this.trackMessage(messageId, opts),
      trackByLocalId: async (localId, opts) => {
        let res: WireResponse;
        try {
          res = await this.withRetry(
            'trackByLocalId',
            () =>
              this.exchange({
                op: 'trackByLocalId',
                method: 'GET',
                path: this.mailboxPath(`/outbox/tracking/${encodeURIComponent(localId)}`),
                ok: [200, 300],
                ...opts,
              }),
            opts.signal,
          );
        } catch (err) {
          if (err instanceof MeshError && err.type === ErrorType.MESH_NOT_FOUND) return { kind: 'NONE' };
          throw err;
        }
        if (res.status === 300) {
          await drain(res);
          return { kind: 'SEVERAL' };
        }
        const json = (await this.parseJson('trackByLocalId', res, TrackingV1Schema)) as Record<string, unknown>;
        return { kind: 'ONE', messageId: String(json.messageId), fileName: json.fileName, status: json.status };
      },
      pause: (ms, signal) => this.pause(ms, signal),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Send internals

  private async postFirstChunk(
    headers: Record<string, string>,
    body: WireBody,
    probe: SentMessageProbe,
    ctx: LookupContext & { onProgress?: (progress: SendProgress) => void },
  ): Promise<{ messageId: string; recovered: boolean; status?: string }> {
    const { signal } = ctx;
    for (let attempt = 0; ; attempt += 1) {
      let res: WireResponse | undefined;
      // The last moment to stop: a caller that has given up on this attempt (e.g. Temporal timed the activity
      // out and started another) must never post, or two live attempts could each post once.
      signal?.throwIfAborted();
      ctx.firstPostAt ??= this.meshNow();
      // Told before the POST, so that a caller killed during it has already recorded the bound.
      ctx.onProgress?.({
        step: 'posting-first-chunk',
        ...(ctx.firstPostAt ? { notBefore: new Date(ctx.firstPostAt.getTime() - MESH_CLOCK_MARGIN_MS).toISOString() } : {}),
      });
      try {
        res = await this.exchange({ op: 'sendMessage', method: 'POST', path: this.mailboxPath('/outbox'), ok: [202], headers, body, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (signal?.aborted || !(err instanceof MeshError)) throw err;
        const canRepeat = attempt < this.settings.maxRetries;
        // Refused before MESH took it (429/425, or the connection never opened): sending again is safe.
        if (err.type === ErrorType.MESH_RATE_LIMITED || (err.type === ErrorType.MESH_NETWORK_ERROR && isDefinitelyNotSent(err.cause))) {
          const wait = this.retryDelay(err, attempt);
          if (canRepeat && wait !== undefined) {
            await this.pause(wait, signal);
            continue;
          }
          throw err;
        }
        if (err.type !== ErrorType.MESH_NETWORK_ERROR && err.type !== ErrorType.MESH_SERVER_ERROR) throw err;
        // The request may have reached MESH: find out before sending again.
        const resolved = await this.reconciler.resolveUnknownSend(probe, err, ctx);
        if (resolved.outcome === 'FOUND') {
          return { messageId: resolved.messageId, recovered: true, ...(resolved.status !== undefined ? { status: resolved.status } : {}) };
        }
        if (resolved.outcome === 'NOT_FOUND' && canRepeat) {
          this.logger?.warn({ operation: 'sendMessage', attempt }, 'MESH send outcome resolved as not sent; sending again');
          continue;
        }
        throw outcomeUnknown(resolved, err);
      }
      try {
        const messageId = await this.parseJson('sendMessage', res, SendMessageResponseSchema);
        return { messageId, recovered: false };
      } catch (err) {
        // 202 arrived, so MESH has the message, but we could not read its id: look it up, never resend.
        if (signal?.aborted) throw err;
        const resolved = await this.reconciler.resolveUnknownSend(probe, err, ctx);
        if (resolved.outcome === 'FOUND') return { messageId: resolved.messageId, recovered: true };
        throw outcomeUnknown(resolved, err);
      }
    }
  }

  private validateSend(req: SendMessageRequest, fileName: string): void {
    const issues: Issue[] = [];
    const check = (path: keyof typeof HEADER_LIMITS, value: string | undefined, required: boolean): void => {
      if (value === undefined) {
        if (required) issues.push({ path, message: 'is required' });
        return;
      }
      if (required && value.trim() === '') issues.push({ path, message: 'must not be blank' });
      if (value.length > HEADER_LIMITS[path]) issues.push({ path, message: `is longer than ${HEADER_LIMITS[path]} characters` });
      if (!HEADER_SAFE.test(value)) issues.push({ path, message: 'contains control or non-Latin-1 characters' });
    };
    check('to', req.to, true);
    check('workflowId', req.workflowId, true);
    check('subject', req.subject, false);
    check('localId', req.localId, false);
    check('fileName', fileName, true);
    check('contentType', req.contentType, false);
    if (/https?:\/\//i.test(req.to) || /https?:\/\//i.test(req.workflowId)) {
      issues.push({ path: 'to', message: 'addresses and workflow ids must not contain URLs (MESH code 06)' });
    }
    if (issues.length > 0) {
      throw new MeshError(ErrorType.MESH_SEND_REJECTED, `MESH sendMessage rejected before sending: ${issues.map((i) => i.path).join(', ')}`, {
        operation: 'sendMessage',
        retryable: false,
        issues,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  private mailboxPath(suffix: string): string {
    return `/messageexchange/${encodeURIComponent(this.mailboxId)}${suffix}`;
  }

  /** `links.next` is host-relative; accept an absolute URL only if it points at our base URL. */
  private relativePath(link: string): string {
    if (link.startsWith('/')) return link;
    const url = new URL(link);
    if (url.origin !== new URL(this.baseUrl).origin) {
      throw new MeshError(ErrorType.MESH_PROTOCOL_ERROR, 'MESH paging link points at another host', { operation: 'listInbox', retryable: false });
    }
    return `${url.pathname}${url.search}`;
  }

  private authorization(): string {
    return buildAuthorizationHeader({
      mailboxId: this.mailboxId,
      password: this.settings.password,
      sharedKey: this.settings.sharedKey,
      nonce: this.settings.nonce(),
      nonceCount: 0,
      timestamp: this.clock(),
    });
  }

  /** One HTTP exchange. Resolves with the response (body unread) for an expected status, else throws a typed error. */
  private async exchange(spec: RequestSpec): Promise<WireResponse> {
    const headers: Record<string, string> = { Accept: MESH_ACCEPT, ...spec.headers };
    // A fresh token per request: a new nonce each time, so no token is ever reused (MESH refuses a reused one with 403).
    if (spec.auth !== false) headers.Authorization = this.authorization();
    spec.signal?.throwIfAborted();
    const started = Date.now();
    const timeout = AbortSignal.timeout(spec.timeoutMs ?? this.settings.timeoutMs);
    let res: WireResponse;
    try {
      res = await this.transport({
        method: spec.method,
        url: `${this.baseUrl}${spec.path}`,
        headers,
        ...(spec.body !== undefined ? { body: spec.body } : {}),
        signal: spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout,
      });
    } catch (err) {
      // The caller gave up: its reason, not a network error (which could be taken for an unknown outcome).
      spec.signal?.throwIfAborted();
      const code = networkErrorCode(err) ?? (isTimeout(err) ? 'TIMEOUT' : undefined);
      this.logger?.debug({ operation: spec.op, messageId: spec.messageId, code }, 'MESH request failed');
      throw new MeshError(ErrorType.MESH_NETWORK_ERROR, `MESH ${spec.op} failed: network error${code ? ` (${code})` : ''}`, {
        operation: spec.op,
        retryable: true,
        cause: err,
        ...(spec.messageId !== undefined ? { messageId: spec.messageId } : {}),
      });
    }
    this.logger?.debug({ operation: spec.op, messageId: spec.messageId, status: res.status, ms: Date.now() - started }, 'MESH response');
    const serverMs = meshDate(res);
    if (serverMs !== undefined) this.meshClockOffsetMs = serverMs - this.clock().getTime();
    if (spec.ok.includes(res.status)) return res;
    throw await this.errorFromResponse(spec, res);
  }

  private async errorFromResponse(spec: RequestSpec, res: WireResponse): Promise<MeshError> {
    const text = await readText(res, 64 * 1024).catch(() => '');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const meshErrorCode = extractMeshErrorCode(json);
    const status = res.status;
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), this.clock());
    const { type, retryable } = classifyStatus(status, spec.op);
    const known = meshErrorCode !== undefined ? MESH_ERROR_CODES[meshErrorCode] : undefined;
    const codeText = meshErrorCode !== undefined && /^[A-Za-z0-9-]{1,40}$/.test(meshErrorCode) ? ` (MESH code ${meshErrorCode}${known ? `: ${known}` : ''})` : '';
    return new MeshError(type, `MESH ${spec.op} failed: HTTP ${status}${codeText}`, {
      operation: spec.op,
      retryable,
      httpStatus: status,
      ...(meshErrorCode !== undefined ? { meshErrorCode } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(spec.messageId !== undefined ? { messageId: spec.messageId } : {}),
    });
  }

  private async parseJson<S extends z.ZodType>(op: MeshOperation, res: WireResponse, schema: S): Promise<z.output<S>> {
    let json: unknown;
    try {
      json = JSON.parse(await readText(res, MAX_JSON_BYTES));
    } catch (err) {
      throw new MeshError(ErrorType.MESH_PROTOCOL_ERROR, `MESH ${op}: response is not JSON`, { operation: op, retryable: false, httpStatus: res.status, cause: err });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new MeshError(ErrorType.MESH_PROTOCOL_ERROR, `MESH ${op}: unexpected response shape`, {
        operation: op,
        retryable: false,
        httpStatus: res.status,
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
    }
    return parsed.data;
  }

  /** Delay before retry `attempt` (0-based), or undefined when the error should not be waited out here. */
  private retryDelay(err: MeshError, attempt: number): number | undefined {
    if (err.retryAfterMs !== undefined) return err.retryAfterMs <= this.settings.maxRetryDelayMs ? err.retryAfterMs : undefined;
    const ceiling = Math.min(this.settings.maxRetryDelayMs, this.settings.retryBaseDelayMs * 2 ** attempt);
    return Math.floor(this.settings.random() * ceiling);
  }

  /** Run an operation that is safe to repeat, retrying retryable typed errors with backoff and jitter. */
  private async withRetry<T>(op: MeshOperation, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await fn();
      } catch (err) {
        if (signal?.aborted || !(err instanceof MeshError) || !err.retryable || attempt >= this.settings.maxRetries) throw err;
        const wait = this.retryDelay(err, attempt);
        if (wait === undefined) throw err;
        this.logger?.debug({ operation: op, attempt: attempt + 1, waitMs: wait, errorType: err.type }, 'MESH retry');
        await this.pause(wait, signal);
      }
    }
  }

  /** `sleep`, cut short (rejecting with the reason) when the signal aborts. */
  private async pause(ms: number, signal?: AbortSignal): Promise<void> {
    if (!signal) return this.settings.sleep(ms);
    signal.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([this.settings.sleep(ms), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }
}

/** One retry decision per status. */
export function classifyStatus(status: number, op: MeshOperation): { type: MeshErrorType; retryable: boolean } {
  if (status === 401 || status === 403) return { type: ErrorType.MESH_AUTH_FAILED, retryable: false };
  if (status === 404) return { type: ErrorType.MESH_NOT_FOUND, retryable: false };
  if (status === 410) return { type: ErrorType.MESH_GONE, retryable: false };
  if (status === 423) return { type: ErrorType.MESH_LOCKED, retryable: false };
  if (status === 425 || status === 429) return { type: ErrorType.MESH_RATE_LIMITED, retryable: true };
  if (status >= 500) return { type: ErrorType.MESH_SERVER_ERROR, retryable: true };
  if ((op === 'sendMessage' || op === 'sendChunk') && (status === 400 || status === 406 || status === 413 || status === 417 || status === 422)) {
    return { type: ErrorType.MESH_SEND_REJECTED, retryable: false };
  }
  return { type: ErrorType.MESH_PROTOCOL_ERROR, retryable: false };
}

/** MESH's clock from a response's `Date` header (whole seconds), in ms. */
function meshDate(res: WireResponse): number | undefined {
  const header = res.headers.get('date');
  const ms = header ? Date.parse(header) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

async function* readBody(res: WireResponse, op: MeshOperation, messageId: string): AsyncGenerator<Buffer> {
  try {
    yield* res.body;
  } catch (err) {
    if (err instanceof MeshError) throw err;
    throw new MeshError(ErrorType.MESH_NETWORK_ERROR, `MESH ${op} failed while reading the body`, { operation: op, retryable: true, messageId, cause: err });
  }
}

async function drain(res: WireResponse): Promise<void> {
  await res.dump();
}

async function cancel(res: WireResponse): Promise<void> {
  await res.dump();
}
