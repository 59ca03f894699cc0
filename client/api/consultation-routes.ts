/**
 * The consultation lifecycle over HTTP: a backend service says what happened to a consultation
 * and ITK3 Courier decides when and what to send (workflows/consultation.ts). Registered by client/api/api.ts
 * behind the same authentication, audit and OpenAPI document as the other routes.
 *
 *   POST /v1/consultations/:senderOds/:consultationId/events   {type: saved|finalised|deleted|registeredHere, ...}
 *   GET  /v1/consultations/:senderOds/:consultationId          the versions sent and their delivery outcomes
 *   GET  /v1/consultations?status=WAITING_TO_SEND&senderOds=&limit=   e.g. consultations waiting to send
 *
 * A save carries the content (a submission without document id, version and replaces): it is validated
 * with the same dry run as `POST /v1/documents`, stored encrypted, and the workflow gets a claim check.
 * Every event is one signal-with-start, idempotent on `eventId`. A consultation that RETIRED after a long
 * quiet spell is resumed from its result; a DELETED one refuses further events (409).
 *
 * Configuration (parsed once when the routes are registered; every problem reported together):
 *   ITK3_CONSULTATION_SEND_WINDOW           wait after the last save before sending (default 3h, GPCM-SD-CS-075/076)
 *   ITK3_CONSULTATION_REPLACEMENT_GUIDANCE  warn when a replacement goes later than this after the original (default 24h)
 *   ITK3_CONSULTATION_RETIRE_AFTER          a consultation with nothing to do completes after this (default 30d)
 * The window travels in each consultation's workflow input, so a running consultation keeps the value
 * it started with.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type WorkflowExecutionInfo } from '@temporalio/client';
import { DURATION_HINT, parseDuration } from '../../config/duration';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { deadlinePolicyFrom, resolveDeadlines } from '../../config/deadlines';
import { CourierError, ErrorType, type Issue } from '../../contracts';
import {
  ConsultationEventRequestSchema,
  ConsultationKeySchema,
  ConsultationStatusSchema,
  ConsultationViewSchema,
  DEFAULT_CONSULTATION_SETTINGS,
  consultationWorkflowId,
  parseConsultationWorkflowId,
  type ConsultationCarryOver,
  type ConsultationEvent,
  type ConsultationKey,
  type ConsultationSettings,
  type ConsultationView,
  type ConsultationWorkflowInput,
} from '../../contracts/consultation';
import { ConsultationStatusKey, RecipientOdsKey, SendDueAtKey, SenderOdsKey } from '../../contracts/search-attributes';
import type { consultationWorkflow } from '../../workflows/consultation';
import { consultationEventSignal, consultationViewQuery } from '../../workflows/consultation-definitions';
import { consultationStaticDetails, consultationStaticSummary } from '../../workflows/metadata';
import type { RouteHelpers } from './api';
import { ConsultationSummarySchema, ErrorBodySchema, type ConsultationEventAccepted, type ConsultationSummary } from '../lib/api-schemas';
import { validateSubmission, type SubmitDeps } from './submit';
import { listExecutions } from './visibility-list';

export const CONSULTATION_WORKFLOW_TYPE = 'consultationWorkflow';

export interface ConsultationRouteDeps extends Pick<SubmitDeps, 'client' | 'store' | 'activity' | 'deadlines' | 'deadlinePolicy' | 'now'> {
  logger: Logger;
  /** Defaults to `consultationSettingsFromEnv(process.env)`. */
  consultation?: ConsultationSettings;
}

/** An HTTP refusal; the API's error handler answers `{error: code, message, issues: []}` with this status. */
export class ConsultationRefused extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A bad ITK3_CONSULTATION_* value: the API process reports it as a configuration error and exits. */
export class ConsultationConfigError extends Error {}

/** ITK3_CONSULTATION_* from the environment; throws one error listing every problem, never echoing values. */
export function consultationSettingsFromEnv(env: Record<string, string | undefined>): ConsultationSettings {
  const problems: string[] = [];
  const duration = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const ms = parseDuration(raw);
    if (ms !== undefined) return ms;
    problems.push(`${name} ${DURATION_HINT}`);
    return fallback;
  };
  const settings: ConsultationSettings = {
    sendWindowMs: duration('ITK3_CONSULTATION_SEND_WINDOW', DEFAULT_CONSULTATION_SETTINGS.sendWindowMs),
    replacementGuidanceMs: duration('ITK3_CONSULTATION_REPLACEMENT_GUIDANCE', DEFAULT_CONSULTATION_SETTINGS.replacementGuidanceMs),
    retireAfterIdleMs: duration('ITK3_CONSULTATION_RETIRE_AFTER', DEFAULT_CONSULTATION_SETTINGS.retireAfterIdleMs),
  };
  if (problems.length > 0) throw new ConsultationConfigError(`Invalid consultation configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return settings;
}

/**
 * Validates one consultation event, stores saved content encrypted, and signals (or starts) the
 * consultation's workflow in one call. Throws CourierError SUBMISSION_INVALID (400) with the issues,
 * or ConsultationRefused 409 for a deleted or otherwise closed consultation.
 */
export async function recordConsultationEvent(deps: ConsultationRouteDeps, key: ConsultationKey, body: unknown): Promise<ConsultationEventAccepted> {
  const parsed = ConsultationEventRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new CourierError(ErrorType.SUBMISSION_INVALID, 'the consultation event is invalid', parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  const request = parsed.data;
  const now = (deps.now ?? (() => new Date()))();
  const eventId = request.eventId ?? randomUUID();
  const occurredAt = request.occurredAt ?? now.toISOString();
  let event: ConsultationEvent;
  switch (request.type) {
    case 'saved': {
      const content = request.content;
      if (content.sender.odsCode !== key.senderOds) {
        throw new CourierError(ErrorType.SUBMISSION_INVALID, 'the content is from another organisation', [
          { path: 'content.sender.odsCode', message: 'must be the sender ODS code of the consultation' },
        ]);
      }
      // The same dry run as a submission, as version 1 of some document: refuse now what could never be sent.
      try {
        validateSubmission(deps, { ...content, documentId: randomUUID(), version: 1 });
      } catch (err) {
        if (!(err instanceof CourierError)) throw err;
        const issues: Issue[] = err.issues.map((i) => ({ ...i, path: `content${i.path ? `.${i.path}` : ''}` }));
        throw new CourierError(err.type, err.message, issues);
      }
      const contentRef = await deps.store.put('consultation-content', Buffer.from(JSON.stringify(content)));
      event = {
        type: 'saved',
        eventId,
        occurredAt,
        contentRef,
        recipientOds: content.recipient.odsCode,
        deadlines: resolveDeadlines(deps.deadlinePolicy ?? deadlinePolicyFrom(deps.deadlines), content.recipient.odsCode, content.deadlines),
      };
      break;
    }
    case 'finalised':
    case 'deleted':
      event = { type: request.type, eventId, occurredAt };
      break;
    case 'registeredHere':
      event = { type: 'registeredHere', eventId, occurredAt, registeredHere: request.registeredHere };
      break;
  }

  const workflowId = consultationWorkflowId(key.senderOds, key.consultationId);
  const settings = deps.consultation ?? DEFAULT_CONSULTATION_SETTINGS;
  // Its deliveries build and send each attempt in one activity (contracts/delivery.ts).
  const input: ConsultationWorkflowInput = { ...key, settings, sendInOneActivity: true };
  const signalWithStart = (carryOver?: ConsultationCarryOver) =>
    deps.client.workflow.signalWithStart<typeof consultationWorkflow, [ConsultationEvent]>(CONSULTATION_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: deps.activity.taskQueue,
      args: [carryOver ? { ...input, carryOver } : input],
      signal: consultationEventSignal,
      signalArgs: [event],
      // A closed consultation is not silently restarted from nothing: see below.
      workflowIdReusePolicy: carryOver ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      // What the Web UI shows for this workflow: ids and ODS codes only.
      staticSummary: consultationStaticSummary(key),
      staticDetails: consultationStaticDetails(key),
      typedSearchAttributes: [
        { key: ConsultationStatusKey, value: carryOver ? carryOver.view.status : 'AWAITING_CONTENT' },
        { key: SenderOdsKey, value: key.senderOds },
        ...(event.type === 'saved' ? [{ key: RecipientOdsKey, value: event.recipientOds }] : []),
      ],
    });
  const accepted = (resumed: boolean): ConsultationEventAccepted => ({ workflowId, eventId, type: event.type, resumed, viewUrl: `/v1/consultations/${key.senderOds}/${encodeURIComponent(key.consultationId)}` });

  try {
    await signalWithStart();
    return accepted(false);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  // The consultation's last run has closed. RETIRED: resume from its result. DELETED: refuse.
  let last: ConsultationView;
  try {
    last = await deps.client.workflow.getHandle<typeof consultationWorkflow>(workflowId).result();
  } catch {
    throw new ConsultationRefused(409, 'CONSULTATION_CLOSED', `consultation ${workflowId} ended without a result (terminated or failed); an operator must decide what to send`);
  }
  if (last.status === 'DELETED') {
    if (event.type === 'deleted') return accepted(false); // a retried delete: already done
    throw new ConsultationRefused(409, 'CONSULTATION_DELETED', `consultation ${workflowId} was deleted; it accepts no further events`);
  }
  await signalWithStart({ view: last, seenEventIds: [] });
  deps.logger.info({ workflowId, eventId, type: event.type }, 'retired consultation resumed');
  return accepted(true);
}

/** The view of one consultation: from the running workflow, or from the result of the last run. */
export async function getConsultation(deps: Pick<ConsultationRouteDeps, 'client'>, key: ConsultationKey): Promise<ConsultationView> {
  const workflowId = consultationWorkflowId(key.senderOds, key.consultationId);
  const handle = deps.client.workflow.getHandle<typeof consultationWorkflow>(workflowId);
  try {
    const described = await handle.describe();
    if (described.type !== CONSULTATION_WORKFLOW_TYPE) throw new WorkflowNotFoundError('not a consultation', workflowId, undefined);
    if (described.status.name === 'RUNNING') return await handle.query(consultationViewQuery);
    if (described.status.name === 'COMPLETED') return await handle.result();
    throw new ConsultationRefused(409, 'CONSULTATION_CLOSED', `consultation ${workflowId} ended ${described.status.name}; see it in the Temporal Web UI`);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new ConsultationRefused(404, 'NOT_FOUND', `no consultation ${workflowId}`);
    throw err;
  }
}

export const ConsultationListQuerySchema = z.object({
  status: ConsultationStatusSchema.optional().meta({ description: 'Only this status, e.g. WAITING_TO_SEND' }),
  senderOds: ConsultationKeySchema.shape.senderOds.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type ConsultationListQuery = z.input<typeof ConsultationListQuerySchema>;

const ConsultationListSchema = z.object({ items: z.array(ConsultationSummarySchema) }).meta({ id: 'ConsultationList' });

/** Consultations by status from the visibility store; those with a due time first, soonest first. */
export async function listConsultations(deps: Pick<ConsultationRouteDeps, 'client' | 'logger'>, q: z.output<typeof ConsultationListQuerySchema>): Promise<{ items: ConsultationSummary[] }> {
  // Only enum values and ODS codes (checked by zod) reach the query string.
  let query = `WorkflowType = '${CONSULTATION_WORKFLOW_TYPE}'`;
  if (q.status) query += ` AND ConsultationStatus = '${q.status}'`;
  if (q.senderOds) query += ` AND SenderOds = '${q.senderOds}'`;
  const items: ConsultationSummary[] = [];
  // No limit on executions listed: the limit counts consultations, and an id that is not one is skipped.
  for await (const { info: wf, undecodable } of listExecutions(deps.client, { query, pageSize: Math.min(q.limit, 100), limit: Number.MAX_SAFE_INTEGER }, deps.logger)) {
    // The summary comes from search attributes only, so an undecodable entry is still listed in full.
    const item = summaryOf(wf);
    if (item) items.push(undecodable ? { ...item, undecodable } : item);
    if (items.length >= q.limit) break;
  }
  items.sort((a, b) => (a.sendDueAt ?? '\uffff').localeCompare(b.sendDueAt ?? '\uffff'));
  return { items };
}

function summaryOf(wf: WorkflowExecutionInfo): ConsultationSummary | undefined {
  const key = parseConsultationWorkflowId(wf.workflowId);
  if (!key) return undefined;
  const due = wf.typedSearchAttributes.get(SendDueAtKey);
  const recipient = wf.typedSearchAttributes.get(RecipientOdsKey);
  return {
    workflowId: wf.workflowId,
    ...key,
    status: wf.typedSearchAttributes.get(ConsultationStatusKey) ?? 'UNKNOWN',
    ...(due ? { sendDueAt: due.toISOString() } : {}),
    ...(recipient ? { recipientOds: recipient } : {}),
    executionStatus: wf.status.name,
    startTime: wf.startTime.toISOString(),
  };
}

const KeyParamsSchema = ConsultationKeySchema;
const EventAcceptedSchema = z
  .object({ workflowId: z.string(), eventId: z.string(), type: z.string(), resumed: z.boolean(), viewUrl: z.string() })
  .meta({ id: 'ConsultationEventAccepted' });
const EventRequestDoc = ConsultationEventRequestSchema.meta({ id: 'ConsultationEvent' });
const ViewDoc = ConsultationViewSchema.meta({ id: 'ConsultationView' });

/** The route group, in the shape client/api/api.ts registers: same auth, audit and OpenAPI as the rest. */
export function consultationRoutes(deps: ConsultationRouteDeps): (app: FastifyInstance, helpers: RouteHelpers) => void {
  const resolved: ConsultationRouteDeps = { ...deps, consultation: deps.consultation ?? consultationSettingsFromEnv(process.env) };
  return (_app, helpers) => {
    const errors = {
      400: { description: 'The request is invalid; `issues` say where and why', schema: ErrorBodySchema },
      401: { description: 'No valid bearer token or client certificate', schema: ErrorBodySchema },
      403: { description: 'The caller lacks the role', schema: ErrorBodySchema },
    };
    const keyOf = (req: FastifyRequest): ConsultationKey => helpers.parse(KeyParamsSchema, req.params, 'path');

    helpers.route(
      {
        method: 'POST',
        url: '/v1/consultations/:senderOds/:consultationId/events',
        operationId: 'recordConsultationEvent',
        summary: 'Tell ITK3 Courier what happened to a consultation: saved (with its content), finalised, deleted, registeredHere',
        role: 'submitter',
        params: KeyParamsSchema,
        body: EventRequestDoc,
        responses: {
          202: { description: 'Accepted; the consultation workflow decides when and what to send', schema: EventAcceptedSchema },
          ...errors,
          409: { description: 'The consultation was deleted, or ended without a result', schema: ErrorBodySchema },
        },
      },
      async (req, reply) => {
        const key = keyOf(req);
        const accepted = await recordConsultationEvent(resolved, key, req.body);
        req.auditWorkflowId = accepted.workflowId;
        return reply.status(202).send(accepted);
      },
    );

    helpers.route(
      {
        method: 'GET',
        url: '/v1/consultations/:senderOds/:consultationId',
        operationId: 'getConsultation',
        summary: 'One consultation: its status, what waits to be sent and when, each version sent and its delivery outcome',
        role: 'submitter',
        params: KeyParamsSchema,
        responses: {
          200: { description: 'The consultation', schema: ViewDoc },
          ...errors,
          404: { description: 'No such consultation', schema: ErrorBodySchema },
          409: { description: 'The consultation ended without a result', schema: ErrorBodySchema },
        },
      },
      async (req) => {
        const key = keyOf(req);
        req.auditWorkflowId = consultationWorkflowId(key.senderOds, key.consultationId);
        return getConsultation(resolved, key);
      },
    );

    helpers.route(
      {
        method: 'GET',
        url: '/v1/consultations',
        operationId: 'listConsultations',
        summary: 'Consultations by status (e.g. WAITING_TO_SEND, soonest due first) and sender',
        role: 'submitter',
        query: ConsultationListQuerySchema,
        responses: { 200: { description: 'The consultations', schema: ConsultationListSchema }, ...errors },
      },
      async (req) => listConsultations(resolved, helpers.parse(ConsultationListQuerySchema, req.query, 'query')),
    );
  };
}
