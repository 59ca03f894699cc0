import type { SenderAction } from '../contracts/itk3-response';
import { UNREADABLE_IN_ORIGINAL_MESSAGE } from '../contracts/itk3-response';
import { EVENT, EXT, HANDLING_KEYS, MESSAGE_DEFINITION, PROFILE, SYSTEM } from './constants';
import { responseInvalid } from './errors';
import { fromFhirJson, type JsonObject } from './fhir-json';
import {
  child,
  childrenNamed,
  decodeUtf8,
  extensionByUrl,
  parseFhirXml,
  resourceOf,
  val,
  type FNode,
  type XmlLimits,
} from './fhir-xml';
import { classifyResponseCode, type Polarity, type ResponseCode, type ResponseLevel } from './response-codes';

/**
 * Reading ITK3 Responses: XML or JSON into a typed, classified result.
 * Tolerates the quirks of the official examples (the `-Instance-1` MessageDefinition URL, ack flags set
 * true and SenderReference `None` on business acks, 20015 coded ok with severity fatal) and lists them in `quirks`; refuses anything else that is not an ITK3 Response with `ITK3_RESPONSE_INVALID`.
 */
export interface ParsedItk3Response {
  /** Bundle.identifier of the response itself: the idempotency key for duplicate deliveries. */
  responseBundleIdentifier: string;
  messageHeaderId: string;
  /** MessageHeader.response.identifier: the outbound MessageHeader.id it answers. */
  respondsTo: string;
  /** True when respondsTo is UNREADABLE-IN-ORIGINAL-MESSAGE (what a receiver sends for a message it could not read, code 10009). */
  uncorrelatable: boolean;
  responseCode: ResponseCode;
  code: string;
  display: string;
  level: ResponseLevel;
  polarity: Polarity;
  action: SenderAction;
  /** False for a code outside ITK-ResponseCodes-1 v1.5.0, classified by prefix and response.code. */
  knownCode: boolean;
  severity?: string;
  issueCode?: string;
  diagnostics?: string;
  senderReference?: string;
  sourceEndpoint?: string;
  senderOds?: string;
  timestamp?: string;
  busAckRequested?: boolean;
  infAckRequested?: boolean;
  /** Deviations from the GP Connect response rules that were tolerated (no patient data). */
  quirks: string[];
}

export const DEFAULT_RESPONSE_LIMITS: XmlLimits = { maxBytes: 1024 * 1024, maxDepth: 32, maxElements: 20_000 };

const RESPONSE_CODES: readonly string[] = ['ok', 'transient-error', 'fatal-error'];
const RESPONSE_MESSAGE_DEFINITIONS: readonly string[] = [
  MESSAGE_DEFINITION.response,
  MESSAGE_DEFINITION.responseLegacyInstance,
];

/** Parse the body of a MESH message on an `_ACK` workflow. XML unless it starts with `{` (FHIR JSON). */
export function parseItk3Response(body: string | Uint8Array, limits: Partial<XmlLimits> = {}): ParsedItk3Response {
  const lim = { ...DEFAULT_RESPONSE_LIMITS, ...limits };
  const root = readFhir(body, lim);
  return extractResponse(root);
}

/** Read FHIR XML or JSON into the element tree. */
export function readFhir(body: string | Uint8Array, lim: XmlLimits): FNode {
  if (body === null || body === undefined || (typeof body !== 'string' && !(body instanceof Uint8Array))) {
    throw responseInvalid('body must be a string or bytes');
  }
  const text = decodeUtf8(body, lim.maxBytes);
  const first = text.trimStart()[0];
  if (first === '{') return readFhirJson(text, lim);
  if (first !== '<') throw responseInvalid('not XML or JSON');
  return parseFhirXml(text, lim);
}

function jsonDepth(v: unknown, max: number, depth = 0): void {
  if (depth > max) throw responseInvalid('document is nested too deeply', [{ message: `deeper than ${max} levels` }]);
  if (Array.isArray(v)) for (const x of v) jsonDepth(x, max, depth + 1);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) jsonDepth(x, max, depth + 1);
}

function readFhirJson(text: string, lim: XmlLimits): FNode {
  // JSON.parse itself is iterative and has no entity expansion; depth is checked before the recursive conversion.
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw responseInvalid('not valid JSON');
  }
  jsonDepth(json, lim.maxDepth * 2);
  if (
    typeof json !== 'object' ||
    json === null ||
    Array.isArray(json) ||
    typeof (json as JsonObject).resourceType !== 'string'
  ) {
    throw responseInvalid('JSON is not a FHIR resource (no resourceType)');
  }
  try {
    return fromFhirJson(json as JsonObject);
  } catch {
    throw responseInvalid('JSON is not a FHIR resource');
  }
}

function profiles(resource: FNode): string[] {
  return childrenNamed(child(resource, 'meta'), 'profile').map((p) => p.attrs.value ?? '');
}

function bool(v: string | undefined): boolean | undefined {
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

function fail(message: string, path: string): never {
  throw responseInvalid(message, [{ path, message }]);
}

/** Pull the ITK3 Response out of a parsed Bundle and classify it. */
export function extractResponse(root: FNode): ParsedItk3Response {
  const quirks: string[] = [];
  if (root.name !== 'Bundle') fail('not an ITK3 Response: root is not a Bundle', 'Bundle');
  if (val(root, 'type') !== 'message') fail('not an ITK3 Response: Bundle.type is not message', 'Bundle.type');
  const responseBundleIdentifier = val(root, 'identifier', 'value');
  if (!responseBundleIdentifier) fail('ITK3 Response has no Bundle.identifier', 'Bundle.identifier.value');
  if (!profiles(root).includes(PROFILE.messageBundle)) quirks.push('Bundle.meta.profile is not ITK-Message-Bundle-1');

  const entries = childrenNamed(root, 'entry').map((e) => ({ fullUrl: val(e, 'fullUrl'), resource: resourceOf(e) }));
  const headers = entries.filter((e) => e.resource?.name === 'MessageHeader');
  if (headers.length === 0) fail('ITK3 Response has no MessageHeader', 'Bundle.entry.resource.MessageHeader');
  if (headers.length > 1) fail('ITK3 Response has several MessageHeaders', 'Bundle.entry.resource.MessageHeader');
  if (entries[0]?.resource?.name !== 'MessageHeader') fail('MessageHeader is not the first entry', 'Bundle.entry[0]');
  const header = headers[0]?.resource as FNode;

  const messageHeaderId = val(header, 'id');
  if (!messageHeaderId) fail('MessageHeader has no id', 'MessageHeader.id');
  const eventCode = val(header, 'event', 'code');
  const eventSystem = val(header, 'event', 'system');
  if (eventCode !== EVENT.response.code || (eventSystem !== undefined && eventSystem !== SYSTEM.messageEvent)) {
    fail('not an ITK3 Response: MessageHeader.event is not ITK008M', 'MessageHeader.event');
  }

  const response = child(header, 'response');
  if (!response) fail('ITK3 Response has no MessageHeader.response', 'MessageHeader.response');
  const respondsTo = val(response, 'identifier');
  if (!respondsTo) fail('MessageHeader.response.identifier is missing', 'MessageHeader.response.identifier');
  const responseCode = val(response, 'code');
  if (!responseCode || !RESPONSE_CODES.includes(responseCode)) {
    fail('MessageHeader.response.code is not ok, transient-error or fatal-error', 'MessageHeader.response.code');
  }

  // Handling extension: required, six keys; ack flags true on a response are a tolerated quirk (the official examples set InfAckRequested on business acks).
  const handling = extensionByUrl(header, EXT.messageHandling);
  if (!handling)
    fail('MessageHeader has no ITK message handling extension', 'MessageHeader.extension(ITKMessageHandling)');
  const key = (k: string) => extensionByUrl(handling, k);
  const missing = HANDLING_KEYS.filter((k) => !key(k));
  if (missing.length) {
    throw responseInvalid(
      'ITK message handling extension is incomplete',
      missing.map((k) => ({
        path: `MessageHeader.extension(ITKMessageHandling).${k}`,
        message: 'handling key missing',
      })),
    );
  }
  const busAckRequested = bool(val(key('BusAckRequested'), 'valueBoolean'));
  const infAckRequested = bool(val(key('InfAckRequested'), 'valueBoolean'));
  if (busAckRequested === undefined || infAckRequested === undefined)
    fail('ack flags are not booleans', 'MessageHeader.extension(ITKMessageHandling)');
  if (busAckRequested) quirks.push('BusAckRequested=true on a response (GPCM-SD-050 says false)');
  if (infAckRequested)
    quirks.push('InfAckRequested=true on a response (ITK3 full-ack pattern; GPCM-SD-051 says false)');
  const messageDefinition = val(key('MessageDefinition'), 'valueReference', 'reference');
  if (!messageDefinition || !RESPONSE_MESSAGE_DEFINITIONS.includes(messageDefinition)) {
    fail(
      'MessageDefinition is not the ITK Response MessageDefinition',
      'MessageHeader.extension(ITKMessageHandling).MessageDefinition',
    );
  }
  if (messageDefinition === MESSAGE_DEFINITION.responseLegacyInstance)
    quirks.push('MessageDefinition uses the legacy -Instance-1 URL');
  const senderReference = val(key('SenderReference'), 'valueString');
  if (senderReference === 'None') quirks.push('SenderReference is None (GPCM-SD-052 says echo the sender value)');

  // Sender: Organization (GP Connect) or Practitioner (ITK3 examples).
  const senderRef = val(header, 'sender', 'reference');
  const senderEntry = senderRef
    ? entries.find((e) => e.fullUrl === senderRef || (e.resource && senderRef.endsWith(`/${val(e.resource, 'id')}`)))
    : undefined;
  let senderOds: string | undefined;
  if (senderEntry?.resource?.name === 'Organization') {
    const ods = childrenNamed(senderEntry.resource, 'identifier').find(
      (i) => val(i, 'system') === SYSTEM.odsOrganisation,
    );
    senderOds = val(ods, 'value');
  } else if (senderEntry?.resource?.name === 'Practitioner') {
    quirks.push('sender is a Practitioner (GPCM-SD-053 says Organization)');
  } else {
    quirks.push('sender reference does not resolve to an Organization or Practitioner in the bundle');
  }

  // OperationOutcome: the one referenced by response.details, or else the only one.
  const detailsRef = val(response, 'details', 'reference');
  const outcomes = entries.filter((e) => e.resource?.name === 'OperationOutcome');
  let outcome = outcomes.find((e) => e.fullUrl !== undefined && e.fullUrl === detailsRef)?.resource;
  if (!outcome) {
    if (outcomes.length === 1) {
      outcome = outcomes[0]?.resource;
      quirks.push('response.details does not reference the OperationOutcome entry');
    } else fail('ITK3 Response has no OperationOutcome for response.details', 'MessageHeader.response.details');
  }
  const issues = childrenNamed(outcome, 'issue');
  const itkIssue = issues.find((i) =>
    childrenNamed(child(i, 'details'), 'coding').some((c) => val(c, 'system') === SYSTEM.responseCodes),
  );
  if (!itkIssue) fail('OperationOutcome has no ITK-ResponseCodes-1 coding', 'OperationOutcome.issue.details.coding');
  const coding = childrenNamed(child(itkIssue, 'details'), 'coding').find(
    (c) => val(c, 'system') === SYSTEM.responseCodes,
  );
  const code = val(coding, 'code');
  if (!code || !/^\d{5}$/.test(code))
    fail('ITK response code is not five digits', 'OperationOutcome.issue.details.coding.code');
  if (issues.length > 1)
    quirks.push('OperationOutcome has several issues; the first ITK-ResponseCodes-1 issue is used');

  const cls = classifyResponseCode(code, responseCode);
  const expectedRc = cls.polarity === 'positive' ? 'ok' : 'fatal-error';
  if (responseCode !== expectedRc)
    quirks.push(`response.code ${responseCode} disagrees with the code list for ${code}; the code list wins`);
  const display = val(coding, 'display') ?? cls.display ?? '';

  const result: ParsedItk3Response = {
    responseBundleIdentifier,
    messageHeaderId,
    respondsTo,
    uncorrelatable: respondsTo === UNREADABLE_IN_ORIGINAL_MESSAGE,
    responseCode: responseCode as ResponseCode,
    code,
    display,
    level: cls.level,
    polarity: cls.polarity,
    action: cls.action,
    knownCode: cls.known,
    quirks,
  };
  const opt = {
    severity: val(itkIssue, 'severity'),
    issueCode: val(itkIssue, 'code'),
    diagnostics: val(itkIssue, 'diagnostics'),
    senderReference,
    sourceEndpoint: val(header, 'source', 'endpoint'),
    senderOds,
    timestamp: val(header, 'timestamp'),
    busAckRequested,
    infAckRequested,
  };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (result as unknown as Record<string, unknown>)[k] = v;
  return result;
}
