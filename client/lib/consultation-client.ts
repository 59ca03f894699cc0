/**
 * A typed client for the consultation routes (client/api/consultation-routes.ts), for backend services, the
 * `itk3 consultation` commands and the tests. Errors come back as `CourierApiError`, like the rest of the
 * HTTP API. The fetch function is injectable.
 */
import type { ConsultationEventRequest, ConsultationStatus, ConsultationView } from '../../contracts/consultation';
import type { ConsultationEventAccepted, ConsultationSummary } from './api-schemas';
import { requestJson } from './http-client';

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

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return requestJson<T>(this.fetchFn, this.baseUrl, { method, path, body, headers: this.headers });
  }
}
