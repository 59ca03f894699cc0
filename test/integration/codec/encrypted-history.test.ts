/**
 * Patient data never reaches Temporal in plaintext, and never reaches a log:
 *  - a workflow carrying a synthetic patient through input, activity and result leaves only ciphertext
 *    in the server's history (raw history fetched by a client WITHOUT the codec, bytes searched); the
 *    same run without the codec shows the search would have found it;
 *  - the real delivery workflow's history holds no NHS number either;
 *  - old histories stay readable after key rotation;
 *  - the codec server decodes for an authenticated operator only, with CORS for the Web UI origins;
 *  - the SDK runtime logger, workflow `log`, activity `log`, worker and API logs all pass the redaction.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { log as activityLog } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Authenticator } from '../../../client/auth';
import { AesGcmPayloadCodec, courierDataConverter } from '../../../payload-codec/aes-gcm-codec';
import { buildCodecServer } from '../../../codec/codec-server';
import { parseKeyRing } from '../../../config/env';
import { createLogger } from '../../../config/logger';
import { installRuntime } from '../../../worker/runtime';
import { startHarness } from '../../helpers/courier-harness';
import { testServices } from '../../helpers/services';
import type { PatientEcho } from './workflows';

jest.setTimeout(120_000);

const NHS = '9990000018';
const FAMILY = 'Testpatient-Zebedee';
const input: PatientEcho = { patient: { nhsNumber: NHS, familyName: FAMILY } };
const k1 = `k1:${randomBytes(32).toString('base64')}`;
const k2 = `k2:${randomBytes(32).toString('base64')}`;

const lines: string[] = [];
const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
let runtimeIsOurs = false;
try {
  // The SDK runtime (one per test file's module registry) logs through our pino logger.
  installRuntime({ logger, level: 'DEBUG' });
  runtimeIsOurs = true;
} catch {
  // Installed already in this module registry: the last test reports it.
}

const rawHistoryBytes = async (client: Client, workflowId: string): Promise<Buffer> =>
  Buffer.from(temporal.api.history.v1.History.encode(await client.workflow.getHandle(workflowId).fetchHistory()).finish());

describe('encrypted history, codec server and redaction', () => {
  const services = testServices();
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let bundle: WorkflowBundleWithSourceMap;
  let plain: Client;

  beforeAll(async () => {
    connection = await Connection.connect({ address: services.temporalAddress });
    nativeConnection = await NativeConnection.connect({ address: services.temporalAddress });
    plain = new Client({ connection, namespace: services.namespace });
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  });
  afterAll(async () => {
    await nativeConnection?.close();
    await connection?.close();
  });

  async function runEcho(keys: string | undefined): Promise<string> {
    const dataConverter = keys ? courierDataConverter(parseKeyRing(keys)) : undefined;
    const taskQueue = `codec-${randomUUID()}`;
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: services.namespace,
      taskQueue,
      workflowBundle: bundle,
      ...(dataConverter ? { dataConverter } : {}),
      activities: {
        async echoPatient(i: PatientEcho): Promise<PatientEcho> {
          activityLog.info('activity got a patient', { patient: i.patient });
          logger.info({ nhsNumber: i.patient.nhsNumber, input: { patient: i.patient } }, 'worker code logged a patient');
          return i;
        },
      },
    });
    const client = new Client({ connection, namespace: services.namespace, ...(dataConverter ? { dataConverter } : {}) });
    const workflowId = `codec-test-${randomUUID()}`;
    const result = await worker.runUntil(client.workflow.execute('patientEchoWorkflow', { taskQueue, workflowId, args: [input], memo: { patient: input.patient } }));
    expect(result).toEqual(input);
    return workflowId;
  }

  it('stores only ciphertext: the raw history holds no NHS number or name (and would without the codec)', async () => {
    const encrypted = await runEcho(k1);
    const bytes = await rawHistoryBytes(plain, encrypted);
    expect(bytes.length).toBeGreaterThan(500);
    expect(bytes.includes(NHS)).toBe(false);
    expect(bytes.includes(FAMILY)).toBe(false);
    expect(bytes.includes('binary/encrypted')).toBe(true);
    expect(bytes.includes('k1')).toBe(true);

    // The control: the same run without the codec puts the NHS number in plaintext history.
    const control = await runEcho(undefined);
    expect((await rawHistoryBytes(plain, control)).includes(NHS)).toBe(true);
  });

  it('keeps old histories readable after rotation (new key first, old key kept)', async () => {
    const workflowId = await runEcho(k1);
    const rotated = new Client({ connection, namespace: services.namespace, dataConverter: courierDataConverter(parseKeyRing(`${k2},${k1}`)) });
    expect(await rotated.workflow.getHandle(workflowId).result()).toEqual(input);
    const withoutOld = new Client({ connection, namespace: services.namespace, dataConverter: courierDataConverter(parseKeyRing(k2)) });
    await expect(withoutOld.workflow.getHandle(workflowId).result()).rejects.toThrow(/unknown codec key id 'k1'/);
  });

  it('the real delivery workflow leaves no NHS number in its history', async () => {
    const example = JSON.parse(readFileSync(path.join(__dirname, '../../../examples/consultation-report.json'), 'utf8')) as Record<string, unknown> & { patient: { nhsNumber: string } };
    const h = await startHarness({ ITK3_INF_ACK_TIMEOUT: '30s' });
    try {
      const { workflowId } = await h.api.submit({ ...example, documentId: randomUUID() });
      const state = await h.api.status(workflowId);
      expect(state.workflowId).toBe(workflowId);
      await new Promise((r) => setTimeout(r, 1500));
      const bytes = await rawHistoryBytes(plain, workflowId);
      expect(bytes.includes(example.patient.nhsNumber)).toBe(false);
      expect(bytes.includes('binary/encrypted')).toBe(true);
    } finally {
      await h.stop();
    }
  });

  it('the codec server decodes for an operator only, with CORS for the Web UI origin', async () => {
    const workflowId = await runEcho(k1);
    const history = await plain.workflow.getHandle(workflowId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const wire = { payloads: [{ metadata: Object.fromEntries(Object.entries(started!.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(started!.data!).toString('base64') }] };
    const operator = 'operator-token-0123456789';
    const submitter = 'submitter-token-0123456789';
    const app = buildCodecServer({
      codec: new AesGcmPayloadCodec(parseKeyRing(k1)),
      auth: new Authenticator([{ name: 'ops', role: 'operator', secret: operator }, { name: 'svc', role: 'submitter', secret: submitter }]),
      allowedOrigins: ['http://127.0.0.1:8233', 'http://localhost:8233'],
      logger,
    });
    // Over real HTTP (fastify's inject pulls an ESM-only module that jest does not transform).
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const send = async (method: string, url: string, headers: Record<string, string>, payload?: string) => {
      const res = await fetch(`${base}${url}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) });
      const text = await res.text();
      return { statusCode: res.status, headers: Object.fromEntries(res.headers.entries()) as Record<string, string | undefined>, json: <T>() => JSON.parse(text) as T };
    };
    const post = (url: string, headers: Record<string, string>, body: unknown = wire) =>
      send('POST', url, { 'content-type': 'application/json', 'x-namespace': services.namespace, ...headers }, JSON.stringify(body));

    expect((await post('/decode', {})).statusCode).toBe(401);
    expect((await post('/decode', { authorization: `Bearer ${submitter}` })).statusCode).toBe(403);
    const ok = await post('/decode', { authorization: `Bearer ${operator}`, origin: 'http://127.0.0.1:8233' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    const decoded = ok.json<{ payloads: Array<{ metadata: Record<string, string>; data: string }> }>().payloads[0]!;
    expect(Buffer.from(decoded.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(decoded.data, 'base64').toString())).toEqual(input);

    // Round trip through /encode.
    const encoded = await post('/encode', { authorization: `Bearer ${operator}` }, { payloads: [decoded] });
    expect(Buffer.from(encoded.json<{ payloads: Array<{ data: string }> }>().payloads[0]!.data, 'base64').includes(NHS)).toBe(false);

    // Preflight: allowed for the UI origin, refused for any other.
    const preflight = await send('OPTIONS', '/decode', { origin: 'http://localhost:8233', 'access-control-request-method': 'POST' });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toContain('X-Namespace');
    expect((await send('OPTIONS', '/decode', { origin: 'http://evil.example', 'access-control-request-method': 'POST' })).statusCode).toBe(403);
    expect((await post('/decode', { authorization: `Bearer ${operator}`, origin: 'http://evil.example' })).headers['access-control-allow-origin']).toBeUndefined();

    // A browser signs in once; the session cookie then authenticates the UI's calls.
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const login = await send('POST', '/login', form, `token=${operator}`);
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(String(login.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await post('/decode', { cookie })).statusCode).toBe(200);
    expect((await send('POST', '/login', form, `token=${submitter}`)).statusCode).toBe(401);
    await app.close();
  });

  it('no log line of the runtime, workflow, activity, worker or codec server holds the NHS number', () => {
    const all = lines.join('');
    expect(all).toContain('worker code logged a patient');
    expect(all).toContain('[REDACTED]');
    // The SDK runtime is per test file's module registry, so this file's runtime logs through our pino.
    expect(runtimeIsOurs).toBe(true);
    expect(all).toContain('workflow received a patient');
    expect(all).toContain('activity got a patient');
    expect(all).not.toContain(NHS);
    expect(all).not.toContain(FAMILY);
  });
});
