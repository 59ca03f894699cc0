/**
 * Process measurements: a process tree's CPU (PostgreSQL forks a backend per connection) and a group's
 * (the nodes of a Temporal cluster), from /proc-like inputs and from the real /proc.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { ProcSampler, cpuSecondsOf, parseStat, processGroup, processTree, sampleProc, threadSplit, threadTicks, treeCpuTicks, treePids, treeRssBytes, type ProcReader, type StatFields } from '../../../bench/lib/proc';

/** A /proc stand-in whose processes the test forks, reaps and charges CPU to. */
class FakeProc implements ProcReader {
  readonly procs = new Map<number, StatFields & { comm: string; rssKb: number }>();
  spawn(pid: number, ppid: number, comm = 'postgres', rssKb = 1000): void {
    this.procs.set(pid, { pid, ppid, utime: 0, stime: 0, cutime: 0, cstime: 0, comm, rssKb });
  }
  /** Ticks of user and system time. */
  work(pid: number, utime: number, stime = 0): void {
    const p = this.procs.get(pid)!;
    p.utime += utime;
    p.stime += stime;
  }
  /** The process exits and its parent waits for it, as the postmaster does for a backend. */
  exitAndReap(pid: number): void {
    const p = this.procs.get(pid)!;
    const parent = this.procs.get(p.ppid)!;
    parent.cutime += p.utime + p.cutime;
    parent.cstime += p.stime + p.cstime;
    this.procs.delete(pid);
  }
  pids = (): number[] => [...this.procs.keys()];
  stat = (pid: number): string | undefined => {
    const p = this.procs.get(pid);
    // Fields 3 to 17 of /proc/<pid>/stat: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime.
    return p && `${pid} (${p.comm}) S ${p.ppid} 1 1 0 -1 4194560 100 0 0 0 ${p.utime} ${p.stime} ${p.cutime} ${p.cstime} 20 0 1 0 5 1000 200`;
  };
  status = (pid: number): string | undefined => {
    const p = this.procs.get(pid);
    return p && `Name:\t${p.comm}\nVmRSS:\t    ${p.rssKb} kB\n`;
  };
}

describe('parseStat', () => {
  it('reads parent and CPU fields after a command name holding spaces and parentheses', () => {
    const text = '4242 (postgres: temporal (idle)) S 17 4242 4242 0 -1 4194560 10 0 0 0 150 25 7 3 20 0 1 0 99 1000 50\n';
    expect(parseStat(text)).toEqual({ pid: 4242, ppid: 17, utime: 150, stime: 25, cutime: 7, cstime: 3 });
  });

  it('refuses text that is not a stat line', () => {
    expect(parseStat('')).toBeUndefined();
    expect(parseStat('4242 (x) S')).toBeUndefined();
  });
});

describe('treePids and treeCpuTicks', () => {
  it('count the root and every descendant, and nothing beside them', () => {
    const fake = new FakeProc();
    fake.spawn(10, 1); // postmaster
    fake.spawn(11, 10); // backend
    fake.spawn(12, 10); // backend
    fake.spawn(13, 12); // a grandchild
    fake.spawn(20, 1, 'temporal-server'); // another process on the machine
    fake.work(10, 5, 1);
    fake.work(11, 30, 4);
    fake.work(13, 2);
    fake.work(20, 1000);
    fake.procs.get(10)!.cutime = 8; // a backend that exited before the run
    const table = new Map(fake.pids().map((pid) => [pid, parseStat(fake.stat(pid)!)!]));
    expect(treePids(10, table)).toEqual([10, 11, 12, 13]);
    expect(treeCpuTicks(10, table)).toBe(5 + 1 + 8 + 30 + 4 + 2);
    expect(treePids(99, table)).toEqual([]);
  });
});

describe('treeRssBytes', () => {
  it('counts private pages of every process and shared buffers once, not once per backend', () => {
    const postmaster = 'VmRSS:\t140000 kB\nRssAnon:\t4000 kB\nRssFile:\t8000 kB\nRssShmem:\t128000 kB\n';
    const backend = 'VmRSS:\t109000 kB\nRssAnon:\t2000 kB\nRssFile:\t7000 kB\nRssShmem:\t100000 kB\n';
    expect(treeRssBytes([postmaster, backend, backend, undefined])).toBe((4000 + 2000 + 2000 + 128000 + 8000) * 1024);
  });
});

describe('ProcSampler', () => {
  it('counts a process tree once: backends that exit or start during the run, nothing twice', () => {
    const fake = new FakeProc();
    fake.spawn(10, 1);
    fake.spawn(11, 10);
    fake.spawn(12, 10);
    fake.work(11, 500); // before the run: not counted
    const sampler = new ProcSampler({ postgres: processTree(() => 10), postmasterOnly: () => 10 }, 60_000, fake);
    fake.work(10, 10);
    fake.work(11, 100, 20);
    sampler.sample();
    fake.work(11, 50);
    fake.exitAndReap(11); // its 670 ticks move into the postmaster's reaped figure
    fake.spawn(13, 10);
    fake.work(13, 40);
    fake.work(12, 30);
    const report = sampler.stop();
    // 10 + 100 + 20 + 50 + 40 + 30 ticks of work in the run, at 100 ticks a second.
    expect(report.postgres!.cpuSeconds).toBe(2.5);
    expect(report.postgres!.processes).toBe(3);
    // The postmaster alone, as a single process is measured, misses its backends' work.
    expect(report.postmasterOnly!.cpuSeconds).toBe(0.1);
  });

  it('reports a group as the total with each member beside it, RSS summed', () => {
    const fake = new FakeProc();
    fake.spawn(100, 1, 'temporal-server', 204_800);
    fake.spawn(200, 1, 'temporal-server', 102_400);
    let node2 = 200;
    const sampler = new ProcSampler({ temporal: processGroup({ node1: () => 100, node2: () => node2 }) }, 60_000, fake);
    fake.work(100, 300);
    fake.work(200, 100);
    sampler.sample();
    // Node 2 restarts under another pid: both of its lives are counted.
    fake.procs.delete(200);
    node2 = 201;
    fake.spawn(201, 1, 'temporal-server', 102_400);
    sampler.sample();
    fake.work(201, 50);
    const report = sampler.stop();
    expect(report.temporal!.cpuSeconds).toBe(4.5);
    expect(report.temporal!.members).toEqual({ node1: { cpuSeconds: 3, peakRssMiB: 200 }, node2: { cpuSeconds: 1.5, peakRssMiB: 100 } });
    expect(report.temporal!.peakRssMiB).toBe(300);
  });

  it('keeps a single process as before: no members, no process count', () => {
    const fake = new FakeProc();
    fake.spawn(7, 1, 'node', 51_200);
    const sampler = new ProcSampler({ worker: () => 7 }, 60_000, fake);
    fake.work(7, 120, 30);
    expect(sampler.stop()).toEqual({ worker: { peakRssMiB: 50, lastRssMiB: 50, cpuSeconds: 1.5 } });
  });
});

describe('cpuSecondsOf', () => {
  it('sums every source now: trees with their descendants, groups over their members', () => {
    const fake = new FakeProc();
    fake.spawn(1, 0, 'init');
    fake.spawn(10, 1);
    fake.spawn(11, 10);
    fake.spawn(100, 1, 'temporal-server');
    fake.spawn(200, 1, 'temporal-server');
    fake.work(10, 10);
    fake.work(11, 20);
    fake.work(100, 30);
    fake.work(200, 40);
    fake.work(1, 1000); // the parent of them all, not measured
    expect(cpuSecondsOf({ temporal: processGroup({ node1: () => 100, node2: () => 200 }), postgres: processTree(() => 10) }, fake)).toBe(1);
  });
});

describe('the real /proc', () => {
  it('counts the CPU of a child that has exited and of one still running in the tree, not in its root', async () => {
    // The shell forks a subshell that spins and exits (reaped: the shell's cutime), then one that spins and stays.
    const spin = 'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done';
    const sh = spawn('sh', ['-c', `(${spin}); (${spin}; sleep 30) & wait`], { stdio: 'ignore' });
    try {
      const pid = sh.pid!;
      const deadline = Date.now() + 60_000;
      // Until both subshells have spun: the tree has used clearly more CPU than the shell itself.
      let tree = 0;
      while (Date.now() < deadline) {
        tree = cpuSecondsOf({ sh: processTree(() => pid) });
        if (tree >= 0.1 && treeIsSleeping(pid)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const root = sampleProc(pid)!.cpuSeconds;
      expect(tree).toBeGreaterThanOrEqual(0.1);
      expect(tree).toBeGreaterThan(root + 0.05);
    } finally {
      sh.kill('SIGKILL');
    }
  }, 90_000);
});

/** True when the second subshell has reached its sleep: both have finished spinning, the first has been reaped. */
function treeIsSleeping(root: number): boolean {
  const table = new Map<number, StatFields & { comm: string }>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const text = readFileSync(`/proc/${d}/stat`, 'utf8');
      const s = parseStat(text);
      if (s) table.set(s.pid, { ...s, comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')) });
    } catch {
      // gone
    }
  }
  return treePids(root, table).some((p) => table.get(p)!.comm === 'sleep');
}

describe('threads of a process', () => {
  const stat = (tid: number, name: string, utime: number, stime: number): string => `${tid} (${name}) S 1 ${tid} ${tid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 1 0`;

  it('splits CPU into the main thread, the busiest other thread, the Rust core and the rest', () => {
    const at = (ticks: Record<number, [string, number]>) => {
      const files = new Map(Object.entries(ticks).map(([tid, [name, t]]) => [`/proc/100/task/${tid}/stat`, stat(Number(tid), name, t, 1)]));
      return threadTicks(100, (f) => files.get(f), () => Object.keys(ticks));
    };
    const before = at({ 100: ['node', 100], 101: ['node', 10], 102: ['tokio-runtime-w', 5], 103: ['node', 2] });
    // Thread 104 started between the readings: all its time counts.
    const after = at({ 100: ['node', 400], 101: ['node', 90], 102: ['tokio-runtime-w', 25], 103: ['node', 12], 104: ['node', 9] });
    expect(threadSplit(100, before, after)).toEqual({ main: 3, busiestOther: 0.8, core: 0.2, rest: 0.2 });
  });

  it('reads the threads of a real process, and nothing for one that has gone', () => {
    const mine = threadTicks(process.pid);
    expect(mine.get(process.pid)?.ticks).toBeGreaterThan(0);
    expect(threadTicks(2 ** 22 + 1).size).toBe(0);
  });
});
