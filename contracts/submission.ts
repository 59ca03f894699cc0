import { z } from 'zod';
import { DeliveryDeadlinesSchema } from './delivery';
import type { Issue } from './errors';

/**
 * A Send Document submission from a backend service: what to send, about whom, from whom. This is the
 * edge schema of `POST /v1/documents` and of `itk3 submit`. It carries patient data, so it never
 * travels through workflow history in plaintext: the API stores it in the encrypted content store and
 * the workflow carries only a claim-check reference (see `ContentRef`).
 */

const ODS_CODE = /^[A-Z0-9]{3,10}$/;
const MESH_MAILBOX = /^[A-Z0-9]{3,20}$/;

/**
 * Modulus 11 check for a ten-digit NHS number (NHS Data Dictionary). A number of ten identical digits
 * (0000000000, 1111111111...) passes the arithmetic but is a placeholder no one is ever issued, so it
 * is refused too.
 */
export function isValidNhsNumber(value: string): boolean {
  if (!/^\d{10}$/.test(value)) return false;
  if (/^(\d)\1{9}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(value[i]) * (10 - i);
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  if (check === 10) return false;
  return check === Number(value[9]);
}

/**
 * Base64 check by a linear scan: a regular expression over a multi-megabyte attachment can exhaust
 * the regex engine's stack and turn a 400 into a 500.
 */
export function isBase64(value: string): boolean {
  if (value.length === 0 || value.length % 4 !== 0) return false;
  const pad = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  for (let i = 0; i < value.length - pad; i++) {
    const c = value.charCodeAt(i);
    const ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (!ok) return false;
  }
  return true;
}

/**
 * The first character XML 1.0 cannot carry (§2.2 Char), or a Unicode noncharacter, as `U+XXXX`; undefined
 * when there is none. Such a character makes the message not well formed (U+FFFE, U+FFFF, lone
 * surrogates, C0 controls other than TAB, LF and CR) or is reserved for internal use and never
 * interchanged (U+FDD0-U+FDEF and the last two code points of every plane).
 */
export function xmlUnsafeCharacter(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let bad = false;
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else bad = true;
    } else if (c >= 0xdc00 && c <= 0xdfff) bad = true;
    if (cp < 0x20 && cp !== 0x09 && cp !== 0x0a && cp !== 0x0d) bad = true;
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) bad = true;
    if (bad) return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return undefined;
}

const XML_UNSAFE_MESSAGE = 'contains a character XML cannot carry (a noncharacter such as U+FFFE/U+FFFF, a lone surrogate or a control character)';

/** Earliest birth date or encounter time a submission may hold: older is a data-entry error. */
export const EARLIEST_DATE = '1900-01-01';

/** True when base64 `data` decodes to bytes that start with the PDF header `%PDF-` (ISO 32000-1 §7.5.2). */
export function looksLikePdf(data: string): boolean {
  // Eight base64 characters are six bytes: enough for the five-byte header.
  const head = data.slice(0, 8);
  let bytes: string;
  try {
    bytes = atob(head.length % 4 === 0 ? head : head.slice(0, head.length - (head.length % 4)));
  } catch {
    return false;
  }
  return bytes.startsWith('%PDF-');
}

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((d) => d >= EARLIEST_DATE, `must not be before ${EARLIEST_DATE}`);

/**
 * A FHIR STU3 dateTime with a time: seconds are required and the offset is within ±14:00 (the STU3
 * dateTime regex), which `z.iso.datetime` alone does not check (it takes 09:30+00:00 and +14:30).
 */
const isoDateTime = z.iso
  .datetime({ offset: true })
  .refine((v) => /T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v), 'must have seconds and a time zone, e.g. 2026-11-25T09:30:00+00:00')
  .refine((v) => {
    const m = /([+-])(\d{2}):(\d{2})$/.exec(v);
    return !m || Number(m[2]) * 60 + Number(m[3]) <= 14 * 60;
  }, 'time zone offset must be within -14:00 and +14:00')
  .refine((v) => v.slice(0, 10) >= EARLIEST_DATE, `must not be before ${EARLIEST_DATE}`);
const safeText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(s), 'must not contain control characters')
    .refine((s) => xmlUnsafeCharacter(s) === undefined, XML_UNSAFE_MESSAGE);

/**
 * Characters a single-line name must not hold: every control character (C0 incl. TAB, LF and CR; DEL; C1),
 * the Unicode line and paragraph separators, and format characters (bidi embeddings, overrides and
 * isolates U+202A-E/U+2066-9, marks U+200E/F/U+061C, soft hyphen, zero-width space, BOM...). A name goes
 * into the MESH subject and, in GPPROVIDER routing, the routing address; a line
 * break there is header injection, an override makes the name read differently from what it is. ZWNJ and
 * ZWJ (U+200C/D) stay allowed: Persian and Indic names are spelled with them.
 */
const LINE_BREAK_OR_CONTROL = /[\p{Cc}\u2028\u2029]/u;
const FORMAT_CHARACTER = /(?![\u200c\u200d])\p{Cf}/u;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A single-line name field: issues name the field, so the API's 400 says which name to fix. Leading and
 * trailing white space is trimmed (a form-filling artefact, never part of a name: an untrimmed family
 * name would not match PDS or the GPPROVIDER routing address); a name of white space only is refused.
 */
const nameText = (field: string, max: number) =>
  z
    .string()
    .trim()
    .min(1, `${field} must not be empty or white space only`)
    .max(max)
    .refine(
      (s) => !LINE_BREAK_OR_CONTROL.test(s),
      `${field} must be a single line: no CR, LF, TAB or other control characters`,
    )
    .refine(
      (s) => !FORMAT_CHARACTER.test(s),
      `${field} must not contain bidi overrides or other invisible format characters`,
    )
    .refine((s) => !LONE_SURROGATE.test(s), `${field} must be well-formed Unicode (no lone surrogates)`)
    .refine((s) => xmlUnsafeCharacter(s) === undefined, `${field} ${XML_UNSAFE_MESSAGE}`);

export const NhsNumberSchema = z
  .string()
  .regex(/^\d{10}$/, 'NHS number must be ten digits')
  .refine(isValidNhsNumber, 'NHS number fails the modulus 11 check (or is ten identical digits)');

export const PatientSchema = z.object({
  nhsNumber: NhsNumberSchema,
  givenName: nameText('patient.givenName', 100),
  familyName: nameText('patient.familyName', 100),
  birthDate: isoDate,
  gender: z.enum(['male', 'female', 'other', 'unknown']).optional(),
});

export const SenderOrganisationSchema = z.object({
  odsCode: z.string().regex(ODS_CODE, 'ODS code must be 3-10 upper-case letters or digits'),
  name: nameText('sender.name', 200),
  telephone: safeText(40).optional(),
  meshMailbox: z.string().regex(MESH_MAILBOX, 'MESH mailbox id must be upper-case letters or digits'),
});

export const RecipientSchema = z.object({
  /** ODS code of the patient's registered GP practice (from PDS). */
  odsCode: z.string().regex(ODS_CODE, 'ODS code must be 3-10 upper-case letters or digits'),
  name: nameText('recipient.name', 200).optional(),
});

export const PractitionerSchema = z.object({
  sdsUserId: safeText(40),
  givenName: nameText('author.givenName', 100),
  familyName: nameText('author.familyName', 100),
  telephone: safeText(40).optional(),
});

export const EncounterSchema = z
  .object({
    /**
     * The sending system's id for the consultation; becomes the ITK3 SenderReference. One line: an id with
     * a TAB or line break is refused by the document route (itk3/wrap-document.ts) and is no one's id.
     */
    id: safeText(255).refine((s) => !/[\t\r\n]/.test(s), 'must be a single line (no TAB, CR or LF)'),
    start: isoDateTime,
    end: isoDateTime.optional(),
    summary: safeText(2000).optional(),
  })
  .refine((e) => !e.end || Date.parse(e.end) >= Date.parse(e.start), { message: 'encounter end must not be before its start', path: ['end'] });

const AttachmentFields = z.object({
  contentType: z.enum([
    'application/pdf',
    'application/msword',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'text/html',
    'text/plain',
    'text/xml',
    'image/jpg',
    'image/png',
  ]),
  title: safeText(200).optional(),
  dataBase64: z.string().min(1).refine(isBase64, 'must be base64 (RFC 4648, padded)'),
});

/** Content declared as PDF must be one: a receiver that opens it as a PDF would otherwise fail (GPCM-SD-124). */
const pdfIsPdf = <T extends { contentType: string; dataBase64: string }>(a: T): boolean =>
  a.contentType !== 'application/pdf' || !isBase64(a.dataBase64) || looksLikePdf(a.dataBase64);
const PDF_HEADER_ISSUE = { message: 'application/pdf content must start with %PDF-', path: ['dataBase64'] };

export const AttachmentSchema = AttachmentFields.refine(pdfIsPdf, PDF_HEADER_ISSUE);
const ReportSchema = AttachmentFields.extend({ contentType: z.literal('application/pdf') }).refine(pdfIsPdf, PDF_HEADER_ISSUE);


/** A SNOMED CT coding (code and display), e.g. a 2.x document type or care setting. */
export const SnomedCodingSchema = z.object({
  code: z.string().regex(/^\d{6,18}$/, 'must be a SNOMED CT concept id'),
  display: safeText(200),
});

export const SubmissionSchema = z.object({
  /** Identifier of the clinical document (UUID); the same across versions of one consultation. */
  documentId: z.uuid(),
  version: z.number().int().min(1).default(1),
  patient: PatientSchema,
  sender: SenderOrganisationSchema,
  recipient: RecipientSchema,
  author: PractitionerSchema.optional(),
  encounter: EncounterSchema,
  /** The PDF consultation report: first section entry of the document (GPCM-SD-112). */
  report: ReportSchema,
  attachments: z.array(AttachmentSchema).max(20).default([]),
  confidentiality: z.enum(['N', 'R']).default('N'),
  /** 2.x Composition.type (SD2; SCAL GPCM-SD-115). Default 371531000 "Report of clinical encounter". */
  documentType: SnomedCodingSchema.optional(),
  /** 2.x Composition.extension(careSettingType) (SD2 2.0.0), e.g. 789718008 "Cardiology service". */
  careSetting: SnomedCodingSchema.optional(),
  /** For a replacement: the document it replaces (GPCM-SD-126..132, 1.3.1). */
  replaces: z.object({ documentId: z.uuid(), version: z.number().int().min(1) }).optional(),
  /**
   * Per-submission deadline overrides in milliseconds; they win over the recipient's and the defaults
   * (config/deadlines.ts). Acknowledgement deadlines are measured from the MESH send time.
   */
  deadlines: DeliveryDeadlinesSchema.partial().strict().optional(),
});
export type Submission = z.infer<typeof SubmissionSchema>;
export type SubmissionInput = z.input<typeof SubmissionSchema>;

/**
 * The practice sends its acknowledgements to `sender.meshMailbox`: only a mailbox this deployment reads
 * may be named, or a submitter could route another organisation's acknowledgements (or ours) anywhere.
 * Checked at the API and again for an operator's correction or replacement.
 */
export function senderMailboxIssues(submission: Submission, ownMailboxes: readonly string[]): Issue[] {
  if (ownMailboxes.includes(submission.sender.meshMailbox)) return [];
  return [{ path: 'sender.meshMailbox', message: 'must be a MESH mailbox of this deployment (MESH_MAILBOX_ID or MESH_MAILBOXES)', requirementId: 'GPCM-SD-046' }];
}

/**
 * The receiver archives the replaced document under the replacement (GPCM-SD-126), so a replacement about
 * another patient would file one patient's record in another's. Checked at the API and for the operator's
 * `replace` update.
 */
export function replacementPatientIssues(replaced: Submission, replacement: Submission): Issue[] {
  const a = replaced.patient;
  const b = replacement.patient;
  if (a.nhsNumber === b.nhsNumber && a.birthDate === b.birthDate) return [];
  return [{ path: 'patient', message: 'a replacement must be about the same patient (NHS number and birth date) as the version it replaces', requirementId: 'GPCM-SD-126' }];
}
