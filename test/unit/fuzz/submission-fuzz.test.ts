/**
 * Bad submissions, checked where the API checks them (client/api/submit.ts `validateSubmission`: the zod
 * schema plus a dry run of the ITK3 builder), for every string field of a submission:
 * - structured fields (ids, codes, dates, NHS number, base64, enums) refuse every injection attempt with
 *   an issue naming the field;
 * - free-text fields either refuse a value naming the field, or accept it as inert data: the built
 *   ITK3 message has exactly the structure it has for a plain value (nothing injected), and the MESH
 *   client accepts its headers (what is accepted can be sent);
 * - control characters are refused everywhere.
 * The API integration test (test/integration/bad-input/api.test.ts) sends the same kinds of bodies
 * over HTTP and proves none reaches MESH.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import type { ActivityConfig } from '../../../activities';
import { validateSubmission } from '../../../client/api/submit';
import { CourierError, SubmissionSchema, isValidNhsNumber, type SubmissionInput } from '../../../contracts';
import { buildSendDocumentMessage } from '../../../itk3';
import { MeshClient } from '../../../mesh';
import { FREE_TEXT, HEADER_BOUND, INERT_IN_FREE_TEXT, INJECTIONS, NOT_HEADER_SAFE, exampleSubmission, stringPaths, withField } from '../../fixtures/bad-input/submissions';

const NOW = new Date('2026-11-25T12:00:00Z');
const activity: ActivityConfig = { profile: '2.x', routing: { mode: 'mailbox', mailboxId: 'X26ABC2' }, maxMessageBytes: 5 * 1024 * 1024, namespace: 'n', taskQueue: 'tq', senderMailboxes: ['X26ABC1'] };
const gpprovider: ActivityConfig = { ...activity, routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY' } };
const base = exampleSubmission();
const paths = stringPaths(base).map((p) => p.join('.'));
const at = (p: string): string[] => p.split('.');

type Outcome = { accepted: false; paths: string[]; type: string } | { accepted: true; tags: number; wellFormed: boolean; sendable: true } | { accepted: true; tags: number; wellFormed: boolean; sendable: false; why: string };

/** What a MESH send of the built message would do: the real client's checks, a fake network. */
async function sendable(built: ReturnType<typeof buildSendDocumentMessage>): Promise<string | undefined> {
  const mesh = new MeshClient({
    baseUrl: 'http://127.0.0.1:9',
    mailboxId: 'X26ABC1',
    password: 'password',
    sharedKey: 'TestKey',
    fetch: (async () => new Response(JSON.stringify({ message_id: 'FAKE0001' }), { status: 202, headers: { 'content-type': 'application/json' } })) as typeof fetch,
  });
  try {
    await mesh.sendMessage({ to: built.mesh.to, workflowId: built.mesh.workflowId, body: built.xml, subject: built.mesh.subject, localId: built.mesh.localId, fileName: built.mesh.fileName, contentType: built.mesh.contentType });
    return undefined;
  } catch (err) {
    return err instanceof CourierError ? `${err.type}: ${err.issues.map((i) => `${i.path} ${i.message}`).join('; ')}` : String(err);
  }
}

const rawTags = (xml: string): number => (xml.match(/</g) ?? []).length;

async function outcome(body: SubmissionInput, config: ActivityConfig = activity): Promise<Outcome> {
  try {
    validateSubmission({ activity: config, now: () => NOW }, body);
  } catch (err) {
    if (err instanceof CourierError) return { accepted: false, paths: err.issues.map((i) => i.path ?? ''), type: err.type };
    throw err;
  }
  // Accepted: build it as the worker's activity would, and try to send it.
  const built = buildSendDocumentMessage({
    submission: SubmissionSchema.parse(body),
    profile: config.profile,
    ids: { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() },
    newId: randomUUID,
    now: NOW.toISOString(),
    routing: config.routing,
    maxMessageBytes: config.maxMessageBytes,
  });
  const why = await sendable(built);
  const common = { tags: rawTags(built.xml), wellFormed: XMLValidator.validate(built.xml) === true };
  return why ? { accepted: true, ...common, sendable: false, why } : { accepted: true, ...common, sendable: true };
}

/** Tag count of the message built for the plain example: an accepted value must not change it. */
let plainTags = 0;
beforeAll(async () => {
  const plain = await outcome(base);
  if (!plain.accepted) throw new Error('the example submission must be valid');
  plainTags = plain.tags;
});

function expectRefusedNaming(o: Outcome, field: string): void {
  expect(o.accepted).toBe(false);
  if (!o.accepted) {
    expect(['SUBMISSION_INVALID', 'ITK3_BUILD_REJECTED']).toContain(o.type);
    expect(o.paths.some((p) => p === field || p.startsWith(`${field}.`) || field.startsWith(`${p}.`) || p === field.split('.').slice(0, -1).join('.'))).toBe(true);
  }
}

function expectInertOrRefused(o: Outcome, field: string): void {
  if (!o.accepted) return expectRefusedNaming(o, field);
  expect(o.wellFormed).toBe(true);
  expect(o.tags).toBe(plainTags);
  expect(o.sendable ? 'sendable' : o.why).toBe('sendable');
}

describe('injection attempts in every string field', () => {
  const structured = paths.filter((p) => !FREE_TEXT.has(p));
  const freeText = paths.filter((p) => FREE_TEXT.has(p));

  it('covers every string field of the example', () => {
    expect(structured.length).toBeGreaterThan(8);
    expect(freeText.length).toBeGreaterThan(8);
  });

  // (10,000 'A's are valid base64: that case is covered for report.dataBase64 by the length test below.)
  it.each(structured.flatMap((p) => Object.keys(INJECTIONS).filter((k) => !(p === 'report.dataBase64' && k === 'long')).map((k) => [p, k] as const)))('structured %s refuses %s, naming the field', async (p, k) => {
    expectRefusedNaming(await outcome(withField(base, at(p), INJECTIONS[k])), p);
  });

  it.each(freeText.flatMap((p) => INERT_IN_FREE_TEXT.map((k) => [p, k] as const)))('free text %s takes %s as inert text or refuses it', async (p, k) => {
    expectInertOrRefused(await outcome(withField(base, at(p), INJECTIONS[k])), p);
  });

  it.each(paths.flatMap((p) => ['nullByte', 'escape'].map((k) => [p, k] as const)))('%s refuses control characters (%s)', async (p, k) => {
    expectRefusedNaming(await outcome(withField(base, at(p), INJECTIONS[k])), p);
  });

  it.each(paths.map((p) => [p] as const))('%s refuses 10,000 characters (of a kind the field would otherwise take)', async (p) => {
    // 10,000 'A's are valid base64, so the attachment data gets 10,000 '*' instead.
    expectRefusedNaming(await outcome(withField(base, at(p), p === 'report.dataBase64' ? '*'.repeat(10_000) : INJECTIONS.long)), p);
  });

  it.each(freeText.filter((p) => !HEADER_BOUND.has(p)).flatMap((p) => NOT_HEADER_SAFE.map((k) => [p, k] as const)))('free text %s, which stays out of MESH headers, takes %s as inert text or refuses it', async (p, k) => {
    expectInertOrRefused(await outcome(withField(base, at(p), INJECTIONS[k])), p);
  });

  // A header-bound field must not be accepted with 202 and then refused by the MESH client at send: CR, LF,
  // TAB and bidi overrides are refused naming the field (contracts/submission.ts), and names outside
  // Latin-1 are accepted and written into headers in their header form (itk3/mesh-metadata.ts).
  it.each([...HEADER_BOUND].flatMap((p) => NOT_HEADER_SAFE.map((k) => [p, k] as const)))('header-bound %s with %s is refused or sendable', async (p, k) => {
    expectInertOrRefused(await outcome(withField(base, at(p), INJECTIONS[k])), p);
  });

  it.each([...HEADER_BOUND].flatMap((p) => ['headerCrLf', 'lineFeed', 'tab', 'rtlOverride'].map((k) => [p, k] as const)))('header-bound %s refuses %s, naming the field in the message', async (p, k) => {
    const o = await outcome(withField(base, at(p), INJECTIONS[k]));
    expectRefusedNaming(o, p);
    expect(() => SubmissionSchema.parse(withField(base, at(p), INJECTIONS[k]))).toThrow(p);
  });

  it.each([...HEADER_BOUND].flatMap((p) => ['nonLatin1', 'emoji'].map((k) => [p, k] as const)))('header-bound %s takes %s (a legitimate name) and it can be sent', async (p, k) => {
    const o = await outcome(withField(base, at(p), INJECTIONS[k]));
    expect(o.accepted && o.sendable).toBe(true);
  });

  it.each(['nonLatin1', 'emoji', 'rtlOverride', 'tab'].map((k) => [k] as const))('GPPROVIDER routing: a surname with %s is refused naming the field, or accepted and sendable', async (k) => {
    expectInertOrRefused(await outcome(withField(base, ['patient', 'familyName'], INJECTIONS[k]), gpprovider), 'patient.familyName');
  });

  it('names at their maximum lengths still make a subject MESH accepts (500 characters)', async () => {
    let body = withField(base, ['patient', 'givenName'], 'G'.repeat(100));
    body = withField(body, ['patient', 'familyName'], 'F'.repeat(100));
    body = withField(body, ['sender', 'name'], 'S'.repeat(200));
    expectInertOrRefused(await outcome(body), 'sender.name');
  });
});

describe('invalid NHS numbers', () => {
  const wrongCheckDigit = (() => {
    for (let d = 0; d <= 9; d++) if (!isValidNhsNumber(`999000001${d}`)) return `999000001${d}`;
    return '9990000017';
  })();
  const cases: Array<[string, unknown]> = [
    ['wrong check digit', wrongCheckDigit],
    ['nine digits', '999000001'],
    ['eleven digits', '99900000188'],
    ['spaces', '999 000 0018'],
    ['letters', 'ABCDEFGHIJ'],
    ['a number, not a string', 9990000018],
    ['empty', ''],
    ['check digit would be 10', (() => { for (let i = 0; i < 1000; i++) { const s = `999${String(i).padStart(6, '0')}`; let sum = 0; for (let j = 0; j < 9; j++) sum += Number(s[j]) * (10 - j); if (11 - (sum % 11) === 10) return `${s}0`; } return '9990000000'; })()],
    ['null', null],
  ];
  it.each(cases)('%s is refused on patient.nhsNumber', async (_n, value) => {
    expectRefusedNaming(await outcome(withField(base, ['patient', 'nhsNumber'], value)), 'patient.nhsNumber');
  });
});

describe('wrong types', () => {
  const cases: Array<[string, string[], unknown]> = [
    ['version as a string', ['version'], '1'],
    ['version zero', ['version'], 0],
    ['version fractional', ['version'], 1.5],
    ['documentId as a number', ['documentId'], 123],
    ['documentId not a uuid', ['documentId'], 'not-a-uuid'],
    ['patient null', ['patient'], null],
    ['patient an array', ['patient'], []],
    ['attachments an object', ['attachments'], {}],
    ['report.dataBase64 a number', ['report', 'dataBase64'], 5],
    ['report.dataBase64 not base64', ['report', 'dataBase64'], '***'],
    ['report not a pdf', ['report', 'contentType'], 'text/html'],
    ['birthDate not a date', ['patient', 'birthDate'], '31/01/1970'],
    ['birthDate not a real day', ['patient', 'birthDate'], '1970-02-31'],
    ['encounter.start without a zone', ['encounter', 'start'], '2026-11-25T09:30:00'],
    ['deadline negative', ['deadlines'], { infrastructureAckMs: -1 }],
    ['deadline unknown key', ['deadlines'], { sooner: 1 }],
    ['ODS code lower case', ['recipient', 'odsCode'], 'x26'],
    ['mailbox with a slash', ['sender', 'meshMailbox'], 'X26/../ABC'],
    ['confidentiality unknown', ['confidentiality'], 'SECRET'],
    ['missing patient', ['patient'], undefined],
  ];
  it.each(cases)('%s is refused, naming the field', async (_n, p, value) => {
    expectRefusedNaming(await outcome(withField(base, p, value)), p.join('.'));
  });
});

describe('fuzzing free-text fields (fast-check)', () => {
  const safeFields = [...FREE_TEXT].filter((p) => paths.includes(p) && !HEADER_BOUND.has(p));

  it('any text in a field that stays out of MESH headers is refused naming the field, or accepted as inert text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...safeFields), fc.string({ unit: 'grapheme', maxLength: 120 }), async (p, value) => {
        expectInertOrRefused(await outcome(withField(base, at(p), value)), p);
      }),
      { numRuns: 300 },
    );
  });

  it('printable Latin-1 text in a header-bound field is refused naming the field, or accepted and sendable', async () => {
    const latin1 = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c < 0x7f || c >= 0xa0).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HEADER_BOUND), latin1, async (p, value) => {
        expectInertOrRefused(await outcome(withField(base, at(p), value)), p);
      }),
      { numRuns: 200 },
    );
  });

  it('any text at all in a header-bound field is refused naming the field, or accepted and sendable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...HEADER_BOUND), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), async (p, value) => {
        expectInertOrRefused(await outcome(withField(base, at(p), value)), p);
      }),
      { numRuns: 300 },
    );
  });

  it('any text at all as the surname in GPPROVIDER routing is refused naming the field, or accepted and sendable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), async (value) => {
        expectInertOrRefused(await outcome(withField(base, ['patient', 'familyName'], value), gpprovider), 'patient.familyName');
      }),
      { numRuns: 200 },
    );
  });

  it('any text holding a character XML cannot carry is refused naming the field, in every free-text field', async () => {
    const bad = fc.constantFrom('\uffff', '\ufffe', '\ud800', '\udbff', '\udc00', '\ufdd0', '\ufdef', '\u{1fffe}', '\u{10ffff}', '\u0001', '\u0008', '\u000b', '\u000c', '\u001f');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...[...FREE_TEXT].filter((p) => paths.includes(p))), fc.string({ maxLength: 20 }), bad, fc.string({ maxLength: 20 }), async (p, before, ch, after) => {
        expectRefusedNaming(await outcome(withField(base, at(p), `x${before}${ch}${after}x`)), p);
      }),
      { numRuns: 300 },
    );
  });

  it('the same holds for the GPPROVIDER routing mode (surname in Mex-To)', async () => {
    const latin1 = fc.stringMatching(/^[A-Za-z' -]{1,40}$/);
    await fc.assert(
      fc.asyncProperty(latin1, async (value) => {
        expectInertOrRefused(await outcome(withField(base, ['patient', 'familyName'], value), gpprovider), 'patient.familyName');
      }),
      { numRuns: 100 },
    );
  });
});
