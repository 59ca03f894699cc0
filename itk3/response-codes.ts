import type { SenderAction } from '../contracts/itk3-response';
import { responseInvalid } from './errors';

/**
 * ITK-ResponseCodes-1 (https://fhir.nhs.uk/STU3/CodeSystem/ITK-ResponseCodes-1, v1.5.0), every code
 * 10001–30025 with display, level, polarity, the FHIR mapping receivers use and
 * the sender's next action (our classification of retryable and fatal codes, contracts/itk3-response.ts).
 */
export type ResponseLevel = 'infrastructure' | 'business';
export type Polarity = 'positive' | 'negative';
export type ResponseCode = 'ok' | 'transient-error' | 'fatal-error';

export interface ResponseCodeInfo {
  code: string;
  display: string;
  level: ResponseLevel;
  polarity: Polarity;
  action: SenderAction;
  /** MessageHeader.response.code a conformant receiver sends. */
  responseCode: ResponseCode;
  /** OperationOutcome.issue.severity / issue.code a conformant receiver sends. */
  severity: 'fatal' | 'error' | 'warning' | 'information';
  issueCode: string;
}

type Row = [
  code: string,
  display: string,
  polarity: Polarity,
  action: SenderAction,
  severity: ResponseCodeInfo['severity'],
  issueCode: string,
];

const ROWS: Row[] = [
  // Infrastructure: handling-specification errors (1xxxx), all negative, fatal/processing. There is no 10006.
  ['10001', 'Handling Specification Error', 'negative', 'FIX_AND_RESEND', 'fatal', 'processing'],
  [
    '10002',
    'Infrastructure Level Response Value - Processing Error',
    'negative',
    'FIX_AND_RESEND',
    'fatal',
    'processing',
  ],
  ['10003', 'Business Level Response Value - Processing Error', 'negative', 'FIX_AND_RESEND', 'fatal', 'processing'],
  ['10004', 'Message Definition Value - Processing Error', 'negative', 'FIX_AND_RESEND', 'fatal', 'processing'],
  ['10005', 'Message Definition Version Value - Processing Error', 'negative', 'FIX_AND_RESEND', 'fatal', 'processing'],
  ['10007', 'Sender Reference Value - Processing Error', 'negative', 'FIX_AND_RESEND', 'fatal', 'processing'],
  ['10008', 'Handling Specification Business Rule Error', 'negative', 'FIX_AND_RESEND', 'fatal', 'processing'],
  ['10009', 'Unreadable message received', 'negative', 'INVESTIGATE_UNREADABLE', 'fatal', 'processing'],
  ['10010', 'Recipient Type - Processing Error', 'negative', 'FIX_AND_RESEND', 'fatal', 'processing'],
  // Infrastructure: header/payload errors and success (2xxxx)
  ['20001', 'Unrecognised Recipient Person', 'negative', 'ESCALATE_ROUTING', 'fatal', 'not-found'],
  ['20002', 'Unrecognised Recipient Organisation', 'negative', 'ESCALATE_ROUTING', 'fatal', 'not-found'],
  ['20003', 'Unrecognised Sender', 'negative', 'ESCALATE_ROUTING', 'fatal', 'not-found'],
  ['20004', 'Non-Approved file type received as an attachment', 'negative', 'FIX_AND_RESEND', 'fatal', 'security'],
  ['20005', 'Unsupported file type received as an attachment', 'negative', 'FIX_AND_RESEND', 'fatal', 'security'],
  ['20006', 'ITK header validation failure', 'negative', 'FIX_AND_RESEND', 'fatal', 'invalid'],
  ['20007', 'Duplicate Message received', 'negative', 'TREAT_AS_DUPLICATE', 'fatal', 'duplicate'],
  ['20008', 'Duplicate Document received', 'negative', 'TREAT_AS_DUPLICATE', 'fatal', 'duplicate'],
  ['20009', 'Payload validation failure', 'negative', 'FIX_AND_RESEND', 'fatal', 'invalid'],
  ['20010', 'Unrecognised Payload Recipient Organisation', 'negative', 'ESCALATE_ROUTING', 'fatal', 'not-found'],
  ['20011', 'Unrecognised Payload Recipient Person', 'negative', 'ESCALATE_ROUTING', 'fatal', 'not-found'],
  ['20012', 'Unauthorised Sender', 'negative', 'ESCALATE_ROUTING', 'fatal', 'security'],
  ['20013', 'Success', 'positive', 'AWAIT_BUSINESS_ACK', 'information', 'informational'],
  [
    '20014',
    'Unable to Process Replacement Document',
    'negative',
    'VOID_ORIGINAL_AND_REPLACEMENT',
    'fatal',
    'processing',
  ],
  // 20015 added in ITK3 2.9.0; the code list says Negative although the official example carries rc `ok`.
  ['20015', 'Message too large', 'negative', 'SHRINK_PAYLOAD', 'fatal', 'processing'],
  // Business (3xxxx): 30001–30004 GP practice; 30005–30018 alternative care providers; 30019–30025 GP registration.
  [
    '30001',
    'Patient known here. (e.g. Patient is registered here)',
    'positive',
    'DELIVERED',
    'information',
    'informational',
  ],
  [
    '30002',
    "Patient not known here. (aka 'patient record not present in system')",
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'fatal',
    'not-found',
  ],
  [
    '30003',
    'Patient no longer at this clinical setting',
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'fatal',
    'business-rule',
  ],
  ['30004', 'Patient known here and recently deceased', 'positive', 'DELIVERED', 'information', 'informational'],
  ['30005', 'Referral open', 'positive', 'DELIVERED', 'information', 'informational'],
  ['30006', 'Referral completed', 'positive', 'DELIVERED', 'information', 'informational'],
  ['30007', 'Referral escalated back to GP', 'negative', 'ESCALATE_BUSINESS_REJECTION', 'warning', 'informational'],
  ['30008', 'Signposting to GP (non-urgent)', 'positive', 'DELIVERED', 'information', 'informational'],
  ['30009', 'Clinical escalation to UTC/111/GPOOH', 'positive', 'DELIVERED', 'information', 'informational'],
  ['30010', 'Clinical escalation to A&E or 999', 'positive', 'DELIVERED', 'information', 'informational'],
  ['30011', 'Advised to go elsewhere/self-referral', 'positive', 'DELIVERED', 'information', 'informational'],
  ['30012', 'Unable to contact the patient', 'negative', 'ESCALATE_BUSINESS_REJECTION', 'warning', 'informational'],
  ['30013', 'Closure (service not needed)', 'positive', 'DELIVERED', 'information', 'informational'],
  [
    '30014',
    'Closure (service not accepted)',
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'information',
    'informational',
  ],
  ['30015', 'Closure (duplicate referral)', 'negative', 'ESCALATE_BUSINESS_REJECTION', 'information', 'duplicate'],
  ['30016', 'Referral accepted', 'positive', 'DELIVERED', 'information', 'informational'],
  ['30017', 'Referral rejected', 'negative', 'ESCALATE_BUSINESS_REJECTION', 'warning', 'informational'],
  ['30018', 'Did Not Attend', 'negative', 'ESCALATE_BUSINESS_REJECTION', 'warning', 'informational'],
  ['30019', 'GP Registration - Application accepted', 'positive', 'DELIVERED', 'information', 'informational'],
  [
    '30020',
    'GP Registration - Application pending',
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'warning',
    'informational',
  ],
  [
    '30021',
    'GP Registration - Application rejected (patient already registered)',
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'warning',
    'informational',
  ],
  [
    '30022',
    'GP Registration - Application rejected (at capacity)',
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'warning',
    'informational',
  ],
  [
    '30023',
    'GP Registration - Application rejected (out of boundary)',
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'warning',
    'informational',
  ],
  [
    '30024',
    'GP Registration - Application rejected (Previously removed from this practice)',
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'warning',
    'informational',
  ],
  [
    '30025',
    'GP Registration - Application rejected (Previously removed from another practice)',
    'negative',
    'ESCALATE_BUSINESS_REJECTION',
    'warning',
    'informational',
  ],
];

/** Every known ITK3 response code, keyed by code. */
export const RESPONSE_CODES: Readonly<Record<string, ResponseCodeInfo>> = Object.freeze(
  Object.fromEntries(
    ROWS.map(([code, display, polarity, action, severity, issueCode]) => [
      code,
      Object.freeze({
        code,
        display,
        level: code.startsWith('3') ? 'business' : 'infrastructure',
        polarity,
        action,
        responseCode: polarity === 'positive' ? 'ok' : 'fatal-error',
        severity,
        issueCode,
      } satisfies ResponseCodeInfo),
    ]),
  ),
);

export const KNOWN_RESPONSE_CODES: readonly string[] = Object.freeze(ROWS.map((r) => r[0]));

export interface CodeClassification {
  level: ResponseLevel;
  polarity: Polarity;
  action: SenderAction;
  known: boolean;
  display?: string;
}

const CODE_SHAPE = /^[123]\d{4}$/;

/**
 * Classify an ITK3 response code. Known codes take their level, polarity and
 * action from the code table whatever `responseCode` says (so the 20015 example's `ok` stays negative).
 * Unknown codes are classified by prefix (1/2 = infrastructure, 3 = business) and by `responseCode`
 * (`ok` = positive; anything else, or absent, = negative). Throws `ITK3_RESPONSE_INVALID` when the code is
 * not five digits starting 1, 2 or 3.
 */
export function classifyResponseCode(code: string, responseCode?: string): CodeClassification {
  const info = RESPONSE_CODES[code];
  if (info) {
    return { level: info.level, polarity: info.polarity, action: info.action, known: true, display: info.display };
  }
  if (!CODE_SHAPE.test(code)) {
    throw responseInvalid('ITK3 response code is not a five-digit ITK-ResponseCodes-1 code', [
      { path: 'OperationOutcome.issue.details.coding.code', message: 'expected five digits starting 1, 2 or 3' },
    ]);
  }
  const level: ResponseLevel = code.startsWith('3') ? 'business' : 'infrastructure';
  const polarity: Polarity = responseCode === 'ok' ? 'positive' : 'negative';
  let action: SenderAction;
  if (level === 'business') action = polarity === 'positive' ? 'DELIVERED' : 'ESCALATE_BUSINESS_REJECTION';
  else action = polarity === 'positive' ? 'AWAIT_BUSINESS_ACK' : 'FIX_AND_RESEND';
  return { level, polarity, action, known: false };
}
