/**
 * Every submission the API accepts builds a message that parses back and is valid FHIR STU3, checked by
 * an independent validator: the official STU3 XML schema (fhir-single.xsd from HAPI FHIR's pinned dstu3
 * validation resources, run by the JDK's XSD validator; test/helpers/stu3-schema.ts). The property
 * generates wild submissions (noncharacters, lone surrogates, controls, odd offsets and dates, all-zero
 * NHS numbers, fake PDFs, both spec generations and routings), puts each through the API's own check
 * (client/api/submit.ts `validateSubmission`), builds every accepted one as the worker would, reads it back
 * with the inbound parser, and validates all of them against the schema in one JVM run. Wrapped
 * documents supplied as XML in another element order are validated the same way.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { ActivityConfig } from '../../../activities';
import { validateSubmission } from '../../../client/api/submit';
import { CourierError, SubmissionSchema, isValidNhsNumber, type Submission } from '../../../contracts';
import { buildSendDocumentMessage, readSendDocumentMessage, wrapDocumentBundle } from '../../../itk3';
import { childrenNamed, parseFhirXml, resourceOf, writeXml, type FNode } from '../../../itk3/fhir-xml';
import { exampleSubmission } from '../../fixtures/bad-input/submissions';
import { validateStu3Xml } from '../../helpers/stu3-schema';

jest.setTimeout(180_000);

const NOW = new Date('2026-11-25T12:00:00.000Z');
const mailbox: ActivityConfig = {
  profile: '2.x',
  routing: { mode: 'mailbox', mailboxId: 'X26ABC2' },
  maxMessageBytes: 5 * 1024 * 1024,
  namespace: 'n',
  taskQueue: 'tq',
  senderMailboxes: ['X26ABC1'],
};
const configs: ActivityConfig[] = [
  mailbox,
  { ...mailbox, profile: '1.x' },
  { ...mailbox, routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY' } },
];

/** Characters that break XML writers or that XML cannot carry, mixed into ordinary text. */
const hostileChar = fc.constantFrom('\uffff', '\ufffe', '\ud800', '\udfff', '\ufdd0', '\u0001', '\u000b', '\u001f', '\u0085', '\u2028', '\u202e', '<', '&', '"', "'", ']]>', '\t', '\n', ' ', '\u00a0');
const ordinaryChar = fc.constantFrom(...'abcXYZ éŁ漢😀-.'.split(/(?:)/u));
const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const hostileText = (max: number) =>
  fc.array(fc.oneof({ weight: 3, arbitrary: ordinaryChar }, { weight: 1, arbitrary: hostileChar }, { weight: 1, arbitrary: anyChar }), { minLength: 0, maxLength: max }).map((a) => a.join(''));
const cleanText = (max: number) => fc.array(ordinaryChar, { minLength: 1, maxLength: max }).map((a) => a.join(''));
/** Mostly ordinary text (so that many submissions are accepted), sometimes hostile. */
const text = (max: number) => fc.oneof({ weight: 24, arbitrary: cleanText(max) }, { weight: 1, arbitrary: hostileText(max) });

const two = (n: number) => String(n).padStart(2, '0');
const goodDate = fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2026-11-24T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const date = fc.oneof({ weight: 12, arbitrary: goodDate }, { weight: 1, arbitrary: fc.constantFrom('1899-12-31', '2099-01-01', '2026-02-30', '1970-1-1', '0000-01-01') });
const offset = fc.oneof(fc.constant('Z'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 15 }), fc.constantFrom(0, 30, 45, 59)).map(([s, h, m]) => `${s}${two(h)}:${two(m)}`));
const wildDateTime = fc
  .tuple(date, fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.option(fc.integer({ min: 0, max: 59 }), { nil: undefined }), fc.boolean(), offset)
  .map(([d, h, m, s, frac, off]) => `${d}T${two(h)}:${two(m)}${s === undefined ? '' : `:${two(s)}${frac ? '.123' : ''}`}${off}`);
/** An encounter: mostly a well-formed start after 1990 with an end 0-240 minutes later; sometimes anything. */
const encounterTimes = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2026-11-25T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: 0, max: 240 }), fc.boolean())
      .map(([d, minutes, withEnd]) => ({ start: d.toISOString(), ...(withEnd ? { end: new Date(d.getTime() + minutes * 60_000).toISOString() } : {}) })),
  },
  { weight: 1, arbitrary: fc.record({ start: wildDateTime, end: fc.option(wildDateTime, { nil: undefined }) }) },
);
const nhsNumber = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 999_999 }).map((n) => { const b = `999${String(n).padStart(6, '0')}`; for (let d = 0; d < 10; d++) if (isValidNhsNumber(b + d)) return b + d; return '9990000018'; }) },
  { weight: 1, arbitrary: fc.constantFrom('0000000000', '1111111111', '9990000019', '999000001') },
);
const pdf = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(b)]).toString('base64'));
const bytes = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'));
const attachment = fc.oneof(
  fc.record({ contentType: fc.constant('application/pdf'), dataBase64: fc.oneof({ weight: 12, arbitrary: pdf }, { weight: 1, arbitrary: bytes }), title: fc.option(text(30), { nil: undefined }) }),
  fc.record({ contentType: fc.constantFrom('text/plain', 'text/html', 'image/png', 'application/msword'), dataBase64: bytes, title: fc.option(text(30), { nil: undefined }) }),
);
const snomed = fc.record({ code: fc.stringMatching(/^\d{6,18}$/), display: text(40) });

const submissionArb = fc
  .record({
    version: fc.integer({ min: 1, max: 3 }),
    nhsNumber,
    givenName: text(20),
    familyName: text(20),
    birthDate: fc.oneof({ weight: 12, arbitrary: goodDate.filter((d) => d < '1990-01-01') }, { weight: 1, arbitrary: date }),
    gender: fc.option(fc.constantFrom('male', 'female', 'other', 'unknown'), { nil: undefined }),
    senderName: text(40),
    telephone: fc.option(text(15), { nil: undefined, freq: 6 }),
    recipientName: fc.option(text(30), { nil: undefined }),
    author: fc.option(fc.record({ sdsUserId: text(12), givenName: text(15), familyName: text(15) }), { nil: undefined, freq: 6 }),
    encounterId: text(40),
    times: encounterTimes,
    summary: fc.option(text(120), { nil: undefined }),
    report: pdf,
    reportTitle: fc.option(text(30), { nil: undefined }),
    attachments: fc.array(attachment, { maxLength: 3 }),
    confidentiality: fc.oneof({ weight: 6, arbitrary: fc.constant('N') }, { weight: 1, arbitrary: fc.constant('R') }),
    // Mostly the one type both generations take, sometimes any SNOMED-shaped code (1.x refuses those).
    documentType: fc.option(fc.oneof({ weight: 6, arbitrary: fc.constant({ code: '371531000', display: 'Report of clinical encounter' }) }, { weight: 1, arbitrary: snomed }), { nil: undefined }),
    careSetting: fc.option(snomed, { nil: undefined }),
  })
  .map((g) => {
    const base = exampleSubmission();
    return {
      ...base,
      documentId: randomUUID(),
      version: g.version,
      patient: { nhsNumber: g.nhsNumber, givenName: g.givenName, familyName: g.familyName, birthDate: g.birthDate, ...(g.gender ? { gender: g.gender } : {}) },
      sender: { ...base.sender, name: g.senderName, ...(g.telephone !== undefined ? { telephone: g.telephone } : {}) },
      recipient: { odsCode: 'X26', ...(g.recipientName !== undefined ? { name: g.recipientName } : {}) },
      ...(g.author ? { author: g.author } : { author: undefined }),
      encounter: { id: g.encounterId, start: g.times.start, ...(g.times.end ? { end: g.times.end } : {}), ...(g.summary !== undefined ? { summary: g.summary } : {}) },
      report: { contentType: 'application/pdf', dataBase64: g.report, ...(g.reportTitle !== undefined ? { title: g.reportTitle } : {}) },
      attachments: g.attachments,
      confidentiality: g.confidentiality,
      ...(g.documentType ? { documentType: g.documentType } : {}),
      ...(g.careSetting ? { careSetting: g.careSetting } : {}),
    } as unknown;
  })
  .map((s) => {
    const o = s as { documentId: string; version: number; replaces?: unknown };
    // A later version replaces the one before it, with the same document id (GPCM-SD-132).
    if (o.version > 1) o.replaces = { documentId: o.documentId, version: o.version - 1 };
    return s;
  });

/** The document Bundle (third entry) of a built message, with element groups reversed at every level. */
function shuffledDocumentXml(xml: string): string {
  const shuffle = (n: FNode): FNode => {
    if (n.name === 'div') return n;
    const groups = new Map<string, FNode[]>();
    for (const c of n.children) groups.set(c.name, [...(groups.get(c.name) ?? []), shuffle(c)]);
    return { ...n, children: [...groups.values()].reverse().flat() };
  };
  const doc = resourceOf(childrenNamed(parseFhirXml(xml), 'entry')[2] as FNode) as FNode;
  return writeXml(shuffle(doc)).join('');
}

describe('the STU3 schema check is a real check', () => {
  it('accepts a built message and refuses one with an element out of place or a malformed date', () => {
    const built = buildSendDocumentMessage({
      submission: SubmissionSchema.parse(exampleSubmission()),
      profile: '2.x',
      ids: { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() },
      newId: randomUUID,
      now: NOW.toISOString(),
      routing: mailbox.routing,
    });
    const [ok, misplaced, badDate] = validateStu3Xml([
      built.xml,
      built.xml.replace('<status value="final"/>', '<title value="x"/><status value="final"/>'),
      built.xml.replace(/<birthDate value="[^"]+"\/>/, '<birthDate value="1970-1-31"/>'),
    ]);
    expect(ok).toBeUndefined();
    expect(misplaced).toMatch(/cvc-complex-type/);
    expect(badDate).toMatch(/cvc-pattern-valid/);
  });
});

describe('property: every submission the API accepts builds a valid FHIR STU3 message', () => {
  it('accepted submissions build, parse back conformant, and validate against the STU3 schema (also when wrapped from reordered XML)', () => {
    const built: Array<{ xml: string; what: string }> = [];
    let refused = 0;
    fc.assert(
      fc.property(submissionArb, fc.constantFrom(...configs), (body, config) => {
        let submission: Submission;
        try {
          submission = validateSubmission({ activity: config, now: () => NOW }, body);
        } catch (err) {
          // A refusal is a 400 with issues that name fields, never anything else.
          expect(err).toBeInstanceOf(CourierError);
          expect(['SUBMISSION_INVALID', 'ITK3_BUILD_REJECTED']).toContain((err as CourierError).type);
          expect((err as CourierError).issues.length).toBeGreaterThan(0);
          refused++;
          return;
        }
        // Built as the worker's buildItk3Message activity builds it: fresh ids, its own clock.
        const message = buildSendDocumentMessage({
          submission,
          profile: config.profile,
          ids: { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() },
          newId: randomUUID,
          now: NOW.toISOString(),
          routing: config.routing,
          maxMessageBytes: config.maxMessageBytes,
        });
        const read = readSendDocumentMessage(message.xml, config.profile);
        expect(read.findings.filter((f) => f.severity === 'error')).toEqual([]);
        expect(read.document?.patient.nhsNumber).toBe(submission.patient.nhsNumber);
        const what = `${config.profile}/${config.routing.mode} ${JSON.stringify(body).slice(0, 2000)}`;
        built.push({ xml: message.xml, what });
        // The same document supplied as XML in another element order, wrapped by the second route.
        const wrapped = wrapDocumentBundle({
          document: shuffledDocumentXml(message.xml),
          profile: config.profile,
          ids: { messageHeaderId: randomUUID(), bundleIdentifier: randomUUID() },
          newId: randomUUID,
          now: NOW.toISOString(),
          routing: config.routing,
          sender: { meshMailbox: submission.sender.meshMailbox, odsCode: submission.sender.odsCode },
          senderReference: submission.encounter.id,
          version: submission.version,
        });
        built.push({ xml: wrapped.xml, what: `wrapped ${what}` });
      }),
      { numRuns: 500, seed: 20261206 },
    );
    // Not vacuous: a good share is accepted, and some are refused.
    expect(built.length / 2).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
    const verdicts = validateStu3Xml(built.map((b) => b.xml));
    const invalid = verdicts.flatMap((v, i) => (v === undefined ? [] : [{ error: v, submission: built[i]!.what }]));
    expect(invalid.slice(0, 3)).toEqual([]);
  });
});
