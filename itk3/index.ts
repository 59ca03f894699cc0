/**
 * ITK3 protocol library (pure: no I/O, no Temporal, no clock, no randomness). Builds GP Connect Send
 * Document messages, reads ITK3 Responses and classifies every ITK-ResponseCodes-1 code.
 * Requirement ids (GPCM-SD-...) are those of the GP Connect Send Document 1.3.x requirements catalogue.
 */
export {
  buildSendDocumentMessage,
  type BuildMessageInput,
  type BuiltMessage,
  type MeshMetadata,
  type OutputFormat,
  type Routing,
} from './build-message';
export { assertDryRun, buildOrRefuse, dryRunIssues, type DryRunSettings } from './dry-run';
export { parseItk3Response, type ParsedItk3Response } from './parse-response';
export { buildItk3Response, type BuildItk3ResponseInput } from './build-response';
export {
  classifyResponseCode,
  KNOWN_RESPONSE_CODES,
  RESPONSE_CODES,
  type CodeClassification,
  type Polarity,
  type ResponseCode,
  type ResponseCodeInfo,
  type ResponseLevel,
} from './response-codes';
export { Itk3Error, EXTRA_REQUIREMENT, type Itk3ErrorType } from './errors';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  EVENT,
  MESH_WORKFLOWS,
  MESSAGE_DEFINITION,
  PROFILE_CONSTANTS,
  isAckWorkflowId,
  isDocumentWorkflowId,
  profileOfWorkflowId,
} from './constants';
export {
  formatDob,
  gpProviderAddress,
  meshSubject,
  parseGpProviderAddress,
  routingAddressMismatches,
  type DobFormat,
} from './mesh-metadata';
export { wrapDocumentBundle, type WrapDocumentInput } from './wrap-document';
export { readSendDocumentMessage, type ReadSendDocumentResult } from './read-message';
export {
  APPROVED_CONTENT_TYPES,
  checkDocumentBundle,
  type DocumentSummary,
  type EnvelopeSummary,
  type Finding,
} from './document-checks';
