/**
 * The API Gateway mapping templates, one file each, used as they are by the CDK stack and by the local runtime.
 * Their `${Name}` placeholders are filled from `apiTemplateValues` (CDK: with tokens; locally: with local names).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ORDER_ID_PATTERN } from '../src/contract/order.js';
import { PROBLEM_TYPE_BASE } from '../src/contract/problem.js';
import { substitutePlaceholders } from '../src/placeholders.js';
import { ORDERS_TABLE } from '../src/store/orders-table.js';

export const API_TEMPLATE_FILES = {
  postOrdersRequest: 'post-orders.request.vtl',
  postOrdersResponse: 'post-orders.response.vtl',
  getOrderRequest: 'get-order.request.vtl',
  getOrderResponse: 'get-order.response.vtl',
  /**
   * Gateway response for UNSUPPORTED_MEDIA_TYPE: POST /orders has a request template for application/json only and
   * passthrough NEVER, so API Gateway refuses any other Content-Type before the workflow runs. Gateway response
   * templates get variable substitution, not VTL, so this file holds no `##` comments.
   */
  unsupportedMediaTypeResponse: 'unsupported-media-type.response.vtl',
  /**
   * Gateway response for the errors API Gateway answers itself (DEFAULT_4XX, DEFAULT_5XX, THROTTLED: missing auth
   * token or unknown route 403, throttled 429, too large 413, integration timeout 504, ...), as problem+json. The
   * title is `$context.error.messageString`, already a quoted JSON string; the detail names the response type.
   * Substitution only (no VTL), so this file holds no `##` comments either.
   */
  gatewayErrorResponse: 'gateway-error.response.vtl',
} as const;

export type ApiTemplateName = keyof typeof API_TEMPLATE_FILES;

/** The one media type POST /orders has a request template for. */
export const ORDER_REQUEST_CONTENT_TYPE = 'application/json';

export interface ApiTemplateResources {
  StateMachineArn: string;
  OrdersTableName: string;
}

export const apiTemplateValues = (resources: ApiTemplateResources): Record<string, string> => ({
  ...resources,
  OrderKeyPrefix: ORDERS_TABLE.orderKeyPrefix,
  OrderIdPattern: ORDER_ID_PATTERN.source,
  ProblemTypeBase: PROBLEM_TYPE_BASE,
});

export function loadApiTemplate(name: ApiTemplateName, resources: ApiTemplateResources): string {
  const template = readFileSync(fileURLToPath(new URL(API_TEMPLATE_FILES[name], import.meta.url)), 'utf8');
  return substitutePlaceholders(template, apiTemplateValues(resources));
}
