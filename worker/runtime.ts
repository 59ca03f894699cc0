/**
 * The Temporal runtime for a worker process: its logger is our one pino logger (so the SDK's own lines,
 * workflow `log`, activity `log` and forwarded Core logs all pass the same redaction), and
 * its Prometheus exporter serves the SDK's metrics. Install once, before any connection or worker.
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogEntry } from '@temporalio/worker';
import pino, { type Logger } from 'pino';

const LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * Forwards one SDK log entry to pino. The SDK's metadata (workflow id, activity type, and anything a
 * workflow or activity put in its log call) becomes pino fields, where redaction by key applies.
 */
export function forwardToPino(logger: Logger): (entry: LogEntry) => void {
  return ({ level, message, meta }) => {
    logger[LEVELS[level]]({ sdk: true, ...serializeErrors(meta ?? {}) }, message);
  };
}

/**
 * The SDK puts errors under keys such as `error` ("Failed to process Workflow Activation"), where pino's
 * err serializer does not apply: an Error's name, message and stack are not enumerable, so the line
 * would carry `"error":{}`. Serialize every Error-valued field the way pino serializes `err` (type,
 * message, stack, cause). Error messages of this project name rules and ids, never patient data.
 */
function serializeErrors(meta: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(meta)) {
    if (value instanceof Error || isErrorLike(value)) {
      out ??= { ...meta };
      out[key] = pino.stdSerializers.err(value as Error);
    }
  }
  return out ?? meta;
}

/** An error from another realm (the workflow sandbox) may fail `instanceof Error` but keep its shape. */
function isErrorLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Error]';
}

export interface RuntimeInstallOptions {
  logger: Logger;
  /** `host:port` for the SDK's Prometheus exporter; omit to export no SDK metrics. */
  prometheusBindAddress?: string;
  level?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

export function installRuntime(opts: RuntimeInstallOptions): Runtime {
  return Runtime.install({
    logger: new DefaultLogger(opts.level ?? 'INFO', forwardToPino(opts.logger)),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      ...(opts.prometheusBindAddress ? { metrics: { prometheus: { bindAddress: opts.prometheusBindAddress } } } : {}),
    },
  });
}
