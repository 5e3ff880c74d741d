import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG, type AggregatesTableConfig } from '../contract/config';
import { WINDOW_INDEX } from '../contract/table-keys';

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
  /**
   * Billing: provisioned capacity kept by auto scaling at a target utilisation between a minimum and
   * a maximum (read and write each), or on-demand.
   * @default - `aggregatesTable` of DEFAULT_CONFIG: provisioned, 5–40,000 units, 70 % target
   */
  readonly billing?: AggregatesTableConfig;
}

/**
 * The speed layer's serving store: windowed aggregates and alert state, keyed by `pk`/`sk`
 * (strings), expiring through the `expiresAt` TTL attribute (epoch seconds). Provisioned capacity
 * under auto scaling (or on-demand), point-in-time recovery, KMS encryption.
 *
 * Provisioned by default because the speed layer's writes are steady: the aggregate processor
 * writes each shard's batch every batching window, so consumption per minute barely moves while
 * traffic does not, and a write unit-hour costs about 2.5× less than the same writes on demand at
 * 70 % utilisation (docs/cost.md). A batch's writes arrive as a burst of a few seconds; DynamoDB's
 * burst capacity (up to 300 s of unused capacity) absorbs it, and a throttled write is retried by
 * the SDK, then by the event source mapping, never lost (alarm `dynamodb-throttles`). The maximum is
 * the spending cap.
 *
 * One global secondary index, `WINDOW_INDEX` (contract/table-keys.ts): sparse, keys only, listing
 * the hourly items by hour, so the serving layer finds an hour's series without a Scan. It is
 * written once per series and hour (an item's index key never changes), so its write capacity is a
 * small fraction of the table's; it scales with the same settings.
 */
export class AggregatesTable extends Construct {
  public readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: AggregatesTableProps = {}) {
    super(scope, id);
    const billing = props.billing ?? DEFAULT_CONFIG.aggregatesTable;
    const provisioned = billing.billingMode === 'provisioned';
    const table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: AGGREGATES_TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: AGGREGATES_TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: AGGREGATES_TABLE_SCHEMA.timeToLiveAttribute,
      billingMode: provisioned ? dynamodb.BillingMode.PROVISIONED : dynamodb.BillingMode.PAY_PER_REQUEST,
      ...(provisioned
        ? { readCapacity: billing.readCapacity.min, writeCapacity: billing.writeCapacity.min }
        : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryptionKey
        ? dynamodb.TableEncryption.CUSTOMER_MANAGED
        : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    table.addGlobalSecondaryIndex({
      indexName: WINDOW_INDEX.indexName,
      partitionKey: { name: WINDOW_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: WINDOW_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      ...(provisioned
        ? { readCapacity: billing.readCapacity.min, writeCapacity: billing.writeCapacity.min }
        : {}),
    });
    if (provisioned) {
      const targetUtilizationPercent = Math.round(billing.targetUtilization * 100);
      table
        .autoScaleWriteCapacity({
          minCapacity: billing.writeCapacity.min,
          maxCapacity: billing.writeCapacity.max,
        })
        .scaleOnUtilization({ targetUtilizationPercent });
      table
        .autoScaleReadCapacity({
          minCapacity: billing.readCapacity.min,
          maxCapacity: billing.readCapacity.max,
        })
        .scaleOnUtilization({ targetUtilizationPercent });
      table
        .autoScaleGlobalSecondaryIndexWriteCapacity(WINDOW_INDEX.indexName, {
          minCapacity: billing.writeCapacity.min,
          maxCapacity: billing.writeCapacity.max,
        })
        .scaleOnUtilization({ targetUtilizationPercent });
      table
        .autoScaleGlobalSecondaryIndexReadCapacity(WINDOW_INDEX.indexName, {
          minCapacity: billing.readCapacity.min,
          maxCapacity: billing.readCapacity.max,
        })
        .scaleOnUtilization({ targetUtilizationPercent });
    }
    this.table = table;
  }
}
