/**
 * The codec server for the Temporal Web UI and CLI: `POST /decode` and
 * `POST /encode` with proto3-JSON payloads, CORS for the UI origins only, and every codec request
 * authenticated: an operator bearer token (`temporal ... --codec-auth 'Bearer <token>'`) or a browser
 * session cookie obtained at `/login` (the UI sends it when its codec settings include credentials, as
 * the ui-server config of `npm run up` does).
 * Anyone else gets 401 and keeps seeing ciphertext. Each request leaves an audit line: who, which
 * namespace, how many payloads; never a payload.
 *
 * Operator updates typed into the Web UI's "Send an Update" form are encoded here before the UI sends
 * them. With actor keys configured, an operator-action input (a JSON object with a `reason` or `note`)
 * is stamped on its way through: `actor` becomes the signed-in principal, whatever was typed, and an
 * `actorToken` binds that principal to the namespace and the exact input, so the workflow records a
 * verified actor. A name typed into the form is never enough on its own.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type Authenticator, type Principal, SessionSigner } from '../client/auth';
import { issueInputActorToken } from '../activities/actor-token';
import type { KeyRing } from '../config/env';
import { credentialQueryKeys } from '../config/logger';

export interface CodecServerDeps {
  codec: PayloadCodec;
  auth: Authenticator;
  /** Exact origins allowed by CORS, e.g. http://127.0.0.1:8233. */
  allowedOrigins: readonly string[];
  logger: Logger;
  sessionTtlMs?: number;
  sessions?: SessionSigner;
  /** Largest request body read, in bytes (ITK3_CODEC_BODY_LIMIT); a larger one is refused with 413 unread. */
  bodyLimitBytes?: number;
  /** ITK3_ACTOR_KEYS: when set, operator-action inputs encoded here are stamped with the principal and a token. */
  actorKeys?: KeyRing;
}

/** Default request body limit: the UI decodes one history page of small claim-check payloads at a time. */
export const DEFAULT_CODEC_BODY_LIMIT = 4 * 1024 * 1024;

const SESSION_COOKIE = 'itk3_codec_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the codec routes' onRequest hook once the caller is an authenticated operator. */
    codecPrincipal?: Principal;
  }
}

const JsonPayloadSchema = z.object({
  metadata: z.record(z.string(), z.base64()).nullish(),
  data: z.base64().nullish(),
});
const PayloadsBodySchema = z.object({ payloads: z.array(JsonPayloadSchema).max(10_000) });
type JsonPayload = z.infer<typeof JsonPayloadSchema>;

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

/**
 * An operator-action input as the UI sends it to be encoded, stamped for `who`; any other payload is
 * returned as it came. Only plain JSON objects with a reason or note qualify: workflow inputs and
 * signals the UI encodes pass untouched.
 */
function stampOperatorInput(p: Payload, who: Principal, namespace: string, keys: KeyRing): { payload: Payload; stamped: boolean } {
  if (Buffer.from(p.metadata?.encoding ?? []).toString('utf8') !== 'json/plain') return { payload: p, stamped: false };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(p.data ?? []).toString('utf8'));
  } catch {
    return { payload: p, stamped: false };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { payload: p, stamped: false };
  const o = value as Record<string, unknown>;
  if (typeof o.reason !== 'string' && typeof o.note !== 'string') return { payload: p, stamped: false };
  const { actorToken: _typed, ...rest } = o;
  const input = { ...rest, actor: who.name };
  const actorToken = issueInputActorToken(keys, { principal: who.name, namespace, input });
  return { payload: { ...p, data: Buffer.from(JSON.stringify({ ...input, actorToken }), 'utf8') }, stamped: true };
}

function cookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

const LOGIN_PAGE = `<!doctype html><meta charset="utf-8"><title>ITK3 Courier codec server</title>
<h1>ITK3 Courier codec server</h1>
<p>Sign in with an operator token to see decoded payloads in the Temporal Web UI. The UI sends this
session with every decode request; open it on the same host name as this page (127.0.0.1 or localhost, not a mix).</p>
<form method="post" action="/login"><label>Operator token <input type="password" name="token" autocomplete="off"></label>
<button type="submit">Sign in</button></form>`;

export function buildCodecServer(deps: CodecServerDeps): FastifyInstance {
  const bodyLimit = deps.bodyLimitBytes ?? DEFAULT_CODEC_BODY_LIMIT;
  // Login forms are tiny; the codec routes get the configured limit. Fastify checks Content-Length before
  // reading and counts the bytes of a chunked body, so an oversized body is never buffered.
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, disableRequestLogging: true, bodyLimit: 16 * 1024 });
  const sessions = deps.sessions ?? new SessionSigner();
  const ttl = deps.sessionTtlMs ?? 8 * 3600_000;
  const origins = new Set(deps.allowedOrigins);

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // Credentials travel in the Authorization header or the session cookie, never in a URL (proxy logs,
  // browser history, Referer): refuse one in the query string before anything else.
  app.addHook('onRequest', async (req, reply) => {
    if (credentialQueryKeys(req.url).length > 0) return reply.status(400).send({ error: 'CREDENTIAL_IN_QUERY', message: 'credentials are not accepted in the query string; send them in the Authorization header' });
    return undefined;
  });

  // CORS: only the Web UI origins, credentials allowed, so never a wildcard.
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      reply.header('Access-Control-Allow-Origin', origin);
      reply.header('Access-Control-Allow-Credentials', 'true');
      reply.header('Vary', 'Origin');
    }
  });
  app.options('/*', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin || !origins.has(origin)) return reply.status(403).send({ error: 'ORIGIN_NOT_ALLOWED' });
    return reply
      .header('Access-Control-Allow-Methods', 'POST, GET, OPTIONS')
      .header('Access-Control-Allow-Headers', 'X-Namespace, Content-Type, Authorization')
      .header('Access-Control-Max-Age', '600')
      .status(204)
      .send();
  });

  const principalOf = (req: FastifyRequest): Principal | undefined =>
    deps.auth.fromRequest(req.raw) ?? sessions.verify(cookie(req, SESSION_COOKIE));

  // Authentication runs in onRequest, before fastify reads or parses the body: an unauthenticated caller
  // cannot make the server buffer and parse anything.
  const authenticate = (direction: 'encode' | 'decode') => async (req: FastifyRequest, reply: FastifyReply) => {
    const who = principalOf(req);
    if (!who || who.role !== 'operator') {
      const namespace = String(req.headers['x-namespace'] ?? '');
      deps.logger.warn({ audit: true, action: `codec.${direction}`, outcome: 'denied', namespace, principal: who?.name }, 'codec request refused');
      return reply.status(who ? 403 : 401).send({ error: who ? 'FORBIDDEN' : 'UNAUTHENTICATED', message: 'an operator token or session is required' });
    }
    req.codecPrincipal = who;
    return undefined;
  };

  const codecRoute = (direction: 'encode' | 'decode') => async (req: FastifyRequest, reply: FastifyReply) => {
    const who = req.codecPrincipal!;
    const namespace = String(req.headers['x-namespace'] ?? '');
    const body = PayloadsBodySchema.safeParse(req.body);
    if (!body.success) {
      return reply.status(400).send({ error: 'INVALID_BODY', message: 'expected {"payloads":[{"metadata":{...},"data":"<base64>"}]}' });
    }
    let input = body.data.payloads.map(fromJson);
    let stamped = 0;
    if (direction === 'encode' && deps.actorKeys) {
      const keys = deps.actorKeys;
      input = input.map((p) => {
        const r = stampOperatorInput(p, who, namespace, keys);
        if (r.stamped) stamped += 1;
        return r.payload;
      });
    }
    let output: Payload[];
    try {
      output = direction === 'encode' ? await deps.codec.encode(input) : await deps.codec.decode(input);
    } catch (err) {
      deps.logger.warn({ audit: true, action: `codec.${direction}`, outcome: 'failed', namespace, principal: who.name, error: (err as Error).message }, 'codec request failed');
      return reply.status(422).send({ error: 'CODEC_FAILED', message: (err as Error).message });
    }
    deps.logger.info({ audit: true, action: `codec.${direction}`, outcome: 'ok', namespace, principal: who.name, via: who.via, payloads: input.length, ...(stamped > 0 ? { actorStamped: stamped } : {}) }, 'codec request');
    return { payloads: output.map(toJson) };
  };
  for (const direction of ['decode', 'encode'] as const) {
    app.post(`/${direction}`, { onRequest: authenticate(direction), bodyLimit }, codecRoute(direction));
  }

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/login', async (_req, reply) => reply.type('text/html').send(LOGIN_PAGE));
  app.post('/login', async (req, reply) => {
    const token = (req.body as Record<string, unknown> | undefined)?.token;
    const who = typeof token === 'string' ? deps.auth.fromBearer(`Bearer ${token}`) : undefined;
    if (!who || who.role !== 'operator') {
      deps.logger.warn({ audit: true, action: 'codec.login', outcome: 'denied' }, 'codec sign-in refused');
      return reply.status(401).type('text/html').send('<p>Not an operator token.</p><p><a href="/login">Try again</a></p>');
    }
    deps.logger.info({ audit: true, action: 'codec.login', outcome: 'ok', principal: who.name }, 'codec sign-in');
    return reply
      .header('Set-Cookie', `${SESSION_COOKIE}=${encodeURIComponent(sessions.sign(who, ttl))}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(ttl / 1000)}`)
      .type('text/html')
      .send(`<p>Signed in as ${who.name.replace(/[^\w.@-]/g, '')}. Return to the Temporal Web UI.</p>`);
  });
  app.post('/logout', async (_req, reply) =>
    reply.header('Set-Cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`).send({ status: 'signed out' }),
  );
  return app;
}
