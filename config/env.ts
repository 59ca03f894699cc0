/**
 * One zod schema over the environment (STYLE.md §6), parsed once at start-up. Every problem is reported
 * together, secret values are never echoed, and the process exits before connecting to anything.
 */
import { z } from 'zod';
import { msToNumber } from '@temporalio/common';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const duration = z
  .string()
  .refine((v) => {
    try {
      return msToNumber(v as never) > 0;
    } catch {
      return false;
    }
  }, 'must be a duration such as 30s, 15m, 4h or 2d')
  .transform((v) => msToNumber(v as never));
const port = z.coerce.number().int().min(1).max(65535);
const mailbox = z.string().regex(/^[A-Z0-9]{3,20}$/, 'must be an upper-case MESH mailbox id');

export const EnvSchema = z
  .object({
    ITK3_MODE: z.enum(['local', 'production']).default('local'),
    TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().default('courier'),
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
    STORE_DIR: z.string().default('.data/store'),
    /** Comma-separated `keyId:base64(32 bytes)`; the first is used for new content, all for reading. */
    STORE_KEYS: z.string().min(1),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_PRETTY: bool.default(false),
  })
  .superRefine((env, ctx) => {
    if (env.ITK3_ROUTING_MODE === 'mailbox' && !env.ITK3_RECIPIENT_MAILBOX) {
      ctx.addIssue({ code: 'custom', path: ['ITK3_RECIPIENT_MAILBOX'], message: 'is required when ITK3_ROUTING_MODE=mailbox' });
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
  });

export type Env = z.infer<typeof EnvSchema>;

export interface AppConfig {
  env: Env;
  /** MESH inbox poll interval: MESH guidance is no more often than every 5 minutes in production. */
  pollIntervalMs: number;
  storeKeys: Map<string, Buffer>;
  activeStoreKeyId: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parse the environment. Problems name the variable and the rule, never the value. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = EnvSchema.safeParse(source);
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
  return { env, pollIntervalMs, storeKeys, activeStoreKeyId };
}
