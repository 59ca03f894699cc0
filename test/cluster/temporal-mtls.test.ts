/**
 * Mutual TLS to Temporal, proved against a real Temporal server (go.temporal.io/server, built by the
 * project's build script; SQLite in memory) whose frontend REQUIRES a client certificate from our CA:
 * (a) a client without a certificate is refused, (b) the project's own processes configured only with
 * TEMPORAL_TLS_* do real work over it: the set-up script registers the namespace and every search
 * attribute, the worker (NativeConnection) and the API (Client) built by worker/compose.ts run a delivery
 * that sends to a real mesh-sandbox, and an operator update reaches it through the API; (c) a certificate
 * from another CA is refused. Certificates are made here with openssl. The server binary is
 * $TEMPORAL_SERVER_BIN or <repo>/.cache/tools/bin/temporal-server; without it the test fails, saying so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { CourierHttpClient } from '../../client/lib/http-client';
import { loadConfig, type AppConfig } from '../../config/env';
import { toolsDir } from '../../scripts/lib/cluster';
import { freePort, REPO_ROOT, startMeshSandbox, type RunningService } from '../../scripts/lib/services';
import { createMeshClient, createNativeConnection, createStore, createTemporalClient, createWorkerClient } from '../../worker/compose';
import { createCourierWorker, type CourierWorker } from '../../worker/worker';
import { certKit } from '../helpers/certs';
import { startLocalApi } from '../helpers/local-api';

jest.setTimeout(180_000);

// The binary the project's build script made (ITK3_TOOLS_DIR, as for the rest of the cluster suite), unless one is named.
const SERVER_BIN = process.env.TEMPORAL_SERVER_BIN ?? path.join(toolsDir(), 'bin', 'temporal-server');
const NAMESPACE = 'courier';
const kit = certKit('itk3-temporal-mtls-');
const f = kit.file;

function serverConfig(ports: Record<'frontend' | 'frontendMembership' | 'frontendHttp' | 'history' | 'historyMembership' | 'matching' | 'matchingMembership' | 'worker' | 'workerMembership', number>): string {
  const sqlite = (name: string): string => `
    ${name}:
      sql:
        pluginName: "sqlite"
        databaseName: "${name}"
        connectAddr: "localhost"
        connectProtocol: "tcp"
        connectAttributes:
          mode: "memory"
          cache: "private"
        maxConns: 1
        maxIdleConns: 1
        maxConnLifetime: "1h"`;
  const service = (grpc: number, membership: number, http?: number): string => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: sqlite-default
  visibilityStore: sqlite-visibility
  numHistoryShards: 1
  datastores:${sqlite('sqlite-default')}${sqlite('sqlite-visibility')}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  tls:
    frontend:
      server:
        certFile: ${f('frontend.crt')}
        keyFile: ${f('frontend.key')}
        requireClientAuth: true
        clientCaFiles: [${f('courier-ca.crt')}]
      client:
        serverName: localhost
        rootCaFiles: [${f('courier-ca.crt')}]
    systemWorker:
      certFile: ${f('temporal-system-worker.crt')}
      keyFile: ${f('temporal-system-worker.key')}
      client:
        serverName: localhost
        rootCaFiles: [${f('courier-ca.crt')}]
services:
  frontend:${service(ports.frontend, ports.frontendMembership, ports.frontendHttp)}
  history:${service(ports.history, ports.historyMembership)}
  matching:${service(ports.matching, ports.matchingMembership)}
  worker:${service(ports.worker, ports.workerMembership)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${ports.frontend}"
      httpAddress: "127.0.0.1:${ports.frontendHttp}"
dcRedirectionPolicy:
  policy: "noop"
`;
}

/** TEMPORAL_TLS_* as an operator would set them for a process of this project. */
const tlsEnv = (client: string): Record<string, string> => ({
  TEMPORAL_TLS_CERT: f(`${client}.crt`),
  TEMPORAL_TLS_KEY: f(`${client}.key`),
  TEMPORAL_TLS_CA: f('courier-ca.crt'),
  TEMPORAL_TLS_SERVER_NAME: 'localhost',
});

/** Resolves to the error a connection and one call with these options end in, or undefined if it worked. */
async function connectError(options: Parameters<typeof Connection.connect>[0]): Promise<Error | undefined> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: 5000 });
    await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
    return undefined;
  } catch (err) {
    return err as Error;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

describe('mutual TLS to a Temporal server that requires client certificates', () => {
  let server: ChildProcess | undefined;
  let serverLog = '';
  let address = '';
  let mesh: RunningService | undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'itk3-cluster-mtls-'));

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    if (!existsSync(SERVER_BIN)) {
      throw new Error(
        `Temporal server binary not found at ${SERVER_BIN}. Build it with the project's tool build script (into .cache/tools/bin) or set TEMPORAL_SERVER_BIN to a temporal-server built from go.temporal.io/server/cmd/server.`,
      );
    }
    kit.ca('courier-ca');
    // X.509 v3 (an extension file): the worker's TLS stack (rustls) refuses v1 certificates.
    const clientExt = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';
    kit.cert('frontend', 'courier-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
    kit.cert('temporal-system-worker', 'courier-ca', clientExt);
    kit.cert('itk3-worker', 'courier-ca', clientExt);
    kit.cert('itk3-api', 'courier-ca', clientExt);
    kit.ca('other-ca');
    kit.cert('impostor', 'other-ca', clientExt);
    const names = ['frontend', 'frontendMembership', 'frontendHttp', 'history', 'historyMembership', 'matching', 'matchingMembership', 'worker', 'workerMembership'] as const;
    const ports = {} as Record<(typeof names)[number], number>;
    for (const name of names) ports[name] = await freePort();
    address = `127.0.0.1:${ports.frontend}`;
    const configFile = path.join(dir, 'temporal-server.yaml');
    writeFileSync(configFile, serverConfig(ports));
    server = spawn(SERVER_BIN, ['--config-file', configFile, '--allow-no-auth', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout?.on('data', (d: Buffer) => (serverLog = (serverLog + d.toString()).slice(-20_000)));
    server.stderr?.on('data', (d: Buffer) => (serverLog = (serverLog + d.toString()).slice(-20_000)));
    const until = Date.now() + 90_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`temporal-server exited with ${server.exitCode}:\n${serverLog}`);
      let connection: Connection | undefined;
      try {
        connection = await Connection.connect({ address, tls: { serverNameOverride: 'localhost', serverRootCACertificate: readFileSync(f('courier-ca.crt')), clientCertPair: { crt: readFileSync(f('itk3-api.crt')), key: readFileSync(f('itk3-api.key')) } }, connectTimeout: 2000 });
        await connection.workflowService.getSystemInfo({});
        break;
      } catch (err) {
        if (Date.now() > until) throw new Error(`temporal-server did not serve over mTLS in 90 s (${(err as Error).message}):\n${serverLog}`);
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await connection?.close().catch(() => undefined);
      }
    }
    mesh = await startMeshSandbox({ port: await freePort(), sharedKey: 'TestKey', storeMode: 'memory', logFile: path.join(dir, 'mesh.log') });
  });

  afterAll(async () => {
    await mesh?.stop();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  });

  it('(a) refuses a client without a certificate, over TLS or in plaintext', async () => {
    const noCert = await connectError({ address, tls: { serverNameOverride: 'localhost', serverRootCACertificate: readFileSync(f('courier-ca.crt')) } });
    expect(noCert).toBeDefined();
    const plaintext = await connectError({ address });
    expect(plaintext).toBeDefined();
    // The same through the project's own wiring: no TEMPORAL_TLS_* means plaintext, which this server refuses.
    const config = courierConfig({});
    await expect(createTemporalClient(config).then(async (c) => c.workflowService.getSystemInfo({}).finally(() => void c.connection.close()))).rejects.toThrow();
  });

  it('(c) refuses a certificate signed by another CA', async () => {
    const impostor = await connectError({
      address,
      tls: { serverNameOverride: 'localhost', serverRootCACertificate: readFileSync(f('courier-ca.crt')), clientCertPair: { crt: readFileSync(f('impostor.crt')), key: readFileSync(f('impostor.key')) } },
    });
    expect(impostor).toBeDefined();
    const config = courierConfig(tlsEnv('impostor'));
    await expect(createTemporalClient(config).then(async (c) => c.workflowService.getSystemInfo({}).finally(() => void c.connection.close()))).rejects.toThrow();
  });

  let operatorToken = '';
  let submitterToken = '';
  function courierConfig(tls: Record<string, string>): AppConfig {
    operatorToken ||= randomBytes(24).toString('base64url');
    submitterToken ||= randomBytes(24).toString('base64url');
    return loadConfig({
      ITK3_MODE: 'local',
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      ITK3_TASK_QUEUE: `cluster-mtls-${randomUUID()}`,
      MESH_URL: mesh?.url ?? 'http://127.0.0.1:1',
      MESH_SHARED_KEY: 'TestKey',
      MESH_MAILBOX_ID: 'X26ABC1',
      ITK3_RECIPIENT_MAILBOX: 'X26ABC2',
      MESH_POLL_INTERVAL: '1s',
      STORE_DIR: path.join(dir, 'store'),
      STORE_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      ITK3_CODEC_KEYS: `c1:${randomBytes(32).toString('base64')}`,
      ITK3_API_TOKENS: `ops:operator:${operatorToken},svc:submitter:${submitterToken}`,
      ...tls,
    });
  }

  it('(b) runs the set-up script, a worker and the API over mTLS: a delivery is sent and an operator update reaches it', async () => {
    // The project's own set-up code (the docker-compose `temporal-setup` service), configured by env only.
    const setup = spawnSync(process.execPath, ['-r', path.join(REPO_ROOT, 'test/integration/api/swc-register.js'), path.join(REPO_ROOT, 'scripts/temporal-setup.ts')], {
      env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: NAMESPACE, ITK3_RETENTION_DAYS: '1', ...tlsEnv('itk3-api') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(setup.stderr).toBe('');
    expect(setup.stdout).toContain(`namespace ${NAMESPACE} ready`);

    const workerConfig = courierConfig(tlsEnv('itk3-worker'));
    const apiConfig = courierConfig({ ...tlsEnv('itk3-api'), ITK3_TASK_QUEUE: workerConfig.env.ITK3_TASK_QUEUE, STORE_KEYS: workerConfig.env.STORE_KEYS, ITK3_CODEC_KEYS: workerConfig.env.ITK3_CODEC_KEYS });
    const logger = pino({ level: 'warn' });
    // As worker/main.ts wires it: the worker's Client rides on its own native connection.
    const connection = await createNativeConnection(workerConfig);
    const workerClient = createWorkerClient(workerConfig, connection);
    let worker: CourierWorker | undefined;
    let running: Promise<void> | undefined;
    const apiClient = await createTemporalClient(apiConfig);
    const api = await startLocalApi({ config: apiConfig, client: apiClient, logger, store: createStore(apiConfig), dir });
    try {
      worker = await createCourierWorker({ config: workerConfig, logger, store: createStore(workerConfig), mesh: createMeshClient(workerConfig), client: workerClient, connection });
      running = worker.run();
      const submitter = new CourierHttpClient({ baseUrl: api.url, token: submitterToken });
      const operator = new CourierHttpClient({ baseUrl: api.url, token: operatorToken });
      const example = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples/consultation-report.json'), 'utf8')) as Record<string, unknown>;
      const { workflowId } = await submitter.submit({ ...example, documentId: randomUUID() } as never);
      // Sent to the real mesh-sandbox by the worker over mTLS; no practice answers here, so it waits.
      const until = Date.now() + 60_000;
      let state = await submitter.status(workflowId);
      while (!state.attempts?.[0]?.meshMessageId && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 300));
        state = await submitter.status(workflowId);
      }
      expect(state.attempts[0]?.meshMessageId).toMatch(/\S+/);
      const abandoned = await operator.abandon(workflowId, { reason: 'mTLS proof: operator update over a certificate-authenticated connection' });
      expect(abandoned).toMatchObject({ action: 'abandon', status: 'ABANDONED', actor: 'ops', actorVerified: true });
      const timeline = await operator.timeline(workflowId);
      expect(timeline.timeline.filter((e) => e.kind === 'OPERATOR')).toEqual([expect.objectContaining({ actor: 'ops', actorVerified: true })]);
      // Search attributes registered by the set-up script are queryable over the same connection.
      const listed = await operator.list({ status: 'ABANDONED' });
      expect(listed.items.map((i) => i.workflowId)).toContain(workflowId);
    } finally {
      worker?.shutdown();
      await running?.catch(() => undefined);
      await api.close();
      await apiClient.connection.close();
      await connection.close();
    }
  });
});
