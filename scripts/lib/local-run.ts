/**
 * What `npm run up` and `npm run cluster` share when they run ITK3 Courier as local processes: secrets made
 * once and kept with the local data, child processes whose output is prefixed with their name, and
 * waiting until a child is healthy. One copy, so the two commands cannot drift apart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The ports and names both commands take from the environment, with the same defaults, so they agree. */
export function localSettings(): {
  temporalPort: number;
  uiPort: number;
  meshPort: number;
  apiPort: number;
  codecPort: number;
  metricsPort: number;
  namespace: string;
  sharedKey: string;
} {
  const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
  return {
    temporalPort: Number(env('TEMPORAL_PORT', '7233')),
    uiPort: Number(env('TEMPORAL_UI_PORT', '8233')),
    meshPort: Number(env('MESH_PORT', '8700')),
    apiPort: Number(env('ITK3_API_PORT', '3000')),
    codecPort: Number(env('ITK3_CODEC_SERVER_PORT', '8888')),
    metricsPort: Number(env('ITK3_WORKER_METRICS_PORT', '9464')),
    namespace: env('TEMPORAL_NAMESPACE', 'courier'),
    sharedKey: env('MESH_SHARED_KEY', 'TestKey'),
  };
}

/** A local secret, made once and kept in `dataDir` (0600) so a second run reuses it; the environment variable wins. */
export function localSecret(dataDir: string, envName: string, fileName: string, make: () => string): string {
  if (process.env[envName]) return process.env[envName];
  const file = path.join(dataDir, fileName);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${make()}\n`, { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/** A fresh 32-byte key ring entry (store, codec and actor keys all take this form). */
export const newLocalKey = (): string => `local1:${randomBytes(32).toString('base64')}`;

/** Local API tokens: one operator, one submitter. */
export const newLocalApiTokens = (): string =>
  `local-operator:operator:${randomBytes(24).toString('base64url')},local-service:submitter:${randomBytes(24).toString('base64url')}`;

/** The secrets the API, the workers and the codec server of a local run must share. */
export interface LocalAppSecrets {
  /** Content-store encryption keys. */
  STORE_KEYS: string;
  /** Payload codec keys: every payload in Temporal's history is encrypted with these. */
  ITK3_CODEC_KEYS: string;
  /** Operator-update actor token keys: the API signs, the worker verifies. */
  ITK3_ACTOR_KEYS: string;
  /** Key of the SenderReference search attribute (an HMAC): the API and the worker must share it. */
  ITK3_CORRELATION_KEY: string;
  /** API tokens: one operator, one submitter. */
  ITK3_API_TOKENS: string;
}

/**
 * Every secret of a local run, each made once and kept in `dataDir` (0600) so the next run, and the
 * other local command, reuse it: a workflow that waits across a restart still verifies the actor tokens
 * and finds its keyed SenderReference. An environment variable of the same name wins.
 */
export function localAppSecrets(dataDir: string): LocalAppSecrets {
  return {
    STORE_KEYS: localSecret(dataDir, 'STORE_KEYS', 'local-store-keys', newLocalKey),
    ITK3_CODEC_KEYS: localSecret(dataDir, 'ITK3_CODEC_KEYS', 'local-codec-keys', newLocalKey),
    ITK3_ACTOR_KEYS: localSecret(dataDir, 'ITK3_ACTOR_KEYS', 'local-actor-keys', newLocalKey),
    ITK3_CORRELATION_KEY: localSecret(dataDir, 'ITK3_CORRELATION_KEY', 'local-correlation-key', () => randomBytes(32).toString('base64')),
    ITK3_API_TOKENS: localSecret(dataDir, 'ITK3_API_TOKENS', 'local-api-tokens', newLocalApiTokens),
  };
}

/** The token of `role` in an ITK3_API_TOKENS list (name:role:token,...). */
export const tokenOf = (tokens: string, role: string): string => tokens.split(',').map((t) => t.split(':')).find((t) => t[1] === role)?.slice(2).join(':') ?? '';

/** A child process whose stdout and stderr go to our stdout line by line, each line prefixed with its name. */
export function child(name: string, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv): ChildProcess {
  const proc = spawn(cmd, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [proc.stdout, proc.stderr]) {
    let buf = '';
    stream?.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) process.stdout.write(`[${name}] ${l}\n`);
    });
  }
  return proc;
}

/** Polls `check` until it holds; fails at once if `proc` exits first, so a crash is not reported as a timeout. */
export async function waitUntil(what: string, proc: ChildProcess, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} did not become healthy within ${timeoutMs / 1000}s`);
}
