/**
 * The inbound quarantine's operator surface: list entries, show one (optionally with its
 * decrypted content), reroute one to a delivery workflow, or resolve it. A route plug-in of
 * client/api/api.ts, so it sits behind the same authentication (operator role), audit and OpenAPI listing.
 *
 *   GET  /v1/quarantine?status=OPEN|REROUTED|AUTO_ROUTED|RESOLVED|ALL&reason=...&limit=100
 *   GET  /v1/quarantine/:id[?content=true]
 *   POST /v1/quarantine/:id/reroute   { reason, targetWorkflowId, attempt?, code? }
 *   POST /v1/quarantine/:id/resolve   { reason }
 * The actor recorded for a reroute or resolve is the authenticated caller (token name or certificate CN);
 * an `actor` in the body is accepted for older clients and ignored.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { QuarantineReasonKey, QuarantineStatusKey } from '../../contracts';
import {
  QUARANTINE_INPUT_SCHEMAS,
  QUARANTINE_WORKFLOW_TYPE,
  QuarantineActionResultSchema,
  QuarantineReasonSchema,
  QuarantineStatusSchema,
  RerouteQuarantineInputSchema,
  ResolveQuarantineInputSchema,
  type QuarantineActionInputs,
  type QuarantineActionResult,
  type QuarantineEntry,
  type QuarantineMemo,
  type StoredInboundMessage,
} from '../../contracts/inbound';
import { QUARANTINE_ACTION_NAMES, QUARANTINE_ACTIONS, type QuarantineActionName } from '../../contracts/quarantine-actions';
import type { ContentStore } from '../../store/content-store';
import { quarantineEntryQuery, rerouteQuarantineUpdate, resolveQuarantineUpdate } from '../../workflows/quarantine-definitions';
import type { RouteHelpers } from './api';
import { ErrorBodySchema, QuarantineDetailSchema, QuarantineListItemSchema, type QuarantineDetail, type QuarantineListItem } from '../lib/api-schemas';
import { listExecutions } from './visibility-list';

export interface QuarantineRouteDeps {
  client: Client;
  store: ContentStore;
  logger: Logger;
}

const QuarantineListSchema = z.object({ items: z.array(QuarantineListItemSchema) }).meta({ id: 'QuarantineList' });

const IdParams = z.object({ id: z.string().regex(/^inbound-quarantine-[A-Za-z0-9_.:-]{1,200}$/, 'not a quarantine id') });
const ListQuery = z.object({
  status: z.union([QuarantineStatusSchema, z.literal('ALL')]).default('OPEN'),
  reason: QuarantineReasonSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const ShowQuery = z.object({ content: z.enum(['true', 'false']).default('false') });
/** The request bodies: the actor is never taken from the body (a caller could name anyone). */
const IgnoredActor = { actor: z.string().optional().describe('ignored: the authenticated caller is recorded as the actor') };
/** Each quarantine action's request body: its update input, with the actor taken from the caller. */
export const QUARANTINE_ACTION_BODIES = {
  rerouteQuarantine: RerouteQuarantineInputSchema.omit({ actor: true }).extend(IgnoredActor).meta({ id: 'RerouteQuarantineRequest' }),
  resolveQuarantine: ResolveQuarantineInputSchema.omit({ actor: true }).extend(IgnoredActor).meta({ id: 'ResolveQuarantineRequest' }),
} as const satisfies Record<QuarantineActionName, z.ZodType>;

/** The quarantine workflow's update of each action, by wire name. */
const QUARANTINE_UPDATES: { readonly [N in QuarantineActionName]: UpdateDefinition<QuarantineActionResult, [QuarantineActionInputs[N]]> } = {
  rerouteQuarantine: rerouteQuarantineUpdate,
  resolveQuarantine: resolveQuarantineUpdate,
};

const authErrors = {
  401: { description: 'No valid bearer token or client certificate', schema: ErrorBodySchema },
  403: { description: 'The caller lacks the operator role', schema: ErrorBodySchema },
};
const badRequest = { 400: { description: 'The request is invalid; `issues` say where and why', schema: ErrorBodySchema } };
const notFound = { 404: { description: 'No quarantine entry with this id', schema: ErrorBodySchema } };

/** The innermost failure of an update: the validator's reason or the activity's rejection. */
function updateFailure(err: WorkflowUpdateFailedError): { type?: string; message: string } {
  let cause: unknown = err.cause;
  let type: string | undefined;
  let message = err.message;
  for (let i = 0; i < 4 && cause instanceof Error; i++) {
    message = cause.message;
    const t = (cause as { type?: unknown }).type;
    if (typeof t === 'string' && t) type = t;
    cause = (cause as { cause?: unknown }).cause;
  }
  return { ...(type ? { type } : {}), message };
}

function decodeBody(b64: string): { encoding: 'utf8' | 'base64'; body: string } {
  const buf = Buffer.from(b64, 'base64');
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? { encoding: 'utf8', body: text } : { encoding: 'base64', body: b64 };
}

const send = (reply: FastifyReply, status: number, error: string, message: string): FastifyReply => reply.status(status).send({ error, message, issues: [] });

/** The route plug-in; client/api/api.ts registers it. */
export function quarantineRoutes(deps: QuarantineRouteDeps): (app: FastifyInstance, helpers: RouteHelpers) => void {
  return (_app, { route, parse, principal }) => {
    const idOf = (req: FastifyRequest): string => {
      const id = parse(IdParams, req.params, 'path').id;
      (req as { auditWorkflowId?: string }).auditWorkflowId = id;
      return id;
    };

    route(
      {
        method: 'GET',
        url: '/v1/quarantine',
        operationId: 'listQuarantine',
        summary: 'List inbound MESH messages kept in the quarantine (open ones by default)',
        role: 'operator',
        query: ListQuery,
        responses: { 200: { description: 'Entries, newest first', schema: QuarantineListSchema }, ...badRequest, ...authErrors },
      },
      async (req) => {
        const q = parse(ListQuery, req.query, 'query');
        // Only enum values reach the query string (zod above), so there is nothing to escape.
        let query = `WorkflowType = '${QUARANTINE_WORKFLOW_TYPE}'`;
        if (q.status !== 'ALL') query += ` AND QuarantineStatus = '${q.status}'`;
        if (q.reason) query += ` AND QuarantineReason = '${q.reason}'`;
        const items: QuarantineListItem[] = [];
        for await (const { info: wf, undecodable } of listExecutions(deps.client, { query, pageSize: Math.min(q.limit, 100), limit: q.limit }, deps.logger)) {
          const memo = (wf.memo ?? {}) as Partial<QuarantineMemo>;
          const item: QuarantineListItem = {
            quarantineId: wf.workflowId,
            status: wf.typedSearchAttributes.get(QuarantineStatusKey) ?? 'OPEN',
            reason: wf.typedSearchAttributes.get(QuarantineReasonKey) ?? memo.reason ?? 'UNKNOWN',
          };
          for (const k of ['mailboxId', 'meshMessageId', 'messageType', 'code', 'receivedAt'] as const) if (memo[k]) item[k] = memo[k];
          if (wf.closeTime) item.closedAt = wf.closeTime.toISOString();
          if (undecodable) item.undecodable = undecodable;
          items.push(item);
        }
        return { items };
      },
    );

    route(
      {
        method: 'GET',
        url: '/v1/quarantine/:id',
        operationId: 'showQuarantine',
        summary: 'One quarantine entry: why it is there, what could be read, who acted; with ?content=true the message itself',
        role: 'operator',
        params: IdParams,
        query: ShowQuery,
        responses: { 200: { description: 'The entry', schema: QuarantineDetailSchema }, ...badRequest, ...authErrors, ...notFound },
      },
      async (req, reply) => {
        const id = idOf(req);
        const s = parse(ShowQuery, req.query, 'query');
        let entry: QuarantineEntry;
        try {
          entry = await deps.client.workflow.getHandle(id).query(quarantineEntryQuery);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return send(reply, 404, 'NOT_FOUND', `no quarantine entry ${id}`);
          throw err;
        }
        const detail: QuarantineDetail = { ...entry };
        if (s.content === 'true') {
          const stored = JSON.parse((await deps.store.get(entry.contentRef)).toString('utf8')) as StoredInboundMessage;
          detail.content = { headers: stored.headers, ...decodeBody(stored.bodyBase64) };
          // That it was shown is worth knowing (the audit line has who); what was shown never goes to a log.
          deps.logger.info({ quarantineId: entry.quarantineId }, 'quarantined content shown to an operator');
        }
        return detail;
      },
    );

    // One route per quarantine action of the registry (contracts/quarantine-actions.ts).
    for (const name of QUARANTINE_ACTION_NAMES) {
      const action = QUARANTINE_ACTIONS[name];
      route(
        {
          method: 'POST',
          url: `/v1/quarantine/:id/${action.route}`,
          operationId: name,
          summary: action.summary,
          role: 'operator',
          params: IdParams,
          body: QUARANTINE_ACTION_BODIES[name],
          responses: {
            200: { description: 'Done', schema: QuarantineActionResultSchema },
            ...badRequest,
            ...authErrors,
            ...notFound,
            409: { description: 'Refused: the entry is not open, or the target cannot take it (the reason says why)', schema: ErrorBodySchema },
          },
        },
        async (req, reply) => quarantineAction(req, reply, name),
      );
    }

    async function quarantineAction<N extends QuarantineActionName>(req: FastifyRequest, reply: FastifyReply, name: N): Promise<unknown> {
      const id = idOf(req);
      const handle = deps.client.workflow.getHandle(id);
      const actor = principal(req).name;
      const bodySchema: (typeof QUARANTINE_ACTION_BODIES)[QuarantineActionName] = QUARANTINE_ACTION_BODIES[name];
      const { actor: _ignored, ...body } = parse(bodySchema, req.body, 'body');
      const input = parse(QUARANTINE_INPUT_SCHEMAS[name], { ...body, actor }, 'body');
      try {
        return await handle.executeUpdate(QUARANTINE_UPDATES[name], { args: [input] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          // An entry that exists but has closed (rerouted, resolved) refuses further actions.
          const closed = await handle.describe().catch(() => undefined);
          if (closed) return send(reply, 409, 'QUARANTINE_ACTION_REJECTED', `quarantine entry ${id} is ${closed.typedSearchAttributes.get(QuarantineStatusKey) ?? 'closed'}`);
          return send(reply, 404, 'NOT_FOUND', `no quarantine entry ${id}`);
        }
        if (err instanceof WorkflowUpdateFailedError) {
          const f = updateFailure(err);
          return send(reply, 409, f.type === 'INBOUND_REROUTE_REJECTED' ? f.type : 'QUARANTINE_ACTION_REJECTED', f.message);
        }
        throw err;
      }
    }
  };
}
