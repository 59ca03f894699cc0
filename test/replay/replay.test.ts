/**
 * Replay guard: every history recorded from real runs (test/replay/histories, see
 * record-histories.test.ts) must replay against the current workflow code without a determinism error.
 * A change that fails here would break deliveries already in flight: make it with `patched()` instead,
 * or drain the old runs first. The last test proves the guard works: a deliberately changed workflow
 * (changed-workflow.ts) must fail replay of the same histories.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundle, installQuietRuntime, WORKFLOWS_PATH } from '../workflows/support';
import { historyFromJSON } from './history-json';

jest.setTimeout(120_000);

const DIR = path.join(__dirname, 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const load = (file: string) => ({ workflowId: file.replace(/\.json$/, ''), history: historyFromJSON(readFileSync(path.join(DIR, file), 'utf8')) });

let current: WorkflowBundleWithSourceMap;
let changed: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  installQuietRuntime();
  [current, changed] = await Promise.all([bundle(WORKFLOWS_PATH), bundle(path.join(__dirname, 'changed-workflow.ts'))]);
});

describe('replay of recorded delivery histories', () => {
  it('has the recorded main paths', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'delivered.json',
        'delivered-one-activity.json',
        'late-ack-after-escalation.json',
        'correction-then-delivered.json',
        'business-rejection-override-resend.json',
        'mesh-non-delivery-abandoned.json',
        'replacement-voided-original.json',
        'replacement-voided-replacement.json',
        'continued-as-new-first-run.json',
        'continued-as-new-last-run.json',
        'no-ack-mesh-tracking-undeliverable.json',
        'no-ack-mesh-tracking-accepted.json',
        'operator-actor-token.json',
      ]),
    );
  });

  it.each(files)('replays %s against the current workflow code', async (file) => {
    const { workflowId, history } = load(file);
    await Worker.runReplayHistory({ workflowBundle: current, replayName: 'current' }, history, workflowId);
  });

  it('replays a two-activity history whose input asks for one activity, as a worker without the one-activity path makes it', async () => {
    // An older worker ignores `sendInOneActivity` and builds and sends in two activities; that history has
    // no patch marker, so the current code must take the two activities again when it replays it.
    const { workflowId, history } = load('delivered.json');
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const input = JSON.parse(Buffer.from(started.data!).toString('utf8')) as Record<string, unknown>;
    expect(input.sendInOneActivity).toBeUndefined();
    started.data = Buffer.from(JSON.stringify({ ...input, sendInOneActivity: true }));
    const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name] : []));
    expect(scheduled.slice(0, 2)).toEqual(['buildItk3Message', 'sendMeshMessage']);
    await Worker.runReplayHistory({ workflowBundle: current, replayName: 'flagged-by-an-older-worker' }, history, workflowId);
  });

  it('fails with a determinism error against a deliberately changed workflow', async () => {
    const results: { workflowId: string; error?: string }[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: changed, replayName: 'changed' }, files.map(load))) {
      results.push({ workflowId: r.workflowId, ...(r.error ? { error: r.error.name } : {}) });
    }
    expect(results).toHaveLength(files.length);
    for (const r of results) expect(r).toEqual({ workflowId: r.workflowId, error: 'DeterminismViolationError' });
  });
});
