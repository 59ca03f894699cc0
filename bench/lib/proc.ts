/**
 * Process measurements from /proc (Linux): resident memory and CPU time of a child process, sampled
 * from outside, so the measuring process never inflates what it measures.
 */
import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux; /proc/<pid>/stat counts in these ticks

export interface ProcSample {
  rssBytes: number;
  cpuSeconds: number;
}

/** RSS and user+system CPU of one process; undefined when it has gone. */
export function sampleProc(pid: number | undefined): ProcSample | undefined {
  if (!pid) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { rssBytes: rssKb * 1024, cpuSeconds: (utime + stime) / CLK_TCK };
  } catch {
    return undefined;
  }
}

export interface SeriesPoint {
  /** Seconds since the sampler started. */
  t: number;
  rssMiB: number;
}

export interface ProcReport {
  peakRssMiB: number;
  lastRssMiB: number;
  /** CPU seconds used while sampled (summed over every pid the name had, e.g. across worker restarts). */
  cpuSeconds: number;
  series: SeriesPoint[];
}

const MiB = 2 ** 20;
const round1 = (n: number): number => Math.round(n * 10) / 10;

/**
 * Samples named processes every `intervalMs`. A name maps to a function giving its current pid, so a
 * restarted worker keeps one name; CPU is accumulated per pid and summed.
 */
export class ProcSampler {
  private readonly start = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly data = new Map<string, { peak: number; last: number; cpuByPid: Map<number, { first: number; last: number }>; series: SeriesPoint[] }>();

  constructor(
    private readonly pids: Record<string, () => number | undefined>,
    intervalMs = 1000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const t = (Date.now() - this.start) / 1000;
    for (const [name, pidOf] of Object.entries(this.pids)) {
      const pid = pidOf();
      const s = sampleProc(pid);
      if (!s || !pid) continue;
      let d = this.data.get(name);
      if (!d) this.data.set(name, (d = { peak: 0, last: 0, cpuByPid: new Map(), series: [] }));
      d.peak = Math.max(d.peak, s.rssBytes);
      d.last = s.rssBytes;
      const cpu = d.cpuByPid.get(pid);
      if (cpu) cpu.last = s.cpuSeconds;
      else d.cpuByPid.set(pid, { first: s.cpuSeconds, last: s.cpuSeconds });
      d.series.push({ t: round1(t), rssMiB: round1(s.rssBytes / MiB) });
    }
  }

  /** Current RSS of one name in MiB (NaN when unknown). */
  rssMiB(name: string): number {
    const d = this.data.get(name);
    return d ? d.last / MiB : NaN;
  }

  report(name: string): ProcReport | undefined {
    const d = this.data.get(name);
    if (!d) return undefined;
    let cpu = 0;
    for (const c of d.cpuByPid.values()) cpu += c.last - c.first;
    return { peakRssMiB: round1(d.peak / MiB), lastRssMiB: round1(d.last / MiB), cpuSeconds: round1(cpu), series: d.series };
  }

  stop(): Record<string, Omit<ProcReport, 'series'>> {
    this.sample();
    clearInterval(this.timer);
    const out: Record<string, Omit<ProcReport, 'series'>> = {};
    for (const name of this.data.keys()) {
      const { series: _series, ...rest } = this.report(name)!;
      out[name] = rest;
    }
    return out;
  }
}
