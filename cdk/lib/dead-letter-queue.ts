/**
 * The queues of this app share one set of protections: SQS-managed encryption at rest and TLS-only access. A dead
 * letter queue keeps its messages for the longest time SQS allows, so that ops have two weeks to redrive them.
 */
import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export const SECURE_QUEUE_PROPS = {
  encryption: QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
} as const satisfies QueueProps;

export class DeadLetterQueue extends Queue {
  constructor(scope: Construct, id: string) {
    super(scope, id, { ...SECURE_QUEUE_PROPS, retentionPeriod: Duration.days(14) });
  }
}
