/**
 * The answers API Gateway makes itself are problem+json too, with the request id in the body ($context variables
 * are substituted in gateway response templates). Their headers map only what AWS documents for gateway responses,
 * request parameters and literals (see docs/aws-fidelity.md): no context.requestId, so these answers carry the id as
 * API Gateway's own x-amzn-RequestId header, not as x-request-id.
 */
import { ResponseType, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import { PROBLEM_CONTENT_TYPE } from '../../../src/contract/problem.js';
import { type ApiTemplateLoader, DEFAULT_MEDIA_TYPE } from './integrations.js';

export function addGatewayResponses(api: RestApi, template: ApiTemplateLoader): void {
  const problemHeaders = { 'Content-Type': `'${PROBLEM_CONTENT_TYPE}'` };
  api.addGatewayResponse('UnsupportedMediaType', {
    type: ResponseType.UNSUPPORTED_MEDIA_TYPE,
    statusCode: '415',
    responseHeaders: problemHeaders,
    templates: { [DEFAULT_MEDIA_TYPE]: template('unsupportedMediaTypeResponse') },
  });
  const gatewayError = { [DEFAULT_MEDIA_TYPE]: template('gatewayErrorResponse') };
  // Each keeps its type's status (403 missing token or unknown route, 413, 429, 504, ...).
  api.addGatewayResponse('Default4xx', {
    type: ResponseType.DEFAULT_4XX,
    responseHeaders: problemHeaders,
    templates: gatewayError,
  });
  api.addGatewayResponse('Default5xx', {
    type: ResponseType.DEFAULT_5XX,
    responseHeaders: problemHeaders,
    templates: gatewayError,
  });
  // Stage throttling (429): the token bucket refills every second.
  api.addGatewayResponse('Throttled', {
    type: ResponseType.THROTTLED,
    responseHeaders: { ...problemHeaders, 'Retry-After': "'1'" },
    templates: gatewayError,
  });
}
