/**
 * Proof under a flood: N deliveries wait for their infrastructure acknowledgement while the inbox
 * poller is held back; the GP practice peer answers every one (one 20013 each), so N responses wait in
 * our MESH inbox at once. Then the poller starts and drains it: every response routed to its own
 * delivery, none lost (each delivery has its signal; the inbox no longer holds any of them), none
 * doubled (exactly one signal per delivery), none quarantined.
 *
 * N is ITK3_FLOOD_COUNT: 200 by default, to keep the suite short on 2 cores; `bash
 * scripts/inbound-flood.sh` runs it with 1,000 (measured on 2 cores: 1,000 responses waiting after ~2 min
 * of submitting and answering, drained in ~76 s, 13 responses/s, 1,000 routed, 0 quarantined, 0 doubled;
 * about 4 minutes in all).
 */
import { randomUUID } from 'node:crypto';
import { inboxPollerWorkflowId } from '../../contracts';
import { QUARANTINE_WORKFLOW_TYPE, quarantineWorkflowId } from '../../contracts/inbound';
import { listExecutions } from '../../client/api/visibility-list';
import { inboxPollerStatusQuery } from '../../workflows/inbox-poller';
import { eventually, startInboundHarness, type InboundHarness } from '../helpers/inbound-harness';

const N = Number(process.env.ITK3_FLOOD_COUNT ?? 200);
jest.setTimeout(Math.max(300_000, N * 1_500));

let h: InboundHarness;
beforeAll(async () => {
  h = await startInboundHarness({ pollers: false, env: { ITK3_INF_ACK_TIMEOUT: '2h', ITK3_BUS_ACK_TIMEOUT: '4h', LOG_LEVEL: 'error' } });
});
afterAll(async () => {
  await h?.stop();
});

async function pool<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

const log = (msg: string): void => {
  process.stdout.write(`[flood ${N}] ${msg}\n`);
};

it(`routes ${N} responses waiting at once to ${N} waiting deliveries: every one, once, none quarantined`, async () => {
  const t0 = Date.now();
  const refs = Array.from({ length: N }, (_, i) => `enc-flood-${i}-${randomUUID().slice(0, 8)}`);
  for (const ref of refs) h.setScenario(ref, ['20013']);
  const subs = await pool(refs, 16, (ref) => h.submit(ref));
  const byRef = new Map(refs.map((ref, i) => [ref, subs[i]!.workflowId]));
  log(`submitted in ${Date.now() - t0} ms`);

  // The practice answers every delivery; the answers pile up in our inbox (no poller yet).
  const sent = await eventually(async () => {
    const s = h.peerSent().filter((x) => x.senderReference && byRef.has(x.senderReference));
    return s.length >= N ? s : undefined;
  }, N * 1_000, `the practice to answer all ${N}`);
  expect(sent).toHaveLength(N);
  const sentIds = new Set(sent.map((s) => s.meshMessageId));
  const inboxBefore = new Set(await h.inbox('X26ABC1'));
  expect([...sentIds].every((id) => inboxBefore.has(id))).toBe(true);
  log(`${N} responses waiting in the inbox after ${Date.now() - t0} ms`);

  const t1 = Date.now();
  await h.startPollers();
  await eventually(async () => {
    const inbox = new Set(await h.inbox('X26ABC1'));
    return [...sentIds].some((id) => inbox.has(id)) ? undefined : true;
  }, N * 1_000, 'the inbox to drain');
  const drainMs = Date.now() - t1;
  log(`drained in ${drainMs} ms (${((N * 1000) / drainMs).toFixed(1)} responses/s)`);

  // None lost, none doubled: each delivery holds exactly one signal, its own response.
  const seen = new Set<string>();
  await pool(refs, 16, async (ref) => {
    const workflowId = byRef.get(ref)!;
    const rs = await h.responsesSignalled(workflowId);
    const mine = sent.find((s) => s.senderReference === ref)!;
    expect({ ref, signals: rs.length }).toEqual({ ref, signals: 1 });
    expect(rs[0]?.meshMessageId).toBe(mine.meshMessageId);
    expect(rs[0]?.responseId).toBe(mine.bundleIdentifier);
    expect(seen.has(rs[0]!.meshMessageId)).toBe(false);
    seen.add(rs[0]!.meshMessageId);
  });
  expect(seen.size).toBe(N);

  // Nothing of the flood went to the quarantine. Only this test's own entry ids count: other suites on the
  // same server add entries, under codec keys this harness does not have, so their memos are not read.
  const ownQuarantineIds = new Set([...sentIds].map((id) => quarantineWorkflowId('X26ABC1', id)));
  const quarantinedHere: string[] = [];
  const query = `WorkflowType = '${QUARANTINE_WORKFLOW_TYPE}' AND StartTime > '${new Date(t1).toISOString()}'`;
  for await (const { info } of listExecutions(h.temporal, { query, pageSize: 1000, limit: Number.MAX_SAFE_INTEGER }, { warn: () => undefined })) {
    if (ownQuarantineIds.has(info.workflowId)) quarantinedHere.push(info.workflowId);
  }
  expect(quarantinedHere).toEqual([]);

  // Full pages were followed at once: more than one pass, and every one counted.
  const status = await h.temporal.workflow.getHandle(inboxPollerWorkflowId('X26ABC1')).query(inboxPollerStatusQuery);
  expect(status.totals.routed).toBeGreaterThanOrEqual(N);
  if (N > 500) expect(status.totals.passes).toBeGreaterThan(1);
  log(`poller totals ${JSON.stringify(status.totals)}; whole test ${Date.now() - t0} ms`);
});
