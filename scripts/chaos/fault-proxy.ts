/**
 * A local HTTP proxy in front of mesh-sandbox that injects transport and server faults, so tests and
 * chaos runs can prove what ITK3 Courier does when MESH misbehaves: 5xx, 429 with Retry-After, resets
 * before the request reaches MESH, lost responses and timeouts after MESH has acted on the request, and
 * slow responses. Faults come from a fixed sequence per rule (deterministic tests) or from a weighted
 * mix drawn with a seeded generator (chaos runs). Loopback only.
 * (Moved here from test/integration/mesh/fault-proxy.ts, which re-exports it, and generalised.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one matching request. */
export type Fault =
  | 'pass'
  /** Forward to MESH, let MESH process it, then cut the client's connection: the response is lost. */
  | 'drop-response'
  /** Cut the connection without forwarding: MESH never sees the request (a reset). */
  | 'drop-request'
  /** Answer 404 without forwarding (e.g. an endpoint real MESH may not serve). */
  | 'not-found'
  /** Answer 500/502/503 without forwarding: MESH never sees the request. */
  | 'server-error'
  /** Forward to MESH, let MESH process it, then answer 500 instead of MESH's answer. */
  | 'error-after-forward'
  /** Answer 429 with Retry-After without forwarding. */
  | 'rate-limit'
  /** Forward to MESH, let MESH process it, then say nothing until the client gives up (a timeout). */
  | 'timeout-after-forward'
  /** Forward, then deliver MESH's answer only after a delay. */
  | 'slow';

export const ALL_FAULTS: readonly Fault[] = ['pass', 'drop-response', 'drop-request', 'not-found', 'server-error', 'error-after-forward', 'rate-limit', 'timeout-after-forward', 'slow'];

export interface FaultRule {
  method: string;
  /** Matched against the path without the query string. */
  path: RegExp;
  /** Faults applied to the 1st, 2nd, ... matching request; 'pass' after the list runs out. */
  faults?: Fault[];
  /** Or: each matching request draws a fault from this weighted mix (weights need not sum to 1). */
  mix?: Array<{ fault: Fault; weight: number }>;
}

export interface FaultProxyOptions {
  /** Seed of the generator that draws from `mix` (same seed, same sequence of draws). */
  seed?: number;
  /** Delay of a 'slow' response (default 2000 ms). */
  slowMs?: number;
  /** How long a 'timeout-after-forward' holds the connection before closing it (default 150 s). */
  holdMs?: number;
  /** Retry-After of a 'rate-limit' answer, in seconds (default 1). */
  retryAfterSeconds?: number;
  /** Runs before a request is forwarded (e.g. to check what is durable before a MESH acknowledgement). */
  beforeForward?(req: { method: string; path: string }): Promise<void> | void;
}

export interface FaultLogEntry {
  method: string;
  path: string;
  forwarded: boolean;
  fault: Fault;
  /** Status MESH answered, when forwarded and answered. */
  upstreamStatus?: number;
}

export interface FaultProxy {
  url: string;
  /** The rules in force, first match wins; may be changed while the proxy runs (push, splice). */
  rules: FaultRule[];
  /** Every request seen: method, path, whether it reached MESH, and the fault applied. */
  log: FaultLogEntry[];
  /** False: every request passes untouched (e.g. to let a chaos run settle). */
  enabled: boolean;
  /** How many times each fault was applied. */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

/** mulberry32: small and seedable, so a run's faults and fault timing can be repeated (CHAOS_SEED). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draw(mix: NonNullable<FaultRule['mix']>, random: () => number): Fault {
  const total = mix.reduce((a, m) => a + m.weight, 0);
  let r = random() * total;
  for (const m of mix) {
    r -= m.weight;
    if (r < 0) return m.fault;
  }
  return 'pass';
}

export async function startFaultProxy(target: string, rules: FaultRule[], options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  const counters = new Map<FaultRule, number>();
  const log: FaultLogEntry[] = [];
  const random = seeded(options.seed ?? 1);
  const slowMs = options.slowMs ?? 2000;
  const holdMs = options.holdMs ?? 150_000;
  const held = new Set<NodeJS.Timeout>();
  const proxy: FaultProxy = {
    url: '',
    rules: [...rules],
    log,
    enabled: true,
    counts() {
      const out: Record<string, number> = {};
      for (const e of log) out[e.fault] = (out[e.fault] ?? 0) + 1;
      return out;
    },
    close: async () => undefined,
  };

  const answer = (req: http.IncomingMessage, res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    });
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const rule = proxy.rules.find((r) => r.method === req.method && r.path.test(path));
    let fault: Fault = 'pass';
    if (rule && proxy.enabled) {
      const n = counters.get(rule) ?? 0;
      fault = rule.mix ? draw(rule.mix, random) : (rule.faults?.[n] ?? 'pass');
      counters.set(rule, n + 1);
    }
    const entry: FaultLogEntry = { method: req.method ?? '', path, forwarded: false, fault };
    log.push(entry);
    switch (fault) {
      case 'drop-request':
        req.resume();
        req.on('end', () => req.socket.destroy());
        return;
      case 'not-found':
        return answer(req, res, 404, '{"detail":"Not Found"}');
      case 'server-error': {
        const status = [500, 502, 503][Math.floor(random() * 3)]!;
        return answer(req, res, status, '{"internal_id":"chaos","message":"An internal error occurred.\\n\\nPlease contact support."}');
      }
      case 'rate-limit':
        return answer(req, res, 429, '{"detail":"Too Many Requests"}', { 'retry-after': String(options.retryAfterSeconds ?? 1) });
      case 'pass':
      case 'slow':
      case 'drop-response':
      case 'error-after-forward':
      case 'timeout-after-forward':
        break; // forwarded below; the fault applies to MESH's answer
    }
    const forward = async (): Promise<void> => {
      if (options.beforeForward) await options.beforeForward({ method: req.method ?? '', path });
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (upRes) => {
          entry.forwarded = true;
          entry.upstreamStatus = upRes.statusCode;
          if (fault === 'drop-response') {
            // MESH has answered (and acted); the client never hears it.
            upRes.resume();
            upRes.on('end', () => req.socket.destroy());
            return;
          }
          if (fault === 'error-after-forward') {
            upRes.resume();
            upRes.on('end', () => {
              res.writeHead(500, { 'content-type': 'application/json' });
              res.end('{"internal_id":"chaos","message":"An internal error occurred.\\n\\nPlease contact support."}');
            });
            return;
          }
          if (fault === 'timeout-after-forward') {
            upRes.resume();
            const t = setTimeout(() => {
              held.delete(t);
              req.socket.destroy();
            }, holdMs);
            held.add(t);
            return;
          }
          const send = (): void => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
          };
          if (fault === 'slow') setTimeout(send, slowMs);
          else send();
        },
      );
      up.on('error', () => req.socket.destroy());
      req.pipe(up);
    };
    forward().catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const t of held) clearTimeout(t);
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
