/** The benchmarks' percentile helper: nearest rank, ceil(p/100 · n) − 1 on the sorted samples. */
import { percentile, percentileOfSorted } from '../../../bench/lib/percentile';

const oneTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('percentile (nearest rank)', () => {
  it('takes p95 of 20 samples as the 19th, not the slowest', () => {
    // floor(0.95 · 20) = 19 would index the 20th sample, the maximum.
    expect(percentileOfSorted(oneTo(20), 95)).toBe(19);
  });

  it('takes p95 of 100 samples as the 95th and p50 of 10 as the 5th', () => {
    expect(percentileOfSorted(oneTo(100), 95)).toBe(95);
    expect(percentileOfSorted(oneTo(10), 50)).toBe(5);
  });

  it('rounds the rank up when it is not whole', () => {
    // 0.95 · 21 = 19.95: rank 20.
    expect(percentileOfSorted(oneTo(21), 95)).toBe(20);
    expect(percentileOfSorted(oneTo(3), 50)).toBe(2);
  });

  it('gives the only sample for one, the maximum for p100, and NaN for none', () => {
    expect(percentileOfSorted([7], 95)).toBe(7);
    expect(percentileOfSorted(oneTo(20), 100)).toBe(20);
    expect(percentileOfSorted([], 95)).toBeNaN();
  });

  it('sorts unsorted samples numerically, without changing them', () => {
    const samples = [300, 20, 1000, 5, 80, 9, 40, 70, 60, 50, 11, 12, 13, 14, 15, 16, 17, 18, 19, 2];
    const copy = [...samples];
    expect(percentile(samples, 95)).toBe(300);
    expect(samples).toEqual(copy);
  });
});
