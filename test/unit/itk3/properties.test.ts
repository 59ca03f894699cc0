import fc from 'fast-check';
import {
  buildItk3Response,
  buildSendDocumentMessage,
  Itk3Error,
  KNOWN_RESPONSE_CODES,
  parseItk3Response,
  readSendDocumentMessage,
  RESPONSE_CODES,
  wrapDocumentBundle,
} from '../../../itk3';
import { toFhirJson } from '../../../itk3/fhir-structure';
import { MESH_HEADER_SAFE } from '../../../itk3/mesh-metadata';
import { childrenNamed, parseFhirXml, resourceOf, type FNode } from '../../../itk3/fhir-xml';
import type { Submission } from '../../../contracts/submission';
import { isValidNhsNumber } from '../../../contracts/submission';
import { counterIds, IDS, NOW } from '../../fixtures/itk3/submissions';

/** NHS numbers from the 999 test range that pass modulus 11. */
const nhsNumber = fc.integer({ min: 0, max: 9_999_999 }).map((n) => {
  const base = '999' + String(n).padStart(7, '0').slice(0, 6);
  for (let d = 0; d < 10; d++) if (isValidNhsNumber(base + d)) return base + d;
  return '9990000018';
});

/** Names with the characters that break naive XML/JSON writers, but no underscore or control characters. */
const nameText = fc
  .string({ unit: fc.constantFrom(...'abcXYZ \'-&<>"é漢😀'.split(/(?:)/u)), minLength: 1, maxLength: 20 })
  .map((s) => s.trim())
  .filter((s) => s.length > 0);

/**
 * Surnames for GPPROVIDER routing, where the surname is also written into Mex-To: letters that have a Latin
 * form (Ł is transliterated, é is Latin-1), mixed with the same breaking characters and an emoji. A surname
 * with no Latin form at all (漢) is refused for this routing (test/unit/itk3/mesh-metadata.test.ts).
 */
const routableSurname = fc
  .string({ unit: fc.constantFrom(...'abcXYZ \'-&<>"éŁ😀'.split(/(?:)/u)), minLength: 1, maxLength: 20 })
  .map((s) => s.trim())
  .filter((s) => /[^\s😀]/u.test(s));

const birthDate = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2024-04-30T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const base64 = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b).toString('base64'));
/** Content declared as PDF starts with the PDF header (contracts/submission.ts refuses anything else). */
const pdfBase64 = fc.uint8Array({ minLength: 0, maxLength: 200 }).map((b) => Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(b)]).toString('base64'));
const uuid = fc.uuid({ version: 4 });

const submissionArb: fc.Arbitrary<Submission> = fc
  .record({
    documentId: uuid,
    version: fc.integer({ min: 1, max: 5 }),
    patient: fc.record({ nhsNumber, givenName: nameText, familyName: routableSurname, birthDate }),
    senderName: nameText,
    encounterId: fc
      .string({ minLength: 1, maxLength: 255 })
      .filter((s) => s.trim() !== '' && !/[\u0000-\u001f]/.test(s)),
    report: pdfBase64,
    attachments: fc.array(
      fc.oneof(
        fc.record({ contentType: fc.constantFrom('image/png' as const, 'text/plain' as const), dataBase64: base64 }),
        fc.record({ contentType: fc.constant('application/pdf' as const), dataBase64: pdfBase64 }),
      ),
      { maxLength: 3 },
    ),
  })
  .map((g) => ({
    documentId: g.documentId,
    version: g.version,
    patient: g.patient,
    sender: { odsCode: 'Y12345', name: g.senderName, telephone: '0300 000 0000', meshMailbox: 'Y12345OT001' },
    recipient: { odsCode: 'A99999' },
    author: { sdsUserId: '999999999999', givenName: 'Clare', familyName: 'Clinician' },
    encounter: { id: g.encounterId, start: '2024-05-01T09:00:00+01:00' },
    report: { contentType: 'application/pdf' as const, dataBase64: g.report },
    attachments: g.attachments,
    confidentiality: 'N' as const,
    careSetting: { code: '789718008', display: 'Cardiology service' },
    // A replacement keeps its document id (Composition.identifier is version-independent, GPCM-SD-132).
    ...(g.version > 1 ? { replaces: { documentId: g.documentId, version: g.version - 1 } } : {}),
  }));

const profileArb = fc.constantFrom('1.x' as const, '2.x' as const);

function documentOf(xml: string): FNode {
  return resourceOf(childrenNamed(parseFhirXml(xml, { maxBytes: 10_000_000 }), 'entry')[2] as FNode) as FNode;
}

describe('property: build then read back', () => {
  it('every generated submission builds a conformant message that reads back to the same facts', () => {
    fc.assert(
      fc.property(submissionArb, profileArb, (s, profile) => {
        const built = buildSendDocumentMessage({
          submission: s,
          profile,
          ids: IDS,
          newId: counterIds(),
          now: NOW,
          routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY' },
        });
        const read = readSendDocumentMessage(built.xml, profile);
        expect(read.findings.filter((f) => f.severity === 'error')).toEqual([]);
        expect(read.envelope).toMatchObject({
          bundleIdentifier: IDS.bundleIdentifier,
          messageHeaderId: IDS.messageHeaderId,
          senderOds: 'Y12345',
        });
        expect(read.envelope.handling.SenderReference).toBe(s.encounter.id);
        expect(read.document?.patient).toEqual({
          nhsNumber: s.patient.nhsNumber,
          familyName: s.patient.familyName,
          givenName: s.patient.givenName,
          birthDate: s.patient.birthDate,
        });
        expect(read.document?.compositionIdentifier).toBe(s.documentId);
        expect(read.document?.replaces).toBe(s.replaces?.documentId);
        expect(read.document?.attachments.map((a) => a.contentType)).toEqual([
          'application/pdf',
          ...s.attachments.map((a) => a.contentType),
        ]);
        expect(built.sizeBytes).toBe(Buffer.byteLength(built.xml));
        expect(built.mesh.subject).toContain(`ersion ${s.version}`);
        // Names reach the headers in header form only; the document above kept them as submitted.
        expect(built.mesh.subject).toMatch(MESH_HEADER_SAFE);
        expect(built.mesh.to).toMatch(MESH_HEADER_SAFE);
      }),
      { numRuns: 150 },
    );
  });

  it('XML and JSON outputs describe the same bundle, and wrapping either gives the same message', () => {
    fc.assert(
      fc.property(submissionArb, profileArb, (s, profile) => {
        const args = {
          submission: s,
          profile,
          ids: IDS,
          now: NOW,
          routing: { mode: 'gpprovider' as const, dobFormat: 'YYYYMMDD' as const },
        };
        const xml = buildSendDocumentMessage({ ...args, newId: counterIds() });
        const json = buildSendDocumentMessage({ ...args, newId: counterIds(), format: 'json' });
        expect(toFhirJson(parseFhirXml(xml.xml, { maxBytes: 10_000_000 }))).toEqual(JSON.parse(json.xml));
        const doc = (JSON.parse(json.xml) as { entry: { resource: object }[] }).entry[2]?.resource;
        const wrapArgs = {
          profile,
          ids: IDS,
          now: NOW,
          routing: args.routing,
          sender: { meshMailbox: 'Y12345OT001' },
          senderReference: s.encounter.id,
        };
        expect(wrapDocumentBundle({ ...wrapArgs, document: doc as never, newId: counterIds() }).xml).toBe(xml.xml);
        const docXml = documentOf(xml.xml);
        expect(
          wrapDocumentBundle({ ...wrapArgs, document: toFhirJson(docXml), newId: counterIds(), format: 'json' }).xml,
        ).toBe(json.xml);
      }),
      { numRuns: 75 },
    );
  });
});

describe('property: responses', () => {
  const idArb = fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/);
  const textArb = fc
    .string({ minLength: 1, maxLength: 100 })
    .filter((s) => s.trim() === s && !/[\u0000-\u001f\ud800-\udfff]/.test(s));

  it('every known code, with any ids and echoed text, parses back to its classification (XML and JSON)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...KNOWN_RESPONSE_CODES),
        idArb,
        idArb,
        textArb,
        fc.option(textArb, { nil: undefined }),
        fc.constantFrom('xml' as const, 'json' as const),
        (code, respondsTo, responseId, senderReference, diagnostics, format) => {
          const body = buildItk3Response({
            respondsTo,
            senderReference,
            code,
            responseBundleIdentifier: responseId,
            messageHeaderId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
            now: NOW,
            sourceEndpoint: 'A99999OT001',
            senderOds: 'A99999',
            newId: counterIds(),
            format,
            ...(diagnostics !== undefined ? { diagnostics } : {}),
          });
          const parsed = parseItk3Response(body);
          const info = RESPONSE_CODES[code];
          expect(parsed).toMatchObject({
            code,
            respondsTo,
            responseBundleIdentifier: responseId,
            senderReference,
            level: info?.level,
            polarity: info?.polarity,
            action: info?.action,
            responseCode: info?.responseCode,
            quirks: [],
          });
          if (diagnostics !== undefined) expect(parsed.diagnostics).toBe(diagnostics);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary text or bytes never crash the parser: a result or an Itk3Error', () => {
    const valid = buildItk3Response({
      respondsTo: 'x',
      senderReference: 'y',
      code: '20013',
      responseBundleIdentifier: 'r',
      messageHeaderId: 'm',
      now: NOW,
      sourceEndpoint: 'E',
      senderOds: 'A99999',
      newId: counterIds(),
    });
    const mutated = fc
      .tuple(fc.integer({ min: 0, max: valid.length }), fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 10 }))
      .map(([at, del, ins]) => valid.slice(0, at) + ins + valid.slice(at + del));
    const inputs = fc.oneof(fc.string(), fc.uint8Array(), mutated, fc.json());
    fc.assert(
      fc.property(inputs, (body) => {
        try {
          parseItk3Response(body);
        } catch (e) {
          expect(e).toBeInstanceOf(Itk3Error);
          expect((e as Itk3Error).type).toBe('ITK3_RESPONSE_INVALID');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
