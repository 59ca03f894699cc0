import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SubmissionSchema, isBase64, isValidNhsNumber } from '../../../contracts/submission';

const example = JSON.parse(readFileSync(path.join(__dirname, '../../../examples/consultation-report.json'), 'utf8'));

describe('submission schema', () => {
  it('accepts the README example', () => {
    expect(SubmissionSchema.safeParse(example).success).toBe(true);
  });

  it('checks NHS numbers with modulus 11', () => {
    expect(isValidNhsNumber('9990000018')).toBe(true);
    expect(isValidNhsNumber('9990000019')).toBe(false);
    expect(isValidNhsNumber('999000001')).toBe(false);
  });

  it('checks base64 in linear time, even for a multi-megabyte attachment', () => {
    expect(isBase64('YWJj')).toBe(true);
    expect(isBase64('YWI=')).toBe(true);
    expect(isBase64('YQ==')).toBe(true);
    expect(isBase64('YWJ')).toBe(false);
    expect(isBase64('YW=j')).toBe(false);
    expect(isBase64('YWJj\n')).toBe(false);
    const big = 'QUJD'.repeat(2 * 1024 * 1024);
    expect(isBase64(big)).toBe(true);
    const parsed = SubmissionSchema.safeParse({ ...example, report: { ...example.report, dataBase64: `${big}!` } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['report', 'dataBase64']);
  });
});
