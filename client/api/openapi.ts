/**
 * `/openapi.json`, generated from the same zod schemas the API validates with (zod 4 `toJSONSchema`),
 * so the document cannot drift from the code. OpenAPI 3.1, whose schema dialect is JSON Schema 2020-12.
 */
import { z } from 'zod';
import type { Role } from '../../config/env';

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** Fastify style, `:id` for parameters. */
  url: string;
  operationId: string;
  summary: string;
  /** Longer text for the operation, e.g. when an operator action is allowed. */
  description?: string;
  /** Least role; absent = public. */
  role?: Role;
  params?: z.ZodObject;
  query?: z.ZodType;
  headers?: Array<{ name: string; description: string; required?: boolean }>;
  body?: z.ZodType;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
}

type Json = Record<string, unknown>;

export function buildOpenApi(routes: readonly RouteSpec[], version = '1'): Json {
  const components: Record<string, Json> = {};
  const toSchema = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const js = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
    delete js.$schema;
    const id = (schema.meta() as { id?: string } | undefined)?.id;
    if (!id) return js;
    // Named schemas (request bodies and responses, each used one way only) go to components once.
    delete js.id;
    components[id] ??= js;
    return { $ref: `#/components/schemas/${id}` };
  };
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const parameters: Json[] = [];
    for (const [name, schema] of Object.entries(r.params?.shape ?? {})) {
      parameters.push({ name, in: 'path', required: true, schema: toSchema(schema as z.ZodType, 'input') });
    }
    if (r.query) {
      const js = toSchema(r.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, schema] of Object.entries(js.properties ?? {})) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: (js.required ?? []).includes(name) && rest.default === undefined, schema: rest, ...(description ? { description } : {}) });
      }
    }
    for (const h of r.headers ?? []) parameters.push({ name: h.name, in: 'header', required: h.required ?? false, description: h.description, schema: { type: 'string' } });
    const op: Json = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      ...(r.role ? { security: [{ bearer: [] }, { clientCertificate: [] }], 'x-itk3-role': r.role } : { security: [] }),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(r.body, 'input') } } } } : {}),
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([code, res]) => [
          code,
          { description: res.description, ...(res.schema ? { content: { 'application/json': { schema: toSchema(res.schema, 'output') } } } : {}) },
        ]),
      ),
    };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ITK3 Courier API',
      version,
      description:
        'Durable GP Connect Send Document delivery over NHS MESH. Submitters submit and read; operators also act on deliveries. ' +
        'Errors share one body: {error, message, issues[]}. No response carries patient data except the submission a caller sent.',
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A token from ITK3_API_TOKENS (role operator or submitter)' },
        clientCertificate: { type: 'mutualTLS', description: 'A client certificate whose subject CN is in ITK3_API_CLIENT_CERT_ROLES' },
      },
    },
  };
}
