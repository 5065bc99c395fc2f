/**
 * Local stand-ins for the AWS service integrations the workflow's Task states use. Each one takes the state's
 * effective input (Parameters applied), calls the local backend, and fails with exactly the error name AWS would
 * use, because Retry and Catch match on it:
 * - AWS SDK integrations:   `DynamoDb.<Exception>`
 * - optimized integrations: `DynamoDB.<Exception>`, `EventBridge.FailedEntry`
 * - Lambda:                 `Lambda.<...>`
 */
import {
  GetItemCommand,
  TransactWriteItemsCommand,
  type DynamoDBClient,
  type GetItemCommandInput,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { PutEventsEntry } from '../../src/events/order-accepted.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type TaskIntegration = (input: JsonValue) => Promise<JsonValue>;

/** The local event bus as the workflow's PutEvents integration sees it. */
export interface EventBusPort {
  putEvents(entries: PutEventsEntry[]): Promise<{ FailedEntryCount: number; Entries: object[] }>;
}

// The handlers are the real Lambda handlers; their events and results are JSON by construction.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry of handlers with different event types
export type LocalFunction = (event: any) => Promise<unknown>;

export class TaskError extends Error {
  constructor(name: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = name;
  }
}

/**
 * Step Functions names a service's errors after the Java SDK's exception classes (`RequestLimitExceededException`
 * where the JavaScript SDK says `RequestLimitExceeded`), and a failure to reach the service `SdkClientException`.
 */
const asTaskError = (prefix: string, error: unknown): TaskError => {
  const isServiceError = error instanceof Error && '$fault' in error;
  const name = isServiceError ? error.name.replace(/(?<!Exception)$/, 'Exception') : 'SdkClientException';
  const message = error instanceof Error ? error.message : String(error);
  return new TaskError(`${prefix}.${name}`, message, { cause: error });
};

/** SDK responses carry $metadata, which Step Functions does not pass on. */
const withoutMetadata = ({ $metadata: _metadata, ...rest }: { $metadata?: unknown }): JsonValue =>
  JSON.parse(JSON.stringify(rest)) as JsonValue;

/** The state's Parameters are the API request, as in AWS; the service, not this stand-in, judges its fields. */
const asRequest = <Request = Record<string, unknown>>(input: JsonValue): Request => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TaskError('States.Runtime', 'task input must be an object');
  }
  return input as unknown as Request;
};

export interface LocalBackends {
  dynamodb: DynamoDBClient;
  bus: EventBusPort;
  functions: Record<string, LocalFunction>;
}

export function localIntegrations(backends: LocalBackends): Record<string, TaskIntegration> {
  return {
    'arn:aws:states:::lambda:invoke': async (input) => {
      const { FunctionName, Payload } = asRequest(input);
      const fn = backends.functions[String(FunctionName)];
      if (!fn) throw new TaskError('Lambda.ResourceNotFoundException', `no local function ${String(FunctionName)}`);
      try {
        return { StatusCode: 200, Payload: JSON.parse(JSON.stringify(await fn(Payload))) as JsonValue };
      } catch (error) {
        // A function error reaches Step Functions under the error's own name, as Lambda reports it.
        throw new TaskError(error instanceof Error ? error.name : 'Error', String(error), { cause: error });
      }
    },

    'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems': async (input) => {
      try {
        const command = new TransactWriteItemsCommand(asRequest<TransactWriteItemsCommandInput>(input));
        return withoutMetadata(await backends.dynamodb.send(command));
      } catch (error) {
        throw asTaskError('DynamoDb', error);
      }
    },

    'arn:aws:states:::dynamodb:getItem': async (input) => {
      try {
        const command = new GetItemCommand(asRequest<GetItemCommandInput>(input));
        return withoutMetadata(await backends.dynamodb.send(command));
      } catch (error) {
        throw asTaskError('DynamoDB', error);
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
      let result: Awaited<ReturnType<EventBusPort['putEvents']>>;
      try {
        result = await backends.bus.putEvents(entries);
      } catch (error) {
        throw asTaskError('EventBridge', error);
      }
      if (result.FailedEntryCount > 0) {
        throw new TaskError('EventBridge.FailedEntry', JSON.stringify(result.Entries));
      }
      return JSON.parse(JSON.stringify(result)) as JsonValue;
    },
  };
}
