import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

/**
 * Custom search attributes for the Temporal Web UI. Search attributes are stored in plaintext by the
 * server, so none of these may ever hold patient data: only states, ITK3/MESH ids and ODS codes.
 */
export const DeliveryStatusKey = defineSearchAttributeKey('DeliveryStatus', SearchAttributeType.KEYWORD);
export const WaitingForKey = defineSearchAttributeKey('WaitingFor', SearchAttributeType.KEYWORD);
export const Itk3MessageIdKey = defineSearchAttributeKey('Itk3MessageId', SearchAttributeType.KEYWORD);
export const Itk3MessageIdsKey = defineSearchAttributeKey('Itk3MessageIds', SearchAttributeType.KEYWORD_LIST);
export const RecipientOdsKey = defineSearchAttributeKey('RecipientOds', SearchAttributeType.KEYWORD);
export const SenderOdsKey = defineSearchAttributeKey('SenderOds', SearchAttributeType.KEYWORD);
export const EscalatedKey = defineSearchAttributeKey('Escalated', SearchAttributeType.BOOL);
export const AttemptCountKey = defineSearchAttributeKey('AttemptCount', SearchAttributeType.INT);
export const AckDeadlineKey = defineSearchAttributeKey('AckDeadline', SearchAttributeType.DATETIME);
export const MeshMessageIdKey = defineSearchAttributeKey('MeshMessageId', SearchAttributeType.KEYWORD);
/**
 * The MESH message id of every send attempt (not just the current one): the inbound router finds the
 * delivery of a MESH REPORT (non-delivery, EPL-150..154) for any attempt by it. Workflows started before
 * it existed have only `MeshMessageId`, which the router falls back to.
 */
export const MeshMessageIdsKey = defineSearchAttributeKey('MeshMessageIds', SearchAttributeType.KEYWORD_LIST);
/** The ITK3 SenderReference (the sending system's encounter id, never patient data): second correlation key for responses. */
export const SenderReferenceKey = defineSearchAttributeKey('SenderReference', SearchAttributeType.KEYWORD);
/** Inbound quarantine entries (workflows/quarantine.ts): why, and where each stands. */
export const QuarantineReasonKey = defineSearchAttributeKey('QuarantineReason', SearchAttributeType.KEYWORD);
export const QuarantineStatusKey = defineSearchAttributeKey('QuarantineStatus', SearchAttributeType.KEYWORD);
/** Consultation lifecycle (workflows/consultation.ts): where each consultation stands, and when its waiting content is due. */
export const ConsultationStatusKey = defineSearchAttributeKey('ConsultationStatus', SearchAttributeType.KEYWORD);
export const SendDueAtKey = defineSearchAttributeKey('SendDueAt', SearchAttributeType.DATETIME);

/**
 * What a delivery publishes about itself before its first send (`publish` in workflows/send-document.ts),
 * given the first attempt's ITK3 MessageHeader id. The API starts each delivery with these and that id in
 * its input (`firstAttempt`), so the workflow has nothing to upsert before the send: one visibility write
 * and one history event fewer per delivery, and the router can find the delivery by its ITK3 id from
 * the moment it exists.
 */
export function firstAttemptSearchAttributes(p: { recipientOds: string; senderOds: string; messageHeaderId: string }): SearchAttributePair[] {
  return [
    { key: DeliveryStatusKey, value: 'SENDING' },
    { key: WaitingForKey, value: 'MESH_SEND' },
    { key: EscalatedKey, value: false },
    { key: AttemptCountKey, value: 1 },
    { key: Itk3MessageIdKey, value: p.messageHeaderId },
    { key: Itk3MessageIdsKey, value: [p.messageHeaderId] },
    { key: RecipientOdsKey, value: p.recipientOds },
    { key: SenderOdsKey, value: p.senderOds },
  ];
}

export const ALL_SEARCH_ATTRIBUTES = [
  DeliveryStatusKey,
  WaitingForKey,
  Itk3MessageIdKey,
  Itk3MessageIdsKey,
  RecipientOdsKey,
  SenderOdsKey,
  EscalatedKey,
  AttemptCountKey,
  AckDeadlineKey,
  MeshMessageIdKey,
  MeshMessageIdsKey,
  SenderReferenceKey,
  QuarantineReasonKey,
  QuarantineStatusKey,
  ConsultationStatusKey,
  SendDueAtKey,
] as const;

/** `Name=Type` pairs for `temporal server start-dev --search-attribute`. */
export function searchAttributeFlags(): string[] {
  const cli: Record<string, string> = {
    KEYWORD: 'Keyword',
    KEYWORD_LIST: 'KeywordList',
    BOOL: 'Bool',
    INT: 'Int',
    DATETIME: 'Datetime',
    TEXT: 'Text',
    DOUBLE: 'Double',
  };
  return ALL_SEARCH_ATTRIBUTES.map((k) => `${k.name}=${cli[k.type] ?? 'Keyword'}`);
}
