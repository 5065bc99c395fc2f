/**
 * The client's own key: the `Idempotency-Key` request header of draft-ietf-httpapi-idempotency-key-header-09,
 * called `clientKey` everywhere (`idempotencyKey` is the payload's hash). How it is read, and whose it is.
 */

export const CLIENT_KEY_HEADER = 'Idempotency-Key';
export const CLIENT_KEY_MAX_LENGTH = 255;

/**
 * Every code a header error may carry; api/openapi.json documents the same list (HeaderError.code).
 * - repeated: more than one field (HTTP joins repeated fields with commas, so a list in one field is the same thing);
 * - malformed: neither an RFC 8941 sf-string nor a bare value;
 * - length: not 1 to 255 characters once unquoted;
 * - characters: a character outside printable ASCII (0x20-0x7E).
 */
export const HEADER_ERROR_CODES = ['repeated', 'malformed', 'length', 'characters'] as const;
export type HeaderErrorCode = (typeof HEADER_ERROR_CODES)[number];

export type ClientKeyReading = { ok: true; clientKey: string } | { ok: false; code: HeaderErrorCode; message: string };

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** A bare value: visible ASCII without the characters that would make it a string, an escape or a list. */
const BARE_VALUE = /^[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+$/;

const failed = (code: HeaderErrorCode, message: string): ClientKeyReading => ({ ok: false, code, message });

/** An sf-string (RFC 8941 3.3.3) at the start of `value`: its content and what follows it, or why it is not one. */
function readSfString(value: string): { content: string; rest: string } | { error: string } {
  let content = '';
  for (let at = 1; at < value.length; at += 1) {
    const char = value[at] as string;
    if (char === '\\') {
      const next = value[at + 1];
      if (next !== '"' && next !== '\\') return { error: 'a backslash may only escape " or \\' };
      content += next;
      at += 1;
    } else if (char === '"') {
      return { content, rest: value.slice(at + 1) };
    } else {
      content += char;
    }
  }
  return { error: 'the string has no closing quote' };
}

/**
 * Reads the field value of an `Idempotency-Key` header: an RFC 8941 sf-string (`"..."`, `\"` and `\\` escaped), or
 * the bare value as Stripe's clients send it. Both forms of one key give the same key. The key is 1 to 255
 * printable ASCII characters once unquoted.
 */
export function readClientKeyHeader(fieldValue: string): ClientKeyReading {
  // HTTP's optional whitespace around a field value is not part of it.
  const value = fieldValue.replace(/^[ \t]+|[ \t]+$/g, '');
  if (!PRINTABLE_ASCII.test(value)) {
    return failed('characters', `${CLIENT_KEY_HEADER} must be printable ASCII (0x20-0x7E)`);
  }
  let clientKey: string;
  if (value.startsWith('"')) {
    const string = readSfString(value);
    if ('error' in string)
      return failed('malformed', `${CLIENT_KEY_HEADER} is not a Structured Field string: ${string.error}`);
    const rest = string.rest.trimStart();
    if (rest.startsWith(',')) return failed('repeated', `send one ${CLIENT_KEY_HEADER} field, holding one key`);
    if (rest !== '') {
      return failed('malformed', `${CLIENT_KEY_HEADER} must be one string, without parameters or anything after it`);
    }
    clientKey = string.content;
  } else {
    if (value.includes(',')) return failed('repeated', `send one ${CLIENT_KEY_HEADER} field, holding one key`);
    if (value !== '' && !BARE_VALUE.test(value)) {
      return failed(
        'malformed',
        `${CLIENT_KEY_HEADER} without quotes may not hold a space, " or \\; send it as a string ("...") instead`,
      );
    }
    clientKey = value;
  }
  if (clientKey.length < 1 || clientKey.length > CLIENT_KEY_MAX_LENGTH) {
    return failed('length', `${CLIENT_KEY_HEADER} must be 1 to ${CLIENT_KEY_MAX_LENGTH} characters long`);
  }
  return { ok: true, clientKey };
}

/** Who sent a request, as API Gateway's `$context.identity` says it; empty strings where it knows nobody. */
export interface Caller {
  accountId: string;
  userArn: string;
}

const ASSUMED_ROLE_SESSION = /^(arn:[a-z0-9-]+:sts::\d{12}:assumed-role\/[^/]+)\/[^/]+$/;

/**
 * Whose keys these are: the IAM principal that signed the request, its account and role, with an assumed role's
 * session name left out, so that a retry with fresh credentials of the same role finds its key. A caller API
 * Gateway knows nothing of (apiAuthorization=NONE) has the empty scope: keys are global there.
 */
export function callerScope(caller: Partial<Caller> | undefined): string {
  const userArn = caller?.userArn ?? '';
  const assumedRole = ASSUMED_ROLE_SESSION.exec(userArn);
  if (assumedRole) return assumedRole[1] as string;
  if (userArn !== '') return userArn;
  const accountId = caller?.accountId ?? '';
  return accountId === '' ? '' : `account:${accountId}`;
}
