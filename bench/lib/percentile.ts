/**
 * Percentiles of latency samples, nearest-rank: the p-th percentile of n sorted samples is the one at
 * rank ceil(p/100 · n), so it is always a value that was measured and, for p95 of 20 samples, the 19th
 * (the slowest sample is not the p95 unless fewer than 20 were taken). One copy for every benchmark.
 */

/** The p-th percentile (0 < p ≤ 100) of samples already sorted ascending; NaN when there are none. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** The p-th percentile of samples in any order (sorts a copy). */
export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted([...samples].sort((a, b) => a - b), p);
}
