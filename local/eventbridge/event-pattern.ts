/**
 * EventBridge event patterns, for the forms this project's rules use: each field of the pattern is either an
 * array of exact values (the event's value, or one element of it if it is an array, must equal one of them) or a
 * nested object matched against the event's object of the same name. Every field must match; a missing field
 * never does. Content filters (prefix, numeric, anything-but, ...) are refused rather than matched wrongly.
 */
import { UnsupportedPatternError } from './errors.js';
import { isObject } from '../../src/json-value.js';

type Scalar = string | number | boolean | null;
export type EventPattern = { readonly [field: string]: readonly Scalar[] | EventPattern };

/** Throws unless every leaf of the pattern is a non-empty array of exact values. */
export function assertSupportedPattern(pattern: unknown, path = ''): asserts pattern is EventPattern {
  if (!isObject(pattern) || Object.keys(pattern).length === 0) {
    throw new UnsupportedPatternError(`pattern${path}: must be a non-empty object`);
  }
  for (const [field, value] of Object.entries(pattern)) {
    if (Array.isArray(value)) {
      if (value.length === 0 || value.some((item) => typeof item === 'object' && item !== null)) {
        throw new UnsupportedPatternError(`pattern${path}.${field}: only non-empty arrays of exact values`);
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
    return values.some((value) => (expected as readonly Scalar[]).includes(value as Scalar));
  });
}
