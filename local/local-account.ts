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
