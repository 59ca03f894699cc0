import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SubmissionSchema, isBase64, isValidNhsNumber, looksLikePdf, xmlUnsafeCharacter } from '../../../contracts/submission';

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

  describe('single-line name fields (names go into MESH headers)', () => {
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

describe('characters XML cannot carry (every text field)', () => {
  const textFields: string[][] = [
    ['patient', 'givenName'],
    ['patient', 'familyName'],
    ['sender', 'name'],
    ['sender', 'telephone'],
    ['recipient', 'name'],
    ['author', 'sdsUserId'],
    ['author', 'givenName'],
    ['author', 'familyName'],
    ['encounter', 'id'],
    ['encounter', 'summary'],
    ['report', 'title'],
  ];
  const unsafe: Array<[string, string]> = [
    ['U+FFFE', 'Ada\ufffe'],
    ['U+FFFF', 'Ada\uffff'],
    ['U+FDD0 (a noncharacter)', 'Ada\ufdd0'],
    ['U+1FFFF (a plane-1 noncharacter)', 'Ada\ud83f\udfff'],
    ['a lone high surrogate', 'Ada\ud800'],
    ['a lone low surrogate', 'Ada\udc00x'],
    ['U+0001', 'Ada\u0001'],
    ['U+000B (vertical tab)', 'A\u000bda'],
  ];
  const set = (at: string[], value: string) => {
    const copy = structuredClone(example);
    copy[at[0]!][at[1]!] = value;
    return copy;
  };
  it.each(textFields.flatMap((f) => unsafe.map(([what, v]) => [f.join('.'), what, f, v] as const)))('%s refuses %s, naming the field', (name, _what, at, value) => {
    const parsed = SubmissionSchema.safeParse(set(at, value));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain(name);
  });
  it('names the first offending code point', () => {
    expect(xmlUnsafeCharacter('ok \uffff')).toBe('U+FFFF');
    expect(xmlUnsafeCharacter('ok \ud800')).toBe('U+D800');
    expect(xmlUnsafeCharacter('ok 🙂 \t\r\n Łódź')).toBeUndefined();
  });
});

describe('FHIR types are strict', () => {
  const withPath = (at: string[], value: unknown) => {
    const copy = structuredClone(example);
    let node = copy;
    for (const k of at.slice(0, -1)) node = node[k];
    node[at[at.length - 1]!] = value;
    return copy;
  };
  const refused = (at: string[], value: unknown, field = at.join('.')) => {
    const parsed = SubmissionSchema.safeParse(withPath(at, value));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toContain(field);
    return parsed.error!.issues.find((i) => i.path.join('.') === field)!.message;
  };
  const accepted = (at: string[], value: unknown) => expect(SubmissionSchema.safeParse(withPath(at, value)).success).toBe(true);

  it('a dateTime has seconds and an offset within ±14:00', () => {
    expect(refused(['encounter', 'start'], '2026-11-25T09:30+00:00')).toMatch(/seconds/);
    expect(refused(['encounter', 'start'], '2026-11-25T09:30:00+14:30')).toMatch(/-14:00 and \+14:00/);
    expect(refused(['encounter', 'start'], '2026-11-25T09:30:00-14:01')).toMatch(/-14:00 and \+14:00/);
    refused(['encounter', 'start'], '2026-11-25T09:30:00');
    accepted(['encounter', 'start'], '2026-11-25T09:30:00+14:00');
    accepted(['encounter', 'start'], '2026-11-24T09:30:00.123-12:00');
    accepted(['encounter', 'start'], '2026-11-25T09:30:00Z');
  });

  it('an encounter does not end before it starts', () => {
    expect(refused(['encounter', 'end'], '2026-11-25T09:29:59+00:00')).toBe('encounter end must not be before its start');
    // The same instant written in another offset is not before.
    accepted(['encounter', 'end'], '2026-11-25T10:30:00+01:00');
  });

  it('dates are not before 1900', () => {
    refused(['patient', 'birthDate'], '1899-12-31');
    refused(['encounter', 'start'], '1899-12-31T23:59:59Z');
    accepted(['patient', 'birthDate'], '1900-01-01');
  });

  it('an NHS number of ten identical digits is refused, although 0000000000 passes modulus 11', () => {
    expect(isValidNhsNumber('0000000000')).toBe(false);
    expect(isValidNhsNumber('1111111111')).toBe(false);
    refused(['patient', 'nhsNumber'], '0000000000');
  });

  it('application/pdf content starts with %PDF-, for the report and for attachments', () => {
    const notPdf = Buffer.from('<html>not a pdf</html>').toString('base64');
    expect(looksLikePdf(example.report.dataBase64)).toBe(true);
    expect(refused(['report', 'dataBase64'], notPdf)).toBe('application/pdf content must start with %PDF-');
    refused(['report', 'dataBase64'], 'AAAA');
    refused(['attachments'], [{ contentType: 'application/pdf', dataBase64: notPdf }], 'attachments.0.dataBase64');
    accepted(['attachments'], [{ contentType: 'text/plain', dataBase64: notPdf }]);
  });

  it('the encounter id (the SenderReference) is one line, as the document route requires', () => {
    expect(refused(['encounter', 'id'], 'enc\t1')).toBe('must be a single line (no TAB, CR or LF)');
    refused(['encounter', 'id'], 'enc\n1');
  });

  it('names are trimmed; a name of white space only is refused', () => {
    const parsed = SubmissionSchema.parse(withPath(['patient', 'familyName'], '  Testpatient \u00a0'));
    expect(parsed.patient.familyName).toBe('Testpatient');
    expect(refused(['patient', 'givenName'], '   ')).toBe('patient.givenName must not be empty or white space only');
  });
});
