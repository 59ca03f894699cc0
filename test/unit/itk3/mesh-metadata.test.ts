/**
 * Header-safe MESH metadata: names outside Latin-1, emoji, bidi controls and line breaks must not
 * reach a MESH header as they are (the MESH client refuses them, so the delivery could only fail), while the
 * FHIR document keeps the name exactly as submitted.
 */
import fc from 'fast-check';
import { buildSendDocumentMessage, wrapDocumentBundle, type BuildMessageInput } from '../../../itk3';
import type { JsonObject } from '../../../itk3/fhir-json';
import { child, childrenNamed, parseFhirXml, resourceOf, val, type FNode } from '../../../itk3/fhir-xml';
import {
  MESH_HEADER_SAFE,
  gpProviderAddress,
  headerSafeText,
  meshSubject,
  routingAddressMismatches,
  surnameRoutingIssues,
  toHeaderText,
} from '../../../itk3/mesh-metadata';
import { MeshClient } from '../../../mesh';
import { PATIENTS, buildInput, submission, wrapInput } from '../../fixtures/itk3/submissions';

const polish = { ...PATIENTS.ada, givenName: 'Łukasz', familyName: 'Żółć' };

function input(over: Partial<BuildMessageInput> = {}): BuildMessageInput {
  return buildInput({ submission: submission({ patient: polish }), ...over });
}

function patientOf(xml: string): FNode {
  const messageEntries = childrenNamed(parseFhirXml(xml), 'entry').map((e) => resourceOf(e) as FNode);
  const document = messageEntries.find((r) => r.name === 'Bundle') as FNode;
  const resources = childrenNamed(document, 'entry').map((e) => resourceOf(e) as FNode);
  return resources.find((r) => r.name === 'Patient') as FNode;
}

/** What the real MESH client says about these headers (a fake network; nothing is sent). */
async function meshClientRefusal(mesh: { to: string; workflowId: string; subject?: string }): Promise<unknown> {
  const client = new MeshClient({
    baseUrl: 'http://127.0.0.1:9',
    mailboxId: 'X26ABC1',
    password: 'password',
    sharedKey: 'TestKey',
    fetch: (async () =>
      new Response(JSON.stringify({ message_id: 'FAKE0001' }), {
        status: 202,
        headers: { 'content-type': 'application/json' },
      })) as typeof fetch,
  });
  return client
    .sendMessage({
      to: mesh.to,
      workflowId: mesh.workflowId,
      body: '<x/>',
      fileName: 'x.xml',
      ...(mesh.subject !== undefined ? { subject: mesh.subject } : {}),
    })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
}

describe('toHeaderText: a name as a MESH header can carry it', () => {
  it('transliterates Latin letters outside Latin-1 and keeps the Latin-1 ones', () => {
    expect(toHeaderText('Łukasz Żółć')).toEqual({ text: 'Lukasz Zólc', unrepresentable: 0 });
    expect(headerSafeText('Nguyễn Thị Đào')).toBe('Nguyen Thi Dào');
    expect(headerSafeText('Ştefan Ţară Işık')).toBe('Stefan Tara Isik');
    expect(headerSafeText('Zoë Müller-Øster')).toBe('Zoë Müller-Øster');
    expect(headerSafeText('Œdipe Straße')).toBe('OEdipe Straße');
    expect(MESH_HEADER_SAFE.test(headerSafeText('Łukasz Żółć'))).toBe(true);
  });

  it('composes a decomposed accent first, so Latin-1 letters typed as base + mark stay as they are', () => {
    expect(headerSafeText('Zoe\u0308')).toBe('Zoë');
  });

  it('writes typographic apostrophes, quotes and dashes as ASCII', () => {
    expect(headerSafeText('O\u2019Brien\u2013Smith')).toBe("O'Brien-Smith");
    expect(headerSafeText('\u201cDoc\u201d')).toBe('"Doc"');
  });

  it('removes emoji, including joined sequences, skin tones and variation selectors', () => {
    expect(headerSafeText('Ada 🙂')).toBe('Ada');
    expect(headerSafeText('Ada 👨‍👩‍👧 Lovelace')).toBe('Ada Lovelace');
    expect(headerSafeText('Ada 👍🏽❤️')).toBe('Ada');
  });

  it('removes bidi controls and other format characters (RTL override, isolates, marks, soft hyphen, zero-width)', () => {
    expect(headerSafeText('Ada\u202eevil')).toBe('Adaevil');
    for (const c of [
      '\u202a',
      '\u202b',
      '\u202c',
      '\u202d',
      '\u202e',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
      '\u200e',
      '\u200f',
      '\u061c',
      '\u00ad',
      '\u200b',
      '\u200d',
      '\ufeff',
    ]) {
      expect(headerSafeText(`Ada${c}Lovelace`)).toBe('AdaLovelace');
    }
  });

  it('turns CR, LF, TAB and other separators into one space, and drops other control characters', () => {
    expect(headerSafeText('Ada\r\nMex-To: X26ABC3')).toBe('Ada Mex-To: X26ABC3');
    expect(headerSafeText('Ada\tTab')).toBe('Ada Tab');
    expect(headerSafeText('Ada\u2028\u00a0\u3000Lovelace ')).toBe('Ada Lovelace');
    expect(headerSafeText('Ada\u0000\u001b\u007f\u0090x')).toBe('Adax');
  });

  it('writes letters with no Latin form as "?" and counts them', () => {
    expect(toHeaderText('Иван Petrov')).toEqual({ text: '???? Petrov', unrepresentable: 4 });
    expect(toHeaderText('李').unrepresentable).toBe(1);
  });

  it('is always printable Latin-1, trimmed, with single inner spaces (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (value) => {
        const { text } = toHeaderText(value);
        expect(MESH_HEADER_SAFE.test(text)).toBe(true);
        expect(text).toBe(text.trim());
        expect(text).not.toContain('  ');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('MESH subject and routing address', () => {
  it('writes the subject in header form for both profiles, for the patient and the practice name', () => {
    const parts = {
      patientName: 'Łukasz Żółć\u202e 🙂',
      nhsNumber: '9990000018',
      practiceName: 'Gdańsk\tClinic',
      odsCode: 'Y12345',
      version: 2,
    };
    expect(meshSubject('1.x', parts)).toBe(
      'Consultation report for Lukasz Zólc, NHS Number 9990000018, seen at Gdansk Clinic, ODS Code Y12345, Version 2',
    );
    expect(meshSubject('2.x', parts)).toBe(
      'Consultation report for Lukasz Zólc, NHS Number: 9990000018, seen at Gdansk Clinic, ODS code: Y12345, version 2',
    );
  });

  it('keeps the subject within the 500 characters MESH takes when transliteration lengthens names at their limits', () => {
    const parts = {
      patientName: `${'Œ'.repeat(100)} ${'ﬃ'.repeat(100)}`,
      nhsNumber: '9990000018',
      practiceName: 'Œ'.repeat(200),
      odsCode: 'Y12345',
      version: 12,
    };
    for (const profile of ['1.x', '2.x'] as const) {
      const subject = meshSubject(profile, parts);
      expect(subject.length).toBeLessThanOrEqual(500);
      expect(MESH_HEADER_SAFE.test(subject)).toBe(true);
      const m =
        /^Consultation report for (OEOE.*), NHS Number:? 9990000018, seen at (OEOE.*), ODS [Cc]ode:? Y12345, [Vv]ersion 12$/.exec(
          subject,
        );
      // Both names cut to one length (the title, shorter, kept whole); the subject uses all it may.
      expect(Math.abs((m?.[1] ?? '').length - (m?.[2] ?? '').length)).toBeLessThanOrEqual(1);
      expect(subject.length).toBeGreaterThanOrEqual(499);
    }
    // Without the practice (confidential): still within the limit, the patient name shortened instead.
    const { practiceName: _p, odsCode: _o, ...confidential } = parts;
    expect(meshSubject('2.x', { ...confidential, patientName: 'Œ'.repeat(300) }).length).toBeLessThanOrEqual(500);
  });

  it('a subject from any names at the schema limits is header-safe and at most 500 characters (property)', () => {
    const name = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max });
    fc.assert(
      fc.property(
        name(100),
        name(100),
        name(200),
        fc.constantFrom('1.x' as const, '2.x' as const),
        (given, family, practice, profile) => {
          const subject = meshSubject(profile, {
            patientName: `${given} ${family}`,
            nhsNumber: '9990000018',
            practiceName: practice,
            odsCode: 'Y12345',
            version: 1,
          });
          expect(MESH_HEADER_SAFE.test(subject)).toBe(true);
          expect(subject.length).toBeLessThanOrEqual(500);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('writes the surname of the GPPROVIDER address in header form, and matches a given address in either form', () => {
    const p = { nhsNumber: '9990000018', birthDate: '1957-01-09', familyName: 'Żółć' };
    expect(gpProviderAddress(p, 'DDMMYYYY')).toBe('GPPROVIDER_9990000018_09011957_Zólc');
    expect(routingAddressMismatches('GPPROVIDER_9990000018_09011957_ZÓLC', p, 'DDMMYYYY')).toEqual([]);
    expect(routingAddressMismatches('GPPROVIDER_9990000018_09011957_Zolc', p, 'DDMMYYYY')).toHaveLength(1);
  });

  it('refuses a surname the routing address cannot carry: no Latin form, only symbols, a "_" after folding, too long', () => {
    const paths = (s: string) => surnameRoutingIssues(s).map((i) => `${i.path} ${i.requirementId}`);
    expect(surnameRoutingIssues('Żółć')).toEqual([]);
    expect(paths('Иванов')).toEqual(['patient.familyName GPCM-SD-063']);
    expect(paths('🙂')).toEqual(['patient.familyName GPCM-SD-063']);
    expect(surnameRoutingIssues('Smith\uff3fJones')[0]?.message).toContain('"_"');
    expect(surnameRoutingIssues('S'.repeat(69))).toEqual([]);
    expect(surnameRoutingIssues('S'.repeat(70))[0]?.message).toContain('Mex-To');
    expect(surnameRoutingIssues('Œ'.repeat(35))[0]?.message).toContain('Mex-To'); // 70 once written as OE
  });
});

describe('a built message: headers in header form, the document with the true name', () => {
  it('sends "Łukasz Żółć" in header form and keeps the name as submitted in the FHIR Patient', async () => {
    const built = buildSendDocumentMessage(input());
    expect(built.mesh.subject).toBe(
      'Consultation report for Lukasz Zólc, NHS Number: 9990000018, seen at Synthetic Urgent Care Centre, ODS code: Y12345, version 1',
    );
    expect(built.mesh.to).toBe('GPPROVIDER_9990000018_09011957_Zólc');
    const name = child(patientOf(built.xml), 'name') as FNode;
    expect(val(name, 'family')).toBe('Żółć');
    expect(val(name, 'given')).toBe('Łukasz');
    expect(built.xml).toContain('Łukasz Żółć'); // the Composition summary carries the true name too
    expect(await meshClientRefusal(built.mesh)).toBeUndefined();
  });

  it('drops an emoji from the subject and the routing address, but not from the document', async () => {
    const patient = { ...PATIENTS.ada, givenName: 'Ada 🙂', familyName: 'Testpatient 🙂' };
    const built = buildSendDocumentMessage(input({ submission: submission({ patient }) }));
    expect(built.mesh.subject).toContain('for Ada Testpatient, NHS Number');
    expect(built.mesh.to).toBe('GPPROVIDER_9990000018_09011957_Testpatient');
    const name = child(patientOf(built.xml), 'name') as FNode;
    expect(val(name, 'given')).toBe('Ada 🙂');
    expect(val(name, 'family')).toBe('Testpatient 🙂');
    expect(await meshClientRefusal(built.mesh)).toBeUndefined();
  });

  it('refuses an RTL override in a submitted name before building (contracts/submission.ts)', () => {
    const patient = { ...PATIENTS.ada, familyName: 'Test\u202epatient' };
    expect(() => buildSendDocumentMessage(input({ submission: submission({ patient }) }))).toThrow(
      expect.objectContaining({
        type: 'ITK3_BUILD_REJECTED',
        issues: [expect.objectContaining({ path: 'patient.familyName' })],
      }),
    );
  });

  it('drops an RTL override from the headers of a supplied document, which keeps it (wrapDocumentBundle)', async () => {
    const built = buildSendDocumentMessage(input({ submission: submission(), format: 'json' }));
    const document = (JSON.parse(built.xml) as { entry: { resource: JsonObject }[] }).entry[2]?.resource as JsonObject;
    const entries = document.entry as { resource: JsonObject }[];
    const patient = entries.find((e) => e.resource.resourceType === 'Patient')?.resource as JsonObject;
    patient.name = [{ use: 'official', family: 'Test\u202epatient', given: ['Łukasz'] }];
    const wrapped = wrapDocumentBundle(wrapInput(document));
    expect(wrapped.mesh.subject).toContain('for Lukasz Testpatient, NHS Number');
    expect(wrapped.mesh.to).toBe('GPPROVIDER_9990000018_09011957_Testpatient');
    const name = child(patientOf(wrapped.xml), 'name') as FNode;
    expect(val(name, 'family')).toBe('Test\u202epatient');
    expect(await meshClientRefusal(wrapped.mesh)).toBeUndefined();
  });

  it('the unconverted names are what the MESH client refuses (so the conversion is what makes them sendable)', async () => {
    const refusal = await meshClientRefusal({
      to: 'X26ABC2',
      workflowId: 'GPCONNECT_SEND_DOCUMENT',
      subject: 'Consultation report for Łukasz Żółć',
    });
    expect((refusal as { type?: string }).type).toBe('MESH_SEND_REJECTED');
  });
});
