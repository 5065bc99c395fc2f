/**
 * Secrets are never stored or shown by the local runtime: not in the console's recording, its pages and exports, the
 * event log's delivery attempts and dead letters, nor the logs (OWASP: secrets in logs). One place decides what
 * counts as one:
 * - a header by its name: the credentials' own (`Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`,
 *   `X-Api-Key`, `X-Amz-Security-Token`) and any name that says token, secret, key, auth, session or password, save
 *   `Idempotency-Key`, which the client chooses to name a request (searchable in the console), not to prove anything;
 * - a URL's user information and query string, where API keys and signatures travel (`?token=`, `?sig=`,
 *   presigned URLs): dropped from any text that is logged or stored.
 */

export const REDACTED = '(redacted)';

const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-amz-security-token',
]);
const SECRET_WORDS = ['token', 'secret', 'key', 'auth', 'session', 'password'];
const NOT_SECRET = new Set(['idempotency-key']);

export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (NOT_SECRET.has(lower)) return false;
  return SECRET_HEADERS.has(lower) || SECRET_WORDS.some((word) => lower.includes(word));
}

/** The headers with every secret value replaced; names kept, so that a reader sees one was sent. */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  // No prototype: a header named __proto__ or toString is a header like any other.
  const redacted = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(headers)) redacted[name] = isSecretHeader(name) ? REDACTED : value;
  return redacted;
}

/** scheme://[userinfo@]rest[?query][#fragment], as URLs appear in error messages. */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/?#@"'<>]*@)?([^\s?#"'<>]*)(\?[^\s#"'<>]*)?(#[^\s"'<>]*)?/gi;

/**
 * The text with every URL in it cut to scheme, host and path: user information dropped, a query string or fragment
 * shown as `?…`, so a reader still sees there was one.
 */
export const withoutUrlSecrets = (text: string): string =>
  text.replace(URL_IN_TEXT, (_url, scheme: string, rest: string, query?: string, fragment?: string) =>
    query || fragment ? `${scheme}${rest}?…` : `${scheme}${rest}`,
  );
