/**
 * A typed client for the consultation routes (client/consultation-routes.ts), for backend services, the
 * `itk3 consultation` commands and the tests. Errors come back as `CourierApiError`, like the rest of the
 * HTTP API. The fetch function is injectable.
 */
import type { Issue } from '../contracts';
import type { ConsultationEventRequest, ConsultationStatus, ConsultationView } from '../contracts/consultation';
import type { ConsultationEventAccepted, ConsultationSummary } from './consultation-routes';
import { CourierApiError } from './http-client';

export class ConsultationHttpClient {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch = fetch,
    private readonly headers: Record<string, string> = {},
  ) {}

  /** Tell ITK3 Courier what happened to a consultation (saved with content, finalised, deleted, registeredHere). */
  event(senderOds: string, consultationId: string, event: ConsultationEventRequest): Promise<ConsultationEventAccepted> {
    return this.request('POST', `${this.path(senderOds, consultationId)}/events`, event);
  }

  show(senderOds: string, consultationId: string): Promise<ConsultationView> {
    return this.request('GET', this.path(senderOds, consultationId));
  }

  list(opts: { status?: ConsultationStatus; senderOds?: string; limit?: number } = {}): Promise<{ items: ConsultationSummary[] }> {
    const q = new URLSearchParams();
    if (opts.status) q.set('status', opts.status);
    if (opts.senderOds) q.set('senderOds', opts.senderOds);
    if (opts.limit) q.set('limit', String(opts.limit));
    return this.request('GET', `/v1/consultations${q.size ? `?${q.toString()}` : ''}`);
  }

  private path(senderOds: string, consultationId: string): string {
    return `/v1/consultations/${encodeURIComponent(senderOds)}/${encodeURIComponent(consultationId)}`;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetchFn(new URL(path, this.baseUrl), {
      method,
      headers: { ...this.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!res.ok) {
      throw new CourierApiError(res.status, String(json.error ?? 'HTTP_ERROR'), String(json.message ?? res.statusText), (json.issues as Issue[]) ?? []);
    }
    return json as T;
  }
}
