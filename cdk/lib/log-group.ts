/**
 * The app's log groups share one lifecycle: kept for the deployment's retention, and deleted with the stack. They
 * tell how requests went; the orders themselves are kept by the table and the archive, which the stack retains.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface StackLogGroupProps {
  readonly retention: RetentionDays;
  /** @default - a name CloudFormation generates */
  readonly logGroupName?: string;
}

export class StackLogGroup extends LogGroup {
  constructor(scope: Construct, id: string, props: StackLogGroupProps) {
    super(scope, id, { ...props, removalPolicy: RemovalPolicy.DESTROY });
  }
}
