/**
 * Every way an AWS service delivers to the stack passes the policy that guards it, judged by the IAM evaluator the
 * local runtime enforces with (@cloud-copilot/iam-simulate), the request made as the service makes it: its service
 * principal, this account, and the ARN of the resource it acts for. The deliveries are read from the template (each
 * alarm's actions, each rule's targets and dead-letter queues, each bucket's access-log destination, each role's
 * trust), so one added later is checked without touching this file. The template the runtime enforces (kept by content: no synthesis when it is kept).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { synthesizedStack } from '../../cdk/lib/synthesis-cache.js';
import type { CloudFormationTemplate } from '../../cdk/lib/synthesize.js';
import { resolveIntrinsics, type LocalStandIn, type PolicyDocument } from '../../local/iam/deployed-roles.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../local/local-account.js';

type Resource = CloudFormationTemplate['Resources'][string];
type Json = Record<string, unknown>;

/** What a Ref and an Arn of each resource of the template stand for, in this account and Region. */
function standInsOf(template: CloudFormationTemplate): Record<string, LocalStandIn> {
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${resource}`;
  const standIn = (id: string, { Type }: Resource): LocalStandIn => {
    switch (Type) {
      case 'AWS::SNS::Topic':
        return { ref: arn('sns', id), arn: arn('sns', id) };
      case 'AWS::SQS::Queue':
        return { ref: `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT_ID}/${id}`, arn: arn('sqs', id) };
      case 'AWS::S3::Bucket':
        return { ref: id.toLowerCase(), arn: `arn:aws:s3:::${id.toLowerCase()}` };
      case 'AWS::Events::Rule':
        return { ref: id, arn: arn('events', `rule/${id}`) };
      case 'AWS::CloudWatch::Alarm':
        return { ref: id, arn: arn('cloudwatch', `alarm:${id}`) };
      case 'AWS::IAM::Role':
        return { ref: id, arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${id}` };
      default:
        return { ref: id, arn: arn('cloudformation', `resource/${id}`) };
    }
  };
  return Object.fromEntries(Object.entries(template.Resources).map(([id, resource]) => [id, standIn(id, resource)]));
}

/** One delivery: the service, what it does to which resource on whose behalf, and the policy that must allow it. */
interface Delivery {
  name: string;
  service: string;
  action: string;
  resource: string;
  sourceArn?: string;
  policy: PolicyDocument;
}

const ref = (value: unknown): string | undefined =>
  typeof value === 'object' && value !== null && 'Ref' in value ? String(value.Ref) : undefined;
const arnOf = (value: unknown): string | undefined => {
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  return getAtt?.[1] === 'Arn' ? getAtt[0] : undefined;
};

/** The resource policy attached to a resource: a topic, queue or bucket policy naming it. */
function resourcePolicyOf(template: CloudFormationTemplate, id: string): Json {
  const attached = Object.values(template.Resources).filter(({ Type, Properties = {} }) => {
    const targets = [Properties.Topics, Properties.Queues, [Properties.Bucket]].flat().filter(Boolean);
    return /::(TopicPolicy|QueuePolicy|BucketPolicy)$/.test(Type) && targets.some((target) => ref(target) === id);
  });
  if (attached.length !== 1) throw new Error(`${id}: ${attached.length} resource policies, expected 1`);
  return attached[0]?.Properties?.PolicyDocument as Json;
}

/** Every delivery the template sets up. */
function deliveriesOf(template: CloudFormationTemplate): Delivery[] {
  const standIns = standInsOf(template);
  const resolve = (value: unknown) => resolveIntrinsics(value, standIns);
  const policyOf = (id: string) => resolve(resourcePolicyOf(template, id)) as PolicyDocument;
  const deliveries: Delivery[] = [];
  /** A service that, on behalf of the stack's resource `from`, acts on the stack's resource `to`. */
  const delivery = (name: string, service: string, action: string, from: string, to: string): Delivery => ({
    name,
    service,
    action,
    resource: standIns[to]?.arn ?? '',
    sourceArn: standIns[from]?.arn,
    policy: policyOf(to),
  });
  for (const [id, { Type, Properties = {} }] of Object.entries(template.Resources)) {
    if (Type === 'AWS::CloudWatch::Alarm') {
      for (const action of (Properties.AlarmActions ?? []) as unknown[]) {
        const topic = ref(action);
        if (!topic) throw new Error(`${id}: an alarm action that is not a topic of the stack`);
        const name = `CloudWatch alarm ${id} -> topic ${topic}`;
        deliveries.push(delivery(name, 'cloudwatch.amazonaws.com', 'sns:Publish', id, topic));
      }
    }
    if (Type === 'AWS::Events::Rule') {
      for (const target of (Properties.Targets ?? []) as Json[]) {
        const queues = [target.Arn, (target.DeadLetterConfig as Json | undefined)?.Arn].map(arnOf);
        for (const queue of queues.filter((q): q is string => q !== undefined)) {
          if (template.Resources[queue]?.Type !== 'AWS::SQS::Queue') throw new Error(`${id}: target ${queue}?`);
          const name = `EventBridge rule ${id} -> queue ${queue}`;
          deliveries.push(delivery(name, 'events.amazonaws.com', 'sqs:SendMessage', id, queue));
        }
      }
    }
    const logging = Properties.LoggingConfiguration as { DestinationBucketName?: unknown; LogFilePrefix?: string };
    if (Type === 'AWS::S3::Bucket' && logging) {
      const destination = ref(logging.DestinationBucketName);
      if (!destination) throw new Error(`${id}: access logs to a bucket outside the stack`);
      deliveries.push({
        name: `S3 server access logs of ${id} -> bucket ${destination}`,
        service: 'logging.s3.amazonaws.com',
        action: 's3:PutObject',
        resource: `${standIns[destination]?.arn}/${logging.LogFilePrefix ?? ''}2026-12-07-00-00-00-0123456789ABCDEF`,
        sourceArn: standIns[id]?.arn,
        policy: policyOf(destination),
      });
    }
    if (Type === 'AWS::IAM::Role') {
      const trust = resolve(Properties.AssumeRolePolicyDocument) as PolicyDocument;
      for (const statement of trust.Statement as { Principal?: { Service?: string | string[] } }[]) {
        for (const service of [statement.Principal?.Service ?? []].flat()) {
          deliveries.push({
            name: `${service} assumes role ${id}`,
            service,
            action: 'sts:AssumeRole',
            resource: standIns[id]?.arn ?? '',
            policy: trust,
          });
        }
      }
    }
  }
  return deliveries;
}

/** IAM's decision for the delivery, made over TLS as the service makes it; `sourceArn` overrides the delivery's. */
async function decide(delivery: Delivery, overrides: { sourceArn?: string; sourceAccount?: string } = {}) {
  const sourceArn = overrides.sourceArn ?? delivery.sourceArn;
  const result = await runSimulation(
    {
      request: {
        principal: delivery.service,
        action: delivery.action,
        resource: { resource: delivery.resource, accountId: LOCAL_ACCOUNT_ID },
        contextVariables: {
          'aws:SecureTransport': 'true',
          'aws:SourceAccount': overrides.sourceAccount ?? LOCAL_ACCOUNT_ID,
          ...(sourceArn && { 'aws:SourceArn': sourceArn }),
        },
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: delivery.policy,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`${delivery.name}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

let template: CloudFormationTemplate;
let deliveries: Delivery[];
beforeAll(async () => {
  ({ template } = await synthesizedStack());
  deliveries = deliveriesOf(template);
});

const named = (pattern: RegExp) => deliveries.filter(({ name }) => pattern.test(name));

describe('deliveries from AWS services to the stack', () => {
  it('are found for each kind: six alarms, the archive rule’s queue and dead-letter queue, access logs, API Gateway', () => {
    expect(named(/^CloudWatch alarm/)).toHaveLength(6);
    expect(named(/^EventBridge rule/)).toHaveLength(2);
    expect(named(/^S3 server access logs/)).toHaveLength(1);
    expect(named(/^apigateway\.amazonaws\.com assumes/).length).toBeGreaterThanOrEqual(2);
  });

  it('are each allowed by the policy that guards them', async () => {
    const decisions = await Promise.all(deliveries.map(async (d) => [d.name, await decide(d)] as const));
    expect(decisions.filter(([, decision]) => decision !== 'Allowed')).toEqual([]);
  });

  it('reach the alarm topic only from alarms of this account: another account’s alarm is refused', async () => {
    const [alarm] = named(/^CloudWatch alarm/);
    if (!alarm) throw new Error('no alarm delivery');
    const elsewhere = (alarm.sourceArn ?? '').replace(LOCAL_ACCOUNT_ID, '999999999999');
    await expect(decide(alarm, { sourceArn: elsewhere, sourceAccount: '999999999999' })).resolves.toBe(
      'ImplicitlyDenied',
    );
  });

  it('fail without the alarm topic’s Allow: the TLS Deny alone lets no alarm notify anyone', async () => {
    const [alarm] = named(/^CloudWatch alarm/);
    if (!alarm) throw new Error('no alarm delivery');
    const statements = alarm.policy.Statement as { Effect: string }[];
    expect(statements.filter(({ Effect }) => Effect === 'Deny')).toHaveLength(1);
    const denyOnly = { ...alarm.policy, Statement: statements.filter(({ Effect }) => Effect === 'Deny') };
    await expect(decide({ ...alarm, policy: denyOnly })).resolves.toBe('ImplicitlyDenied');
  });
});
