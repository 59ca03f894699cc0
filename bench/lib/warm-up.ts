/**
 * The e2e bench's optional warm-up (BENCH_WARMUP): workflows run through the same worker before the
 * measured ones, to see how much of a run's cost per delivery is its first minutes' (JIT compilation,
 * first connections, lazy modules) rather than a running system's. Off by default: measured at 1,000 it
 * changed nothing (BENCHMARKS.md), and it moves the measured deliveries' own late timer work out of every
 * window, which would flatter the courier (its send's heartbeat timeout fires 30 s after each send).
 */

/**
 * After a warm-up, the measured window opens only once the warm-up's own late server work has run: the
 * activity-timeout timers its workflows left (the send's 30 s heartbeat timeout, the baseline activities'
 * 1 minute start-to-close), which otherwise fire inside the window and are charged to its workflows.
 */
export const WARM_UP_SETTLE_MS = 65_000;

/** The warm-up size: BENCH_WARMUP workflows, none when unset. */
export function warmUpCount(env: string | undefined = process.env.BENCH_WARMUP): number {
  if (env === undefined || env === '') return 0;
  const w = Number(env);
  if (!Number.isInteger(w) || w < 0) throw new Error(`BENCH_WARMUP must be a whole number of workflows, not '${env}'`);
  return w;
}
