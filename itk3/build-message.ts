import type { SpecProfile } from '../contracts/delivery';
import type { Issue } from '../contracts/errors';
import { SubmissionSchema, isValidNhsNumber, type Submission } from '../contracts/submission';
import {
  CONSULTATION_REPORT_TITLE,
  DEFAULT_MAX_MESSAGE_BYTES,
  EXT,
  MESH_WORKFLOWS,
  PROFILE,
  PROFILE_CONSTANTS,
  REPORT_OF_CLINICAL_ENCOUNTER,
  SENDER_REFERENCE_MAX,
  SYSTEM,
  XHTML_NS,
  type RecipientTypeCode,
} from './constants';
import { EXTRA_REQUIREMENT, buildRejected } from './errors';
import { fromFhirJson, type JsonObject } from './fhir-json';
import { escapeText, utf8ByteLength } from './fhir-xml';
import { envelopeJson, envelopeXml, urn, type EnvelopeInput } from './message';
import { readSendDocumentMessage } from './read-message';
import {
  compositionSummary,
  gpProviderAddress,
  isRealDate,
  meshSubject,
  routingAddressMismatches,
  surnameRoutingIssues,
  type DobFormat,
  type RoutingDemographics,
  type SubjectParts,
} from './mesh-metadata';

/** How the message is addressed in MESH: a GPPROVIDER routing address built from the demographics, or a fixed mailbox. */
export type Routing =
  | {
      mode: 'gpprovider';
      dobFormat: DobFormat;
      /** Optional routing address from elsewhere (e.g. a stored `.CTL`): checked against the demographics (GPCM-SD-038). */
      to?: string;
    }
  | { mode: 'mailbox'; mailboxId: string };

export type OutputFormat = 'xml' | 'json';

export interface BuildMessageInput {
  submission: Submission;
  profile: SpecProfile;
  /** Fresh per send attempt (UUIDs): MessageHeader.id (what responses quote) and Bundle.identifier. */
  ids: { messageHeaderId: string; bundleIdentifier: string };
  /** Source of every other resource id (the caller passes randomUUID; tests pass a counter). */
  newId: () => string;
  /** ISO-8601 generation time: MessageHeader.timestamp (GPCM-SD-048) and Composition.date (GPCM-SD-116). */
  now: string;
  routing: Routing;
  /** Refuse messages larger than this (default 5 000 000 bytes, ITK3 20015 recommendation). */
  maxMessageBytes?: number;
  /** Wire format; XML unless asked (ITK3 mandates that receivers accept XML; whether they accept JSON is not established). */
  format?: OutputFormat;
  /** ITK RecipientType: FA (default) or FI for an information copy (ITK-RecipientType-1). */
  recipientType?: RecipientTypeCode;
}

export interface MeshMetadata {
  to: string;
  workflowId: string;
  subject: string;
  localId: string;
  fileName: string;
  contentType: string;
}

export interface BuiltMessage {
  /** The ITK3 message bundle (FHIR STU3 XML, or FHIR JSON when `format: 'json'`; the field keeps its name). */
  xml: string;
  format: OutputFormat;
  sizeBytes: number;
  mesh: MeshMetadata;
  /** Ids of what was built, for correlation and audit (no patient data). */
  built: {
    messageHeaderId: string;
    bundleIdentifier: string;
    bundleId: string;
    documentBundleId: string;
    documentBundleIdentifier: string;
    compositionId: string;
    documentId: string;
    version: number;
    senderReference: string;
  };
  /** Things a receiver may not like but that are not refused (no patient data). */
  warnings: Issue[];
}

const CONTENT_TYPE: Record<OutputFormat, string> = { xml: 'application/fhir+xml', json: 'application/fhir+json' };

/**
 * The MESH address of a message: the GPPROVIDER routing address built from the patient's demographics
 * (which must match any address supplied with the message, GPCM-SD-038), or the configured mailbox.
 */
export function routingAddressFor(routing: Routing, demographics: RoutingDemographics): string {
  if (routing.mode !== 'gpprovider') return routing.mailboxId;
  if (routing.to !== undefined) {
    const mismatches = routingAddressMismatches(routing.to, demographics, routing.dobFormat);
    if (mismatches.length) throw buildRejected('patient demographics do not match the MESH routing address', mismatches);
  }
  return gpProviderAddress(demographics, routing.dobFormat);
}

/** The size of a serialised message in bytes; refused past the limit, since receivers answer 20015. */
export function checkedMessageSize(body: string, maxMessageBytes: number | undefined): number {
  const sizeBytes = utf8ByteLength(body);
  const maxBytes = maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (sizeBytes > maxBytes) {
    throw buildRejected('message is larger than the configured limit', [
      {
        path: 'message',
        message: `${sizeBytes} bytes exceeds the limit of ${maxBytes} bytes; receivers answer 20015`,
        requirementId: EXTRA_REQUIREMENT.messageSize,
      },
    ]);
  }
  return sizeBytes;
}

/** The MESH headers of a Send Document: the file name is the bundle identifier, unique per attempt. */
export function meshMetadataFor(input: {
  profile: SpecProfile;
  format: OutputFormat;
  to: string;
  subject: string;
  senderOds: string;
  bundleIdentifier: string;
}): MeshMetadata {
  return {
    to: input.to,
    workflowId: MESH_WORKFLOWS[input.profile].document,
    subject: input.subject,
    localId: input.senderOds,
    fileName: `${input.bundleIdentifier}.${input.format}`,
    contentType: CONTENT_TYPE[input.format],
  };
}

/** Validate the routing/size/meta inputs common to both build routes. */
export function checkBuildOptions(input: {
  now: string;
  maxMessageBytes?: number;
  routing: Routing;
  ids: { messageHeaderId: string; bundleIdentifier: string };
}): Issue[] {
  const issues: Issue[] = [];
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(input.now)) {
    issues.push({ path: 'now', message: 'must be an ISO-8601 instant with a time zone', requirementId: 'GPCM-SD-048' });
  }
  for (const key of ['messageHeaderId', 'bundleIdentifier'] as const) {
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(input.ids[key])) {
      issues.push({ path: `ids.${key}`, message: 'must be a UUID' });
    }
  }
  if (input.maxMessageBytes !== undefined && !(Number.isInteger(input.maxMessageBytes) && input.maxMessageBytes > 0)) {
    issues.push({ path: 'maxMessageBytes', message: 'must be a positive integer' });
  }
  if (input.routing.mode === 'mailbox' && !/^[A-Za-z0-9]{3,20}$/.test(input.routing.mailboxId)) {
    issues.push({ path: 'routing.mailboxId', message: 'MESH mailbox id must be 3-20 letters or digits' });
  }
  return issues;
}

/** A fresh-id source that refuses empty or repeated ids (a repeated fullUrl would corrupt references). */
export function checkedIdSource(newId: () => string, used: Set<string>): () => string {
  return () => {
    const id = newId();
    if (typeof id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(id) || used.has(id)) {
      throw buildRejected('newId() returned an empty, invalid or repeated id', [
        { path: 'newId', message: 'ids must be unique FHIR ids (UUIDs)' },
      ]);
    }
    used.add(id);
    return id;
  };
}

/** Which catalogue requirement a submission field implements, for zod refusals (1.3.x numbering). */
const PATH_REQUIREMENTS: [RegExp, string][] = [
  [/^patient\.nhsNumber$/, 'GPCM-SD-035'],
  [/^patient\.(givenName|familyName)$/, 'GPCM-SD-036'],
  [/^patient\.birthDate$/, 'GPCM-SD-037'],
  [/^patient$/, 'GPCM-SD-106'],
  [/^sender\.odsCode$/, 'GPCM-SD-029'],
  [/^sender\.name$/, 'GPCM-SD-030'],
  [/^sender\.telephone$/, 'GPCM-SD-031'],
  [/^sender\.meshMailbox$/, 'GPCM-SD-046'],
  [/^author\.sdsUserId$/, 'GPCM-SD-032'],
  [/^author\.(givenName|familyName)$/, 'GPCM-SD-033'],
  [/^encounter\.id$/, 'GPCM-SD-042'],
  [/^(report|attachments\.\d+)\.dataBase64$/, 'GPCM-SD-111'],
  [/^report(\.contentType)?$/, 'GPCM-SD-124'],
  [/^confidentiality$/, 'GPCM-SD-117'],
  [/^version$/, 'GPCM-SD-098'],
  [/^replaces(\.documentId)?$/, 'GPCM-SD-132'],
];

function requirementForPath(path: string): string | undefined {
  return PATH_REQUIREMENTS.find(([re]) => re.test(path))?.[1];
}

/** How far after the generation time an encounter may be dated: clock skew, never a future consultation. */
const ENCOUNTER_FUTURE_TOLERANCE_MS = 24 * 3_600_000;

function xhtml(text: string): string {
  return `<div xmlns="${XHTML_NS}"><p>${escapeText(text)}</p></div>`;
}

function submissionIssues(s: Submission, profile: SpecProfile, now: string): Issue[] {
  const issues: Issue[] = [];
  if (!isValidNhsNumber(s.patient.nhsNumber)) {
    issues.push({
      path: 'patient.nhsNumber',
      message: 'NHS number fails the modulus 11 check',
      requirementId: 'GPCM-SD-035',
    });
  }
  if (!isRealDate(s.patient.birthDate)) {
    issues.push({
      path: 'patient.birthDate',
      message: 'birth date is not a real YYYY-MM-DD date',
      requirementId: 'GPCM-SD-037',
    });
  } else if (s.patient.birthDate > now.slice(0, 10)) {
    issues.push({
      path: 'patient.birthDate',
      message: 'birth date is after the generation time',
      requirementId: 'GPCM-SD-037',
    });
  }
  // SD2 2.0.0's release notes make careSettingType required; the spec's own generic 2.x example leaves it
  // out. The normative text wins for what we send (a receiver validating against 2.0.0 may refuse a
  // message without it); what we read from others is only warned about (itk3/document-checks.ts).
  if (profile === '2.x' && !s.careSetting) {
    issues.push({
      path: 'careSetting',
      message: 'a 2.x message carries Composition.extension(careSettingType) (SD2 2.0.0): give careSetting, a SNOMED CT care setting such as 789718008 Cardiology service',
      requirementId: EXTRA_REQUIREMENT.careSetting2x,
    });
  }
  if (profile === '1.x' && s.documentType && s.documentType.code !== REPORT_OF_CLINICAL_ENCOUNTER.code) {
    issues.push({
      path: 'documentType',
      message: `1.x sends only ${REPORT_OF_CLINICAL_ENCOUNTER.code} ${REPORT_OF_CLINICAL_ENCOUNTER.display}`,
      requirementId: 'GPCM-SD-115',
    });
  }
  if (s.confidentiality === 'R' && !PROFILE_CONSTANTS[profile].allowsRestrictedConfidentiality) {
    issues.push({
      path: 'confidentiality',
      message: 'confidentiality R is not sent in 2.x: receivers reject it with 20009 (SD2 2.0.2)',
      requirementId: EXTRA_REQUIREMENT.confidentiality2x,
    });
  }
  if (s.report.contentType !== 'application/pdf' || !s.report.dataBase64) {
    issues.push({ path: 'report', message: 'the consultation report must be a PDF', requirementId: 'GPCM-SD-124' });
  }
  for (const [i, a] of [s.report, ...s.attachments].entries()) {
    if (a.dataBase64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(a.dataBase64)) {
      issues.push({
        path: i === 0 ? 'report.dataBase64' : `attachments.${i - 1}.dataBase64`,
        message: 'attachment is not valid base64',
        requirementId: 'GPCM-SD-111',
      });
    }
  }
  if (!s.author) {
    issues.push(
      profile === '1.x'
        ? { path: 'author', message: 'the practitioner who delivered care is required', requirementId: 'GPCM-SD-121' }
        : {
            path: 'author',
            message: 'Composition.author (1..*) needs the practitioner',
            requirementId: EXTRA_REQUIREMENT.compositionAuthor,
          },
    );
  }
  if (profile === '1.x' && !s.sender.telephone) {
    issues.push({
      path: 'sender.telephone',
      message: 'the sender organisation telephone number is required',
      requirementId: 'GPCM-SD-031',
    });
  }
  if (s.encounter.id.trim() === '') {
    issues.push({ path: 'encounter.id', message: 'SenderReference must not be blank', requirementId: 'GPCM-SD-042' });
  }
  if (s.encounter.id.length > SENDER_REFERENCE_MAX) {
    issues.push({
      path: 'encounter.id',
      message: `SenderReference is at most ${SENDER_REFERENCE_MAX} characters`,
      requirementId: 'GPCM-SD-042',
    });
  }
  if (s.recipient.odsCode === s.sender.odsCode) {
    issues.push({
      path: 'recipient.odsCode',
      message: 'the patient is registered at the sending organisation: its record is already up to date',
      requirementId: 'GPCM-SD-083',
    });
  }
  // Encounter times: not after the generation time by more than a day (clock skew between systems is
  // fine; a consultation next year is a data-entry error), and not before the patient was born.
  const startMs = Date.parse(s.encounter.start);
  const nowMs = Date.parse(now);
  if (Number.isFinite(nowMs) && startMs > nowMs + ENCOUNTER_FUTURE_TOLERANCE_MS) {
    issues.push({ path: 'encounter.start', message: 'the encounter starts more than a day after the generation time' });
  }
  if (s.encounter.end && Number.isFinite(nowMs) && Date.parse(s.encounter.end) > nowMs + ENCOUNTER_FUTURE_TOLERANCE_MS) {
    issues.push({ path: 'encounter.end', message: 'the encounter ends more than a day after the generation time' });
  }
  // The encounter's own calendar date (in its own offset) against the date-only birth date.
  if (isRealDate(s.patient.birthDate) && s.encounter.start.slice(0, 10) < s.patient.birthDate) {
    issues.push({ path: 'encounter.start', message: "the encounter starts before the patient's birth date" });
  }
  if (s.replaces) {
    if (s.replaces.documentId.toLowerCase() !== s.documentId.toLowerCase()) {
      issues.push({
        path: 'replaces.documentId',
        message: 'a replacement keeps the document id of the document it replaces (Composition.identifier is version-independent)',
        requirementId: 'GPCM-SD-132',
      });
    }
    if (s.version !== s.replaces.version + 1) {
      issues.push({
        path: 'version',
        message: 'a replacement must carry the replaced version + 1',
        requirementId: 'GPCM-SD-098',
      });
    }
  } else if (s.version > 1) {
    issues.push({
      path: 'replaces',
      message: 'version > 1 is a replacement and must name the document it replaces',
      requirementId: 'GPCM-SD-123',
    });
  }
  return issues;
}

/**
 * Issues of a built message read back: none when it parses with the inbound parser (same limits as a
 * received message) and the sender-side checks find no error. Used by both build routes.
 */
export function readBackIssues(body: string, profile: SpecProfile): Issue[] {
  let read;
  try {
    read = readSendDocumentMessage(body, profile);
  } catch (err) {
    return [{ path: 'message', message: `the built message does not parse back: ${err instanceof Error ? err.message : String(err)}` }];
  }
  return read.findings
    .filter((f) => f.severity === 'error')
    .map(({ severity: _s, ...i }) => ({ ...i, path: `message.${i.path ?? ''}`.replace(/\.$/, '') }));
}

/**
 * Build the ITK3 Send Document message for a submission (GPCM-SD-028..064,
 * GPCM-SD-098, GPCM-SD-103..124, GPCM-SD-131/132): the CareConnect document bundle, the ITK3 envelope
 * and the MESH metadata for the chosen spec generation. Pure: ids and time come from the input.
 * Throws `ITK3_BUILD_REJECTED` (issues carry requirement ids) for anything a receiver must reject.
 */
export function buildSendDocumentMessage(input: BuildMessageInput): BuiltMessage {
  const parsed = SubmissionSchema.safeParse(input.submission);
  if (!parsed.success) {
    throw buildRejected(
      'submission is invalid',
      parsed.error.issues.map((i) => {
        const path = i.path.join('.');
        const requirementId = requirementForPath(path);
        return { path, message: i.message, ...(requirementId ? { requirementId } : {}) };
      }),
    );
  }
  const s = parsed.data;
  const { profile } = input;
  const issues = [...checkBuildOptions(input), ...submissionIssues(s, profile, input.now)];
  if (input.routing.mode === 'gpprovider') issues.push(...surnameRoutingIssues(s.patient.familyName));
  if (issues.length) throw buildRejected('message refused: a receiver would reject it', issues);

  const format = input.format ?? 'xml';
  const recipientType = input.recipientType ?? 'FA';
  const used = new Set<string>([input.ids.messageHeaderId, input.ids.bundleIdentifier]);
  const nextId = checkedIdSource(input.newId, used);
  const bundleId = nextId();
  const headerOrganizationId = nextId();
  const documentBundleId = nextId();
  const documentBundleIdentifier = nextId();
  const compositionId = nextId();
  const patientId = nextId();
  const organizationId = nextId();
  const practitionerId = nextId();
  const binaryIds = [s.report, ...s.attachments].map(() => nextId());

  const confidential = s.confidentiality === 'R';
  const patientName = `${s.patient.givenName} ${s.patient.familyName}`;
  const parts: SubjectParts = {
    patientName,
    nhsNumber: s.patient.nhsNumber,
    version: s.version,
    ...(confidential ? {} : { practiceName: s.sender.name, odsCode: s.sender.odsCode }),
  };

  const document = documentBundle({
    s,
    profile,
    now: input.now,
    ids: {
      documentBundleId,
      documentBundleIdentifier,
      compositionId,
      patientId,
      organizationId,
      practitionerId,
      binaryIds,
    },
    summary: compositionSummary(parts),
  });

  const envelope: EnvelopeInput = {
    profile,
    bundleId,
    bundleIdentifier: input.ids.bundleIdentifier,
    messageHeaderId: input.ids.messageHeaderId,
    headerOrganizationId,
    documentBundleId,
    now: input.now,
    senderOds: s.sender.odsCode,
    senderMailbox: s.sender.meshMailbox,
    senderReference: s.encounter.id,
    recipientType,
  };
  const body =
    format === 'json'
      ? JSON.stringify(envelopeJson(envelope, document))
      : envelopeXml(envelope, fromFhirJson(document));

  const to = routingAddressFor(input.routing, s.patient);
  const sizeBytes = checkedMessageSize(body, input.maxMessageBytes);

  // Read our own output back with the parser and the checks the inbound path and the conformance run
  // use: a message that does not parse back, or that the checks refuse, is never sent.
  issues.push(...readBackIssues(body, profile));
  if (issues.length) throw buildRejected('the built message does not read back as a conformant Send Document', issues);

  const warnings: Issue[] = [];

  return {
    xml: body,
    format,
    sizeBytes,
    mesh: meshMetadataFor({ profile, format, to, subject: meshSubject(profile, parts), senderOds: s.sender.odsCode, bundleIdentifier: input.ids.bundleIdentifier }),
    built: {
      messageHeaderId: input.ids.messageHeaderId,
      bundleIdentifier: input.ids.bundleIdentifier,
      bundleId,
      documentBundleId,
      documentBundleIdentifier,
      compositionId,
      documentId: s.documentId,
      version: s.version,
      senderReference: s.encounter.id,
    },
    warnings,
  };
}

interface DocumentIds {
  documentBundleId: string;
  documentBundleIdentifier: string;
  compositionId: string;
  patientId: string;
  organizationId: string;
  practitionerId: string;
  binaryIds: string[];
}

/** The ITK-Document-Bundle-1 (GPCM-SD-103..124, GPCM-SD-028..037, GPCM-SD-131/132). */
function documentBundle(a: {
  s: Submission;
  profile: SpecProfile;
  now: string;
  ids: DocumentIds;
  summary: string;
}): JsonObject {
  const { s, ids } = a;
  const attachments = [s.report, ...s.attachments];
  const composition: JsonObject = {
    resourceType: 'Composition',
    id: ids.compositionId,
    meta: {
      // 2.x: the document version travels in meta.versionId because the MESH API has no version header (SD2 2.0.1).
      ...(PROFILE_CONSTANTS[a.profile].compositionVersionId ? { versionId: String(s.version) } : {}),
      profile: [PROFILE.composition],
    },
    text: { status: 'generated', div: xhtml(a.summary) },
    ...(s.careSetting
      ? {
          extension: [
            {
              url: EXT.careSettingType,
              valueCodeableConcept: {
                coding: [{ system: SYSTEM.snomed, code: s.careSetting.code, display: s.careSetting.display }],
              },
            },
          ],
        }
      : {}),
    // Composition.identifier is version-independent (FHIR STU3): the document id, the same across versions.
    identifier: { system: SYSTEM.rfc4122, value: s.documentId },
    status: 'final',
    type: {
      coding: [
        {
          system: SYSTEM.snomed,
          code: s.documentType?.code ?? REPORT_OF_CLINICAL_ENCOUNTER.code,
          display: s.documentType?.display ?? REPORT_OF_CLINICAL_ENCOUNTER.display,
        },
      ],
    },
    subject: { reference: urn(ids.patientId) },
    date: a.now,
    author: [{ reference: urn(ids.practitionerId) }],
    title: CONSULTATION_REPORT_TITLE,
    confidentiality: s.confidentiality,
    custodian: { reference: urn(ids.organizationId) },
    ...(s.replaces
      ? {
          relatesTo: [{ code: 'replaces', targetIdentifier: { system: SYSTEM.rfc4122, value: s.replaces.documentId } }],
        }
      : {}),
    event: [{ period: { start: s.encounter.start, ...(s.encounter.end ? { end: s.encounter.end } : {}) } }],
    section: [
      // GPCM-SD-109/110/112: one section per binary, the PDF report first.
      ...attachments.map((att, i) => ({
        title: i === 0 ? CONSULTATION_REPORT_TITLE : (att.title ?? `Attachment ${i}`),
        entry: [{ reference: urn(ids.binaryIds[i] ?? '') }],
      })),
      ...(s.encounter.summary
        ? [{ title: 'Consultation summary', text: { status: 'generated', div: xhtml(s.encounter.summary) } }]
        : []),
    ],
  };
  const patient: JsonObject = {
    resourceType: 'Patient',
    id: ids.patientId,
    meta: { profile: [PROFILE.patient] },
    identifier: [
      {
        extension: [
          {
            url: EXT.nhsNumberVerificationStatus,
            valueCodeableConcept: {
              coding: [
                { system: SYSTEM.nhsNumberVerificationStatus, code: '01', display: 'Number present and verified' },
              ],
            },
          },
        ],
        system: SYSTEM.nhsNumber,
        value: s.patient.nhsNumber,
      },
    ],
    name: [{ use: 'official', family: s.patient.familyName, given: [s.patient.givenName] }],
    ...(s.patient.gender ? { gender: s.patient.gender } : {}),
    birthDate: s.patient.birthDate,
  };
  const organization: JsonObject = {
    resourceType: 'Organization',
    id: ids.organizationId,
    meta: { profile: [PROFILE.organization] },
    identifier: [{ system: SYSTEM.odsOrganisation, value: s.sender.odsCode }],
    name: s.sender.name,
    ...(s.sender.telephone ? { telecom: [{ system: 'phone', value: s.sender.telephone, use: 'work' }] } : {}),
  };
  const author = s.author;
  const practitioner: JsonObject | undefined = author && {
    resourceType: 'Practitioner',
    id: ids.practitionerId,
    meta: { profile: [PROFILE.practitioner] },
    identifier: [{ system: SYSTEM.sdsUserId, value: author.sdsUserId }],
    name: [{ use: 'official', family: author.familyName, given: [author.givenName] }],
    ...(author.telephone ? { telecom: [{ system: 'phone', value: author.telephone, use: 'work' }] } : {}),
  };
  const binaries: JsonObject[] = attachments.map((att, i) => ({
    resourceType: 'Binary',
    id: ids.binaryIds[i] ?? '',
    meta: { profile: [PROFILE.binary] },
    contentType: att.contentType,
    content: att.dataBase64,
  }));
  const resources: JsonObject[] = [
    composition,
    patient,
    organization,
    ...(practitioner ? [practitioner] : []),
    ...binaries,
  ];
  return {
    resourceType: 'Bundle',
    id: ids.documentBundleId,
    meta: { lastUpdated: a.now, profile: [PROFILE.documentBundle] },
    identifier: { system: SYSTEM.rfc4122, value: ids.documentBundleIdentifier },
    type: 'document',
    entry: resources.map((r) => ({ fullUrl: urn(r.id as string), resource: r })),
  };
}
