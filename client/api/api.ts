/**
 * The HTTP API for backend services and operators: submit (with Idempotency-Key), status, timeline, list
 * with filters and cursor paging, and the operator actions, which map one to one onto the delivery
 * workflow's updates. zod at the edge with specific 400s, 404 for unknown ids, 409 for an action the
 * workflow refuses in its current state. Every request to /v1 is authenticated (bearer token or client
 * certificate; roles submitter and operator) and leaves one audit line: who, what, which workflow,
 * outcome; never patient data. The route table below is also the source of `/openapi.json`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { QueryNotRegisteredError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Role } from '../../config/env';
import { credentialQueryKeys } from '../../config/logger';
import { CourierError, ErrorType, type Issue } from '../../contracts';
import { OperatorRefusalCode } from '../../contracts';
import { OPERATOR_UPDATES, stateQuery, timelineQuery } from '../../workflows/definitions';
import { OPERATOR_ACTION_NAMES, OPERATOR_ACTIONS, OPERATOR_INPUT_SCHEMAS, type OperatorActionName } from '../../contracts';
import {
  DeliveryStateSchema,
  ErrorBodySchema,
  IdParamsSchema,
  ListQuerySchema,
  ListResponseSchema,
  OPERATOR_ACTION_BODIES,
  OperatorActionResultSchema,
  SubmitResponseSchema,
  TimelineResponseSchema,
} from '../lib/api-schemas';
import { issueActorToken } from '../../activities/actor-token';
import { type Authenticator, type Principal, roleAllows } from '../auth';
import { DELIVERY_WORKFLOW_TYPE, InvalidCursor, listDeliveries } from './delivery-list';
import { IDEMPOTENCY_KEY } from './idempotency';
import { quarantineRoutes } from './quarantine-routes';
import { consultationRoutes } from './consultation-routes';
import type { ConsultationSettings } from '../../contracts/consultation';
import { buildOpenApi, type RouteSpec } from './openapi';
import { SubmissionSchema } from '../../contracts';
import { IdempotencyConflict, SubmissionConflict, submitDocument, validateSubmission, type SubmitDeps } from './submit';
import { DEFAULT_DEADLINE_BOUNDS, deadlineBoundProblems } from '../../contracts/deadline-bounds';

export interface ApiDeps extends SubmitDeps {
  /** Consultation send window and guidance; read from ITK3_CONSULTATION_* when absent. */
  consultation?: ConsultationSettings;
  client: Client;
  logger: Logger;
  auth: Authenticator;
  bodyLimitBytes?: number;
  /** TLS, and mutual TLS when `ca` is given (client certificates are then requested and verified). */
  https?: { key: Buffer; cert: Buffer; ca?: Buffer };
  /** Prometheus text for `/metrics` (fleet gauges); omitted: no /metrics route. */
  metrics?: () => Promise<string>;
  /** Further route groups (e.g. inbound quarantine), registered behind the same auth and audit. */
  plugins?: ReadonlyArray<(app: FastifyInstance, helpers: RouteHelpers) => void>;
}

/** What a route plug-in gets: the same error shape, auth and audit as the built-in routes. */
export interface RouteHelpers {
  /** Registers a route behind auth (spec.role) and audit, and lists it in /openapi.json. */
  route<T>(spec: RouteSpec, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<T>): void;
  parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S>;
  principal(req: FastifyRequest): Principal;
  describeDelivery(id: string): Promise<unknown>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role that may call the route; absent = public (health, OpenAPI, metrics). */
    role?: Role;
    /** Name of the action in the audit line. */
    action?: string;
  }
  interface FastifyRequest {
    principal?: Principal;
    auditWorkflowId?: string;
  }
}

/** An HTTP error with our error body. */
const REFUSAL_CODES: ReadonlySet<string> = new Set(Object.values(OperatorRefusalCode));
function isOperatorRefusalCode(type: string | null | undefined): type is OperatorRefusalCode {
  return typeof type === 'string' && REFUSAL_CODES.has(type);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
    /** For a refused operator action: the workflow's reason code from the catalogue (contracts/errors.ts). */
    readonly refusal?: OperatorRefusalCode,
  ) {
    super(message);
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const prefix = where === 'body' ? '' : `${where}.`;
  throw new ApiError(400, 'INVALID_REQUEST', `the request ${where} is invalid`, r.error.issues.map((i) => ({ path: `${prefix}${i.path.join('.')}`.replace(/\.$/, ''), message: i.message })));
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const options: FastifyServerOptions & { https?: Record<string, unknown> } = {
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes ?? 10 * 1024 * 1024,
  };
  if (deps.https) {
    options.https = { key: deps.https.key, cert: deps.https.cert, ...(deps.https.ca ? { ca: deps.https.ca, requestCert: true, rejectUnauthorized: false } : {}) };
  }
  const app = Fastify(options) as unknown as FastifyInstance;
  const routes: RouteSpec[] = [];
  const principal = (req: FastifyRequest): Principal => {
    if (!req.principal) throw new ApiError(401, 'UNAUTHENTICATED', 'a bearer token or client certificate is required');
    return req.principal;
  };

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof ApiError) {
      return reply.status(err.status).send({ error: err.code, message: err.message, issues: err.issues, ...(err.refusal ? { refusal: err.refusal } : {}) });
    }
    if (err instanceof CourierError) {
      const status = err.type === ErrorType.SUBMISSION_INVALID || err.type === ErrorType.ITK3_BUILD_REJECTED ? 400 : 500;
      return reply.status(status).send({ error: err.type, message: err.message, issues: err.issues });
    }
    if (err instanceof SubmissionConflict) {
      return reply.status(409).send({ error: 'SUBMISSION_CONFLICT', message: err.message, issues: [{ path: 'documentId', message: `version already submitted as ${err.workflowId} with different content` }] });
    }
    if (err instanceof IdempotencyConflict) {
      return reply.status(409).send({ error: 'IDEMPOTENCY_KEY_REUSED', message: err.message, issues: [{ path: 'Idempotency-Key', message: `first used for ${err.workflowId}` }] });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: err.code ?? 'BAD_REQUEST', message: err.message, issues: [] });
    }
    req.log.error({ err }, 'unhandled API error');
    return reply.status(500).send({ error: 'INTERNAL', message: 'internal error', issues: [] });
  });

  // Authentication and authorisation, before the body is even read.
  // Secure by default: a /v1 route that names no role (e.g. one added by a plug-in) needs an operator.
  const neededRole = (req: FastifyRequest): Role | undefined =>
    req.routeOptions.config.role ?? ((req.routeOptions.url ?? req.url).startsWith('/v1/') ? 'operator' : undefined);
  // A credential in the URL ends up in proxy logs, browser history and Referer headers: refuse it on every
  // route, before authentication, so a caller learns to use the Authorization header (the request log
  // line itself has the value removed by the logger's request serializer).
  app.addHook('onRequest', async (req, reply) => {
    const keys = credentialQueryKeys(req.url);
    if (keys.length === 0) return;
    return reply.status(400).send({
      error: 'CREDENTIAL_IN_QUERY',
      message: 'credentials are not accepted in the query string; send them in the Authorization header',
      issues: keys.map((k) => ({ path: `query.${k}`, message: 'a credential may not be sent in the URL' })),
    });
  });
  app.addHook('onRequest', async (req, reply) => {
    const need = neededRole(req);
    if (!need) return;
    const who = deps.auth.fromRequest(req.raw);
    if (!who || !roleAllows(who.role, need)) {
      const status = who ? 403 : 401;
      audit(req, status, who, who ? 'forbidden' : 'unauthenticated');
      if (!who) reply.header('WWW-Authenticate', 'Bearer');
      return reply.status(status).send({ error: who ? 'FORBIDDEN' : 'UNAUTHENTICATED', message: who ? `this needs the ${need} role` : 'a bearer token or client certificate is required', issues: [] });
    }
    req.principal = who;
  });
  // The audit line: one per request to a /v1 route, whatever its outcome.
  app.addHook('onResponse', async (req, reply) => {
    if (neededRole(req) && req.principal) audit(req, reply.statusCode, req.principal, reply.statusCode < 400 ? 'ok' : 'refused');
  });
  function audit(req: FastifyRequest, status: number, who: Principal | undefined, outcome: string): void {
    const params = req.params as { id?: unknown } | undefined;
    const workflowId = req.auditWorkflowId ?? (typeof params?.id === 'string' ? params.id : undefined);
    deps.logger.info(
      { audit: true, action: req.routeOptions.config.action ?? `${req.method} ${req.routeOptions.url ?? req.url}`, outcome, status, principal: who?.name, role: who?.role, via: who?.via, workflowId, requestId: req.id },
      'audit',
    );
  }

  function route<T>(spec: RouteSpec, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<T>): void {
    routes.push(spec);
    app.route({ method: spec.method, url: spec.url, config: { ...(spec.role ? { role: spec.role } : {}), action: spec.operationId }, handler });
  }

  async function describeDelivery(id: string) {
    try {
      const d = await deps.client.workflow.getHandle(id).describe();
      if (d.type !== DELIVERY_WORKFLOW_TYPE) throw new WorkflowNotFoundError('not a delivery', id, undefined);
      return d;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ApiError(404, 'NOT_FOUND', `no delivery ${id}`);
      throw err;
    }
  }

  const idOf = (req: FastifyRequest): string => parse(IdParamsSchema, req.params, 'path').id;
  const notFound = { 404: { description: 'No delivery with this id', schema: ErrorBodySchema } };
  const badRequest = { 400: { description: 'The request is invalid; `issues` say where and why', schema: ErrorBodySchema } };
  const authErrors = {
    401: { description: 'No valid bearer token or client certificate', schema: ErrorBodySchema },
    403: { description: 'The caller lacks the role', schema: ErrorBodySchema },
  };

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/openapi.json', async () => buildOpenApi(routes));
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics()));
  }

  route(
    {
      method: 'POST',
      url: '/v1/documents',
      operationId: 'submitDocument',
      summary: 'Submit a Send Document submission for delivery over MESH',
      role: 'submitter',
      headers: [{ name: 'Idempotency-Key', description: 'Same key and body: the same workflow. Same key, different body: 409.' }],
      body: SubmissionSchema,
      responses: {
        202: { description: 'Accepted; the delivery workflow runs', schema: SubmitResponseSchema },
        ...badRequest,
        ...authErrors,
        409: { description: 'The Idempotency-Key was used with a different body, or this document id and version was already submitted with different content', schema: ErrorBodySchema },
      },
    },
    async (req, reply) => {
      const header = req.headers['idempotency-key'];
      const key = Array.isArray(header) ? header[0] : header;
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
        throw new ApiError(400, 'INVALID_REQUEST', 'Idempotency-Key must be 1-255 printable ASCII characters', [{ path: 'Idempotency-Key', message: 'invalid' }]);
      }
      const result = await submitDocument(deps, req.body, key === undefined ? {} : { idempotencyKey: key });
      req.auditWorkflowId = result.workflowId;
      return reply.status(202).send({ workflowId: result.workflowId, created: result.created, statusUrl: `/v1/documents/${result.workflowId}` });
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/documents',
      operationId: 'listDocuments',
      summary: 'List deliveries by status, recipient ODS, escalation and submission time, a page at a time',
      role: 'submitter',
      query: ListQuerySchema,
      responses: { 200: { description: 'One page; pass nextCursor for the next', schema: ListResponseSchema }, ...badRequest, ...authErrors },
    },
    async (req) => {
      const q = parse(ListQuerySchema, req.query, 'query');
      try {
        return await listDeliveries(deps.client, q);
      } catch (err) {
        if (err instanceof InvalidCursor) throw new ApiError(400, 'INVALID_CURSOR', err.message, [{ path: 'query.cursor', message: err.message }]);
        throw err;
      }
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/documents/:id',
      operationId: 'getDocumentStatus',
      summary: 'The state of one delivery: status, what it waits for, attempts, escalations, timeline',
      role: 'submitter',
      params: IdParamsSchema,
      responses: { 200: { description: 'The delivery state', schema: DeliveryStateSchema }, ...badRequest, ...authErrors, ...notFound },
    },
    async (req) => {
      const id = idOf(req);
      try {
        return await deps.client.workflow.getHandle(id).query(stateQuery);
      } catch (err) {
        // A workflow of another kind (a quarantine entry, an inbox poller) has no `state` query: for this
        // route it is not a delivery, so 404 like an unknown id.
        if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError) throw new ApiError(404, 'NOT_FOUND', `no delivery ${id}`);
        throw err;
      }
    },
  );

  route(
    {
      method: 'GET',
      url: '/v1/documents/:id/timeline',
      operationId: 'getDocumentTimeline',
      summary: 'What happened to one delivery, in order',
      role: 'submitter',
      params: IdParamsSchema,
      responses: { 200: { description: 'The timeline', schema: TimelineResponseSchema }, ...badRequest, ...authErrors, ...notFound },
    },
    async (req) => {
      const id = idOf(req);
      await describeDelivery(id);
      return { workflowId: id, timeline: await deps.client.workflow.getHandle(id).query(timelineQuery) };
    },
  );

  // One route per action of the registry; its summary and when it is allowed go to /openapi.json.
  for (const name of OPERATOR_ACTION_NAMES) {
    const action = OPERATOR_ACTIONS[name];
    route(
      {
        method: 'POST',
        url: `/v1/documents/:id/actions/${action.route}`,
        operationId: name,
        summary: action.summary,
        description: action.allowedWhen,
        role: 'operator',
        params: IdParamsSchema,
        body: OPERATOR_ACTION_BODIES[name],
        responses: {
          200: { description: 'Accepted by the workflow; its state afterwards', schema: OperatorActionResultSchema },
          ...badRequest,
          ...authErrors,
          ...notFound,
          409: { description: 'Not allowed in the current state (the workflow refused it), or the delivery has ended', schema: ErrorBodySchema },
        },
      },
      async (req) => operatorAction(req, name),
    );
  }

  async function operatorAction<N extends OperatorActionName>(req: FastifyRequest, name: N): Promise<unknown> {
    const id = idOf(req);
    const action = OPERATOR_ACTIONS[name];
    // Read as any action's body: the fields the API handles itself are looked at by name.
    const bodySchema: (typeof OPERATOR_ACTION_BODIES)[OperatorActionName] = OPERATOR_ACTION_BODIES[name];
    const body: Record<string, unknown> = parse(bodySchema, req.body, 'body');
    if (action.changesDeadlines && typeof body.deadlines === 'object' && body.deadlines !== null) {
      // The same bounds as a submission's own deadlines; the workflow's validator applies them again.
      const problems = deadlineBoundProblems(body.deadlines, deps.deadlineBounds ?? DEFAULT_DEADLINE_BOUNDS);
      if (problems.length > 0) throw new ApiError(400, 'INVALID_REQUEST', 'the request body is invalid', problems);
    }
    const actor = principal(req).name;
    const described = await describeDelivery(id);
    if (described.status.name !== 'RUNNING') {
      throw new ApiError(409, 'DELIVERY_CLOSED', `delivery ${id} has ended (${described.status.name}); no action is possible`);
    }
    // The workflow records `actor` as verified only with this token: the update could otherwise come from
    // anyone who can reach Temporal, naming anyone (activities/actor-token.ts).
    const keys = deps.activity.actorKeys;
    const actorToken = keys ? issueActorToken(keys, { principal: actor, workflowId: id, update: name }) : undefined;
    const { submission, ...fields } = body;
    // Corrections and replacements: validate like a submission, store encrypted, pass the claim check.
    const submissionRef = action.storedSubmission
      ? await deps.store.put('submission', Buffer.from(JSON.stringify(validateSubmission(deps, submission))))
      : undefined;
    // The update's own schema checks what the API built from the body, so a body and an update input
    // that drift apart fail here with a 400 rather than as a refusal from the workflow.
    const input = parse(OPERATOR_INPUT_SCHEMAS[name], { ...fields, actor, ...(actorToken ? { actorToken } : {}), ...(submissionRef ? { submissionRef } : {}) }, 'body');
    try {
      return await deps.client.workflow.getHandle(id).executeUpdate(OPERATOR_UPDATES[name], { args: [input] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause;
        const type = cause instanceof ApplicationFailure ? cause.type : undefined;
        const message = cause?.message ?? err.message;
        if (type === 'SUBMISSION_REF_INVALID') {
          const details = cause instanceof ApplicationFailure ? (cause.details?.[0] as Issue[] | undefined) : undefined;
          throw new ApiError(400, 'SUBMISSION_INVALID', message, Array.isArray(details) ? details : []);
        }
        const refusal = isOperatorRefusalCode(type) ? type : undefined;
        if (refusal === OperatorRefusalCode.OPERATOR_INPUT_INVALID) {
          // The action's own input is wrong, not the state: a 400 with each problem as an issue.
          const problems = cause instanceof ApplicationFailure ? (cause.details?.[0] as { problems?: unknown } | undefined)?.problems : undefined;
          const issues = Array.isArray(problems) ? problems.filter((p): p is string => typeof p === 'string').map((p) => ({ message: p })) : [];
          throw new ApiError(400, refusal, message, issues, refusal);
        }
        throw new ApiError(409, 'ACTION_NOT_ALLOWED', message, [], refusal);
      }
      if (err instanceof WorkflowNotFoundError) throw new ApiError(409, 'DELIVERY_CLOSED', `delivery ${id} has ended; no action is possible`);
      throw err;
    }
  }

  const helpers: RouteHelpers = { route, parse, principal, describeDelivery };
  for (const plugin of [quarantineRoutes(deps), consultationRoutes(deps), ...(deps.plugins ?? [])]) plugin(app, helpers);

  return app;
}
