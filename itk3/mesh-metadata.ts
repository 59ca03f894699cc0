import type { SpecProfile } from '../contracts/delivery';
import type { Issue } from '../contracts/errors';
import { CONSULTATION_REPORT_TITLE } from './constants';

/**
 * MESH metadata of a Send Document message: the GPPROVIDER routing address,
 * the subject and the local id. The routing address and subject carry patient identifiers because the
 * spec requires them in the MESH headers: they live only in the built output, never in errors or logs.
 */
export type DobFormat = 'DDMMYYYY' | 'YYYYMMDD';

export interface RoutingDemographics {
  nhsNumber: string;
  /** FHIR date YYYY-MM-DD. */
  birthDate: string;
  familyName: string;
}

const FHIR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True when `yyyy-mm-dd` is a real calendar date. */
export function isRealDate(date: string): boolean {
  const m = FHIR_DATE.exec(date);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days =
    [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] ??
    0;
  return d <= days;
}

export function formatDob(birthDate: string, format: DobFormat): string {
  const m = FHIR_DATE.exec(birthDate);
  if (!m) throw new RangeError('birthDate must be YYYY-MM-DD');
  const [, y, mo, d] = m;
  return format === 'DDMMYYYY' ? `${d}${mo}${y}` : `${y}${mo}${d}`;
}

/**
 * What the MESH client lets into a header (mesh/mesh-client.ts `HEADER_SAFE`): printable ASCII and printable
 * Latin-1. A control character is MESH error 06, and `fetch` cannot put a character above U+00FF in a header.
 */
export const MESH_HEADER_SAFE = /^[\x20-\x7e\xa0-\xff]*$/;

const PRINTABLE_LATIN1 = /^[\x20-\x7e\xa0-\xff]$/;
/** Line and tab controls read as word breaks; every other control character is dropped. */
const SPACING_CONTROL = /^[\t\n\v\f\r\x85]$/;
/** Format (incl. bidi controls U+202A-E, U+2066-9, soft hyphen, ZWJ), surrogate, private-use, unassigned. */
const DROPPED = /^[\p{Cf}\p{Cs}\p{Co}\p{Cn}]$/u;
const SEPARATOR = /^\p{Z}$/u;
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const COMBINING_MARKS = /\p{M}/gu;

/**
 * Latin letters and punctuation that Unicode does not decompose to a Latin-1 base (NFKD leaves them whole),
 * written the way they are conventionally transliterated; typographic quotes and dashes become ASCII ones.
 */
const TRANSLITERATION: ReadonlyMap<string, string> = new Map([
  ...pairs('Ł L ł l Đ D đ d Ħ H ħ h ı i ȷ j ĸ k Œ OE œ oe Ŧ T ŧ t Ŋ N ŋ n ƒ f Ə E ə e Ǝ E ǝ e Ɛ E ɛ e Ɨ I ɨ i'),
  ...pairs('Ƶ Z ƶ z Ɓ B ɓ b Ɗ D ɗ d Ƙ K ƙ k Ƴ Y ƴ y ẞ SS'),
  // ‘ ’ ‚ ‛ ′ ʹ ʻ ʼ ˈ, then “ ” „ ‟ ″, then the hyphens and dashes ‐ ‑ ‒ – — ― −
  ...[...'\u2018\u2019\u201a\u201b\u2032\u02b9\u02bb\u02bc\u02c8'].map((c) => [c, "'"] as const),
  ...[...'\u201c\u201d\u201e\u201f\u2033'].map((c) => [c, '"'] as const),
  ...[...'\u2010\u2011\u2012\u2013\u2014\u2015\u2212'].map((c) => [c, '-'] as const),
]);

function pairs(table: string): Array<readonly [string, string]> {
  const words = table.split(' ');
  return words.flatMap((w, i) => (i % 2 === 0 ? [[w, words[i + 1] ?? ''] as const] : []));
}

export interface HeaderText {
  /** Printable ASCII/Latin-1 only, single spaces, trimmed. */
  text: string;
  /** Letters or digits with no Latin transliteration, written as `?` (e.g. Cyrillic, CJK). */
  unrepresentable: number;
}

/** One code point (NFC) as header text; undefined when it is dropped. */
function headerChar(ch: string): { text: string; unrepresentable?: true } | undefined {
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return SPACING_CONTROL.test(ch) ? { text: ' ' } : undefined;
  if (DROPPED.test(ch)) return undefined;
  if (SEPARATOR.test(ch)) return { text: ' ' };
  if (PRINTABLE_LATIN1.test(ch)) return { text: ch };
  const mapped = TRANSLITERATION.get(ch);
  if (mapped !== undefined) return { text: mapped };
  // Compatibility decomposition without the accents: Ż -> Z, ć -> c, ﬃ -> ffi, ŉ -> 'n, ① -> 1.
  let folded = '';
  for (const part of ch.normalize('NFKD').replace(COMBINING_MARKS, '')) {
    const text = PRINTABLE_LATIN1.test(part) ? part : TRANSLITERATION.get(part);
    if (text === undefined) {
      folded = '';
      break;
    }
    folded += text;
  }
  if (folded !== '') return { text: folded };
  if (LETTER_OR_DIGIT.test(ch)) return { text: '?', unrepresentable: true };
  return undefined; // emoji and other symbols, stray combining marks, punctuation with no ASCII form
}

/**
 * A name (or other free text) as a MESH header can carry it (MESH refuses control characters
 * with error 06; the client accepts printable Latin-1 only). Printable Latin-1 is kept as it is; other
 * Latin letters are transliterated (NFKD without combining marks, plus a table for Ł, Đ, ı, Œ...); CR, LF,
 * TAB and other separators become one space; bidi controls and other format characters, emoji and
 * symbols are dropped; letters with no Latin form become `?`. Only headers use this: the FHIR document
 * keeps the name as submitted. The result can be longer than the input (Œ -> OE, ﬃ -> ffi): callers
 * check the header's length limit on the result (`meshSubject` fits it, `surnameRoutingIssues` refuses).
 */
export function toHeaderText(value: string): HeaderText {
  let text = '';
  let unrepresentable = 0;
  for (const ch of value.normalize('NFC')) {
    const out = headerChar(ch);
    if (!out) continue;
    text += out.text;
    if (out.unrepresentable) unrepresentable++;
  }
  text = text.replace(/ {2,}/g, ' ').trim();
  return { text, unrepresentable };
}

/** `toHeaderText(value).text`. */
export function headerSafeText(value: string): string {
  return toHeaderText(value).text;
}

const MESH_SUBJECT_MAX = 500;
const GPPROVIDER_PREFIX_LENGTH = 'GPPROVIDER_'.length + 10 + 1 + 8 + 1;
const MEX_TO_MAX = 100;

/** Problems that stop a surname being used in the underscore-delimited routing address (GPCM-SD-063). */
export function surnameRoutingIssues(familyName: string): Issue[] {
  const issues: Issue[] = [];
  const header = toHeaderText(familyName);
  if (familyName.includes('_') || header.text.includes('_')) {
    issues.push({
      path: 'patient.familyName',
      message: 'surname contains "_" which delimits the MESH routing address',
      requirementId: 'GPCM-SD-063',
    });
  }
  if (familyName.trim() !== familyName || familyName.trim() === '') {
    issues.push({
      path: 'patient.familyName',
      message: 'surname has leading or trailing spaces',
      requirementId: 'GPCM-SD-063',
    });
  } else if (header.text === '' || header.unrepresentable > 0) {
    issues.push({
      path: 'patient.familyName',
      message:
        'surname cannot be written in the MESH routing address (a header): letters with no Latin form, or only symbols',
      requirementId: 'GPCM-SD-063',
    });
  }
  if (GPPROVIDER_PREFIX_LENGTH + header.text.length > MEX_TO_MAX) {
    issues.push({
      path: 'patient.familyName',
      message: `surname is longer than ${MEX_TO_MAX - GPPROVIDER_PREFIX_LENGTH} characters, more than the MESH routing address (Mex-To, at most ${MEX_TO_MAX}) holds`,
      requirementId: 'GPCM-SD-063',
    });
  }
  return issues;
}

/**
 * `GPPROVIDER_<NHS number>_<DOB>_<Surname>` (GPCM-SD-060/063). The DOB format is configuration: GP Connect 1.x and every .CTL
 * example use DDMMYYYY, the SD2 MESH API page YYYYMMDD, and which one MESH expects is not settled. The surname is written in its header form (`toHeaderText`): Mex-To is a header.
 */
export function gpProviderAddress(p: RoutingDemographics, dobFormat: DobFormat): string {
  return `GPPROVIDER_${p.nhsNumber}_${formatDob(p.birthDate, dobFormat)}_${headerSafeText(p.familyName)}`;
}

export interface ParsedGpProviderAddress {
  nhsNumber: string;
  dob: string;
  surname: string;
}

/** Split a GPPROVIDER routing address; undefined when it is not one. */
export function parseGpProviderAddress(address: string): ParsedGpProviderAddress | undefined {
  const m = /^GPPROVIDER_(\d{10})_(\d{8})_(.+)$/.exec(address);
  if (!m || m[3]?.includes('_')) return undefined;
  return { nhsNumber: m[1] ?? '', dob: m[2] ?? '', surname: m[3] ?? '' };
}

/**
 * GPCM-SD-038: surname, date of birth and NHS number in the Patient resource must match the routing
 * address. Surname comparison ignores case (MESH matches demographics case-insensitively [derived]).
 * Issues name the fields that differ, never their values.
 */
export function routingAddressMismatches(address: string, p: RoutingDemographics, dobFormat: DobFormat): Issue[] {
  const parsed = parseGpProviderAddress(address);
  if (!parsed) {
    return [
      {
        path: 'mesh.to',
        message: 'routing address is not GPPROVIDER_<NHS number>_<DOB>_<Surname>',
        requirementId: 'GPCM-SD-063',
      },
    ];
  }
  const issues: Issue[] = [];
  if (parsed.nhsNumber !== p.nhsNumber)
    issues.push({
      path: 'Patient.identifier(nhsNumber)',
      message: 'NHS number differs from the MESH routing address',
      requirementId: 'GPCM-SD-038',
    });
  let dob: string | undefined;
  try {
    dob = formatDob(p.birthDate, dobFormat);
  } catch {
    dob = undefined;
  }
  if (parsed.dob !== dob)
    issues.push({
      path: 'Patient.birthDate',
      message: `date of birth differs from the MESH routing address (${dobFormat})`,
      requirementId: 'GPCM-SD-038',
    });
  const surname = parsed.surname.toUpperCase();
  if (surname !== p.familyName.toUpperCase() && surname !== headerSafeText(p.familyName).toUpperCase())
    issues.push({
      path: 'Patient.name.family',
      message: 'surname differs from the MESH routing address',
      requirementId: 'GPCM-SD-038',
    });
  return issues;
}

export interface SubjectParts {
  title?: string;
  patientName: string;
  nhsNumber: string;
  /** Omitted for a confidential (R) consultation: practice items are left out (GPCM-SD-102). */
  practiceName?: string;
  odsCode?: string;
  version: number;
}

/**
 * MESH subject. 1.x (GPCM 1.3.1, GPCM-SD-061/064 + GPCM-SD-091 version):
 * `Consultation report for {Patient Name}, NHS Number {NHS Number}, seen at {Practice Name}, ODS Code {ODS Code}, Version {Version Number}`;
 * 2.x (SD2 MESH API): `[payload-title] for [patient-name], NHS Number: [nhs-number], seen at [practice-name], ODS code: [ods-code], version [version]`.
 * Every part is written in its header form (`toHeaderText`); `compositionSummary` keeps the names as they are.
 */
export function meshSubject(profile: SpecProfile, s: SubjectParts): string {
  // A header: free text in its header form (toHeaderText), never CR/LF or characters fetch cannot send.
  const text = {
    title: headerSafeText(s.title ?? CONSULTATION_REPORT_TITLE),
    patientName: headerSafeText(s.patientName),
    practiceName: headerSafeText(s.practiceName ?? ''),
  };
  const practice = s.practiceName !== undefined && s.odsCode !== undefined;
  const odsCode = headerSafeText(s.odsCode ?? '');
  const nhsNumber = headerSafeText(s.nhsNumber);
  const render = (): string =>
    profile === '1.x'
      ? `${text.title} for ${text.patientName}, NHS Number ${nhsNumber}${practice ? `, seen at ${text.practiceName}, ODS Code ${odsCode}` : ''}, Version ${s.version}`
      : `${text.title} for ${text.patientName}, NHS Number: ${nhsNumber}${practice ? `, seen at ${text.practiceName}, ODS code: ${odsCode}` : ''}, version ${s.version}`;
  const subject = render();
  if (subject.length <= MESH_SUBJECT_MAX) return subject;
  // Names at the schema's limits fit in 500 characters; transliteration (Œ -> OE) or a long supplied
  // title can push past it, and MESH refuses a longer subject: cut the longest free texts to one length.
  const shown: Array<keyof typeof text> = practice
    ? ['title', 'patientName', 'practiceName']
    : ['title', 'patientName'];
  let budget = shown.reduce((n, k) => n + text[k].length, 0) - (subject.length - MESH_SUBJECT_MAX);
  let cap = 0;
  const byLength = [...shown].sort((x, y) => text[x].length - text[y].length);
  for (const [i, k] of byLength.entries()) {
    cap = Math.max(0, Math.floor(budget / (byLength.length - i)));
    if (text[k].length > cap) break;
    budget -= text[k].length;
  }
  for (const k of shown) text[k] = text[k].slice(0, cap).trimEnd();
  return render();
}

/** Composition.text summary (GPCM-SD-119). */
export function compositionSummary(s: SubjectParts): string {
  const practice = s.practiceName !== undefined && s.odsCode !== undefined;
  return `${s.title ?? CONSULTATION_REPORT_TITLE} for ${s.patientName}, NHS Number ${s.nhsNumber}${practice ? `, seen at ${s.practiceName}, ODS Code ${s.odsCode}` : ''}, Version ${s.version}`;
}
