/**
 * Start and stop the embedded services (Temporal dev server, mesh-sandbox) from the project-local
 * virtual environment. Shared by `npm run up`, the jest global setup and the benchmarks, so that every
 * way of running ITK3 Courier starts the real components the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import Long from 'long';
import { ALL_SEARCH_ATTRIBUTES, searchAttributeFlags } from '../../contracts/search-attributes';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []));
export const VENV_BIN = path.join(REPO_ROOT, '.venv', 'bin');

export interface RunningService {
  name: string;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Fails with a clear message when a port is already taken, before anything is spawned. */
export async function assertPortFree(port: number, host: string, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `Port ${port} on ${host} (${what}) is already in use. Stop whatever holds it or choose another port with the matching environment variable.`
            : `Cannot bind ${host}:${port} for ${what}: ${err.message}`,
        ),
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** A free TCP port on loopback (for tests and benchmarks, which must not clash with a running system). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function requireBinary(name: string): string {
  const bin = path.join(VENV_BIN, name);
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: run 'npm run setup' (scripts/setup.sh) to create the project's virtual environment.`);
  }
  return bin;
}

/** The last few KiB each launched child wrote (stdout and stderr together), to say why it stopped. */
const recentOutput = new WeakMap<ChildProcess, string>();
/** Settles once a launched child's output streams have closed (after its exit): all it wrote has been read. */
const outputClosed = new WeakMap<ChildProcess, Promise<void>>();
const RECENT_OUTPUT_BYTES = 8192;

function launch(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile?: string): ChildProcess {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer): void => void recentOutput.set(child, ((recentOutput.get(child) ?? '') + chunk.toString('utf8')).slice(-RECENT_OUTPUT_BYTES));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  outputClosed.set(child, new Promise((resolve) => child.once('close', () => resolve())));
  if (logFile) {
    mkdirSync(path.dirname(logFile), { recursive: true });
    const out = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  child.on('error', (err) => {
    process.stderr.write(`${name} failed to start: ${err.message}\n`);
  });
  return child;
}

/** Until what an exited child wrote has been read (its streams close after its exit), at most a second. */
async function outputRead(child: ChildProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([outputClosed.get(child), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
  clearTimeout(timer);
}

/** Sends `signal` and waits for the exit; SIGKILL after `graceMs`, so a stop never hangs on one process. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitFor(what: string, child: ChildProcess, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before becoming healthy`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become healthy within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface TemporalOptions {
  port: number;
  /** Web UI port; omit for a headless server. */
  uiPort?: number;
  /** SQLite file; omit for an in-memory store. */
  dbFile?: string;
  namespace: string;
  retentionDays: number;
  codecEndpoint?: string;
  logFile?: string;
  metricsPort?: number;
  /** The `temporal` CLI to run; by default the project's pinned one in .venv (tests give a wrapper). */
  binary?: string;
}

/** Starts of the dev server tried when one exits because a port it picked for itself was taken. */
const TEMPORAL_START_ATTEMPTS = 3;
const PORT_TAKEN = /bind: address already in use/;

export async function startTemporal(opts: TemporalOptions): Promise<RunningService> {
  const bin = opts.binary ?? requireBinary('temporal');
  await assertPortFree(opts.port, '127.0.0.1', 'Temporal gRPC');
  if (opts.uiPort) await assertPortFree(opts.uiPort, '127.0.0.1', 'Temporal Web UI');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--namespace', opts.namespace];
  if (opts.uiPort) {
    args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
    if (opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  } else {
    args.push('--headless');
  }
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=NORMAL');
  }
  if (opts.metricsPort) args.push('--metrics-port', String(opts.metricsPort));
  for (const flag of searchAttributeFlags()) args.push('--search-attribute', flag);
  args.push(
    '--dynamic-config-value', 'frontend.enableServerVersionCheck=false',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    '--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true',
    // start-dev turns this on so that an attribute added at any time is usable at once. It then re-reads the
    // cluster metadata and the namespace from SQLite on every read of search attributes: about 25 reads
    // per delivery, which start, upsert and visibility write all make. Ours are all registered here, before
    // anything runs (and waited for below), so the cached copy is always the right one.
    '--dynamic-config-value', 'system.forceSearchAttributesCacheRefreshOnRead=false',
    '--log-level', 'warn', '--log-format', 'json',
  );
  const address = `127.0.0.1:${opts.port}`;
  let child: ChildProcess;
  for (let attempt = 1; ; attempt++) {
    child = launch('temporal', bin, args, {}, opts.logFile);
    let connection: Connection | undefined;
    try {
      await waitFor('Temporal dev server', child, async () => {
        connection ??= await Connection.connect({ address, connectTimeout: 1000 });
        await connection.healthService.check({});
        return true;
      }, 60_000);
      await ensureNamespaceSetup(connection!, opts.namespace, opts.retentionDays);
      await waitUntilSearchAttributesUsable(connection!, opts.namespace, 60_000, address);
      break;
    } catch (err) {
      // Only an exit of its own says something about the start; a server stopped here for a timeout does not.
      const exited = child.exitCode !== null;
      await stopChild(child);
      await outputRead(child);
      const output = recentOutput.get(child) ?? '';
      // start-dev picks a free port for each of its internal services (history, matching, worker) with no
      // flag to fix them, and binds it a moment later; another process's outgoing connection can take it
      // in between, and the server exits. Another start picks other ports.
      if (exited && attempt < TEMPORAL_START_ATTEMPTS && PORT_TAKEN.test(output)) {
        process.stderr.write(`Temporal dev server: a port it picked for itself was taken before it bound it; starting it again (attempt ${attempt + 1} of ${TEMPORAL_START_ATTEMPTS})\n`);
        continue;
      }
      const reason = exited ? output.split('\n').find((line) => /"level":"(ERROR|FATAL)"|^panic:|^Error:/.test(line)) : undefined;
      throw reason && err instanceof Error ? new Error(`${err.message}: ${reason.trim().slice(0, 500)}`) : err;
    } finally {
      await connection?.close();
    }
  }
  return {
    name: 'temporal',
    url: address,
    process: child,
    stop: () => stopChild(child, 'SIGTERM', 15_000),
  };
}

/**
 * Until this frontend accepts every search attribute in a query. Listed is not yet usable: the frontend
 * validates a start's search attributes, and maps a query's, through its cached copy of the namespace and
 * of the attributes, which catches up a little later. One query naming every attribute fails until that
 * copy knows them all (one request per try, so no rate limit is tripped).
 */
export async function waitUntilSearchAttributesUsable(connection: Connection, namespace: string, timeoutMs: number, address: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const query = ALL_SEARCH_ATTRIBUTES.map((a) => `${a.name} IS NULL`).join(' OR ');
  for (;;) {
    const ready = await (async () => {
      await connection.workflowService.describeNamespace({ namespace });
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      if (!ALL_SEARCH_ATTRIBUTES.every((a) => a.name in (customAttributes ?? {}))) return false;
      await connection.workflowService.countWorkflowExecutions({ namespace, query });
      return true;
    })().catch(() => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`namespace ${namespace} not usable on ${address} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Retention (start-dev creates namespaces with 24 h) and search attributes: `--search-attribute` only
 * applies when the namespace is created, so on a persisted SQLite file new attributes are added here.
 */
export async function ensureNamespaceSetup(connection: Connection, namespace: string, retentionDays: number): Promise<void> {
  const seconds = retentionDays * 86_400;
  const described = await connection.workflowService.describeNamespace({ namespace });
  if (Number(described.config?.workflowExecutionRetentionTtl?.seconds ?? 0) < seconds) {
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(seconds) } },
    });
  }
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const typeEnum: Record<string, number> = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 };
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, typeEnum[k.type] ?? 2])),
    });
  }
}

export interface MeshSandboxOptions {
  port: number;
  sharedKey: string;
  /** memory for tests (resettable), file for a local system whose messages survive restarts. */
  storeMode: 'memory' | 'file';
  dataDir?: string;
  logFile?: string;
}

export async function startMeshSandbox(opts: MeshSandboxOptions): Promise<RunningService> {
  const bin = requireBinary('uvicorn');
  await assertPortFree(opts.port, '127.0.0.1', 'mesh-sandbox');
  const env: NodeJS.ProcessEnv = { STORE_MODE: opts.storeMode, AUTH_MODE: 'full', SHARED_KEY: opts.sharedKey, ENV: 'local' };
  if (opts.storeMode === 'file') {
    if (!opts.dataDir) throw new Error('mesh-sandbox file mode needs a data directory');
    mkdirSync(opts.dataDir, { recursive: true });
    env.MAILBOXES_DATA_DIR = opts.dataDir;
  }
  const args = ['mesh_sandbox.api:app', '--host', '127.0.0.1', '--port', String(opts.port), '--workers', '1', '--log-level', 'warning'];
  const child = launch('mesh-sandbox', bin, args, env, opts.logFile);
  const url = `http://127.0.0.1:${opts.port}`;
  try {
    await waitFor('mesh-sandbox', child, async () => (await fetch(`${url}/health`)).ok, 60_000);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { name: 'mesh-sandbox', url, process: child, stop: () => stopChild(child) };
}
