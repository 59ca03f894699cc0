import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';

/** What the jest global setup started, for integration and e2e tests. */
export interface TestServices {
  temporalAddress: string;
  namespace: string;
  meshUrl: string;
  meshSharedKey: string;
  dir: string;
}

export function testServices(): TestServices {
  const get = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run this test through the jest 'integration' project (global setup starts the services)`);
    return value;
  };
  return {
    temporalAddress: get('ITK3_TEST_TEMPORAL_ADDRESS'),
    namespace: get('ITK3_TEST_TEMPORAL_NAMESPACE'),
    meshUrl: get('ITK3_TEST_MESH_URL'),
    meshSharedKey: get('ITK3_TEST_MESH_SHARED_KEY'),
    dir: get('ITK3_TEST_DIR'),
  };
}

/** A courier (worker and API in this process) set up on the test services by a harness. */
export interface LocalCourierSetup {
  /** Its own folder under the services' folder (content store, peer files). */
  dir: string;
  /** Bearer tokens of an operator and a submitter, also in `env.ITK3_API_TOKENS`. */
  tokens: { operator: string; submitter: string };
  /** Configuration as environment variables: the test services, mailboxes X26ABC1 (ours) and X26ABC2
   *  (the practice), its own task queue, fresh store and codec keys. Harnesses add or override. */
  env: Record<string, string>;
}

export function localCourierSetup(name: string): LocalCourierSetup {
  const services = testServices();
  const dir = mkdtempSync(path.join(services.dir, `${name}-`));
  const tokens = { operator: randomBytes(24).toString('base64url'), submitter: randomBytes(24).toString('base64url') };
  const env = {
    ITK3_MODE: 'local',
    TEMPORAL_ADDRESS: services.temporalAddress,
    TEMPORAL_NAMESPACE: services.namespace,
    ITK3_TASK_QUEUE: `e2e-${name}-${randomUUID()}`,
    MESH_URL: services.meshUrl,
    MESH_SHARED_KEY: services.meshSharedKey,
    MESH_MAILBOX_ID: 'X26ABC1',
    ITK3_RECIPIENT_MAILBOX: 'X26ABC2',
    STORE_DIR: path.join(dir, 'store'),
    STORE_KEYS: `test1:${randomBytes(32).toString('base64')}`,
    ITK3_CODEC_KEYS: `codec1:${randomBytes(32).toString('base64')}`,
    ITK3_CORRELATION_KEY: randomBytes(32).toString('base64'),
    ITK3_API_TOKENS: `ops-test:operator:${tokens.operator},svc-test:submitter:${tokens.submitter}`,
  };
  return { dir, tokens, env };
}
