/**
 * `$util` of API Gateway mapping templates. API Gateway runs them on the JVM, so each function reproduces the Java
 * library behaviour it exposes, not the nearest JavaScript built-in:
 * - escapeJavaScript: Apache Commons Lang StringEscapeUtils.escapeJavaScript. It escapes `'` as `\'` (not valid
 *   inside a JSON string), `"`, `\` and `/`; control characters as \b \t \n \f \r or \u00XX; and every UTF-16 code
 *   unit above U+007F as \uXXXX (upper-case hex), so an astral character becomes its escaped surrogate pair.
 * - urlEncode/urlDecode: java.net.URLEncoder/URLDecoder with UTF-8 (space <-> `+`, only `.-*_` left bare).
 * - base64Encode/base64Decode: UTF-8 bytes <-> standard base64.
 * - parseJson: a JSON string to the object it denotes.
 */

const hex4 = (codeUnit: number): string => codeUnit.toString(16).toUpperCase().padStart(4, '0');

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
  "'": "\\'",
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
};

/** Java returns null for null, which a template renders as nothing. */
export function escapeJavaScript(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const text = String(value);
  let escaped = '';
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charAt(i);
    const code = text.charCodeAt(i);
    const short = SHORT_ESCAPES[char];
    if (short) escaped += short;
    else if (code < 0x20 || code > 0x7f) escaped += `\\u${hex4(code)}`;
    else escaped += char;
  }
  return escaped;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const BARE_IN_JAVA_ONLY = /[!'()~]/g;

export function urlEncode(value: unknown): string {
  // Java encodes an unpaired surrogate as '?'; encodeURIComponent would throw.
  const text = String(value).replace(LONE_SURROGATE, '?');
  return encodeURIComponent(text)
    .replace(BARE_IN_JAVA_ONLY, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

export class UrlDecodeError extends Error {
  override name = 'IllegalArgumentException';
}

const lenientUtf8 = new TextDecoder('utf-8');

export function urlDecode(value: unknown): string {
  const text = String(value);
  let decoded = '';
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (char === '+') {
      decoded += ' ';
      i += 1;
    } else if (char === '%') {
      // A run of %XX is one UTF-8 byte sequence; malformed sequences decode to U+FFFD, as in Java.
      const bytes: number[] = [];
      while (text.charAt(i) === '%') {
        const pair = text.slice(i + 1, i + 3);
        if (!/^[0-9A-Fa-f]{2}$/.test(pair)) throw new UrlDecodeError(`illegal hex characters in escape (%) pattern`);
        bytes.push(Number.parseInt(pair, 16));
        i += 3;
      }
      decoded += lenientUtf8.decode(Uint8Array.from(bytes));
    } else {
      decoded += char;
      i += 1;
    }
  }
  return decoded;
}

export const base64Encode = (value: unknown): string => Buffer.from(String(value), 'utf8').toString('base64');

export const base64Decode = (value: unknown): string => Buffer.from(String(value), 'base64').toString('utf8');

export const parseJson = (value: unknown): unknown => JSON.parse(String(value));

/** The functions bound to `$util` in every template. */
export const apiGatewayUtil = {
  escapeJavaScript,
  parseJson,
  urlEncode,
  urlDecode,
  base64Encode,
  base64Decode,
} as const;
