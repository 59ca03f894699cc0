/**
 * One-shot set-up of a Temporal server for ITK3 Courier (the `temporal-setup` service of
 * docker-compose.yml, or by hand against any cluster): waits for the frontend, creates the namespace if
 * it is missing, sets its retention and registers every search attribute in contracts/ (the one list,
 * so a new attribute needs no edit here). Idempotent. Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * ITK3_RETENTION_DAYS (default 30), TEMPORAL_SETUP_FRONTENDS (on a cluster: every node's frontend, to wait for;
 * otherwise TEMPORAL_ADDRESS's),
 * and TEMPORAL_TLS_* for mutual TLS as every other process.
 */
import { Connection } from '@temporalio/client';
import Long from 'long';
import { temporalConnectionOptions } from '../worker/compose';
import { ensureNamespaceSetup, waitUntilSearchAttributesUsable } from './lib/services';

/** Creates the namespace if missing, then sets retention and search attributes (also used by the local cluster). */
export async function setUpNamespace(address: string, namespace: string, retentionDays: number, log: (line: string) => void): Promise<void> {
  // Outside the retry loop: an unreadable certificate is a configuration error, not a server still starting.
  const connectionOptions = temporalConnectionOptions({ ...process.env, TEMPORAL_ADDRESS: address });
  const deadline = Date.now() + 120_000;
  let connection: Connection | undefined;
  while (!connection) {
    try {
      connection = await Connection.connect({ ...connectionOptions, connectTimeout: 2000 });
      await connection.healthService.check({});
    } catch (err) {
      await connection?.close();
      connection = undefined;
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} not reachable: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(retentionDays * 86_400) } });
    log(`created namespace ${namespace}`);
  }
  // Right after creation the namespace may not be visible to every frontend yet.
  for (let i = 0; ; i++) {
    try {
      await ensureNamespaceSetup(connection, namespace, retentionDays);
      break;
    } catch (err) {
      if (i >= 30) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  log(`namespace ${namespace} ready: retention ${retentionDays} days, search attributes registered`);
  await connection.close();
}

/** Until every frontend answers for the namespace and accepts every search attribute (a new namespace takes a moment to reach all of them). */
export async function waitForNamespaceEverywhere(frontends: readonly string[], namespace: string, timeoutMs = 60_000): Promise<void> {
  for (const address of frontends) {
    // Each frontend with the same TEMPORAL_TLS_* as the set-up itself: an mTLS cluster refuses a plain connection.
    const connection = await Connection.connect(temporalConnectionOptions({ ...process.env, TEMPORAL_ADDRESS: address }));
    try {
      await waitUntilSearchAttributesUsable(connection, namespace, timeoutMs, address);
    } finally {
      await connection.close();
    }
  }
}

if (require.main === module) {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'courier';
  // On a cluster, every node's frontend (comma-separated) must serve the namespace before anything uses it.
  const frontends = (process.env.TEMPORAL_SETUP_FRONTENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  setUpNamespace(address, namespace, Number(process.env.ITK3_RETENTION_DAYS ?? '30'), (line) => void process.stdout.write(`${line}\n`))
    .then(async () => {
      // Whatever starts next (workers, the API) may use the search attributes at once: wait until they can.
      const serving = frontends.length ? frontends : [address];
      await waitForNamespaceEverywhere(serving, namespace);
      process.stdout.write(`namespace ${namespace} usable on ${serving.join(', ')}\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`temporal-setup failed: ${(err as Error).message}\n`);
      process.exit(1);
    });
}
