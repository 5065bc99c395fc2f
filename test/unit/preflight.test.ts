/**
 * `npm run preflight` against three accounts made with aws-sdk-client-mock: a new one (Lambda concurrency 10), a
 * standard one (1,000), one never bootstrapped; and how it runs without credentials or with --help.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { DescribeLimitsCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { App } from 'aws-cdk-lib';
import { mockClient } from 'aws-sdk-client-mock';
import { readDeploymentConfig } from '../../cdk/lib/deployment-config.js';
import { formatTable, main, preflight, type AccountClients, type Check } from '../../tools/preflight.js';
import { withoutAwsCredentials } from '../support/no-aws-credentials.js';

const lambda = mockClient(LambdaClient);
const apiGateway = mockClient(APIGatewayClient);
const dynamodb = mockClient(DynamoDBClient);
const ssm = mockClient(SSMClient);
const clients = (): AccountClients => ({
  lambda: new LambdaClient({ region: 'eu-west-1' }),
  apiGateway: new APIGatewayClient({ region: 'eu-west-1' }),
  dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
  ssm: new SSMClient({ region: 'eu-west-1' }),
});
const configFor = (capacity: 'default' | 'burst', context: Record<string, string> = {}) =>
  readDeploymentConfig(new App({ context: { capacity, ...context } }).node);

/** An account: its Lambda concurrency, and otherwise AWS's defaults, bootstrapped with CDK's current template. */
function account({ concurrency, bootstrapped = true }: { concurrency: number; bootstrapped?: boolean }) {
  lambda
    .on(GetAccountSettingsCommand)
    .resolves({ AccountLimit: { ConcurrentExecutions: concurrency, UnreservedConcurrentExecutions: concurrency } });
  apiGateway.on(GetAccountCommand).resolves({ throttleSettings: { rateLimit: 10000, burstLimit: 5000 } });
  dynamodb.on(DescribeLimitsCommand).resolves({
    AccountMaxReadCapacityUnits: 80000,
    AccountMaxWriteCapacityUnits: 80000,
    TableMaxReadCapacityUnits: 40000,
    TableMaxWriteCapacityUnits: 40000,
  });
  if (bootstrapped) {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/cdk-bootstrap/hnb659fds/version', Value: '29' } });
  } else {
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
  }
}

const verdicts = (checks: Check[]) => Object.fromEntries(checks.map(({ name, verdict }) => [name, verdict]));
const named = (checks: Check[], name: string) => checks.find((check) => check.name === name);

beforeEach(() => {
  for (const mock of [lambda, apiGateway, dynamodb, ssm]) mock.reset();
});

describe('a new account: Lambda concurrency quota 10', () => {
  beforeEach(() => account({ concurrency: 10 }));

  it('takes the default profile: nothing to reserve, nothing pre-warmed, every check GO', async () => {
    const checks = await preflight(clients(), { config: configFor('default') });
    expect(verdicts(checks)).toEqual({
      'CDK bootstrap': 'GO',
      'Lambda concurrency': 'GO',
      'API Gateway throttle': 'GO',
      'API Gateway CloudWatch role': 'GO',
      'DynamoDB table limits': 'GO',
    });
  });

  it('refuses the burst profile, naming the Lambda quota increase to request', async () => {
    const checks = await preflight(clients(), { config: configFor('burst') });
    const lambdaCheck = named(checks, 'Lambda concurrency');
    expect(lambdaCheck?.verdict).toBe('NO-GO');
    expect(lambdaCheck?.found).toContain('quota 10, unreserved 10, minimum unreserved 10; the profile reserves 600');
    expect(lambdaCheck?.action).toContain('"AWS Lambda: Concurrent executions" (L-B99A9384) of at least 700');
    expect(formatTable(checks, 'burst')).toMatch(/NO-GO: 1 of 5 checks stop the burst profile$/);
  });

  it('reads the minimum unreserved the user found in a refusal, when given', async () => {
    const checks = await preflight(clients(), { config: configFor('burst'), minimumUnreserved: 50 });
    expect(named(checks, 'Lambda concurrency')?.found).toContain('minimum unreserved 50');
  });
});

describe('a standard account: Lambda concurrency quota 1,000', () => {
  beforeEach(() => account({ concurrency: 1000 }));

  it('takes the burst profile: 600 reserved leave 400, above the 100 Lambda keeps', async () => {
    const checks = await preflight(clients(), { config: configFor('burst') });
    expect(checks.every(({ verdict }) => verdict === 'GO')).toBe(true);
    expect(named(checks, 'DynamoDB table limits')?.found).toContain('warm throughput 30,000 write / 12,000 read');
    expect(formatTable(checks, 'burst')).toMatch(/GO: the burst profile can deploy here$/);
  });

  it('refuses the burst profile where other functions already reserve most of the pool', async () => {
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 600 } });
    const checks = await preflight(clients(), { config: configFor('burst') });
    expect(named(checks, 'Lambda concurrency')).toMatchObject({
      verdict: 'NO-GO',
      action: expect.stringContaining('of at least 1,100'),
    });
  });

  it('refuses warm throughput past the table limit, naming the DynamoDB quota', async () => {
    const checks = await preflight(clients(), {
      config: configFor('burst', { ordersTableWarmWritesPerSecond: '50000' }),
    });
    expect(named(checks, 'DynamoDB table limits')).toMatchObject({
      verdict: 'NO-GO',
      action: 'request "Amazon DynamoDB: Table-level write throughput limit" of at least write 50,000 units/s',
    });
  });

  it('refuses the burst where the account throttle is below the stage’s, and only warns for the default', async () => {
    apiGateway.on(GetAccountCommand).resolves({ throttleSettings: { rateLimit: 2500, burstLimit: 1250 } });
    const burst = named(await preflight(clients(), { config: configFor('burst') }), 'API Gateway throttle');
    const byDefault = named(await preflight(clients(), { config: configFor('default') }), 'API Gateway throttle');
    expect(burst).toMatchObject({
      verdict: 'NO-GO',
      action: expect.stringContaining('(L-8A5B8E43) of at least 5,000/s'),
    });
    expect(byDefault?.verdict).toBe('WARN');
  });

  it('warns of an existing CloudWatch role, and refuses apiCloudWatchRole=false without one', async () => {
    apiGateway.on(GetAccountCommand).resolves({
      throttleSettings: { rateLimit: 10000, burstLimit: 5000 },
      cloudwatchRoleArn: 'arn:aws:iam::111122223333:role/existing',
    });
    const existing = named(await preflight(clients(), { config: configFor('default') }), 'API Gateway CloudWatch role');
    expect(existing).toMatchObject({ verdict: 'WARN', action: expect.stringContaining('-c apiCloudWatchRole=false') });

    apiGateway.on(GetAccountCommand).resolves({ throttleSettings: { rateLimit: 10000, burstLimit: 5000 } });
    const none = named(
      await preflight(clients(), { config: configFor('default', { apiCloudWatchRole: 'false' }) }),
      'API Gateway CloudWatch role',
    );
    expect(none?.verdict).toBe('NO-GO');
  });
});

describe('an account never bootstrapped', () => {
  beforeEach(() => account({ concurrency: 1000, bootstrapped: false }));

  it('is NO-GO for any profile, telling to run cdk bootstrap', async () => {
    const checks = await preflight(clients(), { config: configFor('default') });
    expect(named(checks, 'CDK bootstrap')).toEqual({
      name: 'CDK bootstrap',
      verdict: 'NO-GO',
      found: 'not bootstrapped: no /cdk-bootstrap/hnb659fds/version',
      action: 'run `npx cdk bootstrap` once for this account and Region',
    });
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: '/cdk-bootstrap/hnb659fds/version' });
  });

  it('is NO-GO for a bootstrap older than this CDK needs', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '5' } });
    const checks = await preflight(clients(), { config: configFor('default') });
    expect(named(checks, 'CDK bootstrap')?.verdict).toBe('NO-GO');
  });
});

describe('npm run preflight', () => {
  let output: string[];
  beforeEach(() => {
    output = [];
    const record = (...line: unknown[]) => void output.push(line.join(' '));
    jest.spyOn(console, 'log').mockImplementation(record);
    jest.spyOn(console, 'error').mockImplementation(record);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('exits 1 with the table when the profile cannot deploy, 0 when it can', async () => {
    account({ concurrency: 10 });
    await expect(main(['--capacity', 'burst'], async () => clients())).resolves.toBe(1);
    expect(output.join('\n')).toMatch(/NO-GO +Lambda concurrency/);
    await expect(main([], async () => clients())).resolves.toBe(0);
  });

  it('--help prints the usage and exits 0', async () => {
    await expect(main(['--help'])).resolves.toBe(0);
    expect(output.join('\n')).toMatch(/^usage: npm run preflight/);
  });

  it('without credentials says so plainly and exits 2', async () => {
    await expect(withoutAwsCredentials(() => main([]))).resolves.toBe(2);
    expect(output.join('\n')).toContain('No AWS credentials found by the default chain');
  });

  it('exits 2 on a bad context value, naming it', async () => {
    await expect(main(['--capacity', 'huge'], async () => clients())).resolves.toBe(2);
    expect(output.join('\n')).toContain('context capacity="huge"');
  });
});
