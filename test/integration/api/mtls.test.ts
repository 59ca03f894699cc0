/**
 * Mutual TLS for the API: with a CA configured, the API asks for client certificates, and a verified
 * certificate's subject CN maps to a role (ITK3_API_CLIENT_CERT_ROLES). An unlisted CN, a certificate
 * from another CA, or none at all is no credential. Certificates are made here with openssl.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { buildApi } from '../../../client/api/api';
import { Authenticator } from '../../../client/auth';
import { CourierApiError, CourierHttpClient } from '../../../client/lib/http-client';
import { activityConfig, createStore, defaultDeadlines } from '../../../worker/compose';
import { certKit } from '../../helpers/certs';
import { startHarness, type Harness } from '../../helpers/courier-harness';

jest.setTimeout(120_000);

const kit = certKit('itk3-mtls-');
const f = kit.file;
const makeCa = kit.ca;
const makeCert = kit.cert;

describe('API over mutual TLS', () => {
  let h: Harness;
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    makeCa('test-ca');
    makeCa('other-ca');
    makeCert('127.0.0.1', 'test-ca', 'subjectAltName=IP:127.0.0.1\n');
    makeCert('oncall-console', 'test-ca');
    makeCert('billing-system', 'test-ca');
    makeCert('stranger', 'test-ca');
    makeCert('impostor', 'other-ca');
    h = await startHarness();
    app = buildApi({
      client: h.temporal,
      logger: pino({ level: 'silent' }),
      auth: new Authenticator([], new Map([['oncall-console', 'operator'], ['billing-system', 'submitter'], ['impostor', 'operator']])),
      store: createStore(h.config),
      activity: activityConfig(h.config),
      deadlines: defaultDeadlines(h.config),
      https: { key: readFileSync(f('127.0.0.1.key')), cert: readFileSync(f('127.0.0.1.crt')), ca: readFileSync(f('test-ca.crt')) },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await h?.stop();
  });

  function as(name?: string): CourierHttpClient {
    const dispatcher = new Agent({
      connect: { ca: readFileSync(f('test-ca.crt')), ...(name ? { cert: readFileSync(f(`${name}.crt`)), key: readFileSync(f(`${name}.key`)) } : {}) },
    });
    const fetchWith = ((url: string | URL, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher })) as unknown as typeof fetch;
    return new CourierHttpClient({ baseUrl: base, fetch: fetchWith });
  }
  const status = (p: Promise<unknown>) => p.then(() => 200, (e: unknown) => (e instanceof CourierApiError ? e.status : `${String(e)}`));
  const unknownId = `send-document-${randomUUID()}-v1`;

  it('maps a verified certificate CN to its role', async () => {
    expect(await status(as('oncall-console').status(unknownId))).toBe(404);
    expect(await status(as('oncall-console').abandon(unknownId, { reason: 'r' }))).toBe(404);
    expect(await status(as('billing-system').list())).toBe(200);
    expect(await status(as('billing-system').abandon(unknownId, { reason: 'r' }))).toBe(403);
  });

  it('treats an unlisted CN, another CA or no certificate as no credential', async () => {
    expect(await status(as('stranger').status(unknownId))).toBe(401);
    expect(await status(as('impostor').status(unknownId))).toBe(401);
    expect(await status(as().status(unknownId))).toBe(401);
    expect((await as().openApi()).openapi).toBe('3.1.0');
  });
});
