/**
 * A TCP (layer 4) balancer in front of the Temporal frontends of the local cluster: what a production
 * cluster has as its load balancer, so that every client (workers, API, Web UI) uses one address and
 * survives the loss of a node. Each new connection goes to the next backend in turn; a backend that
 * refuses is skipped for that connection. A gRPC client whose connection drops reconnects through the
 * balancer and lands on a live node.
 */
import net from 'node:net';

export interface TcpBalancer {
  address: string;
  port: number;
  /** Connections accepted per backend, e.g. to show that clients were spread. */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(opts: { port: number; backends: readonly string[]; host?: string }): Promise<TcpBalancer> {
  const host = opts.host ?? '127.0.0.1';
  const counts: Record<string, number> = Object.fromEntries(opts.backends.map((b) => [b, 0]));
  const sockets = new Set<net.Socket>();
  let next = 0;
  const connectTo = (client: net.Socket, tried: number): void => {
    if (tried >= opts.backends.length) {
      client.destroy();
      return;
    }
    const backend = opts.backends[next++ % opts.backends.length]!;
    const [bHost, bPort] = [backend.slice(0, backend.lastIndexOf(':')), Number(backend.slice(backend.lastIndexOf(':') + 1))];
    const upstream = net.connect({ host: bHost, port: bPort });
    sockets.add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      counts[backend] = (counts[backend] ?? 0) + 1;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) connectTo(client, tried + 1);
      else client.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (connected) client.destroy();
    });
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    connectTo(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `${host}:${port}`,
    port,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** As a service (docker-compose.yml `temporal-frontend`): ITK3_BALANCER_LISTEN host:port, ITK3_BALANCER_BACKENDS host:port,... */
if (require.main === module) {
  const listen = process.env.ITK3_BALANCER_LISTEN ?? '127.0.0.1:7233';
  const backends = (process.env.ITK3_BALANCER_BACKENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  if (!backends.length || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    process.stderr.write('tcp-balancer: set ITK3_BALANCER_LISTEN (host:port) and ITK3_BALANCER_BACKENDS (host:port,...)\n');
    process.exit(1);
  }
  startTcpBalancer({ host: listen.slice(0, listen.lastIndexOf(':')), port, backends }).then(
    (b) => {
      process.stdout.write(`tcp-balancer: ${b.address} -> ${backends.join(', ')}\n`);
      process.once('SIGTERM', () => void b.close().then(() => process.exit(0)));
    },
    (err: unknown) => {
      process.stderr.write(`tcp-balancer: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
