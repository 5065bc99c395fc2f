/**
 * What serves a client: the orders table, the EXPRESS workflow with its Validate Lambda, and the REST API in front.
 * One synth (default context) for the whole file.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { loadApiTemplate, ORDER_REQUEST_CONTENT_TYPE } from '../../api/templates.js';
import { loadOrderIntakeDefinition, ORDER_INTAKE_ASL_PATH, WORKFLOW_CONSTANTS } from '../../asl/order-intake.js';
import { INTEGRATION_FAILURE_PATTERN } from '../../cdk/lib/order-api/integrations.js';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import { MappingTemplate } from '../../local/apigateway/vtl/mapping-template.js';
import { validateHandlerOn } from '../support/validate.js';
import { stackLogicalIds, type CloudFormationTemplate } from '../../cdk/lib/synthesize.js';
import { deployedIamSource } from '../../local/iam/deployed-roles.js';
import { dynamoDbAuthorizationRequests } from '../../local/iam/dynamodb.js';
import { authorizersFor } from '../../local/iam/index.js';
import { LOCAL_RESOURCES } from '../../local/local-account.js';
import { validOrder, workflowInput } from '../support/order-samples.js';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE } from '../../src/contract/problem.js';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';
import {
  allow,
  logicalIdOf,
  managedPoliciesByRole,
  propertiesOf,
  statementsOf,
  synthOrderIntake,
  type Json,
  type Statement,
} from './synth-order-intake.js';
import { requestContext } from '../support/request-context.js';

let stack: OrderIntakeStack;
let template: Template;
let outdir: string;
beforeAll(() => {
  const synth = synthOrderIntake();
  ({ stack, template } = synth);
  outdir = synth.app.outdir;
});

const ref = (value: string): unknown => stack.resolve(value);

function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

/** The template API Gateway falls back on (application/json), which every mapping here must have. */
function jsonTemplateOf({ ResponseTemplates }: { ResponseTemplates: Record<string, string> }): string {
  const source = ResponseTemplates['application/json'];
  if (source === undefined) throw new Error('no application/json template');
  return source;
}

describe('orders table', () => {
  it('is built from ORDERS_TABLE: pk, TTL on expiresAt, NEW_IMAGE stream', () => {
    expect(propertiesOf(template, stack.table.table)).toMatchObject({
      KeySchema: [{ AttributeName: ORDERS_TABLE.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: ORDERS_TABLE.partitionKey, AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: ORDERS_TABLE.timeToLiveAttribute, Enabled: true },
      StreamSpecification: { StreamViewType: ORDERS_TABLE.streamViewType },
    });
  });

  it('is on-demand, with point-in-time recovery and deletion protection, and outlives the stack', () => {
    expect(propertiesOf(template, stack.table.table)).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('is not pre-warmed by default: warm throughput is billed once and can never be lowered (capacity.test.ts)', () => {
    expect(propertiesOf(template, stack.table.table)).not.toHaveProperty('WarmThroughput');
  });
});

describe('workflow', () => {
  const stateMachine = () => propertiesOf(template, stack.workflow.stateMachine);

  it('is an EXPRESS state machine with X-Ray tracing and ALL events logged, without execution data', () => {
    expect(stateMachine()).toMatchObject({
      StateMachineType: 'EXPRESS',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: ref(stack.workflow.logGroup.logGroupArn) } }],
      },
    });
  });

  it('runs the ASL file itself, unchanged, from an asset', () => {
    const { Key } = stateMachine().DefinitionS3Location as { Key: string };
    expect(readFileSync(`${outdir}/asset.${Key}`, 'utf8')).toBe(readFileSync(ORDER_INTAKE_ASL_PATH, 'utf8'));
    expect(stateMachine().DefinitionString).toBeUndefined();
  });

  it('substitutes exactly the placeholders of the ASL file, with this stack’s resources and the fast path ON', () => {
    const placeholders = new Set(
      [...readFileSync(ORDER_INTAKE_ASL_PATH, 'utf8').matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map(([, name]) => name),
    );
    const substitutions = stateMachine().DefinitionSubstitutions as Json;
    expect(new Set(Object.keys(substitutions))).toEqual(placeholders);
    expect(substitutions).toEqual({
      ValidateFunctionArn: ref(stack.workflow.validate.function.functionArn),
      OrdersTableName: ref(stack.table.table.tableName),
      EventBusName: ref(stack.events.bus.eventBusName),
      PublishFastPath: 'ON',
      ...WORKFLOW_CONSTANTS,
    });
  });

  it('tells Validate its table and the client key’s retention (24 h by default), as the local runtime does', () => {
    const { Environment } = propertiesOf(template, stack.workflow.validate.function) as {
      Environment: { Variables: Json };
    };
    expect(Environment.Variables).toMatchObject({
      ORDERS_TABLE_NAME: ref(stack.table.table.tableName),
      CLIENT_KEY_RETENTION_HOURS: '24',
    });
  });

  it('gives the Validate function one second more than the Validate task waits, so the task times out first', () => {
    const definition = JSON.parse(readFileSync(ORDER_INTAKE_ASL_PATH, 'utf8')) as {
      States: { Validate: { TimeoutSeconds: number } };
    };
    expect(propertiesOf(template, stack.workflow.validate.function)).toMatchObject({
      Timeout: definition.States.Validate.TimeoutSeconds + 1,
      MemorySize: 512,
    });
  });

  it('logs executions to a log group with a retention, under the vended-logs prefix', () => {
    expect(propertiesOf(template, stack.workflow.logGroup)).toEqual({
      LogGroupName: '/aws/vendedlogs/states/OrderIntake-order-intake',
      RetentionInDays: 30,
    });
  });

  describe('role', () => {
    const table = () => ref(stack.table.table.tableArn);

    it('may invoke Validate, put the three items in a transaction, read a lock, a client key or its own order, publish — nothing else', () => {
      expect(statementsOf(template, stack.workflow.role)).toEqual(
        expect.arrayContaining([
          allow(['lambda:InvokeFunction'], ref(stack.workflow.validate.function.functionArn), { Sid: 'Validate' }),
          allow(['dynamodb:PutItem'], table(), {
            Sid: 'PersistInOneTransaction',
            Condition: {
              StringEquals: { 'dynamodb:EnclosingOperation': 'TransactWriteItems' },
              'ForAllValues:StringLike': {
                'dynamodb:LeadingKeys': [
                  `${ORDERS_TABLE.idempotencyKeyPrefix}*`,
                  `${ORDERS_TABLE.orderKeyPrefix}*`,
                  `${ORDERS_TABLE.clientKeyPrefix}*`,
                ],
              },
            },
          }),
          allow(['dynamodb:GetItem'], table(), {
            Sid: 'ReadLockAndOwnOrder',
            Condition: {
              'ForAllValues:StringLike': {
                'dynamodb:LeadingKeys': [
                  `${ORDERS_TABLE.idempotencyKeyPrefix}*`,
                  `${ORDERS_TABLE.orderKeyPrefix}*`,
                  `${ORDERS_TABLE.clientKeyPrefix}*`,
                ],
              },
            },
          }),
          allow(['events:PutEvents'], ref(stack.events.bus.eventBusArn), { Sid: 'Publish' }),
        ]),
      );
      const unscoped = statementsOf(template, stack.workflow.role).filter((s) => s.Resource === '*');
      expect(unscoped.flatMap((s) => s.Action).every((action) => /^(logs|xray):/.test(action))).toBe(true);
      expect(statementsOf(template, stack.workflow.role)).toHaveLength(5);
    });

    it('covers every Task of the ASL file, and only those', async () => {
      // Task resource -> the IAM actions it needs; a transaction needs the action of each of its item operations.
      const definition = loadOrderIntakeDefinition({
        ValidateFunctionArn: 'v',
        OrdersTableName: 't',
        EventBusName: 'b',
      });
      const tasks = Object.values((definition as { States: Record<string, Json> }).States).filter(
        (state) => state.Type === 'Task',
      );
      // Validate builds the transaction's items (TransactItems.$): those of a request with an Idempotency-Key, the most.
      const keyed = await validateHandlerOn('orders')({
        ...workflowInput(JSON.stringify(validOrder)),
        clientKey: 'aw==',
      });
      if (keyed.outcome !== 'VALID') throw new Error('expected VALID');
      const needed = new Set(
        tasks.flatMap((task): string[] => {
          const [service, api] = String(task.Resource)
            .replace(/^arn:aws:states:::(aws-sdk:)?/, '')
            .split(':') as [string, string];
          if (api === 'transactWriteItems') {
            expect(task.Parameters).toMatchObject({ 'TransactItems.$': '$.validation.Payload.transactItems' });
            return keyed.transactItems.map((item) => `dynamodb:${Object.keys(item)[0]}Item`);
          }
          const action = api === 'invoke' ? 'InvokeFunction' : `${api.charAt(0).toUpperCase()}${api.slice(1)}`;
          return [`${service}:${action}`];
        }),
      );
      expect(needed.size).toBeGreaterThan(0);
      const granted = statementsOf(template, stack.workflow.role)
        .filter((statement: Statement) => statement.Resource !== '*')
        .flatMap((statement) => statement.Action);
      expect(new Set(granted)).toEqual(needed);
    });
  });
});

describe('workflow role, against every DynamoDB Task of the ASL file', () => {
  /** A Task's Parameters with its paths read from a real state; intrinsics (tokens, documents) do not matter to IAM. */
  const parametersOf = (parameters: unknown, state: Json): unknown => {
    if (Array.isArray(parameters)) return parameters.map((item) => parametersOf(item, state));
    if (typeof parameters !== 'object' || parameters === null) return parameters;
    return Object.fromEntries(
      Object.entries(parameters).map(([key, value]) => {
        if (!key.endsWith('.$')) return [key, parametersOf(value, state)];
        const path = String(value);
        const read = path.startsWith('$.')
          ? path
              .slice(2)
              .split('.')
              .reduce<unknown>((node, name) => (node as Json | undefined)?.[name], state)
          : 'intrinsic';
        return [key.slice(0, -2), read];
      }),
    );
  };

  it.each(['Persist', 'ReadOwnOrder', 'ReadLock', 'ReadClientKey'])(
    '%s: each item it touches is under a key prefix the role’s dynamodb:LeadingKeys allow',
    async (stateName) => {
      const names = { ...LOCAL_RESOURCES, tableName: 'orders' };
      const definition = loadOrderIntakeDefinition({
        ValidateFunctionArn: names.validateFunctionArn,
        OrdersTableName: names.tableName,
        EventBusName: names.busName,
      }) as { States: Record<string, { Resource: string; Parameters: Json }> };
      const state = definition.States[stateName];
      if (!state) throw new Error(`no state ${stateName}`);
      // A request with an Idempotency-Key: its transaction has the most items, and ReadClientKey a key to read.
      const payload = await validateHandlerOn(names.tableName)({
        ...workflowInput(JSON.stringify(validOrder)),
        clientKey: Buffer.from('"k-1"').toString('base64'),
        caller: { accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/Checkout/s' },
      });
      const parameters = parametersOf(state.Parameters, { validation: { Payload: payload }, run: {} }) as Json;
      const operation = state.Resource.split(':').at(-1) ?? '';
      const requests = dynamoDbAuthorizationRequests(
        operation.charAt(0).toUpperCase() + operation.slice(1),
        parameters,
      );
      const { workflow } = authorizersFor(
        deployedIamSource(stackLogicalIds(stack), template.toJSON() as CloudFormationTemplate, names),
      );

      expect(requests.length).toBeGreaterThan(0);
      for (const request of requests) {
        expect(request.context?.['dynamodb:LeadingKeys']).toEqual([
          expect.stringMatching(/^(ORDER|IDEMPOTENCY|CLIENTKEY)#/),
        ]);
        await expect(workflow.authorize(request)).resolves.toBeUndefined();
      }
    },
  );

  it('names every DynamoDB Task of the ASL file above', () => {
    const definition = loadOrderIntakeDefinition({ ValidateFunctionArn: 'v', OrdersTableName: 't', EventBusName: 'b' });
    const dynamoDbTasks = Object.entries((definition as { States: Record<string, Json> }).States)
      .filter(([, state]) => state.Type === 'Task' && String(state.Resource).includes('dynamodb'))
      .map(([name]) => name);
    expect(dynamoDbTasks.sort()).toEqual(['Persist', 'ReadClientKey', 'ReadLock', 'ReadOwnOrder']);
  });
});

describe('API', () => {
  const method = (httpMethod: string) =>
    template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: httpMethod } });
  const integrationOf = (httpMethod: string) => {
    const resource = only(Object.values(method(httpMethod)) as { Properties: { Integration: Json } }[]);
    return resource.Properties.Integration as {
      Uri: unknown;
      RequestTemplates: Record<string, unknown>;
      IntegrationResponses: {
        StatusCode: string;
        SelectionPattern?: string;
        ResponseTemplates: Record<string, string>;
        ResponseParameters: Json;
      }[];
    } & Json;
  };
  const templateResources = () => ({
    StateMachineArn: stack.workflow.stateMachine.stateMachineArn,
    OrdersTableName: stack.table.table.tableName,
  });
  const matchesFailure = (status: string) => new RegExp(`^${INTEGRATION_FAILURE_PATTERN}$`).test(status);
  const context = requestContext({ path: '/v1/orders' });

  describe('POST /orders', () => {
    it('starts the EXPRESS workflow synchronously, as the API role', () => {
      expect(integrationOf('POST')).toMatchObject({
        Type: 'AWS',
        IntegrationHttpMethod: 'POST',
        Credentials: ref(stack.api.integrationRole.roleArn),
        PassthroughBehavior: 'NEVER',
      });
      expect(JSON.stringify(integrationOf('POST').Uri)).toContain(':states:action/StartSyncExecution');
    });

    it('has a request template for the JSON media type only (the others get 415), loaded from api/', () => {
      const { RequestTemplates } = integrationOf('POST');
      expect(Object.keys(RequestTemplates)).toEqual([ORDER_REQUEST_CONTENT_TYPE]);
      expect(RequestTemplates[ORDER_REQUEST_CONTENT_TYPE]).toEqual(
        ref(loadApiTemplate('postOrdersRequest', templateResources())),
      );
    });

    it('names each execution after the API request id, on this stack’s state machine', () => {
      const rendered = JSON.stringify(integrationOf('POST').RequestTemplates[ORDER_REQUEST_CONTENT_TYPE]);
      expect(rendered).toContain(JSON.stringify(ref(stack.workflow.stateMachine.stateMachineArn)));
      expect(rendered).toMatch(/\\"name\\": \\"\$context\.requestId\\"/);
    });

    it('maps the workflow output with the response template from api/, and every answer carries x-request-id', () => {
      const [success, failure] = integrationOf('POST').IntegrationResponses;
      const postOrdersResponse = loadApiTemplate('postOrdersResponse', templateResources());
      expect(success).toEqual({
        StatusCode: '200',
        ResponseTemplates: { 'application/json': stack.resolve(postOrdersResponse) },
        ResponseParameters: { 'method.response.header.x-request-id': 'context.requestId' },
      });
      expect(failure?.ResponseParameters).toEqual({ 'method.response.header.x-request-id': 'context.requestId' });
    });

    it('answers a failure of StartSyncExecution itself with a problem, never a 202: throttling 503, else 500', () => {
      const failure = only(integrationOf('POST').IntegrationResponses.filter((response) => response.SelectionPattern));
      expect(['400', '403', '429', '500', '503'].every(matchesFailure)).toBe(true);
      expect(['200', '202'].some(matchesFailure)).toBe(false);
      const render = (errorType: string) =>
        new MappingTemplate('failure', jsonTemplateOf(failure)).render({
          body: JSON.stringify({ __type: `com.amazonaws.swf.service.v2.model#${errorType}`, message: 'no' }),
          context,
        });
      const throttled = render('ThrottlingException');
      expect(throttled.status).toBe(503);
      expect(throttled.headers).toMatchObject({ 'Content-Type': PROBLEM_CONTENT_TYPE, 'Retry-After': '1' });
      const rejected = render('StateMachineDoesNotExist');
      expect(rejected.status).toBe(500);
      expect(rejected.headers['Content-Type']).toBe(PROBLEM_CONTENT_TYPE);
      expect(JSON.parse(rejected.body)).toMatchObject({ status: 500, requestId: 'req-1' });
    });
  });

  describe('GET /orders/{orderId}', () => {
    it('reads the table directly with GetItem, as the API role, with the templates from api/', () => {
      const integration = integrationOf('GET');
      expect(integration).toMatchObject({
        Type: 'AWS',
        Credentials: ref(stack.api.integrationRole.roleArn),
        PassthroughBehavior: 'NEVER',
        RequestTemplates: { 'application/json': ref(loadApiTemplate('getOrderRequest', templateResources())) },
      });
      expect(JSON.stringify(integration.Uri)).toContain(':dynamodb:action/GetItem');
      const getOrderResponse = loadApiTemplate('getOrderResponse', templateResources());
      expect(integration.IntegrationResponses).toEqual([
        {
          StatusCode: '200',
          ResponseTemplates: { 'application/json': getOrderResponse },
          ResponseParameters: { 'method.response.header.x-request-id': 'context.requestId' },
        },
        {
          StatusCode: '500',
          SelectionPattern: INTEGRATION_FAILURE_PATTERN,
          ResponseTemplates: { 'application/json': getOrderResponse },
          ResponseParameters: { 'method.response.header.x-request-id': 'context.requestId' },
        },
      ]);
    });

    it('answers a throttled read with 503 and Retry-After, not with "no such order"', () => {
      const failure = only(integrationOf('GET').IntegrationResponses.filter((response) => response.SelectionPattern));
      const rendered = new MappingTemplate('failure', jsonTemplateOf(failure)).render({
        body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException' }),
        context: { ...context, resourcePath: '/orders/{orderId}' },
      });
      expect(rendered).toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
      expect(JSON.parse(rendered.body)).toMatchObject({ status: 503, requestId: 'req-1' });
    });
  });

  it('declares x-request-id on every method response', () => {
    const responses = Object.values(template.findResources('AWS::ApiGateway::Method')).flatMap(
      (resource) =>
        (resource as { Properties: { MethodResponses: { ResponseParameters: Json }[] } }).Properties.MethodResponses,
    );
    expect(responses.length).toBeGreaterThan(0);
    for (const response of responses) {
      expect(response.ResponseParameters['method.response.header.x-request-id']).toBe(true);
    }
  });

  it('answers other media types with a 415 problem+json (the api/ template as plain JSON), the request id in it', () => {
    const response = only(
      Object.values(
        template.findResources('AWS::ApiGateway::GatewayResponse', {
          Properties: { ResponseType: 'UNSUPPORTED_MEDIA_TYPE' },
        }),
      ) as {
        Properties: { StatusCode: string; ResponseParameters: Json; ResponseTemplates: Record<string, string> };
      }[],
    );
    expect(response.Properties).toMatchObject({
      StatusCode: '415',
      ResponseParameters: {
        'gatewayresponse.header.Content-Type': `'${PROBLEM_CONTENT_TYPE}'`,
      },
    });
    // Gateway responses substitute variables but run no VTL: the body must be JSON once $context is filled in.
    const body = jsonTemplateOf(response.Properties).replaceAll('$context.requestId', 'req-1');
    expect(JSON.parse(body)).toMatchObject({ status: 415, requestId: 'req-1' });
  });

  describe('answers API Gateway makes itself (auth, routing, throttling, size, timeouts)', () => {
    type GatewayResponse = { ResponseParameters: Json; ResponseTemplates: Record<string, string>; StatusCode?: string };
    const gatewayResponse = (type: string): GatewayResponse =>
      only(
        Object.values(
          template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } }),
        ) as { Properties: GatewayResponse }[],
      ).Properties;
    const problemHeaders = { 'gatewayresponse.header.Content-Type': `'${PROBLEM_CONTENT_TYPE}'` };

    it('map response headers only from sources AWS documents for gateway responses: request parameters, literals', () => {
      // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.gatewayResponse.html
      const documented =
        /^('[^']*'|method\.request\.(header|querystring|multivalueheader|multivaluequerystring|path)\.[\w-]+|stageVariables\.\w+)$/;
      const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')) as {
        Properties: { ResponseParameters?: Record<string, string> };
      }[];
      expect(responses.length).toBeGreaterThan(0);
      const sources = responses.flatMap(({ Properties }) => Object.values(Properties.ResponseParameters ?? {}));
      expect(sources.filter((source) => !documented.test(source))).toEqual([]);
    });

    it.each([
      ['DEFAULT_4XX', problemHeaders],
      ['DEFAULT_5XX', problemHeaders],
      ['THROTTLED', { ...problemHeaders, 'gatewayresponse.header.Retry-After': "'1'" }],
    ])('%s: the gateway-error template from api/, as problem+json with the request id in it', (type, headers) => {
      expect(gatewayResponse(type)).toEqual({
        ResponseType: type,
        RestApiId: ref(stack.api.api.restApiId),
        // No StatusCode: each keeps the status of the error it answers.
        ResponseParameters: headers,
        ResponseTemplates: { 'application/json': loadApiTemplate('gatewayErrorResponse', templateResources()) },
      });
    });

    /**
     * What API Gateway does with a gateway response template: it substitutes $context variables and runs no VTL.
     * $context.error.messageString arrives as a quoted JSON string.
     */
    const substitute = (source: string, variables: Record<string, string>): string =>
      source.replace(/\$context\.[A-Za-z.]+[A-Za-z]/g, (name) => {
        const value = variables[name];
        if (value === undefined) throw new Error(`${name} is not substituted in this test`);
        return value;
      });

    it.each([
      ['MISSING_AUTHENTICATION_TOKEN', 'Missing Authentication Token'],
      ['THROTTLED', 'Too Many Requests'],
      ['REQUEST_TOO_LARGE', 'Request Too Long'],
      ['INTEGRATION_TIMEOUT', 'Endpoint request timed out'],
      ['ACCESS_DENIED', 'User: anonymous is not authorized to perform: "execute-api:Invoke" \\ on this resource'],
    ])('renders %s as an RFC 9457 problem with the request id', (responseType, message) => {
      const source = jsonTemplateOf(gatewayResponse('DEFAULT_4XX'));
      expect(source).not.toMatch(/#/); // no directive, no comment: API Gateway would send them as they are
      const body = substitute(source, {
        '$context.error.messageString': JSON.stringify(message),
        '$context.error.responseType': responseType,
        '$context.requestId': 'req-1',
      });
      expect(JSON.parse(body)).toEqual({
        type: `${PROBLEM_TYPE_BASE}gateway-error`,
        title: message,
        detail: responseType,
        requestId: 'req-1',
      });
    });
  });

  it('requires IAM (SigV4) on every method by default', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods).toHaveLength(2);
    for (const resource of methods) expect(resource).toMatchObject({ Properties: { AuthorizationType: 'AWS_IAM' } });
  });

  it('throttles the stage at 5,000 requests/s (burst 5,000), traces with X-Ray and writes JSON access logs', () => {
    const stage = propertiesOf(template, stack.api.api.deploymentStage);
    expect(stage).toMatchObject({
      TracingEnabled: true,
      MethodSettings: [
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 5000,
          ThrottlingBurstLimit: 5000,
        }),
      ],
    });
    expect(JSON.stringify(stage.AccessLogSetting)).toContain(
      JSON.stringify({ Ref: logicalIdOf(stack.api.accessLogs) }),
    );
    const format = (stage.AccessLogSetting as { Format: string }).Format;
    expect(format).toContain('"requestId":"$context.requestId"');
    expect(format).toContain('"integrationStatus":"$context.integrationStatus"');
    expect(format).toContain('"errorMessage":$context.error.messageString');
  });

  describe('access log format: JSON whatever a value holds', () => {
    /**
     * What API Gateway documents each field to hold (context variable reference): ids, numbers, names, an IP, ARNs:
     * never a quote nor a line break, so each may stand inside quotes. A sample of each, to build a line with.
     */
    const SAFE_IN_QUOTES: Record<string, string> = {
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTime: '07/Dec/2026:00:00:00 +0000',
      httpMethod: 'POST',
      resourcePath: '/orders/{orderId}',
      status: '500',
      responseLength: '196',
      responseLatency: '42',
      integrationStatus: '200',
      integrationLatency: '40',
      awsEndpointRequestId: 'e1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
      'error.responseType': 'INTEGRATION_FAILURE',
      'identity.sourceIp': '192.0.2.1',
      'identity.caller': 'AIDACKCEVSQ6C2EXAMPLE',
      'identity.userArn': 'arn:aws:iam::111122223333:user/ops',
      xrayTraceId: 'Root=1-5e1b4151-5ac6c58f5ab8EXAMPLE',
    };
    /** Fields AWS documents as already quoted: they stand without quotes of their own. */
    const QUOTED_BY_AWS: Record<string, string> = {
      'error.messageString': JSON.stringify('The request signature we calculated does not match.\n"POST\n/v1/orders"'),
    };
    const format = () =>
      (propertiesOf(template, stack.api.api.deploymentStage).AccessLogSetting as { Format: string }).Format;
    const variables = () => [...format().matchAll(/(")?\$context\.([A-Za-z0-9_.]+)(")?/g)];

    it('uses only fields that are safe inside quotes, quoted, and fields AWS quotes itself, unquoted', () => {
      const misplaced = variables().filter(([, open, name = '', close]) => {
        if (name in QUOTED_BY_AWS) return open !== undefined || close !== undefined;
        return !(name in SAFE_IN_QUOTES) || open === undefined || close === undefined;
      });
      expect(misplaced.map(([whole]) => whole)).toEqual([]);
      expect(variables().map(([, , name]) => name)).toContain('error.messageString');
    });

    it('is one JSON object per line with a multi-line error message', () => {
      const line = format().replace(/\$context\.([A-Za-z0-9_.]+)/g, (_whole, name: string) =>
        String(SAFE_IN_QUOTES[name] ?? QUOTED_BY_AWS[name]),
      );
      expect(line).not.toContain('\n');
      expect(JSON.parse(line)).toMatchObject({ status: '500', errorMessage: expect.stringContaining('\n"POST') });
    });
  });

  describe('account CloudWatch role (apiCloudWatchRole, default true)', () => {
    const cloudWatchRole = () => {
      if (!stack.api.cloudWatchRole) throw new Error('no CloudWatch role');
      return stack.api.cloudWatchRole;
    };
    const resource = (id: string) => (template.toJSON().Resources as Record<string, Json>)[id];

    it('is set as the account’s API Gateway CloudWatch role, and both outlive the stack', () => {
      const account = only(Object.entries(template.findResources('AWS::ApiGateway::Account')));
      expect(account[1]).toMatchObject({
        Properties: { CloudWatchRoleArn: ref(cloudWatchRole().roleArn) },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
      expect(resource(logicalIdOf(cloudWatchRole()))).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
      expect(propertiesOf(template, cloudWatchRole()).AssumeRolePolicyDocument).toMatchObject({
        Statement: [{ Principal: { Service: 'apigateway.amazonaws.com' } }],
      });
      // The stage is created only once the account may log: API Gateway refuses logging stages before.
      expect(resource(logicalIdOf(stack.api.api.deploymentStage))?.DependsOn).toContain(account[0]);
    });

    it('is the one role with a managed policy, AmazonAPIGatewayPushToCloudWatchLogs alone, and no other policy', () => {
      expect(managedPoliciesByRole(template)).toEqual({
        [logicalIdOf(cloudWatchRole())]: [
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
            ],
          },
        ],
      });
      expect(propertiesOf(template, cloudWatchRole()).Policies).toBeUndefined();
      expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain(
        JSON.stringify({ Ref: logicalIdOf(cloudWatchRole()) }),
      );
    });

    it('lets the stage log execution errors, without request or response bodies, kept as long as other logs', () => {
      expect(propertiesOf(template, stack.api.api.deploymentStage).MethodSettings).toEqual([
        expect.objectContaining({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        }),
      ]);
      const executionLogs = stack.api.executionLogs;
      if (!executionLogs) throw new Error('no execution log group');
      expect(propertiesOf(template, executionLogs)).toEqual({
        LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', ref(stack.api.api.restApiId), '/v1']] },
        RetentionInDays: 30,
      });
      // Created before the stage, so API Gateway does not create it first with no retention.
      expect(resource(logicalIdOf(stack.api.api.deploymentStage))?.DependsOn).toContain(logicalIdOf(executionLogs));
    });
  });

  it('gives its role StartSyncExecution on this state machine and GetItem on ORDER# items — nothing else', () => {
    expect(statementsOf(template, stack.api.integrationRole)).toEqual([
      allow(['states:StartSyncExecution'], ref(stack.workflow.stateMachine.stateMachineArn), {
        Sid: 'StartOrderIntake',
      }),
      allow(['dynamodb:GetItem'], ref(stack.table.table.tableArn), {
        Sid: 'ReadOrders',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${ORDERS_TABLE.orderKeyPrefix}*`] } },
      }),
    ]);
    expect(propertiesOf(template, stack.api.integrationRole).AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Principal: { Service: 'apigateway.amazonaws.com' } }],
    });
  });
});
