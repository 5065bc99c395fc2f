/** RFC 9457 problem details, the body of every non-2xx answer. */
import { CLIENT_KEY_HEADER, type HeaderErrorCode } from '../client-key.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
export const PROBLEM_TYPE_BASE = 'https://order-intake.example.com/problems/';

/**
 * Every code a field error may carry. api/openapi.json documents the same list (FieldError.code);
 * test/unit/openapi-document.test.ts holds it to this one.
 */
export const FIELD_ERROR_CODES = [
  'invalid_json',
  'required',
  'unknown_property',
  'type',
  'integer',
  'min_items',
  'max_items',
  'duplicate',
  'pattern',
  'minimum',
  'maximum',
] as const;
export type FieldErrorCode = (typeof FIELD_ERROR_CODES)[number];

export interface FieldError {
  /** JSON Pointer (RFC 6901) to the failing member of the request body; '' for the body itself. */
  path: string;
  code: FieldErrorCode;
  message: string;
}

/** A request header at fault, in the style of a field error (api/openapi.json HeaderError). */
export interface HeaderError {
  header: typeof CLIENT_KEY_HEADER;
  code: HeaderErrorCode;
  message: string;
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[] | HeaderError[];
  [extension: string]: unknown;
}

/**
 * Every problem type the service answers with, wherever the answer is built: domain code (here), the workflow
 * (asl/, as `${ProblemTypeBase}<slug>`), the mapping and gateway templates (api/), the local gateway (local/apigateway).
 * test/unit/problem-types.test.ts holds those files to this list.
 */
export const PROBLEM_SLUGS = [
  'invalid-json',
  'invalid-order',
  'body-too-large',
  'unsupported-media-type',
  'duplicate-order',
  'invalid-idempotency-key',
  'idempotency-key-reused',
  'request-in-progress',
  'order-not-found',
  'service-unavailable',
  'internal-error',
  'gateway-error',
  'route-not-found',
  'method-not-allowed',
  'cross-site-request',
] as const;
export type ProblemSlug = (typeof PROBLEM_SLUGS)[number];

export const problemType = (slug: ProblemSlug): string => `${PROBLEM_TYPE_BASE}${slug}`;

export const invalidJsonProblem = (detail: string): ProblemDetails => ({
  type: problemType('invalid-json'),
  title: 'Request body is not valid JSON',
  status: 400,
  detail,
  errors: [{ path: '', code: 'invalid_json', message: detail }],
});

export const invalidOrderProblem = (errors: FieldError[]): ProblemDetails => ({
  type: problemType('invalid-order'),
  title: 'Order failed validation',
  status: 400,
  detail: `${errors.length} field error(s); see errors.`,
  errors,
});

/** The size is not repeated: the workflow may see only the start of a body far over the limit. */
export const bodyTooLargeProblem = (limit: number): ProblemDetails => ({
  type: problemType('body-too-large'),
  title: 'Request body too large',
  status: 413,
  detail: `The body is larger than ${limit} bytes.`,
});

/** A bad Idempotency-Key header: checked before the body, and named as a field error names its field. */
export const invalidClientKeyProblem = (code: HeaderErrorCode, message: string): ProblemDetails => ({
  type: problemType('invalid-idempotency-key'),
  title: `Invalid ${CLIENT_KEY_HEADER} header`,
  status: 400,
  detail: message,
  errors: [{ header: CLIENT_KEY_HEADER, code, message }],
});
