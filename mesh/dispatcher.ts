import { readFileSync } from 'node:fs';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';

/**
 * Transport options for real MESH: an NHS-issued client certificate and key,
 * the NHS CA bundle for the server chain, and an optional HTTP(S) proxy, as NHS networks often need one.
 * Paths are read once, when the dispatcher is built.
 */
export interface MeshTransportOptions {
  /** PEM client certificate (mutual TLS). */
  certFile?: string;
  /** PEM private key of the client certificate. */
  keyFile?: string;
  /** Passphrase of an encrypted key. */
  passphrase?: string;
  /** PEM CA bundle the server must chain to (e.g. mesh-client's nhs-int-ca-bundle.pem). */
  caFile?: string;
  /** Proxy URL, e.g. `http://proxy.nhs.net:8080`; credentials in the URL are used for Proxy-Authorization. */
  proxyUrl?: string;
  /** Connections per origin (default 8). */
  connections?: number;
  /** TCP connect timeout in ms (default 10 000). */
  connectTimeoutMs?: number;
}

/** The TLS options undici gets, exposed so tests can check them without a handshake. */
export interface MeshTlsConnectOptions {
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
  ca?: Buffer;
  minVersion: 'TLSv1.2';
  rejectUnauthorized: true;
}

export function meshTlsOptions(opts: MeshTransportOptions, read: (path: string) => Buffer = readFileSync): MeshTlsConnectOptions {
  if (Boolean(opts.certFile) !== Boolean(opts.keyFile)) {
    throw new Error('MESH mutual TLS needs both a certificate file and a key file');
  }
  const tls: MeshTlsConnectOptions = { minVersion: 'TLSv1.2', rejectUnauthorized: true };
  if (opts.certFile) tls.cert = read(opts.certFile);
  if (opts.keyFile) tls.key = read(opts.keyFile);
  if (opts.passphrase) tls.passphrase = opts.passphrase;
  if (opts.caFile) tls.ca = read(opts.caFile);
  return tls;
}

/**
 * Build the undici dispatcher for a `MeshClient`: an `Agent` with the client certificate, or a
 * `ProxyAgent` that tunnels to MESH and presents the certificate end to end (`requestTls`). Server
 * certificates are always verified; there is no switch to turn that off.
 */
export function createMeshDispatcher(opts: MeshTransportOptions, read?: (path: string) => Buffer): Dispatcher {
  const tls = meshTlsOptions(opts, read);
  const connections = opts.connections ?? 8;
  const timeout = opts.connectTimeoutMs ?? 10_000;
  if (opts.proxyUrl) {
    const proxy = new URL(opts.proxyUrl);
    const token =
      proxy.username || proxy.password
        ? `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`
        : undefined;
    proxy.username = '';
    proxy.password = '';
    return new ProxyAgent({
      uri: proxy.toString(),
      ...(token ? { token } : {}),
      requestTls: { ...tls, timeout },
      connections,
    });
  }
  return new Agent({ connect: { ...tls, timeout }, connections });
}
