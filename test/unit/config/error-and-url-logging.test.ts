/**
 * Two things a log line must get right: a failed workflow task's line carries the error's type and
 * message (the SDK puts the error under `error`, which pino's err serializer never sees), and a request
 * URL never carries a credential from its query string.
 */
import { Writable } from 'node:stream';
import { runInNewContext } from 'node:vm';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { createLogger, credentialQueryKeys, loggableUrl } from '../../../config/logger';
import { forwardToPino } from '../../../worker/runtime';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', destination: new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }) });
  return { logger, lines };
}

describe('errors forwarded from the Temporal runtime', () => {
  it('logs the type and message of an Error under `error` (was "error":{})', () => {
    const { logger, lines } = capture();
    const error = new RangeError('Invalid time value');
    forwardToPino(logger)({ level: 'ERROR', message: 'Failed to process Workflow Activation', timestampNanos: 0n, meta: { runId: 'r1', workflowId: 'wf-1', error, workflowExists: true } });
    const line = JSON.parse(lines[0]!) as { error: { type: string; message: string; stack: string }; workflowId: string; msg: string };
    expect(line.msg).toBe('Failed to process Workflow Activation');
    expect(line.error.type).toBe('RangeError');
    expect(line.error.message).toBe('Invalid time value');
    expect(line.error.stack).toContain('RangeError');
    expect(line.workflowId).toBe('wf-1');
  });

  it('serializes an error from another realm (the workflow sandbox) and keeps its cause', () => {
    const { logger, lines } = capture();
    const foreign = runInNewContext('new TypeError("from the sandbox")') as Error;
    expect(foreign instanceof Error).toBe(false);
    const withCause = new Error('outer', { cause: new Error('inner cause') });
    forwardToPino(logger)({ level: 'WARN', message: 'Workflow failed', timestampNanos: 0n, meta: { error: foreign, failure: withCause } });
    const line = JSON.parse(lines[0]!) as { error: { type: string; message: string }; failure: { message: string } };
    expect(line.error).toMatchObject({ type: 'TypeError', message: 'from the sandbox' });
    expect(line.failure.message).toContain('inner cause');
  });

  it('leaves metadata without errors as it was', () => {
    const { logger, lines } = capture();
    const meta = { workflowId: 'wf-2', attempt: 3 };
    forwardToPino(logger)({ level: 'INFO', message: 'plain', timestampNanos: 0n, meta });
    expect(JSON.parse(lines[0]!)).toMatchObject({ workflowId: 'wf-2', attempt: 3, sdk: true });
  });
});

describe('credentials in request URLs', () => {
  it('replaces the value of every credential key and keeps the rest', () => {
    expect(loggableUrl('/v1/documents?status=SENT&token=abc123&Access_Token=x&api%5Fkey=k&pageSize=5')).toBe(
      '/v1/documents?status=SENT&token=[REDACTED]&Access_Token=[REDACTED]&api%5Fkey=[REDACTED]&pageSize=5',
    );
    expect(loggableUrl('/v1/documents/x')).toBe('/v1/documents/x');
  });

  it('keeps a query token out of the HTTP request log line', async () => {
    const { logger, lines } = capture();
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
    app.get('/v1/x', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    await fetch(`http://127.0.0.1:${port}/v1/x?token=SECRET-IN-URL-123&status=SENT`);
    await app.close();
    const out = lines.join('');
    expect(out).toContain('incoming request');
    expect(out).toContain('status=SENT');
    expect(out).not.toContain('SECRET-IN-URL-123');
  });
});

describe('credentialQueryKeys (what the API and the codec server refuse)', () => {
  it('names every credential key, decoded and case-insensitive, and nothing else', () => {
    expect(credentialQueryKeys('/v1/deliveries')).toEqual([]);
    expect(credentialQueryKeys('/v1/deliveries?status=ESCALATED&limit=5')).toEqual([]);
    expect(credentialQueryKeys('/decode?Access_Token=x&limit=1&api%5Fkey=y')).toEqual(['Access_Token', 'api_key']);
  });
});
