/**
 * EventBridge event patterns, for the forms this project's rules and docs use: each field of the pattern is either
 * an array of exact values or prefix filters (the event's value, or one element of it if it is an array, must match
 * one of them) or a nested object matched against the event's object of the same name. Every field must match; a
 * missing field never does. Other content filters (numeric, anything-but, exists, ...) are refused rather than
 * matched wrongly.
 */
import { UnsupportedPatternError } from './errors.js';
import { isObject } from '../../src/json-value.js';

type Scalar = string | number | boolean | null;
/** `{"prefix": "1."}`: a string value that starts with it (docs/consumers.md subscribes to one major this way). */
type PrefixFilter = { readonly prefix: string };
type Matcher = Scalar | PrefixFilter;
export type EventPattern = { readonly [field: string]: readonly Matcher[] | EventPattern };

const isPrefixFilter = (matcher: unknown): matcher is PrefixFilter =>
  isObject(matcher) && Object.keys(matcher).length === 1 && typeof matcher.prefix === 'string';

const matches = (matcher: Matcher, value: unknown): boolean =>
  isPrefixFilter(matcher) ? typeof value === 'string' && value.startsWith(matcher.prefix) : matcher === value;

/** Throws unless every leaf of the pattern is a non-empty array of exact values. */
export function assertSupportedPattern(pattern: unknown, path = ''): asserts pattern is EventPattern {
  if (!isObject(pattern) || Object.keys(pattern).length === 0) {
    throw new UnsupportedPatternError(`pattern${path}: must be a non-empty object`);
  }
  for (const [field, value] of Object.entries(pattern)) {
    if (Array.isArray(value)) {
      const unsupported = value.some((item) => typeof item === 'object' && item !== null && !isPrefixFilter(item));
      if (value.length === 0 || unsupported) {
        throw new UnsupportedPatternError(
          `pattern${path}.${field}: only non-empty arrays of exact values and {"prefix": "..."} filters`,
        );
      }
    } else {
      assertSupportedPattern(value, `${path}.${field}`);
    }
  }
}

export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  if (!isObject(event)) return false;
  return Object.entries(pattern).every(([field, expected]) => {
    if (!(field in event)) return false;
    const actual = event[field];
    if (!Array.isArray(expected)) return matchesPattern(expected as EventPattern, actual);
    const values = Array.isArray(actual) ? actual : [actual];
    return values.some((value) => (expected as readonly Matcher[]).some((matcher) => matches(matcher, value)));
  });
}
