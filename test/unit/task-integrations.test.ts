/**
 * The local task integrations answer as AWS's do: error names per integration kind (modeled or not), Lambda's
 * timeout, and the metadata optimized integrations add to their result.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  localIntegrations,
  type LocalFunction,
  type TaskIntegration,
} from '../../local/stepfunctions/task-integrations.js';
import { LOCAL_RESOURCES } from '../../local/local-account.js';
import { deployedAuthorizers } from '../support/iam.js';
import { RecordingBus } from '../support/recording-bus.js';

const dynamodb = new DynamoDBClient({ region: 'local' });
const dynamodbMock = mockClient(dynamodb);
afterEach(() => {
  dynamodbMock.reset();
});

const VALIDATE = LOCAL_RESOURCES.validateFunctionArn;
const TABLE = LOCAL_RESOURCES.tableName;

function integration(
  resource: string,
  fn: LocalFunction = async () => ({ ok: true }),
  timeoutMs?: number,
): TaskIntegration {
  const integrations = localIntegrations({
    dynamodb,
    bus: new RecordingBus(),
    functions: { [VALIDATE]: fn, 'arn:aws:lambda:local:000000000000:function:another': fn },
    iam: deployedAuthorizers().workflow,
    ...(timeoutMs === undefined ? {} : { functionTimeoutsMs: { [VALIDATE]: timeoutMs } }),
  });
  const found = integrations[resource];
  if (!found) throw new Error(`no integration ${resource}`);
  return found;
}

const validationError = () =>
  new DynamoDBServiceException({
    name: 'ValidationException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'One or more parameter values were invalid',
  });

describe('lambda:invoke (optimized)', () => {
  it('returns the payload with StatusCode, ExecutedVersion and the SDK metadata', async () => {
    const result = await integration('arn:aws:states:::lambda:invoke')({ FunctionName: VALIDATE, Payload: {} });

    expect(result).toEqual({
      ExecutedVersion: '$LATEST',
      Payload: { ok: true },
      StatusCode: 200,
      SdkHttpMetadata: expect.objectContaining({ HttpStatusCode: 200 }),
      SdkResponseMetadata: { RequestId: expect.any(String) },
    });
  });

  it('a function still running at its configured timeout fails as Lambda.Unknown', async () => {
    const never: LocalFunction = () => new Promise(() => undefined);
    const run = integration('arn:aws:states:::lambda:invoke', never, 50)({ FunctionName: VALIDATE, Payload: {} });

    await expect(run).rejects.toMatchObject({
      name: 'Lambda.Unknown',
      message: expect.stringMatching(
        /^The cause could not be determined because Lambda did not return an error type\. .*Task timed out after 0\.05 seconds/,
      ),
    });
  });

  it('a function the role may not invoke fails as Lambda.AWSLambdaException (403 AccessDeniedException)', async () => {
    const run = integration('arn:aws:states:::lambda:invoke')({
      FunctionName: 'arn:aws:lambda:local:000000000000:function:another',
      Payload: {},
    });

    await expect(run).rejects.toMatchObject({
      name: 'Lambda.AWSLambdaException',
      message: expect.stringMatching(
        /not authorized to perform: lambda:InvokeFunction .*\(Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: [\w-]+; Proxy: null\)$/,
      ),
    });
  });
});

describe('DynamoDB error names', () => {
  const getItem = { TableName: TABLE, Key: { pk: { S: 'ORDER#1' } } };
  const transaction = { TransactItems: [{ Put: { TableName: TABLE, Item: { pk: { S: 'ORDER#1' } } } }] };

  it.each([
    ['an unmodeled error (validation)', 'DynamoDB.AmazonDynamoDBException', validationError],
    [
      'a modeled error',
      'DynamoDB.ProvisionedThroughputExceededException',
      () => new ProvisionedThroughputExceededException({ message: 'x', $metadata: {} }),
    ],
    [
      'a modeled error without the suffix',
      'DynamoDB.RequestLimitExceededException',
      () => new RequestLimitExceeded({ message: 'x', $metadata: {} }),
    ],
    ['an unreachable service', 'DynamoDB.SdkClientException', () => new Error('connect ECONNREFUSED')],
  ])('optimized getItem: %s is %s', async (_label, name, error) => {
    dynamodbMock.on(GetItemCommand).rejects(error());
    await expect(integration('arn:aws:states:::dynamodb:getItem')(getItem)).rejects.toMatchObject({ name });
  });

  it.each([
    ['an unmodeled error (validation)', 'DynamoDb.DynamoDbException', validationError],
    [
      'a modeled error without the suffix',
      'DynamoDb.RequestLimitExceededException',
      () => new RequestLimitExceeded({ message: 'x', $metadata: {} }),
    ],
  ])('AWS SDK transactWriteItems: %s is %s', async (_label, name, error) => {
    dynamodbMock.on(TransactWriteItemsCommand).rejects(error());
    await expect(
      integration('arn:aws:states:::aws-sdk:dynamodb:transactWriteItems')(transaction),
    ).rejects.toMatchObject({ name });
  });

  it('optimized getItem returns the item with the SDK metadata; the SDK integration returns the response alone', async () => {
    dynamodbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'ORDER#1' } } });
    dynamodbMock.on(TransactWriteItemsCommand).resolves({});

    expect(await integration('arn:aws:states:::dynamodb:getItem')(getItem)).toEqual({
      Item: { pk: { S: 'ORDER#1' } },
      SdkHttpMetadata: expect.objectContaining({ HttpStatusCode: 200 }),
      SdkResponseMetadata: { RequestId: expect.any(String) },
    });
    expect(await integration('arn:aws:states:::aws-sdk:dynamodb:transactWriteItems')(transaction)).toEqual({});
  });
});
