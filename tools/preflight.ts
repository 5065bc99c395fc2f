/**
 * `npm run preflight [-- --capacity burst] [-c key=value ...] [--region <r>]`: reads the account and Region a
 * `cdk deploy` would go to (the default AWS credential chain) and says, check by check, whether the chosen capacity
 * profile can deploy there and do what it promises, and which quota increase to request where it cannot. Read-only:
 * Lambda GetAccountSettings, API Gateway GetAccount, DynamoDB DescribeLimits, SSM GetParameter.
 * Exit code: 0 go, 1 no-go (the table says why), 2 it could not run (no credentials or Region, bad arguments).
 */
import { APIGatewayClient, GetAccountCommand } from '@aws-sdk/client-api-gateway';
import { DescribeLimitsCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { App } from 'aws-cdk-lib';
import { parseArgs } from 'node:util';
import { readDeploymentConfig, type DeploymentConfig } from '../cdk/lib/deployment-config.js';
import { CDK_JSON } from '../cdk/lib/synthesize.js';
import { awsClient } from './aws-credentials.js';
import { MissingCredentialsError } from './signed-fetch.js';

/**
 * What Lambda keeps unreserved for functions without a reservation: 100 on a standard account ("you can reserve up
 * to the Unreserved account concurrency value that is shown, minus 100", configuration-concurrency.html). No API
 * returns it; accounts whose quota is under 100 have been refused with a lower minimum, their whole quota, so the
 * check takes the smaller of the two. `--minimum-unreserved` overrides it with the figure a refusal named.
 */
const STANDARD_MINIMUM_UNRESERVED = 100;
/**
 * The bootstrap version the stack's artifacts require (`requiresBootstrapStackVersion` in cdk.out/manifest.json; the
 * lookup role's 8 does not apply: lookups are off in cdk.json).
 */
const MINIMUM_BOOTSTRAP_VERSION = 6;
const DEFAULT_QUALIFIER = 'hnb659fds';

export type Verdict = 'GO' | 'WARN' | 'NO-GO';

export interface Check {
  name: string;
  verdict: Verdict;
  /** What was read, against what the profile needs. */
  found: string;
  /** What to do about it: the quota increase to request, the command to run. */
  action?: string;
}

export interface AccountClients {
  lambda: LambdaClient;
  apiGateway: APIGatewayClient;
  dynamodb: DynamoDBClient;
  ssm: SSMClient;
}

export interface PreflightOptions {
  config: DeploymentConfig;
  /** @default 100, or the account's whole quota when that is less */
  minimumUnreserved?: number;
  /** @default cdk.json's `@aws-cdk/core:bootstrapQualifier`, else CDK's default */
  bootstrapQualifier?: string;
}

const number = (value: number | undefined): string => (value === undefined ? 'unknown' : value.toLocaleString('en'));

async function lambdaConcurrency({ lambda }: AccountClients, options: PreflightOptions): Promise<Check> {
  const { AccountLimit = {} } = await lambda.send(new GetAccountSettingsCommand({}));
  const quota = AccountLimit.ConcurrentExecutions ?? 0;
  const unreserved = AccountLimit.UnreservedConcurrentExecutions ?? quota;
  const minimum = options.minimumUnreserved ?? Math.min(STANDARD_MINIMUM_UNRESERVED, quota);
  const { validateReservedConcurrency = 0, relayReservedConcurrency = 0 } = options.config;
  const reserving = validateReservedConcurrency + relayReservedConcurrency;
  const found = `quota ${number(quota)}, unreserved ${number(unreserved)}, minimum unreserved ${number(minimum)}; the profile reserves ${number(reserving)}`;
  if (reserving === 0) return { name: 'Lambda concurrency', verdict: 'GO', found };
  if (unreserved - reserving >= minimum) return { name: 'Lambda concurrency', verdict: 'GO', found };
  const needed = quota + (minimum + reserving - unreserved);
  return {
    name: 'Lambda concurrency',
    verdict: 'NO-GO',
    found: `${found}: Lambda would refuse the reservation`,
    action: `request "AWS Lambda: Concurrent executions" (L-B99A9384) of at least ${number(Math.max(needed, reserving + STANDARD_MINIMUM_UNRESERVED))}, or deploy the default profile`,
  };
}

async function apiThrottle({ apiGateway }: AccountClients, { config }: PreflightOptions): Promise<Check[]> {
  const account = await apiGateway.send(new GetAccountCommand({}));
  const rate = account.throttleSettings?.rateLimit;
  const burst = account.throttleSettings?.burstLimit;
  const stage = { rate: config.apiThrottlingRateLimit, burst: config.apiThrottlingBurstLimit };
  const fits = rate !== undefined && burst !== undefined && stage.rate <= rate && stage.burst <= burst;
  const throttle: Check = {
    name: 'API Gateway throttle',
    verdict: fits ? 'GO' : config.capacity === 'burst' ? 'NO-GO' : 'WARN',
    found: `account ${number(rate)}/s (burst ${number(burst)}), stage ${number(stage.rate)}/s (burst ${number(stage.burst)})`,
    action: fits
      ? undefined
      : `request "Amazon API Gateway: Throttle rate" (L-8A5B8E43) of at least ${number(stage.rate)}/s; until then the account's throttle answers 429 first`,
  };
  const role = account.cloudwatchRoleArn;
  const cloudWatchRole: Check = config.apiCloudWatchRole
    ? {
        name: 'API Gateway CloudWatch role',
        verdict: role ? 'WARN' : 'GO',
        found: role ? `the account already names ${role}` : 'none set: the stack sets its own',
        action: role
          ? 'deploy with -c apiCloudWatchRole=false to leave it as it is; otherwise this stack replaces it in the account settings'
          : undefined,
      }
    : {
        name: 'API Gateway CloudWatch role',
        verdict: role ? 'GO' : 'NO-GO',
        found: role ? `the account names ${role}` : 'none set, and apiCloudWatchRole=false leaves it so',
        action: role
          ? undefined
          : 'API Gateway refuses a stage with access logs without one: deploy with apiCloudWatchRole=true (the default)',
      };
  return [throttle, cloudWatchRole];
}

async function tableLimits({ dynamodb }: AccountClients, { config }: PreflightOptions): Promise<Check> {
  const limits = await dynamodb.send(new DescribeLimitsCommand({}));
  const writes = config.ordersTableWarmWritesPerSecond;
  const reads = config.ordersTableWarmReadsPerSecond;
  const found =
    `table limits ${number(limits.TableMaxWriteCapacityUnits)} write / ${number(limits.TableMaxReadCapacityUnits)} read units/s; ` +
    `warm throughput ${writes === undefined ? 'none' : number(writes)} write / ${reads === undefined ? 'none' : number(reads)} read`;
  const short = [
    writes !== undefined && writes > (limits.TableMaxWriteCapacityUnits ?? 0) ? `write ${number(writes)}` : undefined,
    reads !== undefined && reads > (limits.TableMaxReadCapacityUnits ?? 0) ? `read ${number(reads)}` : undefined,
  ].filter(Boolean);
  if (short.length === 0) return { name: 'DynamoDB table limits', verdict: 'GO', found };
  return {
    name: 'DynamoDB table limits',
    verdict: 'NO-GO',
    found: `${found}: DynamoDB pre-warms no table past its limit`,
    action: `request "Amazon DynamoDB: Table-level ${short.map((s) => s?.split(' ')[0]).join(' and ')} throughput limit" of at least ${short.join(', ')} units/s`,
  };
}

async function bootstrap({ ssm }: AccountClients, options: PreflightOptions): Promise<Check> {
  const qualifier = options.bootstrapQualifier ?? DEFAULT_QUALIFIER;
  const name = `/cdk-bootstrap/${qualifier}/version`;
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name }));
    const version = Number(Parameter?.Value);
    const current = version >= MINIMUM_BOOTSTRAP_VERSION;
    return {
      name: 'CDK bootstrap',
      verdict: current ? 'GO' : 'NO-GO',
      found: `version ${Parameter?.Value} (${name}); this CDK needs ${MINIMUM_BOOTSTRAP_VERSION} or later`,
      action: current ? undefined : 'run `npx cdk bootstrap` to update it',
    };
  } catch (error) {
    if ((error as Error).name !== 'ParameterNotFound') throw error;
    return {
      name: 'CDK bootstrap',
      verdict: 'NO-GO',
      found: `not bootstrapped: no ${name}`,
      action: 'run `npx cdk bootstrap` once for this account and Region',
    };
  }
}

/** Every check, in the order a deploy meets them. */
export async function preflight(clients: AccountClients, options: PreflightOptions): Promise<Check[]> {
  const [boot, lambda, api, table] = await Promise.all([
    bootstrap(clients, options),
    lambdaConcurrency(clients, options),
    apiThrottle(clients, options),
    tableLimits(clients, options),
  ]);
  return [boot, lambda, ...api, table];
}

/** The go/no-go table, and what to do for each gap. */
export function formatTable(checks: Check[], profile: string): string {
  const width = Math.max(...checks.map(({ name }) => name.length));
  const rows = checks.map(({ name, verdict, found, action }) =>
    [
      `${verdict.padEnd(5)}  ${name.padEnd(width)}  ${found}`,
      ...(action ? [`${' '.repeat(width + 9)}-> ${action}`] : []),
    ].join('\n'),
  );
  const noGo = checks.filter(({ verdict }) => verdict === 'NO-GO').length;
  const summary =
    noGo === 0
      ? `GO: the ${profile} profile can deploy here`
      : `NO-GO: ${noGo} of ${checks.length} checks stop the ${profile} profile`;
  return [...rows, summary].join('\n');
}

const USAGE = `usage: npm run preflight -- [--capacity default|burst] [-c key=value ...] [--region <region>] [--minimum-unreserved <n>]

Reads the account and Region \`cdk deploy\` would use (the default AWS credential chain: AWS_PROFILE, keys, SSO...)
and prints a go/no-go table for the chosen capacity profile, naming the quota increase to request for each gap.
-c takes the same context keys as cdk deploy (docs/deploy.md). Exit code: 0 go, 1 no-go, 2 could not run.`;

class CannotRun extends Error {}

export async function main(argv: string[], makeClients = defaultClients): Promise<number> {
  let values: { capacity?: string; context?: string[]; region?: string; help?: boolean; 'minimum-unreserved'?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        capacity: { type: 'string' },
        context: { type: 'string', short: 'c', multiple: true },
        region: { type: 'string' },
        'minimum-unreserved': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const context = Object.fromEntries(
      (values.context ?? []).map((pair) => {
        const at = pair.indexOf('=');
        if (at < 1) throw new CannotRun(`-c ${pair}: expected key=value`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
    );
    if (values.capacity !== undefined) context.capacity = values.capacity;
    const config = readDeploymentConfig(new App({ context: { ...CDK_JSON.context, ...context } }).node);
    const minimum = values['minimum-unreserved'];
    const clients = await makeClients(values.region);
    const checks = await preflight(clients, {
      config,
      minimumUnreserved: minimum === undefined ? undefined : Number(minimum),
      bootstrapQualifier: CDK_JSON.context['@aws-cdk/core:bootstrapQualifier'] as string | undefined,
    });
    console.log(`preflight: capacity profile ${config.capacity}, stack ${config.stackName}`);
    console.log(formatTable(checks, config.capacity));
    return checks.some(({ verdict }) => verdict === 'NO-GO') ? 1 : 0;
  } catch (error) {
    if (
      error instanceof CannotRun ||
      error instanceof MissingCredentialsError ||
      (error as Error).name === 'ContextValueError'
    ) {
      console.error((error as Error).message);
      return 2;
    }
    throw error;
  }
}

/** The SDK clients, once credentials and a Region are found: without them, a plain sentence and exit code 2. */
async function defaultClients(region: string | undefined): Promise<AccountClients> {
  const lambda = await awsClient(
    (settings) => new LambdaClient(settings),
    'preflight reads the account, so it needs them',
    region,
  );
  const settings = { credentials: lambda.config.credentials, region: await lambda.config.region() };
  return {
    lambda,
    apiGateway: new APIGatewayClient(settings),
    dynamodb: new DynamoDBClient(settings),
    ssm: new SSMClient(settings),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
