/**
 * A typed client for the ITK3 Courier HTTP API, for Node services, the `itk3` CLI and the tests.
 * The fetch function is injectable.
 */
import type { DeliveryState, Issue, SubmissionInput } from '../contracts';

export interface SubmitResponse {
  workflowId: string;
  created: boolean;
  statusUrl: string;
}

export class CourierApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly issues: Issue[],
  ) {
    super(message);
  }
}

export class CourierHttpClient {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  submit(submission: SubmissionInput | unknown): Promise<SubmitResponse> {
    return this.request<SubmitResponse>('POST', '/v1/documents', submission);
  }

  status(workflowId: string): Promise<DeliveryState> {
    return this.request<DeliveryState>('GET', `/v1/documents/${encodeURIComponent(workflowId)}`);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetchFn(new URL(path, this.baseUrl), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
