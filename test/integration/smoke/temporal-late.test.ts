/**
 * The API and a worker started before Temporal (as compose or a supervisor may start them): each waits,
 * saying what it waits for, and serves once Temporal answers, instead of exiting on the first refused
 * connection. Past ITK3_TEMPORAL_CONNECT_WAIT the API exits with an error that names the address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import path from 'node:path';
import { freePort, startTemporal, stopChild, type RunningService } from '../../../scripts/lib/services';
import { localCourierSetup } from '../../helpers/services';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '../../..');
const register = path.join(ROOT, 'test/integration/api/swc-register.js');

interface Proc {
  proc: ChildProcess;
  output(): string;
}

function run(entry: string, env: Record<string, string>): Proc {
  let out = '';
  const proc = spawn(process.execPath, ['-r', register, path.join(ROOT, entry)], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, output: () => out };
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms: number, p?: Proc): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (p && p.proc.exitCode !== null) throw new Error(`${what}: the process exited with ${p.proc.exitCode}:\n${p.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${p ? `:\n${p.output().slice(-2000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const waiting = (p: Proc): boolean => p.output().includes('Temporal not reachable yet');

describe('started before Temporal', () => {
  const started: ChildProcess[] = [];
  let temporal: RunningService | undefined;
  afterAll(async () => {
    for (const p of started) await stopChild(p, 'SIGTERM', 10_000);
    await temporal?.stop();
  });

  it('the API and a worker wait for Temporal, then the API serves and the worker polls its task queue', async () => {
    const setup = localCourierSetup('temporal-late');
    const temporalPort = await freePort();
    const apiPort = await freePort();
    const env = { ...setup.env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, TEMPORAL_NAMESPACE: 'courier-late', ITK3_API_PORT: String(apiPort), ITK3_WORKER_IDENTITY: 'late-worker', LOG_LEVEL: 'warn' };
    const api = run('client/api/api-main.ts', env);
    const worker = run('worker/main.ts', env);
    started.push(api.proc, worker.proc);

    await until('the API says it waits for Temporal', () => waiting(api), 60_000, api);
    await until('the worker says it waits for Temporal', () => waiting(worker), 60_000, worker);
    expect(api.output()).toContain(`127.0.0.1:${temporalPort}`);
    // Nothing answers yet: the API has not opened its port.
    expect(await fetch(`http://127.0.0.1:${apiPort}/health`).then(() => true, () => false)).toBe(false);

    temporal = await startTemporal({ port: temporalPort, namespace: 'courier-late', retentionDays: 1, logFile: path.join(setup.dir, 'temporal.log') });
    await until('the API answers /health', () => fetch(`http://127.0.0.1:${apiPort}/health`).then((r) => r.ok, () => false), 60_000, api);
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    try {
      await until(
        'the worker polls its task queue',
        async () => {
          const tq = await connection.workflowService.describeTaskQueue({ namespace: 'courier-late', taskQueue: { name: setup.env.ITK3_TASK_QUEUE }, taskQueueType: 1 }).catch(() => undefined);
          return (tq?.pollers ?? []).some((p) => p.identity === 'late-worker');
        },
        60_000,
        worker,
      );
    } finally {
      await connection.close();
    }
    expect(api.proc.exitCode).toBeNull();
    expect(worker.proc.exitCode).toBeNull();
  });

  it('past ITK3_TEMPORAL_CONNECT_WAIT the API exits non-zero, naming the address and the wait', async () => {
    const setup = localCourierSetup('temporal-never');
    const address = `127.0.0.1:${await freePort()}`;
    const api = run('client/api/api-main.ts', { ...setup.env, TEMPORAL_ADDRESS: address, ITK3_API_PORT: String(await freePort()), ITK3_TEMPORAL_CONNECT_WAIT: '8s', LOG_LEVEL: 'warn' });
    started.push(api.proc);
    const code = await new Promise<number | null>((r) => api.proc.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(api.output()).toContain(`Temporal at ${address} did not answer within 8 s (ITK3_TEMPORAL_CONNECT_WAIT)`);
    expect(api.output()).toContain('Temporal not reachable yet');
  });
});
