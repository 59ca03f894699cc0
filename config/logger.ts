/**
 * The one pino logger. Redaction is by key, so identifiers must go in fields, never into
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
  // API tokens, webhook secrets and codec-server session cookies
  'token', '*.token', 'secret', '*.secret', 'cookie', '*.cookie', '*.headers.cookie', '*.headers["set-cookie"]',
];

/**
 * Shallower paths first. pino redacts in place and restores afterwards; when a deeper path (say
 * `*.*.nhsNumber`) is redacted before a path that contains it (`*.patient`), the restore leaves the
 * caller's object censored for good (fast-redact with overlapping paths): logging `{ input: { patient } }`
 * would have changed the patient data itself. Ordering by depth makes the container go first.
 */
export const REDACT_PATHS: readonly string[] = [...PATHS].sort((a, b) => a.split('.').length - b.split('.').length);

/** Query parameters whose value is a credential; clients must send credentials in headers. */
export const CREDENTIAL_QUERY_KEYS: ReadonlySet<string> = new Set([
  'token', 'access_token', 'accesstoken', 'id_token', 'refresh_token', 'api_key', 'apikey', 'api-key', 'key',
  'auth', 'authorization', 'bearer', 'password', 'secret', 'session',
]);

/** True when a query-string key names a credential (case-insensitive). */
export function isCredentialQueryKey(key: string): boolean {
  return CREDENTIAL_QUERY_KEYS.has(key.toLowerCase());
}

/** The query-string keys of a request URL that name a credential (decoded, as sent): the servers refuse those. */
export function credentialQueryKeys(url: string): string[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return [...new URLSearchParams(url.slice(q + 1)).keys()].filter(isCredentialQueryKey);
}

/**
 * A URL as it may be logged: every query value under a credential key is replaced. Redaction by key
 * cannot see inside a URL string, and HTTP servers log the request URL before any route runs.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      let key = eq < 0 ? pair : pair.slice(0, eq);
      try {
        key = decodeURIComponent(key.replace(/\+/g, ' '));
      } catch {
        // an undecodable key is compared as sent
      }
      return eq >= 0 && isCredentialQueryKey(key) ? `${pair.slice(0, eq)}=[REDACTED]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/**
 * The request serializer the HTTP servers (fastify) use for their request lines: method, URL with
 * credentials removed, host and peer address; never headers.
 */
function serializeRequest(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }): Record<string, unknown> {
  return { method: req.method, url: loggableUrl(req.url ?? ''), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

export function createLogger(opts: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      name: opts.name ?? 'itk3-courier',
      redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
      base: { pid: process.pid },
      serializers: { req: serializeRequest },
    },
    opts.destination,
  );
}
