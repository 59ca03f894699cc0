import type { SpecProfile } from '../contracts/delivery';
import {
  checkDocumentBundle,
  checkEnvelope,
  type DocumentSummary,
  type EnvelopeSummary,
  type Finding,
} from './document-checks';
import type { XmlLimits } from './fhir-xml';
import { readFhir } from './parse-response';

/**
 * Read an outbound ITK3 Send Document message (ours or anyone's) and check it against the sender-side
 * requirements without throwing on findings: for round-trip tests, the official-example conformance
 * run and the GP-practice test peer. Throws `ITK3_RESPONSE_INVALID` only when the bytes are not FHIR.
 */
export interface ReadSendDocumentResult {
  envelope: EnvelopeSummary;
  document?: DocumentSummary;
  findings: Finding[];
  /** True when no finding is an error. */
  conformant: boolean;
}

export function readSendDocumentMessage(
  body: string | Uint8Array,
  profile: SpecProfile,
  limits: Partial<XmlLimits> = {},
): ReadSendDocumentResult {
  const root = readFhir(body, { maxBytes: 64 * 1024 * 1024, maxDepth: 64, maxElements: 2_000_000, ...limits });
  const env = checkEnvelope(root, profile);
  const findings = [...env.findings];
  let document: DocumentSummary | undefined;
  if (env.document) {
    const d = checkDocumentBundle(env.document, profile);
    findings.push(...d.findings);
    document = d.summary;
  }
  return {
    envelope: env.summary,
    ...(document ? { document } : {}),
    findings,
    conformant: !findings.some((f) => f.severity === 'error'),
  };
}
