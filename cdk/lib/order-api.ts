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
  EndpointType,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { loadApiTemplate } from '../../api/templates.js';
import type { ApiAuthorization } from './deployment-config.js';
import { StackLogGroup } from './log-group.js';
import { addGatewayResponses } from './order-api/gateway-responses.js';
import type { ApiTemplateLoader } from './order-api/integrations.js';
import { addGetOrder, addPostOrders } from './order-api/routes.js';

const API_STAGE_NAME = 'v1';

/**
 * One JSON line a request, with what explains its answer: the status, the integration's status, the caller, the
 * trace. The format is not a template: API Gateway substitutes each variable as it is, escaping nothing, so a value
 * inside quotes must never hold a quote or a line break. Every quoted field here is an id, a number, a name or an
 * ARN; the one free text, API Gateway's error message, comes in the form AWS documents as already quoted
 * (`$context.error.messageString`) and stands without quotes. `$context.error.message` and
 * `$context.integrationErrorMessage` have no quoted form and are left out (the integration's error is in the
 * execution's own log, found by `integrationRequestId` or the request id, and in the execution logs).
 */
const ACCESS_LOG_FIELDS = {
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
  errorType: AccessLogField.contextErrorResponseType(),
  sourceIp: AccessLogField.contextIdentitySourceIp(),
  caller: AccessLogField.contextIdentityCaller(),
  userArn: AccessLogField.contextIdentityUserArn(),
  xrayTraceId: AccessLogField.contextXrayTraceId(),
};

const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  `${JSON.stringify(ACCESS_LOG_FIELDS).slice(0, -1)},"errorMessage":${AccessLogField.contextErrorMessageString()}}`,
);

export interface OrderApiProps {
  readonly stateMachine: IStateMachine;
  readonly table: ITable;
  readonly authorization: ApiAuthorization;
  /**
   * The source IP ranges (CIDR) allowed to call, in the API's resource policy. With `authorization: 'NONE'` this or
   * `allowedVpcEndpoints` is required. @default no limit by address
   */
  readonly allowedSourceIps?: readonly string[];
  /** The VPC endpoints allowed to call through; the API is then private. @default no limit by endpoint */
  readonly allowedVpcEndpoints?: readonly string[];
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly logRetention: RetentionDays;
  /**
   * true: this stack sets the account's API Gateway CloudWatch role and the stage logs execution errors;
   * false: the account already has one (another stack set it), and execution logging stays off.
   */
  readonly cloudWatchRole: boolean;
}

/** Thrown at synth: the API would answer callers nobody meant to let in. */
export class UnlimitedCallersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnlimitedCallersError';
  }
}

/**
 * The API's resource policy: who may call it at all, before its methods' authorization. Without authorization
 * (apiAuthorization=NONE) anyone who reaches the API reads any order whose id they have, so the stack is refused
 * unless the callers are limited by source IP ranges (a regional API) or by VPC endpoints (a private API: an
 * endpoint's requests carry `aws:SourceVpce` only to a private API, and their source address is the VPC's, so the
 * two limits do not combine). With IAM, a limit given is a Deny on top of the callers' own permissions; the Allow
 * to anyone is added only without authorization, where the resource policy is the one that allows.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-examples.html
 */
function callerLimit(props: OrderApiProps): { policy?: PolicyDocument; endpoint: EndpointType } {
  const sourceIps = props.allowedSourceIps ?? [];
  const vpcEndpoints = props.allowedVpcEndpoints ?? [];
  if (sourceIps.length > 0 && vpcEndpoints.length > 0) {
    throw new UnlimitedCallersError(
      'apiAllowedSourceIps and apiAllowedVpcEndpoints do not combine: VPC endpoints reach a private API, whose ' +
        'callers have no public source address; give one or the other',
    );
  }
  if (sourceIps.length === 0 && vpcEndpoints.length === 0) {
    if (props.authorization === 'NONE') {
      throw new UnlimitedCallersError(
        "apiAuthorization=NONE needs a resource policy that limits who can call the API: give the callers' " +
          'source IP ranges (-c apiAllowedSourceIps=203.0.113.0/24,...) or the VPC endpoints they call through ' +
          '(-c apiAllowedVpcEndpoints=vpce-...,..., which makes the API private). Without one, anyone on the ' +
          'internet could create orders and read any order by its id.',
      );
    }
    return { endpoint: EndpointType.REGIONAL };
  }
  const invoke = { principals: [new AnyPrincipal()], actions: ['execute-api:Invoke'], resources: ['execute-api:/*'] };
  const outside =
    sourceIps.length > 0
      ? { NotIpAddress: { 'aws:SourceIp': [...sourceIps] } }
      : { StringNotEquals: { 'aws:SourceVpce': [...vpcEndpoints] } };
  const statements = [new PolicyStatement({ ...invoke, effect: Effect.DENY, conditions: outside })];
  if (props.authorization === 'NONE') statements.unshift(new PolicyStatement({ ...invoke, effect: Effect.ALLOW }));
  return {
    policy: new PolicyDocument({ statements }),
    endpoint: vpcEndpoints.length > 0 ? EndpointType.PRIVATE : EndpointType.REGIONAL,
  };
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
    const template: ApiTemplateLoader = (name) =>
      loadApiTemplate(name, {
        StateMachineArn: props.stateMachine.stateMachineArn,
        OrdersTableName: props.table.tableName,
      });

    const callers = callerLimit(props);
    this.accessLogs = new StackLogGroup(this, 'AccessLogs', { retention: props.logRetention });

    this.api = new RestApi(this, 'Api', {
      // Metrics are per API name: one name per stack keeps two deployments in one account apart.
      restApiName: Stack.of(this).stackName,
      description: 'Order Intake v1',
      endpointConfiguration: { types: [callers.endpoint] },
      ...(callers.policy && { policy: callers.policy }),
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
        accessLogFormat: ACCESS_LOG_FORMAT,
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
    const integration = { role: this.integrationRole, template };
    const orders = this.api.root.addResource('orders');
    addPostOrders(orders, integration, props.stateMachine);
    addGetOrder(orders, integration, props.table);
    addGatewayResponses(this.api, template);

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
        reason:
          'The operator set apiAuthorization=NONE; the resource policy limits callers to the source IP ranges or VPC ' +
          'endpoints given (apiAllowedSourceIps, apiAllowedVpcEndpoints), and synth fails without one.',
      });
    }
  }
}
