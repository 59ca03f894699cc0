/**
 * Composition root pieces shared by the worker, the API and the tests: config -> store, MESH client,
 * Temporal client. Nothing here runs at import time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { courierDataConverter } from '../codec/aes-gcm-codec';
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
    ...(dispatcher ? { dispatcher } : {}),
  });
}

export function activityConfig(config: AppConfig): ActivityConfig {
  const env = config.env;
  return {
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

export async function createTemporalClient(config: AppConfig): Promise<Client> {
  const connection = await Connection.connect({ address: config.env.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.env.TEMPORAL_NAMESPACE, dataConverter: createDataConverter(config) });
}
