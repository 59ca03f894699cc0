import { buildItk3Response, classifyResponseCode, parseItk3Response, KNOWN_RESPONSE_CODES } from '../../../itk3';
import { counterIds, NOW } from '../../fixtures/itk3/submissions';

const OUTBOUND_HEADER_ID = '11111111-1111-4111-8111-111111111111';

function response(code: string, over: Partial<Parameters<typeof buildItk3Response>[0]> = {}): string {
  return buildItk3Response({
    respondsTo: OUTBOUND_HEADER_ID,
    senderReference: 'enc-2024-000123',
    code,
    responseBundleIdentifier: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
    messageHeaderId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
    now: NOW,
    sourceEndpoint: 'A99999OT001',
    senderOds: 'A99999',
    newId: counterIds(),
    ...over,
  });
}

function error(fn: () => unknown): { type: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as never;
  }
  throw new Error('expected an error');
}

describe('parseItk3Response', () => {
  it('reads a positive infrastructure ack (20013) built by the test peer', () => {
    expect(parseItk3Response(response('20013'))).toMatchObject({
      responseBundleIdentifier: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
      messageHeaderId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
      respondsTo: OUTBOUND_HEADER_ID,
      uncorrelatable: false,
      responseCode: 'ok',
      code: '20013',
      display: 'Success',
      level: 'infrastructure',
      polarity: 'positive',
      action: 'AWAIT_BUSINESS_ACK',
      senderReference: 'enc-2024-000123',
      sourceEndpoint: 'A99999OT001',
      senderOds: 'A99999',
      timestamp: NOW,
      quirks: [],
    });
  });

  it('reads a negative business ack (30002) with diagnostics', () => {
    const parsed = parseItk3Response(response('30002', { diagnostics: 'No record of this patient' }));
    expect(parsed).toMatchObject({
      responseCode: 'fatal-error',
      level: 'business',
      polarity: 'negative',
      action: 'ESCALATE_BUSINESS_REJECTION',
      diagnostics: 'No record of this patient',
    });
  });

  it('builds GP Connect responses: Bus=false, Inf=false, SenderReference echoed, Organization sender, ITK008M (GPCM-SD-050..055)', () => {
    const parsed = parseItk3Response(response('30001'));
    expect(parsed).toMatchObject({
      busAckRequested: false,
      infAckRequested: false,
      senderReference: 'enc-2024-000123',
      senderOds: 'A99999',
      timestamp: NOW,
      quirks: [],
    });
    expect(response('30001')).toContain('<code value="ITK008M"/>');
    expect(response('30001')).toContain('ITK-Response-MessageDefinition-1');
  });

  it('reads the same response from JSON', () => {
    const fromJson = parseItk3Response(response('30001', { format: 'json' }));
    const fromXml = parseItk3Response(response('30001'));
    expect(fromJson).toEqual(fromXml);
  });

  it('recognises UNREADABLE-IN-ORIGINAL-MESSAGE as uncorrelatable', () => {
    expect(parseItk3Response(response('10009', { respondsTo: 'UNREADABLE-IN-ORIGINAL-MESSAGE' }))).toMatchObject({
      uncorrelatable: true,
      action: 'INVESTIGATE_UNREADABLE',
    });
  });

  it.each(KNOWN_RESPONSE_CODES.map((c) => [c]))('round-trips code %s through build and parse', (code) => {
    const parsed = parseItk3Response(response(code));
    const cls = classifyResponseCode(code);
    expect(parsed).toMatchObject({
      code,
      level: cls.level,
      polarity: cls.polarity,
      action: cls.action,
      knownCode: true,
    });
  });

  it.each([
    ['not XML', 'hello world'],
    ['empty', ''],
    ['not a Bundle', '<Patient xmlns="http://hl7.org/fhir"><id value="x"/></Patient>'],
    ['wrong namespace', '<Bundle xmlns="urn:something-else"><type value="message"/></Bundle>'],
    ['no namespace', '<Bundle><type value="message"/></Bundle>'],
    ['unbalanced tags', '<Bundle xmlns="http://hl7.org/fhir"><type value="message"></Bundle>'],
  ])('refuses %s with ITK3_RESPONSE_INVALID', (_name, body) => {
    expect(error(() => parseItk3Response(body)).type).toBe('ITK3_RESPONSE_INVALID');
  });
});

describe('parseItk3Response refuses what is not an ITK3 Response', () => {
  const ok = () => response('20013');
  it.each([
    ['several MessageHeaders', () => ok().replace(/(<entry><fullUrl value="urn:uuid:bbbb[^]*?<\/entry>)/, '$1$1')],
    ['no MessageHeader.response', () => ok().replace(/<response>[^]*?<\/response>/, '')],
    ['no response.identifier', () => ok().replace(/<response><identifier value="[^"]*"\/>/, '<response>')],
    [
      'a response.code outside ok/transient-error/fatal-error',
      () => ok().replace('<code value="ok"/>', '<code value="fine"/>'),
    ],
    ['event ITK007C (an outbound message, not a response)', () => ok().replace('ITK008M', 'ITK007C')],
    [
      'no handling extension',
      () =>
        ok().replace(
          /<extension url="https:\/\/fhir.nhs.uk\/STU3\/StructureDefinition\/Extension-ITK-MessageHandling-2">[^]*?<\/extension><\/extension>/,
          '',
        ),
    ],
    ['a missing handling key', () => ok().replace(/<extension url="LocalExtension">[^]*?<\/extension>/, '')],
    ['an unknown MessageDefinition', () => ok().replace('ITK-Response-MessageDefinition-1', 'ITK-Something-Else-1')],
    [
      'no OperationOutcome',
      () => ok().replace(/<entry><fullUrl value="urn:uuid:[^"]*"\/><resource><OperationOutcome>[^]*?<\/entry>/, ''),
    ],
    ['no ITK-ResponseCodes-1 coding', () => ok().replace('ITK-ResponseCodes-1', 'Other-Codes-1')],
    ['a non-numeric code', () => ok().replace('<code value="20013"/>', '<code value="2001X"/>')],
    ['a five-digit code outside 1xxxx-3xxxx', () => ok().replace('<code value="20013"/>', '<code value="40001"/>')],
    [
      'no Bundle.identifier',
      () =>
        ok().replace(
          /<identifier><system value="https:\/\/tools.ietf.org\/html\/rfc4122"\/><value value="aaaa[^"]*"\/><\/identifier>/,
          '',
        ),
    ],
    ['Bundle.type document', () => ok().replace('<type value="message"/>', '<type value="document"/>')],
    [
      'MessageHeader not first',
      () => ok().replace(/(<entry><fullUrl value="urn:uuid:bbbb[^]*?<\/entry>)(<entry>[^]*?<\/entry>)/, '$2$1'),
    ],
  ])('%s', (_name, body) => {
    const err = error(() => parseItk3Response(body()));
    expect(err.type).toBe('ITK3_RESPONSE_INVALID');
  });

  it('classifies an unknown code by prefix and response.code', () => {
    expect(
      parseItk3Response(response('20099', { responseCode: 'fatal-error', display: 'Future error' })),
    ).toMatchObject({
      code: '20099',
      knownCode: false,
      level: 'infrastructure',
      polarity: 'negative',
      action: 'FIX_AND_RESEND',
      display: 'Future error',
    });
    expect(parseItk3Response(response('30099', { responseCode: 'ok', display: 'Future positive' }))).toMatchObject({
      level: 'business',
      polarity: 'positive',
      action: 'DELIVERED',
    });
  });

  it('never puts the response body into the error message', () => {
    const body = ok().replace('ITK008M', 'ITK007C').replace('enc-2024-000123', 'SECRET-9990000018');
    const err = error(() => parseItk3Response(body));
    expect(JSON.stringify(err) + err.message).not.toContain('9990000018');
  });

  it('tolerates ack flags set to true on a response and records it as a quirk', () => {
    const body = ok().replace(/(<extension url="InfAckRequested"><valueBoolean value=")false/, '$1true');
    expect(parseItk3Response(body)).toMatchObject({
      code: '20013',
      infAckRequested: true,
      quirks: [expect.stringContaining('InfAckRequested=true')],
    });
  });
});

describe('classifyResponseCode', () => {
  const expected: Record<string, string[]> = {
    DELIVERED: ['30001', '30004', '30005', '30006', '30008', '30009', '30010', '30011', '30013', '30016', '30019'],
    AWAIT_BUSINESS_ACK: ['20013'],
    FIX_AND_RESEND: [
      '10001',
      '10002',
      '10003',
      '10004',
      '10005',
      '10007',
      '10008',
      '10010',
      '20004',
      '20005',
      '20006',
      '20009',
    ],
    INVESTIGATE_UNREADABLE: ['10009'],
    TREAT_AS_DUPLICATE: ['20007', '20008'],
    SHRINK_PAYLOAD: ['20015'],
    ESCALATE_ROUTING: ['20001', '20002', '20003', '20010', '20011', '20012'],
    VOID_ORIGINAL_AND_REPLACEMENT: ['20014'],
    ESCALATE_BUSINESS_REJECTION: [
      '30002',
      '30003',
      '30007',
      '30012',
      '30014',
      '30015',
      '30017',
      '30018',
      '30020',
      '30021',
      '30022',
      '30023',
      '30024',
      '30025',
    ],
  };

  it('knows every code 10001-30025 (no 10006) and gives each the documented sender action', () => {
    const all = Object.values(expected).flat().sort();
    expect([...KNOWN_RESPONSE_CODES].sort()).toEqual(all);
    expect(all).toHaveLength(49);
    expect(all).not.toContain('10006');
    for (const [action, codes] of Object.entries(expected))
      for (const c of codes) expect(classifyResponseCode(c).action).toBe(action);
  });

  it('keeps 20015 negative even when response.code says ok (official example quirk)', () => {
    expect(classifyResponseCode('20015', 'ok')).toMatchObject({
      polarity: 'negative',
      action: 'SHRINK_PAYLOAD',
      known: true,
    });
  });

  it('gives infrastructure to 1xxxx/2xxxx and business to 3xxxx', () => {
    for (const c of KNOWN_RESPONSE_CODES)
      expect(classifyResponseCode(c).level).toBe(c.startsWith('3') ? 'business' : 'infrastructure');
  });

  it('refuses codes that are not five digits starting 1-3', () => {
    for (const bad of ['', '2001', '200130', '40001', 'abcde'])
      expect(error(() => classifyResponseCode(bad)).type).toBe('ITK3_RESPONSE_INVALID');
  });

  it('classifies an unknown code without response.code as negative', () => {
    expect(classifyResponseCode('10099')).toEqual({
      level: 'infrastructure',
      polarity: 'negative',
      action: 'FIX_AND_RESEND',
      known: false,
    });
  });
});
