/**
 * The deployment's knobs, read from CDK context (`cdk.json`, or `-c key=value` on the command line). Each key is
 * defined here once, with its default and its parser; docs/deploy.md documents the same keys (a test holds it to
 * this list). Values given with `-c` arrive as strings, so every parser accepts the string form too.
 */
import { isIP } from 'node:net';
import type { Node } from 'constructs';
import { CLIENT_KEY_RETENTION_HOURS } from '../../src/deployed-settings.js';

export type ApiAuthorization = 'IAM' | 'NONE';
export type WorkflowLogLevel = 'ALL' | 'ERROR' | 'FATAL' | 'OFF';
export type LambdaLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type CapacityProfile = 'default' | 'burst';

export interface DeploymentConfig {
  /** The CloudFormation stack's name, and the prefix of the names derived from it (dashboard, log group, API). */
  readonly stackName: string;
  /** Which defaults the capacity keys take (CAPACITY_PROFILES); a key given on its own still wins. */
  readonly capacity: CapacityProfile;
  readonly apiThrottlingRateLimit: number;
  readonly apiThrottlingBurstLimit: number;
  readonly apiAuthorization: ApiAuthorization;
  /** The source IP ranges (CIDR) the API answers; undefined: no such limit. */
  readonly apiAllowedSourceIps: readonly string[] | undefined;
  /** The VPC endpoints (vpce-…) the API answers through, which makes it a private API; undefined: no such limit. */
  readonly apiAllowedVpcEndpoints: readonly string[] | undefined;
  readonly apiCloudWatchRole: boolean;
  readonly workflowLogLevel: WorkflowLogLevel;
  readonly workflowLogIncludeExecutionData: boolean;
  readonly publishFastPath: boolean;
  /** How long a client's Idempotency-Key is honoured after its acceptance, in whole hours (src/deployed-settings.ts). */
  readonly clientKeyRetentionHours: number;
  /** undefined: a new on-demand table's own (4,000 writes/s), raised by DynamoDB as traffic grows. */
  readonly ordersTableWarmWritesPerSecond: number | undefined;
  /** undefined: a new on-demand table's own (12,000 reads/s). */
  readonly ordersTableWarmReadsPerSecond: number | undefined;
  /** undefined: the function draws on the account's unreserved pool. */
  readonly validateReservedConcurrency: number | undefined;
  /** undefined: the function draws on the account's unreserved pool. */
  readonly relayReservedConcurrency: number | undefined;
  readonly lambdaLogLevel: LambdaLogLevel;
  readonly logRetentionDays: number;
  readonly eventArchiveRetentionDays: number;
  readonly alarmEmail: string | undefined;
}

class RetiredContextKeyError extends Error {
  constructor(key: string, reason: string) {
    super(`context ${key}: this key was removed (${reason}); drop it from cdk.json or the command line`);
    this.name = 'RetiredContextKeyError';
  }
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

/** A function's reserved concurrency, or `none` for no reservation (0 would stop the function: Lambda's meaning). */
const reservation: Parser<number | undefined> = (raw, key) => (raw === 'none' ? undefined : integer(1)(raw, key));

/** A warm throughput of at least `min` (a new table's own), or `none` to leave the table as DynamoDB makes it. */
const warmth =
  (min: number): Parser<number | undefined> =>
  (raw, key) =>
    raw === 'none' || raw === undefined ? undefined : integer(min)(raw, key);

const email: Parser<string> = (raw, key) => {
  if (typeof raw !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(raw)) throw new ContextValueError(key, raw, 'an e-mail');
  return raw;
};

/** CloudFormation's rule for a stack name: a letter, then letters, digits and hyphens, 128 at most. */
const stackName: Parser<string> = (raw, key) => {
  if (typeof raw !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(raw)) {
    throw new ContextValueError(key, raw, 'a stack name: a letter, then letters, digits and hyphens (128 at most)');
  }
  return raw;
};

/** A list: a JSON array in cdk.json, or a comma list as `-c key=a,b` passes it; each item parsed on its own. */
const listOf =
  (item: Parser<string>): Parser<readonly string[]> =>
  (raw, key) => {
    const items = Array.isArray(raw)
      ? (raw as unknown[])
      : typeof raw === 'string'
        ? raw
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part !== '')
        : undefined;
    if (items === undefined) throw new ContextValueError(key, raw, 'a list (a JSON array, or a comma list)');
    return items.map((value) => item(value, key));
  };

/** An IPv4 or IPv6 range in CIDR notation; `/0` is refused, since it limits nobody. */
const cidr: Parser<string> = (raw, key) => {
  const [address = '', prefix = '', ...rest] = typeof raw === 'string' ? raw.split('/') : [];
  const version = isIP(address);
  const bits = Number(prefix);
  if (version === 0 || rest.length > 0 || !/^\d+$/.test(prefix) || bits < 1 || bits > (version === 4 ? 32 : 128)) {
    throw new ContextValueError(key, raw, 'IP ranges in CIDR notation, such as 203.0.113.0/24 (not /0)');
  }
  return raw as string;
};

const vpcEndpointId: Parser<string> = (raw, key) => {
  if (typeof raw !== 'string' || !/^vpce-[0-9a-f]{8,17}$/.test(raw)) {
    throw new ContextValueError(key, raw, 'VPC endpoint ids, such as vpce-0123456789abcdef0');
  }
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

/** The seed's burst, in requests per second. */
export const BURST_REQUESTS_PER_SECOND = 5000;
/**
 * Write units of one accepted order: a transaction of at most three items under 1 KB (the lock, the order, and the
 * Idempotency-Key item when a request carries one), 2 write units each in a transaction.
 */
export const WRITE_UNITS_PER_ORDER = 6;

/**
 * What each capacity profile sets (`-c capacity=burst`). `default` deploys on any account, a new one included (Lambda
 * concurrency quota 10, where no reservation at all is possible), and costs nothing until used: no reservation, no
 * pre-warming. It does not hold the seed's burst from a cold start: the table absorbs about 4,000 write units/s at
 * once (some 660 orders/s) and doubles within 30 minutes, and Lambda shares the account's pool.
 *
 * `burst` holds 5,000 requests/s from the first second (docs/capacity.md has the arithmetic and the sources): the
 * table pre-warmed for every order's writes (5,000 x 6 = 30,000 write units/s; reads at a new table's 12,000, above
 * the most the stage lets through, 5,000 x 2 consistent reads), Validate keeping 500 concurrent executions
 * (5,000 requests/s x 100 ms) and the relay 100. Warm throughput is billed once, when set, and can NEVER be lowered
 * on that table afterwards: a deploy with a smaller value or with `default` leaves the table as warm as it was.
 * That is why the default leaves it out: a first deploy must not commit an account to a cost it cannot undo.
 */
export const CAPACITY_PROFILES: Record<CapacityProfile, CapacityKeys> = {
  default: {
    ordersTableWarmWritesPerSecond: undefined,
    ordersTableWarmReadsPerSecond: undefined,
    validateReservedConcurrency: undefined,
    relayReservedConcurrency: undefined,
  },
  burst: {
    ordersTableWarmWritesPerSecond: BURST_REQUESTS_PER_SECOND * WRITE_UNITS_PER_ORDER,
    ordersTableWarmReadsPerSecond: 12000,
    validateReservedConcurrency: 500,
    relayReservedConcurrency: 100,
  },
};

type CapacityKeys = Pick<
  DeploymentConfig,
  | 'ordersTableWarmWritesPerSecond'
  | 'ordersTableWarmReadsPerSecond'
  | 'validateReservedConcurrency'
  | 'relayReservedConcurrency'
>;

/**
 * Every context key with its default; the capacity keys default to the `default` profile's values, and to the chosen
 * profile's when `capacity` is set. publishFastPath=false leaves OrderAccepted to the stream relay alone (DESIGN.md
 * section 4), for Regions whose PutEvents quota is small. apiCloudWatchRole=false is for an account whose API Gateway
 * settings already name a CloudWatch role (another stack manages it): API Gateway refuses a stage with access logs
 * without one. The stage admits the burst in both profiles: it is a ceiling, not a reservation.
 */
export const CONTEXT_KEYS: { readonly [K in keyof DeploymentConfig]: ContextKey<DeploymentConfig[K]> } = {
  stackName: key('OrderIntake', stackName),
  capacity: key<CapacityProfile>('default', oneOf('default', 'burst')),
  apiThrottlingRateLimit: key(BURST_REQUESTS_PER_SECOND, integer(1)),
  apiThrottlingBurstLimit: key(BURST_REQUESTS_PER_SECOND, integer(0)),
  apiAuthorization: key<ApiAuthorization>('IAM', oneOf('IAM', 'NONE')),
  apiAllowedSourceIps: key<readonly string[] | undefined>(undefined, optional(listOf(cidr))),
  apiAllowedVpcEndpoints: key<readonly string[] | undefined>(undefined, optional(listOf(vpcEndpointId))),
  apiCloudWatchRole: key(true, boolean),
  workflowLogLevel: key<WorkflowLogLevel>('ALL', oneOf('ALL', 'ERROR', 'FATAL', 'OFF')),
  workflowLogIncludeExecutionData: key(false, boolean),
  publishFastPath: key(true, boolean),
  clientKeyRetentionHours: key(
    CLIENT_KEY_RETENTION_HOURS.default,
    integer(CLIENT_KEY_RETENTION_HOURS.min, CLIENT_KEY_RETENTION_HOURS.max),
  ),
  ordersTableWarmWritesPerSecond: key(CAPACITY_PROFILES.default.ordersTableWarmWritesPerSecond, warmth(4000)),
  ordersTableWarmReadsPerSecond: key(CAPACITY_PROFILES.default.ordersTableWarmReadsPerSecond, warmth(12000)),
  validateReservedConcurrency: key(CAPACITY_PROFILES.default.validateReservedConcurrency, reservation),
  relayReservedConcurrency: key(CAPACITY_PROFILES.default.relayReservedConcurrency, reservation),
  lambdaLogLevel: key<LambdaLogLevel>('INFO', oneOf('DEBUG', 'INFO', 'WARN', 'ERROR')),
  logRetentionDays: key(30, retentionDays),
  eventArchiveRetentionDays: key(30, integer(1)),
  alarmEmail: key(undefined, optional(email)),
};

/** Keys this app no longer reads, with what replaced them: given one, the synth fails instead of ignoring it. */
export const RETIRED_CONTEXT_KEYS: Readonly<Record<string, string>> = {
  archiveGlacierAfterDays:
    'archived orders stay in S3 Standard: an object of about 1 KB costs more in Glacier Flexible Retrieval ' +
    '(40 KB of overhead each, and a transition request) than in Standard (docs/capacity.md)',
};

/** Reads every key from the construct's context, falling back to its default; a bad value fails the synth. */
export function readDeploymentConfig(node: Node): DeploymentConfig {
  for (const [name, reason] of Object.entries(RETIRED_CONTEXT_KEYS)) {
    const raw: unknown = node.tryGetContext(name);
    if (raw !== undefined) throw new RetiredContextKeyError(name, reason);
  }
  const rawCapacity: unknown = node.tryGetContext('capacity');
  const capacity =
    rawCapacity === undefined ? CONTEXT_KEYS.capacity.default : CONTEXT_KEYS.capacity.parse(rawCapacity, 'capacity');
  const profile: Partial<Record<string, unknown>> = CAPACITY_PROFILES[capacity];
  const entries = Object.entries(CONTEXT_KEYS).map(([name, { default: fallback, parse }]) => {
    const raw: unknown = node.tryGetContext(name);
    if (raw !== undefined) return [name, parse(raw, name)];
    return [name, name in profile ? profile[name] : fallback];
  });
  return Object.fromEntries(entries) as unknown as DeploymentConfig;
}
