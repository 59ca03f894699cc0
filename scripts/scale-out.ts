/**
 * `npm run scale-out`: the docker-compose topology without Docker, on a real Temporal cluster (private
 * PostgreSQL, two server nodes behind one balancer: scripts/lib/cluster.ts), mesh-sandbox, the codec
 * server, the API, several worker processes on one task queue, and the GP practice peer. It submits a batch of documents, waits
 * until every one is DELIVERED, and shows how the work spread: activity executions per worker identity,
 * counted twice, from each worker's /metrics and from the workflow histories (ActivityTaskStarted
 * identity). Exits non-zero unless at least two workers did work.
 *
 *   npm run scale-out -- --workers 3 --documents 12
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { CourierHttpClient } from '../client/lib/http-client';
import { courierDataConverter } from '../payload-codec/aes-gcm-codec';
import { parseKeyRing } from '../config/env';
import { startCluster } from './lib/cluster';
import { REPO_ROOT, VENV_BIN, freePort, startMeshSandbox, startTemporal, type RunningService } from './lib/services';

export interface ScaleOutOptions {
  workers: number;
  documents: number;
  /** Use running services instead of starting them (the tests pass the jest global ones). */
  temporalAddress?: string;
  namespace?: string;
  meshUrl?: string;
  meshSharedKey?: string;
  /** How to run a role's entry point: defaults to the compiled dist/ with plain node. */
  command?: (role: 'worker' | 'api' | 'codec') => { cmd: string; args: string[] };
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface ScaleOutResult {
  delivered: number;
  /** identity -> activity executions, from the workers' Prometheus metrics. */
  byMetrics: Record<string, number>;
  /** identity -> ActivityTaskStarted events in the delivery histories. */
  byHistory: Record<string, number>;
}

const distCommand = (role: 'worker' | 'api' | 'codec') => ({
  cmd: process.execPath,
  args: [path.join(REPO_ROOT, 'dist', { worker: 'worker/main.js', api: 'client/api/api-main.js', codec: 'codec/main.js' }[role])],
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, procs: ChildProcess[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`${what}: a process exited with code ${dead.exitCode}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function runScaleOut(opts: ScaleOutOptions): Promise<ScaleOutResult> {
  const log = opts.log ?? ((l: string) => void process.stdout.write(`${l}\n`));
  const command = opts.command ?? distCommand;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'itk3-scale-out-'));
  const services: RunningService[] = [];
  const procs: ChildProcess[] = [];
  const stderr: string[] = [];
  const start = (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr?.on('data', (d: Buffer) => stderr.push(`[${name}] ${d.toString()}`));
    procs.push(p);
    return p;
  };
  try {
    let temporalAddress = opts.temporalAddress;
    let meshUrl = opts.meshUrl;
    const namespace = opts.namespace ?? 'courier';
    const sharedKey = opts.meshSharedKey ?? 'TestKey';
    if (!temporalAddress) {
      log('starting a Temporal dev server...');
      const t = await startTemporal({ port: await freePort(), namespace, retentionDays: 1, logFile: path.join(dir, 'temporal.log') });
      services.push(t);
      temporalAddress = t.url;
    }
    if (!meshUrl) {
      log('starting mesh-sandbox...');
      const m = await startMeshSandbox({ port: await freePort(), sharedKey, storeMode: 'memory', logFile: path.join(dir, 'mesh.log') });
      services.push(m);
      meshUrl = m.url;
    }
    const operatorToken = randomBytes(24).toString('base64url');
    const codecKeys = `scale1:${randomBytes(32).toString('base64')}`;
    const apiPort = await freePort();
    const common: NodeJS.ProcessEnv = {
      ITK3_MODE: 'local',
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      ITK3_TASK_QUEUE: `scale-out-${randomUUID()}`,
      MESH_URL: meshUrl,
      MESH_SHARED_KEY: sharedKey,
      MESH_MAILBOX_ID: 'X26ABC1',
      ITK3_RECIPIENT_MAILBOX: 'X26ABC2',
      MESH_POLL_INTERVAL: '500ms',
      STORE_DIR: path.join(dir, 'store'),
      STORE_KEYS: `scale1:${randomBytes(32).toString('base64')}`,
      ITK3_CODEC_KEYS: codecKeys,
      ITK3_API_TOKENS: `scale-operator:operator:${operatorToken}`,
      ITK3_API_PORT: String(apiPort),
      ITK3_CODEC_SERVER_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };

    const workers: Array<{ identity: string; metricsPort: number }> = [];
    for (let i = 1; i <= opts.workers; i++) {
      const identity = `scale-worker-${i}`;
      const metricsPort = await freePort();
      const c = command('worker');
      start(identity, c.cmd, c.args, { ...common, ITK3_WORKER_IDENTITY: identity, ITK3_WORKER_METRICS_PORT: String(metricsPort) });
      workers.push({ identity, metricsPort });
    }
    const api = command('api');
    start('api', api.cmd, api.args, common);
    const codec = command('codec');
    start('codec', codec.cmd, codec.args, common);
    const scenarios = path.join(dir, 'scenarios.json');
    writeFileSync(scenarios, '{}');
    start('gp-practice', path.join(VENV_BIN, 'python'), [path.join(REPO_ROOT, 'scripts', 'gp_practice_peer.py'), '--url', meshUrl, '--shared-key', sharedKey, '--scenarios', scenarios, '--record', path.join(dir, 'peer.jsonl'), '--interval', '0.3'], {});

    const connection = await Connection.connect({ address: temporalAddress });
    const temporal = new Client({ connection, namespace, dataConverter: courierDataConverter(parseKeyRing(codecKeys)) });
    try {
      log(`starting ${opts.workers} workers, the API and the codec server...`);
      await waitFor('every worker polling', async () => {
        const tq = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: common.ITK3_TASK_QUEUE! }, taskQueueType: 2 });
        return new Set((tq.pollers ?? []).map((p) => p.identity)).size >= opts.workers;
      }, 120_000, procs);
      await waitFor('API healthy', async () => (await fetch(`http://127.0.0.1:${apiPort}/health`)).ok, 60_000, procs);

      const api = new CourierHttpClient({ baseUrl: `http://127.0.0.1:${apiPort}`, token: operatorToken });
      const example = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', 'consultation-report.json'), 'utf8')) as Record<string, unknown> & { encounter: Record<string, unknown> };
      log(`submitting ${opts.documents} documents...`);
      const ids = await Promise.all(
        Array.from({ length: opts.documents }, async () => (await api.submit({ ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: `enc-scale-${randomUUID()}` } })).workflowId),
      );
      await waitFor(`${ids.length} deliveries DELIVERED`, async () => {
        const states = await Promise.all(ids.map((id) => api.status(id)));
        return states.every((s) => s.status === 'DELIVERED');
      }, opts.timeoutMs ?? 180_000, procs);

      const byMetrics: Record<string, number> = {};
      for (const w of workers) {
        const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
        byMetrics[w.identity] = text
          .split('\n')
          .filter((l) => l.startsWith('itk3_activity_executions_total{') && l.includes(`worker_identity="${w.identity}"`))
          .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
      }
      const byHistory: Record<string, number> = {};
      for (const id of ids) {
        const history = await temporal.workflow.getHandle(id).fetchHistory();
        for (const e of history.events ?? []) {
          const identity = e.activityTaskStartedEventAttributes?.identity;
          if (identity) byHistory[identity] = (byHistory[identity] ?? 0) + 1;
        }
      }
      const rows = workers.map((w) => `  ${w.identity.padEnd(16)} ${String(byMetrics[w.identity] ?? 0).padStart(8)} ${String(byHistory[w.identity] ?? 0).padStart(10)}`);
      log(['', `all ${ids.length} delivered; activity executions per worker:`, `  ${'worker'.padEnd(16)} ${'metrics'.padStart(8)} ${'histories'.padStart(10)}`, ...rows, ''].join('\n'));
      return { delivered: ids.length, byMetrics, byHistory };
    } finally {
      await connection.close();
    }
  } catch (err) {
    if (stderr.length) log(stderr.join('').slice(-4000));
    throw err;
  } finally {
    for (const p of procs.reverse()) {
      if (p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => (p.kill('SIGKILL'), r(null)), 10_000);
          p.once('exit', () => (clearTimeout(t), r(null)));
        });
      }
    }
    for (const s of services.reverse()) await s.stop();
  }
}

if (require.main === module) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'itk3-scale-out-cluster-'));
  const log = (l: string): void => void process.stdout.write(`${l}\n`);
  log(`starting PostgreSQL and two Temporal server nodes in ${dir}...`);
  startCluster({ dir, namespace: 'courier', retentionDays: 1, log: (l) => log(`  ${l}`) })
    .then(async (cluster) => {
      try {
        return await runScaleOut({ workers: arg('workers', 3), documents: arg('documents', 12), temporalAddress: cluster.address, namespace: cluster.namespace });
      } finally {
        await cluster.stop();
      }
    })
    .then((r) => {
      const busy = Object.values(r.byHistory).filter((n) => n > 0).length;
      if (busy < 2) {
        process.stderr.write(`work did not spread: only ${busy} worker(s) ran activities\n`);
        process.exit(1);
      }
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`scale-out failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
}
