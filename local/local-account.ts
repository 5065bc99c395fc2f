import type { LocalResourceNames } from './iam/deployed-roles.js';

/**
 * The AWS account the local runtime pretends to be: every local ARN, client and principal uses these, so a policy
 * read from the template and a request made locally name resources the same way.
 */
export const LOCAL_ACCOUNT_ID = '000000000000';
export const LOCAL_REGION = 'local';
/** DynamoDB Local and the SDK want credentials; nothing checks them (the local IAM evaluator checks policies). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export const localArn = (service: string, resource: string): string =>
  `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${resource}`;

/**
 * Who calls the local API, as `$context.identity` tells the templates: the local service checks no signature, so
 * every request comes from this one nominal principal (an assumed role's session), and every client's
 * Idempotency-Key shares its scope. In AWS it is the principal that signed the request.
 */
export const LOCAL_CALLER = {
  accountId: LOCAL_ACCOUNT_ID,
  userArn: `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/order-intake-local-caller/local`,
} as const;

/** The local stand-ins for what the stack names per deployment. */
export const LOCAL_RESOURCES = {
  tableName: 'order-intake-orders',
  busName: 'order-intake',
  validateFunctionArn: localArn('lambda', 'function:order-intake-validate'),
  stateMachineArn: localArn('states', 'stateMachine:order-intake'),
  archiveBucketName: 'order-intake-archive',
} as const satisfies LocalResourceNames;
