import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG, durationMs } from '../contract/config';
import { checkDuration, checkInteger } from './validation';

/** Kinesis scales the stream by itself; billed per GB and stream-hour. */
export interface OnDemandCapacity {
  readonly mode: 'on-demand';
  readonly shardCount?: never;
}

/** A fixed number of shards (1 MB/s or 1000 records/s of writes each); billed per shard-hour. */
export interface ProvisionedCapacity {
  readonly mode: 'provisioned';
  /** Number of shards, 1–500. */
  readonly shardCount: number;
}

export interface IngestStreamProps {
  /**
   * How the stream's throughput is sized.
   * @default { mode: 'on-demand' }
   */
  readonly capacity?: OnDemandCapacity | ProvisionedCapacity;
  /**
   * How long records stay readable: a whole number of hours, 24h–8760h. Consumers that fall further
   * behind than this lose records (the raw copy in the lake still has them).
   * @default Duration.hours(24)
   */
  readonly retention?: Duration;
  /**
   * Customer-managed key for server-side encryption.
   *
   * The default, the AWS-managed `alias/aws/kinesis` key, still encrypts every record at rest with
   * KMS, costs no monthly key fee and needs no key grants: who may read or write is decided by IAM
   * on the stream itself. Pass a key when a key policy must also gate access (e.g. cross-account
   * consumers); Kinesis calls KMS per data key, so a customer-managed key adds KMS request costs
   * that grow with producers and consumers (the reason cdk-nag's AwsSolutions-KDS3 prefers the
   * AWS-managed key).
   * @default - encrypted with the AWS-managed key `alias/aws/kinesis`
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the stream when it leaves the stack. Records in it are transient (at most
   * `retention` old) and Firehose has already copied them to the lake's `raw/` prefix, while a
   * retained stream keeps billing by the hour.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The Kinesis Data Stream producers write sensor events to (partition key `sensorId`). */
export class IngestStream extends Construct {
  public readonly stream: kinesis.IStream;

  constructor(scope: Construct, id: string, props: IngestStreamProps = {}) {
    super(scope, id);
    const capacity = props.capacity ?? { mode: 'on-demand' };
    if (capacity.mode === 'provisioned')
      checkInteger(this, 'capacity.shardCount', capacity.shardCount, 1, 500);
    checkDuration(this, 'retention', props.retention, 24, 8760, 'hours');

    this.stream = new kinesis.Stream(this, 'Stream', {
      streamMode:
        capacity.mode === 'provisioned' ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      shardCount: capacity.mode === 'provisioned' ? capacity.shardCount : undefined,
      retentionPeriod: props.retention ?? Duration.millis(durationMs(DEFAULT_CONFIG.stream.retention)),
      encryption: props.encryptionKey ? kinesis.StreamEncryption.KMS : kinesis.StreamEncryption.MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }
}
