import type { SpecProfile } from '../contracts/delivery';

/**
 * Fixed URLs, code systems and MESH metadata of ITK3 and GP Connect Send Document. Kept in one place so a spec change is one edit.
 */
export const FHIR_NS = 'http://hl7.org/fhir';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';

export const PROFILE = {
  messageBundle: 'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Message-Bundle-1',
  messageHeader: 'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-MessageHeader-2',
  headerOrganization: 'https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-ITK-Header-Organization-1',
  headerPractitioner: 'https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-ITK-Header-Practitioner-1',
  documentBundle: 'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Document-Bundle-1',
  composition: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Composition-1',
  patient: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Patient-1',
  practitioner: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Practitioner-1',
  organization: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Organization-1',
  binary: 'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Attachment-Binary-1',
  operationOutcome: 'https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Response-OperationOutcome-1',
} as const;

export const EXT = {
  messageHandling: 'https://fhir.nhs.uk/STU3/StructureDefinition/Extension-ITK-MessageHandling-2',
  nhsNumberVerificationStatus:
    'https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-NHSNumberVerificationStatus-1',
  careSettingType: 'https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-CareSettingType-1',
} as const;

export const SYSTEM = {
  rfc4122: 'https://tools.ietf.org/html/rfc4122',
  messageEvent: 'https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2',
  recipientType: 'https://fhir.nhs.uk/STU3/CodeSystem/ITK-RecipientType-1',
  responseCodes: 'https://fhir.nhs.uk/STU3/CodeSystem/ITK-ResponseCodes-1',
  odsOrganisation: 'https://fhir.nhs.uk/Id/ods-organization-code',
  sdsUserId: 'https://fhir.nhs.uk/Id/sds-user-id',
  nhsNumber: 'https://fhir.nhs.uk/Id/nhs-number',
  nhsNumberVerificationStatus: 'https://fhir.hl7.org.uk/STU3/CodeSystem/CareConnect-NHSNumberVerificationStatus-1',
  snomed: 'http://snomed.info/sct',
} as const;

/** The six handling keys of Extension-ITK-MessageHandling-2, all 1..1 since ITK3 2.5.0. */
export const HANDLING_KEYS = [
  'BusAckRequested',
  'InfAckRequested',
  'RecipientType',
  'MessageDefinition',
  'SenderReference',
  'LocalExtension',
] as const;

export const MESSAGE_DEFINITION = {
  sendDocument: 'https://fhir.nhs.uk/STU3/MessageDefinition/ITK-GPConnectSendDocument-MessageDefinition-1',
  response: 'https://fhir.nhs.uk/STU3/MessageDefinition/ITK-Response-MessageDefinition-1',
  /** The `-Instance-1` URL every official ITK3 response example uses instead of the resource URL: tolerated on input. */
  responseLegacyInstance: 'https://fhir.nhs.uk/STU3/MessageDefinition/ITK-Response-MessageDefinition-Instance-1',
} as const;

export const EVENT = {
  sendDocument: { code: 'ITK007C', display: 'ITK GP Connect Send Document' },
  response: { code: 'ITK008M', display: 'ITK Response' },
} as const;

export const RECIPIENT_TYPE = {
  FA: 'For Action',
  FI: 'For Information',
} as const;
export type RecipientTypeCode = keyof typeof RECIPIENT_TYPE;

/** SNOMED document type "Report of clinical encounter" (GPCM-SD-115; approved for 2.x by SCAL GPCM-SD-115). */
export const REPORT_OF_CLINICAL_ENCOUNTER = { code: '371531000', display: 'Report of clinical encounter' } as const;
export const CONSULTATION_REPORT_TITLE = 'Consultation report';

/** ITK3 20015 "Message too large": recommended maximum 5 MB per message (ITK3 2.9+), read conservatively as decimal bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 5_000_000;

/** Maximum length of SenderReference (Extension-ITK-MessageHandling-2, valueString maxLength 255). */
export const SENDER_REFERENCE_MAX = 255;

/** What differs between the 1.x and 2.x generations of Send Document: MESH workflow ids, the LocalExtension value, where the version goes and whether confidential consultations may be sent. */
export interface ProfileConstants {
  document: string;
  ack: string;
  localExtension: string;
  /** 2.x carries the document version in Composition.meta.versionId (GPCM-SD-098, SD2 2.0.1). */
  compositionVersionId: boolean;
  /** SD2 2.0.2: confidential consultations are not sent; receivers reject R with 20009. */
  allowsRestrictedConfidentiality: boolean;
}

export const PROFILE_CONSTANTS: Readonly<Record<SpecProfile, ProfileConstants>> = {
  '1.x': {
    document: 'GPFED_CONSULT_REPORT',
    ack: 'GPFED_CONSULT_REPORT_ACK',
    localExtension: 'SendDocument-ConsultationReport',
    compositionVersionId: false,
    allowsRestrictedConfidentiality: true,
  },
  '2.x': {
    document: 'GPCONNECT_SEND_DOCUMENT',
    ack: 'GPCONNECT_SEND_DOCUMENT_ACK',
    localExtension: 'None',
    compositionVersionId: true,
    allowsRestrictedConfidentiality: false,
  },
};

/** MESH workflow ids per generation: `MESH_WORKFLOWS['2.x'].document` / `.ack` (GPCM-SD-057/058, SD2). */
export const MESH_WORKFLOWS: Readonly<Record<SpecProfile, { document: string; ack: string }>> = {
  '1.x': { document: PROFILE_CONSTANTS['1.x'].document, ack: PROFILE_CONSTANTS['1.x'].ack },
  '2.x': { document: PROFILE_CONSTANTS['2.x'].document, ack: PROFILE_CONSTANTS['2.x'].ack },
};

const ACK_WORKFLOW_IDS: ReadonlySet<string> = new Set(Object.values(MESH_WORKFLOWS).map((w) => w.ack));
const DOCUMENT_WORKFLOW_IDS: ReadonlySet<string> = new Set(Object.values(MESH_WORKFLOWS).map((w) => w.document));

/** True for the ITK3 Response workflow id of either generation (`GPFED_CONSULT_REPORT_ACK`, `GPCONNECT_SEND_DOCUMENT_ACK`). */
export function isAckWorkflowId(workflowId: string): boolean {
  return ACK_WORKFLOW_IDS.has(workflowId.trim().toUpperCase());
}

/** True for the outbound Send Document workflow id of either generation. */
export function isDocumentWorkflowId(workflowId: string): boolean {
  return DOCUMENT_WORKFLOW_IDS.has(workflowId.trim().toUpperCase());
}

/** Which generation a MESH workflow id (document or ack) belongs to, if any. */
export function profileOfWorkflowId(workflowId: string): SpecProfile | undefined {
  const id = workflowId.trim().toUpperCase();
  for (const profile of ['1.x', '2.x'] as const) {
    if (MESH_WORKFLOWS[profile].document === id || MESH_WORKFLOWS[profile].ack === id) return profile;
  }
  return undefined;
}
