/**
 * ITK3 library micro-benchmark: build and read of a realistic ~1 MB Send Document message
 * (a ~700 KB PDF plus two small attachments, base64 in the document bundle), and parse of an ITK3
 * Response, reported as messages per second and as a ratio to a plain fast-xml-parser parse of the same
 * bytes measured in the same run on the same machine (the floor for any XML-based reader).
 *
 * Run directly (`node dist/bench/itk3-bench.js`) it prints the result as JSON.
 */
import { XMLParser } from 'fast-xml-parser';
import {
  buildItk3Response,
  buildSendDocumentMessage,
  parseItk3Response,
  readSendDocumentMessage,
  wrapDocumentBundle,
  type BuildMessageInput,
  type OutputFormat,
  type Routing,
} from '../itk3';
import type { Submission } from '../contracts/submission';

/** Deterministic bytes (a small LCG) so every run measures the same message. */
function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function counterIds(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
}

const IDS = {
  messageHeaderId: '11111111-1111-4111-8111-111111111111',
  bundleIdentifier: '22222222-2222-4222-8222-222222222222',
};
const NOW = '2024-05-01T10:00:00+01:00';
const ROUTING: Routing = { mode: 'gpprovider', dobFormat: 'DDMMYYYY' };

function submission(): Submission {
  return {
    documentId: '4e0a1b2c-3d4e-4f60-8a1b-2c3d4e5f6a7b',
    version: 1,
    patient: {
      nhsNumber: '9990000018',
      givenName: 'Ada',
      familyName: 'Testpatient',
      birthDate: '1957-01-09',
      gender: 'female',
    },
    sender: {
      odsCode: 'Y12345',
      name: 'Synthetic Urgent Care Centre',
      telephone: '0300 000 0000',
      meshMailbox: 'Y12345OT001',
    },
    recipient: { odsCode: 'A99999' },
    author: { sdsUserId: '999999999999', givenName: 'Clare', familyName: 'Clinician' },
    encounter: {
      id: 'enc-2024-000123',
      start: '2024-05-01T09:00:00+01:00',
      summary: 'Seen for a synthetic complaint.',
    },
    // A PDF starts with its header (contracts/submission.ts checks it); the rest is filler of the same size.
    report: { contentType: 'application/pdf', dataBase64: Buffer.concat([Buffer.from('%PDF-1.4\n'), bytes(700_000, 1)]).toString('base64') },
    attachments: [
      { contentType: 'image/png', title: 'Photo', dataBase64: Buffer.from(bytes(40_000, 2)).toString('base64') },
      { contentType: 'text/plain', title: 'Notes', dataBase64: Buffer.from(bytes(2_000, 3)).toString('base64') },
    ],
    confidentiality: 'N',
    careSetting: { code: '789718008', display: 'Cardiology service' },
  };
}

interface Measure {
  iterations: number;
  seconds: number;
  perSecond: number;
  meanMs: number;
}

function measure(fn: () => unknown, minSeconds: number): Measure {
  for (let i = 0; i < 3; i++) fn(); // warm-up (JIT)
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    fn();
    iterations++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < minSeconds);
  return {
    iterations,
    seconds: round(elapsed),
    perSecond: round(iterations / elapsed),
    meanMs: round((elapsed / iterations) * 1000),
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export interface Itk3BenchOptions {
  /** Minimum seconds per measurement (default 2). */
  seconds?: number;
}

export async function runItk3Bench(options: Itk3BenchOptions = {}): Promise<object> {
  const seconds = options.seconds ?? 2;
  const s = submission();
  const input = (format: OutputFormat): BuildMessageInput => ({ submission: s, profile: '2.x', ids: IDS, newId: counterIds(), now: NOW, routing: ROUTING, format });
  const build = () => buildSendDocumentMessage(input('xml'));
  const message = build();
  const bodyBytes = Buffer.from(message.xml, 'utf8');

  // Baseline: a plain fast-xml-parser parse of the same bytes (no safety guards, no FHIR reading).
  const plain = new XMLParser({ ignoreAttributes: false });
  const plainParse = measure(() => plain.parse(bodyBytes.toString('utf8')), seconds);

  const buildXml = measure(build, seconds);
  const readMessage = measure(() => readSendDocumentMessage(bodyBytes, '2.x'), seconds);
  const docJson = (
    JSON.parse(
      buildSendDocumentMessage(input('json')).xml,
    ) as { entry: { resource: object }[] }
  ).entry[2]?.resource;
  const wrapJson = measure(
    () =>
      wrapDocumentBundle({
        document: docJson as never,
        profile: '2.x',
        ids: IDS,
        newId: counterIds(),
        now: NOW,
        routing: ROUTING,
        sender: { meshMailbox: 'Y12345OT001' },
        senderReference: 'enc-2024-000123',
      }),
    seconds,
  );

  const response = buildItk3Response({
    respondsTo: IDS.messageHeaderId,
    senderReference: 'enc-2024-000123',
    code: '20013',
    responseBundleIdentifier: '33333333-3333-4333-8333-333333333333',
    messageHeaderId: '44444444-4444-4444-8444-444444444444',
    now: NOW,
    sourceEndpoint: 'A99999OT001',
    senderOds: 'A99999',
    newId: counterIds(),
  });
  const responseBytes = Buffer.from(response, 'utf8');
  const plainResponse = measure(() => plain.parse(responseBytes.toString('utf8')), seconds);
  const parseResponse = measure(() => parseItk3Response(responseBytes), seconds);

  return {
    benchmark: 'itk3',
    node: process.version,
    messageBytes: bodyBytes.byteLength,
    responseBytes: responseBytes.byteLength,
    baseline: { plainFastXmlParserParseOfMessage: plainParse, plainFastXmlParserParseOfResponse: plainResponse },
    buildMessage: { ...buildXml, ratioToPlainParse: round(buildXml.meanMs / plainParse.meanMs) },
    readMessage: { ...readMessage, ratioToPlainParse: round(readMessage.meanMs / plainParse.meanMs) },
    wrapJsonDocument: { ...wrapJson, ratioToPlainParse: round(wrapJson.meanMs / plainParse.meanMs) },
    parseResponse: { ...parseResponse, ratioToPlainParse: round(parseResponse.meanMs / plainResponse.meanMs) },
    notes:
      'ratio = mean time of the operation / mean time of a plain fast-xml-parser parse of the same bytes in this run (lower is better; 1.0 = as fast as the bare parse)',
  };
}

if (require.main === module) {
  runItk3Bench().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
