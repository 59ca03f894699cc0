/**
 * ITK3 Courier on a real Temporal cluster: private PostgreSQL (both stores, SQL visibility), two
 * Temporal server nodes sharing the shards behind one balancer, three worker processes, the API and the
 * GP practice peer (scripts/lib/cluster.ts, scripts/chaos/cluster-runs.ts). In order: 1,000 deliveries
 * spread over every worker; the four faults, each ending with the `npm run chaos` verdict; the operator
 * queries of docs/operations.md on SQL visibility. Run with `npm run test:cluster` (builds what it needs).
 * Sizes: CLUSTER_LOAD_COUNT (1000), CLUSTER_CHAOS_COUNT (200 per fault).
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { countByStatus, submitLoad, syntheticSubmission, verdictLine, verifyRun, waitForStatus } from '../../bench/lib/courier-system';
import { CLUSTER_RUNS, activityCountsFromHistories, envNum, runOnCluster, startClusterEnv, startFleet, type ClusterEnv } from '../../scripts/chaos/cluster-runs';
import { visibilityThrottled } from '../../scripts/lib/cluster';
import { operatorQueries } from '../../scripts/lib/operator-queries';

jest.setTimeout(30 * 60_000);

const log = (line: string): void => void process.stdout.write(`${line}\n`);
let env: ClusterEnv;

beforeAll(async () => {
  const t = Date.now();
  env = await startClusterEnv({ log: (l) => log(`[cluster] ${l}`) });
  log(`[cluster] up in ${Date.now() - t} ms at ${env.cluster.address}`);
}, 5 * 60_000);

afterAll(async () => {
  await env?.stop();
});

describe('ITK3 Courier on a Temporal cluster (PostgreSQL, two server nodes)', () => {
  it('runs both stores on PostgreSQL, with both nodes in the membership ring and both frontends serving', async () => {
    const dbs = env.cluster.postgres.query("SELECT datname FROM pg_database WHERE datname LIKE 'temporal%' ORDER BY 1");
    expect(dbs).toEqual(['temporal', 'temporal_visibility']);
    // Each node records its services in cluster_membership; two frontends means two nodes in the ring.
    const frontends = env.cluster.postgres.query("SELECT count(DISTINCT rpc_port) FROM cluster_membership WHERE role = 1 AND record_expiry > now()", 'temporal');
    expect(Number(frontends[0])).toBe(2);
    for (const node of env.cluster.nodes) {
      const connection = await Connection.connect({ address: node.frontend });
      try {
        const ns = await connection.workflowService.describeNamespace({ namespace: env.services.namespace });
        expect(ns.namespaceInfo?.name).toBe('courier');
      } finally {
        await connection.close();
      }
    }
  });

  it('delivers 1,000 documents through the API, every one DELIVERED, with the work spread over all three workers', async () => {
    const count = envNum('CLUSTER_LOAD_COUNT', 1000);
    const t = Date.now();
    const fleet = await startFleet(env.services, 'load', 3);
    try {
      const submitted = await submitLoad(fleet.system, count, 32, (n) => n % 250 === 0 && log(`[load] ${n}/${count} accepted (${Math.round((Date.now() - t) / 1000)} s)`));
      const delivered = await waitForStatus(fleet.system, 'DELIVERED', count, 15 * 60_000, (n) => log(`[load] ${n}/${count} DELIVERED (${Math.round((Date.now() - t) / 1000)} s)`), { stallMs: 5 * 60_000 });
      log(`[load] ${delivered}/${count} DELIVERED in ${Math.round((Date.now() - t) / 1000)} s`);
      const { verdict } = await verifyRun('cluster-load', fleet.system, env.services, submitted, { workers: 3 });
      log(verdictLine(verdict));
      expect(verdict.problems).toEqual([]);
      expect(verdict.counts.delivered).toBe(count);

      // The spread, counted twice: each worker's own metrics, and the identity in the histories.
      const identities = fleet.identities();
      const byMetrics = await fleet.activityCountsFromMetrics();
      const sample = submitted.slice(0, 200).map((s) => s.workflowId);
      const byHistory = await activityCountsFromHistories(fleet.system, sample);
      log(`[load] activity executions per worker: metrics ${JSON.stringify(byMetrics)}; histories of ${sample.length} deliveries ${JSON.stringify(byHistory)}`);
      const total = Object.values(byMetrics).reduce((a, b) => a + b, 0);
      for (const id of identities) {
        // Every worker did a real share (at least a tenth of an even split), not a token task.
        expect(byMetrics[id] ?? 0).toBeGreaterThan(total / identities.length / 10);
        expect(byHistory[id] ?? 0).toBeGreaterThan(0);
      }
      // Clients reached both frontends through the balancer.
      const perFrontend = env.cluster.balancer.counts();
      log(`[load] connections per frontend: ${JSON.stringify(perFrontend)}`);
      expect(Object.values(perFrontend).every((n) => n > 0)).toBe(true);
    } finally {
      await fleet.stop();
    }
  });

  for (const name of Object.keys(CLUSTER_RUNS)) {
    it(`chaos on the cluster: ${name} ends with a PASS verdict (0 lost, 0 duplicate sends, 0 lost acknowledgements)`, async () => {
      const verdict = await runOnCluster(env, { ...CLUSTER_RUNS[name]!(envNum('CLUSTER_CHAOS_COUNT', 200)), log });
      expect(verdict.problems).toEqual([]);
      expect(verdict.pass).toBe(true);
      expect(verdict.counts.delivered).toBe(verdict.counts.submitted);
      expect(verdict.counts.duplicateSendsAtPeer).toBe(0);
      expect(verdict.counts.lostAcks).toBe(0);
    });
  }

  it('runs every operator query of docs/operations.md on SQL visibility, and the headline one finds an escalation', async () => {
    const queries = operatorQueries();
    expect(queries.length).toBeGreaterThanOrEqual(12);
    const connection = await Connection.connect({ address: env.cluster.address });
    const client = new Client({ connection, namespace: env.services.namespace });
    try {
      const timings: Array<[string, number]> = [];
      const throttledBefore = await visibilityThrottled(env.cluster);
      for (const q of queries) {
        const t = process.hrtime.bigint();
        await expect(client.workflow.count(q).then(() => 'ok', (e: Error) => `${q}: ${e.message}`)).resolves.toBe('ok');
        timings.push([q, Number(process.hrtime.bigint() - t) / 1e6]);
      }
      log(`[queries] ms per query over ${(await client.workflow.count('')).count} workflows: ${timings.map(([q, ms]) => `${ms.toFixed(0)} ${q}`).join(' | ')}`);
      // An operator runs the set back to back (the Web UI sends a list and a count per page): no frontend
      // may refuse one for the namespace's visibility rate, which the SDK would hide as a 1.5-2 s retry.
      expect(await visibilityThrottled(env.cluster)).toBe(throttledBefore);

      // Nobody answers this delivery, so its infrastructure-acknowledgement deadline escalates it.
      const fleet = await startFleet(env.services, 'queries', 1, { peer: false, env: { ITK3_INF_ACK_TIMEOUT: '2s' } });
      try {
        const ods = `Q${Math.floor(Math.random() * 1e6).toString().padStart(6, '0')}`;
        const doc = syntheticSubmission(0);
        const { workflowId } = await fleet.system.submit({ ...doc, documentId: randomUUID(), recipient: { ...doc.recipient, odsCode: ods } });
        const deadline = Date.now() + 120_000;
        let found: string[] = [];
        while (Date.now() < deadline && found.length === 0) {
          found = [];
          for await (const wf of fleet.system.client.workflow.list({ query: `Escalated = true AND RecipientOds = '${ods}'` })) found.push(wf.workflowId);
          if (!found.length) await new Promise((r) => setTimeout(r, 1000));
        }
        expect(found).toEqual([workflowId]);
        // The same store answers the counts the load used: nothing of this escalated one is DELIVERED.
        expect(await countByStatus(fleet.system, 'DELIVERED')).toBe(0);
      } finally {
        await fleet.stop();
      }
    } finally {
      await connection.close();
    }
  });
});
