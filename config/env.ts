/**
 * One zod schema over the environment, parsed once at start-up. Every problem is reported
 * together, secret values are never echoed, and the process exits before connecting to anything.
 */
import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEADLINE_MAX_CEILING_MS } from '../contracts/deadline-bounds';
import { DurationTextSchema } from './duration';
import { checkInboundEnv } from './inbound';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const duration = DurationTextSchema;
const port = z.coerce.number().int().min(1).max(65535);
const byteCount = z.coerce.number().int().min(1024, 'must be at least 1024 bytes').max(2 ** 31, 'must be at most 2 GiB');
const mailbox = z.string().regex(/^[A-Z0-9]{3,20}$/, 'must be an upper-case MESH mailbox id');

export const EnvSchema = z
  .object({
    ITK3_MODE: z.enum(['local', 'production']).default('local'),
    TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().default('courier'),
    /**
     * How long the API and the worker keep trying to reach Temporal at start-up before they give up.
     * Started beside Temporal (compose, a supervisor, a server node restarting), they wait for it
     * instead of exiting on the first refused or slow connection.
     */
    ITK3_TEMPORAL_CONNECT_WAIT: duration.prefault('2m'),
    /** Task queue of the delivery worker; tests and benchmarks isolate themselves with their own. */
    ITK3_TASK_QUEUE: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('itk3-courier-delivery'),
    ITK3_API_HOST: z.string().default('127.0.0.1'),
    ITK3_API_PORT: port.default(3000),
    ITK3_SPEC_PROFILE: z.enum(['1.x', '2.x']).default('2.x'),
    /** mailbox: send to a fixed mailbox (the sandbox has no PDS look-up); gpprovider: MESH automatic routing. */
    ITK3_ROUTING_MODE: z.enum(['mailbox', 'gpprovider']).default('mailbox'),
    ITK3_RECIPIENT_MAILBOX: mailbox.optional(),
    ITK3_GPPROVIDER_DOB_FORMAT: z.enum(['DDMMYYYY', 'YYYYMMDD']).default('DDMMYYYY'),
    ITK3_INF_ACK_TIMEOUT: duration.prefault('4h'),
    ITK3_BUS_ACK_TIMEOUT: duration.prefault('2d'),
    /**
     * Bounds of per-submission deadlines and of operator deadline changes (config/deadlines.ts
     * `deadlineBoundsFromEnv`): acknowledgement deadlines and the decision window, and the reminder interval.
     */
    ITK3_DEADLINE_MIN: duration.prefault('1m'),
    ITK3_DEADLINE_MAX: duration.prefault('30d'),
    ITK3_REMINDER_INTERVAL_MIN: duration.prefault('15m'),
    ITK3_REMINDER_INTERVAL_MAX: duration.prefault('7d'),
    ITK3_MAX_MESSAGE_BYTES: z.coerce.number().int().positive().default(5 * 1024 * 1024),
    MESH_URL: z.url().default('http://127.0.0.1:8700'),
    MESH_MAILBOX_ID: mailbox.default('X26ABC1'),
    MESH_MAILBOX_PASSWORD: z.string().min(1).default('password'),
    MESH_SHARED_KEY: z.string().min(1).default('TestKey'),
    MESH_CLIENT_CERT: z.string().optional(),
    MESH_CLIENT_KEY: z.string().optional(),
    MESH_CA_CERT: z.string().optional(),
    MESH_PROXY_URL: z.url().optional(),
    MESH_CHUNK_SIZE: z.coerce.number().int().positive().default(20 * 1024 * 1024),
    MESH_POLL_INTERVAL: duration.optional(),
    /** Inbound (config/inbound.ts): extra mailboxes to poll, comma-separated; MESH_MAILBOX_ID is always polled. */
    MESH_MAILBOXES: z.string().optional(),
    /** Passwords of the extra mailboxes, `MAILBOX:password` comma-separated (secret; required in production). */
    MESH_MAILBOX_PASSWORDS: z.string().optional(),
    /** Delays before an unmatched inbound message is correlated again, then raised (default 30s,5m; `none` raises at once). */
    ITK3_QUARANTINE_REMATCH: z.string().optional(),
    /**
     * HMAC-SHA256 key of the SenderReference search attribute (secret, 32+ characters), shared by the API
     * and the workers. Unset in local mode: a fixed development key (activities/correlation.ts).
     */
    ITK3_CORRELATION_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    STORE_DIR: z.string().default('.data/store'),
    /** Comma-separated `keyId:base64(32 bytes)`; the first is used for new content, all for reading. */
    STORE_KEYS: z.string().min(1),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_PRETTY: bool.default(false),
    // --- operator and integrator surfaces ---
    /** Payload codec keys, `keyId:base64(32 bytes)` comma-separated; the first encrypts, all decrypt (rotation). */
    ITK3_CODEC_KEYS: z.string().min(1),
    ITK3_CODEC_SERVER_HOST: z.string().default('127.0.0.1'),
    ITK3_CODEC_SERVER_PORT: port.default(8888),
    /** Origins of the Temporal Web UI allowed to call the codec server (CORS, exact match). */
    ITK3_CODEC_CORS_ORIGINS: z.string().default('http://localhost:8233,http://127.0.0.1:8233'),
    /** API bearer tokens, `name:role:secret` comma-separated; role is operator or submitter. */
    ITK3_API_TOKENS: z.string().optional(),
    /** TLS for the API; with ITK3_API_TLS_CA the API asks for client certificates (mutual TLS). */
    ITK3_API_TLS_CERT: z.string().optional(),
    ITK3_API_TLS_KEY: z.string().optional(),
    ITK3_API_TLS_CA: z.string().optional(),
    /** Client-certificate subject CN to role, `cn:role` comma-separated (mutual TLS). */
    ITK3_API_CLIENT_CERT_ROLES: z.string().optional(),
    /** Escalation webhook: JSON POST signed with HMAC-SHA256 of `timestamp.body`. */
    ITK3_ESCALATION_WEBHOOK_URL: z.url().optional(),
    ITK3_ESCALATION_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    ITK3_ESCALATION_WEBHOOK_TIMEOUT: duration.prefault('10s'),
    /** Escalation e-mail: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465. */
    ITK3_SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
    ITK3_ESCALATION_EMAIL_TO: z.string().optional(),
    ITK3_ESCALATION_EMAIL_FROM: z.string().default('itk3-courier@localhost'),
    /** Prometheus: the worker serves Temporal runtime metrics plus ours on this port when set. */
    ITK3_METRICS_HOST: z.string().default('127.0.0.1'),
    ITK3_WORKER_METRICS_PORT: port.optional(),
    /** Worker identity shown in Temporal (defaults to the SDK's pid@host). */
    ITK3_WORKER_IDENTITY: z.string().min(1).optional(),
    // --- bounded inputs and the Temporal trust boundary ---
    /** Largest inbound MESH message read off the wire (bytes as sent, before gzip decoding); larger is quarantined. */
    MESH_INBOUND_MAX_COMPRESSED_BYTES: byteCount.default(10 * 1024 * 1024),
    /** Largest inbound MESH message after decoding; decoding stops there and the message is quarantined. */
    MESH_INBOUND_MAX_BYTES: byteCount.default(20 * 1024 * 1024),
    /** Largest request body the codec server reads (bytes). */
    ITK3_CODEC_BODY_LIMIT: byteCount.default(4 * 1024 * 1024),
    /** Mutual TLS to Temporal: client certificate and key (PEM files), all or nothing. */
    TEMPORAL_TLS_CERT: z.string().optional(),
    TEMPORAL_TLS_KEY: z.string().optional(),
    /** CA that signed the Temporal frontend's certificate (PEM file); default: the system roots. */
    TEMPORAL_TLS_CA: z.string().optional(),
    /** Name to verify in the frontend's certificate when it differs from the TEMPORAL_ADDRESS host. */
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    /** Keys that sign operator-update actor tokens, `keyId:base64(32 bytes)` comma-separated; the first signs. */
    ITK3_ACTOR_KEYS: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    checkInboundEnv(env, ctx);
    for (const [min, max] of [
      ['ITK3_DEADLINE_MIN', 'ITK3_DEADLINE_MAX'],
      ['ITK3_REMINDER_INTERVAL_MIN', 'ITK3_REMINDER_INTERVAL_MAX'],
    ] as const) {
      if (env[min] > env[max]) ctx.addIssue({ code: 'custom', path: [min], message: `must not be more than ${max}` });
      if (env[max] > DEADLINE_MAX_CEILING_MS) ctx.addIssue({ code: 'custom', path: [max], message: 'must be at most 366d' });
    }
    if (env.ITK3_ROUTING_MODE === 'mailbox' && !env.ITK3_RECIPIENT_MAILBOX) {
      ctx.addIssue({ code: 'custom', path: ['ITK3_RECIPIENT_MAILBOX'], message: 'is required when ITK3_ROUTING_MODE=mailbox' });
    }
    if (env.ITK3_MODE === 'production' && !env.ITK3_CORRELATION_KEY) {
      ctx.addIssue({ code: 'custom', path: ['ITK3_CORRELATION_KEY'], message: 'is required in production (the SenderReference search attribute is keyed with it)' });
    }
    if (env.ITK3_MODE === 'production' && env.MESH_URL.startsWith('http:')) {
      ctx.addIssue({ code: 'custom', path: ['MESH_URL'], message: 'plain HTTP is only allowed with ITK3_MODE=local (the sandbox)' });
    }
    if (env.ITK3_MODE === 'production' && (!env.MESH_CLIENT_CERT || !env.MESH_CLIENT_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['MESH_CLIENT_CERT'], message: 'real MESH needs MESH_CLIENT_CERT and MESH_CLIENT_KEY (mutual TLS)' });
    }
    for (const part of env.STORE_KEYS.split(',')) {
      const [id, key] = part.split(':');
      if (!id || !key || Buffer.from(key, 'base64').length !== 32) {
        ctx.addIssue({ code: 'custom', path: ['STORE_KEYS'], message: 'each entry must be keyId:base64 of 32 bytes' });
        break;
      }
    }
    checkSurfaces(env, ctx);
    checkTrustBoundary(env, ctx);
  });

/**
 * TLS to Temporal and the actor-token keys. The certificate files are read here, so a path that does
 * not exist or cannot be read is a configuration error at start-up, not a connection error later.
 */
function checkTrustBoundary(
  env: Partial<Record<'TEMPORAL_TLS_CERT' | 'TEMPORAL_TLS_KEY' | 'TEMPORAL_TLS_CA' | 'TEMPORAL_TLS_SERVER_NAME' | 'ITK3_ACTOR_KEYS', string>> & {
    ITK3_MODE: string;
    MESH_INBOUND_MAX_COMPRESSED_BYTES: number;
    MESH_INBOUND_MAX_BYTES: number;
  },
  ctx: z.RefinementCtx,
): void {
  const add = (key: string, message: string): void => ctx.addIssue({ code: 'custom', path: [key], message });
  const { TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: serverName } = env;
  if (!!cert !== !!key) add(cert ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mutual TLS needs both)');
  if ((ca || serverName) && !cert) add(ca ? 'TEMPORAL_TLS_CA' : 'TEMPORAL_TLS_SERVER_NAME', 'needs TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mutual TLS to Temporal)');
  for (const [name, file] of [['TEMPORAL_TLS_CERT', cert], ['TEMPORAL_TLS_KEY', key], ['TEMPORAL_TLS_CA', ca]] as const) {
    if (!file) continue;
    const problem = pemFileProblem(file, name === 'TEMPORAL_TLS_KEY' ? 'PRIVATE KEY' : 'CERTIFICATE');
    if (problem) add(name, problem);
  }
  if (env.ITK3_ACTOR_KEYS !== undefined && !isKeyRing(env.ITK3_ACTOR_KEYS)) add('ITK3_ACTOR_KEYS', 'each entry must be keyId:base64 of 32 bytes, key ids unique');
  if (env.ITK3_MODE === 'production' && !env.ITK3_ACTOR_KEYS) add('ITK3_ACTOR_KEYS', 'production needs ITK3_ACTOR_KEYS (operator updates carry a signed actor token)');
  if (env.MESH_INBOUND_MAX_BYTES < env.MESH_INBOUND_MAX_COMPRESSED_BYTES) {
    add('MESH_INBOUND_MAX_BYTES', 'must be at least MESH_INBOUND_MAX_COMPRESSED_BYTES (decoding never makes a message smaller)');
  }
}

/** Why a PEM file cannot be used (never its content), or undefined when it can. */
function pemFileProblem(file: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return `cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`;
  }
  const ok = kind === 'CERTIFICATE' ? /-----BEGIN CERTIFICATE-----/.test(text) : /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(text);
  return ok ? undefined : `is not a PEM ${kind === 'CERTIFICATE' ? 'certificate' : 'private key'} file`;
}

/** Checks of the operator and integrator surface keys; every problem is reported, no value is echoed. */
function checkSurfaces(
  env: { [k: string]: unknown } & Record<'ITK3_CODEC_KEYS' | 'ITK3_MODE', string>,
  ctx: z.RefinementCtx,
): void {
  const add = (key: string, message: string): void => ctx.addIssue({ code: 'custom', path: [key], message });
  if (!isKeyRing(env.ITK3_CODEC_KEYS)) add('ITK3_CODEC_KEYS', 'each entry must be keyId:base64 of 32 bytes, key ids unique');
  const tokens = env.ITK3_API_TOKENS as string | undefined;
  if (tokens !== undefined) {
    try {
      parseApiTokens(tokens);
    } catch (err) {
      add('ITK3_API_TOKENS', (err as Error).message);
    }
  }
  const roles = env.ITK3_API_CLIENT_CERT_ROLES as string | undefined;
  if (roles !== undefined && !/^[^:,]+:(operator|submitter)(,[^:,]+:(operator|submitter))*$/.test(roles)) {
    add('ITK3_API_CLIENT_CERT_ROLES', 'each entry must be cn:operator or cn:submitter');
  }
  if (!!env.ITK3_API_TLS_CERT !== !!env.ITK3_API_TLS_KEY) add('ITK3_API_TLS_CERT', 'ITK3_API_TLS_CERT and ITK3_API_TLS_KEY go together');
  if (env.ITK3_API_TLS_CA && !env.ITK3_API_TLS_CERT) add('ITK3_API_TLS_CA', 'mutual TLS needs ITK3_API_TLS_CERT and ITK3_API_TLS_KEY');
  if (env.ITK3_API_CLIENT_CERT_ROLES && !env.ITK3_API_TLS_CA) add('ITK3_API_CLIENT_CERT_ROLES', 'needs ITK3_API_TLS_CA (mutual TLS)');
  if (env.ITK3_MODE === 'production' && !tokens && !env.ITK3_API_TLS_CA) {
    add('ITK3_API_TOKENS', 'production needs ITK3_API_TOKENS or mutual TLS (ITK3_API_TLS_CA)');
  }
  if (!!env.ITK3_ESCALATION_WEBHOOK_URL !== !!env.ITK3_ESCALATION_WEBHOOK_SECRET) {
    add('ITK3_ESCALATION_WEBHOOK_SECRET', 'ITK3_ESCALATION_WEBHOOK_URL and ITK3_ESCALATION_WEBHOOK_SECRET go together');
  }
  if (!!env.ITK3_SMTP_URL !== !!env.ITK3_ESCALATION_EMAIL_TO) {
    add('ITK3_ESCALATION_EMAIL_TO', 'ITK3_SMTP_URL and ITK3_ESCALATION_EMAIL_TO go together');
  }
}

/** `keyId:base64(32 bytes)` entries, comma-separated, ids unique. */
function isKeyRing(spec: string): boolean {
  const ids = new Set<string>();
  for (const part of spec.split(',')) {
    const [id, key, extra] = part.trim().split(':');
    if (!id || !key || extra !== undefined || ids.has(id) || Buffer.from(key, 'base64').length !== 32) return false;
    ids.add(id);
  }
  return true;
}

export interface KeyRing {
  keys: Map<string, Buffer>;
  /** The key that encrypts new data; every key in `keys` decrypts. */
  activeKeyId: string;
}

export function parseKeyRing(spec: string): KeyRing {
  const keys = new Map<string, Buffer>();
  for (const part of spec.split(',')) {
    const [id, key] = part.trim().split(':') as [string, string];
    keys.set(id, Buffer.from(key, 'base64'));
  }
  return { keys, activeKeyId: [...keys.keys()][0]! };
}

/**
 * Locally without ITK3_ACTOR_KEYS (production refuses that): keys derived from the codec keys, a secret the
 * API and the worker already share. HKDF with its own label, so no key is used for two purposes.
 */
function derivedActorKeys(codec: KeyRing): KeyRing {
  const keys = new Map<string, Buffer>();
  for (const [id, key] of codec.keys) keys.set(`${id}-actor`, Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'itk3-courier actor token', 32)));
  return { keys, activeKeyId: `${codec.activeKeyId}-actor` };
}

export type Role = 'operator' | 'submitter';
export interface ApiToken {
  name: string;
  role: Role;
  secret: string;
}

/** `name:role:secret` entries. Errors name the entry by position, never the secret. */
export function parseApiTokens(spec: string): ApiToken[] {
  const out: ApiToken[] = [];
  spec.split(',').forEach((part, i) => {
    const [name, role, ...rest] = part.trim().split(':');
    const secret = rest.join(':');
    if (!name || (role !== 'operator' && role !== 'submitter') || secret.length < 16) {
      throw new Error(`entry ${i + 1} must be name:operator|submitter:secret with a secret of 16+ characters`);
    }
    if (out.some((t) => t.name === name)) throw new Error(`entry ${i + 1} repeats the name ${name}`);
    out.push({ name, role, secret });
  });
  return out;
}

export type Env = z.infer<typeof EnvSchema>;

export interface AppConfig {
  env: Env;
  /** MESH inbox poll interval: MESH guidance is no more often than every 5 minutes in production. */
  pollIntervalMs: number;
  storeKeys: Map<string, Buffer>;
  activeStoreKeyId: string;
  /** Payload codec keys (AES-256-GCM); old keys stay so old histories stay readable. */
  codecKeys: KeyRing;
  apiTokens: ApiToken[];
  /** Client-certificate CN -> role, for mutual TLS. */
  clientCertRoles: Map<string, Role>;
  /** Keys that sign and verify operator-update actor tokens (activities/actor-token.ts). */
  actorKeys: KeyRing;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parse the environment. Problems name the variable and the rule, never the value. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  // An empty value means unset (`KEY=` in .env.example or a compose file), not an invalid value.
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(source).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`));
  }
  const env = parsed.data;
  const storeKeys = new Map<string, Buffer>();
  for (const part of env.STORE_KEYS.split(',')) {
    const [id, key] = part.split(':') as [string, string];
    storeKeys.set(id, Buffer.from(key, 'base64'));
  }
  const activeStoreKeyId = env.STORE_KEYS.split(':')[0] as string;
  const pollIntervalMs = env.MESH_POLL_INTERVAL ?? (env.ITK3_MODE === 'production' ? 300_000 : 2_000);
  const codecKeys = parseKeyRing(env.ITK3_CODEC_KEYS);
  const apiTokens = env.ITK3_API_TOKENS ? parseApiTokens(env.ITK3_API_TOKENS) : [];
  const clientCertRoles = new Map<string, Role>(
    (env.ITK3_API_CLIENT_CERT_ROLES ?? '').split(',').filter(Boolean).map((p) => p.split(':') as [string, Role]),
  );
  const actorKeys = env.ITK3_ACTOR_KEYS ? parseKeyRing(env.ITK3_ACTOR_KEYS) : derivedActorKeys(codecKeys);
  return { env, pollIntervalMs, storeKeys, activeStoreKeyId, codecKeys, apiTokens, clientCertRoles, actorKeys };
}

/**
 * For process entry points: parse the environment, or print every problem (never a value) and exit 2
 * before connecting to anything.
 */
export function loadConfigOrExit(source: NodeJS.ProcessEnv = process.env): AppConfig {
  try {
    return loadConfig(source);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
