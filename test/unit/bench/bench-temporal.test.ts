/**
 * The end-to-end benchmark on the local Temporal cluster: BENCH_TEMPORAL is checked at the edge, the
 * cluster's CPU is counted whole (both nodes summed, PostgreSQL with its backends), and `npm run bench`
 * sets the cluster up when it is asked for.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchTemporal, clusterProcesses } from '../../../bench/lib/bench-temporal';
import { ProcSampler, type ProcReader } from '../../../bench/lib/proc';
import { REPO_ROOT } from '../../../scripts/lib/services';

describe('BENCH_TEMPORAL', () => {
  it('is the dev server when unset, and dev or cluster when named', () => {
    expect(benchTemporal({})).toBe('dev');
    expect(benchTemporal({ BENCH_TEMPORAL: 'dev' })).toBe('dev');
    expect(benchTemporal({ BENCH_TEMPORAL: 'cluster' })).toBe('cluster');
  });

  it('refuses any other value, naming the ones it takes', () => {
    expect(() => benchTemporal({ BENCH_TEMPORAL: 'clsuter' })).toThrow("BENCH_TEMPORAL must be 'dev' (a Temporal dev server, the default) or 'cluster' (PostgreSQL and two Temporal nodes); got 'clsuter'");
    expect(() => benchTemporal({ BENCH_TEMPORAL: '' })).toThrow(/got ''/);
  });
});

describe('clusterProcesses', () => {
  it('measures both nodes as one Temporal figure with each beside it, and PostgreSQL with every backend', () => {
    // Two server nodes (pids 100, 200), a postmaster (10) with two backends (11, 12), the balancer's process (5) apart.
    const cpu = new Map<number, { ppid: number; ticks: number }>([
      [5, { ppid: 1, ticks: 0 }],
      [100, { ppid: 5, ticks: 0 }],
      [200, { ppid: 5, ticks: 0 }],
      [10, { ppid: 5, ticks: 0 }],
      [11, { ppid: 10, ticks: 0 }],
      [12, { ppid: 10, ticks: 0 }],
    ]);
    const reader: ProcReader = {
      pids: () => [...cpu.keys()],
      stat: (pid) => {
        const p = cpu.get(pid);
        return p && `${pid} (p) S ${p.ppid} 1 1 0 -1 0 0 0 0 0 ${p.ticks} 0 0 0 20 0 1 0 5 1000 200`;
      },
      status: (pid) => (cpu.has(pid) ? 'VmRSS:\t1024 kB\n' : undefined),
    };
    const proc = (pid: number) => (): ChildProcess => ({ pid }) as ChildProcess;
    const sources = clusterProcesses({ nodes: [{ index: 1, process: proc(100) }, { index: 2, process: proc(200) }], postgres: { process: proc(10) } });
    const sampler = new ProcSampler(sources, 60_000, reader);
    for (const [pid, ticks] of [[100, 200], [200, 100], [10, 10], [11, 40], [12, 50], [5, 999]] as const) cpu.get(pid)!.ticks += ticks;
    const report = sampler.stop();
    expect(report.temporal).toMatchObject({ cpuSeconds: 3, members: { node1: { cpuSeconds: 2 }, node2: { cpuSeconds: 1 } } });
    expect(report.postgres).toMatchObject({ cpuSeconds: 1, processes: 3 });
    expect(Object.keys(report).sort()).toEqual(['postgres', 'temporal']);
  });
});

describe('npm run bench (scripts/bench.sh)', () => {
  /** Runs a copy of bench.sh whose set-up scripts and node only record that they ran. */
  function runBenchSh(args: string[], env: Record<string, string>): string[] {
    const root = mkdtempSync(path.join(os.tmpdir(), 'bench-sh-'));
    mkdirSync(path.join(root, 'scripts', 'cluster'), { recursive: true });
    mkdirSync(path.join(root, 'bin'));
    copyFileSync(path.join(REPO_ROOT, 'scripts', 'bench.sh'), path.join(root, 'scripts', 'bench.sh'));
    const ran = path.join(root, 'ran');
    writeFileSync(path.join(root, 'scripts', 'setup.sh'), `echo setup >> ${ran}\n`);
    writeFileSync(path.join(root, 'scripts', 'cluster', 'setup.sh'), `echo cluster-setup >> ${ran}\n`);
    writeFileSync(path.join(root, 'bin', 'node'), `#!/bin/sh\necho "node $*" >> ${ran}\n`);
    chmodSync(path.join(root, 'bin', 'node'), 0o755);
    const r = spawnSync('bash', [path.join(root, 'scripts', 'bench.sh'), ...args], { env: { PATH: `${path.join(root, 'bin')}:/usr/bin:/bin`, ...env }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    return existsSync(ran) ? readFileSync(ran, 'utf8').trim().split('\n') : [];
  }

  it('sets the cluster up for e2e when BENCH_TEMPORAL=cluster', () => {
    expect(runBenchSh(['e2e'], { BENCH_TEMPORAL: 'cluster' })).toEqual(['setup', 'cluster-setup', 'node --expose-gc dist/bench/run.js e2e']);
  });

  it('sets the cluster up for the cluster suite, and not for e2e on the dev server', () => {
    expect(runBenchSh(['cluster'], {})).toEqual(['setup', 'cluster-setup', 'node --expose-gc dist/bench/run.js cluster']);
    expect(runBenchSh(['e2e'], {})).toEqual(['setup', 'node --expose-gc dist/bench/run.js e2e']);
    expect(runBenchSh(['e2e'], { BENCH_TEMPORAL: 'dev' })).toEqual(['setup', 'node --expose-gc dist/bench/run.js e2e']);
  });
});
