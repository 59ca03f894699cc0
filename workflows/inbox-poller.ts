/**
 * meshInboxPollerWorkflow: polls one MESH inbox as durable work.
 *
 * Trigger: the worker at start-up, one per configured mailbox (worker/inbound.ts `ensureInboxPollers`).
 * Id: `inboxPollerWorkflowId(mailbox)`, conflict policy USE_EXISTING, so a restart finds the running one.
 * Each pass is the `pollMeshInbox` activity, on the inbound task queue (`inboundTaskQueue`): list one
 * page, route every message to its workflow or the quarantine, and acknowledge each on MESH only after
 * that. A full page means more are waiting, so the next pass starts at once; otherwise it sleeps the configured interval (5 minutes in production, MESH
 * guidance) or until `pollNow`. When the interval is at most 60 s (local runs and benchmarks), that sleep
 * and the empty passes after it happen inside the activity (a heartbeating long poll that returns as
 * soon as there is mail, or after `waitForMailMs`), not as a timer per pass (patch
 * `inbox-poll-waits-in-activity`); a `pollNow` then takes effect within one interval. The mailbox handshake is done at start and then once a day, and recorded
 * (query and memo). A message that keeps failing (404/410, chunk or network errors) stays in the inbox,
 * is retried every pass, and is raised to an operator once after `failureReportAfter` passes.
 * Signals: pollNow. Queries: inboxPollerStatus. Never completes: continues as new to keep history small.
 */
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { failureType } from './failure';
import { ESCALATION_ACTIVITY } from './activity-profiles';
import type { PollMeshInboxResult } from '../contracts';
import { inboundTaskQueue } from '../contracts/ids';
import type { InboxFailure } from '../contracts/inbound';
import { inboxPollerDetails } from './metadata';

export interface InboxFailureRecord extends InboxFailure {
  /** Consecutive passes in which it failed. */
  count: number;
  firstFailedAt: string;
  lastFailedAt: string;
  /** Raised to an operator already (once per message). */
  reported: boolean;
}

export interface InboxTotals {
  passes: number;
  listed: number;
  routed: number;
  reports: number;
  quarantined: number;
  duplicates: number;
  failed: number;
}

/** Carried across continue-as-new so nothing is forgotten. */
export interface InboxPollerCarry {
  run: number;
  lastHandshakeAt?: string;
  lastPollAt?: string;
  totals: InboxTotals;
  failures: InboxFailureRecord[];
}

export interface InboxPollerInput {
  mailboxId: string;
  /** Sleep between passes when the inbox had no full page (production default 5 min, local 2 s). */
  pollIntervalMs: number;
  /** Ids per pass (MESH pages are 500). */
  pageSize?: number;
  /** Messages routed in parallel within a pass. */
  concurrency?: number;
  /** Default 24 h (MESH: handshake once a day). */
  handshakeIntervalMs?: number;
  /** Consecutive failing passes before a message is raised to an operator (default 3). */
  failureReportAfter?: number;
  /** Heartbeat timeout of a pass (default 60 s): how soon a pass on a dead worker is retried elsewhere. */
  activityHeartbeatTimeoutMs?: number;
  /** Passes per run before continue-as-new (default 500; also when the server suggests it). */
  passesPerRun?: number;
  /**
   * Longest a pass activity waits for mail, from its start (default 10 s, so a pass, its totals and
   * the inbox-lag metric still complete every few seconds when idle; the interval before its first
   * listing is always waited). Used when `pollIntervalMs` is at most 60 s. 0 = a workflow timer between
   * passes, as before.
   */
  waitForMailMs?: number;
  carry?: InboxPollerCarry;
}

export interface InboxPollerStatus {
  mailboxId: string;
  run: number;
  pollIntervalMs: number;
  lastHandshakeAt?: string;
  lastPollAt?: string;
  /** When the next pass is due if nothing wakes it earlier. */
  nextPollAt?: string;
  lastResult?: Omit<PollMeshInboxResult, 'failed' | 'recovered'> & { failed: number; recovered: number };
  totals: InboxTotals;
  failures: InboxFailureRecord[];
  /** The whole pass is failing (e.g. authentication): since when, and whether a person was told. */
  passError?: { errorType: string; count: number; since: string; reported: boolean };
}

export const pollNowSignal = defineSignal('pollNow');
export const inboxPollerStatusQuery = defineQuery<InboxPollerStatus>('inboxPollerStatus');

const DAY_MS = 24 * 60 * 60 * 1000;
/** Intervals up to this are waited inside the pass activity; longer ones (production's 5 min) on a timer. */
const LONG_POLL_MAX_INTERVAL_MS = 60_000;
const EMPTY_TOTALS: InboxTotals = { passes: 0, listed: 0, routed: 0, reports: 0, quarantined: 0, duplicates: 0, failed: 0 };

/** The MESH inbox activities go to their own task queue (runs recorded before keep the workflow's queue). */
const PATCH_INBOUND_TASK_QUEUE = 'inbox-activities-on-inbound-task-queue';

export async function meshInboxPollerWorkflow(input: InboxPollerInput): Promise<void> {
  // Sends and inbound passes on one activity queue would make each acknowledgement wait behind every send
  // already queued: under a surge, long enough to pass an ack deadline that the practice in fact met.
  const onInboundQueue = patched(PATCH_INBOUND_TASK_QUEUE) ? { taskQueue: inboundTaskQueue(workflowInfo().taskQueue) } : {};
  const { pollMeshInbox } = proxyActivities<Activities>({
    ...onInboundQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: input.activityHeartbeatTimeoutMs ?? 60_000,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2 minutes', nonRetryableErrorTypes: ['CONFIG_INVALID'] },
  });
  const { handshakeMeshMailbox } = proxyActivities<Activities>({
    ...onInboundQueue,
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 },
  });
  const notify = proxyActivities<Activities>(ESCALATION_ACTIVITY);
  // A summary (merged into the proxy's options) names each escalation in the Web UI's event history.
  const raiseEscalation = (e: Parameters<Activities['raiseEscalation']>[0]): Promise<void> =>
    notify.raiseEscalation.executeWithOptions({ summary: `${e.kind === 'RESOLVED' ? 'resolve' : 'raise'} escalation: ${e.code ?? 'MESH inbox'}` }, [e]);

  const carry: InboxPollerCarry = input.carry ?? { run: 1, totals: { ...EMPTY_TOTALS }, failures: [] };
  const status: InboxPollerStatus = {
    mailboxId: input.mailboxId,
    run: carry.run,
    pollIntervalMs: input.pollIntervalMs,
    totals: carry.totals,
    failures: carry.failures,
    ...(carry.lastHandshakeAt ? { lastHandshakeAt: carry.lastHandshakeAt } : {}),
    ...(carry.lastPollAt ? { lastPollAt: carry.lastPollAt } : {}),
  };
  let wake = false;
  setHandler(pollNowSignal, () => {
    wake = true;
  });
  setHandler(inboxPollerStatusQuery, () => status);
  /** Current details for the Web UI (no commands: showing them never changes what history records). */
  const show = (): void => setCurrentDetails(inboxPollerDetails(status));
  show();

  const handshakeEvery = input.handshakeIntervalMs ?? DAY_MS;
  const reportAfter = input.failureReportAfter ?? 3;
  const passesPerRun = input.passesPerRun ?? 500;
  const escalation = { workflowId: workflowInfo().workflowId, documentId: '', state: 'POLLING' };
  // The wait for mail happens inside the activity: one timer, one activity and two workflow tasks per empty
  // pass would be most of an idle poller's cost on the Temporal server at short intervals. Runs recorded
  // before this patch keep the timer.
  const waitForMailMs = input.waitForMailMs ?? 10_000;
  // The timer-or-not decision depends only on the interval (and an explicit 0), never on the wait bound,
  // so a change of the bound's default cannot change the commands of a run already recorded.
  const longPoll = patched('inbox-poll-waits-in-activity') && waitForMailMs > 0 && input.pollIntervalMs <= LONG_POLL_MAX_INTERVAL_MS;
  /** Long poll: how long the next pass waits before it lists (the interval after a pass that was not a full page). */
  let delayNextMs = 0;

  for (let pass = 0; pass < passesPerRun && !workflowInfo().continueAsNewSuggested; pass++) {
    if (!status.lastHandshakeAt || Date.now() - Date.parse(status.lastHandshakeAt) >= handshakeEvery) {
      try {
        await handshakeMeshMailbox.executeWithOptions({ summary: `daily MESH handshake of ${input.mailboxId}` }, [{ mailboxId: input.mailboxId }]);
        // Workflow time, so the daily check compares like with like.
        const at = new Date().toISOString();
        status.lastHandshakeAt = at;
        upsertMemo({ lastHandshakeAt: at });
      } catch (err) {
        // Not fatal to polling: the handshake is due again on the next pass.
        log.warn('MESH handshake failed; polling goes on', { mailboxId: input.mailboxId, error: failureType(err) });
      }
    }

    wake = false;
    let result: PollMeshInboxResult;
    try {
      if (longPoll && delayNextMs > 0) status.nextPollAt = new Date(Date.now() + delayNextMs).toISOString();
      show();
      const summary = `poll pass ${status.totals.passes + 1} of MESH inbox ${input.mailboxId}${longPoll && delayNextMs > 0 ? `, after waiting ${Math.round(delayNextMs / 1000)} s` : ''}`;
      result = await pollMeshInbox.executeWithOptions({ summary }, [
        {
          mailboxId: input.mailboxId,
          ...(input.pageSize ? { pageSize: input.pageSize } : {}),
          ...(input.concurrency ? { concurrency: input.concurrency } : {}),
          knownFailures: status.failures.map((f) => f.meshMessageId),
          ...(longPoll ? { pollIntervalMs: input.pollIntervalMs, waitForMailMs: waitBound(), ...(delayNextMs > 0 ? { delayFirstListMs: delayNextMs } : {}) } : {}),
        },
      ]);
      if (longPoll) delete status.nextPollAt;
    } catch (err) {
      // The whole pass failed in a way retries do not fix (e.g. MESH_AUTH_FAILED): keep the poller alive,
      // tell a person once, and try again after the interval.
      await passFailed(failureType(err));
      status.nextPollAt = new Date(Date.now() + input.pollIntervalMs).toISOString();
      show();
      await condition(() => wake, input.pollIntervalMs, { summary: `poll again after a failed pass (${status.passError?.errorType ?? 'error'})` });
      delete status.nextPollAt;
      delayNextMs = 0;
      continue;
    }
    if (status.passError) {
      if (status.passError.reported) await raiseEscalation({ ...escalation, reason: `MESH inbox ${input.mailboxId} can be polled again`, code: status.passError.errorType, kind: 'RESOLVED' });
      delete status.passError;
    }
    status.lastPollAt = new Date().toISOString();
    count(status.totals, result);
    status.lastResult = { ...result, failed: result.failed?.length ?? 0, recovered: result.recovered?.length ?? 0 };
    await trackFailures(result);
    show();

    if (longPoll) {
      // The next pass sleeps the interval inside its activity, unless more is waiting or pollNow came.
      delayNextMs = result.morePending || wake ? 0 : input.pollIntervalMs;
    } else if (!result.morePending) {
      const nextMs = Date.now() + input.pollIntervalMs;
      status.nextPollAt = new Date(nextMs).toISOString();
      show();
      await condition(() => wake, input.pollIntervalMs, { summary: `next poll of MESH inbox ${input.mailboxId}` });
      delete status.nextPollAt;
    }
  }

  await continueAsNew<typeof meshInboxPollerWorkflow>({
    ...input,
    carry: {
      run: status.run + 1,
      totals: status.totals,
      failures: status.failures,
      ...(status.lastHandshakeAt ? { lastHandshakeAt: status.lastHandshakeAt } : {}),
      ...(status.lastPollAt ? { lastPollAt: status.lastPollAt } : {}),
    },
  });

  /** The long poll ends in time for the daily handshake, which is done between passes. */
  function waitBound(): number {
    if (!status.lastHandshakeAt) return 0;
    return Math.max(0, Math.min(waitForMailMs, Date.parse(status.lastHandshakeAt) + handshakeEvery - Date.now()));
  }

  async function passFailed(errorType: string): Promise<void> {
    const now = new Date().toISOString();
    const e = status.passError ?? { errorType, count: 0, since: now, reported: false };
    e.count += 1;
    e.errorType = errorType;
    status.passError = e;
    log.warn('MESH inbox pass failed', { mailboxId: input.mailboxId, errorType, consecutive: e.count });
    if (!e.reported && e.count >= reportAfter) {
      e.reported = true;
      await raiseEscalation({ ...escalation, reason: `MESH inbox ${input.mailboxId} cannot be polled (${e.count} passes)`, code: errorType, kind: 'RAISED' });
    }
  }

  /** Count consecutive failures per message; raise once past the threshold; resolve when it recovers. */
  async function trackFailures(result: PollMeshInboxResult): Promise<void> {
    const now = new Date().toISOString();
    const recovered = new Set(result.recovered ?? []);
    for (const f of status.failures.filter((r) => recovered.has(r.meshMessageId))) {
      if (f.reported) {
        await raiseEscalation({ ...escalation, reason: `MESH inbox message ${f.meshMessageId} went through after failing`, code: f.errorType, kind: 'RESOLVED' });
      }
    }
    status.failures = status.failures.filter((r) => !recovered.has(r.meshMessageId));
    for (const f of result.failed ?? []) {
      const known = status.failures.find((r) => r.meshMessageId === f.meshMessageId);
      if (known) {
        known.count += 1;
        known.errorType = f.errorType;
        known.lastFailedAt = now;
        if (f.httpStatus !== undefined) known.httpStatus = f.httpStatus;
      } else {
        status.failures.push({ ...f, count: 1, firstFailedAt: now, lastFailedAt: now, reported: false });
      }
    }
    for (const f of status.failures) {
      if (!f.reported && f.count >= reportAfter) {
        f.reported = true;
        log.warn('MESH inbox message keeps failing; left in the inbox and raised', { mailboxId: input.mailboxId, meshMessageId: f.meshMessageId, errorType: f.errorType });
        await raiseEscalation({
          ...escalation,
          reason: `MESH inbox message ${f.meshMessageId} in ${input.mailboxId} could not be downloaded or routed in ${f.count} passes; it stays in the inbox and is retried`,
          code: f.errorType,
          kind: 'RAISED',
        });
      }
    }
    status.totals.failed = status.totals.failed + (result.failed?.length ?? 0);
  }
}

function count(t: InboxTotals, r: PollMeshInboxResult): void {
  t.passes += 1;
  t.listed += r.listed;
  t.routed += r.routed;
  t.reports += r.reports;
  t.quarantined += r.quarantined ?? r.unmatched;
  t.duplicates += r.duplicates ?? 0;
}
