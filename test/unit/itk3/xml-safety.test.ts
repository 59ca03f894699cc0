import { parseItk3Response } from '../../../itk3';
import { parseFhirXml, toXmlString, writeXml, val } from '../../../itk3/fhir-xml';

function failure(fn: () => unknown): { type: string; message: string; issues: { message: string }[] } {
  try {
    fn();
  } catch (e) {
    return e as never;
  }
  throw new Error('expected an error');
}

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Bundle xmlns="http://hl7.org/fhir"><id value="&lol9;"/></Bundle>`;

const XXE = `<?xml version="1.0"?>
<!DOCTYPE Bundle [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<Bundle xmlns="http://hl7.org/fhir"><id value="&xxe;"/></Bundle>`;

describe('safe XML reading', () => {
  it('refuses a billion-laughs entity bomb quickly, without expanding it', () => {
    const started = process.hrtime.bigint();
    const err = failure(() => parseItk3Response(BILLION_LAUGHS));
    expect(err.type).toBe('ITK3_RESPONSE_INVALID');
    expect(err.message).toMatch(/DTD/);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(200);
  });

  it('refuses an external entity (XXE) declaration', () => {
    expect(failure(() => parseItk3Response(XXE)).message).toMatch(/DTD/);
  });

  it('leaves undeclared named entities as an error, not an expansion', () => {
    expect(failure(() => parseFhirXml('<Bundle xmlns="http://hl7.org/fhir"><id value="&foo;"/></Bundle>')).type).toBe(
      'ITK3_RESPONSE_INVALID',
    );
  });

  it('decodes the five predefined entities and numeric character references', () => {
    const root = parseFhirXml(
      '<Bundle xmlns="http://hl7.org/fhir"><id value="a&amp;b&lt;&gt;&quot;&apos;&#233;&#x1F600;"/></Bundle>',
    );
    expect(val(root, 'id')).toBe('a&b<>"\'é😀');
  });

  it('refuses documents nested deeper than the limit without overflowing the stack', () => {
    const depth = 100_000;
    const deep = '<Bundle xmlns="http://hl7.org/fhir">' + '<a>'.repeat(depth) + '</a>'.repeat(depth) + '</Bundle>';
    expect(failure(() => parseItk3Response(deep)).message).toMatch(/nested too deeply/);
  });

  it('refuses JSON nested deeper than the limit', () => {
    const deep = '{"resourceType":"Bundle","x":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}';
    expect(failure(() => parseItk3Response(deep)).message).toMatch(/nested too deeply/);
  });

  it('refuses a body over the size limit before parsing it', () => {
    const huge = '<Bundle xmlns="http://hl7.org/fhir">' + '<id value="x"/>'.repeat(100_000) + '</Bundle>';
    expect(failure(() => parseItk3Response(huge)).message).toMatch(/size limit/);
  });

  it('refuses too many elements', () => {
    const many = '<Bundle xmlns="http://hl7.org/fhir">' + '<a/>'.repeat(30_000) + '</Bundle>';
    expect(failure(() => parseItk3Response(many, { maxBytes: 10_000_000 })).message).toMatch(/too many elements/);
  });

  it('refuses invalid UTF-8 bytes', () => {
    const bytes = new Uint8Array([0x3c, 0x61, 0xff, 0xfe, 0x3e]);
    expect(failure(() => parseItk3Response(bytes)).message).toMatch(/UTF-8/);
  });

  it.each([
    ['two roots', '<Bundle xmlns="http://hl7.org/fhir"/><Bundle xmlns="http://hl7.org/fhir"/>'],
    ['unclosed root', '<Bundle xmlns="http://hl7.org/fhir"><id value="x"/>'],
    ['mismatched end tag', '<Bundle xmlns="http://hl7.org/fhir"><id></type></Bundle>'],
    ['stray end tag', '</Bundle>'],
    ['unclosed comment', '<Bundle xmlns="http://hl7.org/fhir"><!-- </Bundle>'],
    ['unclosed start tag', '<Bundle xmlns="http://hl7.org/fhir"'],
    ['text before the root', 'junk<Bundle xmlns="http://hl7.org/fhir"/>'],
    ['text after the root', '<Bundle xmlns="http://hl7.org/fhir"/>junk'],
    ['binary garbage', '\u0000\u0001\u0002<<<>>>'],
  ])('refuses malformed XML: %s', (_name, xml) => {
    expect(failure(() => parseFhirXml(xml)).type).toBe('ITK3_RESPONSE_INVALID');
  });

  it.each([
    ['U+FFFF in an attribute value', '<Bundle xmlns="http://hl7.org/fhir"><id value="a\uffffb"/></Bundle>'],
    ['U+FFFE in an attribute value', '<Bundle xmlns="http://hl7.org/fhir"><id value="a\ufffeb"/></Bundle>'],
    ['a lone surrogate in text', '<Bundle xmlns="http://hl7.org/fhir"><text><div xmlns="http://www.w3.org/1999/xhtml">a\ud800b</div></text></Bundle>'],
    ['U+0001 in an attribute value', '<Bundle xmlns="http://hl7.org/fhir"><id value="a\u0001b"/></Bundle>'],
  ])('refuses a character XML cannot carry: %s', (_name, xml) => {
    expect(failure(() => parseFhirXml(xml)).message).toBe('not well-formed XML: a character XML cannot carry');
  });

  it('accepts a BOM, comments, processing instructions and a quoted ">" in attribute values', () => {
    const root = parseFhirXml(
      '\uFEFF<?xml version="1.0"?><!-- c --><Bundle xmlns="http://hl7.org/fhir"><id value="a>b"/><?pi x?></Bundle>',
    );
    expect(val(root, 'id')).toBe('a>b');
  });

  it('accepts the FHIR namespace bound to a prefix', () => {
    const root = parseFhirXml('<f:Bundle xmlns:f="http://hl7.org/fhir"><f:type value="message"/></f:Bundle>');
    expect(root.name).toBe('Bundle');
    expect(val(root, 'type')).toBe('message');
  });

  it('writes attribute values that read back identically, including control whitespace', () => {
    const value = 'a & b < c > "d" \'e\'\n\tf\r';
    const xml = toXmlString({ name: 'Basic', attrs: {}, children: [{ name: 'id', attrs: { value }, children: [] }] });
    expect(val(parseFhirXml(xml), 'id')).toBe(value);
    expect(writeXml({ name: 'x', attrs: {}, children: [] }, [], false).join('')).toBe('<x/>');
  });

  it('reads large attribute values (base64 attachments) exactly, with entities, quotes and the private-use marker', () => {
    const big = 'A&amp;B"\''.repeat(1) + 'x'.repeat(10_000) + '&#233;';
    const xml = `<Bundle xmlns="http://hl7.org/fhir"><id value="${big.replace(/"/g, '&quot;')}"/><type value='${'y'.repeat(5000)}'/></Bundle>`;
    const root = parseFhirXml(xml);
    expect(val(root, 'id')).toBe('A&B"\'' + 'x'.repeat(10_000) + 'é');
    expect(val(root, 'type')).toBe('y'.repeat(5000));
    const marked = `<Bundle xmlns="http://hl7.org/fhir"><id value="\uE0000\uE001"/><type value="${'z'.repeat(5000)}"/></Bundle>`;
    const root2 = parseFhirXml(marked);
    expect(val(root2, 'id')).toBe('\uE0000\uE001');
    expect(val(root2, 'type')).toBe('z'.repeat(5000));
  });
});
