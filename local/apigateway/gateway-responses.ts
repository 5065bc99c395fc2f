/**
 * Answers that API Gateway itself gives, before or instead of an integration (its "gateway responses"), as the local
 * server gives them: RFC 9457 problem details with the request id, like every other non-2xx answer of the service.
 * Where API Gateway's own default differs, docs/local.md says so.
 */
import { bodyTooLargeProblem, problemType, type ProblemDetails } from '../../src/contract/problem.js';

/** API Gateway's payload limit; the contract's own 1 KB limit is the workflow's (Validate answers 413). */
export const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;

export const routeNotFoundProblem = (method: string, path: string, requestId: string): ProblemDetails => ({
  type: problemType('route-not-found'),
  title: 'Not found',
  status: 404,
  detail: `No resource answers ${method} ${path}.`,
  requestId,
});

export const methodNotAllowedProblem = (method: string, allowed: string[], requestId: string): ProblemDetails => ({
  type: problemType('method-not-allowed'),
  title: 'Method not allowed',
  status: 405,
  detail: `${method} is not allowed here; use ${allowed.join(' or ')}.`,
  requestId,
});

export const requestTooLargeProblem = (requestId: string): ProblemDetails => ({
  ...bodyTooLargeProblem(MAX_REQUEST_BODY_BYTES),
  requestId,
});

/**
 * A request a web page elsewhere made (local/browser-guard.ts): local only, since in AWS IAM refuses it (403, a
 * browser cannot sign it). Nothing was read or stored.
 */
export const crossSiteRequestProblem = (reason: string, requestId: string): ProblemDetails => ({
  type: problemType('cross-site-request'),
  title: 'Refused: a request from another site',
  status: 403,
  detail:
    `Nothing was read or stored: ${reason}. The local API answers curl, SDKs and the pages of its own origin ` +
    '(http://localhost:<port>) only; see docs/local.md.',
  requestId,
});

/** API Gateway's DEFAULT_5XX: a mapping template or the gateway itself failed. */
export const gatewayErrorProblem = (requestId: string): ProblemDetails => ({
  type: problemType('internal-error'),
  title: 'Internal error',
  status: 500,
  detail: 'The gateway could not complete the request.',
  requestId,
});
