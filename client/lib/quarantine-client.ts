/**
 * A typed client for the quarantine routes (client/api/quarantine-routes.ts), for the `itk3` CLI and tests.
 * Errors come back as `CourierApiError`, like the rest of the HTTP API. The fetch function is injectable.
 */
import type { QuarantineActionResult, QuarantineReason, RerouteQuarantineInput, ResolveQuarantineInput } from '../../contracts/inbound';
import { QUARANTINE_ACTIONS, type QuarantineActionName } from '../../contracts/quarantine-actions';
import { requestJson } from './http-client';
import type { QuarantineDetail, QuarantineListItem } from './api-schemas';

export class QuarantineHttpClient {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch = fetch,
    private readonly headers: Record<string, string> = {},
  ) {}

  list(opts: { status?: string; reason?: QuarantineReason; limit?: number } = {}): Promise<{ items: QuarantineListItem[] }> {
    const q = new URLSearchParams();
    if (opts.status) q.set('status', opts.status);
    if (opts.reason) q.set('reason', opts.reason);
    if (opts.limit) q.set('limit', String(opts.limit));
    return this.request('GET', `/v1/quarantine${q.size ? `?${q.toString()}` : ''}`);
  }

  show(id: string, content = false): Promise<QuarantineDetail> {
    return this.request('GET', `/v1/quarantine/${encodeURIComponent(id)}${content ? '?content=true' : ''}`);
  }

  /** The API records the authenticated caller as the actor; an `actor` here is ignored. */
  reroute(id: string, body: Omit<RerouteQuarantineInput, 'actor'> & { actor?: string }): Promise<QuarantineActionResult> {
    return this.action('rerouteQuarantine', id, body);
  }

  resolve(id: string, body: Omit<ResolveQuarantineInput, 'actor'> & { actor?: string }): Promise<QuarantineActionResult> {
    return this.action('resolveQuarantine', id, body);
  }

  /** Any quarantine action by its name, at the route the registry (contracts/quarantine-actions.ts) gives it. */
  action(name: QuarantineActionName, id: string, body: unknown): Promise<QuarantineActionResult> {
    return this.request('POST', `/v1/quarantine/${encodeURIComponent(id)}/${QUARANTINE_ACTIONS[name].route}`, body);
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return requestJson<T>(this.fetchFn, this.baseUrl, { method, path, body, headers: this.headers });
  }
}
