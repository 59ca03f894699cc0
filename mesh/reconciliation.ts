/**
 * Reconciling a send whose outcome is unknown: the first POST of a message may have reached MESH even
 * though we never saw the answer, and sending it again would deliver it twice. Before any resend, the
 * message is looked for in our own outbox by its unique `Mex-FileName` (plus recipient, workflow and local
 * id): candidates from the outbox listing are confirmed by tracking, which is the only call that shows the
 * file name. The decisions live here; the HTTP calls behind them are `MeshClient`'s (`OutboxReader`).
 * See mesh/README.md, "Unknown send outcomes".
 */
import { ErrorType } from '../contracts/errors';
import { MeshError } from './errors';
import type { RichOutboxPage, MeshTracking } from './schemas';

/** What an outbox lookup for a send found. */
export type SentMessageLookup =
  | { outcome: 'FOUND'; messageId: string; status?: string; method: 'OUTBOX_RICH' | 'LOCAL_ID_TRACKING' }
  | { outcome: 'NOT_FOUND'; method: 'OUTBOX_RICH' | 'LOCAL_ID_TRACKING' }
  | { outcome: 'AMBIGUOUS'; messageIds: string[] }
  /** No candidate matched, but `unchecked` candidates could not be confirmed (their tracking kept failing). */
  | { outcome: 'INCOMPLETE'; unchecked: number; method: 'OUTBOX_RICH' }
  | { outcome: 'UNSUPPORTED' };

export interface SentMessageProbe {
  fileName: string;
  to: string;
  workflowId: string;
  localId?: string;
  /** Only messages sent at or after this time (minus `lookupSkewMs`) are considered. */
  sentAfter: Date;
  /** On MESH's clock, no skew allowance added: only messages sent at or after this are considered either. */
  notBefore?: Date;
  /** The local id is unique per attempt, so the deprecated track-by-local-id may be used as a fallback. */
  localIdIsUnique?: boolean;
  /** Abort the lookup (its requests and waits) when this aborts. */
  signal?: AbortSignal;
}

/** Progress a lookup reports; no patient data (counts and MESH-clock instants only). */
export type LookupProgress =
  | { step: 'looking-up'; candidatesChecked: number }
  /** A complete search found nothing: no message with this file name was sent before `notBefore` (MESH's clock). */
  | { step: 'searched'; notBefore: string };

/** Per-call state of one send or lookup: its caller's signal and progress hook, and the candidates already ruled out. */
export interface LookupContext {
  signal?: AbortSignal;
  onProgress?: (progress: LookupProgress) => void;
  /** Candidate ids whose tracking showed another file name: not confirmed again within this call. */
  ruledOut: Set<string>;
  /** MESH's time at the start of the first POST of this call, once there was one. */
  firstPostAt?: Date;
}

/** The MESH calls reconciliation makes. Each is retried by its provider as any safe GET is. */
export interface OutboxReader {
  /**
   * One page of the outbox listing: the first page of messages sent since `since`, or the page a previous
   * page's `next` link names. `UNSUPPORTED` when this MESH has no such listing. `meshDateMs`: MESH's clock
   * when it answered (its `Date` header), when it sent one.
   */
  listOutboxPage(
    cursor: { since: Date } | { next: string },
    opts: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<{ page: RichOutboxPage; meshDateMs?: number } | 'UNSUPPORTED'>;
  trackMessage(messageId: string, opts: { signal?: AbortSignal; timeoutMs: number }): Promise<MeshTracking>;
  /** The deprecated track-by-local-id: no message, several (HTTP 300), or the one message with that local id. */
  trackByLocalId(
    localId: string,
    opts: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<{ kind: 'NONE' } | { kind: 'SEVERAL' } | { kind: 'ONE'; messageId: string; fileName?: unknown; status?: unknown }>;
  /** Wait, cut short (rejecting with the reason) when the signal aborts. */
  pause(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface ReconciliationSettings {
  /** How long to let an in-flight send settle before each look after an unknown outcome. */
  settleMs: number;
  /** How far before `sentAfter` the outbox listing starts, for clock skew between this host and MESH. */
  lookupSkewMs: number;
  /** Tracking calls in flight at once while confirming candidates. */
  lookupConcurrency: number;
  /** Per-request timeout of the listing and tracking calls. */
  lookupTimeoutMs: number;
  logger?: { warn(obj: Record<string, unknown>, msg: string): void };
}

/**
 * Allowance for MESH's `Date` header (whole seconds) and the time between a request leaving and MESH
 * acting on it, when a bound on MESH's clock is taken from it.
 */
export const MESH_CLOCK_MARGIN_MS = 5_000;

/** Most outbox pages one listing follows: a bound on a lookup, far above any skew window's worth. */
const MAX_OUTBOX_PAGES = 100;

/** A date from the outbox listing; the sandbox writes naive UTC datetimes, so a missing zone means UTC. */
function listedTime(sentDate: string | null | undefined): number {
  if (!sentDate) return Number.NaN;
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(sentDate) ? sentDate : `${sentDate}Z`);
}

export class SendReconciler {
  constructor(
    private readonly outbox: OutboxReader,
    private readonly settings: ReconciliationSettings,
  ) {}

  /** The outbox listing where MESH serves it, else (only when the local id is unique) tracking by local id. */
  async lookup(probe: SentMessageProbe, ctx: LookupContext): Promise<SentMessageLookup> {
    ctx.onProgress?.({ step: 'looking-up', candidatesChecked: 0 });
    const rich = await this.findViaRichOutbox(probe, ctx);
    if (rich.outcome !== 'UNSUPPORTED') return rich;
    if (probe.localIdIsUnique && probe.localId) return this.findViaLocalIdTracking(probe, ctx);
    return rich;
  }

  /** One tracking call for an id an earlier attempt was given; undefined when it cannot settle the question. */
  async confirmKnownMessage(messageId: string, fileName: string, ctx: LookupContext): Promise<SentMessageLookup | undefined> {
    try {
      const t = await this.outbox.trackMessage(messageId, { ...(ctx.signal ? { signal: ctx.signal } : {}), timeoutMs: this.settings.lookupTimeoutMs });
      if (t.filename !== fileName) return undefined;
      const status = t.status?.toLowerCase();
      return { outcome: 'FOUND', messageId, method: 'OUTBOX_RICH', ...(status !== undefined ? { status } : {}) };
    } catch (err) {
      if (ctx.signal?.aborted || !(err instanceof MeshError)) throw err;
      return undefined;
    }
  }

  /**
   * After a first POST whose outcome is unknown: two looks, each after a settle delay, so a POST still
   * being processed when we gave up is not missed. Candidates ruled out by the first look are not
   * confirmed again by the second. A listing that keeps failing answers INCOMPLETE (look again later,
   * never post now); one that cannot work answers UNSUPPORTED.
   */
  async resolveUnknownSend(probe: SentMessageProbe, cause: unknown, ctx: LookupContext): Promise<SentMessageLookup> {
    this.settings.logger?.warn(
      { operation: 'sendMessage', errorType: cause instanceof MeshError ? cause.type : 'UNKNOWN' },
      'MESH send outcome unknown; looking the message up before any resend',
    );
    let last: SentMessageLookup = { outcome: 'UNSUPPORTED' };
    for (let look = 0; look < 2; look += 1) {
      await this.outbox.pause(this.settings.settleMs, ctx.signal);
      try {
        // Nothing of this call's can predate its first POST (an earlier attempt's was ruled out by the complete
        // search that preceded it, or there was none): on MESH's clock, that bounds the search tightly.
        const notBefore = ctx.firstPostAt ? new Date(ctx.firstPostAt.getTime() - MESH_CLOCK_MARGIN_MS) : undefined;
        last = await this.lookup(notBefore && !(probe.notBefore && probe.notBefore > notBefore) ? { ...probe, notBefore } : probe, ctx);
      } catch (err) {
        if (ctx.signal?.aborted || !(err instanceof MeshError)) throw err;
        this.settings.logger?.warn({ operation: 'sendMessage', errorType: err.type }, 'MESH send lookup failed');
        if (!err.retryable) return { outcome: 'UNSUPPORTED' };
        return { outcome: 'INCOMPLETE', unchecked: 0, method: 'OUTBOX_RICH' };
      }
      if (last.outcome !== 'NOT_FOUND') return last;
    }
    return last;
  }

  private async findViaRichOutbox(probe: SentMessageProbe, ctx: LookupContext): Promise<SentMessageLookup> {
    const since = new Date(Math.max(probe.sentAfter.getTime() - this.settings.lookupSkewMs, probe.notBefore?.getTime() ?? -Infinity));
    const request = { ...(ctx.signal ? { signal: ctx.signal } : {}), timeoutMs: this.settings.lookupTimeoutMs };
    const to = probe.to.toUpperCase();
    const candidates: Array<{ id: string; sentMs: number; order: number }> = [];
    const seen = new Set<string>();
    let listedAt: number | undefined;
    let cursor: { since: Date } | { next: string } | undefined = { since };
    for (let page = 0; cursor !== undefined && page < MAX_OUTBOX_PAGES; page += 1) {
      const listed = await this.outbox.listOutboxPage(cursor, request);
      if (listed === 'UNSUPPORTED') return { outcome: 'UNSUPPORTED' };
      listedAt ??= listed.meshDateMs;
      for (const m of listed.page.messages) {
        if ((m.message_type ?? 'DATA').toUpperCase() !== 'DATA') continue;
        if ((m.recipient ?? '').toUpperCase() !== to) continue;
        if (m.workflow_id !== probe.workflowId) continue;
        if (probe.localId !== undefined && (m.local_id ?? '') !== probe.localId) continue;
        const sentMs = listedTime(m.sent_date);
        // A listing that ignored the start time must not widen the search.
        if (Number.isFinite(sentMs) && sentMs < since.getTime()) continue;
        candidates.push({ id: m.message_id, sentMs, order: candidates.length });
      }
      const next = listed.page.links?.next;
      cursor = next && listed.page.messages.length > 0 && !seen.has(next) ? { next } : undefined;
      if (next) seen.add(next);
    }
    // Which first: with a bound on MESH's clock (the first POST of this call, or where an earlier attempt's
    // complete search ended) the message, if any, was made just after it, so oldest first from there; with
    // only a skew window, newest first (a lookup runs soon after the send it looks for). An undated
    // candidate keeps its listing position (the sandbox lists newest first).
    const direction = probe.notBefore !== undefined ? 1 : -1;
    candidates.sort((a, b) => (Number.isFinite(a.sentMs) && Number.isFinite(b.sentMs) && a.sentMs !== b.sentMs ? direction * (a.sentMs - b.sentMs) : a.order - b.order));
    const { match, unchecked } = await this.confirmCandidates(
      candidates.map((c) => c.id),
      probe.fileName,
      ctx,
    );
    if (match) return { outcome: 'FOUND', messageId: match.id, method: 'OUTBOX_RICH', ...(match.status !== undefined ? { status: match.status.toLowerCase() } : {}) };
    if (unchecked > 0) return { outcome: 'INCOMPLETE', unchecked, method: 'OUTBOX_RICH' };
    // Complete and empty: nothing with this file name was sent before the listing (MESH's clock), which a
    // later attempt may use as its lower bound (`lookupBeforeSend.notBefore`).
    if (listedAt !== undefined) ctx.onProgress?.({ step: 'searched', notBefore: new Date(listedAt - MESH_CLOCK_MARGIN_MS).toISOString() });
    return { outcome: 'NOT_FOUND', method: 'OUTBOX_RICH' };
  }

  /**
   * The listing has no file name: confirm candidates with tracking, which has. In order, a few at a time,
   * and stop at the first match (file names are unique per attempt, so there is at most one). A candidate
   * whose tracking keeps failing is skipped and counted, not allowed to sink the whole lookup.
   */
  private async confirmCandidates(ids: string[], fileName: string, ctx: LookupContext): Promise<{ match?: { id: string; status?: string }; unchecked: number }> {
    const stop = new AbortController();
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
    const todo = ids.filter((id) => !ctx.ruledOut.has(id));
    let next = 0;
    let checked = 0;
    let unchecked = 0;
    let match: { id: string; status?: string } | undefined;
    const worker = async (): Promise<void> => {
      while (match === undefined && next < todo.length) {
        const id = todo[next]!;
        next += 1;
        try {
          const t = await this.outbox.trackMessage(id, { signal, timeoutMs: this.settings.lookupTimeoutMs });
          if (t.filename === fileName) {
            match ??= { id, ...(t.status ? { status: t.status } : {}) };
            stop.abort();
            return;
          }
          ctx.ruledOut.add(id);
        } catch (err) {
          if (ctx.signal?.aborted) throw err;
          if (stop.signal.aborted) return;
          if (err instanceof MeshError && err.type === ErrorType.MESH_NOT_FOUND) {
            ctx.ruledOut.add(id);
          } else {
            unchecked += 1;
            this.settings.logger?.warn(
              { operation: 'trackMessage', messageId: id, errorType: err instanceof MeshError ? err.type : 'UNKNOWN' },
              'MESH lookup candidate could not be checked; skipped',
            );
          }
        }
        checked += 1;
        ctx.onProgress?.({ step: 'looking-up', candidatesChecked: checked });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.settings.lookupConcurrency, todo.length) }, () => worker()));
    return { ...(match ? { match } : {}), unchecked: match ? 0 : unchecked };
  }

  private async findViaLocalIdTracking(probe: SentMessageProbe, ctx: LookupContext): Promise<SentMessageLookup> {
    const found = await this.outbox.trackByLocalId(probe.localId!, { ...(ctx.signal ? { signal: ctx.signal } : {}), timeoutMs: this.settings.lookupTimeoutMs });
    if (found.kind === 'NONE') return { outcome: 'NOT_FOUND', method: 'LOCAL_ID_TRACKING' };
    if (found.kind === 'SEVERAL') return { outcome: 'AMBIGUOUS', messageIds: [] };
    if (found.fileName !== probe.fileName) return { outcome: 'AMBIGUOUS', messageIds: [found.messageId] };
    const status = typeof found.status === 'string' ? found.status.toLowerCase() : undefined;
    return { outcome: 'FOUND', messageId: found.messageId, method: 'LOCAL_ID_TRACKING', ...(status !== undefined ? { status } : {}) };
  }
}

/** The error a send ends with when reconciliation could not tell whether MESH has the message. */
export function outcomeUnknown(lookup: SentMessageLookup, cause: unknown): MeshError {
  const why =
    lookup.outcome === 'AMBIGUOUS'
      ? 'several sent messages match the file name'
      : lookup.outcome === 'UNSUPPORTED'
        ? 'the outbox cannot be searched for this message'
        : lookup.outcome === 'INCOMPLETE'
          ? 'the outbox search could not be completed (look again later, before any resend)'
          : 'the message was not found and no resend is left';
  return new MeshError(ErrorType.MESH_SEND_OUTCOME_UNKNOWN, `MESH sendMessage outcome unknown: ${why}; not resent`, {
    operation: 'sendMessage',
    // An incomplete search may be repeated (a retry that calls sendMessage with lookupBeforeSend looks
    // again before posting); the other outcomes need an operator.
    retryable: lookup.outcome === 'INCOMPLETE',
    issues: [{ path: 'fileName', message: 'reconcile by Mex-FileName in the MESH outbox before sending this attempt again' }],
    ...(cause !== undefined ? { cause } : {}),
  });
}
