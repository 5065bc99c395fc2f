/**
 * API Gateway (REST API, AWS integrations) emulated for the local service. It does what API Gateway does with the
 * project's mapping templates (api/*.vtl), and nothing more:
 * - routes by the OpenAPI document's paths (api/openapi.json), so the routes are defined once;
 * - POST /orders: refuses a Content-Type other than the one the request template is for (415, from the
 *   UNSUPPORTED_MEDIA_TYPE gateway response template; no Content-Type counts as application/json), renders the
 *   request template into a StartSyncExecution request, runs the workflow, and renders the response template over
 *   the execution result;
 * - GET /orders/{orderId}: renders a GetItem request, sends it to DynamoDB, renders the response template over the
 *   GetItem output (DynamoDB JSON, as API Gateway receives it).
 * An integration that fails answers with the AWS service's error body, which goes through the response template
 * as it would in AWS (API Gateway's default integration response); only a template that fails to render gives the
 * gateway's own 500.
 */
import { GetItemCommand, type DynamoDBClient, type GetItemCommandInput } from '@aws-sdk/client-dynamodb';
import { ORDER_REQUEST_CONTENT_TYPE } from '../../api/templates.js';
import { REQUEST_ID_HEADER } from '../../src/contract/order.js';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from '../../src/contract/problem.js';
import { authorizeDynamoDbCall } from '../iam/dynamodb.js';
import { LOCAL_CALLER } from '../local-account.js';
import { AccessDeniedError, type RoleAuthorizer } from '../iam/role-authorizer.js';
import type { ApiMappingTemplates } from './vtl/api-templates.js';
import type { MappingTemplate, RequestContext, RequestParameters } from './vtl/mapping-template.js';
import type { OrderWorkflow } from '../stepfunctions/order-workflow.js';
import type { FailureTrace } from './request-log.js';
import { gatewayErrorProblem, methodNotAllowedProblem, routeNotFoundProblem } from './gateway-responses.js';
import { matchRoute, openApiRoutes, type OpenApiDocument } from './openapi.js';

export const OPENAPI_PATH = '/openapi.json';
export const ASYNCAPI_PATH = '/asyncapi.json';
const JSON_CONTENT_TYPE = 'application/json';

export interface ApiRequest {
  requestId: string;
  /** Upper case, as on the wire. */
  method: string;
  /** The path as sent (percent-encoded), without the query string. */
  path: string;
  query: Record<string, string>;
  /** Header names as the client wrote them. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The order the request was about, for the log; never sent. */
  orderId?: string;
  /**
   * An answer API Gateway makes itself (a gateway response): in AWS its headers cannot map the request id, so it
   * carries only API Gateway's own x-amzn-RequestId. Never sent.
   */
  fromGateway?: boolean;
  /** Why the answer is a failure (a 5xx, a FAILED or TIMED_OUT execution), for its log line; never sent. */
  failure?: FailureTrace;
}

/** API Gateway's own request id header, on every answer of a REST API. */
export const AWS_REQUEST_ID_HEADER = 'x-amzn-RequestId';

/** The headers API Gateway adds to an answer: its own request id always, ours where a method response maps it. */
export const withRequestIdHeaders = (response: ApiResponse, requestId: string): ApiResponse => ({
  ...response,
  headers: {
    ...response.headers,
    [AWS_REQUEST_ID_HEADER]: requestId,
    ...(response.fromGateway ? {} : { [REQUEST_ID_HEADER]: requestId }),
  },
});

export interface ApiGatewayOptions {
  templates: ApiMappingTemplates;
  stateMachineArn: string;
  workflow: OrderWorkflow;
  /** The client API Gateway's GetItem integration uses. */
  dynamodb: DynamoDBClient;
  /** The integration role's deployed policies: StartSyncExecution and GetItem are authorized against them. */
  iam: RoleAuthorizer;
  openApi: OpenApiDocument;
  /** Served at /asyncapi.json for downstream teams; the gateway routes by the OpenAPI document alone. */
  asyncApi?: Record<string, unknown>;
}

export interface ApiGateway {
  handle(request: ApiRequest): Promise<ApiResponse>;
}

type Operation = (request: ApiRequest, params: RequestParameters, context: RequestContext) => Promise<ApiResponse>;

export const headerValue = (headers: Record<string, string>, name: string): string | undefined => {
  const wanted = name.toLowerCase();
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === wanted);
  return key === undefined ? undefined : headers[key];
};

/** `application/JSON; charset=utf-8` -> `application/json`; an absent or blank header -> undefined. */
export const mediaTypeOf = (contentType: string | undefined): string | undefined => {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType ? mediaType : undefined;
};

const decodePathSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** A gateway response: an answer API Gateway gives itself, before or instead of the integration. */
export const problemResponse = (problem: ProblemDetails, headers: Record<string, string> = {}): ApiResponse => ({
  status: problem.status,
  headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...headers },
  body: JSON.stringify(problem),
  fromGateway: true,
});

const MAX_EXECUTION_INPUT_BYTES = 256 * 1024;

/** An AWS JSON-protocol error body, as API Gateway hands it to the integration response. */
const awsErrorBody = (service: string, name: string, message: string): string =>
  JSON.stringify({ __type: `${service}#${name}`, message });

/** What the integration answered, and why it failed when it did. */
interface IntegrationResult {
  body: string;
  executionName?: string;
  failure?: FailureTrace;
}

/** An AWS error answer, with its trace: the error name and message, as the service said them. */
const awsError = (service: string, name: string, message: string, executionName?: string): IntegrationResult => ({
  body: awsErrorBody(service, name, message),
  executionName,
  failure: { executionName, error: name, cause: message },
});

/** A 5xx the integration did not explain (a SUCCEEDED execution answering 503): its problem's title and detail. */
function problemTrace(response: ApiResponse, executionName: string | undefined): FailureTrace {
  try {
    const problem = JSON.parse(response.body) as { title?: unknown; detail?: unknown };
    return {
      executionName,
      error: typeof problem.title === 'string' ? problem.title : `HTTP ${response.status}`,
      cause: typeof problem.detail === 'string' ? problem.detail : undefined,
    };
  } catch {
    return { executionName, error: `HTTP ${response.status}`, cause: response.body.slice(0, 200) };
  }
}

const errorTrace = (error: unknown, executionName?: string): FailureTrace => {
  const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
  return { executionName, error: name, cause: message, stack };
};

export function createApiGateway(options: ApiGatewayOptions): ApiGateway {
  const { templates, workflow, dynamodb, iam } = options;
  const routes = openApiRoutes(options.openApi);
  // The published documents: GET answers them as they are, before routing.
  const documents = new Map([[OPENAPI_PATH, JSON.stringify(options.openApi)]]);
  if (options.asyncApi) documents.set(ASYNCAPI_PATH, JSON.stringify(options.asyncApi));

  /** The default integration response: the template's overrides on top of 200 application/json. */
  const integrationResponse = (template: MappingTemplate, body: string, context: RequestContext): ApiResponse => {
    const rendered = template.render({ body, context });
    return {
      status: rendered.status ?? 200,
      headers: { 'Content-Type': JSON_CONTENT_TYPE, ...rendered.headers },
      body: rendered.body,
    };
  };

  async function startSyncExecution(requestBody: string): Promise<IntegrationResult> {
    const service = 'com.amazonaws.swf.service.v2.model';
    let request: { stateMachineArn?: unknown; name?: unknown; input?: unknown };
    let input: unknown;
    try {
      request = JSON.parse(requestBody) as typeof request;
      input = JSON.parse(String(request.input));
    } catch (error) {
      return awsError(service, 'InvalidExecutionInput', (error as Error).message);
    }
    const executionName = String(request.name);
    // StartSyncExecution's own limit on the execution input (UTF-8 bytes).
    if (Buffer.byteLength(String(request.input), 'utf8') > MAX_EXECUTION_INPUT_BYTES) {
      return awsError(service, 'InvalidExecutionInput', 'The execution input exceeds 262144 bytes', executionName);
    }
    try {
      await iam.authorize({ action: 'states:StartSyncExecution', resource: String(request.stateMachineArn) });
    } catch (error) {
      if (!(error instanceof AccessDeniedError)) throw error;
      return awsError('com.amazon.coral.service', 'AccessDeniedException', error.message, executionName);
    }
    if (request.stateMachineArn !== options.stateMachineArn) {
      const message = `State Machine Does Not Exist: ${request.stateMachineArn}`;
      return awsError(service, 'StateMachineDoesNotExist', message, executionName);
    }
    try {
      const result = await workflow.startSyncExecution(input, executionName);
      const failure: FailureTrace | undefined =
        result.status === 'SUCCEEDED'
          ? undefined
          : {
              executionName,
              executionStatus: result.status,
              error: result.error ?? result.status,
              cause: result.cause,
            };
      return { body: JSON.stringify(result), executionName, failure };
    } catch (error) {
      return {
        ...awsError(service, 'InternalServerError', 'Internal error', executionName),
        failure: errorTrace(error, executionName),
      };
    }
  }

  async function getItem(requestBody: string): Promise<IntegrationResult> {
    const service = 'com.amazonaws.dynamodb.v20120810';
    try {
      const input = JSON.parse(requestBody) as GetItemCommandInput & Record<string, unknown>;
      await authorizeDynamoDbCall(iam, 'GetItem', input);
      const output = await dynamodb.send(new GetItemCommand(input));
      // $metadata is the SDK's, not part of DynamoDB's answer.
      return { body: JSON.stringify({ ...output, $metadata: undefined }) };
    } catch (error) {
      const { name, message } = error instanceof Error ? error : new Error(String(error));
      return { body: awsErrorBody(service, name, message), failure: errorTrace(error) };
    }
  }

  /** The integration's answer through its response template, carrying its failure, or a 5xx's own explanation. */
  const answered = (template: MappingTemplate, result: IntegrationResult, context: RequestContext): ApiResponse => {
    const response = integrationResponse(template, result.body, context);
    const failure =
      result.failure ?? (response.status >= 500 ? problemTrace(response, result.executionName) : undefined);
    return failure ? { ...response, failure } : response;
  };

  const operations: Record<string, Operation> = {
    async postOrder(request, params, context) {
      const mediaType = mediaTypeOf(headerValue(request.headers, 'Content-Type'));
      if (mediaType !== undefined && mediaType !== ORDER_REQUEST_CONTENT_TYPE) {
        const rendered = templates.unsupportedMediaTypeResponse.render({ body: '', params, context });
        return {
          status: 415,
          headers: { 'Content-Type': PROBLEM_CONTENT_TYPE },
          body: rendered.body,
          fromGateway: true,
        };
      }
      const integrationRequest = templates.postOrdersRequest.render({
        body: request.body.toString('utf8'),
        params,
        context,
      });
      const execution = await startSyncExecution(integrationRequest.body);
      const response = answered(templates.postOrdersResponse, execution, context);
      // 202 and 409 name their order in Location.
      return { ...response, orderId: response.headers.Location?.split('/').pop() };
    },

    async getOrder(_request, params, context) {
      const integrationRequest = templates.getOrderRequest.render({ params, context });
      const output = await getItem(integrationRequest.body);
      return { ...answered(templates.getOrderResponse, output, context), orderId: params.path.orderId };
    },
  };

  for (const route of routes) {
    for (const operationId of route.operations.values()) {
      if (!operations[operationId]) throw new Error(`OpenAPI operation ${operationId} has no local implementation`);
    }
  }

  async function route(request: ApiRequest): Promise<ApiResponse> {
    const document = request.method === 'GET' ? documents.get(request.path) : undefined;
    if (document !== undefined) return { status: 200, headers: { 'Content-Type': JSON_CONTENT_TYPE }, body: document };
    const matched = matchRoute(routes, request.path);
    if (!matched) return problemResponse(routeNotFoundProblem(request.method, request.path, request.requestId));
    const { route: resource, pathParameters } = matched;
    const operationId = resource.operations.get(request.method);
    if (!operationId) {
      const allowed = [...resource.operations.keys()];
      return problemResponse(methodNotAllowedProblem(request.method, allowed, request.requestId), {
        Allow: allowed.join(', '),
      });
    }
    const path = Object.fromEntries(
      Object.entries(pathParameters).map(([name, value]) => [name, decodePathSegment(value)]),
    );
    const params: RequestParameters = { path, querystring: request.query, header: request.headers };
    const context: RequestContext = {
      requestId: request.requestId,
      resourcePath: resource.resourcePath,
      path: request.path,
      identity: LOCAL_CALLER,
    };
    return (operations[operationId] as Operation)(request, params, context);
  }

  return {
    async handle(request) {
      let response: ApiResponse;
      try {
        response = await route(request);
      } catch (error) {
        response = { ...problemResponse(gatewayErrorProblem(request.requestId)), failure: errorTrace(error) };
      }
      return withRequestIdHeaders(response, request.requestId);
    },
  };
}
