/**
 * The one pino logger (STYLE.md §7). Redaction is by key, so identifiers must go in fields, never into
 * message strings; the Temporal runtime logger, workflow `log` and activity `log` all end here.
 */
import pino, { type Logger } from 'pino';

/** Every key under which patient data could appear, at any depth we log. */
const PATHS = [
  'nhsNumber', '*.nhsNumber', '*.*.nhsNumber', '*.*.*.nhsNumber',
  'patient', '*.patient', '*.*.patient',
  'birthDate', '*.birthDate', '*.*.birthDate',
  'givenName', '*.givenName', 'familyName', '*.familyName', '*.*.givenName', '*.*.familyName',
  'meshTo', '*.meshTo', 'subject', '*.subject', 'mexTo', '*.mexTo',
  'body', '*.body', 'xml', '*.xml', 'dataBase64', '*.dataBase64', '*.*.dataBase64',
  'password', '*.password', 'sharedKey', '*.sharedKey', 'authorization', '*.authorization', '*.headers.authorization',
  // API tokens, webhook secrets and codec-server session cookies (issue 7)
  'token', '*.token', 'secret', '*.secret', 'cookie', '*.cookie', '*.headers.cookie', '*.headers["set-cookie"]',
];

/**
 * Shallower paths first. pino redacts in place and restores afterwards; when a deeper path (say
 * `*.*.nhsNumber`) is redacted before a path that contains it (`*.patient`), the restore leaves the
 * caller's object censored for good (fast-redact with overlapping paths): logging `{ input: { patient } }`
 * would have changed the patient data itself. Ordering by depth makes the container go first.
 */
export const REDACT_PATHS: readonly string[] = [...PATHS].sort((a, b) => a.split('.').length - b.split('.').length);

export function createLogger(opts: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'itk3-courier',
      redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
      base: { pid: process.pid },
    },
    opts.destination,
  );
}
