/**
 * The project's event bus and an archive of every OrderAccepted on it, so that events can be replayed to a
 * consumer that was down or is new.
 */
import type { Duration } from 'aws-cdk-lib';
import type { CfnArchive } from 'aws-cdk-lib/aws-events';
import { Archive, EventBus, type EventPattern } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { orderAcceptedPattern } from '../../src/events/order-accepted.js';

/** src/ writes patterns as EventBridge does (`detail-type`); the CDK takes the same pattern in camelCase. */
export const ORDER_ACCEPTED_EVENT_PATTERN: EventPattern = {
  source: [...orderAcceptedPattern.source],
  detailType: [...orderAcceptedPattern['detail-type']],
};

export interface OrderEventsProps {
  readonly archiveRetention: Duration;
}

export class OrderEvents extends Construct {
  readonly bus: EventBus;
  readonly archive: Archive;

  constructor(scope: Construct, id: string, props: OrderEventsProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'Order Intake: OrderAccepted events' });
    this.archive = new Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      eventPattern: ORDER_ACCEPTED_EVENT_PATTERN,
      retention: props.archiveRetention,
      description: 'Every OrderAccepted, for replay',
    });
    // Without a key the L2 still writes KmsKeyIdentifier: "" (aws-cdk issue 37847), which CloudFormation may refuse;
    // absent, the archive uses an AWS owned key.
    (this.archive.node.defaultChild as CfnArchive).addPropertyDeletionOverride('KmsKeyIdentifier');
  }
}
