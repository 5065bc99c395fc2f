/**
 * Local stand-ins for the AWS service integrations the workflow's Task states use. Each one takes the state's
 * effective input (Parameters applied), authorizes the call against the workflow role's deployed policies, calls the
 * local backend, and fails with exactly the error name AWS would use, because Retry and Catch match on it
 * (docs/aws-fidelity.md cites the pages):
 * - AWS SDK integrations (Java SDK v2): `DynamoDb.<ModeledException>`, else `DynamoDb.DynamoDbException`
 * - optimized integrations (Java SDK v1): `DynamoDB.<ModeledException>`, else `DynamoDB.AmazonDynamoDBException`;
 *   `EventBridge.FailedEntry`
 * - Lambda: the function's own error type; `Lambda.AWSLambdaException` when the invoke itself is refused
 * Optimized integrations add the SDK's response metadata to their result (SdkHttpMetadata, SdkResponseMetadata);
 * AWS SDK integrations return the API response alone.
 */
import {
  GetItemCommand,
  TransactWriteItemsCommand,
  type DynamoDBClient,
  type GetItemCommandInput,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import * as dynamodbModel from '@aws-sdk/client-dynamodb';
import * as eventbridgeModel from '@aws-sdk/client-eventbridge';
import type { EventPublisher, PutEventsEntry, PutEventsResult } from '../../src/events/event-publisher.js';
import { eventBusArn } from '../iam/deployed-roles.js';
import { authorizeDynamoDbCall } from '../iam/dynamodb.js';
import { AccessDeniedError, AuthorizationError, type RoleAuthorizer } from '../iam/role-authorizer.js';
import { errorMessage } from '../../src/json-value.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type TaskIntegration = (input: JsonValue) => Promise<JsonValue>;

// The handlers are the real Lambda handlers; their events and results are JSON by construction.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry of handlers with different event types
export type LocalFunction = (event: any) => Promise<unknown>;

export class TaskError extends Error {
  constructor(name: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = name;
  }
}

/** The exceptions a service's model names (the SDKs' exception classes); any other error is unmodeled. */
const modeledExceptions = (model: Record<string, unknown>, base: abstract new (...args: never[]) => Error) =>
  new Set(
    Object.entries(model)
      .filter(([, value]) => typeof value === 'function' && (value as { prototype: unknown }).prototype instanceof base)
      .map(([name]) => name),
  );

/**
 * How Step Functions names a service's errors in one kind of integration. It names them after the Java SDK's
 * exception classes (`RequestLimitExceededException` where the model says `RequestLimitExceeded`); an error the model
 * does not name (validation, access denied) gets the SDK's base exception; a failure to reach the service is
 * `SdkClientException`. The Cause is the Java SDK's message with its request details.
 */
interface ServiceErrorNaming {
  prefix: string;
  modeled: ReadonlySet<string>;
  unmodeled: string;
  cause: (message: string, code: string, status: number) => string;
}

/** The Java SDK v1 style, used by optimized integrations. */
const sdkV1Cause = (service: string) => (message: string, code: string, status: number) =>
  `${message} (Service: ${service}; Status Code: ${status}; Error Code: ${code}; Request ID: ${randomUUID()}; Proxy: null)`;

const OPTIMIZED_DYNAMODB: ServiceErrorNaming = {
  prefix: 'DynamoDB',
  modeled: modeledExceptions(dynamodbModel, dynamodbModel.DynamoDBServiceException),
  unmodeled: 'AmazonDynamoDBException',
  cause: sdkV1Cause('AmazonDynamoDBv2'),
};
const SDK_DYNAMODB: ServiceErrorNaming = {
  ...OPTIMIZED_DYNAMODB,
  prefix: 'DynamoDb',
  unmodeled: 'DynamoDbException',
  // The Java SDK v2 style, used by AWS SDK integrations.
  cause: (message, _code, status) =>
    `${message} (Service: DynamoDb, Status Code: ${status}, Request ID: ${randomUUID()})`,
};
const OPTIMIZED_EVENTBRIDGE: ServiceErrorNaming = {
  prefix: 'EventBridge',
  modeled: modeledExceptions(eventbridgeModel, eventbridgeModel.EventBridgeServiceException),
  unmodeled: 'AmazonEventBridgeException',
  cause: sdkV1Cause('AmazonEventBridge'),
};

const asTaskError = (naming: ServiceErrorNaming, error: unknown): TaskError => {
  const message = errorMessage(error);
  // The local IAM evaluator could not judge the call: a defect of this runtime, never a transient fault to retry.
  if (error instanceof AuthorizationError)
    return new TaskError('LocalRuntime.AuthorizationError', message, { cause: error });
  if (!(error instanceof Error && '$fault' in error)) {
    return new TaskError(`${naming.prefix}.SdkClientException`, message, { cause: error });
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 400;
  const exception = naming.modeled.has(error.name)
    ? error.name.replace(/(?<!Exception)$/, 'Exception')
    : naming.unmodeled;
  return new TaskError(`${naming.prefix}.${exception}`, naming.cause(message, error.name, status), { cause: error });
};

/** SDK responses carry $metadata, which Step Functions does not pass on. */
const withoutMetadata = ({ $metadata: _metadata, ...rest }: object & { $metadata?: unknown }): JsonValue =>
  JSON.parse(JSON.stringify(rest)) as JsonValue;

/** What an optimized integration adds to the service's response. */
const withSdkMetadata = (response: JsonValue): JsonValue => {
  const requestId = randomUUID();
  const headers = { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': requestId };
  return {
    ...(response as Record<string, JsonValue>),
    SdkHttpMetadata: { AllHttpHeaders: headers, HttpHeaders: headers, HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: requestId },
  };
};

/** The state's Parameters are the API request, as in AWS; the service, not this stand-in, judges its fields. */
const asRequest = <Request = Record<string, unknown>>(input: JsonValue): Request => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TaskError('States.Runtime', 'task input must be an object');
  }
  return input as unknown as Request;
};

export interface LocalBackends {
  dynamodb: DynamoDBClient;
  bus: EventPublisher;
  functions: Record<string, LocalFunction>;
  /** The workflow role's deployed policies; every Task's call is authorized against them. */
  iam: RoleAuthorizer;
  /** Each function's configured timeout (ms), as deployed: a handler still running then fails as Lambda's would. */
  functionTimeoutsMs?: Record<string, number>;
}

/**
 * What Step Functions reports when Lambda returns no error type: the function timed out, ran out of memory or its
 * runtime exited. In process only the timeout can happen; the others would end the local service itself.
 */
const lambdaUnknown = (timeoutMs: number): TaskError =>
  new TaskError(
    'Lambda.Unknown',
    'The cause could not be determined because Lambda did not return an error type. Returned payload: ' +
      JSON.stringify({
        errorMessage: `${new Date().toISOString()} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
      }),
  );

async function invokeWithin<T>(run: () => Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return run();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(lambdaUnknown(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([run(), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

export function localIntegrations(backends: LocalBackends): Record<string, TaskIntegration> {
  const { iam } = backends;
  return {
    'arn:aws:states:::lambda:invoke': async (input) => {
      const { FunctionName, Payload } = asRequest(input);
      try {
        await iam.authorize({ action: 'lambda:InvokeFunction', resource: String(FunctionName) });
      } catch (error) {
        if (!(error instanceof AccessDeniedError)) throw error;
        const cause = sdkV1Cause('AWSLambda')(error.message, 'AccessDeniedException', 403);
        throw new TaskError('Lambda.AWSLambdaException', cause, { cause: error });
      }
      const fn = backends.functions[String(FunctionName)];
      if (!fn) throw new TaskError('Lambda.ResourceNotFoundException', `no local function ${String(FunctionName)}`);
      let payload: JsonValue;
      try {
        const result = await invokeWithin(() => fn(Payload), backends.functionTimeoutsMs?.[String(FunctionName)]);
        payload = JSON.parse(JSON.stringify(result)) as JsonValue;
      } catch (error) {
        if (error instanceof TaskError) throw error;
        // A function error reaches Step Functions under the error's own name, as Lambda reports it.
        throw new TaskError(error instanceof Error ? error.name : 'Error', String(error), { cause: error });
      }
      return withSdkMetadata({ ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 });
    },

    'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems': async (input) => {
      const request = asRequest<TransactWriteItemsCommandInput>(input);
      try {
        await authorizeDynamoDbCall(iam, 'TransactWriteItems', request as unknown as Record<string, unknown>);
        return withoutMetadata(await backends.dynamodb.send(new TransactWriteItemsCommand(request)));
      } catch (error) {
        throw asTaskError(SDK_DYNAMODB, error);
      }
    },

    'arn:aws:states:::dynamodb:getItem': async (input) => {
      const request = asRequest<GetItemCommandInput>(input);
      try {
        await authorizeDynamoDbCall(iam, 'GetItem', request as unknown as Record<string, unknown>);
        return withSdkMetadata(withoutMetadata(await backends.dynamodb.send(new GetItemCommand(request))));
      } catch (error) {
        throw asTaskError(OPTIMIZED_DYNAMODB, error);
      }
    },

    'arn:aws:states:::events:putEvents': async (input) => {
      const { Entries } = asRequest(input);
      if (!Array.isArray(Entries)) throw new TaskError('States.Runtime', 'Entries must be an array');
      // The optimized integration serializes an object Detail to JSON for the caller.
      const entries = Entries.map((entry) => {
        const { Detail, ...rest } = entry as Record<string, unknown>;
        return { ...rest, Detail: typeof Detail === 'string' ? Detail : JSON.stringify(Detail) } as PutEventsEntry;
      });
      let result: PutEventsResult;
      try {
        for (const entry of entries) {
          await iam.authorize({ action: 'events:PutEvents', resource: eventBusArn(entry.EventBusName ?? 'default') });
        }
        result = await backends.bus.putEvents(entries);
      } catch (error) {
        throw asTaskError(
          OPTIMIZED_EVENTBRIDGE,
          error instanceof AccessDeniedError ? eventBridgeAccessDenied(error) : error,
        );
      }
      if (result.FailedEntryCount > 0) {
        throw new TaskError('EventBridge.FailedEntry', JSON.stringify(result.Entries));
      }
      return withSdkMetadata(JSON.parse(JSON.stringify(result)) as JsonValue);
    },
  };
}

/** EventBridge refuses an unauthorized PutEvents as a whole, with its AccessDeniedException. */
export const eventBridgeAccessDenied = (denied: AccessDeniedError): Error =>
  new eventbridgeModel.AccessDeniedException({ message: denied.message, $metadata: { httpStatusCode: 400 } });
