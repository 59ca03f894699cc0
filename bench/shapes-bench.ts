/**
 * `npm run bench -- shapes`: what each structural feature of a delivery costs Temporal and a worker,
 * measured on the baseline workflow (bench/baseline-workflows.ts) with one feature changed at a time, in
 * one run on one dev server. Each shape is priced by difference from the plain baseline; the plain one
 * runs between every two shapes, so the spread of the plain runs says how much of a difference is noise.
 *
 * This is the profile of the Temporal side of a delivery: features the delivery has and the plain
 * baseline has not (search-attribute upserts, the send's heartbeat, bigger payloads), and the savings a
 * redesign could make (build and send as one activity, both acknowledgements in one signal).
 *
 * Environment: BENCH_E2E_COUNT (workflows per shape, default 1000), BENCH_SUBMIT_CONCURRENCY (32),
 * BENCH_SHAPES (comma-separated names of SHAPES, default all), BENCH_SHAPE_PAYLOAD_BYTES (1000).
 */
import os from 'node:os';
import type { BaselineShape } from './baseline-workflows';
import { runBaseline } from './e2e-bench';
import type { Services } from './lib/courier-system';

const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

export function shapesOf(payloadBytes: number): Record<string, BaselineShape> {
  return {
    'two upserts (the delivery makes about two)': { upserts: 2 },
    'send heartbeats once': { heartbeat: true },
    [`payloads of ${payloadBytes} bytes`]: { payloadBytes },
    'build and send as one activity': { activities: 1 },
    'both acknowledgements in one signal': { batchedAcks: true },
    'the delivery\'s extras together (two upserts, heartbeat, payloads)': { upserts: 2, heartbeat: true, payloadBytes },
    'the delivery\'s search attributes and start metadata': { deliverySearchAttributes: true },
    'the delivery\'s search attributes without its keyword lists': { deliverySearchAttributes: 'without keyword lists' },
    'the delivery\'s search attributes without its start metadata': { deliverySearchAttributes: 'without start metadata' },
  };
}

type BaselineRun = Awaited<ReturnType<typeof runBaseline>>;

/** CPU milliseconds per workflow of the worker and the server (what a shape can change), and their sum. */
export function cpuOf(run: Pick<BaselineRun, 'cpuMsPerMessage'>): { worker: number; temporal: number; total: number } {
  const worker = run.cpuMsPerMessage.worker ?? 0;
  const temporal = run.cpuMsPerMessage.temporal ?? 0;
  return { worker, temporal, total: worker + temporal };
}

/** A shape's cost against the mean of the plain runs; `noiseMs` is the plain runs' spread (max − min of their totals). */
export function priceShapes(plains: Array<ReturnType<typeof cpuOf>>, shapes: Record<string, ReturnType<typeof cpuOf> & { events: number }>, plainEvents: number) {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const plain = { worker: mean(plains.map((p) => p.worker)), temporal: mean(plains.map((p) => p.temporal)), total: mean(plains.map((p) => p.total)) };
  const totals = plains.map((p) => p.total);
  return {
    plainCpuMsPerWorkflow: { worker: round(plain.worker), temporal: round(plain.temporal), total: round(plain.total) },
    noiseMs: round(Math.max(...totals) - Math.min(...totals)),
    shapes: Object.fromEntries(
      Object.entries(shapes).map(([name, s]) => [
        name,
        {
          cpuMsPerWorkflow: { worker: round(s.worker), temporal: round(s.temporal), total: round(s.total) },
          differenceMs: { worker: round(s.worker - plain.worker), temporal: round(s.temporal - plain.temporal), total: round(s.total - plain.total) },
          historyEvents: s.events,
          eventsDifference: round(s.events - plainEvents),
        },
      ]),
    ),
  };
}

export async function runShapesBench(s: Services): Promise<object> {
  const n = Number(process.env.BENCH_E2E_COUNT ?? 1000);
  const concurrency = Number(process.env.BENCH_SUBMIT_CONCURRENCY ?? 32);
  const payloadBytes = Number(process.env.BENCH_SHAPE_PAYLOAD_BYTES ?? 1000);
  const all = shapesOf(payloadBytes);
  const wanted = process.env.BENCH_SHAPES?.split(',').map((x) => x.trim()).filter(Boolean);
  const chosen = Object.entries(all).filter(([name]) => !wanted || wanted.some((w) => name.startsWith(w)));
  if (chosen.length === 0) throw new Error(`BENCH_SHAPES matched none of: ${Object.keys(all).join('; ')}`);
  const plains: BaselineRun[] = [];
  const runs: Record<string, BaselineRun> = {};
  log(`shapes: plain baseline, ${n} workflows`);
  plains.push(await runBaseline(s, n, concurrency));
  for (const [name, shape] of chosen) {
    log(`shapes: ${name}, ${n} workflows`);
    runs[name] = await runBaseline(s, n, concurrency, shape);
    // A plain run after every other shape keeps drift (the store growing, the machine) visible as noise.
    if (Object.keys(runs).length % 2 === 0 || Object.keys(runs).length === chosen.length) {
      log(`shapes: plain baseline again, ${n} workflows`);
      plains.push(await runBaseline(s, n, concurrency));
    }
  }
  const priced = priceShapes(
    plains.map(cpuOf),
    Object.fromEntries(Object.entries(runs).map(([k, r]) => [k, { ...cpuOf(r), events: r.historyEventsPerMessage }])),
    plains.reduce((t, p) => t + p.historyEventsPerMessage, 0) / plains.length,
  );
  for (const [name, p] of Object.entries(priced.shapes)) {
    process.stdout.write(`shapes ${n}: ${name}: ${p.differenceMs.total >= 0 ? '+' : ''}${p.differenceMs.total} ms per workflow (worker ${p.differenceMs.worker}, Temporal ${p.differenceMs.temporal}), ${p.eventsDifference >= 0 ? '+' : ''}${p.eventsDifference} events; plain ${priced.plainCpuMsPerWorkflow.total} ms, noise ${priced.noiseMs} ms\n`);
  }
  return {
    command: `BENCH_E2E_COUNT=${n}${wanted ? ` BENCH_SHAPES='${wanted.join(',')}'` : ''}${payloadBytes !== 1000 ? ` BENCH_SHAPE_PAYLOAD_BYTES=${payloadBytes}` : ''} npm run bench -- shapes`,
    machineLoadAverage: os.loadavg().map((x) => round(x, 2)),
    workflowsPerShape: n,
    ...priced,
    plainRuns: plains,
    shapeRuns: runs,
  };
}
