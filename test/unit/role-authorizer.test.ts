/**
 * The local IAM check remembers its decisions per request: a remembered answer must be the answer IAM gives to that
 * very request, and a request that differs in anything IAM reads (the action, the resource, a context value) must be
 * judged on its own.
 */
import { describe, expect, it } from '@jest/globals';
import { AccessDeniedError, RoleAuthorizer } from '../../local/iam/role-authorizer.js';

const TABLE = 'arn:aws:dynamodb:local:000000000000:table/orders';
const BUS = 'arn:aws:events:local:000000000000:event-bus/order-events';

const authorizer = (): RoleAuthorizer =>
  new RoleAuthorizer(
    {
      caller: 'workflow',
      logicalId: 'WorkflowRole',
      policies: [
        {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 'events:PutEvents', Resource: BUS },
            {
              Effect: 'Allow',
              Action: 'dynamodb:PutItem',
              Resource: TABLE,
              Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ORDER#*'] } },
            },
            { Effect: 'Deny', Action: 'events:PutEvents', Resource: `${BUS}-blocked` },
          ],
        },
      ],
    },
    'test',
  );

const putItem = (leadingKey: string) => ({
  action: 'dynamodb:PutItem',
  resource: TABLE,
  context: { 'dynamodb:LeadingKeys': [leadingKey] },
});

describe('RoleAuthorizer', () => {
  it('gives a repeated request the same decision, allowed or denied, every time', async () => {
    const iam = authorizer();
    for (let round = 0; round < 3; round += 1) {
      await expect(iam.authorize({ action: 'events:PutEvents', resource: BUS })).resolves.toBeUndefined();
      await expect(iam.authorize({ action: 'events:PutEvents', resource: `${BUS}-blocked` })).rejects.toMatchObject({
        name: 'AccessDeniedError',
        explicit: true,
      });
      await expect(iam.authorize({ action: 'events:PutEvents', resource: `${BUS}-other` })).rejects.toMatchObject({
        name: 'AccessDeniedError',
        explicit: false,
      });
    }
  });

  it('judges a request that differs only in a context value on its own', async () => {
    const iam = authorizer();
    await expect(iam.authorize(putItem('ORDER#1'))).resolves.toBeUndefined();
    await expect(iam.authorize(putItem('IDEMPOTENCY#1'))).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(iam.authorize(putItem('ORDER#1'))).resolves.toBeUndefined();
    await expect(iam.authorize(putItem('IDEMPOTENCY#1'))).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('judges a request that differs only in its action on its own', async () => {
    const iam = authorizer();
    await expect(iam.authorize(putItem('ORDER#1'))).resolves.toBeUndefined();
    await expect(iam.authorize({ ...putItem('ORDER#1'), action: 'dynamodb:DeleteItem' })).rejects.toBeInstanceOf(
      AccessDeniedError,
    );
  });

  it('keeps deciding correctly past the number of decisions it remembers', async () => {
    const iam = authorizer();
    for (let order = 0; order < 1_200; order += 1) {
      await iam.authorize(putItem(`ORDER#${order}`));
    }
    await expect(iam.authorize(putItem('ORDER#0'))).resolves.toBeUndefined();
    await expect(iam.authorize(putItem('IDEMPOTENCY#0'))).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(iam.authorize({ action: 'events:PutEvents', resource: BUS })).resolves.toBeUndefined();
  });
});
