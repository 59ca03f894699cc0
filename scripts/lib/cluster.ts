/**
 * A real Temporal cluster on this machine, from the binaries scripts/cluster/build.sh made: a private
 * PostgreSQL cluster (Debian's postgresql package; its own data directory, port and socket directory),
 * Temporal's two PostgreSQL stores set up by temporal-sql-tool, two Temporal server nodes sharing shards
 * through the database membership ring, a TCP balancer in front of their frontends (the load balancer a
 * production cluster has), the ITK3 namespace and search attributes, and optionally the Web UI server.
 * Shared by `npm run cluster`, the cluster test suite and the cluster benchmark.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { setUpNamespace, waitForNamespaceEverywhere } from '../temporal-setup';
import { REPO_ROOT, assertPortFree, freePort, stopChild } from './services';
import { startTcpBalancer, type TcpBalancer } from './tcp-balancer';

/** Where build.sh put the binaries and the schema (ITK3_TOOLS_DIR, default <repo>/.cache/tools). */
export function toolsDir(): string {
  return process.env.ITK3_TOOLS_DIR ?? path.join(REPO_ROOT, '.cache', 'tools');
}

/** The versions build.sh pins, read back from it so there is one place to change them. */
export function pinnedVersions(): { temporalServer: string; uiServer: string } {
  const text = readFileSync(path.join(REPO_ROOT, 'scripts', 'cluster', 'build.sh'), 'utf8');
  const get = (name: string): string => {
    const m = new RegExp(`^${name}=(v[\\d.]+)$`, 'm').exec(text);
    if (!m) throw new Error(`scripts/cluster/build.sh does not pin ${name}`);
    return m[1]!;
  };
  return { temporalServer: get('TEMPORAL_SERVER_VERSION'), uiServer: get('UI_SERVER_VERSION') };
}

export const CONFIG_DIR = path.join(REPO_ROOT, 'config', 'temporal');

function tool(name: 'temporal-server' | 'temporal-sql-tool' | 'ui-server'): string {
  const bin = path.join(toolsDir(), 'bin', name);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run 'bash scripts/cluster/build.sh' (npm run cluster does) to build the pinned Temporal binaries.`);
  return bin;
}

function schemaDir(): string {
  const dir = path.join(toolsDir(), 'schema', pinnedVersions().temporalServer, 'postgresql', 'v12');
  if (!existsSync(dir)) throw new Error(`${dir} is missing: run 'bash scripts/cluster/build.sh'.`);
  return dir;
}

/** Debian installs each major version under /usr/lib/postgresql/<major>/bin; the newest wins. */
export function postgresBin(): string {
  const major = pinnedPostgresMajor();
  const bin = path.join('/usr/lib/postgresql', major, 'bin');
  if (!existsSync(path.join(bin, 'initdb'))) throw new Error(`PostgreSQL ${major} is not installed: run 'bash scripts/cluster/setup.sh' (apt-get install postgresql-${major}).`);
  return bin;
}

/** The PostgreSQL major version scripts/cluster/setup.sh installs (POSTGRES_MAJOR). */
export function pinnedPostgresMajor(): string {
  const m = /^POSTGRES_MAJOR=(\d+)$/m.exec(readFileSync(path.join(REPO_ROOT, 'scripts', 'cluster', 'setup.sh'), 'utf8'));
  if (!m) throw new Error('scripts/cluster/setup.sh does not pin POSTGRES_MAJOR');
  return m[1]!;
}

/** initdb and postgres refuse to run as root: as root they run as the `postgres` system user. */
function pgUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs the postgres system user (created by the postgresql package)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function logTo(proc: ChildProcess, file: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const out = createWriteStream(file, { flags: 'a' });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
}

// Server processes flush state on the way down, so they get longer than stopChild's default before SIGKILL.
const stopProc = (proc: ChildProcess | undefined, signal: NodeJS.Signals, graceMs = 20_000): Promise<void> => stopChild(proc, signal, graceMs);

async function waitFor(what: string, proc: ChildProcess | undefined, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}) before it was ready${logFile ? ` (see ${logFile})` : ''}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs / 1000} s${logFile ? ` (see ${logFile})` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL

export interface PostgresOptions {
  /** Holds data/, the socket directory and the log; kept between runs (a second run reuses the data). */
  dir: string;
  port: number;
  /** Two nodes hold about 45 connections each; Debian's default of 100 runs out at three. */
  maxConnections?: number;
}

export interface Postgres {
  port: number;
  user: string;
  password: string;
  process(): ChildProcess | undefined;
  /** Runs one SQL statement as the superuser over the private socket; returns psql's unaligned output rows. */
  query(sql: string, database?: string): string[];
  /** Fast shutdown (SIGINT: rolls back open transactions, closes connections) then start on the same data. */
  restart(opts?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function startPostgres(opts: PostgresOptions): Promise<Postgres> {
  const bin = postgresBin();
  const owner = pgUser();
  const data = path.join(opts.dir, 'data');
  const sockets = path.join(opts.dir, 'sockets');
  const logFile = path.join(opts.dir, 'postgresql.log');
  const passwordFile = path.join(opts.dir, 'temporal-password');
  mkdirSync(opts.dir, { recursive: true });
  // The postgres user must reach its directories: the run directory may be a private temporary one.
  if (owner) chmodSync(opts.dir, 0o755);
  mkdirSync(sockets, { recursive: true });
  if (owner) chownSync(sockets, owner.uid, owner.gid);
  // Only the owner may use the socket: local connections are trusted, so the directory is the lock.
  chmodSync(sockets, 0o700);
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { ...(owner ?? {}), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed: ${r.stderr || r.stdout || r.error?.message}`);
  };
  if (!existsSync(path.join(data, 'PG_VERSION'))) {
    mkdirSync(data, { recursive: true });
    if (owner) chownSync(data, owner.uid, owner.gid);
    // Local (socket) connections are trusted, TCP needs a password (scram): Temporal connects over TCP.
    run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--encoding=UTF8', '--locale=C']);
  }
  const args = [
    '-D', data, '-p', String(opts.port), '-k', sockets,
    '-c', 'listen_addresses=127.0.0.1',
    '-c', `max_connections=${opts.maxConnections ?? 250}`,
    '-c', 'logging_collector=off',
  ];
  let proc: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawn(path.join(bin, 'postgres'), args, { ...(owner ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
    logTo(proc, logFile);
    await waitFor('PostgreSQL', proc, async () => spawnSync(path.join(bin, 'pg_isready'), ['-h', sockets, '-p', String(opts.port), '-U', 'postgres'], owner ?? {}).status === 0, 60_000, logFile);
  };
  await start();
  // The role Temporal uses (idempotent: CREATE ROLE fails harmlessly when it exists, ALTER sets the password).
  const psql = (sql: string): void => run(path.join(bin, 'psql'), ['-h', sockets, '-p', String(opts.port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=0', '-qc', sql]);
  psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal') THEN CREATE ROLE temporal LOGIN CREATEDB; END IF; END $$;");
  psql(`ALTER ROLE temporal WITH LOGIN CREATEDB PASSWORD '${password}'`);
  return {
    port: opts.port,
    user: 'temporal',
    password,
    process: () => proc,
    query(sql, database = 'postgres') {
      const r = spawnSync(path.join(bin, 'psql'), ['-h', sockets, '-p', String(opts.port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-AtXqc', sql], { ...(owner ?? {}), encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
      return r.stdout.split('\n').filter(Boolean);
    },
    async restart(o = {}) {
      await stopProc(proc, 'SIGINT');
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await start();
    },
    stop: () => stopProc(proc, 'SIGINT'),
  };
}

/** temporal-sql-tool through scripts/cluster/schema.sh (the same script docker-compose.yml runs). */
export function setUpSchema(pg: Postgres): void {
  const r = spawnSync('sh', [path.join(REPO_ROOT, 'scripts', 'cluster', 'schema.sh')], {
    env: { ...process.env, SQL_TOOL: tool('temporal-sql-tool'), SCHEMA_DIR: schemaDir(), POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(pg.port), POSTGRES_USER: pg.user, POSTGRES_PWD: pg.password },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`schema set-up failed: ${r.stderr || r.stdout}`);
}

// ---------------------------------------------------------------------------------------------------
// Temporal server nodes

export interface TemporalNode {
  index: number;
  /** host:port of this node's frontend. */
  frontend: string;
  httpPort: number;
  metricsPort: number;
  /** Go pprof port on localhost, when ITK3_TEMPORAL_PPROF=1 asked for one (benchmark profiles). */
  pprofPort?: number;
  logFile: string;
  process(): ChildProcess | undefined;
  start(): Promise<void>;
  /** SIGKILL: no graceful hand-over of shards, as when a machine dies. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A free port below 32768: Temporal records each node's membership and RPC ports in PostgreSQL as
 * smallint, so the kernel's ephemeral ports (32768 and up, what port 0 gives) are refused.
 */
const taken = new Set<number>();
async function freeSmallPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    try {
      await assertPortFree(port, '127.0.0.1', 'Temporal node');
      taken.add(port);
      return port;
    } catch {
      // in use: try another
    }
  }
  throw new Error('no free port between 20000 and 32000 for a Temporal node');
}

/**
 * The environment config/temporal/server.yaml reads for one node of the local cluster (docker-compose.yml
 * sets the same names; the compose test checks both against the template).
 */
export function nodeEnv(ports: { frontend: number; http: number; metrics: number; rest: Record<string, string> }, pg: Pick<Postgres, 'port' | 'user' | 'password'>): Record<string, string> {
  return {
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    FRONTEND_GRPC_PORT: String(ports.frontend),
    FRONTEND_HTTP_PORT: String(ports.http),
    PROMETHEUS_PORT: String(ports.metrics),
    ...ports.rest,
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(pg.port),
    POSTGRES_USER: pg.user,
    POSTGRES_PWD: pg.password,
    NUM_HISTORY_SHARDS: '4',
    DYNAMIC_CONFIG_FILE_PATH: path.join(CONFIG_DIR, 'dynamic-config.yaml'),
    LOG_LEVEL: process.env.ITK3_TEMPORAL_LOG_LEVEL ?? 'warn',
  };
}

async function createNode(index: number, dir: string, pg: Postgres): Promise<TemporalNode> {
  const ports = { frontend: await freeSmallPort(), http: await freeSmallPort(), metrics: await freeSmallPort() };
  const rest: Record<string, string> = {};
  for (const k of ['FRONTEND_MEMBERSHIP', 'HISTORY_GRPC', 'HISTORY_MEMBERSHIP', 'MATCHING_GRPC', 'MATCHING_MEMBERSHIP', 'WORKER_GRPC', 'WORKER_MEMBERSHIP']) rest[`${k}_PORT`] = String(await freeSmallPort());
  // Off unless asked for: the endpoint serves profiles and heap dumps to anyone on the host.
  const pprofPort = process.env.ITK3_TEMPORAL_PPROF === '1' ? await freeSmallPort() : undefined;
  if (pprofPort) rest.PPROF_PORT = String(pprofPort);
  const env: NodeJS.ProcessEnv = { ...process.env, ...nodeEnv({ frontend: ports.frontend, http: ports.http, metrics: ports.metrics, rest }, pg) };
  const logFile = path.join(dir, `temporal-node-${index}.log`);
  const frontend = `127.0.0.1:${ports.frontend}`;
  let proc: ChildProcess | undefined;
  const node: TemporalNode = {
    index,
    frontend,
    httpPort: ports.http,
    metricsPort: ports.metrics,
    ...(pprofPort ? { pprofPort } : {}),
    logFile,
    process: () => proc,
    async start() {
      proc = spawn(tool('temporal-server'), ['--config-file', path.join(CONFIG_DIR, 'server.yaml'), '--allow-no-auth', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      logTo(proc, logFile);
      await waitForServing(`Temporal node ${index}`, frontend, proc, logFile);
    },
    async kill() {
      await stopProc(proc, 'SIGKILL');
    },
    stop: () => stopProc(proc, 'SIGTERM', 30_000),
  };
  return node;
}

/** SERVING on the gRPC health service, the state a load balancer would wait for. */
export async function waitForServing(what: string, address: string, proc?: ChildProcess, logFile?: string, timeoutMs = 120_000): Promise<void> {
  let connection: Connection | undefined;
  try {
    await waitFor(what, proc, async () => {
      connection ??= await Connection.connect({ address, connectTimeout: 1000 });
      const r = await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
      return r.status === 1;
    }, timeoutMs, logFile);
  } finally {
    await connection?.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// The whole cluster

export interface ClusterOptions {
  /** State directory (PostgreSQL data, logs). */
  dir: string;
  namespace: string;
  retentionDays: number;
  nodes?: number;
  /** PostgreSQL's port; default a free one. */
  postgresPort?: number;
  /** The balancer's port (the one address clients use); default a free one. */
  frontendPort?: number;
  log?: (line: string) => void;
}

export interface TemporalCluster {
  /** The address clients use: the balancer in front of every frontend. */
  address: string;
  namespace: string;
  nodes: TemporalNode[];
  postgres: Postgres;
  balancer: TcpBalancer;
  /** kill -9 one node, then (after downMs) start it again, as a supervisor would. */
  killNode(index: number, opts?: { downMs?: number; restart?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(opts: ClusterOptions): Promise<TemporalCluster> {
  const log = opts.log ?? (() => undefined);
  mkdirSync(opts.dir, { recursive: true });
  // PostgreSQL runs as its own user, which must reach its directory inside this one (a temporary
  // directory is private to its creator).
  if (pgUser()) chmodSync(opts.dir, 0o755);
  const t0 = Date.now();
  const postgres = await startPostgres({ dir: path.join(opts.dir, 'postgresql'), port: opts.postgresPort ?? (await freePort()) });
  const nodes: TemporalNode[] = [];
  let balancer: TcpBalancer | undefined;
  const stop = async (): Promise<void> => {
    await balancer?.close();
    for (const n of [...nodes].reverse()) await n.stop();
    await postgres.stop();
  };
  try {
    log(`PostgreSQL ready on 127.0.0.1:${postgres.port} (${Date.now() - t0} ms)`);
    setUpSchema(postgres);
    log(`schema ready (${Date.now() - t0} ms)`);
    for (let i = 1; i <= (opts.nodes ?? 2); i++) nodes.push(await createNode(i, path.join(opts.dir, 'logs'), postgres));
    // One node first: nodes started together on an empty database race to write the cluster record.
    await nodes[0]!.start();
    log(`Temporal node 1 SERVING on ${nodes[0]!.frontend} (${Date.now() - t0} ms)`);
    await Promise.all(nodes.slice(1).map((n) => n.start()));
    log(`${nodes.length} Temporal nodes SERVING (${Date.now() - t0} ms)`);
    balancer = await startTcpBalancer({ port: opts.frontendPort ?? 0, backends: nodes.map((n) => n.frontend) });
    await setUpNamespace(nodes[0]!.frontend, opts.namespace, opts.retentionDays, () => undefined);
    await waitForNamespaceEverywhere(nodes.map((n) => n.frontend), opts.namespace);
    log(`namespace ${opts.namespace} ready on every frontend (${Date.now() - t0} ms)`);
  } catch (err) {
    await stop();
    throw err;
  }
  const b = balancer;
  return {
    address: b.address,
    namespace: opts.namespace,
    nodes,
    postgres,
    balancer: b,
    async killNode(index, o = {}) {
      const node = nodes[index - 1]!;
      await node.kill();
      if (o.restart === false) return;
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await node.start();
    },
    stop,
  };
}

// ---------------------------------------------------------------------------------------------------
// Web UI

export interface UiServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** ui-server with config/temporal/ui/itk3.yaml, decoding payloads through our codec server. */
export async function startUiServer(opts: { port: number; temporalAddress: string; namespace: string; codecEndpoint: string; logFile: string }): Promise<UiServer> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: opts.temporalAddress,
    TEMPORAL_UI_IP: '127.0.0.1',
    TEMPORAL_UI_PORT: String(opts.port),
    TEMPORAL_DEFAULT_NAMESPACE: opts.namespace,
    TEMPORAL_CODEC_ENDPOINT: opts.codecEndpoint,
    TEMPORAL_CODEC_INCLUDE_CREDENTIALS: 'true',
    TEMPORAL_CODEC_ERROR_MESSAGE: 'Payloads are encrypted: sign in at the codec server to see them decoded.',
    TEMPORAL_CODEC_ERROR_LINK: `${opts.codecEndpoint}/login`,
    TEMPORAL_DISABLE_NEWS_FETCH: 'true',
  };
  const proc = spawn(tool('ui-server'), ['--root', CONFIG_DIR, '--config', 'ui', '--env', 'itk3', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  logTo(proc, opts.logFile);
  const url = `http://127.0.0.1:${opts.port}`;
  await waitFor('Temporal Web UI', proc, async () => (await fetch(`${url}/api/v1/settings`)).ok, 60_000, opts.logFile);
  return { url, process: proc, stop: () => stopProc(proc, 'SIGTERM') };
}

// ---------------------------------------------------------------------------------------------------
// Frontend rate limits

/**
 * Visibility requests (list and count) the frontends have refused with RESOURCE_EXHAUSTED because a
 * namespace rate limit was exceeded, summed over every node since it started. The SDK retries such a
 * refusal after a backoff, so a caller sees only a slow answer: this counter tells a throttled query
 * from a slow one.
 */
export async function visibilityThrottled(cluster: Pick<TemporalCluster, 'nodes'>): Promise<number> {
  let total = 0;
  for (const n of cluster.nodes) {
    const text = await (await fetch(`http://127.0.0.1:${n.metricsPort}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith('service_errors_resource_exhausted{')) continue;
      if (!/operation="(CountWorkflowExecutions|ListWorkflowExecutions)"/.test(line)) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
