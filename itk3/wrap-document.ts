import type { SpecProfile } from '../contracts/delivery';
import { ErrorType, type Issue } from '../contracts/errors';
import { DEFAULT_MAX_MESSAGE_BYTES, SENDER_REFERENCE_MAX, type RecipientTypeCode } from './constants';
import {
  checkBuildOptions,
  checkedIdSource,
  checkedMessageSize,
  meshMetadataFor,
  readBackIssues,
  routingAddressFor,
  type BuiltMessage,
  type OutputFormat,
  type Routing,
} from './build-message';
import { checkDocumentBundle } from './document-checks';
import { Itk3Error, EXTRA_REQUIREMENT, buildRejected } from './errors';
import { fromFhirJson, type JsonObject } from './fhir-json';
import { reorderForXml, toFhirJson } from './fhir-structure';
import { child, type FNode } from './fhir-xml';
import { envelopeJson, envelopeXml, type EnvelopeInput } from './message';
import { meshSubject, surnameRoutingIssues } from './mesh-metadata';
import { readFhir } from './parse-response';

/**
 * The second way in: a complete FHIR STU3 document Bundle (ITK-Document-Bundle-1, JSON or XML)
 * from a system that already builds FHIR, checked against the sender-side requirements and wrapped in
 * the ITK3 envelope with the MESH metadata. Pure, like `buildSendDocumentMessage`.
 */
export interface WrapDocumentInput {
  /** The document Bundle: FHIR XML or JSON text/bytes, or an already-parsed FHIR JSON object. */
  document: string | Uint8Array | JsonObject;
  profile: SpecProfile;
  ids: { messageHeaderId: string; bundleIdentifier: string };
  newId: () => string;
  now: string;
  routing: Routing;
  /** The sending organisation: MESH mailbox (source.endpoint) and ODS code (defaults to the custodian's). */
  sender: { meshMailbox: string; odsCode?: string };
  /** The encounter/activity id at the sender (GPCM-SD-042). */
  senderReference: string;
  /** Version for the MESH subject when the Composition has no meta.versionId (1.x); default 1. */
  version?: number;
  maxMessageBytes?: number;
  format?: OutputFormat;
  recipientType?: RecipientTypeCode;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function asBuildError(e: unknown): never {
  if (e instanceof Itk3Error && e.type === ErrorType.ITK3_RESPONSE_INVALID) {
    throw buildRejected(`document bundle cannot be read: ${e.message}`, e.issues);
  }
  throw e;
}

function jsonTooDeep(v: unknown, max: number, depth = 0): boolean {
  if (depth > max) return true;
  if (typeof v !== 'object' || v === null) return false;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (jsonTooDeep(x, max, depth + 1)) return true;
  return false;
}

/** Check a supplied document Bundle and wrap it as an ITK3 Send Document message. Throws `ITK3_BUILD_REJECTED`. */
export function wrapDocumentBundle(input: WrapDocumentInput): BuiltMessage {
  const maxBytes = input.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const format = input.format ?? 'xml';
  const warnings: Issue[] = [];

  // 1. Read the document into the element tree.
  let doc: FNode;
  let fromJson: JsonObject | undefined;
  try {
    if (typeof input.document === 'object' && !(input.document instanceof Uint8Array)) {
      if (input.document === null || Array.isArray(input.document) || jsonTooDeep(input.document, 128)) {
        throw buildRejected('document bundle is not a FHIR JSON resource', [
          { path: 'document', message: 'expected a FHIR Bundle object' },
        ]);
      }
      fromJson = input.document;
      doc = fromFhirJson(input.document);
    } else {
      doc = readFhir(input.document, { maxBytes, maxDepth: 64, maxElements: 500_000 });
      if (
        typeof input.document === 'string' ? input.document.trimStart().startsWith('{') : input.document[0] === 0x7b
      ) {
        fromJson = JSON.parse(
          typeof input.document === 'string' ? input.document : new TextDecoder().decode(input.document),
        ) as JsonObject;
      }
    }
  } catch (e) {
    if (e instanceof TypeError)
      throw buildRejected('document bundle is not a FHIR resource', [
        { path: 'document', message: 'resourceType missing' },
      ]);
    asBuildError(e);
  }
  // FHIR XML is ordered (the STU3 schema is a sequence per type): whatever order the supplied document
  // used, JSON or XML, it is written out in the STU3 element order.
  for (const t of reorderForXml(doc))
    warnings.push({ path: t, message: 'resource type outside the STU3 tables: element order kept as supplied' });

  // 2. Check it.
  const { findings, summary } = checkDocumentBundle(doc, input.profile);
  const issues: Issue[] = findings.filter((f) => f.severity === 'error').map(({ severity: _s, ...i }) => i);
  warnings.push(...findings.filter((f) => f.severity === 'warning').map(({ severity: _s, ...i }) => i));
  issues.push(...checkBuildOptions(input));
  if (!/^[A-Za-z0-9]{3,20}$/.test(input.sender.meshMailbox))
    issues.push({
      path: 'sender.meshMailbox',
      message: 'MESH mailbox id must be 3-20 letters or digits',
      requirementId: 'GPCM-SD-046',
    });
  if (!input.senderReference?.trim() || /[\u0000-\u001f]/.test(input.senderReference))
    issues.push({
      path: 'senderReference',
      message: 'SenderReference must be a non-empty string without control characters',
      requirementId: 'GPCM-SD-042',
    });
  else if (input.senderReference.length > SENDER_REFERENCE_MAX)
    issues.push({
      path: 'senderReference',
      message: 'SenderReference is at most 255 characters',
      requirementId: EXTRA_REQUIREMENT.senderReferenceLength,
    });
  const senderOds = input.sender.odsCode ?? summary.custodianOds;
  if (!senderOds || !/^[A-Z0-9]{3,10}$/.test(senderOds))
    issues.push({
      path: 'sender.odsCode',
      message: 'sender ODS code is missing or malformed',
      requirementId: 'GPCM-SD-045',
    });
  else if (summary.custodianOds && senderOds !== summary.custodianOds) {
    issues.push({
      path: 'Composition.custodian',
      message: 'custodian ODS code differs from the sending organisation',
      requirementId: 'GPCM-SD-105',
    });
  }
  const p = summary.patient;
  if (input.routing.mode === 'gpprovider' && p.familyName) issues.push(...surnameRoutingIssues(p.familyName));
  if (issues.length) throw buildRejected('document refused: a receiver would reject it', issues);

  // 3. Routing address (GPCM-SD-038: demographics must match it).
  const to = routingAddressFor(input.routing, { nhsNumber: p.nhsNumber ?? '', birthDate: p.birthDate ?? '', familyName: p.familyName ?? '' });

  // 4. Envelope.
  const nextId = checkedIdSource(input.newId, new Set([input.ids.messageHeaderId, input.ids.bundleIdentifier]));
  const bundleId = nextId();
  const headerOrganizationId = nextId();
  let documentBundleId = child(doc, 'id')?.attrs.value ?? '';
  if (!UUID.test(documentBundleId)) {
    // The focus is referenced as urn:uuid:<id>, so the document's logical id must be a UUID.
    documentBundleId = nextId();
    const idNode = child(doc, 'id');
    if (idNode) idNode.attrs.value = documentBundleId;
    else doc.children.unshift({ name: 'id', attrs: { value: documentBundleId }, children: [] });
    if (fromJson) fromJson = { ...fromJson, id: documentBundleId };
    warnings.push({
      path: 'Bundle.id',
      message: 'document Bundle id was not a UUID: replaced so it can be referenced as urn:uuid',
    });
  }
  const envelope: EnvelopeInput = {
    profile: input.profile,
    bundleId,
    bundleIdentifier: input.ids.bundleIdentifier,
    messageHeaderId: input.ids.messageHeaderId,
    headerOrganizationId,
    documentBundleId,
    now: input.now,
    senderOds: senderOds as string,
    senderMailbox: input.sender.meshMailbox,
    senderReference: input.senderReference,
    recipientType: input.recipientType ?? 'FA',
  };
  const body =
    format === 'json'
      ? JSON.stringify(envelopeJson(envelope, fromJson ?? toFhirJson(doc)))
      : envelopeXml(envelope, doc);
  const readBack = readBackIssues(body, input.profile);
  if (readBack.length) throw buildRejected('the wrapped message does not read back as a conformant Send Document', readBack);
  const sizeBytes = checkedMessageSize(body, input.maxMessageBytes);
  const version = summary.version ?? input.version ?? 1;
  const confidential = summary.confidentiality === 'R';
  const subject = meshSubject(input.profile, {
    ...(summary.title ? { title: summary.title } : {}),
    patientName: [p.givenName, p.familyName].filter(Boolean).join(' '),
    nhsNumber: p.nhsNumber ?? '',
    version,
    ...(!confidential && summary.custodianName && summary.custodianOds
      ? { practiceName: summary.custodianName, odsCode: summary.custodianOds }
      : {}),
  });
  return {
    xml: body,
    format,
    sizeBytes,
    mesh: meshMetadataFor({ profile: input.profile, format, to, subject, senderOds: senderOds as string, bundleIdentifier: input.ids.bundleIdentifier }),
    built: {
      messageHeaderId: input.ids.messageHeaderId,
      bundleIdentifier: input.ids.bundleIdentifier,
      bundleId,
      documentBundleId,
      documentBundleIdentifier: summary.documentBundleIdentifier ?? '',
      compositionId: summary.compositionId ?? '',
      documentId: summary.compositionIdentifier ?? '',
      version,
      senderReference: input.senderReference,
    },
    warnings,
  };
}
