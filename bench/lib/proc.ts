/**
 * Process measurements from /proc (Linux): resident memory and CPU time of child processes, sampled
 * from outside, so the measuring process never inflates what it measures. A name measures one process,
 * a process tree (a server that forks a process per connection, such as PostgreSQL), or a group of
 * either (the nodes of a Temporal cluster), reported as a total with each member beside it.
 */
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux; /proc/<pid>/stat counts in these ticks

export interface ProcSample {
  rssBytes: number;
  cpuSeconds: number;
}

/** The fields of /proc/<pid>/stat used here; CPU in clock ticks. */
export interface StatFields {
  pid: number;
  ppid: number;
  utime: number;
  stime: number;
  /** CPU of children this process has waited for (they have exited and been reaped). */
  cutime: number;
  cstime: number;
}

/** Parses /proc/<pid>/stat; undefined when the text is not one. */
export function parseStat(text: string): StatFields | undefined {
  // The command name (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
  const close = text.lastIndexOf(')');
  const pid = Number(text.slice(0, text.indexOf(' ')));
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  const f = text.slice(close + 2).split(' ');
  const [ppid, utime, stime, cutime, cstime] = [f[1], f[11], f[12], f[13], f[14]].map(Number);
  if (![ppid, utime, stime, cutime, cstime].every((n) => Number.isFinite(n))) return undefined;
  return { pid, ppid: ppid!, utime: utime!, stime: stime!, cutime: cutime!, cstime: cstime! };
}

/** The root and every process below it, parents before children. */
export function treePids(root: number, table: ReadonlyMap<number, Pick<StatFields, 'ppid'>>): number[] {
  if (!table.has(root)) return [];
  const children = new Map<number, number[]>();
  for (const [pid, s] of table) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/**
 * CPU ticks a process tree has used: each living process's own time plus that of the children it has
 * reaped. A backend that exits moves its time into its parent's reaped figure, so the total neither
 * drops nor counts it twice, and a backend started during a run is counted from its first tick.
 */
export function treeCpuTicks(root: number, table: ReadonlyMap<number, StatFields>): number {
  return treePids(root, table).reduce((t, pid) => {
    const s = table.get(pid)!;
    return t + s.utime + s.stime + s.cutime + s.cstime;
  }, 0);
}

/** Where process figures are read from: /proc, or a stand-in in tests. */
export interface ProcReader {
  /** Every process id there is. */
  pids(): number[];
  stat(pid: number): string | undefined;
  status(pid: number): string | undefined;
}

const readOrUndefined = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined; // the process has gone
  }
};

export const procfs: ProcReader = {
  pids: () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number),
  stat: (pid) => readOrUndefined(`/proc/${pid}/stat`),
  status: (pid) => readOrUndefined(`/proc/${pid}/status`),
};

const statusKb = (status: string | undefined, field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status ?? '')?.[1] ?? 0);
const rssBytesOf = (status: string | undefined): number => statusKb(status, 'VmRSS') * 1024;

/**
 * Resident memory of a process tree whose processes share memory (PostgreSQL's buffers, the binary):
 * each process's private pages (RssAnon), plus the shared and file-backed pages of whichever process
 * holds the most, since those are the same pages in every process. Summing VmRSS would count the
 * shared buffers once per backend.
 */
export function treeRssBytes(statuses: ReadonlyArray<string | undefined>): number {
  let anon = 0;
  let shmem = 0;
  let file = 0;
  for (const s of statuses) {
    anon += statusKb(s, 'RssAnon');
    shmem = Math.max(shmem, statusKb(s, 'RssShmem'));
    file = Math.max(file, statusKb(s, 'RssFile'));
  }
  return (anon + shmem + file) * 1024;
}

/** RSS and user+system CPU of one process; undefined when it has gone. */
export function sampleProc(pid: number | undefined, reader: ProcReader = procfs): ProcSample | undefined {
  if (!pid) return undefined;
  const status = reader.status(pid);
  const stat = status === undefined ? undefined : parseStat(reader.stat(pid) ?? '');
  if (status === undefined || !stat) return undefined;
  return { rssBytes: rssBytesOf(status), cpuSeconds: (stat.utime + stat.stime) / CLK_TCK };
}

type PidOf = () => number | undefined;
/** A process and everything it forks, counted as one (CPU of every process in the tree; memory by treeRssBytes). */
export interface ProcessTree {
  kind: 'tree';
  root: PidOf;
}
/** Several processes (or trees) reported as one total, with each member's share beside it. */
export interface ProcessGroup {
  kind: 'group';
  members: Record<string, PidOf | ProcessTree>;
}
/** What one name measures: a single process (by a function giving its current pid), a tree or a group. */
export type ProcSource = PidOf | ProcessTree | ProcessGroup;

export const processTree = (root: PidOf): ProcessTree => ({ kind: 'tree', root });
export const processGroup = (members: Record<string, PidOf | ProcessTree>): ProcessGroup => ({ kind: 'group', members });

/** The members of a source: a single process or tree is its own only member, named ''. */
const membersOf = (source: ProcSource): Array<[string, PidOf | ProcessTree]> =>
  typeof source === 'function' || source.kind === 'tree' ? [['', source]] : Object.entries(source.members);

/** The process table of one moment, read only when a tree needs it. */
function readTable(reader: ProcReader): Map<number, StatFields> {
  const table = new Map<number, StatFields>();
  for (const pid of reader.pids()) {
    const s = parseStat(reader.stat(pid) ?? '');
    if (s) table.set(pid, s);
  }
  return table;
}

/** One member now: the pid that identifies it, its RSS and its CPU counter. */
function sampleMember(m: PidOf | ProcessTree, reader: ProcReader, table: () => Map<number, StatFields>): { pid: number; rssBytes: number; cpuSeconds: number; processes: number } | undefined {
  if (typeof m === 'function') {
    const pid = m();
    const s = sampleProc(pid, reader);
    return s && pid ? { pid, ...s, processes: 1 } : undefined;
  }
  const root = m.root();
  if (!root) return undefined;
  const t = table();
  const pids = treePids(root, t);
  if (!pids.length) return undefined;
  const rssBytes = treeRssBytes(pids.map((pid) => reader.status(pid)));
  return { pid: root, rssBytes, cpuSeconds: treeCpuTicks(root, t) / CLK_TCK, processes: pids.length };
}

/** CPU seconds every source has used so far, summed (a counter: take the difference of two readings). */
export function cpuSecondsOf(sources: Record<string, ProcSource>, reader: ProcReader = procfs): number {
  let table: Map<number, StatFields> | undefined;
  const tableOnce = (): Map<number, StatFields> => (table ??= readTable(reader));
  let total = 0;
  for (const source of Object.values(sources)) for (const [, m] of membersOf(source)) total += sampleMember(m, reader, tableOnce)?.cpuSeconds ?? 0;
  return total;
}

export interface SeriesPoint {
  /** Seconds since the sampler started. */
  t: number;
  rssMiB: number;
}

export interface MemberReport {
  peakRssMiB: number;
  cpuSeconds: number;
}

export interface ProcReport {
  peakRssMiB: number;
  lastRssMiB: number;
  /** CPU seconds used while sampled (summed over every pid the name had, e.g. across worker restarts). */
  cpuSeconds: number;
  /** A tree: how many processes it had at the last sample. */
  processes?: number;
  /** A group: each member's figures (their CPU sums to cpuSeconds). */
  members?: Record<string, MemberReport>;
  series: SeriesPoint[];
}

const MiB = 2 ** 20;
const round1 = (n: number): number => Math.round(n * 10) / 10;

interface MemberData {
  peak: number;
  cpuByPid: Map<number, { first: number; last: number }>;
}

/**
 * Samples named processes every `intervalMs`. A name maps to a function giving its current pid, so a
 * restarted worker keeps one name; CPU is accumulated per pid and summed. A name may also map to a
 * process tree or a group (see ProcSource).
 */
export class ProcSampler {
  private readonly start = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly data = new Map<string, { peak: number; last: number; processes?: number; members: Map<string, MemberData>; series: SeriesPoint[] }>();

  constructor(
    private readonly pids: Record<string, ProcSource>,
    intervalMs = 1000,
    private readonly reader: ProcReader = procfs,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const t = (Date.now() - this.start) / 1000;
    let table: Map<number, StatFields> | undefined;
    const tableOnce = (): Map<number, StatFields> => (table ??= readTable(this.reader));
    for (const [name, source] of Object.entries(this.pids)) {
      let rss = 0;
      let processes = 0;
      let seen = false;
      for (const [memberName, member] of membersOf(source)) {
        const s = sampleMember(member, this.reader, tableOnce);
        if (!s) continue;
        seen = true;
        let d = this.data.get(name);
        if (!d) this.data.set(name, (d = { peak: 0, last: 0, members: new Map(), series: [] }));
        let m = d.members.get(memberName);
        if (!m) d.members.set(memberName, (m = { peak: 0, cpuByPid: new Map() }));
        m.peak = Math.max(m.peak, s.rssBytes);
        const cpu = m.cpuByPid.get(s.pid);
        if (cpu) cpu.last = s.cpuSeconds;
        else m.cpuByPid.set(s.pid, { first: s.cpuSeconds, last: s.cpuSeconds });
        rss += s.rssBytes;
        processes += s.processes;
      }
      const d = this.data.get(name);
      if (!seen || !d) continue;
      d.peak = Math.max(d.peak, rss);
      d.last = rss;
      if (typeof source !== 'function' && source.kind === 'tree') d.processes = processes;
      d.series.push({ t: round1(t), rssMiB: round1(rss / MiB) });
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
    const memberCpu = (m: MemberData): number => [...m.cpuByPid.values()].reduce((t, c) => t + c.last - c.first, 0);
    const cpu = [...d.members.values()].reduce((t, m) => t + memberCpu(m), 0);
    const source = this.pids[name]!;
    const members =
      typeof source !== 'function' && source.kind === 'group'
        ? Object.fromEntries([...d.members].map(([k, m]) => [k, { peakRssMiB: round1(m.peak / MiB), cpuSeconds: round1(memberCpu(m)) }]))
        : undefined;
    return {
      peakRssMiB: round1(d.peak / MiB),
      lastRssMiB: round1(d.last / MiB),
      cpuSeconds: round1(cpu),
      ...(d.processes !== undefined ? { processes: d.processes } : {}),
      ...(members ? { members } : {}),
      series: d.series,
    };
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

/** CPU ticks of each thread of a process, by thread id (its name beside it); empty when it has gone. */
export function threadTicks(pid: number | undefined, read: (file: string) => string | undefined = readOrUndefined, list: (dir: string) => string[] = (d) => readdirSync(d)): Map<number, { name: string; ticks: number }> {
  const out = new Map<number, { name: string; ticks: number }>();
  if (!pid) return out;
  let tids: string[];
  try {
    tids = list(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const text = read(`/proc/${pid}/task/${tid}/stat`);
    const s = text === undefined ? undefined : parseStat(text);
    if (!s) continue;
    out.set(s.pid, { name: text!.slice(text!.indexOf('(') + 1, text!.lastIndexOf(')')), ticks: s.utime + s.stime });
  }
  return out;
}

/**
 * Where a Node process's CPU went between two readings of `threadTicks`, in seconds: its main thread (the
 * process id), its busiest other thread (in a Temporal worker, the thread that runs workflow code), the
 * Temporal core's Rust runtime (tokio threads) and everything else (garbage collection helpers, libuv's pool).
 */
export function threadSplit(pid: number, before: ReadonlyMap<number, { ticks: number }>, after: ReadonlyMap<number, { name: string; ticks: number }>): { main: number; busiestOther: number; core: number; rest: number } {
  const used = [...after].map(([tid, t]) => ({ tid, name: t.name, ticks: t.ticks - (before.get(tid)?.ticks ?? 0) }));
  const main = used.find((t) => t.tid === pid)?.ticks ?? 0;
  const core = used.filter((t) => t.name.startsWith('tokio')).reduce((a, t) => a + t.ticks, 0);
  const others = used.filter((t) => t.tid !== pid && !t.name.startsWith('tokio')).sort((a, b) => b.ticks - a.ticks);
  const busiestOther = others[0]?.ticks ?? 0;
  const rest = others.slice(1).reduce((a, t) => a + t.ticks, 0);
  return { main: main / CLK_TCK, busiestOther: busiestOther / CLK_TCK, core: core / CLK_TCK, rest: rest / CLK_TCK };
}
