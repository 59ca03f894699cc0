/**
 * Benchmark runner. Each suite measures ITK3 Courier and a baseline in the same run and reports the
 * ratio, so numbers compare across machines. Suites needing services get a fresh Temporal dev server
 * (SQLite file, WAL) and mesh-sandbox on free ports. Usage: npm run bench [-- suite ...]
 * (suites: itk3 mesh e2e steady waiting startup shapes cluster; default itk3 mesh e2e waiting). Sizes: BENCH_E2E_COUNT,
 * BENCH_WAITING_COUNT (bench/e2e-bench.ts); steady load: BENCH_STEADY_RATES, BENCH_STEADY_MINUTES (bench/steady-bench.ts).
 * BENCH_TEMPORAL=cluster runs e2e on the local Temporal cluster (PostgreSQL, two nodes) instead of the dev server.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../scripts/lib/services';
import { benchTemporal, startClusterServices } from './lib/bench-temporal';
import { startServices, type BenchServices, type Services } from './lib/courier-system';

type Suite = (ctx: BenchContext) => Promise<object>;

export interface BenchContext {
  services(): Promise<Services>;
  /** The Temporal BENCH_TEMPORAL names: the dev server above (default) or the local cluster. */
  temporalServices(): Promise<BenchServices>;
}

async function loadSuite(name: string): Promise<Suite | undefined> {
  switch (name) {
    case 'itk3':
      return async () => (await import('./itk3-bench')).runItk3Bench();
    case 'mesh':
      return async (ctx) => {
        const s = await ctx.services();
        return (await import('./mesh-bench')).runMeshBench({ meshUrl: s.meshUrl, sharedKey: s.sharedKey, ...(s.mesh.process.pid ? { sandboxPid: s.mesh.process.pid } : {}) });
      };
    case 'e2e':
      return async (ctx) => (await import('./e2e-bench')).runE2eBench(await ctx.temporalServices());
    case 'shapes':
      return async (ctx) => (await import('./shapes-bench')).runShapesBench(await ctx.services());
    case 'steady':
      return async (ctx) => (await import('./steady-bench')).runSteadyBench(await ctx.services());
    case 'waiting':
      return async (ctx) => (await import('./e2e-bench')).runWaitingBench(await ctx.services());
    case 'startup':
      return async (ctx) => (await import('./worker-start')).runWorkerStartBench(await ctx.services());
    case 'cluster':
      // Its own cluster (PostgreSQL, two Temporal nodes), not the dev server the other suites share.
      return async () => (await import('./cluster-bench')).runClusterBench();
    default:
      return undefined;
  }
}

async function main(): Promise<void> {
  const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = requested.length > 0 ? requested : ['itk3', 'mesh', 'e2e', 'waiting'];
  // Checked before anything starts, so a misspelt value costs nothing.
  const temporalKind = benchTemporal();
  let services: Services | undefined;
  let cluster: BenchServices | undefined;
  const ctx: BenchContext = {
    async services() {
      services ??= await startServices(mkdtempSync(path.join(os.tmpdir(), 'itk3-bench-')), 'courier-bench');
      return services;
    },
    async temporalServices() {
      if (temporalKind === 'dev') return ctx.services();
      cluster ??= await startClusterServices((line) => process.stderr.write(`[bench cluster] ${line}\n`));
      return cluster;
    },
  };
  const results: Record<string, object> = {};
  try {
    for (const name of names) {
      const suite = await loadSuite(name);
      if (!suite) throw new Error(`unknown benchmark suite ${name} (known: itk3 mesh e2e steady waiting startup shapes cluster)`);
      process.stdout.write(`\n== ${name}\n`);
      const result = await suite(ctx);
      results[name] = result;
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      // A suite's one-line reading of its result, last, where a person looks first.
      if ('summary' in result && typeof result.summary === 'string') process.stdout.write(`${result.summary}\n`);
    }
  } finally {
    await services?.stop();
    await cluster?.stop();
  }
  const out = path.join(REPO_ROOT, 'bench-results');
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version }, results }, null, 2));
  process.stdout.write(`\nresults written to ${path.relative(REPO_ROOT, file)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
