/**
 * The one pino logger (STYLE.md §7). Redaction is by key, so identifiers must go in fields, never into
 * message strings; the Temporal runtime logger, workflow `log` and activity `log` all end here.
 */
import pino, { type Logger } from 'pino';

/** Every key under which patient data could appear, at any depth we log. */
export const REDACT_PATHS = [
  'nhsNumber', '*.nhsNumber', '*.*.nhsNumber', '*.*.*.nhsNumber',
  'patient', '*.patient', '*.*.patient',
  'birthDate', '*.birthDate', '*.*.birthDate',
  'givenName', '*.givenName', 'familyName', '*.familyName', '*.*.givenName', '*.*.familyName',
  'meshTo', '*.meshTo', 'subject', '*.subject', 'mexTo', '*.mexTo',
  'body', '*.body', 'xml', '*.xml', 'dataBase64', '*.dataBase64', '*.*.dataBase64',
  'password', '*.password', 'sharedKey', '*.sharedKey', 'authorization', '*.authorization', '*.headers.authorization',
];

export function createLogger(opts: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'itk3-courier',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      base: { pid: process.pid },
    },
    opts.destination,
  );
}
