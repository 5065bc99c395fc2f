/**
 * The orders table in AWS, built from the one definition in src/store/orders-table.ts (keys, TTL, stream view).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ORDERS_TABLE } from '../../src/store/orders-table.js';

/**
 * An IAM condition limiting item operations to keys with these prefixes: each role reads or writes only its own
 * kind of item (the API reads orders, never idempotency locks).
 */
export const leadingKeysLike = (...prefixes: string[]) => ({
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) },
});

export interface OrdersTableProps {
  /**
   * Pre-warmed capacity for a launch at full rate; a new on-demand table starts near 4,000 writes/s. Billed once when
   * set or raised, and it can NEVER be lowered on this table after a deploy: a smaller value later changes nothing.
   * @default - none: the table scales from the on-demand starting point
   */
  readonly warmWritesPerSecond?: number;
  /** Likewise billed once and never lowered; a new table starts at 12,000 reads/s. @default - none */
  readonly warmReadsPerSecond?: number;
}

export class OrdersTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: OrdersTableProps = {}) {
    super(scope, id);
    const warm = props.warmWritesPerSecond !== undefined || props.warmReadsPerSecond !== undefined;
    this.table = new Table(this, 'Table', {
      partitionKey: { name: ORDERS_TABLE.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: ORDERS_TABLE.timeToLiveAttribute,
      stream: StreamViewType[ORDERS_TABLE.streamViewType],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Orders are the system of record: neither a stack deletion nor a console slip may drop them.
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Irreversible: DynamoDB never lowers a table's warm throughput (see the props).
      warmThroughput: warm
        ? { writeUnitsPerSecond: props.warmWritesPerSecond, readUnitsPerSecond: props.warmReadsPerSecond }
        : undefined,
    });
  }
}
