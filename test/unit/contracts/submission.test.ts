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

  describe('single-line name fields (issue 8: names go into MESH headers)', () => {
    const fields: Array<[string, string]> = [
      ['patient', 'givenName'],
      ['patient', 'familyName'],
      ['sender', 'name'],
      ['recipient', 'name'],
      ['author', 'givenName'],
      ['author', 'familyName'],
    ];
    const withName = (at: [string, string], value: string) => ({
      ...example,
      [at[0]]: { ...example[at[0]], [at[1]]: value },
    });
    const refusals: Array<[string, string, RegExp]> = [
      ['CR LF', 'Ada\r\nMex-To: X26ABC3', /must be a single line: no CR, LF, TAB or other control characters/],
      ['LF', 'Ada\nLovelace', /must be a single line/],
      ['TAB', 'Ada\tLovelace', /must be a single line/],
      ['DEL', 'Ada\u007f', /must be a single line/],
      ['a C1 control (NEL)', 'Ada\u0085Lovelace', /must be a single line/],
      ['a line separator', 'Ada\u2028Lovelace', /must be a single line/],
      ['an RTL override', 'Ada\u202eecalevoL', /must not contain bidi overrides or other invisible format characters/],
      ['an LTR isolate', 'Ada\u2066Lovelace', /must not contain bidi overrides/],
      ['a right-to-left mark', 'Ada\u200fLovelace', /must not contain bidi overrides/],
      ['a zero-width space', 'Ada\u200bLovelace', /must not contain bidi overrides/],
      ['a lone surrogate', 'Ada\ud800', /must be well-formed Unicode/],
    ];

    it.each(
      fields.flatMap((f) => refusals.map(([what, value, message]) => [f.join('.'), what, f, value, message] as const)),
    )('%s refuses %s with a message naming the field', (name, _what, at, value, message) => {
      const parsed = SubmissionSchema.safeParse(withName(at, value));
      expect(parsed.success).toBe(false);
      const issue = parsed.error?.issues.find((i) => i.path.join('.') === name);
      expect(issue?.message).toMatch(message);
      expect(issue?.message.startsWith(`${name} `)).toBe(true);
    });

    it.each(fields.map((f) => [f.join('.'), f] as const))(
      '%s takes names outside Latin-1, emoji and ZWNJ/ZWJ spellings',
      (_name, at) => {
        for (const value of [
          'Łukasz Żółć',
          'Ada 🙂',
          'Nguyễn Thị',
          'Иванов',
          'O’Brien',
          '\u0645\u0647\u200c\u0622\u06cc\u06cc\u0646',
          'Zoë Müller',
        ]) {
          expect(SubmissionSchema.safeParse(withName(at, value)).success).toBe(true);
        }
      },
    );

    it('keeps multi-line free text where a line break is content (the encounter summary)', () => {
      const parsed = SubmissionSchema.safeParse({
        ...example,
        encounter: { ...example.encounter, summary: 'Line one.\nLine two.\tIndented.' },
      });
      expect(parsed.success).toBe(true);
    });
  });
});
