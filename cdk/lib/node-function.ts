/**
 * The one way this app builds a Lambda function, so bundling, runtime, tracing and logging are decided once.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FUNCTION_TIMEOUT_SECONDS } from '../../src/deployed-settings.js';
import type { LambdaLogLevel } from './deployment-config.js';
import { StackLogGroup } from './log-group.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The esbuild target and the Lambda runtime move together. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
const ESBUILD_TARGET = 'node24';

/**
 * The bundle is ESM (the code is), and some dependencies are CommonJS that `require` Node built-ins: this gives
 * them a `require` inside the ES module.
 */
const ESM_REQUIRE_SHIM = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/** A function's timeout unless its props say otherwise; the local runtime holds a handler to the same. */
export const DEFAULT_FUNCTION_TIMEOUT = Duration.seconds(DEFAULT_FUNCTION_TIMEOUT_SECONDS);

export interface NodeFunctionProps {
  /** The handler module (TypeScript) exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Merged over the common variables (log level), never replacing them. */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * Concurrent executions kept for this function alone, and its ceiling. Lambda refuses a reservation that leaves
   * the account fewer than 100 unreserved.
   * @default - none: the function shares the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
  readonly logLevel: LambdaLogLevel;
  readonly logRetention: RetentionDays;
  /** Why any other statement of this function's role needs `Resource: *` (X-Ray's is explained already). */
  readonly wildcardResourceReason?: string;
}

/** A NodejsFunction with its own role (logs to its own log group only, plus X-Ray) and its own log group. */
export class NodeFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    this.logGroup = new StackLogGroup(this, 'LogGroup', { retention: props.logRetention });
    // An explicit role instead of the default one, which carries the AWS managed AWSLambdaBasicExecutionRole
    // (logs:CreateLogGroup and writes to every log group).
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? DEFAULT_FUNCTION_TIMEOUT,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      // Stack traces point into the TypeScript sources through the bundle's source map.
      environment: { POWERTOOLS_LOG_LEVEL: props.logLevel, NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      bundling: {
        format: OutputFormat.ESM,
        target: ESBUILD_TARGET,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_SHIM,
        minify: true,
        sourceMap: true,
        // A .map file beside the bundle, linked by a sourceMappingURL comment that --enable-source-maps follows.
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // The SDK the code was tested with, not whichever version the runtime happens to carry.
        bundleAwsSDK: true,
      },
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which take no resource ARN' +
        (props.wildcardResourceReason ? `; ${props.wildcardResourceReason}` : '.'),
    });
  }
}
