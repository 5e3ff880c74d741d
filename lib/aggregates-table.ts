import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Key schema shared with the speed layer's DynamoDB adapter and the local emulator setup. */
export const AGGREGATES_TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expiresAt',
} as const;

export interface AggregatesTableProps {
  /**
   * Customer-managed key for encryption at rest. The default, the AWS-managed `alias/aws/dynamodb`
   * key, encrypts with KMS (and logs key use in CloudTrail) without a key to administer or grant:
   * access is decided by IAM on the table.
   * @default - encrypted with the AWS-managed key `alias/aws/dynamodb`
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the table when it leaves the stack. Besides aggregates, which expire by TTL and
   * can be rebuilt, the table holds alert state (cooldown marks and alerts not yet published); the
   * safe default keeps it. The table's name is generated, so a retained table never blocks a redeploy.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The speed layer's serving store: windowed aggregates and alert state, keyed by `pk`/`sk`
 * (strings), expiring through the `expiresAt` TTL attribute (epoch seconds). On-demand capacity,
 * point-in-time recovery, KMS encryption.
 */
export class AggregatesTable extends Construct {
  public readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: AggregatesTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: AGGREGATES_TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: AGGREGATES_TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: AGGREGATES_TABLE_SCHEMA.timeToLiveAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryptionKey
        ? dynamodb.TableEncryption.CUSTOMER_MANAGED
        : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
