import { buildSendDocumentMessage, isAckWorkflowId, MESH_WORKFLOWS, type BuildMessageInput } from '../../../itk3';
import { readBackIssues } from '../../../itk3/build-message';
import {
  parseFhirXml,
  child,
  childrenNamed,
  val,
  resourceOf,
  extensionByUrl,
  type FNode,
} from '../../../itk3/fhir-xml';
import { buildInput, DOCUMENT_ID, IDS, INVALID_NHS_NUMBER, NOW, PATIENTS, submission } from '../../fixtures/itk3/submissions';

const input = buildInput;

function entries(bundle: FNode): FNode[] {
  return childrenNamed(bundle, 'entry').map((e) => resourceOf(e) as FNode);
}

function handling(xml: string): Record<string, string | undefined> {
  const header = entries(parseFhirXml(xml))[0];
  const ext = extensionByUrl(header, 'https://fhir.nhs.uk/STU3/StructureDefinition/Extension-ITK-MessageHandling-2');
  const get = (k: string) => extensionByUrl(ext, k);
  return {
    BusAckRequested: val(get('BusAckRequested'), 'valueBoolean'),
    InfAckRequested: val(get('InfAckRequested'), 'valueBoolean'),
    RecipientType: val(get('RecipientType'), 'valueCoding', 'code'),
    MessageDefinition: val(get('MessageDefinition'), 'valueReference', 'reference'),
    SenderReference: val(get('SenderReference'), 'valueString'),
    LocalExtension: val(get('LocalExtension'), 'valueString'),
  };
}

function rejection(fn: () => unknown): {
  type: string;
  issues: { requirementId?: string; path?: string; message: string }[];
  message: string;
} {
  try {
    fn();
  } catch (e) {
    return e as never;
  }
  throw new Error('expected a rejection');
}

describe('buildSendDocumentMessage', () => {
  it('builds a 2.x message bundle with MessageHeader first, header Organization and document Bundle (3 entries)', () => {
    const built = buildSendDocumentMessage(input());
    const root = parseFhirXml(built.xml);
    expect(root.name).toBe('Bundle');
    expect(val(root, 'type')).toBe('message');
    expect(val(root, 'identifier', 'value')).toBe(IDS.bundleIdentifier);
    const [header, org, doc, ...rest] = entries(root);
    expect(rest).toHaveLength(0);
    expect(header?.name).toBe('MessageHeader');
    expect(val(header, 'id')).toBe(IDS.messageHeaderId);
    expect(org?.name).toBe('Organization');
    expect(doc?.name).toBe('Bundle');
    expect(val(doc, 'type')).toBe('document');
    expect(val(header, 'focus', 'reference')).toBe(`urn:uuid:${val(doc, 'id')}`);
    expect(val(header, 'sender', 'reference')).toBe(`urn:uuid:${val(org, 'id')}`);
  });

  it('sets all six handling keys for 2.x (GPCM-SD-039..044): LocalExtension None', () => {
    expect(handling(buildSendDocumentMessage(input()).xml)).toEqual({
      BusAckRequested: 'true',
      InfAckRequested: 'true',
      RecipientType: 'FA',
      MessageDefinition: 'https://fhir.nhs.uk/STU3/MessageDefinition/ITK-GPConnectSendDocument-MessageDefinition-1',
      SenderReference: 'enc-2024-000123',
      LocalExtension: 'None',
    });
  });

  it('uses LocalExtension SendDocument-ConsultationReport for 1.x (GPCM-SD-044)', () => {
    expect(handling(buildSendDocumentMessage(input({ profile: '1.x' })).xml).LocalExtension).toBe(
      'SendDocument-ConsultationReport',
    );
  });

  it('emits event ITK007C, source = sender mailbox, timestamp = now, no destination or receiver (GPCM-SD-045..049)', () => {
    const header = entries(parseFhirXml(buildSendDocumentMessage(input()).xml))[0];
    expect(val(header, 'event', 'code')).toBe('ITK007C');
    expect(val(header, 'event', 'system')).toBe('https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2');
    expect(val(header, 'source', 'endpoint')).toBe('Y12345OT001');
    expect(val(header, 'timestamp')).toBe(NOW);
    expect(child(header, 'destination')).toBeUndefined();
    expect(child(header, 'receiver')).toBeUndefined();
  });

  it('gives 2.x MESH metadata: GPCONNECT_SEND_DOCUMENT, GPPROVIDER routing, subject with version, local id = ODS', () => {
    const { mesh } = buildSendDocumentMessage(input());
    expect(mesh.workflowId).toBe('GPCONNECT_SEND_DOCUMENT');
    expect(mesh.to).toBe('GPPROVIDER_9990000018_09011957_Testpatient');
    expect(mesh.localId).toBe('Y12345');
    expect(mesh.subject).toBe(
      'Consultation report for Ada Testpatient, NHS Number: 9990000018, seen at Synthetic Urgent Care Centre, ODS code: Y12345, version 1',
    );
  });

  it('gives 1.x MESH metadata: GPFED_CONSULT_REPORT and the 1.3.1 subject format (GPCM-SD-057, GPCM-SD-064)', () => {
    const { mesh } = buildSendDocumentMessage(
      input({ profile: '1.x', routing: { mode: 'gpprovider', dobFormat: 'YYYYMMDD' } }),
    );
    expect(mesh.workflowId).toBe('GPFED_CONSULT_REPORT');
    expect(mesh.to).toBe('GPPROVIDER_9990000018_19570109_Testpatient');
    expect(mesh.subject).toBe(
      'Consultation report for Ada Testpatient, NHS Number 9990000018, seen at Synthetic Urgent Care Centre, ODS Code Y12345, Version 1',
    );
  });

  it('addresses a named mailbox in mailbox mode', () => {
    expect(buildSendDocumentMessage(input({ routing: { mode: 'mailbox', mailboxId: 'X26OT001' } })).mesh.to).toBe(
      'X26OT001',
    );
  });

  it('recognises both generations of ACK workflow id', () => {
    expect(isAckWorkflowId('GPFED_CONSULT_REPORT_ACK')).toBe(true);
    expect(isAckWorkflowId('GPCONNECT_SEND_DOCUMENT_ACK')).toBe(true);
    expect(isAckWorkflowId(MESH_WORKFLOWS['2.x'].document)).toBe(false);
    expect(isAckWorkflowId('SOMETHING_ELSE_ACK')).toBe(false);
  });

  it('is deterministic: same input, same bytes', () => {
    expect(buildSendDocumentMessage(input()).xml).toBe(buildSendDocumentMessage(input()).xml);
  });

  it('reports the UTF-8 byte size', () => {
    const built = buildSendDocumentMessage(
      input({ submission: submission({ patient: { ...PATIENTS.ada, givenName: 'Zoë' } }) }),
    );
    expect(built.sizeBytes).toBe(Buffer.byteLength(built.xml, 'utf8'));
  });

  it('refuses an NHS number failing modulus 11 (GPCM-SD-035)', () => {
    const err = rejection(() =>
      buildSendDocumentMessage(
        input({ submission: submission({ patient: { ...PATIENTS.ada, nhsNumber: INVALID_NHS_NUMBER } }) }),
      ),
    );
    expect(err.type).toBe('ITK3_BUILD_REJECTED');
    expect(err.issues).toEqual([expect.objectContaining({ path: 'patient.nhsNumber', requirementId: 'GPCM-SD-035' })]);
    expect(JSON.stringify(err.issues)).not.toContain(INVALID_NHS_NUMBER);
    expect(err.message).not.toContain(INVALID_NHS_NUMBER);
  });

  it('refuses confidentiality R for 2.x (SD2 2.0.2) but builds it for 1.x without practice details', () => {
    const err = rejection(() => buildSendDocumentMessage(input({ submission: submission({ confidentiality: 'R' }) })));
    expect(err.issues.map((i) => i.requirementId)).toContain('SD2-2.0.2-CONFIDENTIALITY');
    const built = buildSendDocumentMessage(input({ profile: '1.x', submission: submission({ confidentiality: 'R' }) }));
    expect(built.mesh.subject).not.toContain('seen at');
  });

  it('refuses a submission without the PDF report (GPCM-SD-124)', () => {
    const { report: _omit, ...noReport } = submission();
    const err = rejection(() => buildSendDocumentMessage(input({ submission: noReport as never })));
    expect(err.issues).toEqual([expect.objectContaining({ path: 'report', requirementId: 'GPCM-SD-124' })]);
  });

  it('refuses a message over the size limit (ITK3 20015)', () => {
    const err = rejection(() => buildSendDocumentMessage(input({ maxMessageBytes: 1000 })));
    expect(err.type).toBe('ITK3_BUILD_REJECTED');
    expect(err.issues[0]?.requirementId).toBe('ITK3-20015');
  });

  it('refuses demographics that do not match a supplied routing address (GPCM-SD-038)', () => {
    const err = rejection(() =>
      buildSendDocumentMessage(
        input({
          routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY', to: 'GPPROVIDER_9990000018_10011957_Testpatient' },
        }),
      ),
    );
    expect(err.issues).toEqual([expect.objectContaining({ path: 'Patient.birthDate', requirementId: 'GPCM-SD-038' })]);
    expect(err.message + JSON.stringify(err.issues)).not.toContain('9990000018');
  });

  it('builds a replacement: relatesTo replaces the previous document, meta.versionId = version (GPCM-SD-131, GPCM-SD-132, GPCM-SD-098)', () => {
    // Composition.identifier is version-independent: a replacement keeps the document id it replaces.
    const previous = DOCUMENT_ID;
    const built = buildSendDocumentMessage(
      input({ submission: submission({ version: 2, replaces: { documentId: previous, version: 1 } }) }),
    );
    const doc = entries(parseFhirXml(built.xml))[2];
    const composition = entries(doc as FNode)[0];
    expect(val(composition, 'relatesTo', 'code')).toBe('replaces');
    expect(val(composition, 'relatesTo', 'targetIdentifier', 'value')).toBe(previous);
    expect(val(composition, 'meta', 'versionId')).toBe('2');
    expect(built.mesh.subject).toMatch(/version 2$/);
  });

  it('reads its own output back with the inbound parser: what would not parse or conform is refused', () => {
    const xml = buildSendDocumentMessage(input()).xml;
    expect(readBackIssues(xml, '2.x')).toEqual([]);
    // What a writer bug or an unchecked character would produce: each is an issue on `message`.
    expect(readBackIssues(xml.replace('<status value="final"/>', '<status value="fin\uffffal"/>'), '2.x')).toEqual([
      expect.objectContaining({ path: 'message', message: expect.stringMatching(/does not parse back: not well-formed XML/) }),
    ]);
    expect(readBackIssues(xml.replace(/<\/Bundle>$/, ''), '2.x')[0]?.path).toBe('message');
    expect(readBackIssues(xml.replace('<status value="final"/>', '<status value="draft"/>'), '2.x')).toContainEqual(
      expect.objectContaining({ path: 'message.Composition.status', requirementId: 'GPCM-SD-114' }),
    );
  });

  it('refuses a 2.x submission without a care setting (SD2 2.0.0), and builds 1.x without one', () => {
    const err = rejection(() => buildSendDocumentMessage(input({ submission: submission({ careSetting: undefined }) })));
    expect(err.issues).toContainEqual(expect.objectContaining({ path: 'careSetting', requirementId: 'SD2-2.0.0-CARE-SETTING' }));
    const built = buildSendDocumentMessage(input({ submission: submission({ careSetting: undefined }), profile: '1.x' }));
    expect(built.warnings).toEqual([]);
    const composition = entries(entries(parseFhirXml(buildSendDocumentMessage(input()).xml))[2] as FNode)[0];
    const ext = extensionByUrl(composition, 'https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-CareSettingType-1');
    expect(val(ext, 'valueCodeableConcept', 'coding', 'code')).toBe('789718008');
  });

  it('refuses a replacement that names another document id than its own (GPCM-SD-132)', () => {
    const err = rejection(() =>
      buildSendDocumentMessage(input({ submission: submission({ version: 2, replaces: { documentId: '0f0e0d0c-0b0a-4999-8888-777766665555', version: 1 } }) })),
    );
    expect(err.issues).toContainEqual(expect.objectContaining({ path: 'replaces.documentId', requirementId: 'GPCM-SD-132' }));
  });

  function documentEntries(over: Partial<BuildMessageInput> = {}): FNode[] {
    return entries(entries(parseFhirXml(buildSendDocumentMessage(input(over)).xml))[2] as FNode);
  }

  it('puts meta.profile on every resource (GPCM-SD-108) with the ITK and CareConnect profiles (GPCM-SD-104..107, GPCM-SD-110)', () => {
    const root = parseFhirXml(buildSendDocumentMessage(input()).xml);
    const profile = (r: FNode | undefined) => val(r, 'meta', 'profile');
    const [header, org, doc] = entries(root);
    expect([profile(root), profile(header), profile(org), profile(doc)]).toEqual([
      'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Message-Bundle-1',
      'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-MessageHeader-2',
      'https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-ITK-Header-Organization-1',
      'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Document-Bundle-1',
    ]);
    expect(Object.fromEntries(entries(doc as FNode).map((r) => [r.name, profile(r)]))).toEqual({
      Composition: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Composition-1',
      Patient: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Patient-1',
      Organization: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Organization-1',
      Practitioner: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Practitioner-1',
      Binary: 'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Attachment-Binary-1',
    });
  });

  it('builds the Composition: final, SNOMED 371531000, date = now, N, title, text, subject, author, custodian (GPCM-SD-113..122)', () => {
    const [composition, patient, organization, practitioner] = documentEntries({ profile: '1.x' });
    expect(composition?.name).toBe('Composition');
    expect(val(composition, 'status')).toBe('final');
    expect(val(composition, 'type', 'coding', 'system')).toBe('http://snomed.info/sct');
    expect(val(composition, 'type', 'coding', 'code')).toBe('371531000');
    expect(val(composition, 'date')).toBe(NOW);
    expect(val(composition, 'confidentiality')).toBe('N');
    expect(val(composition, 'title')).toBe('Consultation report');
    expect(child(child(composition, 'text'), 'div')?.xhtml).toContain(
      'Consultation report for Ada Testpatient, NHS Number 9990000018, seen at Synthetic Urgent Care Centre, ODS Code Y12345, Version 1',
    );
    expect(val(composition, 'subject', 'reference')).toBe(`urn:uuid:${val(patient, 'id')}`);
    expect(val(composition, 'custodian', 'reference')).toBe(`urn:uuid:${val(organization, 'id')}`);
    expect(val(composition, 'author', 'reference')).toBe(`urn:uuid:${val(practitioner, 'id')}`);
    expect(val(composition, 'identifier', 'value')).toBe(submission().documentId);
  });

  it('describes the sender organisation, practitioner and patient (GPCM-SD-028..037)', () => {
    const [, patient, organization, practitioner] = documentEntries();
    expect(val(organization, 'identifier', 'system')).toBe('https://fhir.nhs.uk/Id/ods-organization-code');
    expect(val(organization, 'identifier', 'value')).toBe('Y12345');
    expect(val(organization, 'name')).toBe('Synthetic Urgent Care Centre');
    expect(val(organization, 'telecom', 'value')).toBe('0300 000 0000');
    expect(val(practitioner, 'identifier', 'system')).toBe('https://fhir.nhs.uk/Id/sds-user-id');
    expect(val(practitioner, 'name', 'use')).toBe('official');
    expect(val(practitioner, 'telecom', 'value')).toBe('0300 000 0001');
    expect(val(patient, 'identifier', 'system')).toBe('https://fhir.nhs.uk/Id/nhs-number');
    expect(val(patient, 'identifier', 'value')).toBe('9990000018');
    expect(val(patient, 'name', 'use')).toBe('official');
    expect(val(patient, 'name', 'family')).toBe('Testpatient');
    expect(val(patient, 'birthDate')).toBe('1957-01-09');
  });

  it('puts each binary in its own section with the PDF report first (GPCM-SD-109..112, GPCM-SD-124)', () => {
    const extra = [
      { contentType: 'image/png' as const, title: 'Photo', dataBase64: 'iVBORw0KGgo=' },
      { contentType: 'text/plain' as const, dataBase64: 'aGVsbG8=' },
    ];
    const resources = documentEntries({ submission: submission({ attachments: extra }) });
    const composition = resources[0];
    const binaries = resources.filter((r) => r.name === 'Binary');
    const sections = childrenNamed(composition, 'section').filter((s) => child(s, 'entry'));
    expect(sections).toHaveLength(3);
    expect(sections.map((s) => val(s, 'entry', 'reference'))).toEqual(binaries.map((b) => `urn:uuid:${val(b, 'id')}`));
    expect(binaries.map((b) => val(b, 'contentType'))).toEqual(['application/pdf', 'image/png', 'text/plain']);
    expect(binaries.map((b) => val(b, 'content'))).toEqual([
      submission().report.dataBase64,
      'iVBORw0KGgo=',
      'aGVsbG8=',
    ]);
  });

  it('sends an information copy with RecipientType FI on request (GPCM-SD-039)', () => {
    expect(handling(buildSendDocumentMessage(input({ recipientType: 'FI' })).xml).RecipientType).toBe('FI');
  });

  it('writes FHIR JSON on request', () => {
    const built = buildSendDocumentMessage(input({ format: 'json' }));
    const json = JSON.parse(built.xml) as {
      resourceType: string;
      type: string;
      entry: { resource: { resourceType: string } }[];
    };
    expect(json.resourceType).toBe('Bundle');
    expect(json.entry.map((e) => e.resource.resourceType)).toEqual(['MessageHeader', 'Organization', 'Bundle']);
    expect(built.mesh).toMatchObject({
      contentType: 'application/fhir+json',
      fileName: `${IDS.bundleIdentifier}.json`,
    });
  });

  it.each([
    [
      'a 1.x sender without telephone',
      { profile: '1.x' as const, submission: submission({ sender: { ...submission().sender, telephone: undefined } }) },
      'GPCM-SD-031',
    ],
    [
      'a 1.x submission without author',
      { profile: '1.x' as const, submission: submission({ author: undefined }) },
      'GPCM-SD-121',
    ],
    [
      'a patient registered at the sender',
      { submission: submission({ recipient: { odsCode: 'Y12345' } }) },
      'GPCM-SD-083',
    ],
    ['version 2 that replaces nothing', { submission: submission({ version: 2 }) }, 'GPCM-SD-123'],
    [
      'a replacement that skips a version',
      {
        submission: submission({
          version: 3,
          replaces: { documentId: '0f0e0d0c-0b0a-4999-8888-777766665555', version: 1 },
        }),
      },
      'GPCM-SD-098',
    ],
    [
      'a surname containing the routing delimiter',
      { submission: submission({ patient: { ...PATIENTS.ada, familyName: 'Test_patient' } }) },
      'GPCM-SD-063',
    ],
    [
      'a birth date that does not exist',
      { submission: submission({ patient: { ...PATIENTS.ada, birthDate: '1957-02-30' } }) },
      'GPCM-SD-037',
    ],
    [
      'a blank SenderReference',
      { submission: submission({ encounter: { ...submission().encounter, id: '   ' } }) },
      'GPCM-SD-042',
    ],
  ])('refuses %s', (_name, over, requirementId) => {
    const err = rejection(() => buildSendDocumentMessage(input(over as Partial<BuildMessageInput>)));
    expect(err.type).toBe('ITK3_BUILD_REJECTED');
    expect(err.issues.map((i) => i.requirementId)).toContain(requirementId);
  });

  it('refuses ids that are not UUIDs and a newId() that repeats', () => {
    expect(
      rejection(() => buildSendDocumentMessage(input({ ids: { ...IDS, messageHeaderId: 'x' } }))).issues[0]?.path,
    ).toBe('ids.messageHeaderId');
    expect(
      rejection(() => buildSendDocumentMessage(input({ newId: () => '00000000-0000-4000-8000-000000000001' })))
        .issues[0]?.path,
    ).toBe('newId');
  });
});
