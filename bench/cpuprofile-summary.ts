/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time by function and by area (our code by
 * folder, Temporal SDK, other dependencies, Node internals, garbage collection, idle), so the hot path
 * of the worker can be read in a benchmark result. Usage: node dist/bench/cpuprofile-summary.js FILE [TOP]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Which part of the system a frame belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return '(garbage collector)';
  if (functionName === '(program)') return '(program: native, incl. Temporal core)';
  if (!url) return '(native / builtins)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!.startsWith('@temporalio/') ? m[1]! : `dep:${m[1]}`;
  if (url.startsWith('node:')) return 'node:internal';
  const ours = /\/dist\/([^/]+)\//.exec(url) ?? /\/main\/([^/]+)\//.exec(url);
  if (ours) return `ours:${ours[1]}`;
  if (url.includes('workflow-bundle') || url.startsWith('webpack')) return 'workflow bundle (sandbox)';
  return url;
}

export function summariseCpuProfile(file: string, top = 20): { totalMs: number; byArea: Record<string, string>; topFunctions: string[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + (deltas[i] ?? 0));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const area = new Map<string, number>();
  const fn = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const a = areaOf(url, functionName);
    area.set(a, (area.get(a) ?? 0) + us);
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where} [${a}]`;
    fn.set(key, (fn.get(key) ?? 0) + us);
  }
  const pctOf = (us: number): string => `${((100 * us) / total).toFixed(1)}% (${Math.round(us / 1000)} ms)`;
  return {
    totalMs: Math.round(total / 1000),
    byArea: Object.fromEntries([...area].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, pctOf(v)])),
    topFunctions: [...fn].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${pctOf(v)}  ${k}`),
  };
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: cpuprofile-summary FILE [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(summariseCpuProfile(file, Number(top ?? 30)), null, 2)}\n`);
}
