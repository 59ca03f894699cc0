/**
 * The HTTP API for backend services: submit a document and follow it. zod at the edge, specific 400s,
 * 404 for unknown ids. Route handlers hold no logic of their own beyond mapping to HTTP.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CourierError, ErrorType } from '../contracts';
import { stateQuery } from '../workflows/definitions';
import { submitDocument, type SubmitDeps } from './submit';

export interface ApiDeps extends SubmitDeps {
  client: Client;
  logger: Logger;
  bodyLimitBytes?: number;
}

const WorkflowIdParam = z.object({ id: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'not a workflow id') });

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: deps.bodyLimitBytes ?? 10 * 1024 * 1024, disableRequestLogging: false });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof CourierError) {
      const status = err.type === ErrorType.SUBMISSION_INVALID || err.type === ErrorType.ITK3_BUILD_REJECTED ? 400 : 500;
      return reply.status(status).send({ error: err.type, message: err.message, issues: err.issues });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: err.code ?? 'BAD_REQUEST', message: err.message, issues: [] });
    }
    deps.logger.error({ err }, 'unhandled API error');
    return reply.status(500).send({ error: 'INTERNAL', message: 'internal error', issues: [] });
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.post('/v1/documents', async (req, reply) => {
    const result = await submitDocument(deps, req.body);
    return reply.status(202).send({ workflowId: result.workflowId, created: result.created, statusUrl: `/v1/documents/${result.workflowId}` });
  });

  app.get('/v1/documents/:id', async (req, reply) => {
    const params = WorkflowIdParam.safeParse(req.params);
    if (!params.success) {
      return reply.status(400).send({ error: 'INVALID_ID', message: 'invalid workflow id', issues: params.error.issues.map((i) => ({ path: 'id', message: i.message })) });
    }
    try {
      const state = await deps.client.workflow.getHandle(params.data.id).query(stateQuery);
      return state;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        return reply.status(404).send({ error: 'NOT_FOUND', message: `no delivery ${params.data.id}`, issues: [] });
      }
      throw err;
    }
  });

  return app;
}
