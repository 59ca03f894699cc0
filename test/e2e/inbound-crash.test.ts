/**
 * Crash proof: the worker dies (SIGKILL) between handing an ITK3 response to its delivery workflow and
 * acknowledging it on MESH. MESH keeps the message, the next worker routes it again, the delivery
 * records it once, and only then is it acknowledged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { REPO_ROOT } from '../../scripts/lib/services';
import { eventually, startInboundHarness, type InboundHarness } from '../helpers/inbound-harness';

jest.setTimeout(240_000);

let h: InboundHarness;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // No worker in this process: child processes are the workers. The API and the peer run here.
  h = await startInboundHarness({ worker: false, pollers: false, env: { ITK3_INF_ACK_TIMEOUT: '60s', ITK3_BUS_ACK_TIMEOUT: '120s' } });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await h?.stop();
});

function workerProcess(extraEnv: Record<string, string>): { child: ChildProcess; exited: Promise<NodeJS.Signals | number | null>; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['-r', path.join(REPO_ROOT, 'test/integration/api/swc-register.js'), path.join(REPO_ROOT, 'test/helpers/inbound-worker-process.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...h.envVars, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  children.push(child);
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return { child, exited, output: () => output };
}

it('a worker killed between the signal and the MESH acknowledgement: the message is redelivered, routed again and counted once', async () => {
  const crashFile = path.join(h.dir, `crash-${randomUUID()}.txt`);
  const first = workerProcess({ ITK3_TEST_CRASH_BEFORE_ACK: crashFile });
  // A pass on a dead worker is retried after the heartbeat timeout, so keep it short here.
  await h.startPollers({ activityHeartbeatTimeoutMs: 3_000 });

  const ref = `enc-crash-${randomUUID().slice(0, 8)}`;
  const { workflowId } = await h.submit(ref, ['20013']);

  let timer: NodeJS.Timeout | undefined;
  const how = await Promise.race([first.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), 120_000)))]);
  clearTimeout(timer);
  expect({ how, output: how === 'SIGKILL' ? '' : first.output() }).toEqual({ how: 'SIGKILL', output: '' });
  expect(existsSync(crashFile)).toBe(true);
  const meshMessageId = readFileSync(crashFile, 'utf8');

  // Between the crash and the next worker: the signal is in history, the MESH message is still in the inbox.
  const before = (await h.responsesSignalled(workflowId)).filter((r) => r.meshMessageId === meshMessageId);
  expect(before).toHaveLength(1);
  expect(before[0]?.code).toBe('20013');
  expect(await h.inbox('X26ABC1')).toContain(meshMessageId);

  const second = workerProcess({});
  // The retried pass routes the redelivered message again, and this time acknowledges it.
  await eventually(async () => ((await h.inbox('X26ABC1')).includes(meshMessageId) ? undefined : true), 120_000, 'the MESH acknowledgement by the second worker');
  // The second signal may sit buffered (durably) in the workflow's mutable state until the workflow task the
  // dead worker had started times out; then it is written to history.
  const after = await eventually(async () => {
    const rs = (await h.responsesSignalled(workflowId)).filter((r) => r.meshMessageId === meshMessageId);
    return rs.length >= 2 ? rs : undefined;
  }, 60_000, 'the second signal in history');
  expect(after).toHaveLength(2);
  expect(after[1]?.responseId).toBe(after[0]?.responseId);

  // Counted once: one RESPONSE entry, one infrastructure ack, the delivery moved on once.
  const state = await eventually(async () => {
    const s = await h.state(workflowId);
    return s.attempts[0]?.infrastructureAck ? s : undefined;
  }, 60_000, 'the delivery state');
  expect(state.timeline.filter((t) => t.kind === 'RESPONSE')).toHaveLength(1);
  expect(state.attempts[0]?.infrastructureAck?.responseId).toBe(after[0]?.responseId);
  expect(state.status).toBe('AWAITING_BUSINESS_ACK');

  second.child.kill('SIGTERM');
  await second.exited;
});
