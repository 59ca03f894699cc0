/**
 * Composition root pieces shared by the worker, the API and the tests: config -> store, MESH client,
 * Temporal client. Nothing here runs at import time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { courierDataConverter } from '../payload-codec/aes-gcm-codec';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/env';
import { inboundSettings } from '../config/inbound';
import { MeshClient } from '../mesh';
import { EncryptedFileStore } from '../store/content-store';
import type { ActivityConfig } from '../activities';
import type { AckDeadlines } from '../contracts';

export function createStore(config: AppConfig): EncryptedFileStore {
  return new EncryptedFileStore(path.resolve(config.env.STORE_DIR), config.storeKeys, config.activeStoreKeyId);
}

/** Mutual TLS from files named in configuration, and a proxy when NHS networks need one. */
export function createMeshDispatcher(config: AppConfig): Dispatcher | undefined {
  const { MESH_CLIENT_CERT, MESH_CLIENT_KEY, MESH_CA_CERT, MESH_PROXY_URL } = config.env;
  const tls = MESH_CLIENT_CERT && MESH_CLIENT_KEY
    ? { cert: readFileSync(MESH_CLIENT_CERT), key: readFileSync(MESH_CLIENT_KEY), ...(MESH_CA_CERT ? { ca: readFileSync(MESH_CA_CERT) } : {}) }
    : undefined;
  if (MESH_PROXY_URL) return new ProxyAgent({ uri: MESH_PROXY_URL, ...(tls ? { requestTls: tls } : {}) });
  if (tls) return new Agent({ connect: tls });
  return undefined;
}

export function createMeshClient(config: AppConfig): MeshClient {
  const dispatcher = createMeshDispatcher(config);
  return new MeshClient({
    baseUrl: config.env.MESH_URL,
    mailboxId: config.env.MESH_MAILBOX_ID,
    password: config.env.MESH_MAILBOX_PASSWORD,
    sharedKey: config.env.MESH_SHARED_KEY,
    chunkSize: config.env.MESH_CHUNK_SIZE,
    downloadLimits: { maxCompressedBytes: config.env.MESH_INBOUND_MAX_COMPRESSED_BYTES, maxBytes: config.env.MESH_INBOUND_MAX_BYTES },
    ...(dispatcher ? { dispatcher } : {}),
  });
}

export function activityConfig(config: AppConfig): ActivityConfig {
  const env = config.env;
  return {
    actorKeys: config.actorKeys,
    profile: env.ITK3_SPEC_PROFILE,
    routing:
      env.ITK3_ROUTING_MODE === 'gpprovider'
        ? { mode: 'gpprovider', dobFormat: env.ITK3_GPPROVIDER_DOB_FORMAT }
        : { mode: 'mailbox', mailboxId: env.ITK3_RECIPIENT_MAILBOX! },
    maxMessageBytes: env.ITK3_MAX_MESSAGE_BYTES,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.ITK3_TASK_QUEUE,
    ...(env.ITK3_CORRELATION_KEY ? { correlationKey: env.ITK3_CORRELATION_KEY } : {}),
    senderMailboxes: inboundSettings(env).mailboxes.map((m) => m.mailboxId),
  };
}

export function defaultDeadlines(config: AppConfig): AckDeadlines {
  return { infrastructureAckMs: config.env.ITK3_INF_ACK_TIMEOUT, businessAckMs: config.env.ITK3_BUS_ACK_TIMEOUT };
}

/** The payload codec (AES-256-GCM) for every Client and Worker: history holds ciphertext only. */
export function createDataConverter(config: AppConfig): DataConverter {
  return courierDataConverter(config.codecKeys);
}

/** The environment keys that say how to reach Temporal (TEMPORAL_TLS_* as in config/env.ts). */
export type TemporalConnectionEnv = Partial<Record<'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_SERVER_NAME', string>> & {
  TEMPORAL_ADDRESS: string;
};

/** Client certificate, key, CA and server name, as Connection and NativeConnection both take them. */
export interface TemporalTls {
  clientCertPair: { crt: Buffer; key: Buffer };
  serverRootCACertificate?: Buffer;
  serverNameOverride?: string;
}

/**
 * How every process reaches Temporal: the one place that turns TEMPORAL_TLS_* into connection options,
 * for the worker's NativeConnection and every Client (API, worker, set-up script, tests). With a client
 * certificate the connection is mutual TLS; without one it is plaintext (the local dev server). Files
 * are read here; config/env.ts has already checked that they exist and are PEM.
 */
export function temporalConnectionOptions(env: TemporalConnectionEnv): { address: string; tls?: TemporalTls } {
  const { TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: serverName } = env;
  const blank = (v: string | undefined): v is undefined => v === undefined || v === '';
  if (blank(cert) && blank(key)) {
    if (!blank(ca) || !blank(serverName)) throw new Error('TEMPORAL_TLS_CA and TEMPORAL_TLS_SERVER_NAME need TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY');
    return { address: env.TEMPORAL_ADDRESS };
  }
  if (blank(cert) || blank(key)) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mutual TLS needs both)');
  const read = (name: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${name}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`);
    }
  };
  const tls: TemporalTls = { clientCertPair: { crt: read('TEMPORAL_TLS_CERT', cert), key: read('TEMPORAL_TLS_KEY', key) } };
  if (!blank(ca)) tls.serverRootCACertificate = read('TEMPORAL_TLS_CA', ca);
  if (!blank(serverName)) tls.serverNameOverride = serverName;
  return { address: env.TEMPORAL_ADDRESS, tls };
}

/** `connectTimeoutMs`: how long the first call may wait for the server (the SDK's default is 10 s). */
export async function createTemporalConnection(config: AppConfig, connectTimeoutMs?: number): Promise<Connection> {
  return Connection.connect({ ...temporalConnectionOptions(config.env), ...(connectTimeoutMs ? { connectTimeout: connectTimeoutMs } : {}) });
}

/**
 * The worker process's Client (signals to deliveries, visibility lookups, quarantine starts), over the
 * worker's own connection: the SDK's Rust gRPC client instead of a second, JavaScript one. The inbound
 * router signals every acknowledgement, so this is on the hot path; it saves about 1.5 ms of the main
 * thread's CPU per delivery (BENCHMARKS.md), and one connection to the server.
 */
export function createWorkerClient(config: AppConfig, connection: NativeConnection): Client {
  return new Client({ connection, namespace: config.env.TEMPORAL_NAMESPACE, dataConverter: createDataConverter(config) });
}

/** The worker's connection (Rust core), with the same address and TLS as every Client. */
export async function createNativeConnection(config: AppConfig): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(config.env));
}

/**
 * Start-up only: runs `connect` until it succeeds or ITK3_TEMPORAL_CONNECT_WAIT has passed, waiting a
 * little longer after each failure (a quarter of a second, doubling, at most five). Each failure is
 * logged with the address, so an operator sees what the process waits for; past the wait the last error
 * is thrown with the address and the wait in its message. Once connected, the SDK reconnects by itself.
 */
export async function connectAtStartup<T>(
  config: AppConfig,
  logger: Pick<Logger, 'warn'>,
  /** Gets the most one try may take: never past the wait, and short enough to say soon what is wrong. */
  connect: (tryTimeoutMs: number) => Promise<T>,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
  const address = config.env.TEMPORAL_ADDRESS;
  const waitMs = config.env.ITK3_TEMPORAL_CONNECT_WAIT;
  const deadline = Date.now() + waitMs;
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(Math.max(1_000, Math.min(5_000, deadline - Date.now())));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (Date.now() + delay > deadline) {
        throw new Error(`Temporal at ${address} did not answer within ${Math.round(waitMs / 1000)} s (ITK3_TEMPORAL_CONNECT_WAIT); last error: ${reason}`);
      }
      logger.warn({ address, attempt, retryInMs: delay, reason }, 'Temporal not reachable yet; trying again');
      await wait(delay);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

export async function createTemporalClient(config: AppConfig, connectTimeoutMs?: number): Promise<Client> {
  const connection = await createTemporalConnection(config, connectTimeoutMs);
  return new Client({ connection, namespace: config.env.TEMPORAL_NAMESPACE, dataConverter: createDataConverter(config) });
}
