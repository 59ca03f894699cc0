/**
 * End-to-end throughput: N consultation reports submitted through the HTTP API, built, sent through
 * mesh-sandbox, answered by the GP practice peer (NHS England's mesh-client), routed back by the inbox
 * poller, DELIVERED. Baseline in the same run, on the same Temporal dev server: a minimal workflow with
 * the same number of activities, signals and timers and no ITK3/MESH work. Reports our throughput as a
 * ratio to the baseline, latency percentiles, worker memory and history events per message.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { REPO_ROOT } from '../scripts/lib/services';
import { startHarness } from '../test/helpers/courier-harness';
import { baselineAckSignal } from './baseline-workflows';

interface Services {
  temporalAddress: string;
  namespace: string;
  meshUrl: string;
  sharedKey: string;
  dir: string;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

function memorySampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 250);
  return { stop: () => (clearInterval(t), peak) };
}

async function runOurs(s: Services, n: number, pollMs: number) {
  const h = await startHarness({ MESH_POLL_INTERVAL: `${pollMs}ms`, ITK3_INF_ACK_TIMEOUT: '1h', ITK3_BUS_ACK_TIMEOUT: '1h', LOG_LEVEL: 'error' });
  const example = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', 'consultation-report.json'), 'utf8'));
  const mem = memorySampler();
  const submitted = new Map<string, number>();
  const latencies: number[] = [];
  const t0 = Date.now();
  let lastDone = t0;
  try {
    const ids: string[] = [];
    await mapLimit(Array.from({ length: n }, (_, i) => i), 32, async (i) => {
      const doc = { ...example, documentId: randomUUID(), encounter: { ...example.encounter, id: `bench-${i}-${randomUUID()}` } };
      const start = Date.now();
      const { workflowId } = await h.api.submit(doc);
      submitted.set(workflowId, start);
      ids.push(workflowId);
    });
    await mapLimit(ids, 200, async (id) => {
      const result = (await h.temporal.workflow.getHandle(id).result()) as { status: string };
      if (result.status !== 'DELIVERED') throw new Error(`${id} ended ${result.status}`);
      const done = Date.now();
      lastDone = Math.max(lastDone, done);
      latencies.push(done - submitted.get(id)!);
    });
    const sample = ids.slice(0, 20);
    let events = 0;
    for (const id of sample) events += (await h.temporal.workflow.getHandle(id).fetchHistory()).events?.length ?? 0;
    latencies.sort((a, b) => a - b);
    return {
      messages: n,
      seconds: round((lastDone - t0) / 1000, 2),
      messagesPerSecond: round(n / ((lastDone - t0) / 1000), 2),
      latencyMs: { p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99) },
      pollIntervalMs: pollMs,
      peakRssMiB: round(mem.stop() / 2 ** 20),
      historyEventsPerMessage: round(events / sample.length),
      peerReceived: h.peerRecords().length,
    };
  } finally {
    await h.stop();
  }
}

async function runBaseline(s: Services, n: number) {
  const taskQueue = `bench-baseline-${randomUUID()}`;
  const client = new Client({ connection: await Connection.connect({ address: s.temporalAddress }), namespace: s.namespace });
  const connection = await NativeConnection.connect({ address: s.temporalAddress });
  const worker = await Worker.create({
    connection,
    namespace: s.namespace,
    taskQueue,
    workflowsPath: require.resolve('./baseline-workflows'),
    activities: {
      baselineBuild: async () => 'built',
      baselineSend: async ({ workflowId }: { workflowId: string }) => {
        // The "acks" arrive as signals from outside the workflow, as the poller's do.
        setImmediate(() => {
          const handle = client.workflow.getHandle(workflowId);
          void handle.signal(baselineAckSignal, 'infrastructure').then(() => handle.signal(baselineAckSignal, 'business'));
        });
        return 'sent';
      },
    },
  });
  const mem = memorySampler();
  const run = worker.run();
  const latencies: number[] = [];
  const t0 = Date.now();
  let lastDone = t0;
  try {
    await mapLimit(Array.from({ length: n }, (_, i) => i), 32, async () => {
      const id = `baseline-${randomUUID()}`;
      const start = Date.now();
      const handle = await client.workflow.start('baselineDeliveryWorkflow', { workflowId: id, taskQueue, args: [id] });
      void handle.result().then(() => {
        const done = Date.now();
        lastDone = Math.max(lastDone, done);
        latencies.push(done - start);
      });
    });
    while (latencies.length < n) await new Promise((r) => setTimeout(r, 100));
    latencies.sort((a, b) => a - b);
    return {
      messages: n,
      seconds: round((lastDone - t0) / 1000, 2),
      messagesPerSecond: round(n / ((lastDone - t0) / 1000), 2),
      latencyMs: { p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99) },
      peakRssMiB: round(mem.stop() / 2 ** 20),
    };
  } finally {
    worker.shutdown();
    await run;
    await connection.close();
    await client.connection.close();
  }
}

export async function runE2eBench(s: Services, opts: { count?: number; pollMs?: number } = {}): Promise<object> {
  const n = opts.count ?? Number(process.env.BENCH_E2E_COUNT ?? 1000);
  const pollMs = opts.pollMs ?? Number(process.env.BENCH_POLL_MS ?? 200);
  // The harness reads the services from the same variables as the jest global setup provides.
  process.env.ITK3_TEST_TEMPORAL_ADDRESS = s.temporalAddress;
  process.env.ITK3_TEST_TEMPORAL_NAMESPACE = s.namespace;
  process.env.ITK3_TEST_MESH_URL = s.meshUrl;
  process.env.ITK3_TEST_MESH_SHARED_KEY = s.sharedKey;
  process.env.ITK3_TEST_DIR = s.dir;
  const baseline = await runBaseline(s, n);
  const ours = await runOurs(s, n, pollMs);
  return {
    baseline,
    itk3Courier: ours,
    throughputRatioToBaseline: round(ours.messagesPerSecond / baseline.messagesPerSecond, 3),
  };
}
