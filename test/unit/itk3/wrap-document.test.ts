import {
  buildSendDocumentMessage,
  readSendDocumentMessage,
  wrapDocumentBundle,
  type BuildMessageInput,
} from '../../../itk3';
import { parseFhirXml, resourceOf, writeXml, childrenNamed, type FNode } from '../../../itk3/fhir-xml';
import type { JsonObject } from '../../../itk3/fhir-json';
import { buildInput, PATIENTS, submission, wrapInput } from '../../fixtures/itk3/submissions';

/** The document Bundle of a built message, as FHIR JSON. */
function documentJson(over: Partial<BuildMessageInput> = {}): JsonObject {
  const built = buildSendDocumentMessage(buildInput({ ...over, format: 'json' }));
  return (JSON.parse(built.xml) as { entry: { resource: JsonObject }[] }).entry[2]?.resource as JsonObject;
}

/** The document Bundle of a built message, as FHIR XML. */
function documentXml(over: Partial<BuildMessageInput> = {}): string {
  const root = parseFhirXml(buildSendDocumentMessage(buildInput(over)).xml);
  return writeXml(resourceOf(childrenNamed(root, 'entry')[2] as FNode) as FNode).join('');
}

/** Same object, keys in reverse order at every level (FHIR JSON key order is free). */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reverseKeys(x)]),
  );
}

function refusal(fn: () => unknown): { type: string; issues: { requirementId?: string; path?: string }[] } {
  try {
    fn();
  } catch (e) {
    return e as never;
  }
  throw new Error('expected a refusal');
}

describe('wrapDocumentBundle', () => {
  it('wraps a JSON document bundle into exactly the message the submission route builds', () => {
    expect(wrapDocumentBundle(wrapInput(documentJson())).xml).toBe(buildSendDocumentMessage(buildInput()).xml);
  });

  it('puts JSON keys supplied in any order into FHIR XML element order', () => {
    const shuffled = reverseKeys(documentJson()) as JsonObject;
    expect(wrapDocumentBundle(wrapInput(shuffled)).xml).toBe(buildSendDocumentMessage(buildInput()).xml);
  });

  it('wraps an XML document bundle (text or bytes) into the same message', () => {
    const xml = documentXml();
    const expected = buildSendDocumentMessage(buildInput()).xml;
    expect(wrapDocumentBundle(wrapInput(xml)).xml).toBe(expected);
    expect(wrapDocumentBundle(wrapInput(new TextEncoder().encode(xml))).xml).toBe(expected);
  });

  it('puts an XML document supplied in another element order into FHIR XML element order', () => {
    // Element groups reversed at every level; elements of the same name keep their order (it is meaning).
    const shuffle = (n: FNode): FNode => {
      if (n.name === 'div') return n;
      const groups = new Map<string, FNode[]>();
      for (const c of n.children) groups.set(c.name, [...(groups.get(c.name) ?? []), shuffle(c)]);
      return { ...n, children: [...groups.values()].reverse().flat() };
    };
    const supplied = writeXml(shuffle(parseFhirXml(documentXml()))).join('');
    expect(supplied).not.toBe(documentXml());
    expect(wrapDocumentBundle(wrapInput(supplied)).xml).toBe(buildSendDocumentMessage(buildInput()).xml);
  });

  it('writes JSON on request, from JSON or XML input, equal to the submission route JSON', () => {
    const expected = buildSendDocumentMessage(buildInput({ format: 'json' })).xml;
    expect(wrapDocumentBundle(wrapInput(JSON.stringify(documentJson()), { format: 'json' })).xml).toBe(expected);
    expect(JSON.parse(wrapDocumentBundle(wrapInput(documentXml(), { format: 'json' })).xml)).toEqual(
      JSON.parse(expected),
    );
  });

  it('gives the same MESH metadata as the submission route, for 1.x too', () => {
    for (const profile of ['1.x', '2.x'] as const) {
      const built = buildSendDocumentMessage(buildInput({ profile }));
      const wrapped = wrapDocumentBundle(wrapInput(documentJson({ profile }), { profile }));
      expect(wrapped.mesh).toEqual(built.mesh);
      expect(readSendDocumentMessage(wrapped.xml, profile).conformant).toBe(true);
    }
  });

  it('refuses a document whose NHS number fails modulus 11 (GPCM-SD-035)', () => {
    const doc = documentXml().replace('value="9990000018"', 'value="9990000019"');
    const err = refusal(() => wrapDocumentBundle(wrapInput(doc)));
    expect(err.type).toBe('ITK3_BUILD_REJECTED');
    expect(err.issues).toEqual([expect.objectContaining({ requirementId: 'GPCM-SD-035' })]);
    expect(JSON.stringify(err)).not.toContain('9990000019');
  });

  it('refuses a document whose first section entry is not the PDF (GPCM-SD-112)', () => {
    const doc = documentJson({
      submission: submission({
        attachments: [{ contentType: 'image/png', title: 'Photo', dataBase64: 'iVBORw0KGgo=' }],
      }),
    });
    const composition = (doc.entry as { resource: JsonObject }[])[0]?.resource as { section: JsonObject[] };
    composition.section.reverse();
    const err = refusal(() => wrapDocumentBundle(wrapInput(doc)));
    expect(err.issues.map((i) => i.requirementId)).toContain('GPCM-SD-112');
  });

  it('refuses a document without any PDF (GPCM-SD-124)', () => {
    const doc = documentXml().replace('application/pdf', 'text/plain');
    expect(refusal(() => wrapDocumentBundle(wrapInput(doc))).issues.map((i) => i.requirementId)).toContain(
      'GPCM-SD-124',
    );
  });

  it('refuses confidentiality R for 2.x', () => {
    const doc = documentXml().replace('<confidentiality value="N"/>', '<confidentiality value="R"/>');
    expect(refusal(() => wrapDocumentBundle(wrapInput(doc))).issues.map((i) => i.requirementId)).toContain(
      'SD2-2.0.2-CONFIDENTIALITY',
    );
  });

  it('refuses demographics that do not match the routing address (GPCM-SD-038)', () => {
    const err = refusal(() =>
      wrapDocumentBundle(
        wrapInput(documentJson(), {
          routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY', to: 'GPPROVIDER_9990000018_09011957_Otherpatient' },
        }),
      ),
    );
    expect(err.issues).toEqual([
      expect.objectContaining({ path: 'Patient.name.family', requirementId: 'GPCM-SD-038' }),
    ]);
  });

  it('refuses a sender ODS code that is not the custodian (GPCM-SD-105)', () => {
    const err = refusal(() =>
      wrapDocumentBundle(wrapInput(documentJson(), { sender: { meshMailbox: 'Y12345OT001', odsCode: 'Z99999' } })),
    );
    expect(err.issues.map((i) => i.requirementId)).toContain('GPCM-SD-105');
  });

  it('refuses a version > 1 without relatesTo (GPCM-SD-123)', () => {
    const doc = documentXml().replace('<versionId value="1"/>', '<versionId value="2"/>');
    expect(refusal(() => wrapDocumentBundle(wrapInput(doc))).issues.map((i) => i.requirementId)).toContain(
      'GPCM-SD-123',
    );
  });

  it.each([
    ['garbage text', 'hello'],
    ['a JSON array', '[1,2]'],
    ['an XML entity bomb', '<!DOCTYPE x [<!ENTITY a "aaaa">]><Bundle xmlns="http://hl7.org/fhir"/>'],
    ['a Patient', '<Patient xmlns="http://hl7.org/fhir"><id value="p"/></Patient>'],
    ['a message bundle', '<Bundle xmlns="http://hl7.org/fhir"><type value="message"/></Bundle>'],
    ['a JSON object without resourceType', { foo: 'bar' }],
  ])('refuses %s with ITK3_BUILD_REJECTED', (_name, doc) => {
    expect(refusal(() => wrapDocumentBundle(wrapInput(doc as never))).type).toBe('ITK3_BUILD_REJECTED');
  });

  it('replaces a non-UUID document id so the focus can reference it, with a warning', () => {
    const doc = { ...documentJson(), id: 'not-a-uuid' };
    const wrapped = wrapDocumentBundle(wrapInput(doc));
    expect(wrapped.warnings.map((w) => w.path)).toContain('Bundle.id');
    expect(readSendDocumentMessage(wrapped.xml, '2.x').conformant).toBe(true);
  });

  it('uses the Patient name from the document in the subject', () => {
    const wrapped = wrapDocumentBundle(wrapInput(documentJson({ submission: submission({ patient: PATIENTS.bob }) })));
    expect(wrapped.mesh.to).toBe("GPPROVIDER_9990000026_31122001_O'Synthetic-Smith");
    expect(wrapped.mesh.subject).toContain("Bob O'Synthetic-Smith");
  });
});
