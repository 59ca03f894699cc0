/**
 * Benchmark runner. Each suite measures ITK3 Courier and a baseline in the same run and reports the
 * ratio, so numbers compare across machines. Suites needing services get a fresh Temporal dev server
 * and mesh-sandbox on free ports. Usage: npm run bench [-- suite ...]   (suites: itk3 mesh e2e)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, freePort, startMeshSandbox, startTemporal, type RunningService } from '../scripts/lib/services';

type Suite = (ctx: BenchContext) => Promise<object>;

export interface BenchContext {
  services(): Promise<{ temporalAddress: string; namespace: string; meshUrl: string; sharedKey: string; dir: string }>;
}

async function loadSuite(name: string): Promise<Suite | undefined> {
  switch (name) {
    case 'itk3':
      return async () => (await import('./itk3-bench')).runItk3Bench();
    case 'mesh':
      return async (ctx) => {
        const s = await ctx.services();
        return (await import('./mesh-bench')).runMeshBench({ meshUrl: s.meshUrl, sharedKey: s.sharedKey });
      };
    case 'e2e':
      return async (ctx) => (await import('./e2e-bench')).runE2eBench(await ctx.services());
    default:
      return undefined;
  }
}

async function main(): Promise<void> {
  const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = requested.length > 0 ? requested : ['itk3', 'mesh', 'e2e'];
  const running: RunningService[] = [];
  let services: Awaited<ReturnType<BenchContext['services']>> | undefined;
  const ctx: BenchContext = {
    async services() {
      if (services) return services;
      const dir = mkdtempSync(path.join(os.tmpdir(), 'itk3-bench-'));
      const [tp, mp] = [await freePort(), await freePort()];
      const temporal = await startTemporal({ port: tp, namespace: 'courier-bench', retentionDays: 1, dbFile: path.join(dir, 'temporal.sqlite'), logFile: path.join(dir, 'temporal.log') });
      running.push(temporal);
      const mesh = await startMeshSandbox({ port: mp, sharedKey: 'TestKey', storeMode: 'memory', logFile: path.join(dir, 'mesh.log') });
      running.push(mesh);
      services = { temporalAddress: temporal.url, namespace: 'courier-bench', meshUrl: mesh.url, sharedKey: 'TestKey', dir };
      return services;
    },
  };
  const results: Record<string, object> = {};
  try {
    for (const name of names) {
      const suite = await loadSuite(name);
      if (!suite) throw new Error(`unknown benchmark suite ${name} (known: itk3 mesh e2e)`);
      process.stdout.write(`\n== ${name}\n`);
      const result = await suite(ctx);
      results[name] = result;
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    }
  } finally {
    for (const s of running.reverse()) await s.stop();
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
