/**
 * `npm run cluster`: ITK3 Courier on a real Temporal cluster, on this machine, without Docker. A private
 * PostgreSQL cluster, two Temporal server nodes on it behind one TCP balancer, the Temporal Web UI
 * (ui-server, decoding through our codec server), mesh-sandbox, the codec server, three workers, the
 * HTTP API and the GP practice peer. Waits until each is healthy, prints the URLs and stops everything it
 * started on Ctrl-C. State lives in .data/cluster/ (ITK3_CLUSTER_DIR), so a second run reuses the database.
 * Ports come from the same environment variables as `npm run up`; scripts/cluster/setup.sh (run by
 * `npm run cluster`) installs and builds every piece first, so nothing is downloaded here.
 */
import { type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { DELIVERY_TASK_QUEUE } from '../contracts/task-queues';
import { startCluster, startUiServer, type TemporalCluster, type UiServer } from './lib/cluster';
import { child, localAppSecrets, localSettings, tokenOf, waitUntil as waitUntilWithin } from './lib/local-run';
import { REPO_ROOT, VENV_BIN, assertPortFree, startMeshSandbox, stopChild, type RunningService } from './lib/services';

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
// The local secrets live where `npm run up` keeps them (ITK3_DATA_DIR, default .data/), so both commands
// share one set; ITK3_CLUSTER_DIR moves the cluster's state (the tests use temporary directories).
const DATA = path.resolve(process.env.ITK3_DATA_DIR ?? path.join(REPO_ROOT, '.data'));
const STATE = process.env.ITK3_CLUSTER_DIR ?? path.join(DATA, 'cluster');
export const CLUSTER_WORKERS = 3;

// Two server nodes on PostgreSQL and three workers get twice the wait `npm run up` allows its dev server.
const waitUntil = (what: string, proc: ChildProcess, check: () => Promise<boolean>): Promise<void> => waitUntilWithin(what, proc, check, 120_000);

async function main(): Promise<void> {
  const { temporalPort, uiPort, meshPort, apiPort, codecPort, metricsPort, namespace, sharedKey } = localSettings();
  const pgPort = Number(env('ITK3_POSTGRES_PORT', '55432'));
  const checks: Array<[number, string]> = [
    [temporalPort, 'Temporal frontend balancer (TEMPORAL_PORT)'],
    [uiPort, 'Temporal Web UI (TEMPORAL_UI_PORT)'],
    [meshPort, 'mesh-sandbox (MESH_PORT)'],
    [apiPort, 'ITK3 Courier API (ITK3_API_PORT)'],
    [codecPort, 'codec server (ITK3_CODEC_SERVER_PORT)'],
    [pgPort, 'PostgreSQL (ITK3_POSTGRES_PORT)'],
    ...Array.from({ length: CLUSTER_WORKERS }, (_, i): [number, string] => [metricsPort + i, `worker ${i + 1} metrics (ITK3_WORKER_METRICS_PORT + ${i})`]),
  ];
  // Every port is checked before anything starts, so a clash is one clear line, not a half-started system.
  for (const [port, what] of checks) {
    const same = checks.find(([p, w]) => p === port && w !== what);
    if (same) throw new Error(`${what} and ${same[1]} are both port ${port}: choose different ports.`);
    await assertPortFree(port, '127.0.0.1', what);
  }
  const secrets = localAppSecrets(DATA);
  const apiTokens = secrets.ITK3_API_TOKENS;

  let cluster: TemporalCluster | undefined;
  let ui: UiServer | undefined;
  let mesh: RunningService | undefined;
  const procs: Array<{ name: string; proc: ChildProcess }> = [];
  let stopping = false;
  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the ITK3 Courier cluster...\n');
    for (const { proc } of [...procs].reverse()) await stopChild(proc);
    await ui?.stop();
    await mesh?.stop();
    await cluster?.stop();
    process.stdout.write('stopped.\n');
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  /** From the moment it is spawned, a process that exits by itself stops everything (also during start-up). */
  const started = (name: string, proc: ChildProcess): ChildProcess => {
    procs.push({ name, proc });
    proc.once('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`${name} exited unexpectedly (code ${code}); stopping everything\n`);
        void stopAll(1);
      }
    });
    return proc;
  };

  try {
    const say = (l: string): void => void process.stdout.write(`${l}\n`);
    say('starting PostgreSQL and two Temporal server nodes...');
    cluster = await startCluster({ dir: STATE, namespace, retentionDays: 30, postgresPort: pgPort, frontendPort: temporalPort, log: (l) => say(`  ${l}`) });
    mesh = await startMeshSandbox({ port: meshPort, sharedKey, storeMode: 'file', dataDir: path.join(STATE, 'mesh'), logFile: path.join(STATE, 'logs', 'mesh-sandbox.log') });
    const appEnv: NodeJS.ProcessEnv = {
      ITK3_MODE: 'local',
      TEMPORAL_ADDRESS: cluster.address,
      TEMPORAL_NAMESPACE: namespace,
      MESH_URL: `http://127.0.0.1:${meshPort}`,
      MESH_SHARED_KEY: sharedKey,
      ITK3_RECIPIENT_MAILBOX: env('ITK3_RECIPIENT_MAILBOX', 'X26ABC2'),
      ITK3_API_PORT: String(apiPort),
      STORE_DIR: env('STORE_DIR', path.join(STATE, 'store')),
      ...secrets,
      ITK3_CODEC_SERVER_PORT: String(codecPort),
      ITK3_CODEC_CORS_ORIGINS: `http://127.0.0.1:${uiPort},http://localhost:${uiPort}`,
    };
    const dist = path.join(REPO_ROOT, 'dist');
    const codec = started('codec-server', child('codec-server', process.execPath, [path.join(dist, 'codec', 'main.js')], appEnv));
    await waitUntil('codec server', codec, async () => (await fetch(`http://127.0.0.1:${codecPort}/health`)).ok);
    ui = await startUiServer({ port: uiPort, temporalAddress: cluster.address, namespace, codecEndpoint: `http://127.0.0.1:${codecPort}`, logFile: path.join(STATE, 'logs', 'ui-server.log') });
    const identities: string[] = [];
    for (let i = 0; i < CLUSTER_WORKERS; i++) {
      const identity = `cluster-worker-${i + 1}`;
      identities.push(identity);
      started(identity, child(identity, process.execPath, [path.join(dist, 'worker', 'main.js')], { ...appEnv, ITK3_WORKER_IDENTITY: identity, ITK3_WORKER_METRICS_PORT: String(metricsPort + i) }));
    }
    const connection = await Connection.connect({ address: cluster.address });
    await waitUntil('every worker polling', procs[procs.length - 1]!.proc, async () => {
      const tq = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: env('ITK3_TASK_QUEUE', DELIVERY_TASK_QUEUE) }, taskQueueType: 1 });
      const polling = new Set((tq.pollers ?? []).map((p) => p.identity));
      return identities.every((id) => polling.has(id));
    });
    await connection.close();
    const api = started('api', child('api', process.execPath, [path.join(dist, 'client', 'api', 'api-main.js')], appEnv));
    await waitUntil('API', api, async () => (await fetch(`http://127.0.0.1:${apiPort}/health`)).ok);
    started('gp-practice', child('gp-practice', path.join(VENV_BIN, 'python'), [path.join(REPO_ROOT, 'scripts', 'gp_practice_peer.py'), '--url', `http://127.0.0.1:${meshPort}`, '--shared-key', sharedKey, '--record', path.join(STATE, 'gp-practice-received.jsonl')], {}));
    for (const n of cluster.nodes) {
      n.process()?.once('exit', (code, signal) => {
        if (!stopping) process.stderr.write(`Temporal node ${n.index} exited (${code ?? signal}); the other node takes over its shards (log: ${n.logFile})\n`);
      });
    }
    process.stdout.write(
      [
        '',
        'ITK3 Courier is up on a Temporal cluster (PostgreSQL, two server nodes).',
        `  API             http://127.0.0.1:${apiPort}   (itk3 submit examples/consultation-report.json)`,
        `  Temporal Web UI ${ui.url}/namespaces/${namespace}/workflows`,
        `  Temporal gRPC   ${cluster.address}   (balancer over ${cluster.nodes.map((n) => n.frontend).join(', ')})`,
        `  PostgreSQL      127.0.0.1:${cluster.postgres.port}   (private cluster in ${path.join(STATE, 'postgresql')})`,
        `  mesh-sandbox    http://127.0.0.1:${meshPort}`,
        `  codec server    http://127.0.0.1:${codecPort}/login   (sign in with the operator token to see decoded payloads in the UI)`,
        `  metrics         ${identities.map((_, i) => `http://127.0.0.1:${metricsPort + i}/metrics`).join('  ')} (workers)   http://127.0.0.1:${apiPort}/metrics (fleet)`,
        `  server metrics  ${cluster.nodes.map((n) => `http://127.0.0.1:${n.metricsPort}/metrics`).join('  ')}`,
        `  operator token  export ITK3_API_TOKEN=${tokenOf(apiTokens, 'operator')}   (kept in ${path.join(DATA, 'local-api-tokens')})`,
        '  GP practice     X26ABC2 (answers 20013 then 30001)',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    process.stderr.write(`cluster failed: ${(err as Error).message}\n`);
    await stopAll(1);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`cluster: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
