/**
 * The context keys: their defaults, how `-c key=value` strings are read, what a bad value does, that each one
 * reaches the resource it configures, and that docs/deploy.md documents every one of them.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { CONTEXT_KEYS, readDeploymentConfig } from '../../cdk/lib/deployment-config.js';
import { PROJECT_ROOT } from '../../cdk/lib/node-function.js';
import type { OrderIntakeStack } from '../../cdk/lib/order-intake-stack.js';
import {
  CDK_JSON,
  managedPoliciesByRole,
  propertiesOf,
  statementsOf,
  synthOrderIntake,
  type Json,
} from './synth-order-intake.js';

const configOf = (context: Record<string, unknown>) => readDeploymentConfig(new App({ context }).node);

describe('readDeploymentConfig', () => {
  it('falls back on the defaults', () => {
    expect(configOf({})).toEqual({
      stackName: 'OrderIntake',
      capacity: 'default',
      apiThrottlingRateLimit: 5000,
      apiThrottlingBurstLimit: 5000,
      apiAuthorization: 'IAM',
      apiAllowedSourceIps: undefined,
      apiAllowedVpcEndpoints: undefined,
      apiCloudWatchRole: true,
      workflowLogLevel: 'ALL',
      workflowLogIncludeExecutionData: false,
      publishFastPath: true,
      clientKeyRetentionHours: 24,
      ordersTableWarmWritesPerSecond: undefined,
      ordersTableWarmReadsPerSecond: undefined,
      validateReservedConcurrency: undefined,
      relayReservedConcurrency: undefined,
      lambdaLogLevel: 'INFO',
      logRetentionDays: 30,
      eventArchiveRetentionDays: 30,
      alarmEmail: undefined,
    });
  });

  it('reads the strings `-c key=value` passes', () => {
    expect(
      configOf({
        apiThrottlingRateLimit: '200',
        apiCloudWatchRole: 'false',
        workflowLogIncludeExecutionData: 'true',
        publishFastPath: 'false',
        ordersTableWarmWritesPerSecond: '10000',
        validateReservedConcurrency: '800',
        relayReservedConcurrency: 'none',
        alarmEmail: 'ops@example.com',
      }),
    ).toMatchObject({
      apiThrottlingRateLimit: 200,
      apiCloudWatchRole: false,
      workflowLogIncludeExecutionData: true,
      publishFastPath: false,
      ordersTableWarmWritesPerSecond: 10000,
      validateReservedConcurrency: 800,
      relayReservedConcurrency: undefined,
      alarmEmail: 'ops@example.com',
    });
  });

  it('takes the capacity keys from the profile, and a key given on its own over the profile', () => {
    expect(configOf({ capacity: 'burst' })).toMatchObject({
      capacity: 'burst',
      ordersTableWarmWritesPerSecond: 30000,
      ordersTableWarmReadsPerSecond: 12000,
      validateReservedConcurrency: 500,
      relayReservedConcurrency: 100,
    });
    expect(
      configOf({ capacity: 'burst', validateReservedConcurrency: 'none', ordersTableWarmWritesPerSecond: 'none' }),
    ).toMatchObject({ validateReservedConcurrency: undefined, ordersTableWarmWritesPerSecond: undefined });
    expect(configOf({ ordersTableWarmWritesPerSecond: '8000' })).toMatchObject({
      capacity: 'default',
      ordersTableWarmWritesPerSecond: 8000,
      validateReservedConcurrency: undefined,
    });
  });

  it('fails the synth on a removed key instead of ignoring it, saying why it went', () => {
    expect(() => configOf({ archiveGlacierAfterDays: '90' })).toThrow(
      /context archiveGlacierAfterDays: this key was removed \(archived orders stay in S3 Standard/,
    );
  });

  it.each([
    ['capacity', 'profile'],
    ['stackName', 'order_intake'],
    ['stackName', '2nd'],
    ['apiAuthorization', 'COGNITO'],
    ['apiThrottlingRateLimit', '0'],
    ['apiThrottlingBurstLimit', '1.5'],
    ['apiCloudWatchRole', '1'],
    ['workflowLogLevel', 'all'],
    ['workflowLogIncludeExecutionData', 'yes'],
    ['publishFastPath', 'OFF'],
    ['ordersTableWarmWritesPerSecond', '100'],
    ['ordersTableWarmReadsPerSecond', '4000'],
    ['validateReservedConcurrency', '0'],
    ['relayReservedConcurrency', 'unlimited'],
    ['logRetentionDays', '42'],
    ['alarmEmail', 'ops'],
    ['apiAllowedSourceIps', '0.0.0.0/0'],
    ['apiAllowedSourceIps', '203.0.113.7'],
    ['apiAllowedSourceIps', '203.0.113.0/33'],
    ['apiAllowedVpcEndpoints', 'vpc-0123456789abcdef0'],
  ])('fails the synth on %s=%s, naming the key', (key, value) => {
    expect(() => configOf({ [key]: value })).toThrow(new RegExp(`context ${key}=`));
  });
});

describe('apiAuthorization=NONE: an API nobody meant to open', () => {
  it('fails the synth without a limit on who can call, saying why and what to give', () => {
    expect(() => synthOrderIntake({ context: { apiAuthorization: 'NONE' } })).toThrow(
      /apiAuthorization=NONE needs a resource policy that limits who can call the API: .*apiAllowedSourceIps.*apiAllowedVpcEndpoints/,
    );
  });

  it('fails the synth given both limits, which cannot combine', () => {
    const context = {
      apiAuthorization: 'NONE',
      apiAllowedSourceIps: '203.0.113.0/24',
      apiAllowedVpcEndpoints: 'vpce-0123456789abcdef0',
    };
    expect(() => synthOrderIntake({ context })).toThrow(/do not combine/);
  });

  it('makes the API private behind the given VPC endpoints, and answers those alone', () => {
    const { stack, template } = synthOrderIntake({
      context: { apiAuthorization: 'NONE', apiAllowedVpcEndpoints: ['vpce-0123456789abcdef0'] },
    });
    const api = propertiesOf(template, stack.api.api);
    expect(api.EndpointConfiguration).toEqual({ Types: ['PRIVATE'] });
    expect((api.Policy as { Statement: Json[] }).Statement).toEqual([
      expect.objectContaining({ Effect: 'Allow', Principal: { AWS: '*' } }),
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { StringNotEquals: { 'aws:SourceVpce': ['vpce-0123456789abcdef0'] } },
      }),
    ]);
  });

  it('adds only a Deny with IAM authorization: a limit given narrows the signed callers, never widens them', () => {
    const { stack, template } = synthOrderIntake({ context: { apiAllowedSourceIps: '198.51.100.0/24' } });
    const api = propertiesOf(template, stack.api.api);
    expect(api.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
    expect((api.Policy as { Statement: Json[] }).Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Condition: { NotIpAddress: { 'aws:SourceIp': ['198.51.100.0/24'] } } }),
    ]);
  });
});

describe('a deployment with every key set', () => {
  let stack: OrderIntakeStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthOrderIntake({
      context: {
        stackName: 'OrderIntakeStaging',
        apiThrottlingRateLimit: 100,
        apiThrottlingBurstLimit: 50,
        apiAuthorization: 'NONE',
        apiAllowedSourceIps: '203.0.113.0/24, 2001:db8::/32', // as `-c apiAllowedSourceIps=…` passes it
        apiAllowedVpcEndpoints: [],
        apiCloudWatchRole: false,
        workflowLogLevel: 'ERROR',
        workflowLogIncludeExecutionData: true,
        publishFastPath: 'false', // as `-c publishFastPath=false` passes it
        ordersTableWarmWritesPerSecond: 10000,
        ordersTableWarmReadsPerSecond: 20000,
        validateReservedConcurrency: 'none',
        relayReservedConcurrency: 50,
        lambdaLogLevel: 'DEBUG',
        logRetentionDays: 90,
        eventArchiveRetentionDays: 7,
        alarmEmail: 'ops@example.com',
      },
    }));
  });

  it('names the stack, and what is named after it, as asked: a second stack deploys beside the first', () => {
    expect(stack.stackName).toBe('OrderIntakeStaging');
    expect(propertiesOf(template, stack.monitoring.dashboard).DashboardName).toBe('OrderIntakeStaging-order-intake');
    expect(propertiesOf(template, stack.workflow.logGroup).LogGroupName).toBe(
      '/aws/vendedlogs/states/OrderIntakeStaging-order-intake',
    );
    expect(propertiesOf(template, stack.api.api).Name).toBe('OrderIntakeStaging');
  });

  it('lets only the given source IP ranges call the open API, by its resource policy', () => {
    expect(propertiesOf(template, stack.api.api).Policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'execute-api:Invoke', Resource: 'execute-api:/*' },
        {
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'execute-api:Invoke',
          Resource: 'execute-api:/*',
          Condition: { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] } },
        },
      ],
    });
  });

  it('throttles the stage and leaves the methods open as asked', () => {
    expect(propertiesOf(template, stack.api.api.deploymentStage).MethodSettings).toEqual([
      expect.objectContaining({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 50 }),
    ]);
    for (const method of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
      expect(method).toMatchObject({ Properties: { AuthorizationType: 'NONE' } });
    }
  });

  it('leaves the account’s API Gateway CloudWatch role alone, and execution logging off', () => {
    expect(template.findResources('AWS::ApiGateway::Account')).toEqual({});
    expect(managedPoliciesByRole(template)).toEqual({});
    expect(stack.api.cloudWatchRole).toBeUndefined();
    expect(stack.api.executionLogs).toBeUndefined();
    const [settings] = propertiesOf(template, stack.api.api.deploymentStage).MethodSettings as Json[];
    expect(settings).not.toHaveProperty('LoggingLevel'); // unset: OFF
  });

  it('logs workflow errors only, with execution data', () => {
    expect(propertiesOf(template, stack.workflow.stateMachine).LoggingConfiguration).toMatchObject({
      Level: 'ERROR',
      IncludeExecutionData: true,
    });
  });

  it('leaves OrderAccepted to the stream relay: the workflow gets PublishFastPath OFF and cannot publish', () => {
    expect(propertiesOf(template, stack.workflow.stateMachine).DefinitionSubstitutions).toMatchObject({
      PublishFastPath: 'OFF',
    });
    const workflowStatements = statementsOf(template, stack.workflow.role);
    expect(workflowStatements.map((statement) => statement.Sid)).toEqual(
      expect.arrayContaining(['Validate', 'PersistInOneTransaction', 'ReadLockAndOwnOrder']),
    );
    expect(workflowStatements.flatMap((statement) => statement.Action)).not.toContain('events:PutEvents');
    expect(workflowStatements).toHaveLength(4);
    expect(statementsOf(template, stack.relay.relay.role).flatMap((statement) => statement.Action)).toContain(
      'events:PutEvents',
    );
  });

  it('pre-warms the table', () => {
    expect(propertiesOf(template, stack.table.table).WarmThroughput).toEqual({
      WriteUnitsPerSecond: 10000,
      ReadUnitsPerSecond: 20000,
    });
  });

  it('reserves concurrency as asked: none for Validate, 50 for the relay', () => {
    expect(propertiesOf(template, stack.workflow.validate.function)).not.toHaveProperty('ReservedConcurrentExecutions');
    expect(propertiesOf(template, stack.relay.relay.function).ReservedConcurrentExecutions).toBe(50);
  });

  it('sets the Lambda log level and every log group’s retention', () => {
    for (const fn of [stack.workflow.validate, stack.relay.relay, stack.archive.consumer]) {
      expect(propertiesOf(template, fn.function).Environment).toMatchObject({
        Variables: { POWERTOOLS_LOG_LEVEL: 'DEBUG' },
      });
    }
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup')) as { Properties: Json }[];
    expect(logGroups).toHaveLength(5);
    for (const { Properties } of logGroups) expect(Properties.RetentionInDays).toBe(90);
  });

  it('keeps bus events for the days asked', () => {
    expect(propertiesOf(template, stack.events.archive).RetentionDays).toBe(7);
  });

  it('mails the alarms', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: stack.resolve(stack.monitoring.topic.topicArn),
    });
  });
});

describe('where the keys are written down', () => {
  const deployDoc = readFileSync(`${PROJECT_ROOT}docs/deploy.md`, 'utf8');

  it.each(Object.entries(CONTEXT_KEYS))('docs/deploy.md documents %s with its default', (key, { default: value }) => {
    const row = deployDoc.split('\n').find((line) => line.startsWith(`| \`${key}\``));
    expect(row).toBeDefined();
    expect(row).toContain(value === undefined ? 'unset' : `\`${String(value)}\``);
  });

  it('cdk.json does not repeat them: the defaults live in code only', () => {
    for (const key of Object.keys(CONTEXT_KEYS)) expect(CDK_JSON.context).not.toHaveProperty(key);
  });
});
