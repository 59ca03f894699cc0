/**
 * A typed client for the ITK3 Courier HTTP API, for Node services, the `itk3` CLI and the tests. Types
 * come from the same zod schemas the API validates with. The fetch function is injectable; errors are
 * one class, `CourierApiError`, carrying the HTTP status, the error code and the issues.
 */
import type { DeliveryState, Issue, OperatorActionResult, SubmissionInput } from '../../contracts';
import { OPERATOR_ACTIONS, type OperatorActionName } from '../../contracts/operator-actions';
import type { ListQuery, ListResponse, OperatorActionBody, SubmitResponse, TimelineResponse } from './api-schemas';

export type { SubmitResponse, ListQuery, ListResponse, TimelineResponse } from './api-schemas';

export class CourierApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly issues: Issue[],
    /** For a refused operator action: the workflow's reason code (e.g. NO_OPEN_ESCALATION). */
    readonly refusal?: string,
  ) {
    super(message);
    this.name = 'CourierApiError';
  }
}

export interface CourierHttpClientOptions {
  baseUrl: string;
  /** Bearer token (ITK3_API_TOKENS); omit when the API authenticates by client certificate. */
  token?: string;
  fetch?: typeof fetch;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
}

/** One method per operator action of the registry, named as the action; the class must have them all. */
export type OperatorActionMethods = {
  [N in OperatorActionName]: (workflowId: string, body: OperatorActionBody<N>) => Promise<OperatorActionResult>;
};

export class CourierHttpClient implements OperatorActionMethods {
  private readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: CourierHttpClientOptions | string, fetchFn?: typeof fetch) {
    const o = typeof options === 'string' ? { baseUrl: options, ...(fetchFn ? { fetch: fetchFn } : {}) } : options;
    this.baseUrl = o.baseUrl;
    this.token = o.token;
    this.fetchFn = o.fetch ?? fetch;
    this.timeoutMs = o.timeoutMs ?? 30_000;
  }

  /** Submit a document. With `idempotencyKey`, a retry with the same body answers the same workflow. */
  submit(submission: SubmissionInput | unknown, opts: { idempotencyKey?: string } = {}): Promise<SubmitResponse> {
    return this.request<SubmitResponse>('POST', '/v1/documents', submission, opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {});
  }

  status(workflowId: string): Promise<DeliveryState> {
    return this.request<DeliveryState>('GET', `/v1/documents/${encodeURIComponent(workflowId)}`);
  }

  timeline(workflowId: string): Promise<TimelineResponse> {
    return this.request<TimelineResponse>('GET', `/v1/documents/${encodeURIComponent(workflowId)}/timeline`);
  }

  list(query: ListQuery = {}): Promise<ListResponse> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      params.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    const qs = params.toString();
    return this.request<ListResponse>('GET', `/v1/documents${qs ? `?${qs}` : ''}`);
  }

  /** Every page of a listing, one delivery at a time. */
  async *listAll(query: Omit<ListQuery, 'cursor'> = {}): AsyncGenerator<ListResponse['items'][number]> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...query, ...(cursor ? { cursor } : {}) });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  correct(workflowId: string, body: OperatorActionBody<'correct'>): Promise<OperatorActionResult> {
    return this.operatorAction('correct', workflowId, body);
  }
  resend(workflowId: string, body: OperatorActionBody<'resend'>): Promise<OperatorActionResult> {
    return this.operatorAction('resend', workflowId, body);
  }
  replace(workflowId: string, body: OperatorActionBody<'replace'>): Promise<OperatorActionResult> {
    return this.operatorAction('replace', workflowId, body);
  }
  abandon(workflowId: string, body: OperatorActionBody<'abandon'>): Promise<OperatorActionResult> {
    return this.operatorAction('abandon', workflowId, body);
  }
  acknowledgeEscalation(workflowId: string, body: OperatorActionBody<'acknowledgeEscalation'>): Promise<OperatorActionResult> {
    return this.operatorAction('acknowledgeEscalation', workflowId, body);
  }
  changeDeadlines(workflowId: string, body: OperatorActionBody<'changeDeadlines'>): Promise<OperatorActionResult> {
    return this.operatorAction('changeDeadlines', workflowId, body);
  }

  /** Any operator action by its name (contracts/operator-actions.ts), at the route the registry gives it. */
  operatorAction<N extends OperatorActionName>(name: N, workflowId: string, body: OperatorActionBody<N>): Promise<OperatorActionResult> {
    return this.operatorActionJson(name, workflowId, body);
  }

  /** An operator action whose body was read from elsewhere (a file, the command line): the API checks it. */
  operatorActionJson(name: OperatorActionName, workflowId: string, body: unknown): Promise<OperatorActionResult> {
    return this.request<OperatorActionResult>('POST', `/v1/documents/${encodeURIComponent(workflowId)}/actions/${OPERATOR_ACTIONS[name].route}`, body);
  }

  /** The API's OpenAPI document. */
  openApi(): Promise<Record<string, unknown>> {
    return this.request<Record<string, unknown>>('GET', '/openapi.json');
  }

  private request<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return requestJson<T>(this.fetchFn, this.baseUrl, { method, path, body, headers, timeoutMs: this.timeoutMs });
  }
}

export interface JsonRequest {
  method: string;
  /** Path (and query) relative to the base URL. */
  path: string;
  /** Sent as JSON (with `content-type: application/json`) when defined. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Abort the request after this long; none when omitted. */
  timeoutMs?: number;
}

/**
 * One JSON call to the ITK3 Courier HTTP API, shared by the typed clients (documents, consultations,
 * quarantine): a non-2xx answer, or one that is not JSON, becomes a `CourierApiError` with the HTTP
 * status and the API's error code, message and issues.
 */
export async function requestJson<T>(fetchFn: typeof fetch, baseUrl: string, req: JsonRequest): Promise<T> {
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetchFn(new URL(req.path, baseUrl), {
    method: req.method,
    headers,
    body: req.body === undefined ? undefined : JSON.stringify(req.body),
    ...(req.timeoutMs !== undefined ? { signal: AbortSignal.timeout(req.timeoutMs) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    if (!res.ok) throw new CourierApiError(res.status, 'HTTP_ERROR', res.statusText, []);
    throw new CourierApiError(res.status, 'INVALID_RESPONSE', 'the API answered with something that is not JSON', []);
  }
  if (!res.ok) {
    const refusal = typeof json.refusal === 'string' ? json.refusal : undefined;
    throw new CourierApiError(res.status, String(json.error ?? 'HTTP_ERROR'), String(json.message ?? res.statusText), (json.issues as Issue[]) ?? [], refusal);
  }
  return json as T;
}
