/**
 * `npm run up`: brings the whole system up on embedded defaults — Temporal dev server (SQLite under
 * .data/, headless), the Temporal Web UI from the pinned ui-server, mesh-sandbox (file store under .data/), the worker, the HTTP API and the GP practice
 * peer — waits until each is healthy, prints the URLs and stops everything cleanly on Ctrl-C.
 * A second run reuses the persisted state. Ports come from environment variables; ITK3_DATA_DIR moves
 * the state (default .data/), which lets the browser tests run the same system beside a developer's.
 */
import { type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { DELIVERY_TASK_QUEUE } from '../contracts/task-queues';
import { startUiServer } from './lib/cluster';
import { child, localAppSecrets, localSettings, tokenOf, waitUntil as waitUntilWithin } from './lib/local-run';
import { REPO_ROOT, VENV_BIN, assertPortFree, startMeshSandbox, startTemporal, stopChild, type RunningService } from './lib/services';

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const DATA = path.resolve(process.env.ITK3_DATA_DIR ?? path.join(REPO_ROOT, '.data'));

const waitUntil = (what: string, proc: ChildProcess, check: () => Promise<boolean>): Promise<void> => waitUntilWithin(what, proc, check, 60_000);

async function main(): Promise<void> {
  const { temporalPort, uiPort, meshPort, apiPort, codecPort, metricsPort, namespace, sharedKey } = localSettings();
  // Every port is checked before anything starts, so a clash is one clear line, not a half-started system.
  await assertPortFree(temporalPort, '127.0.0.1', 'Temporal gRPC (TEMPORAL_PORT)');
  await assertPortFree(uiPort, '127.0.0.1', 'Temporal Web UI (TEMPORAL_UI_PORT)');
  await assertPortFree(meshPort, '127.0.0.1', 'mesh-sandbox (MESH_PORT)');
  await assertPortFree(apiPort, '127.0.0.1', 'ITK3 Courier API (ITK3_API_PORT)');
  await assertPortFree(codecPort, '127.0.0.1', 'codec server (ITK3_CODEC_SERVER_PORT)');
  await assertPortFree(metricsPort, '127.0.0.1', 'worker metrics (ITK3_WORKER_METRICS_PORT)');
  const secrets = localAppSecrets(DATA);
  const apiTokens = secrets.ITK3_API_TOKENS;

  const services: RunningService[] = [];
  const procs: Array<{ name: string; proc: ChildProcess }> = [];
  let stopping = false;
  const stopAll = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping ITK3 Courier...\n');
    for (const { proc } of procs.reverse()) await stopChild(proc);
    for (const s of services.reverse()) await s.stop();
    process.stdout.write('stopped.\n');
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  try {
    process.stdout.write('starting Temporal dev server, Web UI and mesh-sandbox...\n');
    // Headless: the dev server's embedded UI cannot send the codec session cookie, so ui-server serves the UI.
    services.push(
      await startTemporal({
        port: temporalPort,
        namespace,
        retentionDays: 30,
        dbFile: path.join(DATA, 'temporal.sqlite'),
        logFile: path.join(DATA, 'logs', 'temporal.log'),
      }),
    );
    // The UI calls the codec server from the browser with credentials, so the session cookie set at
    // /login goes along: signed in means plaintext, not signed in means the codec refuses and the UI
    // shows the encoded payloads. Both on 127.0.0.1 keeps them the same site for the cookie.
    const ui = await startUiServer({
      port: uiPort,
      temporalAddress: `127.0.0.1:${temporalPort}`,
      namespace,
      codecEndpoint: `http://127.0.0.1:${codecPort}`,
      logFile: path.join(DATA, 'logs', 'ui-server.log'),
    });
    services.push({ name: 'ui-server', url: ui.url, process: ui.process, stop: ui.stop });
    services.push(
      await startMeshSandbox({ port: meshPort, sharedKey, storeMode: 'file', dataDir: path.join(DATA, 'mesh'), logFile: path.join(DATA, 'logs', 'mesh-sandbox.log') }),
    );
    const appEnv: NodeJS.ProcessEnv = {
      ITK3_MODE: 'local',
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_NAMESPACE: namespace,
      MESH_URL: `http://127.0.0.1:${meshPort}`,
      MESH_SHARED_KEY: sharedKey,
      ITK3_RECIPIENT_MAILBOX: env('ITK3_RECIPIENT_MAILBOX', 'X26ABC2'),
      ITK3_API_PORT: String(apiPort),
      STORE_DIR: env('STORE_DIR', path.join(DATA, 'store')),
      ...secrets,
      ITK3_CODEC_SERVER_PORT: String(codecPort),
      ITK3_CODEC_CORS_ORIGINS: `http://127.0.0.1:${uiPort},http://localhost:${uiPort}`,
      ITK3_WORKER_METRICS_PORT: String(metricsPort),
    };
    const dist = path.join(REPO_ROOT, 'dist');
    const codec = child('codec-server', process.execPath, [path.join(dist, 'codec', 'main.js')], appEnv);
    procs.push({ name: 'codec-server', proc: codec });
    await waitUntil('codec server', codec, async () => (await fetch(`http://127.0.0.1:${codecPort}/health`)).ok);
    const worker = child('worker', process.execPath, [path.join(dist, 'worker', 'main.js')], appEnv);
    procs.push({ name: 'worker', proc: worker });
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    await waitUntil('worker', worker, async () => {
      const tq = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: env('ITK3_TASK_QUEUE', DELIVERY_TASK_QUEUE) }, taskQueueType: 1 });
      return (tq.pollers ?? []).length > 0;
    });
    await connection.close();
    const api = child('api', process.execPath, [path.join(dist, 'client', 'api', 'api-main.js')], appEnv);
    procs.push({ name: 'api', proc: api });
    await waitUntil('API', api, async () => (await fetch(`http://127.0.0.1:${apiPort}/health`)).ok);
    const peer = child('gp-practice', path.join(VENV_BIN, 'python'), [path.join(REPO_ROOT, 'scripts', 'gp_practice_peer.py'), '--url', `http://127.0.0.1:${meshPort}`, '--shared-key', sharedKey, '--record', path.join(DATA, 'gp-practice-received.jsonl'), '--scenarios', path.join(DATA, 'gp-practice-scenarios.json')], {});
    procs.push({ name: 'gp-practice', proc: peer });

    for (const { name, proc } of procs) {
      proc.once('exit', (code) => {
        if (!stopping) {
          process.stderr.write(`${name} exited unexpectedly (code ${code}); stopping everything\n`);
          void stopAll(1);
        }
      });
    }
    process.stdout.write(
      [
        '',
        'ITK3 Courier is up.',
        `  API             http://127.0.0.1:${apiPort}   (itk3 submit examples/consultation-report.json)`,
        `  Temporal Web UI http://127.0.0.1:${uiPort}/namespaces/${namespace}/workflows`,
        `  Temporal gRPC   127.0.0.1:${temporalPort}`,
        `  mesh-sandbox    http://127.0.0.1:${meshPort}`,
        `  codec server    http://127.0.0.1:${codecPort}`,
        `  sign in         open http://127.0.0.1:${codecPort}/login in the same browser, paste the operator token below, then`,
        '                  use the Web UI on 127.0.0.1 (not localhost): payloads show decoded; signed out they stay encrypted',
        `  metrics         http://127.0.0.1:${metricsPort}/metrics (worker)   http://127.0.0.1:${apiPort}/metrics (fleet)`,
        `  operator token  export ITK3_API_TOKEN=${tokenOf(apiTokens, 'operator')}   (kept in ${path.join(DATA, 'local-api-tokens')})`,
        `  GP practice     X26ABC2 (answers 20013 then 30001; per encounter id in ${path.join(DATA, 'gp-practice-scenarios.json')})`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    process.stderr.write(`up failed: ${(err as Error).message}\n`);
    await stopAll(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`up: ${(err as Error).message}\n`);
  process.exit(1);
});
