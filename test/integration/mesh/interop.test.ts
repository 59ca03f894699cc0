/**
 * Interoperability with NHS England's Python mesh-client 5.0.2 (test/interop/mesh_interop.py), both ways,
 * byte for byte, including chunked and compressed messages, plus the auth token computed by its own
 * generator. Python sends as X26ABC2 and reads as X26ABC3; we send as X26ABC1 and read as X26ABC3.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildAuthorizationHeader } from '../../../mesh';
import { testServices } from '../../helpers/services';
import { COURIER, GP, RECEIVER, meshClient, uniqueWorkflow } from './helpers';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '..', '..', '..');
const PYTHON = path.join(REPO, '.venv', 'bin', 'python');
const SCRIPT = path.join(REPO, 'test', 'interop', 'mesh_interop.py');

async function py<T>(args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as T;
}

describe('interoperability with mesh-client 5.0.2', () => {
  const { meshUrl, meshSharedKey } = testServices();
  const dir = mkdtempSync(path.join(testServices().dir, 'interop-'));
  const receiver = meshClient(RECEIVER);
  const common = ['--url', meshUrl, '--key', meshSharedKey];

  describe('auth token', () => {
    it('equals mesh-client’s own generator for the same nonce, count and minute', async () => {
      const { token, live } = await py<{ token: string; live: string }>([
        'token', '--key', 'TestKey', '--mailbox', 'X26ABC1', '--password', 'password',
        '--nonce', '5f0a2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b', '--count', '1', '--timestamp', '202601151030',
      ]);
      const ours = buildAuthorizationHeader({
        mailboxId: 'X26ABC1',
        password: 'password',
        sharedKey: 'TestKey',
        nonce: '5f0a2b7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b',
        nonceCount: 1,
        timestamp: new Date(Date.UTC(2026, 0, 15, 10, 30)),
      });
      expect(ours).toBe(token);
      // An unpinned token (random uuid4 nonce, real clock): re-derive it from its public fields.
      const m = /^NHSMESH X26ABC1:([^:]+):(\d+):(\d{12}):[0-9a-f]{64}$/.exec(live)!;
      const ts = m[3]!;
      const when = new Date(Date.UTC(+ts.slice(0, 4), +ts.slice(4, 6) - 1, +ts.slice(6, 8), +ts.slice(8, 10), +ts.slice(10, 12)));
      expect(buildAuthorizationHeader({ mailboxId: 'X26ABC1', password: 'password', sharedKey: 'TestKey', nonce: m[1]!, nonceCount: Number(m[2]), timestamp: when })).toBe(live);
    });
  });

  const cases = [
    { name: 'single chunk', size: 10 * 1024, chunkSize: undefined, compress: false },
    { name: 'single chunk, compressed', size: 64 * 1024, chunkSize: undefined, compress: true },
    { name: 'chunked', size: 300 * 1024 + 17, chunkSize: 100 * 1024, compress: false },
    { name: 'chunked and compressed', size: 300 * 1024 + 17, chunkSize: 100 * 1024, compress: true },
  ];

  describe.each(cases)('TypeScript → mesh-client: $name', ({ size, chunkSize, compress }) => {
    it('mesh-client reads exactly what we sent, with our metadata', async () => {
      const body = Buffer.concat([randomBytes(size / 2), Buffer.alloc(size - Math.floor(size / 2), 'x')]);
      const wf = uniqueWorkflow('interop_ts');
      const sender = meshClient(COURIER, { ...(chunkSize ? { chunkSize } : {}), compress });
      const sent = await sender.sendMessage({ to: RECEIVER, workflowId: wf, body, subject: 'interop', localId: 'X26', fileName: 'interop.xml', contentType: 'application/xml' });
      const out = path.join(dir, `${sent.messageId}.bin`);
      const got = await py<Record<string, unknown>>(['receive', ...common, '--mailbox', RECEIVER, '--id', sent.messageId, '--out', out]);
      expect(readFileSync(out).equals(body)).toBe(true);
      expect(got).toMatchObject({
        message_id: sent.messageId,
        message_type: 'DATA',
        sender: COURIER,
        recipient: RECEIVER,
        workflow_id: wf,
        filename: 'interop.xml',
        local_id: 'X26',
        subject: 'interop',
        content_type: 'application/xml',
        size: body.length,
      });
      expect((got.mex as Record<string, string>)['chunk-range']).toBe(`1:${sent.totalChunks}`);
      expect(sent.totalChunks).toBe(chunkSize ? Math.ceil(size / chunkSize) : 1);
    });
  });

  describe.each(cases)('mesh-client → TypeScript: $name', ({ size, chunkSize, compress }) => {
    it('we read exactly what mesh-client sent, with its metadata', async () => {
      const body = Buffer.concat([randomBytes(size / 2), Buffer.alloc(size - Math.floor(size / 2), 'y')]);
      const file = path.join(dir, `py-${randomBytes(4).toString('hex')}.bin`);
      writeFileSync(file, body);
      const wf = uniqueWorkflow('interop_py');
      const { message_id: id } = await py<{ message_id: string }>([
        'send', ...common, '--mailbox', GP, '--to', RECEIVER, '--workflow', wf, '--file', file,
        '--filename', 'from-python.dat', '--subject', 'py', '--local-id', 'X26-PY', '--content-type', 'text/plain',
        ...(chunkSize ? ['--chunk-size', String(chunkSize)] : []), ...(compress ? ['--compress'] : []),
      ]);
      expect(await receiver.listInbox({ workflowFilter: wf })).toEqual([id]);
      const msg = await receiver.downloadMessage(id);
      expect(msg.body.equals(body)).toBe(true);
      expect(msg).toMatchObject({ messageId: id, messageType: 'DATA', from: GP, to: RECEIVER, workflowId: wf, fileName: 'from-python.dat', subject: 'py', localId: 'X26-PY', contentType: 'text/plain' });
      expect(msg.headers['mex-chunk-range']).toBe(`1:${chunkSize ? Math.ceil(size / chunkSize) : 1}`);
      await receiver.acknowledgeMessage(id);
      expect(await receiver.listInbox({ workflowFilter: wf })).toEqual([]);
    });
  });
});
