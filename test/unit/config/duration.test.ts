import { DurationSchema, DurationTextSchema, parseDuration } from '../../../config/duration';

describe('durations as people write them', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    [' 4h ', 14_400_000],
    ['2d', 172_800_000],
  ])('reads %p as %p ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(DurationTextSchema.parse(text)).toBe(ms);
  });

  it.each(['', '0s', '-5m', 'soon', '4 hours later', '1.5ms'])('refuses %p with the hint', (text) => {
    expect(parseDuration(text)).toBeUndefined();
    const r = DurationTextSchema.safeParse(text);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('must be a duration such as 30s, 15m, 4h or 2d');
  });

  it('takes whole positive milliseconds as they are, and text, in API bodies', () => {
    expect(DurationSchema.parse(60_000)).toBe(60_000);
    expect(DurationSchema.parse('1m')).toBe(60_000);
    expect(DurationSchema.safeParse(0).success).toBe(false);
    expect(DurationSchema.safeParse(1.5).success).toBe(false);
  });
});
