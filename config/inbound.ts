/**
 * Inbound configuration: which MESH mailboxes are polled, with which passwords, and how long
 * an unmatched message waits for a second correlation before an operator is told. Read from the keys
 * that config/env.ts declares; checked there at start-up with every other key (values never echoed).
 */
import { parseDuration } from './duration';
import type { z } from 'zod';
import type { Env } from './env';

const MAILBOX = /^[A-Z0-9]{3,20}$/;

export interface InboxMailbox {
  mailboxId: string;
  password: string;
}

export interface InboundSettings {
  /** The sending mailbox first, then the extra ones; each gets its own durable poller. */
  mailboxes: InboxMailbox[];
  /** Delays before an unmatched message is correlated again (visibility lag), then it is raised. */
  rematchDelaysMs: number[];
}

type InboundEnv = Pick<Env, 'ITK3_MODE' | 'MESH_MAILBOX_ID' | 'MESH_MAILBOX_PASSWORD' | 'MESH_MAILBOXES' | 'MESH_MAILBOX_PASSWORDS' | 'ITK3_QUARANTINE_REMATCH'>;

const DEFAULT_REMATCH = '30s,5m';

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

function parsePasswords(value: string | undefined): Map<string, string> | { badEntry: number } {
  const out = new Map<string, string>();
  const parts = splitList(value);
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i]!;
    const at = part.indexOf(':');
    const id = at > 0 ? part.slice(0, at).toUpperCase() : '';
    const password = at > 0 ? part.slice(at + 1) : '';
    if (!MAILBOX.test(id) || !password) return { badEntry: i + 1 };
    out.set(id, password);
  }
  return out;
}

function parseDurations(value: string): number[] | undefined {
  // An empty value means unset (config/env.ts), so "no rematch" is spelled `none`.
  if (value.trim().toLowerCase() === 'none') return [];
  const out: number[] = [];
  for (const part of splitList(value)) {
    const ms = parseDuration(part);
    if (ms === undefined) return undefined;
    out.push(ms);
  }
  return out;
}

/** Problems with the inbound keys, as `[key, message]`; no value is ever part of a message. */
export function inboundProblems(env: InboundEnv): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  const ids = splitList(env.MESH_MAILBOXES).map((m) => m.toUpperCase());
  if (ids.some((m) => !MAILBOX.test(m))) problems.push(['MESH_MAILBOXES', 'must be comma-separated upper-case MESH mailbox ids']);
  if (new Set(ids).size !== ids.length) problems.push(['MESH_MAILBOXES', 'names a mailbox twice']);
  const passwords = parsePasswords(env.MESH_MAILBOX_PASSWORDS);
  if (!(passwords instanceof Map)) {
    problems.push(['MESH_MAILBOX_PASSWORDS', `entry ${passwords.badEntry} must be MAILBOX:password`]);
  } else if (env.ITK3_MODE === 'production') {
    for (const id of new Set(ids)) {
      if (id !== env.MESH_MAILBOX_ID && !passwords.has(id)) problems.push(['MESH_MAILBOX_PASSWORDS', `has no password for ${id} (required in production)`]);
    }
  }
  if (env.ITK3_QUARANTINE_REMATCH !== undefined && parseDurations(env.ITK3_QUARANTINE_REMATCH) === undefined) {
    problems.push(['ITK3_QUARANTINE_REMATCH', 'must be comma-separated durations such as 30s,5m, or none']);
  }
  return problems;
}

/** zod superRefine hook for config/env.ts. */
export function checkInboundEnv(env: InboundEnv, ctx: z.RefinementCtx): void {
  for (const [key, message] of inboundProblems(env)) ctx.addIssue({ code: 'custom', path: [key], message });
}

/** Settings from an environment that passed `checkInboundEnv`. */
export function inboundSettings(env: InboundEnv): InboundSettings {
  const passwords = parsePasswords(env.MESH_MAILBOX_PASSWORDS);
  const known = passwords instanceof Map ? passwords : new Map<string, string>();
  const mailboxes: InboxMailbox[] = [{ mailboxId: env.MESH_MAILBOX_ID, password: env.MESH_MAILBOX_PASSWORD }];
  for (const id of splitList(env.MESH_MAILBOXES).map((m) => m.toUpperCase())) {
    if (id === env.MESH_MAILBOX_ID) continue;
    // Local mode only (checked above for production): the sandbox gives every mailbox the same password.
    mailboxes.push({ mailboxId: id, password: known.get(id) ?? env.MESH_MAILBOX_PASSWORD });
  }
  return { mailboxes, rematchDelaysMs: parseDurations(env.ITK3_QUARANTINE_REMATCH ?? DEFAULT_REMATCH) ?? [] };
}
