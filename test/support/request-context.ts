/** The `$context` of one request, as the mapping templates read it: POST /orders, at the root of a custom domain. */
import type { RequestContext } from '../../local/apigateway/vtl/mapping-template.js';

export const requestContext = (overrides: Partial<RequestContext> = {}): RequestContext => ({
  requestId: 'req-1',
  resourcePath: '/orders',
  path: '/orders',
  ...overrides,
});
