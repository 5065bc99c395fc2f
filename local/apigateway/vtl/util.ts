/**
 * The `$util` functions the project's templates call, as API Gateway documents them (UTF-8 unless said otherwise).
 * Its others (escapeJavaScript, urlEncode, urlDecode, base64Decode) are left out: no template calls them, and
 * not-emulated.ts makes a call fail.
 */
export const apiGatewayUtil = {
  base64Encode: (value: unknown): string => Buffer.from(String(value), 'utf8').toString('base64'),
  /** "Stringified" JSON to an object the template navigates; text that is not JSON fails the template. */
  parseJson: (value: unknown): unknown => JSON.parse(String(value)),
} as const;
