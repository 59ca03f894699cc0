/**
 * MESH client benchmark: send-and-receive throughput for small (10 KB) and large (20 MB)
 * messages against a mesh-sandbox, side by side with NHS England's Python mesh-client 5.0.2 doing the
 * same work in the same run, reported as ratios, plus peak RSS per phase.
 *
 * Same work on both sides: X26ABC1 sends `count` messages of `size` random bytes to X26ABC3 on a workflow
 * id of its own, then X26ABC3 lists (workflow filter), downloads in full and acknowledges every one.
 * The TypeScript client runs it once sequentially (like-for-like with the synchronous Python client) and
 * once with 8 requests in flight (what an async client can do). Large messages are also run in streaming
 * mode (file body source, streamed download) to show memory flat in message size.
 *
 * Run directly (`node dist/bench/mesh-bench.js`) it starts a private sandbox on a free port.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MeshClient, fileBodySource } from '../mesh';
import { REPO_ROOT, VENV_BIN, freePort, startMeshSandbox } from '../scripts/lib/services';
import { sampleProc } from './lib/proc';

const SENDER = 'X26ABC1';
const RECIPIENT = 'X26ABC3';
const SMALL = 10 * 1024;
const LARGE = 20 * 1000 * 1000;

export interface MeshBenchOptions {
  meshUrl: string;
  sharedKey: string;
  /** Messages per small round (default 200). */
  smallCount?: number;
  /** Messages per large round (default 3). */
  largeCount?: number;
  /** Rounds per client, interleaved; the median round is reported (default 3). */
  repetitions?: number;
  /** The sandbox's process id: its CPU per message is measured in each round (the server's share of the work). */
  sandboxPid?: number;
}

interface Round {
  client: string;
  mode: string;
  size: number;
  count: number;
  sendSeconds: number;
  receiveSeconds: number;
  totalSeconds: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  /** CPU time of the client process itself (user + system) per message, in ms: its own cost, server excluded. */
  clientCpuMsPerMessage: number;
  /** CPU time of mesh-sandbox per message in the same round, in ms (when its pid is known). */
  sandboxCpuMsPerMessage?: number;
  peakRssMb: number;
  peakRssAboveStartMb?: number;
}

/** Samples RSS every few ms: `maxRSS` is monotonic for the process, so per-phase peaks need sampling. */
function rssSampler(): { stop(): { peak: number; start: number } } {
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return { peak, start };
    },
  };
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Empty the recipient's inbox before a round. mesh-sandbox keeps acknowledged messages in its in-memory
 * inbox and counts the whole list on every authorised request, so each round would otherwise pay for the
 * rounds before it (about 30 % slower after 2,000 messages): a cost of the sandbox, not of either client,
 * and not one real MESH has. Every round acknowledges all it sends, so nothing waiting is lost.
 */
async function resetRecipientInbox(meshUrl: string): Promise<void> {
  const res = await fetch(`${meshUrl}/admin/reset/${RECIPIENT}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`mesh-sandbox reset of ${RECIPIENT} failed: HTTP ${res.status}`);
}

/** Measures the sandbox's CPU over a round, from /proc (10 ms ticks: rounds are long enough for that). */
function sandboxCpu(pid: number | undefined): { stop(count: number): { sandboxCpuMsPerMessage?: number } } {
  const before = sampleProc(pid);
  return {
    stop(count) {
      const after = sampleProc(pid);
      return before && after ? { sandboxCpuMsPerMessage: round2(((after.cpuSeconds - before.cpuSeconds) * 1000) / count) } : {};
    },
  };
}

const mb = (bytes: number): number => Math.round((bytes / 1e6) * 10) / 10;

async function tsRound(
  opts: MeshBenchOptions,
  size: number,
  count: number,
  concurrency: number,
  streaming: boolean,
  tmp: string,
  downloadEncoding: 'gzip' | 'identity' = 'gzip',
): Promise<Round> {
  const common = { baseUrl: opts.meshUrl, password: 'password', sharedKey: opts.sharedKey, downloadEncoding };
  const sender = new MeshClient({ ...common, mailboxId: SENDER });
  const recipient = new MeshClient({ ...common, mailboxId: RECIPIENT });
  const workflowId = `BENCH_TS_${randomUUID().slice(0, 8).toUpperCase()}`;
  let file: string | undefined;
  let payload: Buffer | undefined = randomBytes(size);
  if (streaming) {
    file = path.join(tmp, `${workflowId}.bin`);
    writeFileSync(file, payload);
    payload = undefined;
  }
  await resetRecipientInbox(opts.meshUrl);
  const server = sandboxCpu(opts.sandboxPid);
  const sampler = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async () => {
      await sender.sendMessage({ to: RECIPIENT, workflowId, body: file ? fileBodySource(file, size) : payload! });
    },
  );
  const t1 = performance.now();
  const ids = await recipient.listInbox({ workflowFilter: workflowId });
  if (ids.length !== count) throw new Error(`listed ${ids.length} of ${count}`);
  await pool(ids, concurrency, async (id) => {
    let received = 0;
    if (streaming) {
      const { body } = await recipient.downloadMessageStream(id);
      for await (const part of body) received += part.byteLength;
    } else {
      received = (await recipient.downloadMessage(id)).body.byteLength;
    }
    if (received !== size) throw new Error(`size mismatch for a message: ${received}`);
    await recipient.acknowledgeMessage(id);
  });
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const { peak, start } = sampler.stop();
  if (file) rmSync(file);
  const total = (t2 - t0) / 1000;
  return {
    client: 'typescript',
    mode: `${streaming ? 'streaming' : 'buffered'}, concurrency ${concurrency}${downloadEncoding === 'identity' ? ', Accept-Encoding identity' : ''}`,
    size,
    count,
    sendSeconds: (t1 - t0) / 1000,
    receiveSeconds: (t2 - t1) / 1000,
    totalSeconds: total,
    messagesPerSecond: count / total,
    megabytesPerSecond: (count * size) / 1e6 / total,
    clientCpuMsPerMessage: (cpu.user + cpu.system) / 1000 / count,
    ...server.stop(count),
    peakRssMb: mb(peak),
    peakRssAboveStartMb: mb(peak - start),
  };
}

async function pythonRound(opts: MeshBenchOptions, size: number, count: number): Promise<Round> {
  await resetRecipientInbox(opts.meshUrl);
  const server = sandboxCpu(opts.sandboxPid);
  const { stdout } = await promisify(execFile)(
    path.join(VENV_BIN, 'python'),
    [
      path.join(REPO_ROOT, 'test', 'interop', 'mesh_interop.py'),
      'bench', '--url', opts.meshUrl, '--key', opts.sharedKey,
      '--sender', SENDER, '--recipient', RECIPIENT, '--size', String(size), '--count', String(count),
    ],
    { maxBuffer: 1024 * 1024 },
  );
  const r = JSON.parse(stdout) as { sendSeconds: number; receiveSeconds: number; totalSeconds: number; cpuSeconds: number; peakRssBytes: number };
  return {
    client: 'python mesh-client 5.0.2',
    mode: 'synchronous (requests)',
    size,
    count,
    sendSeconds: r.sendSeconds,
    receiveSeconds: r.receiveSeconds,
    totalSeconds: r.totalSeconds,
    messagesPerSecond: count / r.totalSeconds,
    megabytesPerSecond: (count * size) / 1e6 / r.totalSeconds,
    clientCpuMsPerMessage: (r.cpuSeconds * 1000) / count,
    ...server.stop(count),
    peakRssMb: mb(r.peakRssBytes),
  };
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Run each named round `reps` times in rotating order; keep each one's median round by throughput. */
async function interleaved<K extends string>(reps: number, rounds: Record<K, () => Promise<Round>>): Promise<Record<K, Round & { rounds: number[] }>> {
  const names = Object.keys(rounds) as K[];
  const results = new Map<K, Round[]>(names.map((n) => [n, []]));
  for (let r = 0; r < reps; r += 1) {
    for (let i = 0; i < names.length; i += 1) {
      const name = names[(i + r) % names.length]!;
      results.get(name)!.push(await rounds[name]());
    }
  }
  const out = {} as Record<K, Round & { rounds: number[] }>;
  for (const name of names) {
    const sorted = [...results.get(name)!].sort((a, b) => a.messagesPerSecond - b.messagesPerSecond);
    out[name] = { ...sorted[Math.floor(sorted.length / 2)]!, rounds: results.get(name)!.map((x) => round2(x.messagesPerSecond)) };
  }
  return out;
}

function sandboxBound(ts: Round, py: Round): object | undefined {
  const perMessage = ts.sandboxCpuMsPerMessage;
  if (!perMessage) return undefined;
  const messagesPerSecond = 1000 / perMessage;
  return {
    sandboxCpuMsPerMessage: perMessage,
    maxMessagesPerSecond: round2(messagesPerSecond),
    maxRatioVsPython: round2(messagesPerSecond / py.messagesPerSecond),
  };
}

/** Run the benchmark against a running sandbox whose mailboxes X26ABC1 and X26ABC3 exist. */
export async function runMeshBench(opts: MeshBenchOptions): Promise<object> {
  const smallCount = opts.smallCount ?? 200;
  const largeCount = opts.largeCount ?? 3;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mesh-bench-'));
  try {
    // Warm both sides (imports, connection pools, sandbox code paths) so the first round is not penalised.
    await tsRound(opts, SMALL, 10, 1, false, tmp);
    await pythonRound(opts, SMALL, 10);

    // The machine may be shared and noisy: interleave the clients and keep the median round of each.
    const reps = opts.repetitions ?? 3;
    const small = await interleaved(reps, {
      python: () => pythonRound(opts, SMALL, smallCount),
      typescriptSequential: () => tsRound(opts, SMALL, smallCount, 1, false, tmp),
      typescriptConcurrent: () => tsRound(opts, SMALL, smallCount, 8, false, tmp),
    });
    const large = await interleaved(reps, {
      python: () => pythonRound(opts, LARGE, largeCount),
      typescriptSequential: () => tsRound(opts, LARGE, largeCount, 1, false, tmp),
      typescriptStreaming: () => tsRound(opts, LARGE, largeCount, 1, true, tmp),
      typescriptStreamingIdentity: () => tsRound(opts, LARGE, largeCount, 1, true, tmp, 'identity'),
    });
    const ratio = (ts: Round, py: Round): number => round2(ts.messagesPerSecond / py.messagesPerSecond);
    const cpuRatio = (ts: Round, py: Round): number => round2(py.clientCpuMsPerMessage / ts.clientCpuMsPerMessage);
    return {
      benchmark: 'mesh-client send+receive',
      node: process.version,
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}`,
      ratios: {
        smallSequentialVsPython: ratio(small.typescriptSequential, small.python),
        smallConcurrentVsPython: ratio(small.typescriptConcurrent, small.python),
        largeSequentialVsPython: ratio(large.typescriptSequential, large.python),
        largeStreamingVsPython: ratio(large.typescriptStreaming, large.python),
        largeStreamingIdentityVsPython: ratio(large.typescriptStreamingIdentity, large.python),
      },
      /**
       * The most any client could reach on small messages against this sandbox: it serves one request at
       * a time, so it cannot finish messages faster than 1 / (its CPU per message), measured in our
       * concurrent round (the least sandbox work per message of all rounds). As a ratio to mesh-client.
       */
      sandboxBound: sandboxBound(small.typescriptConcurrent, small.python),
      /** How much less client CPU per message than mesh-client (higher is better). */
      clientCpuEfficiency: {
        smallSequentialVsPython: cpuRatio(small.typescriptSequential, small.python),
        largeStreamingVsPython: cpuRatio(large.typescriptStreaming, large.python),
      },
      small,
      large,
      notes: [
        'Both clients talk to the same single-worker mesh-sandbox, which dominates the cost of small messages.',
        'The recipient inbox is emptied before every round: the sandbox rescans every message a mailbox ever received on each request.',
        'sandboxBound: the throughput no client can pass against this sandbox (one request at a time), from its CPU per message.',
        'Each figure is the median of interleaved rounds; `rounds` lists every round in messages per second.',
        'peakRssMb is absolute for each process; peakRssAboveStartMb is the TypeScript phase peak over its starting RSS.',
        'Python peak RSS is ru_maxrss of its own process for that round (it includes the interpreter).',
        'Accept-Encoding identity stops the sandbox gzipping every download on the fly (gzip level 9 in Python); whether real MESH transcodes is not verified.',
      ],
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  void (async () => {
    const port = await freePort();
    const sandbox = await startMeshSandbox({ port, sharedKey: 'TestKey', storeMode: 'memory' });
    try {
      const result = await runMeshBench({ meshUrl: sandbox.url, sharedKey: 'TestKey', ...(sandbox.process.pid ? { sandboxPid: sandbox.process.pid } : {}) });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } finally {
      await sandbox.stop();
    }
  })().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
