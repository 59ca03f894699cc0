import { z } from 'zod';
import { DeliveryDeadlinesSchema } from './delivery';

/**
 * A Send Document submission from a backend service: what to send, about whom, from whom. This is the
 * edge schema of `POST /v1/documents` and of `itk3 submit`. It carries patient data, so it never
 * travels through workflow history in plaintext: the API stores it in the encrypted content store and
 * the workflow carries only a claim-check reference (see `ContentRef`).
 */

const ODS_CODE = /^[A-Z0-9]{3,10}$/;
const MESH_MAILBOX = /^[A-Z0-9]{3,20}$/;

/** Modulus 11 check for a ten-digit NHS number (NHS Data Dictionary). */
export function isValidNhsNumber(value: string): boolean {
  if (!/^\d{10}$/.test(value)) return false;
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

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const isoDateTime = z.iso.datetime({ offset: true });
const safeText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(s), 'must not contain control characters');

/**
 * Characters a single-line name must not hold: every control character (C0 incl. TAB, LF and CR; DEL; C1),
 * the Unicode line and paragraph separators, and format characters (bidi embeddings, overrides and
 * isolates U+202A-E/U+2066-9, marks U+200E/F/U+061C, soft hyphen, zero-width space, BOM...). A name goes
 * into the MESH subject and, in GPPROVIDER routing, the routing address (reference/mesh.md §3.4); a line
 * break there is header injection, an override makes the name read differently from what it is. ZWNJ and
 * ZWJ (U+200C/D) stay allowed: Persian and Indic names are spelled with them.
 */
const LINE_BREAK_OR_CONTROL = /[\p{Cc}\u2028\u2029]/u;
const FORMAT_CHARACTER = /(?![\u200c\u200d])\p{Cf}/u;
const LONE_SURROGATE = /\p{Cs}/u;

/** A single-line name field: issues name the field, so the API's 400 says which name to fix. */
const nameText = (field: string, max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine(
      (s) => !LINE_BREAK_OR_CONTROL.test(s),
      `${field} must be a single line: no CR, LF, TAB or other control characters`,
    )
    .refine(
      (s) => !FORMAT_CHARACTER.test(s),
      `${field} must not contain bidi overrides or other invisible format characters`,
    )
    .refine((s) => !LONE_SURROGATE.test(s), `${field} must be well-formed Unicode (no lone surrogates)`);

export const NhsNumberSchema = z
  .string()
  .regex(/^\d{10}$/, 'NHS number must be ten digits')
  .refine(isValidNhsNumber, 'NHS number fails the modulus 11 check');

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

export const EncounterSchema = z.object({
  /** The sending system's id for the consultation; becomes the ITK3 SenderReference. */
  id: safeText(255),
  start: isoDateTime,
  end: isoDateTime.optional(),
  summary: safeText(2000).optional(),
});

export const AttachmentSchema = z.object({
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
  report: AttachmentSchema.extend({ contentType: z.literal('application/pdf') }),
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
