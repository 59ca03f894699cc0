/**
 * Who is calling: bearer tokens from configuration (`ITK3_API_TOKENS`) or, with mutual TLS, the subject
 * CN of a verified client certificate (`ITK3_API_CLIENT_CERT_ROLES`). Two roles: a submitter submits and
 * reads; an operator also acts on deliveries and may decode payloads through the codec server.
 * Secrets are compared in constant time over their SHA-256 digests and never logged.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ApiToken, Role } from '../config/env';

export interface Principal {
  name: string;
  role: Role;
  via: 'token' | 'client-cert' | 'session';
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** True when `role` may do what `needed` requires: an operator may do everything a submitter may. */
export function roleAllows(role: Role, needed: Role): boolean {
  return role === 'operator' || needed === 'submitter';
}

export interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  socket: unknown;
}

export class Authenticator {
  private readonly tokens: Array<{ name: string; role: Role; digest: Buffer }>;

  constructor(
    tokens: readonly ApiToken[],
    private readonly certRoles: ReadonlyMap<string, Role> = new Map(),
  ) {
    this.tokens = tokens.map((t) => ({ name: t.name, role: t.role, digest: digest(t.secret) }));
  }

  /** True when no way of authenticating is configured: every request is then refused. */
  get empty(): boolean {
    return this.tokens.length === 0 && this.certRoles.size === 0;
  }

  fromBearer(header: string | undefined): Principal | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return undefined;
    const d = digest(m[1]!);
    // Check every token, so timing does not tell which one nearly matched.
    let found: Principal | undefined;
    for (const t of this.tokens) if (timingSafeEqual(d, t.digest)) found = { name: t.name, role: t.role, via: 'token' };
    return found;
  }

  fromClientCertificate(socket: unknown): Principal | undefined {
    const tls = socket as Partial<TLSSocket> | undefined;
    if (!tls || typeof tls.getPeerCertificate !== 'function' || !tls.authorized) return undefined;
    const cn = tls.getPeerCertificate().subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    const role = name ? this.certRoles.get(name) : undefined;
    return name && role ? { name, role, via: 'client-cert' } : undefined;
  }

  fromRequest(req: RequestLike): Principal | undefined {
    const auth = req.headers.authorization;
    return this.fromBearer(Array.isArray(auth) ? auth[0] : auth) ?? this.fromClientCertificate(req.socket);
  }
}

/**
 * Short browser sessions for the codec server (the Web UI can send cookies, not our bearer token):
 * `name.role.expiry.hmac`, signed with a key made at start-up, so a restart signs everyone out.
 */
export class SessionSigner {
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  sign(p: Principal, ttlMs: number, now = Date.now()): string {
    const body = `${encodeURIComponent(p.name)}.${p.role}.${now + ttlMs}`;
    return `${body}.${createHmac('sha256', this.key).update(body).digest('base64url')}`;
  }

  verify(value: string | undefined, now = Date.now()): Principal | undefined {
    const parts = (value ?? '').split('.');
    if (parts.length !== 4) return undefined;
    const [name, role, expiry, mac] = parts as [string, string, string, string];
    const expected = createHmac('sha256', this.key).update(`${name}.${role}.${expiry}`).digest();
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (Number(expiry) < now || (role !== 'operator' && role !== 'submitter')) return undefined;
    return { name: decodeURIComponent(name), role, via: 'session' };
  }
}
