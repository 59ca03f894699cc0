/**
 * Mutual TLS and proxies, for real: a second mesh-sandbox under uvicorn that requires a client
 * certificate (--ssl-cert-reqs 2, --ssl-ca-certs), with openssl-made certificates, reached directly and
 * through a local CONNECT proxy that demands Proxy-Authorization.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { ErrorType } from '../../../contracts/errors';
import { MeshClient, type MeshError, createMeshDispatcher, type MeshTransportOptions } from '../../../mesh';
import { freePort } from '../../../scripts/lib/services';
import { testServices } from '../../helpers/services';
import { COURIER, RECEIVER, uniqueWorkflow } from './helpers';

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, '..', '..', '..');

function makeCertificates(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'rogueCert' | 'rogueKey', string> {
  const f = (name: string): string => path.join(dir, name);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=Test MESH CA');
  const leaf = (name: string, cn: string, ext: string, ca = 'ca'): void => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(f(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${ca}.pem`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
  };
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'SERVER001.X26.api.mesh-client.nhs.uk', 'extendedKeyUsage=clientAuth\n');
  // A client certificate from a CA the server does not trust.
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('rogue-ca.key'), '-out', f('rogue-ca.pem'), '-days', '2', '-subj', '/CN=Rogue CA');
  leaf('rogue', 'rogue', 'extendedKeyUsage=clientAuth\n', 'rogue-ca');
  return {
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    rogueCert: f('rogue.pem'),
    rogueKey: f('rogue.key'),
  };
}

async function waitHealthy(url: string, dispatcherOpts: MeshTransportOptions, child: ChildProcess): Promise<void> {
  const dispatcher = createMeshDispatcher(dispatcherOpts);
  const { fetch } = await import('undici');
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error('TLS sandbox exited');
      const ok = await fetch(`${url}/health`, { dispatcher }).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error('TLS sandbox did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await dispatcher.close();
  }
}

describe('mutual TLS and proxy transport', () => {
  const dir = mkdtempSync(path.join(testServices().dir, 'mtls-'));
  const certs = makeCertificates(dir);
  let sandbox: ChildProcess;
  let url: string;
  let proxy: http.Server;
  let proxyUrl: string;
  const proxyAuth: string[] = [];
  const tunnels: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    sandbox = spawn(
      path.join(REPO, '.venv', 'bin', 'uvicorn'),
      ['mesh_sandbox.api:app', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--log-level', 'warning',
        '--ssl-certfile', certs.serverCert, '--ssl-keyfile', certs.serverKey, '--ssl-ca-certs', certs.ca, '--ssl-cert-reqs', '2'],
      { env: { ...process.env, STORE_MODE: 'memory', AUTH_MODE: 'full', SHARED_KEY: testServices().meshSharedKey }, stdio: 'ignore' },
    );
    await waitHealthy(url, { certFile: certs.clientCert, keyFile: certs.clientKey, caFile: certs.ca }, sandbox);

    // A CONNECT proxy that insists on Basic credentials, like many NHS network proxies.
    proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req, socket, head) => {
      proxyAuth.push(req.headers['proxy-authorization'] ?? '');
      if (req.headers['proxy-authorization'] !== `Basic ${Buffer.from('nhsuser:s3cr@t').toString('base64')}`) {
        socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
        return;
      }
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://nhsuser:${encodeURIComponent('s3cr@t')}@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    sandbox?.kill('SIGTERM');
    proxy?.closeAllConnections();
    await new Promise((r) => proxy?.close(r));
  });

  const client = (mailboxId: string, transport: MeshTransportOptions) =>
    new MeshClient({ baseUrl: url, mailboxId, password: 'password', sharedKey: testServices().meshSharedKey, dispatcher: createMeshDispatcher(transport), maxRetries: 0 });
  const good = () => ({ certFile: certs.clientCert, keyFile: certs.clientKey, caFile: certs.ca });

  async function networkFailure(p: Promise<unknown>): Promise<MeshError> {
    try {
      await p;
    } catch (err) {
      expect((err as MeshError).type).toBe(ErrorType.MESH_NETWORK_ERROR);
      return err as MeshError;
    }
    throw new Error('expected a network failure');
  }

  it('sends and receives over mutual TLS with the client certificate', async () => {
    const wf = uniqueWorkflow('mtls');
    const sender = client(COURIER, good());
    await sender.handshake();
    const sent = await sender.sendMessage({ to: RECEIVER, workflowId: wf, body: 'over mTLS' });
    const receiver = client(RECEIVER, good());
    expect((await receiver.downloadMessage(sent.messageId)).body.toString()).toBe('over mTLS');
    await receiver.acknowledgeMessage(sent.messageId);
  });

  it('is refused without a client certificate, or with one from an untrusted CA', async () => {
    await networkFailure(client(COURIER, { caFile: certs.ca }).handshake());
    await networkFailure(client(COURIER, { certFile: certs.rogueCert, keyFile: certs.rogueKey, caFile: certs.ca }).handshake());
  });

  it('refuses a server whose certificate does not chain to the configured CA', async () => {
    const err = await networkFailure(client(COURIER, { certFile: certs.clientCert, keyFile: certs.clientKey }).handshake());
    expect(err.message).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
  });

  it('tunnels through an authenticating proxy and still presents the client certificate end to end', async () => {
    const wf = uniqueWorkflow('proxy');
    const sender = client(COURIER, { ...good(), proxyUrl });
    const sent = await sender.sendMessage({ to: RECEIVER, workflowId: wf, body: 'via proxy' });
    expect((await client(RECEIVER, { ...good(), proxyUrl }).downloadMessage(sent.messageId)).body.toString()).toBe('via proxy');
    expect(tunnels.length).toBeGreaterThan(0);
    expect(tunnels.every((t) => t === new URL(url).host)).toBe(true);
    await networkFailure(client(COURIER, { ...good(), proxyUrl: proxyUrl.replace('s3cr%40t', 'wrong') }).handshake());
    expect(proxyAuth.some((a) => a.length > 0)).toBe(true);
  });
});
