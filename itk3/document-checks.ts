import type { SpecProfile } from '../contracts/delivery';
import type { Issue } from '../contracts/errors';
import { isValidNhsNumber } from '../contracts/submission';
import {
  CONSULTATION_REPORT_TITLE,
  EVENT,
  EXT,
  HANDLING_KEYS,
  MESSAGE_DEFINITION,
  PROFILE,
  PROFILE_CONSTANTS,
  REPORT_OF_CLINICAL_ENCOUNTER,
  SENDER_REFERENCE_MAX,
  SYSTEM,
} from './constants';
import { EXTRA_REQUIREMENT } from './errors';
import { child, childrenNamed, extensionByUrl, resourceOf, val, type FNode } from './fhir-xml';
import { isRealDate } from './mesh-metadata';

/**
 * Conformance checks of a Send Document payload and envelope against the sender-side requirements
 * (1.3.x ids from the Send Document requirements catalogue; 2.x rules from Send Document 2.x).
 * Findings name fields, never values, so they are safe to log. `error` = a receiver must reject it;
 * `warning` = a deviation receivers are known to tolerate (e.g. in the official examples).
 */
export interface Finding extends Issue {
  severity: 'error' | 'warning';
}

/** MIME types the SD2 guide lists for attachments (its attachment-types page); others are answered 20004/20005. */
export const APPROVED_CONTENT_TYPES: readonly string[] = [
  'application/pdf',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/mswrtford',
  'text/html',
  'text/plain',
  'text/xml',
  'image/jpg',
  'image/jpeg',
  'image/png',
  'image/tiff',
];

/** SCAL GPCM-SD-115: document types currently approved for 2.x. */
export const APPROVED_2X_DOCUMENT_TYPES: readonly string[] = [REPORT_OF_CLINICAL_ENCOUNTER.code, '149701000000109'];

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface EntryRef {
  fullUrl?: string;
  resource: FNode;
}

export function bundleEntries(bundle: FNode): EntryRef[] {
  const out: EntryRef[] = [];
  for (const e of childrenNamed(bundle, 'entry')) {
    const resource = resourceOf(e);
    const fullUrl = val(e, 'fullUrl');
    if (resource) out.push(fullUrl !== undefined ? { fullUrl, resource } : { resource });
  }
  return out;
}

/** Resolve a reference inside a bundle: by fullUrl, or by `Type/id`. */
export function resolve(entries: EntryRef[], reference: string | undefined): FNode | undefined {
  if (!reference) return undefined;
  const byUrl = entries.find((e) => e.fullUrl === reference);
  if (byUrl) return byUrl.resource;
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  if (m) return entries.find((e) => e.resource.name === m[1] && val(e.resource, 'id') === m[2])?.resource;
  return undefined;
}

export function profilesOf(resource: FNode | undefined): string[] {
  return childrenNamed(child(resource, 'meta'), 'profile').map((p) => p.attrs.value ?? '');
}

export function identifierValue(resource: FNode | undefined, system: string): string | undefined {
  return val(
    childrenNamed(resource, 'identifier').find((i) => val(i, 'system') === system),
    'value',
  );
}

export function officialName(resource: FNode | undefined): FNode | undefined {
  const names = childrenNamed(resource, 'name');
  return names.find((n) => val(n, 'use') === 'official') ?? undefined;
}

export interface PatientDemographics {
  nhsNumber?: string;
  familyName?: string;
  givenName?: string;
  birthDate?: string;
}

export function patientDemographics(patient: FNode | undefined): PatientDemographics {
  const name = officialName(patient) ?? childrenNamed(patient, 'name')[0];
  const given = childrenNamed(name, 'given')
    .map((g) => g.attrs.value ?? '')
    .filter(Boolean)
    .join(' ');
  const out: PatientDemographics = {};
  const nhs = identifierValue(patient, SYSTEM.nhsNumber);
  if (nhs !== undefined) out.nhsNumber = nhs;
  const family = val(name, 'family');
  if (family !== undefined) out.familyName = family;
  if (given) out.givenName = given;
  const birthDate = val(patient, 'birthDate');
  if (birthDate !== undefined) out.birthDate = birthDate;
  return out;
}

export interface DocumentSummary {
  documentBundleIdentifier?: string;
  compositionIdentifier?: string;
  compositionId?: string;
  title?: string;
  version?: number;
  confidentiality?: string;
  status?: string;
  typeCode?: string;
  replaces?: string;
  patient: PatientDemographics;
  custodianOds?: string;
  custodianName?: string;
  attachments: { contentType?: string; base64Length: number }[];
}

/** Read and check an ITK-Document-Bundle-1 (GPCM-SD-028..038, GPCM-SD-098, GPCM-SD-103..124, GPCM-SD-131/132). */
export function checkDocumentBundle(
  doc: FNode,
  profile: SpecProfile,
): { findings: Finding[]; summary: DocumentSummary } {
  const f: Finding[] = [];
  const err = (path: string, message: string, requirementId?: string) =>
    f.push({ severity: 'error', path, message, ...(requirementId ? { requirementId } : {}) });
  const warn = (path: string, message: string, requirementId?: string) =>
    f.push({ severity: 'warning', path, message, ...(requirementId ? { requirementId } : {}) });
  const summary: DocumentSummary = { patient: {}, attachments: [] };

  if (doc.name !== 'Bundle') {
    err('Bundle', 'the document is not a Bundle', 'GPCM-SD-103');
    return { findings: f, summary };
  }
  if (val(doc, 'type') !== 'document') err('Bundle.type', 'the document Bundle type is not document', 'GPCM-SD-103');
  if (!profilesOf(doc).includes(PROFILE.documentBundle))
    err('Bundle.meta.profile', 'document Bundle does not claim ITK-Document-Bundle-1', 'GPCM-SD-108');
  const docIdentifier = val(doc, 'identifier', 'value');
  if (!docIdentifier) err('Bundle.identifier', 'document Bundle has no identifier (SD2: mandatory and unique)');
  else summary.documentBundleIdentifier = docIdentifier;
  if (!val(doc, 'meta', 'lastUpdated'))
    warn('Bundle.meta.lastUpdated', 'document Bundle has no meta.lastUpdated (SD2 2.0.1)');

  const entries = bundleEntries(doc);
  const rawEntries = childrenNamed(doc, 'entry');
  if (rawEntries.length !== entries.length) err('Bundle.entry.resource', 'an entry has no resource');
  entries.forEach((e, i) => {
    if (!e.fullUrl) err(`Bundle.entry[${i}].fullUrl`, 'entry has no fullUrl, so it cannot be referenced');
    if (profilesOf(e.resource).length === 0)
      err(`Bundle.entry[${i}].resource.meta.profile`, `${e.resource.name} has no meta.profile`, 'GPCM-SD-108');
  });
  const fullUrls = entries.map((e) => e.fullUrl).filter((u): u is string => !!u);
  if (new Set(fullUrls).size !== fullUrls.length) err('Bundle.entry.fullUrl', 'two entries share a fullUrl');

  const composition = entries[0]?.resource;
  if (!composition || composition.name !== 'Composition') {
    err('Bundle.entry[0]', 'the first entry is not a Composition', 'GPCM-SD-113');
    if (!entries.some((e) => e.resource.name === 'Composition')) return { findings: f, summary };
  }
  const comp =
    composition?.name === 'Composition'
      ? composition
      : (entries.find((e) => e.resource.name === 'Composition')?.resource as FNode);
  if (!profilesOf(comp).includes(PROFILE.composition))
    err('Composition.meta.profile', 'Composition does not claim CareConnect-Composition-1', 'GPCM-SD-104');
  const compId = val(comp, 'id');
  if (compId) summary.compositionId = compId;
  const compIdentifier = val(comp, 'identifier', 'value');
  if (compIdentifier) summary.compositionIdentifier = compIdentifier;

  const status = val(comp, 'status');
  if (status) summary.status = status;
  const allowedStatus = profile === '2.x' ? ['final', 'amended'] : ['final'];
  if (!status || !allowedStatus.includes(status))
    err('Composition.status', `status must be ${allowedStatus.join(' or ')}`, 'GPCM-SD-114');

  const typeCoding = childrenNamed(child(comp, 'type'), 'coding').find((c) => val(c, 'system') === SYSTEM.snomed);
  const typeCode = val(typeCoding, 'code');
  if (typeCode) summary.typeCode = typeCode;
  if (!typeCode) err('Composition.type', 'Composition.type has no SNOMED CT coding', 'GPCM-SD-115');
  else if (profile === '1.x' && typeCode !== REPORT_OF_CLINICAL_ENCOUNTER.code)
    err('Composition.type', '1.x requires 371531000 Report of clinical encounter', 'GPCM-SD-115');
  else if (profile === '2.x' && !APPROVED_2X_DOCUMENT_TYPES.includes(typeCode))
    warn(
      'Composition.type',
      'document type is not in the SCAL approved list (371531000, 149701000000109)',
      'GPCM-SD-115',
    );

  if (!val(comp, 'date')) err('Composition.date', 'Composition.date is missing', 'GPCM-SD-116');

  const confidentiality = val(comp, 'confidentiality');
  if (confidentiality) summary.confidentiality = confidentiality;
  if (confidentiality !== undefined && confidentiality !== 'N' && confidentiality !== 'R')
    err('Composition.confidentiality', 'confidentiality must be N or R', 'GPCM-SD-117');
  if (profile === '1.x' && confidentiality === undefined)
    err('Composition.confidentiality', 'confidentiality must be N or R', 'GPCM-SD-117');
  if (confidentiality === 'R' && !PROFILE_CONSTANTS[profile].allowsRestrictedConfidentiality) {
    err(
      'Composition.confidentiality',
      'confidentiality R is not sent in 2.x: receivers reject it with 20009 (SD2 2.0.2)',
      EXTRA_REQUIREMENT.confidentiality2x,
    );
  }

  const title = val(comp, 'title');
  if (title) summary.title = title;
  if (!title) err('Composition.title', 'Composition.title is missing', 'GPCM-SD-118');
  else if (profile === '1.x' && title !== CONSULTATION_REPORT_TITLE)
    err('Composition.title', '1.x requires the title Consultation report', 'GPCM-SD-118');
  if (profile === '1.x' && !child(child(comp, 'text'), 'div'))
    err('Composition.text', 'Composition.text summary is missing', 'GPCM-SD-119');

  const versionId = val(comp, 'meta', 'versionId');
  if (versionId !== undefined) {
    if (!/^[1-9]\d{0,8}$/.test(versionId))
      err('Composition.meta.versionId', 'version must be a positive integer', 'GPCM-SD-098');
    else summary.version = Number(versionId);
  } else if (profile === '2.x') {
    err(
      'Composition.meta.versionId',
      '2.x carries the document version in Composition.meta.versionId (SD2 2.0.1)',
      'GPCM-SD-098',
    );
  }
  // A warning, not an error, for what others send: the spec's own generic 2.x example has no care
  // setting type, so receivers accept its absence. The builder requires it for what we send.
  if (profile === '2.x' && !extensionByUrl(comp, EXT.careSettingType))
    warn('Composition.extension(careSettingType)', 'SD2 2.0.0 requires the care setting type extension', EXTRA_REQUIREMENT.careSetting2x);

  // Patient (GPCM-SD-106/120, 035-037)
  const patient = resolve(entries, val(comp, 'subject', 'reference'));
  if (!patient || patient.name !== 'Patient')
    err('Composition.subject', 'subject does not reference a Patient in the bundle', 'GPCM-SD-120');
  else {
    if (!profilesOf(patient).includes(PROFILE.patient))
      err('Patient.meta.profile', 'Patient does not claim CareConnect-Patient-1', 'GPCM-SD-106');
    summary.patient = patientDemographics(patient);
    const nhs = summary.patient.nhsNumber;
    if (!nhs) err('Patient.identifier(nhsNumber)', 'Patient has no NHS number', 'GPCM-SD-035');
    else if (!isValidNhsNumber(nhs))
      err('Patient.identifier(nhsNumber)', 'NHS number fails the modulus 11 check', 'GPCM-SD-035');
    if (!officialName(patient) || !summary.patient.familyName)
      err('Patient.name', 'Patient has no official name with a family name', 'GPCM-SD-036');
    const bd = summary.patient.birthDate;
    if (!bd || !isRealDate(bd)) err('Patient.birthDate', 'birthDate must be a YYYY-MM-DD date', 'GPCM-SD-037');
  }

  // Author practitioner (GPCM-SD-107/121, 032-034)
  const authorRef = val(comp, 'author', 'reference');
  const author = resolve(entries, authorRef);
  if (!authorRef) {
    if (profile === '1.x') err('Composition.author', 'author is missing', 'GPCM-SD-121');
    else err('Composition.author', 'Composition.author is 1..* in FHIR STU3', EXTRA_REQUIREMENT.compositionAuthor);
  } else if (!author) err('Composition.author', 'author reference does not resolve in the bundle', 'GPCM-SD-121');
  else if (author.name === 'Practitioner') {
    if (!profilesOf(author).includes(PROFILE.practitioner))
      err('Practitioner.meta.profile', 'Practitioner does not claim CareConnect-Practitioner-1', 'GPCM-SD-107');
    if (!identifierValue(author, SYSTEM.sdsUserId))
      (profile === '1.x' ? err : warn)(
        'Practitioner.identifier(sdsUserID)',
        'Practitioner has no SDS user id',
        'GPCM-SD-032',
      );
    if (!officialName(author))
      (profile === '1.x' ? err : warn)('Practitioner.name', 'Practitioner has no official name', 'GPCM-SD-033');
  } else if (profile === '1.x') err('Composition.author', 'author is not a Practitioner', 'GPCM-SD-121');

  // Custodian organisation (GPCM-SD-105/122, 028-031)
  const custodian = resolve(entries, val(comp, 'custodian', 'reference'));
  if (!custodian || custodian.name !== 'Organization') {
    (profile === '1.x' ? err : warn)(
      'Composition.custodian',
      'custodian does not reference an Organization in the bundle',
      'GPCM-SD-122',
    );
  } else {
    if (!profilesOf(custodian).includes(PROFILE.organization))
      err('Organization.meta.profile', 'Organization does not claim CareConnect-Organization-1', 'GPCM-SD-105');
    const ods = identifierValue(custodian, SYSTEM.odsOrganisation);
    if (!ods) err('Organization.identifier(odsOrganisationCode)', 'Organization has no ODS code', 'GPCM-SD-029');
    else summary.custodianOds = ods;
    const name = val(custodian, 'name');
    if (!name) err('Organization.name', 'Organization has no name', 'GPCM-SD-030');
    else summary.custodianName = name;
    if (!childrenNamed(custodian, 'telecom').some((t) => val(t, 'system') === 'phone'))
      (profile === '1.x' ? err : warn)('Organization.telecom', 'Organization has no telephone', 'GPCM-SD-031');
  }

  // Replacement (GPCM-SD-123, 131, 132)
  const relatesTo = childrenNamed(comp, 'relatesTo');
  for (const r of relatesTo) {
    if (val(r, 'code') !== 'replaces')
      err('Composition.relatesTo.code', 'relatesTo.code must be replaces', 'GPCM-SD-131');
    const target = val(r, 'targetIdentifier', 'value');
    if (!target)
      err(
        'Composition.relatesTo.targetIdentifier',
        'relatesTo must name the replaced document identifier',
        'GPCM-SD-132',
      );
    else summary.replaces = target;
  }
  if (summary.version !== undefined && summary.version > 1 && relatesTo.length === 0) {
    err('Composition.relatesTo', 'a version > 1 must say which document it replaces', 'GPCM-SD-123');
  }

  // Sections and binaries (GPCM-SD-109..112, 124)
  const sections = childrenNamed(comp, 'section');
  const referenced = new Set<FNode>();
  sections.forEach((s, si) => {
    for (const [ei, e] of childrenNamed(s, 'entry').entries()) {
      const target = resolve(entries, val(e, 'reference'));
      if (!target)
        err(`Composition.section[${si}].entry[${ei}]`, 'section entry does not resolve in the bundle', 'GPCM-SD-110');
      else referenced.add(target);
    }
  });
  const first = resolve(entries, val(sections[0], 'entry', 'reference'));
  if (!first || first.name !== 'Binary')
    err('Composition.section[0].entry[0]', 'the primary attachment is not the first section entry', 'GPCM-SD-112');
  else if (val(first, 'contentType') !== 'application/pdf')
    err('Composition.section[0].entry[0]', 'the primary attachment is not a PDF', 'GPCM-SD-124');
  const binaries = entries.filter((e) => e.resource.name === 'Binary');
  if (binaries.length === 0) err('Bundle.entry(Binary)', 'the document carries no binary report', 'GPCM-SD-124');
  binaries.forEach((b, i) => {
    const contentType = val(b.resource, 'contentType');
    // FHIR base64Binary allows whitespace between groups (the 2.x example wraps its PDF with spaces).
    const content = (val(b.resource, 'content') ?? '').replace(/\s+/g, '');
    summary.attachments.push({ ...(contentType ? { contentType } : {}), base64Length: content.length });
    if (!referenced.has(b.resource))
      err(`Binary[${i}]`, 'binary is not referenced from a Composition.section', 'GPCM-SD-109');
    if (!profilesOf(b.resource).includes(PROFILE.binary))
      err(`Binary[${i}].meta.profile`, 'Binary does not claim ITK-Attachment-Binary-1', 'GPCM-SD-110');
    if (!content || content.length % 4 !== 0 || !BASE64.test(content))
      err(`Binary[${i}].content`, 'attachment is not valid base64', 'GPCM-SD-111');
    if (!contentType || !APPROVED_CONTENT_TYPES.includes(contentType))
      err(`Binary[${i}].contentType`, 'attachment type is not approved (receivers answer 20004/20005)');
  });
  return { findings: f, summary };
}

export interface EnvelopeSummary {
  bundleIdentifier?: string;
  messageHeaderId?: string;
  event?: string;
  handling: Partial<Record<(typeof HANDLING_KEYS)[number], string>>;
  senderOds?: string;
  sourceEndpoint?: string;
  timestamp?: string;
}

/** Check the ITK3 envelope of an outbound Send Document (GPCM-SD-039..049, GPCM-SD-103, GPCM-SD-108: bundle, header, handling extension, code systems and sender organisation). */
export function checkEnvelope(
  root: FNode,
  profile: SpecProfile,
): { findings: Finding[]; summary: EnvelopeSummary; document?: FNode } {
  const f: Finding[] = [];
  const err = (path: string, message: string, requirementId?: string) =>
    f.push({ severity: 'error', path, message, ...(requirementId ? { requirementId } : {}) });
  const warn = (path: string, message: string, requirementId?: string) =>
    f.push({ severity: 'warning', path, message, ...(requirementId ? { requirementId } : {}) });
  const summary: EnvelopeSummary = { handling: {} };
  if (root.name !== 'Bundle' || val(root, 'type') !== 'message') {
    err('Bundle.type', 'not an ITK3 message Bundle');
    return { findings: f, summary };
  }
  if (!profilesOf(root).includes(PROFILE.messageBundle))
    err('Bundle.meta.profile', 'message Bundle does not claim ITK-Message-Bundle-1', 'GPCM-SD-108');
  const bid = val(root, 'identifier', 'value');
  if (!bid) err('Bundle.identifier', 'message Bundle has no identifier');
  else summary.bundleIdentifier = bid;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(bid ?? ''))
    warn('Bundle.identifier', 'message identifier is not a UUID');
  const entries = bundleEntries(root);
  if (entries.length !== 3) err('Bundle.entry', 'a Send Document message has exactly three entries');
  const header = entries[0]?.resource;
  if (!header || header.name !== 'MessageHeader') {
    err('Bundle.entry[0]', 'MessageHeader is not the first entry');
    return { findings: f, summary };
  }
  if (entries.filter((e) => e.resource.name === 'MessageHeader').length > 1)
    err('Bundle.entry', 'several MessageHeaders');
  if (!profilesOf(header).includes(PROFILE.messageHeader))
    err('MessageHeader.meta.profile', 'MessageHeader does not claim ITK-MessageHeader-2', 'GPCM-SD-108');
  const mhid = val(header, 'id');
  if (!mhid) err('MessageHeader.id', 'MessageHeader has no id, so responses cannot be correlated');
  else summary.messageHeaderId = mhid;

  const handling = extensionByUrl(header, EXT.messageHandling);
  const key = (k: string) => extensionByUrl(handling, k);
  for (const k of HANDLING_KEYS) {
    const e = key(k);
    if (!e) err(`MessageHeader.extension(ITKMessageHandling).${k}`, 'handling key missing');
  }
  const bus = val(key('BusAckRequested'), 'valueBoolean');
  const inf = val(key('InfAckRequested'), 'valueBoolean');
  const rt = val(key('RecipientType'), 'valueCoding', 'code');
  const md = val(key('MessageDefinition'), 'valueReference', 'reference');
  const sr = val(key('SenderReference'), 'valueString');
  const le = val(key('LocalExtension'), 'valueString');
  Object.assign(
    summary.handling,
    Object.fromEntries(
      Object.entries({
        BusAckRequested: bus,
        InfAckRequested: inf,
        RecipientType: rt,
        MessageDefinition: md,
        SenderReference: sr,
        LocalExtension: le,
      }).filter(([, v]) => v !== undefined),
    ),
  );
  if (bus !== 'true') err('BusAckRequested', 'BusAckRequested must be true', 'GPCM-SD-040');
  if (inf !== 'true') err('InfAckRequested', 'InfAckRequested must be true', 'GPCM-SD-041');
  if (rt !== 'FA' && rt !== 'FI') err('RecipientType', 'RecipientType must be FA or FI', 'GPCM-SD-039');
  else if (profile === '1.x' && rt !== 'FA') warn('RecipientType', '1.x Consultation Summary uses FA', 'GPCM-SD-039');
  if (md !== MESSAGE_DEFINITION.sendDocument)
    err('MessageDefinition', 'MessageDefinition is not ITK-GPConnectSendDocument-MessageDefinition-1', 'GPCM-SD-043');
  if (!sr) err('SenderReference', 'SenderReference is missing', 'GPCM-SD-042');
  else if (sr.length > SENDER_REFERENCE_MAX)
    err('SenderReference', 'SenderReference is longer than 255 characters', EXTRA_REQUIREMENT.senderReferenceLength);
  const expectedLe = PROFILE_CONSTANTS[profile].localExtension;
  if (le !== expectedLe)
    (profile === '1.x' && le?.startsWith('SendDocument-') ? warn : err)(
      'LocalExtension',
      `LocalExtension should be ${expectedLe} for ${profile}`,
      'GPCM-SD-044',
    );

  const sender = resolve(entries, val(header, 'sender', 'reference'));
  if (!sender || sender.name !== 'Organization')
    err('MessageHeader.sender', 'sender does not reference the header Organization', 'GPCM-SD-045');
  else {
    if (!profilesOf(sender).includes(PROFILE.headerOrganization))
      err('Organization.meta.profile', 'sender does not claim CareConnect-ITK-Header-Organization-1', 'GPCM-SD-045');
    const ods = identifierValue(sender, SYSTEM.odsOrganisation);
    if (!ods) err('Organization.identifier', 'sender Organization has no ODS code', 'GPCM-SD-045');
    else summary.senderOds = ods;
  }
  const endpoint = val(header, 'source', 'endpoint');
  if (!endpoint)
    err('MessageHeader.source.endpoint', 'source endpoint (sender MESH mailbox) is missing', 'GPCM-SD-046');
  else summary.sourceEndpoint = endpoint;
  const ev = val(header, 'event', 'code');
  if (ev) summary.event = ev;
  if (
    ev !== EVENT.sendDocument.code ||
    val(header, 'event', 'system') !== 'https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2'
  )
    err('MessageHeader.event', 'event must be ITK007C from ITK-MessageEvent-2', 'GPCM-SD-047');
  const ts = val(header, 'timestamp');
  if (!ts) err('MessageHeader.timestamp', 'timestamp is missing', 'GPCM-SD-048');
  else summary.timestamp = ts;
  if (child(header, 'destination')) err('MessageHeader.destination', 'destination must not be present', 'GPCM-SD-049');
  if (child(header, 'receiver'))
    (profile === '1.x' ? err : warn)(
      'MessageHeader.receiver',
      'receiver must not be present (2.x: should not)',
      'GPCM-SD-049',
    );
  if (child(header, 'response')) err('MessageHeader.response', 'an outbound message carries no response element');

  const document = resolve(entries, val(header, 'focus', 'reference'));
  if (!document || document.name !== 'Bundle') {
    err('MessageHeader.focus', 'focus does not reference the document Bundle', 'GPCM-SD-103');
    return { findings: f, summary };
  }
  return { findings: f, summary, document };
}
