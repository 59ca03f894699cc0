import { buildSendDocumentMessage, isAckWorkflowId, MESH_WORKFLOWS, type BuildMessageInput } from '../../../itk3';
import { parseFhirXml, child, childrenNamed, val, resourceOf, extensionByUrl, type FNode } from '../../../itk3/fhir-xml';
import { counterIds, IDS, INVALID_NHS_NUMBER, NOW, PATIENTS, submission } from '../../fixtures/itk3/submissions';

function input(over: Partial<BuildMessageInput> = {}): BuildMessageInput {
  return {
    submission: submission(),
    profile: '2.x',
    ids: IDS,
    newId: counterIds(),
    now: NOW,
    routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY' },
    ...over,
  };
}

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

function rejection(fn: () => unknown): { type: string; issues: { requirementId?: string; path?: string; message: string }[]; message: string } {
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
    expect(handling(buildSendDocumentMessage(input({ profile: '1.x' })).xml).LocalExtension).toBe('SendDocument-ConsultationReport');
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
    const { mesh } = buildSendDocumentMessage(input({ profile: '1.x', routing: { mode: 'gpprovider', dobFormat: 'YYYYMMDD' } }));
    expect(mesh.workflowId).toBe('GPFED_CONSULT_REPORT');
    expect(mesh.to).toBe('GPPROVIDER_9990000018_19570109_Testpatient');
    expect(mesh.subject).toBe(
      'Consultation report for Ada Testpatient, NHS Number 9990000018, seen at Synthetic Urgent Care Centre, ODS Code Y12345, Version 1',
    );
  });

  it('addresses a named mailbox in mailbox mode', () => {
    expect(buildSendDocumentMessage(input({ routing: { mode: 'mailbox', mailboxId: 'X26OT001' } })).mesh.to).toBe('X26OT001');
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
    const built = buildSendDocumentMessage(input({ submission: submission({ patient: { ...PATIENTS.ada, givenName: 'Zoë' } }) }));
    expect(built.sizeBytes).toBe(Buffer.byteLength(built.xml, 'utf8'));
  });

  it('refuses an NHS number failing modulus 11 (GPCM-SD-035)', () => {
    const err = rejection(() =>
      buildSendDocumentMessage(input({ submission: submission({ patient: { ...PATIENTS.ada, nhsNumber: INVALID_NHS_NUMBER } }) })),
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
      buildSendDocumentMessage(input({ routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY', to: 'GPPROVIDER_9990000018_10011957_Testpatient' } })),
    );
    expect(err.issues).toEqual([expect.objectContaining({ path: 'Patient.birthDate', requirementId: 'GPCM-SD-038' })]);
    expect(err.message + JSON.stringify(err.issues)).not.toContain('9990000018');
  });

  it('builds a replacement: relatesTo replaces the previous document, meta.versionId = version (GPCM-SD-131, GPCM-SD-132, GPCM-SD-098)', () => {
    const previous = '0f0e0d0c-0b0a-4999-8888-777766665555';
    const built = buildSendDocumentMessage(input({ submission: submission({ version: 2, replaces: { documentId: previous, version: 1 } }) }));
    const doc = entries(parseFhirXml(built.xml))[2];
    const composition = entries(doc as FNode)[0];
    expect(val(composition, 'relatesTo', 'code')).toBe('replaces');
    expect(val(composition, 'relatesTo', 'targetIdentifier', 'value')).toBe(previous);
    expect(val(composition, 'meta', 'versionId')).toBe('2');
    expect(built.mesh.subject).toMatch(/version 2$/);
  });
});
