/**
 * What CPU per delivered message says about ITK3 Courier against the bare baseline workflow. Pure, so
 * the figures the end-to-end benchmark prints can be checked without starting anything.
 */

const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

/**
 * The MESH stand-ins of a run: NHS's mesh-sandbox and the GP practice peer (mesh-client). They stand in
 * for NHS MESH and the practice, which would not run on the courier's hardware, so the courier's own
 * cost leaves them out.
 */
export const STAND_INS: readonly string[] = ['meshSandbox', 'peer'];

/** CPU ms per delivered message, by process name (worker, api, temporal, meshSandbox, peer). */
export type CpuMsPerMessage = Record<string, number>;

export interface CpuBound {
  /** The baseline's CPU per message (its worker and Temporal), mean of the runs given. */
  baselineCpuMsPerMessage: number;
  /** The courier's own CPU per message: worker, API and Temporal, stand-ins excluded. */
  courierCpuMsPerMessage: number;
  standInsCpuMsPerMessage: number;
  /** baseline / courier without the stand-ins: the goal figure (at least 0.8). */
  cpuRatio: number;
  /** baseline / (courier + stand-ins): what a CPU-bound run on shared cores can show as throughput ratio. */
  cpuRatioWithStandIns: number;
  /**
   * The ratio an ITK3 Courier that cost exactly what the baseline costs would reach with mesh-sandbox
   * and the peer on the same cores (a CPU-bound run's throughput follows its CPU per message).
   */
  maxRatioWithStandIns: number;
}

const total = (m: CpuMsPerMessage, skip: readonly string[] = []): number => Object.entries(m).reduce((t, [k, v]) => (skip.includes(k) ? t : t + v), 0);

export function cpuBound(ours: CpuMsPerMessage, baselines: readonly CpuMsPerMessage[]): CpuBound {
  if (baselines.length === 0) throw new Error('cpuBound needs at least one baseline run');
  const baseline = baselines.reduce((t, b) => t + total(b, STAND_INS), 0) / baselines.length;
  const courier = total(ours, STAND_INS);
  const standIns = total(ours) - courier;
  return {
    baselineCpuMsPerMessage: round(baseline, 1),
    courierCpuMsPerMessage: round(courier, 1),
    standInsCpuMsPerMessage: round(standIns, 1),
    cpuRatio: round(baseline / courier, 3),
    cpuRatioWithStandIns: round(baseline / (courier + standIns), 3),
    maxRatioWithStandIns: round(baseline / (baseline + standIns), 3),
  };
}

/** History events per delivery, ours against the baseline's mean; the goal is ours within baseline + 2. */
export function historyEventsComparison(ours: number, baselines: readonly number[]): { courier: number; baseline: number; difference: number; withinBaselinePlus2: boolean } {
  if (baselines.length === 0) throw new Error('historyEventsComparison needs at least one baseline run');
  const baseline = baselines.reduce((a, b) => a + b, 0) / baselines.length;
  return { courier: round(ours, 1), baseline: round(baseline, 1), difference: round(ours - baseline, 1), withinBaselinePlus2: ours <= baseline + 2 };
}

/** The one human line the end-to-end suite ends with. */
export function e2eSummaryLine(n: number, throughputRatio: number, cpu: CpuBound | undefined, history: ReturnType<typeof historyEventsComparison> | undefined): string {
  const parts = [`e2e ${n}: throughput ratio ${Number.isFinite(throughputRatio) ? throughputRatio.toFixed(3) : 'n/a (no baseline)'}`];
  if (cpu) parts.push(`cpuRatio ${cpu.cpuRatio.toFixed(2)} (courier ${Math.round(cpu.courierCpuMsPerMessage)} ms/msg vs baseline ${Math.round(cpu.baselineCpuMsPerMessage)})`);
  if (history) parts.push(`history events ${history.courier.toFixed(1)} vs ${history.baseline.toFixed(1)} (${history.difference >= 0 ? '+' : ''}${history.difference.toFixed(1)})`);
  return parts.join(', ');
}

/** What the end-to-end suite needs of one measured run (ours or a baseline's). */
export interface RunFigures {
  messagesPerSecond: number;
  cpuMsPerMessage: CpuMsPerMessage;
  historyEventsPerMessage: number;
}

/**
 * The figures the end-to-end result leads with: throughput against the mean of the baselines, and,
 * when there are baselines, the goal figures cpuRatio and history events per delivery, with the
 * summary line made from them.
 */
export function e2eGoalFigures(n: number, ours: RunFigures, baselines: readonly RunFigures[]) {
  const baselineMps = baselines.length ? baselines.reduce((t, b) => t + b.messagesPerSecond, 0) / baselines.length : NaN;
  const throughputRatioToBaseline = round(ours.messagesPerSecond / baselineMps, 3);
  const cpu = baselines.length ? cpuBound(ours.cpuMsPerMessage, baselines.map((b) => b.cpuMsPerMessage)) : undefined;
  const history = baselines.length ? historyEventsComparison(ours.historyEventsPerMessage, baselines.map((b) => b.historyEventsPerMessage)) : undefined;
  return {
    summary: e2eSummaryLine(n, throughputRatioToBaseline, cpu, history),
    throughputRatioToBaseline,
    ...(cpu ? { cpuRatio: cpu.cpuRatio } : {}),
    ...(history ? { historyEventsPerMessage: history } : {}),
    ...(cpu ? { cpuBound: cpu } : {}),
  };
}
