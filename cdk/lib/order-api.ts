/**
 * The REST API: no Lambda between API Gateway and the work. POST /orders starts the EXPRESS workflow synchronously
 * (StartSyncExecution) and GET /orders/{orderId} reads the table (GetItem), both as AWS service integrations whose
 * mapping templates are the files in api/, the same ones the local runtime renders.
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  AwsIntegration,
  EndpointType,
  type IntegrationResponse,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type MethodResponse,
  PassthroughBehavior,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { loadApiTemplate, ORDER_REQUEST_CONTENT_TYPE, type ApiTemplateResources } from '../../api/templates.js';
import { REQUEST_ID_HEADER } from '../../src/contract/order.js';
import { PROBLEM_CONTENT_TYPE } from '../../src/contract/problem.js';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';
import type { ApiAuthorization } from './deployment-config.js';
import { StackLogGroup } from './log-group.js';
import { leadingKeysLike } from './orders-table.js';

const API_STAGE_NAME = 'v1';

/**
 * API Gateway picks a request template by Content-Type and a response template by Accept, and takes
 * application/json when the header is absent or (for responses) matches no template: templates that must always
 * apply are registered under it.
 */
const DEFAULT_MEDIA_TYPE = 'application/json';

/**
 * Integration failures: the AWS API itself answered 4xx/5xx. The templates handle those bodies too; a separate
 * response keeps the base status at 500 should a template ever not override it.
 */
export const INTEGRATION_FAILURE_PATTERN = '[45]\\d{2}';

/** Every answer carries the API request id, which is also the workflow execution's name. */
const REQUEST_ID_MAPPING = { [`method.response.header.${REQUEST_ID_HEADER}`]: 'context.requestId' };

const declaredHeaders = (...headers: string[]): Record<string, boolean> =>
  Object.fromEntries(headers.map((header) => [`method.response.header.${header}`, true]));

const methodResponses = (statuses: string[], ...headers: string[]): MethodResponse[] =>
  statuses.map((statusCode) => ({
    statusCode,
    responseParameters: declaredHeaders('Content-Type', REQUEST_ID_HEADER, ...headers),
  }));

/**
 * An integration response mapped by one of the api/ templates, which sets the final status and headers itself
 * ($context.responseOverride); the x-request-id header is added here, for every answer.
 */
const mappedBy =
  (responseTemplate: string) =>
  (response: Pick<IntegrationResponse, 'statusCode' | 'selectionPattern'>): IntegrationResponse => ({
    ...response,
    responseTemplates: { [DEFAULT_MEDIA_TYPE]: responseTemplate },
    responseParameters: REQUEST_ID_MAPPING,
  });

export interface OrderApiProps {
  readonly stateMachine: IStateMachine;
  readonly table: ITable;
  readonly authorization: ApiAuthorization;
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly logRetention: RetentionDays;
  /**
   * true: this stack sets the account's API Gateway CloudWatch role and the stage logs execution errors;
   * false: the account already has one (another stack set it), and execution logging stays off.
   */
  readonly cloudWatchRole: boolean;
}

export class OrderApi extends Construct {
  readonly api: RestApi;
  readonly integrationRole: Role;
  readonly accessLogs: LogGroup;
  /** The role API Gateway logs to CloudWatch with, account-wide, when this stack sets it. */
  readonly cloudWatchRole: Role | undefined;
  /** The group API Gateway writes this stage's execution logs to, when they are on. */
  readonly executionLogs: LogGroup | undefined;

  constructor(scope: Construct, id: string, props: OrderApiProps) {
    super(scope, id);
    const templateResources: ApiTemplateResources = {
      StateMachineArn: props.stateMachine.stateMachineArn,
      OrdersTableName: props.table.tableName,
    };
    const template = (name: Parameters<typeof loadApiTemplate>[0]) => loadApiTemplate(name, templateResources);

    this.accessLogs = new StackLogGroup(this, 'AccessLogs', { retention: props.logRetention });

    this.api = new RestApi(this, 'Api', {
      // Metrics are per API name: one name per stack keeps two deployments in one account apart.
      restApiName: Stack.of(this).stackName,
      description: 'Order Intake v1',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // API Gateway refuses to create a stage with access (or execution) logging unless the account's API Gateway
      // settings, one per account and Region, name a CloudWatch role. When asked, the stack creates that role and sets
      // it (AWS::ApiGateway::Account), and retains both: the setting belongs to the account, every API there logs
      // through it, and deleting this stack must not break their logging. Otherwise the account already has one.
      cloudWatchRole: props.cloudWatchRole,
      ...(props.cloudWatchRole && { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN }),
      defaultMethodOptions: {
        authorizationType: props.authorization === 'IAM' ? AuthorizationType.IAM : AuthorizationType.NONE,
      },
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: props.throttlingRateLimit,
        throttlingBurstLimit: props.throttlingBurstLimit,
        tracingEnabled: true,
        // Execution logs: API Gateway's own errors (authorization, integration failures, template errors), never the
        // request and response bodies (no data trace: they are orders).
        ...(props.cloudWatchRole && { loggingLevel: MethodLoggingLevel.ERROR, dataTraceEnabled: false }),
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: AccessLogField.contextRequestId(),
            requestTime: AccessLogField.contextRequestTime(),
            httpMethod: AccessLogField.contextHttpMethod(),
            resourcePath: AccessLogField.contextResourcePath(),
            status: AccessLogField.contextStatus(),
            responseLength: AccessLogField.contextResponseLength(),
            responseLatency: AccessLogField.contextResponseLatency(),
            integrationStatus: AccessLogField.contextIntegrationStatus(),
            integrationLatency: AccessLogField.contextIntegrationLatency(),
            integrationRequestId: AccessLogField.contextAwsEndpointRequestId(),
            integrationError: AccessLogField.contextIntegrationErrorMessage(),
            errorType: AccessLogField.contextErrorResponseType(),
            errorMessage: AccessLogField.contextErrorMessage(),
            sourceIp: AccessLogField.contextIdentitySourceIp(),
            caller: AccessLogField.contextIdentityCaller(),
            userArn: AccessLogField.contextIdentityUserArn(),
            xrayTraceId: AccessLogField.contextXrayTraceId(),
          }),
        ),
      },
    });

    if (props.cloudWatchRole) {
      this.cloudWatchRole = this.findCloudWatchRole();
      // API Gateway creates this group on first use, kept forever, unless it exists: created here, before the stage,
      // it gets the stack's retention.
      this.executionLogs = new StackLogGroup(this, 'ExecutionLogs', {
        logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE_NAME}`,
        retention: props.logRetention,
      });
      this.api.deploymentStage.node.addDependency(this.executionLogs);
    }

    this.integrationRole = new Role(this, 'IntegrationRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'Order Intake API: start the workflow, read orders',
    });
    this.integrationRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'StartOrderIntake',
        actions: ['states:StartSyncExecution'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    this.integrationRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadOrders',
        actions: ['dynamodb:GetItem'],
        resources: [props.table.tableArn],
        conditions: leadingKeysLike(ORDERS_TABLE.orderKeyPrefix),
      }),
    );

    const orders = this.api.root.addResource('orders');
    const postResponse = mappedBy(template('postOrdersResponse'));
    orders.addMethod(
      'POST',
      new AwsIntegration({
        service: 'states',
        action: 'StartSyncExecution',
        integrationHttpMethod: 'POST',
        options: {
          credentialsRole: this.integrationRole,
          // Only the JSON media type has a template; anything else is refused (415) before the workflow runs.
          passthroughBehavior: PassthroughBehavior.NEVER,
          requestTemplates: { [ORDER_REQUEST_CONTENT_TYPE]: template('postOrdersRequest') },
          integrationResponses: [
            // The template sets the final status from the workflow's output; anything but a SUCCEEDED execution
            // (an error of StartSyncExecution included) is a 500 problem, never a 202.
            postResponse({ statusCode: '200' }),
            postResponse({ statusCode: '500', selectionPattern: INTEGRATION_FAILURE_PATTERN }),
          ],
        },
      }),
      {
        methodResponses: methodResponses(['200', '202', '400', '409', '413', '500', '503'], 'Location', 'Retry-After'),
      },
    );

    const order = orders.addResource('{orderId}');
    const getResponse = mappedBy(template('getOrderResponse'));
    order.addMethod(
      'GET',
      new AwsIntegration({
        service: 'dynamodb',
        action: 'GetItem',
        integrationHttpMethod: 'POST',
        options: {
          credentialsRole: this.integrationRole,
          passthroughBehavior: PassthroughBehavior.NEVER,
          requestTemplates: { [DEFAULT_MEDIA_TYPE]: template('getOrderRequest') },
          integrationResponses: [
            // The template answers the item (200), its absence (404) and a DynamoDB error (503 or 500).
            getResponse({ statusCode: '200' }),
            getResponse({ statusCode: '500', selectionPattern: INTEGRATION_FAILURE_PATTERN }),
          ],
        },
      }),
      {
        requestParameters: { 'method.request.path.orderId': true },
        methodResponses: methodResponses(['200', '404', '500', '503'], 'Retry-After'),
      },
    );

    // The answers API Gateway makes itself are problem+json too, with the request id in the body ($context variables
    // are substituted in gateway response templates). Their headers map only what AWS documents for gateway
    // responses, request parameters and literals (see docs/aws-fidelity.md): no context.requestId, so these answers
    // carry the id as API Gateway's own x-amzn-RequestId header, not as x-request-id.
    const problemHeaders = { 'Content-Type': `'${PROBLEM_CONTENT_TYPE}'` };
    this.api.addGatewayResponse('UnsupportedMediaType', {
      type: ResponseType.UNSUPPORTED_MEDIA_TYPE,
      statusCode: '415',
      responseHeaders: problemHeaders,
      templates: { [DEFAULT_MEDIA_TYPE]: template('unsupportedMediaTypeResponse') },
    });
    const gatewayError = { [DEFAULT_MEDIA_TYPE]: template('gatewayErrorResponse') };
    // Each keeps its type's status (403 missing token or unknown route, 413, 429, 504, ...).
    this.api.addGatewayResponse('Default4xx', {
      type: ResponseType.DEFAULT_4XX,
      responseHeaders: problemHeaders,
      templates: gatewayError,
    });
    this.api.addGatewayResponse('Default5xx', {
      type: ResponseType.DEFAULT_5XX,
      responseHeaders: problemHeaders,
      templates: gatewayError,
    });
    // Stage throttling (429): the token bucket refills every second.
    this.api.addGatewayResponse('Throttled', {
      type: ResponseType.THROTTLED,
      responseHeaders: { ...problemHeaders, 'Retry-After': "'1'" },
      templates: gatewayError,
    });

    this.acknowledgeFindings(props);
  }

  /** The role RestApi creates for `cloudWatchRole: true` (it does not expose it). */
  private findCloudWatchRole(): Role {
    const role = this.api.node.tryFindChild('CloudWatchRole');
    if (!(role instanceof Role)) throw new Error(`${this.api.node.path} has no CloudWatchRole`);
    return role;
  }

  private acknowledgeFindings({ authorization }: OrderApiProps): void {
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'The Validate step checks bodies (JSON Schema + DTOs) so that every 400 is problem+json listing every ' +
          'failing field and the 1 KB limit is counted on raw bytes; the GET template sanitises orderId itself.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          (authorization === 'IAM'
            ? 'Callers are services signing with SigV4 and the stage throttles'
            : 'The operator set apiAuthorization=NONE and the stage throttles') +
          '; a WAF web ACL is an account-level choice, to associate with the stage if the API is ever opened to the ' +
          'internet.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          authorization === 'IAM'
            ? 'Callers are services, not end users: methods use IAM (SigV4) authorization, not a Cognito user pool.'
            : 'The operator set apiAuthorization=NONE: methods take no authorization at all, a Cognito user pool ' +
              'included (for example behind a private network or a test stage).',
      },
    );
    if (this.cloudWatchRole) {
      Validations.of(this.cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-wide role API Gateway logs with: AWS documents this managed policy for it, and API Gateway ' +
          'names the log groups itself, for every API of the account and Region, so no narrower resource fits.',
      });
    } else {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG6',
        reason:
          'The operator set apiCloudWatchRole=false: the account API Gateway CloudWatch role is managed elsewhere and ' +
          'the stage leaves execution logging off; JSON access logs (with integration status and error), X-Ray and ' +
          'the workflow execution logs cover every request.',
      });
    }
    if (authorization === 'NONE') {
      Validations.of(this.api).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'The operator set apiAuthorization=NONE (for example behind a private network or a test stage).',
      });
    }
  }
}
