/**
 * Worker start-up: how long a fresh worker process takes from `node` starting to a Worker
 * ready to poll, with the workflow bundle made at build time (`workflowBundle`, what worker/main.ts
 * uses after `npm run build`) and with the workflows bundled at start-up (`workflowsPath`, as before).
 * Each try is a new child process (no warm module cache), alternating the two, against the bench's
 * Temporal dev server. Usage: npm run bench -- startup (BENCH_STARTUP_TRIES, default 3).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH, WORKFLOWS_PATH, workflowSource } from '../worker/workflow-bundle';
import type { Services } from './lib/courier-system';

type Mode = 'prebuilt' | 'bundle-at-start';

async function child(mode: Mode, address: string, namespace: string): Promise<void> {
  const connection = await NativeConnection.connect({ address });
  const source = mode === 'prebuilt' ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } } : { workflowsPath: WORKFLOWS_PATH };
  const worker = await Worker.create({ connection, namespace, taskQueue: `startup-${process.pid}`, ...source });
  const readyS = process.uptime();
  process.stdout.write(`${JSON.stringify({ mode, readyS })}\n`);
  await worker.runUntil(Promise.resolve());
  await connection.close();
}

function once(mode: Mode, s: Services): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [__filename, mode, s.temporalAddress, s.namespace], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) reject(new Error(`startup child (${mode}) failed with ${code}: ${err.slice(-500)}`));
      else resolve((JSON.parse(line) as { readyS: number }).readyS);
    });
  });
}

export async function runWorkerStartBench(s: Services): Promise<object> {
  if (!workflowSource().prebuilt) throw new Error('dist/workflow-bundle.js is missing or stale: run npm run build first');
  const tries = process.env.BENCH_STARTUP_TRIES ? Number(process.env.BENCH_STARTUP_TRIES) : 3;
  const seconds: Record<Mode, number[]> = { prebuilt: [], 'bundle-at-start': [] };
  for (let i = 0; i < tries; i++) {
    for (const mode of ['prebuilt', 'bundle-at-start'] as const) seconds[mode].push(Math.round((await once(mode, s)) * 100) / 100);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return {
    command: `BENCH_STARTUP_TRIES=${tries} npm run bench -- startup`,
    machineLoadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    secondsFromProcessStartToWorkerReady: seconds,
    median: { prebuilt: median(seconds.prebuilt), bundleAtStart: median(seconds['bundle-at-start']) },
  };
}

if (require.main === module) {
  const [mode, address, namespace] = process.argv.slice(2) as [Mode, string, string];
  child(mode, address, namespace).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
