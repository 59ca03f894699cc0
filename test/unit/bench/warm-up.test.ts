import { warmUpCount } from '../../../bench/lib/warm-up';

describe('warmUpCount', () => {
  it('is none unless BENCH_WARMUP asks for one', () => {
    expect(warmUpCount(undefined)).toBe(0);
    expect(warmUpCount('')).toBe(0);
    expect(warmUpCount('0')).toBe(0);
    expect(warmUpCount('200')).toBe(200);
  });

  it('refuses a value that is not a whole number of workflows', () => {
    expect(() => warmUpCount('-1')).toThrow(/BENCH_WARMUP/);
    expect(() => warmUpCount('2.5')).toThrow(/BENCH_WARMUP/);
    expect(() => warmUpCount('lots')).toThrow(/not 'lots'/);
  });
});
