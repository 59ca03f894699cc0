/**
 * The frame every chaos run shares: fresh services (Temporal dev server on a SQLite file, mesh-sandbox),
 * ITK3 Courier as processes (worker, API) plus the GP practice peer; a load of N submissions through the
 * API while a fault is injected; then wait for every delivery, verify (final states, duplicates at the
 * peer by document id, acknowledgements the peer sent that no delivery recorded, inboxes empty, nothing
 * quarantined) and print one verdict line. Results go to bench-results/chaos-<name>-<time>.json.
 * Bounded: a fixed number of messages and faults, and a deadline for the whole run.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  COURIER_MAILBOX,
  PRACTICE_MAILBOX,
  inboxCount,
  sleep,
  startCourierSystem,
  startServices,
  submitLoad,
  verdictLine,
  verifyRun,
  waitForStatus,
  type CourierSystem,
  type RunVerdict,
  type Services,
} from '../../bench/lib/courier-system';
import { REPO_ROOT } from '../lib/services';
import { seeded } from './fault-proxy';

export interface ChaosContext {
  services: Services;
  system: CourierSystem;
  /** True once every submission has been accepted. */
  submitted(): boolean;
  /** Submissions accepted so far. */
  submittedCount(): number;
  random(): number;
  log(line: string): void;
}

export interface ChaosOptions {
  name: string;
  count: number;
  /** Submissions in flight at once (lower = a longer run for the faults to land in). */
  concurrency: number;
  /** Put something between the worker and MESH (e.g. a fault proxy); returns its URL. */
  meshFront?(services: Services): Promise<{ url: string; close(): Promise<void>; counts(): Record<string, number> }>;
  /** The fault: runs alongside the load; returns counts for the verdict line. */
  during(ctx: ChaosContext): Promise<Record<string, number>>;
  /** After the load and the fault, how long deliveries may take to finish (default 20 min). */
  settleMs?: number;
  pollInterval?: string;
}

export const envNum = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);

export async function runChaos(opts: ChaosOptions): Promise<RunVerdict> {
  const started = Date.now();
  const seed = envNum('CHAOS_SEED', 42);
  const random = seeded(seed);
  const log = (line: string): void => void process.stdout.write(`[${opts.name} ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);
  const dir = mkdtempSync(path.join(os.tmpdir(), `itk3-chaos-${opts.name}-`));
  log(`services and logs in ${dir} (seed ${seed})`);
  const services = await startServices(dir, 'courier-chaos');
  let front: Awaited<ReturnType<NonNullable<ChaosOptions['meshFront']>>> | undefined;
  let system: CourierSystem | undefined;
  let verdict: RunVerdict;
  try {
    front = opts.meshFront ? await opts.meshFront(services) : undefined;
    system = await startCourierSystem({
      services,
      label: opts.name,
      pollInterval: opts.pollInterval ?? '500ms',
      peerIntervalSeconds: 0.3,
      ...(front ? { workerMeshUrl: front.url } : {}),
    });
    const sys = system;
    let done = false;
    let accepted = 0;
    const ctx: ChaosContext = { services, system: sys, submitted: () => done, submittedCount: () => accepted, random, log };
    log(`submitting ${opts.count} documents through the API (${opts.concurrency} at a time)`);
    const load = submitLoad(sys, opts.count, opts.concurrency, (n) => {
      accepted = n;
      if (n % 100 === 0) log(`${n}/${opts.count} accepted`);
    }).finally(() => (done = true));
    const [submitted, faultCounts] = await Promise.all([load, opts.during(ctx)]);
    log(`load and faults done (${JSON.stringify(faultCounts)}); waiting for every delivery`);
    const reached = await waitForStatus(sys, 'DELIVERED', submitted.length, opts.settleMs ?? 20 * 60_000, (n) => log(`${n}/${submitted.length} DELIVERED`));
    log(`${reached}/${submitted.length} DELIVERED; letting the inboxes drain, then verifying`);
    await drain(services);
    const extra = { ...faultCounts, ...prefixed('proxy.', front?.counts() ?? {}), seconds: Math.round((Date.now() - started) / 1000) };
    verdict = (await verifyRun(opts.name, sys, services, submitted, extra)).verdict;
    writeChaosResult(opts.name, { dir, messages: submitted.length, verdict });
  } catch (err) {
    verdict = { name: opts.name, pass: false, counts: {}, problems: [`the run itself failed: ${err instanceof Error ? err.message : String(err)}`] };
  } finally {
    await system?.stop().catch(() => undefined);
    await front?.close().catch(() => undefined);
    await services.stop().catch(() => undefined);
  }
  process.stdout.write(`${verdictLine(verdict)}\n`);
  return verdict;
}

function prefixed(prefix: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [`${prefix}${k}`, v]));
}

/** Gives the peer and the poller a moment to finish answering and acknowledging what is in flight. */
async function drain(services: Services): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const left = (await inboxCount(services, COURIER_MAILBOX).catch(() => 1)) + (await inboxCount(services, PRACTICE_MAILBOX).catch(() => 1));
    if (left === 0) break;
    await sleep(2000);
  }
}

/** One run's record in bench-results/chaos-<name>-<time>.json, with the machine it ran on (results are compared across machines). */
export function writeChaosResult(name: string, fields: { dir?: string; messages: number; verdict: RunVerdict }): void {
  const out = path.join(REPO_ROOT, 'bench-results');
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `chaos-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, ...fields }, null, 2));
}

/** Entry point helper: run, then exit 0 on PASS and 1 on FAIL. */
export function main(run: () => Promise<RunVerdict>): void {
  run().then(
    (v) => process.exit(v.pass ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
