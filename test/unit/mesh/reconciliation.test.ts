/**
 * The reconciliation decisions on their own, against an in-memory outbox: which listed messages are
 * candidates, in which order they are confirmed, when a lookup is complete, and what an unknown send
 * resolves to. The HTTP behind them is covered by client.test.ts and the sandbox integration tests.
 */
import { ErrorType } from '../../../contracts/errors';
import { MeshError, SendReconciler, outcomeUnknown, type OutboxReader, type ReconciliationSettings, type SentMessageLookup, type SentMessageProbe } from '../../../mesh';
import type { RichOutboxPage } from '../../../mesh/schemas';
import type { LookupContext, LookupProgress } from '../../../mesh/reconciliation';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '');
type Listed = RichOutboxPage['messages'][number];

const listed = (id: string, over: Partial<Listed> = {}): Listed => ({
  message_id: id,
  message_type: 'DATA',
  recipient: 'X26ABC2',
  workflow_id: 'GPFED_CONSULT_REPORT',
  local_id: 'X26',
  sent_date: iso(NOW - 1_000),
  status: 'accepted',
  ...over,
});

const probe: SentMessageProbe = { fileName: 'mine.xml', to: 'x26abc2', workflowId: 'GPFED_CONSULT_REPORT', localId: 'X26', sentAfter: new Date(NOW) };
const settings: ReconciliationSettings = { settleMs: 7, lookupSkewMs: 60_000, lookupConcurrency: 1, lookupTimeoutMs: 1_000 };

/** An outbox of pages, tracking by file name, and a record of what the reconciler asked. */
function outbox(opts: {
  pages?: Listed[][] | 'UNSUPPORTED' | MeshError;
  fileNames?: Record<string, string | MeshError>;
  byLocalId?: Awaited<ReturnType<OutboxReader['trackByLocalId']>>;
  meshDateMs?: number;
}) {
  const tracked: string[] = [];
  const listedSince: Date[] = [];
  const pauses: number[] = [];
  const reader: OutboxReader = {
    async listOutboxPage(cursor) {
      if (opts.pages instanceof MeshError) throw opts.pages;
      if (opts.pages === 'UNSUPPORTED') return 'UNSUPPORTED';
      const pages = opts.pages ?? [[]];
      const index = 'since' in cursor ? 0 : Number(cursor.next.replace('page-', ''));
      if ('since' in cursor) listedSince.push(cursor.since);
      const links = index + 1 < pages.length ? { next: `page-${index + 1}` } : undefined;
      return { page: { messages: pages[index] ?? [], ...(links ? { links } : {}) }, ...(opts.meshDateMs !== undefined ? { meshDateMs: opts.meshDateMs } : {}) };
    },
    async trackMessage(id) {
      tracked.push(id);
      const f = opts.fileNames?.[id];
      if (f instanceof MeshError) throw f;
      if (f === undefined) throw new MeshError(ErrorType.MESH_NOT_FOUND, 'not found', { operation: 'trackMessage', retryable: false });
      return { message_id: id, filename: f, status: 'Accepted' } as never;
    },
    async trackByLocalId() {
      return opts.byLocalId ?? { kind: 'NONE' };
    },
    async pause(ms) {
      pauses.push(ms);
    },
  };
  return { reader, tracked, listedSince, pauses };
}

const ctx = (over: Partial<LookupContext> = {}): LookupContext => ({ ruledOut: new Set(), ...over });
const serverError = () => new MeshError(ErrorType.MESH_SERVER_ERROR, 'HTTP 500', { operation: 'trackMessage', retryable: true });

describe('SendReconciler.lookup: candidates', () => {
  it('confirms only DATA messages to this recipient, workflow and local id inside the window, across pages', async () => {
    const o = outbox({
      pages: [
        [listed('REPORT', { message_type: 'REPORT' }), listed('OTHER-TO', { recipient: 'X26ABC9' }), listed('A')],
        [listed('OTHER-WF', { workflow_id: 'OTHER' }), listed('OTHER-LOCAL', { local_id: 'Y1' }), listed('OLD', { sent_date: iso(NOW - 120_000) }), listed('B')],
      ],
      fileNames: { A: 'a.xml', B: 'mine.xml' },
    });
    const found = await new SendReconciler(o.reader, settings).lookup(probe, ctx());
    expect(found).toEqual({ outcome: 'FOUND', messageId: 'B', method: 'OUTBOX_RICH', status: 'accepted' });
    expect(o.tracked.sort()).toEqual(['A', 'B']);
    expect(o.listedSince).toEqual([new Date(NOW - settings.lookupSkewMs)]);
  });

  it('confirms newest first with only a skew window, oldest first from a MESH-clock bound, and stops at the match', async () => {
    const pages = [[listed('OLDER', { sent_date: iso(NOW - 3_000) }), listed('NEWER', { sent_date: iso(NOW - 1_000) }), listed('MIDDLE', { sent_date: iso(NOW - 2_000) })]];
    const all = { OLDER: 'o.xml', MIDDLE: 'mine.xml', NEWER: 'n.xml' };
    const newestFirst = outbox({ pages, fileNames: all });
    await new SendReconciler(newestFirst.reader, settings).lookup(probe, ctx());
    expect(newestFirst.tracked).toEqual(['NEWER', 'MIDDLE']);
    const oldestFirst = outbox({ pages, fileNames: all });
    await new SendReconciler(oldestFirst.reader, settings).lookup({ ...probe, notBefore: new Date(NOW - 10_000) }, ctx());
    expect(oldestFirst.tracked).toEqual(['OLDER', 'MIDDLE']);
  });

  it('never starts the listing before notBefore, however wide the skew window', async () => {
    const o = outbox({});
    await new SendReconciler(o.reader, settings).lookup({ ...probe, notBefore: new Date(NOW - 5_000) }, ctx());
    expect(o.listedSince).toEqual([new Date(NOW - 5_000)]);
  });

  it('is INCOMPLETE when a candidate could not be checked, and reports no searched bound then', async () => {
    const progress: LookupProgress[] = [];
    const o = outbox({ pages: [[listed('A'), listed('B')]], fileNames: { A: serverError(), B: 'b.xml' }, meshDateMs: NOW });
    expect(await new SendReconciler(o.reader, settings).lookup(probe, ctx({ onProgress: (p) => progress.push(p) }))).toEqual({
      outcome: 'INCOMPLETE',
      unchecked: 1,
      method: 'OUTBOX_RICH',
    });
    expect(progress.some((p) => p.step === 'searched')).toBe(false);
  });

  it('is NOT_FOUND after a complete search, and tells the bound a later attempt may search from', async () => {
    const progress: LookupProgress[] = [];
    const o = outbox({ pages: [[listed('A')]], fileNames: { A: 'a.xml' }, meshDateMs: NOW });
    const c = ctx({ onProgress: (p) => progress.push(p) });
    expect(await new SendReconciler(o.reader, settings).lookup(probe, c)).toEqual({ outcome: 'NOT_FOUND', method: 'OUTBOX_RICH' });
    expect(progress).toContainEqual({ step: 'searched', notBefore: new Date(NOW - 5_000).toISOString() });
    expect(c.ruledOut.has('A')).toBe(true);
  });
});

describe('SendReconciler.lookup: without an outbox listing', () => {
  it('stays UNSUPPORTED unless the local id is unique per attempt', async () => {
    const o = outbox({ pages: 'UNSUPPORTED', byLocalId: { kind: 'ONE', messageId: 'M1', fileName: 'mine.xml', status: 'Accepted' } });
    const r = new SendReconciler(o.reader, settings);
    expect(await r.lookup(probe, ctx())).toEqual({ outcome: 'UNSUPPORTED' });
    expect(await r.lookup({ ...probe, localIdIsUnique: true }, ctx())).toEqual({ outcome: 'FOUND', messageId: 'M1', method: 'LOCAL_ID_TRACKING', status: 'accepted' });
  });

  it.each([
    [{ kind: 'NONE' } as const, { outcome: 'NOT_FOUND', method: 'LOCAL_ID_TRACKING' }],
    [{ kind: 'SEVERAL' } as const, { outcome: 'AMBIGUOUS', messageIds: [] }],
    [{ kind: 'ONE', messageId: 'M2', fileName: 'someone-else.xml' } as const, { outcome: 'AMBIGUOUS', messageIds: ['M2'] }],
  ])('tracking by local id answering %j means %j', async (byLocalId, expected) => {
    const o = outbox({ pages: 'UNSUPPORTED', byLocalId });
    expect(await new SendReconciler(o.reader, settings).lookup({ ...probe, localIdIsUnique: true }, ctx())).toEqual(expected);
  });
});

describe('SendReconciler.resolveUnknownSend', () => {
  it('looks twice, each after the settle delay, and does not confirm a ruled-out candidate again', async () => {
    const o = outbox({ pages: [[listed('A')]], fileNames: { A: 'a.xml' } });
    expect(await new SendReconciler(o.reader, settings).resolveUnknownSend(probe, serverError(), ctx())).toEqual({ outcome: 'NOT_FOUND', method: 'OUTBOX_RICH' });
    expect(o.pauses).toEqual([7, 7]);
    expect(o.listedSince).toHaveLength(2);
    expect(o.tracked).toEqual(['A']);
  });

  it('stops at the first look that finds the message', async () => {
    const o = outbox({ pages: [[listed('A')]], fileNames: { A: 'mine.xml' } });
    expect(await new SendReconciler(o.reader, settings).resolveUnknownSend(probe, serverError(), ctx())).toMatchObject({ outcome: 'FOUND', messageId: 'A' });
    expect(o.pauses).toEqual([7]);
  });

  it('searches from the first POST of this call (MESH clock, less the margin) when it is later than the probe bound', async () => {
    const o = outbox({});
    await new SendReconciler(o.reader, settings).resolveUnknownSend(probe, serverError(), ctx({ firstPostAt: new Date(NOW + 30_000) }));
    expect(o.listedSince[0]).toEqual(new Date(NOW + 25_000));
  });

  it('answers INCOMPLETE when the listing keeps failing (look again later) and UNSUPPORTED when it cannot work', async () => {
    const failing = outbox({ pages: new MeshError(ErrorType.MESH_NETWORK_ERROR, 'down', { operation: 'listOutbox', retryable: true }) });
    expect(await new SendReconciler(failing.reader, settings).resolveUnknownSend(probe, serverError(), ctx())).toEqual({ outcome: 'INCOMPLETE', unchecked: 0, method: 'OUTBOX_RICH' });
    const refused = outbox({ pages: new MeshError(ErrorType.MESH_AUTH_FAILED, 'HTTP 403', { operation: 'listOutbox', retryable: false }) });
    expect(await new SendReconciler(refused.reader, settings).resolveUnknownSend(probe, serverError(), ctx())).toEqual({ outcome: 'UNSUPPORTED' });
  });
});

describe('SendReconciler.confirmKnownMessage', () => {
  it('confirms an id an earlier attempt was given only when tracking shows this file name', async () => {
    const o = outbox({ fileNames: { K: 'mine.xml', OTHER: 'x.xml', DOWN: serverError() } });
    const r = new SendReconciler(o.reader, settings);
    expect(await r.confirmKnownMessage('K', 'mine.xml', ctx())).toEqual({ outcome: 'FOUND', messageId: 'K', method: 'OUTBOX_RICH', status: 'accepted' });
    expect(await r.confirmKnownMessage('OTHER', 'mine.xml', ctx())).toBeUndefined();
    expect(await r.confirmKnownMessage('DOWN', 'mine.xml', ctx())).toBeUndefined();
  });
});

describe('outcomeUnknown', () => {
  it('lets only an incomplete search be retried; every other outcome needs an operator', () => {
    expect(outcomeUnknown({ outcome: 'INCOMPLETE', unchecked: 1, method: 'OUTBOX_RICH' }, undefined)).toMatchObject({ type: ErrorType.MESH_SEND_OUTCOME_UNKNOWN, retryable: true });
    const others: SentMessageLookup[] = [{ outcome: 'AMBIGUOUS', messageIds: [] }, { outcome: 'UNSUPPORTED' }, { outcome: 'NOT_FOUND', method: 'OUTBOX_RICH' }];
    for (const lookup of others) {
      expect(outcomeUnknown(lookup, undefined)).toMatchObject({ type: ErrorType.MESH_SEND_OUTCOME_UNKNOWN, retryable: false });
    }
  });
});
