import type { SpecProfile } from '../contracts/delivery';
import {
  EVENT,
  EXT,
  MESSAGE_DEFINITION,
  PROFILE,
  PROFILE_CONSTANTS,
  RECIPIENT_TYPE,
  SYSTEM,
  type RecipientTypeCode,
} from './constants';
import { fromFhirJson, type JsonObject } from './fhir-json';
import { toXmlString, type FNode } from './fhir-xml';

/**
 * The ITK3 message envelope: Bundle type=message with exactly three entries
 * – MessageHeader (first), the header Organization (sender) and the document Bundle (focus).
 */
export interface EnvelopeInput {
  profile: SpecProfile;
  bundleId: string;
  bundleIdentifier: string;
  messageHeaderId: string;
  headerOrganizationId: string;
  documentBundleId: string;
  now: string;
  senderOds: string;
  senderMailbox: string;
  senderReference: string;
  recipientType: RecipientTypeCode;
}

export const urn = (id: string): string => `urn:uuid:${id}`;

/** Extension-ITK-MessageHandling-2 with all six keys (GPCM-SD-039..044). */
export function handlingExtension(h: {
  busAck: boolean;
  infAck: boolean;
  recipientType: RecipientTypeCode;
  messageDefinition: string;
  senderReference: string;
  localExtension: string;
}): JsonObject {
  return {
    url: EXT.messageHandling,
    extension: [
      { url: 'BusAckRequested', valueBoolean: h.busAck },
      { url: 'InfAckRequested', valueBoolean: h.infAck },
      {
        url: 'RecipientType',
        valueCoding: { system: SYSTEM.recipientType, code: h.recipientType, display: RECIPIENT_TYPE[h.recipientType] },
      },
      { url: 'MessageDefinition', valueReference: { reference: h.messageDefinition } },
      { url: 'SenderReference', valueString: h.senderReference },
      { url: 'LocalExtension', valueString: h.localExtension },
    ],
  };
}

export function headerOrganization(id: string, odsCode: string): JsonObject {
  return {
    resourceType: 'Organization',
    id,
    meta: { profile: [PROFILE.headerOrganization] },
    identifier: [{ system: SYSTEM.odsOrganisation, value: odsCode }],
  };
}

/** Outbound MessageHeader (GPCM-SD-039..049; 1.x no receiver/destination, and none in 2.x either). */
export function outboundMessageHeader(e: EnvelopeInput): JsonObject {
  return {
    resourceType: 'MessageHeader',
    id: e.messageHeaderId,
    meta: { profile: [PROFILE.messageHeader] },
    extension: [
      handlingExtension({
        busAck: true,
        infAck: true,
        recipientType: e.recipientType,
        messageDefinition: MESSAGE_DEFINITION.sendDocument,
        senderReference: e.senderReference,
        localExtension: PROFILE_CONSTANTS[e.profile].localExtension,
      }),
    ],
    event: { system: SYSTEM.messageEvent, code: EVENT.sendDocument.code, display: EVENT.sendDocument.display },
    sender: { reference: urn(e.headerOrganizationId) },
    timestamp: e.now,
    source: { endpoint: e.senderMailbox },
    // STU3 MessageHeader.focus is 0..* (an array in JSON); ITK-MessageHeader-2 allows one.
    focus: [{ reference: urn(e.documentBundleId) }],
  };
}

const DOCUMENT_PLACEHOLDER = '__itk3_document__';

/** The envelope as FHIR JSON with the document bundle inside. */
export function envelopeJson(e: EnvelopeInput, document: JsonObject): JsonObject {
  return {
    resourceType: 'Bundle',
    id: e.bundleId,
    meta: { profile: [PROFILE.messageBundle] },
    identifier: { system: SYSTEM.rfc4122, value: e.bundleIdentifier },
    type: 'message',
    entry: [
      { fullUrl: urn(e.messageHeaderId), resource: outboundMessageHeader(e) },
      { fullUrl: urn(e.headerOrganizationId), resource: headerOrganization(e.headerOrganizationId, e.senderOds) },
      { fullUrl: urn(e.documentBundleId), resource: document },
    ],
  };
}

/** The envelope as FHIR XML with an already-built document element tree inside. */
export function envelopeXml(e: EnvelopeInput, document: FNode): string {
  const tree = fromFhirJson(envelopeJson(e, { resourceType: 'Bundle', id: DOCUMENT_PLACEHOLDER }));
  const docEntry = tree.children.filter((c) => c.name === 'entry')[2];
  const resource = docEntry?.children.find((c) => c.name === 'resource');
  if (!resource) throw new Error('envelope has no document entry');
  resource.children = [document];
  return toXmlString(tree);
}
