import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one matching request. */
export type Fault =
  | 'pass'
  /** Forward to MESH, let MESH process it, then cut the client's connection: the response is lost. */
  | 'drop-response'
  /** Cut the connection without forwarding: MESH never sees the request. */
  | 'drop-request'
  /** Answer 404 without forwarding (e.g. an endpoint real MESH may not serve). */
  | 'not-found';

export interface FaultRule {
  method: string;
  /** Matched against the path without the query string. */
  path: RegExp;
  /** Faults applied to the 1st, 2nd, ... matching request; 'pass' after the list runs out. */
  faults: Fault[];
}

export interface FaultProxy {
  url: string;
  /** Every request seen: method, path, and whether it reached MESH. */
  log: Array<{ method: string; path: string; forwarded: boolean; fault: Fault }>;
  close(): Promise<void>;
}

/**
 * A local HTTP proxy in front of mesh-sandbox that injects transport faults, so tests can prove what the
 * client does when a response is lost after MESH has acted on the request.
 */
export async function startFaultProxy(target: string, rules: FaultRule[]): Promise<FaultProxy> {
  const upstream = new URL(target);
  const counters = rules.map(() => 0);
  const log: FaultProxy['log'] = [];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const ruleIndex = rules.findIndex((r) => r.method === req.method && r.path.test(path));
    let fault: Fault = 'pass';
    if (ruleIndex >= 0) {
      const rule = rules[ruleIndex]!;
      fault = rule.faults[counters[ruleIndex]!] ?? 'pass';
      counters[ruleIndex]! += 1;
    }
    const entry = { method: req.method ?? '', path, forwarded: false, fault };
    log.push(entry);
    if (fault === 'drop-request') {
      req.resume();
      req.on('end', () => req.socket.destroy());
      return;
    }
    if (fault === 'not-found') {
      req.resume();
      req.on('end', () => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"detail":"Not Found"}');
      });
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        entry.forwarded = true;
        if (fault === 'drop-response') {
          // MESH has answered (and acted); the client never hears it.
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
