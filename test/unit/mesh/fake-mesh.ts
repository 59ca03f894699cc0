/** A scripted fetch for unit tests: each call is recorded and answered by the first matching route. */
export interface RecordedCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export type Route = (call: RecordedCall, n: number) => Response | Promise<Response> | undefined;

export function fakeFetch(routes: Route[]): { fetch: typeof fetch; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const impl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const call: RecordedCall = {
      method: init?.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      headers,
      ...(init?.body ? { body: Buffer.from(init.body as Uint8Array) } : {}),
    };
    calls.push(call);
    for (const route of routes) {
      const res = await route(call, calls.length);
      if (res) return res;
    }
    return new Response('{"detail":"no route"}', { status: 599 });
  };
  return { fetch: impl as typeof fetch, calls };
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export function networkError(code: string): Error {
  const cause = Object.assign(new Error(code), { code });
  return Object.assign(new TypeError('fetch failed'), { cause });
}
