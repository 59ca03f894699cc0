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
    expect(parsed).toMatchObject({ responseCode: 'fatal-error', level: 'business', polarity: 'negative', action: 'ESCALATE_BUSINESS_REJECTION', diagnostics: 'No record of this patient' });
  });

  it('reads the same response from JSON', () => {
    const fromJson = parseItk3Response(response('30001', { format: 'json' }));
    const fromXml = parseItk3Response(response('30001'));
    expect(fromJson).toEqual(fromXml);
  });

  it('recognises UNREADABLE-IN-ORIGINAL-MESSAGE as uncorrelatable', () => {
    expect(parseItk3Response(response('10009', { respondsTo: 'UNREADABLE-IN-ORIGINAL-MESSAGE' }))).toMatchObject({ uncorrelatable: true, action: 'INVESTIGATE_UNREADABLE' });
  });

  it.each(KNOWN_RESPONSE_CODES.map((c) => [c]))('round-trips code %s through build and parse', (code) => {
    const parsed = parseItk3Response(response(code));
    const cls = classifyResponseCode(code);
    expect(parsed).toMatchObject({ code, level: cls.level, polarity: cls.polarity, action: cls.action, knownCode: true });
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
