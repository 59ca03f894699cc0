/**
 * MESH API v2 client for ITK3 Courier. Pure protocol parts (auth token,
 * chunk plan, header parsing, error classification) plus one `MeshClient` whose transport, clock and
 * nonce source are injected. No Temporal imports: activities wrap it.
 */
export { buildAuthorizationHeader, formatMeshTimestamp } from './auth';
export { MeshError, MESH_ERROR_CODES, parseRetryAfter, type MeshErrorType, type MeshOperation } from './errors';
export {
  MeshClient,
  MESH_ACCEPT,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_DOWNLOAD_LIMITS,
  OVERSIZE_PREFIX_BYTES,
  classifyStatus,
  type MeshDownloadLimits,
  type MeshClientOptions,
  type MeshLogger,
  type SendMessageRequest,
  type SendMessageResult,
  type SendProgress,
  type ListInboxOptions,
  type MeshInboundStream,
} from './mesh-client';
export { SendReconciler, outcomeUnknown, type OutboxReader, type ReconciliationSettings, type SentMessageLookup, type SentMessageProbe } from './reconciliation';
export { classifyReport, parseChunkRange, type MeshInboundMessage, type MeshInboundMetadata, type MeshOversize, type MeshReport, type MeshReportKind } from './inbound';
export { MeshTrackingSchema, type MeshTracking } from './schemas';
export { bytesBodySource, fileBodySource, planChunks, type MeshBody, type MeshBodySource } from './body-source';
export { createMeshDispatcher, meshTlsOptions, type MeshTransportOptions, type MeshTlsConnectOptions } from './dispatcher';
