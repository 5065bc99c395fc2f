/** The `$context` of one request as API Gateway gives it to a mapping template: POST /orders on a local stage. */
import type { RequestContext } from '../../local/apigateway/vtl/mapping-template.js';

export const requestContext = (overrides: Partial<RequestContext> = {}): RequestContext => ({
  requestId: 'req-1',
  httpMethod: 'POST',
  resourcePath: '/orders',
  path: '/orders',
  stage: 'local',
  apiId: 'local',
  domainName: 'localhost',
  requestTimeEpoch: Date.UTC(2025, 3, 9, 12, 34, 56),
  sourceIp: '127.0.0.1',
  userAgent: 'jest',
  ...overrides,
});
