import { CourierError, ErrorType, type Issue } from '../contracts/errors';

export type Itk3ErrorType = typeof ErrorType.ITK3_BUILD_REJECTED | typeof ErrorType.ITK3_RESPONSE_INVALID;

/**
 * The one error the ITK3 library throws. `type` is `ITK3_BUILD_REJECTED` (we refuse to build what a
 * receiver must reject) or `ITK3_RESPONSE_INVALID` (an inbound ITK3 Response, or a supplied document,
 * could not be read). `issues[]` say exactly what was wrong, with the GPCM requirement id where one
 * applies. Messages and issues never contain patient identifiers: they name fields, not values.
 * Never retryable: the same input always fails the same way.
 */
export class Itk3Error extends CourierError {
  constructor(type: Itk3ErrorType, message: string, issues: Issue[] = []) {
    super(type, message, issues, false);
  }
}

export function buildRejected(message: string, issues: Issue[]): Itk3Error {
  return new Itk3Error(ErrorType.ITK3_BUILD_REJECTED, message, issues);
}

export function responseInvalid(message: string, issues: Issue[] = []): Itk3Error {
  return new Itk3Error(ErrorType.ITK3_RESPONSE_INVALID, message, issues.length ? issues : [{ message }]);
}

/** Requirement ids used in refusals that are not in the 1.3.x requirements catalogue. */
export const EXTRA_REQUIREMENT = {
  /** ITK3 2.9+ code 20015 "Message too large", recommended maximum 5 MB. */
  messageSize: 'ITK3-20015',
  /** SD2 2.0.2: confidential consultations must not be sent; receivers reject confidentiality R with 20009. */
  confidentiality2x: 'SD2-2.0.2-CONFIDENTIALITY',
  /** FHIR STU3 Composition.author is 1..*. */
  compositionAuthor: 'FHIR-STU3-Composition.author',
  /** ITK3 FHIR-SR-03: SenderReference is a string of at most 255 characters. */
  senderReferenceLength: 'ITK3-FHIR-SR-03',
  /** SD2 2.0.0: Composition.extension(careSettingType) is required (sent by us; tolerated when absent in what we read). */
  careSetting2x: 'SD2-2.0.0-CARE-SETTING',
} as const;
