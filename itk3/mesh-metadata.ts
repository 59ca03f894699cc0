import type { SpecProfile } from '../contracts/delivery';
import type { Issue } from '../contracts/errors';
import { CONSULTATION_REPORT_TITLE } from './constants';

/**
 * MESH metadata of a Send Document message (reference/itk3.md §5.3): the GPPROVIDER routing address,
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

/** Problems that stop a surname being used in the underscore-delimited routing address (GPCM-SD-063). */
export function surnameRoutingIssues(familyName: string): Issue[] {
  const issues: Issue[] = [];
  if (familyName.includes('_')) {
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
  }
  return issues;
}

/** `GPPROVIDER_<NHS number>_<DOB>_<Surname>` (GPCM-SD-060/063; DOB format per configuration, reference §9 item 5). */
export function gpProviderAddress(p: RoutingDemographics, dobFormat: DobFormat): string {
  return `GPPROVIDER_${p.nhsNumber}_${formatDob(p.birthDate, dobFormat)}_${p.familyName}`;
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
  if (parsed.surname.toUpperCase() !== p.familyName.toUpperCase())
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
  /** Omitted for a confidential (R) consultation: practice items are left out (reference §3.6, GPCM-SD-102). */
  practiceName?: string;
  odsCode?: string;
  version: number;
}

/**
 * MESH subject (reference §5.3). 1.x (GPCM 1.3.1, GPCM-SD-061/064 + GPCM-SD-091 version):
 * `Consultation report for {Patient Name}, NHS Number {NHS Number}, seen at {Practice Name}, ODS Code {ODS Code}, Version {Version Number}`;
 * 2.x (SD2 MESH API): `[payload-title] for [patient-name], NHS Number: [nhs-number], seen at [practice-name], ODS code: [ods-code], version [version]`.
 */
export function meshSubject(profile: SpecProfile, s: SubjectParts): string {
  const title = s.title ?? CONSULTATION_REPORT_TITLE;
  const practice = s.practiceName !== undefined && s.odsCode !== undefined;
  if (profile === '1.x') {
    return `${title} for ${s.patientName}, NHS Number ${s.nhsNumber}${practice ? `, seen at ${s.practiceName}, ODS Code ${s.odsCode}` : ''}, Version ${s.version}`;
  }
  return `${title} for ${s.patientName}, NHS Number: ${s.nhsNumber}${practice ? `, seen at ${s.practiceName}, ODS code: ${s.odsCode}` : ''}, version ${s.version}`;
}

/** Composition.text summary (GPCM-SD-119). */
export function compositionSummary(s: SubjectParts): string {
  const practice = s.practiceName !== undefined && s.odsCode !== undefined;
  return `${s.title ?? CONSULTATION_REPORT_TITLE} for ${s.patientName}, NHS Number ${s.nhsNumber}${practice ? `, seen at ${s.practiceName}, ODS Code ${s.odsCode}` : ''}, Version ${s.version}`;
}
