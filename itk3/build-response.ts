import { EVENT, MESSAGE_DEFINITION, PROFILE, SYSTEM } from './constants';
import { buildRejected } from './errors';
import { fromFhirJson, type JsonObject } from './fhir-json';
import { toXmlString } from './fhir-xml';
import { handlingExtension, headerOrganization, urn } from './message';
import { RESPONSE_CODES, type ResponseCode } from './response-codes';

export interface BuildItk3ResponseInput {
  /** The outbound MessageHeader.id answered, or UNREADABLE-IN-ORIGINAL-MESSAGE. */
  respondsTo: string;
  /** The sender's SenderReference, echoed (GPCM-SD-052). */
  senderReference: string;
  /** ITK-ResponseCodes-1 code, e.g. 20013 or 30001. */
  code: string;
  responseBundleIdentifier: string;
  messageHeaderId: string;
  now: string;
  /** The responder's MESH mailbox. */
  sourceEndpoint: string;
  /** The responder's ODS code (header Organization, GPCM-SD-053). */
  senderOds: string;
  newId: () => string;
  diagnostics?: string;
  /** Overrides for tests of unknown codes or receiver quirks. */
  display?: string;
  responseCode?: ResponseCode;
  format?: 'xml' | 'json';
}

/**
 * Build a GP-Connect-conformant ITK3 Response (GPCM-SD-050..055, GPCM-SD-074):
 * Bus=false, Inf=false, SenderReference echoed, sender Organization, event ITK008M, response.identifier /
 * code / details, OperationOutcome (ITK-Response-OperationOutcome-1) with the code's severity and issue
 * type. For the GP-practice test peer and tests; the courier itself never answers responses.
 */
export function buildItk3Response(input: BuildItk3ResponseInput): string {
  const info = RESPONSE_CODES[input.code];
  if (!info && (!/^[123]\d{4}$/.test(input.code) || !input.responseCode)) {
    throw buildRejected('unknown ITK3 response code', [
      { path: 'code', message: 'not in ITK-ResponseCodes-1; pass responseCode (and display) to build an unknown code' },
    ]);
  }
  const responseCode: ResponseCode = input.responseCode ?? info?.responseCode ?? 'fatal-error';
  const positive = responseCode === 'ok';
  const bundleId = input.newId();
  const organizationId = input.newId();
  const outcomeId = input.newId();
  const issue: JsonObject = {
    severity: info?.severity ?? (positive ? 'information' : 'fatal'),
    code: info?.issueCode ?? (positive ? 'informational' : 'processing'),
    details: {
      coding: [
        { system: SYSTEM.responseCodes, code: input.code, display: input.display ?? info?.display ?? 'Unknown' },
      ],
    },
    // GPCM-SD-074: negative responses carry the error context in diagnostics.
    ...(input.diagnostics !== undefined
      ? { diagnostics: input.diagnostics }
      : !positive
        ? { diagnostics: info?.display ?? 'Error' }
        : {}),
  };
  const bundle: JsonObject = {
    resourceType: 'Bundle',
    id: bundleId,
    meta: { profile: [PROFILE.messageBundle] },
    identifier: { system: SYSTEM.rfc4122, value: input.responseBundleIdentifier },
    type: 'message',
    entry: [
      {
        fullUrl: urn(input.messageHeaderId),
        resource: {
          resourceType: 'MessageHeader',
          id: input.messageHeaderId,
          meta: { profile: [PROFILE.messageHeader] },
          extension: [
            handlingExtension({
              busAck: false,
              infAck: false,
              recipientType: 'FA',
              messageDefinition: MESSAGE_DEFINITION.response,
              senderReference: input.senderReference,
              localExtension: 'None',
            }),
          ],
          event: { system: SYSTEM.messageEvent, code: EVENT.response.code, display: EVENT.response.display },
          sender: { reference: urn(organizationId) },
          timestamp: input.now,
          source: { endpoint: input.sourceEndpoint },
          response: { identifier: input.respondsTo, code: responseCode, details: { reference: urn(outcomeId) } },
        },
      },
      { fullUrl: urn(organizationId), resource: headerOrganization(organizationId, input.senderOds) },
      {
        fullUrl: urn(outcomeId),
        resource: {
          resourceType: 'OperationOutcome',
          id: outcomeId,
          meta: { profile: [PROFILE.operationOutcome] },
          issue: [issue],
        },
      },
    ],
  };
  return input.format === 'json' ? JSON.stringify(bundle) : toXmlString(fromFhirJson(bundle));
}
