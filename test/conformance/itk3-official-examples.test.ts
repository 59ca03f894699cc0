/**
 * Conformance run over every official ITK3 and GP Connect example (read at run time from the examples
 * folder beside the repository, never copied into the project). Each ITK3 Response example must parse with the documented
 * quirks tolerated; each outbound Send Document example must be read, and its deviations from the
 * sender-side requirements are pinned here so a change in the checker or in the examples is noticed.
 * Override the folder with ITK3_EXAMPLES_DIR.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import path from 'path';
import { classifyResponseCode, parseItk3Response, readSendDocumentMessage, wrapDocumentBundle } from '../../itk3';
import { UNREADABLE_IN_ORIGINAL_MESSAGE } from '../../contracts/itk3-response';

const EXAMPLES = process.env.ITK3_EXAMPLES_DIR ?? path.resolve(__dirname, '../../../shared/spec/examples');

if (!existsSync(EXAMPLES)) {
  throw new Error(
    `Official ITK3 examples folder not found at ${EXAMPLES}. The conformance run reads ../shared/spec/examples next to the repository (or ITK3_EXAMPLES_DIR); it is not copied into the project.`,
  );
}

const files = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.xml'))
  .sort();
const RESPONSE_FILE = /^ITK-Response-(\d{5})-Example-\d+\.xml$/;
const OUTBOUND: Record<string, '1.x' | '2.x'> = {
  'gpcm-1.5.1-consultation_report.xml': '1.x',
  'gpc-send-document-2.x-generic-example.xml': '2.x',
};

/** Drop Jekyll `{% ... %}` lines wrapping an include (the 1.5.1 file's first and last lines). */
function stripJekyll(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*\{%.*%\}\s*$/.test(line))
    .join('\n');
}

function read(file: string): string {
  return stripJekyll(readFileSync(path.join(EXAMPLES, file), 'utf8'));
}

/** What each response example says, from spec/examples/README.md; 20015's `ok` is the known quirk. */
const RESPONSE_EXPECTATIONS: Record<
  string,
  {
    responseCode: string;
    severity: string;
    issueCode: string;
    infAck: boolean;
    sender: 'Organization' | 'Practitioner';
  }
> = {
  '20013': {
    responseCode: 'ok',
    severity: 'information',
    issueCode: 'informational',
    infAck: false,
    sender: 'Practitioner',
  },
  '30001': {
    responseCode: 'ok',
    severity: 'information',
    issueCode: 'informational',
    infAck: true,
    sender: 'Practitioner',
  },
  '30002': {
    responseCode: 'fatal-error',
    severity: 'fatal',
    issueCode: 'not-found',
    infAck: true,
    sender: 'Practitioner',
  },
  '30003': {
    responseCode: 'fatal-error',
    severity: 'fatal',
    issueCode: 'business-rule',
    infAck: true,
    sender: 'Practitioner',
  },
  '20009': {
    responseCode: 'fatal-error',
    severity: 'fatal',
    issueCode: 'structure',
    infAck: false,
    sender: 'Practitioner',
  },
  '10009': {
    responseCode: 'fatal-error',
    severity: 'fatal',
    issueCode: 'processing',
    infAck: false,
    sender: 'Organization',
  },
  '20007': {
    responseCode: 'fatal-error',
    severity: 'fatal',
    issueCode: 'duplicate',
    infAck: false,
    sender: 'Practitioner',
  },
  '20015': { responseCode: 'ok', severity: 'fatal', issueCode: 'processing', infAck: false, sender: 'Practitioner' },
};

describe('official ITK3 examples', () => {
  it('finds the examples and recognises every XML file in the folder', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    const unknown = files.filter((f) => !RESPONSE_FILE.test(f) && !(f in OUTBOUND));
    expect(unknown).toEqual([]);
  });

  const responses = files.filter((f) => RESPONSE_FILE.test(f));
  it.each(responses)('parses response example %s with the documented quirks tolerated', (file) => {
    const code = RESPONSE_FILE.exec(file)?.[1] as string;
    const parsed = parseItk3Response(readFileSync(path.join(EXAMPLES, file)));
    const cls = classifyResponseCode(code);
    expect(parsed).toMatchObject({
      code,
      level: cls.level,
      polarity: cls.polarity,
      action: cls.action,
      knownCode: true,
      sourceEndpoint: 'NOROT003',
      senderReference: 'None',
    });
    expect(parsed.responseBundleIdentifier).toMatch(/^[0-9a-f-]{36}$/);
    expect(parsed.quirks).toEqual(
      expect.arrayContaining([
        'MessageDefinition uses the legacy -Instance-1 URL',
        'SenderReference is None (GPCM-SD-052 says echo the sender value)',
      ]),
    );
    const want = RESPONSE_EXPECTATIONS[code];
    if (want) {
      expect(parsed).toMatchObject({
        responseCode: want.responseCode,
        severity: want.severity,
        issueCode: want.issueCode,
        infAckRequested: want.infAck,
        busAckRequested: false,
      });
      expect(parsed.quirks.some((q) => q.startsWith('sender is a Practitioner'))).toBe(want.sender === 'Practitioner');
      if (want.sender === 'Organization') expect(parsed.senderOds).toBeDefined();
    }
    expect(parsed.uncorrelatable).toBe(parsed.respondsTo === UNREADABLE_IN_ORIGINAL_MESSAGE);
    if (code === '10009') expect(parsed.uncorrelatable).toBe(true);
    if (code === '20015')
      expect(parsed.quirks).toContain('response.code ok disagrees with the code list for 20015; the code list wins');
  });

  it('reads the 1.5.1 Consultation Summary example; its only error is an NHS number that fails modulus 11', () => {
    const result = readSendDocumentMessage(read('gpcm-1.5.1-consultation_report.xml'), '1.x');
    expect(result.envelope).toMatchObject({
      messageHeaderId: 'ea7221b8-3cc0-4b11-bc95-585b056b5428',
      event: 'ITK007C',
      senderOds: 'GP0001',
      sourceEndpoint: 'MESHGP0001',
      handling: {
        BusAckRequested: 'true',
        InfAckRequested: 'true',
        RecipientType: 'FA',
        LocalExtension: 'SendDocument-ConsultationSummary',
      },
    });
    expect(result.document).toMatchObject({
      typeCode: '371531000',
      title: 'Consultation report',
      confidentiality: 'N',
      custodianOds: 'GP0001',
      attachments: [{ contentType: 'application/pdf' }],
    });
    expect(result.findings.map((f) => `${f.severity} ${f.requirementId ?? '-'} ${f.path}`)).toEqual([
      'warning GPCM-SD-044 LocalExtension', // example says ConsultationSummary, the requirement ConsultationReport: the sources disagree
      'warning - Bundle.meta.lastUpdated',
      'error GPCM-SD-035 Patient.identifier(nhsNumber)', // 9989453456 fails modulus 11
    ]);
  });

  it('refuses to wrap the 1.5.1 example document because of its invalid NHS number', () => {
    const xml = read('gpcm-1.5.1-consultation_report.xml');
    const docXml = /<Bundle>[^]*<\/Bundle>(?=\s*<!---end of payload bundle)/.exec(xml)?.[0] as string;
    expect(docXml).toBeDefined();
    try {
      wrapDocumentBundle({
        document: docXml.replace('<Bundle>', '<Bundle xmlns="http://hl7.org/fhir">'),
        profile: '1.x',
        ids: {
          messageHeaderId: '11111111-1111-4111-8111-111111111111',
          bundleIdentifier: '22222222-2222-4222-8222-222222222222',
        },
        newId: (() => {
          let n = 0;
          return () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
        })(),
        now: '2024-05-01T10:00:00Z',
        routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY' },
        sender: { meshMailbox: 'MESHGP0001' },
        senderReference: '846ebe66-5ff8-4499-bc57-a112d3d0daa3',
      });
      throw new Error('expected a refusal');
    } catch (e) {
      expect((e as { type: string }).type).toBe('ITK3_BUILD_REJECTED');
      expect((e as { issues: { requirementId?: string }[] }).issues.map((i) => i.requirementId)).toEqual([
        'GPCM-SD-035',
      ]);
    }
  });

  it('tolerates the 2.x generic example without careSettingType: a warning, while our own 2.x messages must carry it', () => {
    const result = readSendDocumentMessage(read('gpc-send-document-2.x-generic-example.xml'), '2.x');
    expect(result.findings).toContainEqual(
      expect.objectContaining({ severity: 'warning', path: 'Composition.extension(careSettingType)', requirementId: 'SD2-2.0.0-CARE-SETTING' }),
    );
  });

  it('reads the 2.x generic example and pins its deviations (no meta.profile anywhere, placeholders)', () => {
    const result = readSendDocumentMessage(read('gpc-send-document-2.x-generic-example.xml'), '2.x');
    expect(result.envelope).toMatchObject({
      messageHeaderId: 'adcdf4b6-4c9d-4347-9dca-1264e1f51a4b',
      event: 'ITK007C',
      senderOds: 'FQW30',
      handling: {
        RecipientType: 'FI',
        LocalExtension: 'None',
        SenderReference: 'urn:uuid:28182303-be8d-429f-a593-4bd1b4952fc5',
      },
    });
    expect(result.document).toMatchObject({
      typeCode: '325871000000103',
      attachments: [{ contentType: 'application/pdf' }],
    });
    const errors = result.findings
      .filter((f) => f.severity === 'error')
      .map((f) => `${f.requirementId ?? '-'} ${f.path}`);
    expect(errors).toEqual([
      'GPCM-SD-108 Bundle.meta.profile',
      'GPCM-SD-108 MessageHeader.meta.profile',
      'GPCM-SD-045 Organization.meta.profile',
      'GPCM-SD-108 Bundle.meta.profile',
      'GPCM-SD-108 Bundle.entry[0].resource.meta.profile',
      'GPCM-SD-108 Bundle.entry[1].resource.meta.profile',
      'GPCM-SD-108 Bundle.entry[2].resource.meta.profile',
      'GPCM-SD-108 Bundle.entry[3].resource.meta.profile',
      'GPCM-SD-108 Bundle.entry[4].resource.meta.profile',
      'GPCM-SD-104 Composition.meta.profile',
      'GPCM-SD-098 Composition.meta.versionId',
      'GPCM-SD-106 Patient.meta.profile',
      'GPCM-SD-035 Patient.identifier(nhsNumber)', // 4857773456 fails modulus 11
      'GPCM-SD-107 Practitioner.meta.profile',
      'GPCM-SD-112 Composition.section[0].entry[0]', // first section entry is the Organization, not the PDF
      'GPCM-SD-110 Binary[0].meta.profile',
    ]);
  });
});
