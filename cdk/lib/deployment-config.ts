/**
 * The deployment's knobs, read from CDK context (`cdk.json`, or `-c key=value` on the command line). Each key is
 * defined here once, with its default and its parser; docs/deploy.md documents the same keys (a test holds it to
 * this list). Values given with `-c` arrive as strings, so every parser accepts the string form too.
 */
import type { Node } from 'constructs';

export type ApiAuthorization = 'IAM' | 'NONE';
export type WorkflowLogLevel = 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
export type LambdaLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface DeploymentConfig {
  readonly apiThrottlingRateLimit: number;
  readonly apiThrottlingBurstLimit: number;
  readonly apiAuthorization: ApiAuthorization;
  readonly apiCloudWatchRole: boolean;
  readonly workflowLogLevel: WorkflowLogLevel;
  readonly workflowLogIncludeExecutionData: boolean;
  readonly publishFastPath: boolean;
  readonly ordersTableWarmWritesPerSecond: number | undefined;
  readonly ordersTableWarmReadsPerSecond: number | undefined;
  readonly lambdaLogLevel: LambdaLogLevel;
  readonly logRetentionDays: number;
  readonly archiveGlacierAfterDays: number;
  readonly eventArchiveRetentionDays: number;
  readonly alarmEmail: string | undefined;
}

type Parser<T> = (raw: unknown, key: string) => T;

class ContextValueError extends Error {
  constructor(key: string, raw: unknown, expected: string) {
    super(`context ${key}=${JSON.stringify(raw)}: expected ${expected}`);
    this.name = 'ContextValueError';
  }
}

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw, key) => {
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ContextValueError(key, raw, `an integer from ${min} to ${max}`);
    }
    return value;
  };

const oneOf =
  <T extends string>(...allowed: T[]): Parser<T> =>
  (raw, key) => {
    if (typeof raw !== 'string' || !(allowed as string[]).includes(raw)) {
      throw new ContextValueError(key, raw, `one of ${allowed.join(', ')}`);
    }
    return raw as T;
  };

const boolean: Parser<boolean> = (raw, key) => {
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new ContextValueError(key, raw, 'true or false');
};

const optional =
  <T>(parse: Parser<T>): Parser<T | undefined> =>
  (raw, key) =>
    raw === undefined || raw === '' ? undefined : parse(raw, key);

const email: Parser<string> = (raw, key) => {
  if (typeof raw !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(raw)) throw new ContextValueError(key, raw, 'an e-mail');
  return raw;
};

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const retentionDays: Parser<number> = (raw, key) => {
  const days = integer(1)(raw, key);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
    throw new ContextValueError(key, raw, `one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  return days;
};

interface ContextKey<T> {
  readonly default: T;
  readonly parse: Parser<T>;
}

const key = <T>(defaultValue: T, parse: Parser<T>): ContextKey<T> => ({ default: defaultValue, parse });

/**
 * Every context key with its default. A new on-demand table absorbs about 4,000 writes/s at once, and one accepted
 * order costs 4 write units, so the warm-throughput keys matter for launches at full rate (DESIGN.md section 5).
 * publishFastPath=false leaves OrderAccepted to the stream relay alone (DESIGN.md section 4), for Regions whose
 * PutEvents quota is small. apiCloudWatchRole=false is for an account whose API Gateway settings already name a
 * CloudWatch role (another stack manages it): API Gateway refuses a stage with access logs without one.
 */
export const CONTEXT_KEYS: { readonly [K in keyof DeploymentConfig]: ContextKey<DeploymentConfig[K]> } = {
  apiThrottlingRateLimit: key(5000, integer(1)),
  apiThrottlingBurstLimit: key(5000, integer(0)),
  apiAuthorization: key<ApiAuthorization>('IAM', oneOf('IAM', 'NONE')),
  apiCloudWatchRole: key(true, boolean),
  workflowLogLevel: key<WorkflowLogLevel>('ALL', oneOf('ALL', 'ERROR', 'FATAL', 'OFF')),
  workflowLogIncludeExecutionData: key(false, boolean),
  publishFastPath: key(true, boolean),
  ordersTableWarmWritesPerSecond: key(undefined, optional(integer(4000))),
  ordersTableWarmReadsPerSecond: key(undefined, optional(integer(12000))),
  lambdaLogLevel: key<LambdaLogLevel>('INFO', oneOf('DEBUG', 'INFO', 'WARN', 'ERROR')),
  logRetentionDays: key(30, retentionDays),
  archiveGlacierAfterDays: key(90, integer(1)),
  eventArchiveRetentionDays: key(30, integer(1)),
  alarmEmail: key(undefined, optional(email)),
};

/** Reads every key from the construct's context, falling back to its default; a bad value fails the synth. */
export function readDeploymentConfig(node: Node): DeploymentConfig {
  const entries = Object.entries(CONTEXT_KEYS).map(([name, { default: fallback, parse }]) => {
    const raw: unknown = node.tryGetContext(name);
    return [name, raw === undefined ? fallback : parse(raw, name)];
  });
  return Object.fromEntries(entries) as unknown as DeploymentConfig;
}
